import { BOOTSTRAP_ROLES } from "../../bootstrap/access";
import { BUILT_IN_ROLES, FORBIDDEN_ROLES, roleGuidOf } from "../../components/roles";
import { OfflinePlan, PlanResource } from "./plan-runner";

const STACK_TYPE = "pulumi:pulumi:Stack";

/** The top-level component a resource belongs to (its ancestor right under the stack), or "(stack)". */
export function owningComponent(plan: OfflinePlan, resource: PlanResource): string {
    const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
    let current: PlanResource | undefined = resource;
    let owner: PlanResource | undefined;
    while (current && current.type !== STACK_TYPE) {
        if (!current.custom) owner = current;
        current = current.parent ? byUrn.get(current.parent) : undefined;
    }
    return owner ? `${owner.name} (${owner.type.split(":").pop()})` : "(stack)";
}

function shortType(type: string): string {
    // azure-native:keyvault:Vault → keyvault:Vault; azuread:index/application:Application → azuread:Application
    const [pkg, module, kind] = type.split(":");
    if (pkg === "azure-native") return `${module}:${kind}`;
    return `${pkg}:${kind ?? module}`;
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
    return new Map([...counts.entries()].sort((a, b) => a[0].localeCompare(b[0])));
}

/** The console summary: resources per component and per type, and the total. */
export function planSummary(plan: OfflinePlan): string {
    const custom = plan.resources.filter((r) => r.custom);
    const lines = [`Offline plan for ${plan.project}/${plan.stack}: ${custom.length} resources in ${plan.resources.length - custom.length} components`, "", "Per component:"];
    for (const [component, n] of countBy(custom, (r) => owningComponent(plan, r))) lines.push(`  ${String(n).padStart(4)}  ${component}`);
    lines.push("", "Per type:");
    for (const [type, n] of countBy(custom, (r) => shortType(r.type))) lines.push(`  ${String(n).padStart(4)}  ${type}`);
    lines.push("", `Total: ${custom.length} resources`);
    return lines.join("\n");
}

interface Edge {
    from: string;
    to: string;
    label: string;
}

function mermaidId(urn: string): string {
    return "r" + urn.split("::").pop()!.replace(/[^A-Za-z0-9]/g, "_");
}

function findAll(plan: OfflinePlan, type: string): PlanResource[] {
    return plan.resources.filter((r) => r.type === type);
}

function stringsIn(value: unknown, out: string[] = []): string[] {
    if (typeof value === "string") out.push(value);
    else if (Array.isArray(value)) value.forEach((v) => stringsIn(v, out));
    else if (value && typeof value === "object") Object.values(value).forEach((v) => stringsIn(v, out));
    return out;
}

