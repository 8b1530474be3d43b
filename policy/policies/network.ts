// Network: NSGs on subnets, no internet-exposed management ports, private endpoints for every PaaS target, private
// DNS zone groups and VNet links for every private endpoint.
import * as keyvault from "@pulumi/azure-native/keyvault";
import * as network from "@pulumi/azure-native/network";
import * as privatedns from "@pulumi/azure-native/privatedns";
import * as storage from "@pulumi/azure-native/storage";
import * as web from "@pulumi/azure-native/web";
import { PolicyResource, ReportViolation, validateResourceOfType } from "@pulumi/policy";
import { isAhdsWorkspace } from "./deployment";
import { Anchor, asArray, eqi, has, isFunctionAppKind, linksTo, peek, resourcePolicy, stackPolicy } from "./framework";

const SUBNET = "azure-native:network:Subnet";
const VNET = "azure-native:network:VirtualNetwork";
const NSG = "azure-native:network:NetworkSecurityGroup";
const PE = "azure-native:network:PrivateEndpoint";

const DEFAULT_NO_NSG_SUBNETS = ["GatewaySubnet", "AzureFirewallSubnet", "AzureFirewallManagementSubnet", "AzureBastionSubnet", "RouteServerSubnet"];

function subnetNsgProblem(name: string, hasNsg: boolean, exempt: string[]): string | undefined {
    if (exempt.includes(name) || hasNsg) return undefined;
    return `subnet '${name}' has no network security group.`;
}

export const netSubnetNsg = resourcePolicy(
    {
        name: "net-subnet-nsg",
        description:
            "Every subnet (network.Subnet or an inline VirtualNetwork subnet) must have a networkSecurityGroup, except the " +
            "platform subnets that forbid one (GatewaySubnet, AzureFirewallSubnet, ... — config exemptSubnetNames).",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [SUBNET, VNET],
        anchor: { azurePolicy: ["e71308d3-144b-4262-b144-efdc3cc90517"], scanner: ["CKV2_AZURE_31"], hitrust: "0805.01m1 / 0894.01m2" },
        settings: { exemptSubnetNames: { type: "array", items: { type: "string" }, default: DEFAULT_NO_NSG_SUBNETS } },
    },
    [
        validateResourceOfType(network.Subnet, (s, args, report) => {
            const { exemptSubnetNames } = args.getConfig<{ exemptSubnetNames: string[] }>();
            // Presence only (`in`): the NSG id is another resource's output and unknown at preview.
            const p = subnetNsgProblem(String(s.subnetName ?? s.name ?? args.name), has(s, "networkSecurityGroup"), exemptSubnetNames);
            if (p) report(p);
        }),
        validateResourceOfType(network.VirtualNetwork, (v, args, report) => {
            const { exemptSubnetNames } = args.getConfig<{ exemptSubnetNames: string[] }>();
            asArray(v.subnets).forEach((s, i) => {
                const p = subnetNsgProblem(String(s.name ?? `subnets[${i}]`), has(s, "networkSecurityGroup"), exemptSubnetNames);
                if (p) report(p);
            });
        }),
    ],
);

export const netGatewaySubnetNoNsg = resourcePolicy(
    {
        name: "net-gateway-subnet-no-nsg",
        description: "A GatewaySubnet must not have a network security group (Azure VPN/ExpressRoute gateways break with one); remove it.",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: [SUBNET, VNET],
        anchor: { azurePolicy: ["35f9c03a-cc27-418e-9c0c-539ff999d010"], hitrust: "0894.01m2" },
    },
    [
        validateResourceOfType(network.Subnet, (s, _a, report) => {
            if ((s.subnetName ?? s.name) === "GatewaySubnet" && has(s, "networkSecurityGroup")) report("GatewaySubnet has a network security group.");
        }),
        validateResourceOfType(network.VirtualNetwork, (v, _a, report) => {
            for (const s of asArray(v.subnets)) if (s.name === "GatewaySubnet" && has(s, "networkSecurityGroup")) report("GatewaySubnet has a network security group.");
        }),
    ],
);

const ANY_SOURCE = ["*", "0.0.0.0/0", "0.0.0.0", "internet", "any", "::/0"];

interface RuleShape {
    name?: string;
    direction?: string;
    access?: string;
    sourceAddressPrefix?: string;
    sourceAddressPrefixes?: string[];
    destinationPortRange?: string;
    destinationPortRanges?: string[];
}

function portRanges(r: RuleShape): Array<[number, number]> {
    const raw = [r.destinationPortRange, ...asArray(r.destinationPortRanges)].filter((x): x is string => typeof x === "string");
    return raw.map(p => {
        if (p === "*") return [0, 65535] as [number, number];
        const [a, b] = p.split("-").map(Number);
        return [a, Number.isFinite(b) ? b : a] as [number, number];
    });
}

function internetInboundAllow(r: RuleShape): boolean {
    if (!eqi(r.direction, "Inbound") || !eqi(r.access, "Allow")) return false;
    const sources = [r.sourceAddressPrefix, ...asArray(r.sourceAddressPrefixes)].filter((x): x is string => typeof x === "string");
    return sources.some(s => ANY_SOURCE.includes(s.toLowerCase()));
}

function nsgRules(kind: "mgmt" | "any"): Parameters<typeof resourcePolicy>[1] {
    const check = (rules: RuleShape[], cfg: { managementPorts: number[]; allowedInternetPorts: number[] }, report: (m: string) => void) => {
        for (const r of rules) {
            if (!internetInboundAllow(r)) continue;
            const ranges = portRanges(r);
            if (kind === "mgmt") {
                const hit = cfg.managementPorts.filter(p => ranges.some(([a, b]) => p >= a && p <= b));
                if (hit.length) report(`rule '${String(r.name)}' allows inbound from the internet to management port(s) ${hit.join(", ")}.`);
            } else {
                const ok = ranges.every(([a, b]) => a === b && cfg.allowedInternetPorts.includes(a));
                if (!ok) report(`rule '${String(r.name)}' allows inbound from the internet to ports ${ranges.map(([a, b]) => (a === b ? a : `${a}-${b}`)).join(", ")}; only ${cfg.allowedInternetPorts.join(", ")} may be open.`);
            }
        }
    };
    return [
        validateResourceOfType(network.NetworkSecurityGroup, (nsg, args, report) => check(asArray(nsg.securityRules) as RuleShape[], args.getConfig(), report)),
        validateResourceOfType(network.SecurityRule, (rule, args, report) => check([{ ...rule, name: rule.securityRuleName ?? rule.name ?? args.name } as RuleShape], args.getConfig(), report)),
    ];
}

const nsgSettings = {
    managementPorts: { type: "array" as const, items: { type: "integer" as const }, default: [22, 3389, 5985, 5986] },
    allowedInternetPorts: { type: "array" as const, items: { type: "integer" as const }, default: [443] },
};

export const netNoInternetManagementPorts = resourcePolicy(
    {
        name: "net-nsg-no-internet-management-ports",
        description:
            "NSG rules must not allow inbound traffic from any source ('*', 0.0.0.0/0, Internet) to management ports 22, 3389 " +
            "or WinRM; use Bastion or a private path instead.",
        enforcementLevel: "mandatory",
        severity: "critical",
        resourceTypes: [NSG, "azure-native:network:SecurityRule"],
        anchor: { azurePolicy: ["9daedab3-fb2d-461e-b861-71790eead4f6"], scanner: ["CKV_AZURE_9", "CKV_AZURE_10", "AZU-0047"], hitrust: "0858.09m1" },
        settings: nsgSettings,
    },
    nsgRules("mgmt"),
);

export const netNoInternetAnyPort = resourcePolicy(
    {
        name: "net-nsg-no-internet-open-ports",
        description:
            "NSG rules that allow inbound traffic from any source may only open the allow-listed ports (default 443); narrow " +
            "the source to a service tag (e.g. ApiManagement) or the port range.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [NSG, "azure-native:network:SecurityRule"],
        anchor: { scanner: ["CKV_AZURE_77", "CKV_AZURE_160", "AZU-0050"] },
        settings: nsgSettings,
    },
    nsgRules("any"),
);