/** Data paths between the platform's services, derived from the wiring in the plan (not drawn by hand). */
export function dataPaths(plan: OfflinePlan): { nodes: Map<string, string>; edges: Edge[] } {
    const nodes = new Map<string, string>();
    const edges: Edge[] = [];
    // The first, most specific label wins (a Web App is "Ingestion Function", not "web:WebApp").
    const node = (r: PlanResource, label: string) => {
        if (!nodes.has(mermaidId(r.urn))) nodes.set(mermaidId(r.urn), label);
        return mermaidId(r.urn);
    };
    const byId = new Map(plan.resources.filter((r) => typeof r.outputs.id === "string").map((r) => [r.outputs.id as string, r]));

    const fhirs = findAll(plan, "azure-native:healthcareapis:FhirService");
    const keys = findAll(plan, "azure-native:keyvault:Key");
    const apims = findAll(plan, "azure-native:apimanagement:ApiManagementService");
    const sites = findAll(plan, "azure-native:web:WebApp");
    const fhirUrlOf = (fhir: PlanResource) => (fhir.inputs.authenticationConfiguration as { audience?: string } | undefined)?.audience ?? "";
    const hostOf = (site: PlanResource) => String(site.outputs.defaultHostName ?? "");

    if (apims.length > 0) {
        nodes.set("clients", "Clients and HL7 senders");
        const gateways = findAll(plan, "azure-native:network:ApplicationGateway");
        for (const apim of apims) {
            const apimHost = String(apim.outputs.gatewayUrl ?? "").replace(/^https:\/\//, "");
            // An Application Gateway whose backend is this APIM is the public entry in front of it.
            const fronts = gateways.filter((g) => apimHost && stringsIn(g.inputs.backendAddressPools).includes(apimHost));
            for (const g of fronts) {
                edges.push({ from: "clients", to: node(g, `Application Gateway ${String((g.inputs.sku as { tier?: string } | undefined)?.tier ?? "")}<br/>${g.outputs.name}`), label: "HTTPS (WAF)" });
                edges.push({ from: mermaidId(g.urn), to: node(apim, `API Management<br/>${apim.outputs.name}`), label: "HTTPS + Entra token" });
            }
            if (fronts.length === 0) edges.push({ from: "clients", to: node(apim, `API Management<br/>${apim.outputs.name}`), label: "HTTPS + Entra token" });
        }
    }
    // Egress: the subnets behind a NAT gateway, and what runs in them (the Function, APIM).
    for (const nat of findAll(plan, "azure-native:network:NatGateway")) {
        const natSubnets = findAll(plan, "azure-native:network:Subnet").filter((sn) => (sn.inputs.natGateway as { id?: string } | undefined)?.id === nat.outputs.id);
        const subnetIds = new Set(natSubnets.map((sn) => String(sn.outputs.id)));
        const users = [
            ...sites.filter((site) => subnetIds.has(String(site.inputs.virtualNetworkSubnetId))).map((site) => node(site, `Ingestion Function<br/>${site.outputs.name}`)),
            ...apims.filter((apim) => subnetIds.has(String((apim.inputs.virtualNetworkConfiguration as { subnetResourceId?: string } | undefined)?.subnetResourceId))).map((apim) => mermaidId(apim.urn)),
        ];
        if (users.length === 0) continue;
        const natNode = node(nat, `NAT gateway<br/>${nat.outputs.name}`);
        for (const user of users) edges.push({ from: user, to: natNode, label: "egress" });
        nodes.set("azureServices", "Azure services (NSG service tags)");
        edges.push({ from: natNode, to: "azureServices", label: "explicit outbound IP" });
    }
    // Egress through an Azure Firewall: the subnets whose route table sends 0.0.0.0/0 to its private IP.
    for (const fw of findAll(plan, "azure-native:network:AzureFirewall")) {
        const fwIps = new Set(((fw.outputs.ipConfigurations ?? []) as { privateIPAddress?: string }[]).map((c) => c.privateIPAddress).filter(Boolean));
        const tables = findAll(plan, "azure-native:network:RouteTable").filter((rt) => ((rt.inputs.routes ?? []) as { addressPrefix?: string; nextHopIpAddress?: string }[])
            .some((r) => r.addressPrefix === "0.0.0.0/0" && fwIps.has(r.nextHopIpAddress)));
        const tableIds = new Set(tables.map((rt) => String(rt.outputs.id)));
        const subnetIds = new Set(findAll(plan, "azure-native:network:Subnet").filter((sn) => tableIds.has(String((sn.inputs.routeTable as { id?: string } | undefined)?.id))).map((sn) => String(sn.outputs.id)));
        const users = [
            ...sites.filter((site) => subnetIds.has(String(site.inputs.virtualNetworkSubnetId))).map((site) => node(site, `Ingestion Function<br/>${site.outputs.name}`)),
            ...apims.filter((apim) => subnetIds.has(String((apim.inputs.virtualNetworkConfiguration as { subnetResourceId?: string } | undefined)?.subnetResourceId))).map((apim) => mermaidId(apim.urn)),
        ];
        if (users.length === 0) continue;
        const fwNode = node(fw, `Azure Firewall<br/>${fw.outputs.name}`);
        for (const user of users) edges.push({ from: user, to: fwNode, label: "egress (0.0.0.0/0)" });
        nodes.set("allowedDestinations", "Allow-listed FQDNs and Azure service tags");
        edges.push({ from: fwNode, to: "allowedDestinations", label: "threat intel Deny, logged" });
    }
    for (const fhir of fhirs) {
        const fhirNode = node(fhir, `FHIR R4<br/>${fhirUrlOf(fhir).replace("https://", "")}`);
        const keyUrl = (fhir.inputs.encryption as { customerManagedKeyEncryption?: { keyEncryptionKeyUrl?: string } } | undefined)?.customerManagedKeyEncryption?.keyEncryptionKeyUrl;
        for (const key of keys.filter((k) => k.outputs.keyUriWithVersion === keyUrl)) {
            edges.push({ from: fhirNode, to: node(key, `CMK ${key.outputs.name}<br/>RSA ${key.inputs.properties && (key.inputs.properties as { keySize?: number }).keySize}`), label: "wrap / unwrap" });
        }
        const fhirUrl = fhirUrlOf(fhir);
        // Anything in the APIM service's tree or a Function App whose inputs carry the FHIR URL calls FHIR.
        for (const apim of apims) {
            const apimTree = plan.resources.filter((r) => r.type.startsWith("azure-native:apimanagement:") && r.inputs.serviceName === apim.outputs.name);
            if (fhirUrl && apimTree.some((r) => stringsIn(r.inputs).some((s) => s.includes(fhirUrl)))) {
                edges.push({ from: mermaidId(apim.urn), to: fhirNode, label: "managed identity token" });
            }
        }
        for (const site of sites) {
            if (fhirUrl && stringsIn(site.inputs).some((s) => s.includes(fhirUrl))) {
                edges.push({ from: node(site, `Ingestion Function<br/>${site.outputs.name}`), to: fhirNode, label: "managed identity token" });
            }
        }
    }
    for (const apim of apims) {
        const apimTree = plan.resources.filter((r) => r.type.startsWith("azure-native:apimanagement:") && r.inputs.serviceName === apim.outputs.name);
        for (const site of sites) {
            const host = hostOf(site);
            if (host && apimTree.some((r) => stringsIn(r.inputs).some((s) => s.includes(host)))) {
                edges.push({ from: mermaidId(apim.urn), to: node(site, `Ingestion Function<br/>${site.outputs.name}`), label: "HL7 over private endpoint" });
            }
        }
    }

    // Private endpoints: the service each one exposes and the zones its zone group writes into.
    const zoneGroups = findAll(plan, "azure-native:network:PrivateDnsZoneGroup");
    for (const pe of findAll(plan, "azure-native:network:PrivateEndpoint")) {
        const connections = (pe.inputs.privateLinkServiceConnections as { privateLinkServiceId?: string; groupIds?: string[] }[] | undefined) ?? [];
        const peNode = node(pe, `PE ${pe.outputs.name}`);
        for (const c of connections) {
            const target = c.privateLinkServiceId ? byId.get(c.privateLinkServiceId) : undefined;
            if (target) edges.push({ from: peNode, to: node(target, `${shortType(target.type)}<br/>${target.outputs.name}`), label: (c.groupIds ?? []).join(",") });
        }
        for (const group of zoneGroups.filter((g) => g.inputs.privateEndpointName === pe.outputs.name)) {
            for (const cfg of (group.inputs.privateDnsZoneConfigs as { privateDnsZoneId?: string }[] | undefined) ?? []) {
                const zone = cfg.privateDnsZoneId ? byId.get(cfg.privateDnsZoneId) : undefined;
                if (zone) edges.push({ from: peNode, to: node(zone, `DNS ${zone.outputs.name}`), label: "A record" });
            }
        }
    }

    // GitHub workload identity federation: which job subject becomes which identity, and what data that identity
    // reaches (role assignments scoped to a resource in the plan, e.g. a state container or a secrets-provider key).
    const identitiesByName = new Map(findAll(plan, "azure-native:managedidentity:UserAssignedIdentity").map((i) => [String(i.outputs.name), i]));
    for (const fic of findAll(plan, "azure-native:managedidentity:FederatedIdentityCredential")) {
        const identity = identitiesByName.get(String(fic.inputs.resourceName));
        if (!identity) continue;
        const subjectNode = `gh_${mermaidId(fic.urn)}`;
        nodes.set(subjectNode, `GitHub ${String(fic.inputs.subject)}`);
        edges.push({ from: subjectNode, to: node(identity, `Identity ${identity.outputs.name}`), label: "OIDC federation" });
        for (const ra of findAll(plan, "azure-native:authorization:RoleAssignment").filter((r) => r.inputs.principalId === identity.outputs.principalId)) {
            const target = byId.get(String(ra.inputs.scope));
            if (target) edges.push({ from: mermaidId(identity.urn), to: node(target, `${shortType(target.type)}<br/>${target.outputs.name}`), label: accessLabel(plan, String(ra.inputs.roleDefinitionId)) });
        }
    }

    const diagnostics = findAll(plan, "azure-native:monitor:DiagnosticSetting");
    const workspaces = findAll(plan, "azure-native:operationalinsights:Workspace");
    for (const ws of workspaces) {
        const count = diagnostics.filter((d) => d.inputs.workspaceId === ws.outputs.id).length;
        if (count > 0) {
            nodes.set("diagnosticSources", `${count} diagnostic settings`);
            edges.push({ from: "diagnosticSources", to: node(ws, `Log Analytics<br/>${ws.outputs.name}`), label: "audit logs + metrics" });
        }
    }
    return { nodes, edges };
}

/** A role assignment's role as a short edge label: its custom role's plan name or the built-in role's name. */
function accessLabel(plan: OfflinePlan, roleDefinitionId: string): string {
    const guid = roleGuidOf(roleDefinitionId) ?? roleDefinitionId;
    const custom = findAll(plan, "azure-native:authorization:RoleDefinition").find((d) => String(d.outputs.name).toLowerCase() === guid);
    return custom?.name ?? ROLE_NAMES.get(guid) ?? guid;
}

/** Built-in role GUID → the name this repository gives it. */
const ROLE_NAMES: Map<string, string> = new Map(
    Object.entries({ ...BUILT_IN_ROLES, ...BOOTSTRAP_ROLES, ...FORBIDDEN_ROLES }).map(([name, guid]) => [guid.toLowerCase(), name]),
);

export interface AccessRow {
    principal: string;
    role: string;
    scope: string;
    conditioned: boolean;
}

/**
 * Every Azure role assignment in the plan with principal, role and scope resolved to plan names where the plan knows
 * them (identities by principal id, custom roles by their definition), so a reviewer sees who gets what where.
 */
export function accessRows(plan: OfflinePlan): AccessRow[] {
    const principals = new Map<string, string>();
    // Resources that have an identity; role assignments echo their principalId and are not principals themselves.
    for (const r of plan.resources.filter((x) => x.custom && !x.type.startsWith("azure-native:authorization:") && !x.type.endsWith("AppRoleAssignment"))) {
        const o = r.outputs as { principalId?: unknown; objectId?: unknown; identity?: { principalId?: unknown } };
        for (const id of [o.principalId, o.objectId, o.identity?.principalId]) if (typeof id === "string" && !principals.has(id)) principals.set(id, r.name);
    }
    const customRoles = new Map(findAll(plan, "azure-native:authorization:RoleDefinition").map((d) => [String(d.outputs.name).toLowerCase(), d.name]));
    const scopes = new Map(plan.resources.filter((r) => typeof r.outputs.id === "string").map((r) => [String(r.outputs.id), r.name]));
    return findAll(plan, "azure-native:authorization:RoleAssignment").map((ra) => {
        const guid = roleGuidOf(String(ra.inputs.roleDefinitionId)) ?? String(ra.inputs.roleDefinitionId);
        const scope = String(ra.inputs.scope);
        return {
            principal: principals.get(String(ra.inputs.principalId)) ?? `${String(ra.inputs.principalType ?? "principal")} ${String(ra.inputs.principalId)}`,
            role: customRoles.get(guid) ?? ROLE_NAMES.get(guid) ?? guid,
            scope: /^\/subscriptions\/[^/]+$/i.test(scope) ? "subscription" : scopes.get(scope) ?? scope,
            conditioned: typeof ra.inputs.condition === "string" && ra.inputs.condition.length > 0,
        };
    });
}

/** The reviewer's view: a Mermaid diagram of the data paths and a table of resources per component. */
export function planMarkdown(plan: OfflinePlan): string {
    const { nodes, edges } = dataPaths(plan);
    const custom = plan.resources.filter((r) => r.custom);
    const out: string[] = [
        `# Offline plan: ${plan.project} / ${plan.stack}`,
        "",
        `${custom.length} resources in ${plan.resources.length - custom.length} components, planned without cloud access under Pulumi's mock runtime.`,
        "",
        "## Data paths",
        "",
        "```mermaid",
        "flowchart LR",
        ...[...nodes.entries()].map(([id, label]) => `  ${id}["${label.replace(/"/g, "'")}"]`),
        ...edges.map((e) => `  ${e.from} -->|${e.label.replace(/\|/g, "/")}| ${e.to}`),
        "```",
        "",
        "## Resources per component",
        "",
    ];
    const access = accessRows(plan);
    if (access.length > 0) {
        out.push("## Access", "", "| Principal | Role | Scope | Condition |", "|---|---|---|---|");
        for (const a of [...access].sort((x, y) => x.principal.localeCompare(y.principal) || x.role.localeCompare(y.role))) {
            out.push(`| ${a.principal} | ${a.role} | ${a.scope} | ${a.conditioned ? "yes" : ""} |`);
        }
        out.push("");
    }
    const groups = new Map<string, PlanResource[]>();
    for (const r of custom) {
        const key = owningComponent(plan, r);
        groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    for (const [component, resources] of [...groups.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
        out.push(`### ${component} — ${resources.length}`, "", "| Type | Name | Azure name | Depends on |", "|---|---|---|---|");
        for (const r of resources) {
            const deps = r.dependencies.map((d) => d.split("::").pop()).join(", ");
            out.push(`| ${shortType(r.type)} | ${r.name} | ${String(r.outputs.name ?? "")} | ${deps} |`);
        }
        out.push("");
    }
    return out.join("\n");
}