export const netSubnetPrivate = resourcePolicy(
    {
        name: "net-subnet-no-default-outbound",
        description:
            "Subnets must set defaultOutboundAccess false so nothing reaches the internet through Azure's implicit outbound IPs; " +
            "egress goes through an explicit path (the platform's NAT gateway) that is logged and allow-listed.",
        enforcementLevel: "mandatory",
        severity: "low",
        resourceTypes: [SUBNET, VNET],
        anchor: { azurePolicy: ["7bca8353-aa3b-429b-904a-9229c4385837"] },
    },
    [
        validateResourceOfType(network.Subnet, (s, _a, report) => {
            if (s.defaultOutboundAccess !== false) report("defaultOutboundAccess is not false.");
        }),
        validateResourceOfType(network.VirtualNetwork, (v, _a, report) => {
            for (const s of asArray(v.subnets)) if (s.defaultOutboundAccess !== false) report(`subnet '${String(s.name)}' defaultOutboundAccess is not false.`);
        }),
    ],
);

export const netPeAutoApproval = resourcePolicy(
    {
        name: "net-pe-auto-approved",
        description:
            "Private endpoints must use privateLinkServiceConnections (auto-approved in the same tenant), not " +
            "manualPrivateLinkServiceConnections, which leave the endpoint pending and the service still public-only.",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: [PE],
        anchor: { derivedFrom: "policy-catalogue NET-PE-AUTO-APPROVAL" },
    },
    validateResourceOfType(network.PrivateEndpoint, (pe, _a, report) => {
        if (asArray(pe.manualPrivateLinkServiceConnections).length > 0) report("manualPrivateLinkServiceConnections is set.");
        if (asArray(pe.privateLinkServiceConnections).length === 0) report("privateLinkServiceConnections is empty.");
    }),
);

export const netDnsLinkNoRegistration = resourcePolicy(
    {
        name: "net-dns-link-no-autoregistration",
        description: "VNet links to privatelink.* zones must set registrationEnabled false; VM auto-registration would pollute the private-endpoint records.",
        enforcementLevel: "mandatory",
        severity: "low",
        resourceTypes: ["azure-native:privatedns:VirtualNetworkLink"],
        anchor: { derivedFrom: "Microsoft Learn, Private endpoint DNS configuration" },
    },
    validateResourceOfType(privatedns.VirtualNetworkLink, (l, _a, report) => {
        if (l.registrationEnabled === true) report("registrationEnabled is true.");
    }),
);

// ---- private endpoints (stack policies)

/** Private endpoints whose connection targets `target` (through propertyDependencies, or the id when known). */
export function endpointsFor(target: PolicyResource, resources: PolicyResource[]): PolicyResource[] {
    const targetId = peek(target.props, "id");
    return resources.filter(r => {
        if (!r.isType(network.PrivateEndpoint)) return false;
        if (linksTo(r, target, ["privateLinkServiceConnections"])) return true;
        return typeof targetId === "string" && asArray<any>(r.props.privateLinkServiceConnections).some(c => peek(c, "privateLinkServiceId") === targetId);
    });
}

export function groupIdsOf(pe: PolicyResource): string[] {
    return asArray<any>(pe.props.privateLinkServiceConnections).flatMap(c => asArray<string>(c.groupIds)).map(g => g.toLowerCase());
}

function privateEndpointPolicy(
    name: string,
    description: string,
    targetType: string,
    anchor: Anchor,
    select: (r: PolicyResource) => boolean,
    defaultGroupIds: string[],
) {
    return stackPolicy(
        {
            name,
            description,
            enforcementLevel: "mandatory",
            severity: "high",
            resourceTypes: [targetType, PE],
            anchor,
            settings: { requiredGroupIds: { type: "array", items: { type: "string" }, default: defaultGroupIds } },
        },
        (args, report) => {
            const { requiredGroupIds } = args.getConfig<{ requiredGroupIds: string[] }>();
            for (const target of args.resources.filter(select)) {
                const have = new Set(endpointsFor(target, args.resources).flatMap(groupIdsOf));
                const missing = requiredGroupIds.filter(g => !have.has(g.toLowerCase()));
                if (missing.length) report(`'${target.name}' has no private endpoint for group id(s) ${missing.join(", ")}.`, target.urn);
            }
        },
    );
}

export const ahdsWorkspacePrivateEndpoint = privateEndpointPolicy(
    "ahds-workspace-private-endpoint",
    "Every Health Data Services workspace needs a network.PrivateEndpoint with groupIds ['healthcareworkspace'] that targets " +
        "it; FHIR publicNetworkAccess is output-only in azure-native v3, so this is the deploy-time network control.",
    "azure-native:healthcareapis:Workspace",
    { azurePolicy: ["64528841-2f92-43f6-a137-d52e5c3dbeac"] },
    isAhdsWorkspace,
    ["healthcareworkspace"],
);

export const kvPrivateEndpoint = privateEndpointPolicy(
    "kv-private-endpoint",
    "Every Key Vault needs a private endpoint with groupIds ['vault'] that targets it.",
    "azure-native:keyvault:Vault",
    { azurePolicy: ["a6abeaec-4d90-4a02-805f-6b26c4d3fbe9"], scanner: ["CKV2_AZURE_32"] },
    r => r.isType(keyvault.Vault),
    ["vault"],
);

export const fnPrivateEndpoint = privateEndpointPolicy(
    "fn-private-endpoint",
    "Every function app needs a private endpoint with groupIds ['sites'] so APIM reaches it while public access is disabled.",
    "azure-native:web:WebApp",
    { azurePolicy: ["687aa49d-0982-40f8-bf6b-66d1da97a04b"] },
    r => r.isType(web.WebApp) && isFunctionAppKind(r.props.kind),
    ["sites"],
);

export const stPrivateEndpoints = privateEndpointPolicy(
    "st-private-endpoints",
    "Every storage account with public network access disabled needs private endpoints for the sub-resources the Function " +
        "runtime uses (config requiredGroupIds, default blob, queue and table); public accounts are rejected by st-network-default-deny.",
    "azure-native:storage:StorageAccount",
    { azurePolicy: ["6edd7eda-6dd8-40f7-810d-67160c639cd9"], scanner: ["CKV2_AZURE_33"] },
    r => r.isType(storage.StorageAccount) && eqi(r.props.publicNetworkAccess, "Disabled"),
    ["blob", "queue", "table"],
);

/** Private DNS zones per private-endpoint group id (azure-deployment-facts §2.2; Microsoft Learn private-endpoint-dns). */
export const DEFAULT_ZONES: Record<string, string[]> = {
    healthcareworkspace: ["privatelink.azurehealthcareapis.com", "privatelink.dicom.azurehealthcareapis.com"],
    vault: ["privatelink.vaultcore.azure.net"],
    sites: ["privatelink.azurewebsites.net"],
    blob: ["privatelink.blob.core.windows.net"],
    queue: ["privatelink.queue.core.windows.net"],
    table: ["privatelink.table.core.windows.net"],
    file: ["privatelink.file.core.windows.net"],
    gateway: ["privatelink.azure-api.net"],
};

/** The zone's DNS name, or undefined while it is unknown at preview (the name check then waits for `up`). */
function zoneName(z: PolicyResource): string | undefined {
    const n = peek(z.props, "privateZoneName");
    return typeof n === "string" ? n.toLowerCase() : undefined;
}

export const netPeDnsZoneGroup = stackPolicy(
    {
        name: "net-pe-dns-zone-group",
        description:
            "Every private endpoint needs a network.PrivateDnsZoneGroup whose privateDnsZoneConfigs point at privatedns.PrivateZone " +
            "resources with the zone names its group id requires (e.g. vault → privatelink.vaultcore.azure.net; healthcareworkspace → " +
            "privatelink.azurehealthcareapis.com and privatelink.dicom.azurehealthcareapis.com).",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [PE, "azure-native:network:PrivateDnsZoneGroup", "azure-native:privatedns:PrivateZone"],
        anchor: { azurePolicy: ["ac673a9a-f77d-4846-b2d8-a57f8e1c01d4", "b318f84a-b872-429b-ac6d-a01b96814452", "75973700-529f-4de2-b794-fb9b6781b6b0"] },
        settings: { zonesByGroupId: { type: "object", default: DEFAULT_ZONES } },
    },
    (args, report) => {
        const { zonesByGroupId } = args.getConfig<{ zonesByGroupId: Record<string, string[]> }>();
        const groups = args.resources.filter(r => r.isType(network.PrivateDnsZoneGroup));
        for (const pe of args.resources.filter(r => r.isType(network.PrivateEndpoint))) {
            const peName = peek(pe.props, "privateEndpointName");
            const mine = groups.filter(g => linksTo(g, pe, ["privateEndpointName"]) || (peName !== undefined && peek(g.props, "privateEndpointName") === peName));
            if (mine.length === 0) {
                report(`private endpoint '${pe.name}' has no private DNS zone group.`, pe.urn);
                continue;
            }
            const linkedZones = mine.flatMap(g => linked(g, "privateDnsZoneConfigs")).filter(z => z.isType(privatedns.PrivateZone));
            if (linkedZones.some(z => zoneName(z) === undefined)) continue; // names unknown at preview
            const zones = new Set(linkedZones.map(z => zoneName(z)!));
            // Zone ids may also be literal ARM ids (zones created outside the stack).
            for (const g of mine) {
                for (const c of asArray<any>(g.props.privateDnsZoneConfigs)) {
                    const zoneId = peek(c, "privateDnsZoneId");
                    if (typeof zoneId === "string") zones.add(zoneId.split("/").pop()!.toLowerCase());
                }
            }
            for (const gid of groupIdsOf(pe)) {
                const need = zonesByGroupId[gid] ?? [];
                const missing = need.filter(z => !zones.has(z.toLowerCase()));
                if (missing.length) report(`private endpoint '${pe.name}' (${gid}) is not registered in zone(s) ${missing.join(", ")}.`, pe.urn);
            }
        }
    },
);

function linked(r: PolicyResource, prop: string): PolicyResource[] {
    return r.propertyDependencies[prop] ?? [];
}

export const netDnsZoneVnetLink = stackPolicy(
    {
        name: "net-dns-zone-vnet-link",
        description: "Every privatelink.* private DNS zone must be linked (privatedns.VirtualNetworkLink) to a virtual network, or private endpoints resolve publicly.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: ["azure-native:privatedns:PrivateZone", "azure-native:privatedns:VirtualNetworkLink"],
        anchor: { derivedFrom: "Microsoft Learn, Private endpoint DNS configuration (zone must be linked to the VNet)" },
    },
    (args, report: ReportViolation) => {
        const links = args.resources.filter(r => r.isType(privatedns.VirtualNetworkLink));
        for (const z of args.resources.filter(r => r.isType(privatedns.PrivateZone) && (zoneName(r) ?? "").startsWith("privatelink."))) {
            const zn = peek(z.props, "privateZoneName");
            const ok = links.some(l => (linksTo(l, z, ["privateZoneName"]) || (zn !== undefined && peek(l.props, "privateZoneName") === zn)) && has(l.props, "virtualNetwork"));
            if (!ok) report(`private DNS zone '${zoneName(z)}' is not linked to a virtual network.`, z.urn);
        }
    },
);

export const networkPolicies = [
    netSubnetNsg,
    netGatewaySubnetNoNsg,
    netNoInternetManagementPorts,
    netNoInternetAnyPort,
    netSubnetPrivate,
    netPeAutoApproval,
    netDnsLinkNoRegistration,
    ahdsWorkspacePrivateEndpoint,
    kvPrivateEndpoint,
    fnPrivateEndpoint,
    stPrivateEndpoints,
    netPeDnsZoneGroup,
    netDnsZoneVnetLink,
];
