// The shipped stacks against the pack: both pass every mandatory policy with their own config; every security setting
// the components enforce, flipped to its insecure value in a copy of the dev plan, is caught (mutation test); the
// `npm run policy` CLI exits and reports as documented; the pack's time on the prod plan is printed.
import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { Plan, PlanResource, PolicyPackConfigFile, loadPolicyConfig, runPolicyPackOnPlan } from "../../tools/policy/run";
import { stackPlan } from "../support/stack-plans";
import { goldenPlan } from "./fixtures";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "..", "..");
const OWNER = "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635";

async function shipped(stack: string): Promise<Plan> {
    return (await stackPlan(stack)).plan as unknown as Plan;
}

const configFor = (stack: string): PolicyPackConfigFile => loadPolicyConfig(path.join(ROOT, "policy", "config", `${stack}.json`));

interface Mutation {
    /** Human-readable: resource type, setting, insecure value. */
    id: string;
    type: string;
    /** Narrows which resources of the type are mutated (default: all of them). */
    where?: (r: PlanResource, plan: Plan) => boolean;
    /** Dotted input path set to `value`, or deleted when `value` is DELETE. */
    path?: string;
    value?: unknown;
    /** Custom edit (append a rule, remove the resource ...). Returns false when the setting is absent. */
    edit?: (r: PlanResource, plan: Plan) => boolean | void;
}

const DELETE = Symbol("delete");
const REMOVE = (r: PlanResource, plan: Plan) => {
    plan.resources = plan.resources.filter(x => x.urn !== r.urn);
};
const targets = (typeSuffix: string) => (r: PlanResource, plan: Plan) =>
    (r.propertyDependencies?.resourceUri ?? r.propertyDependencies?.privateLinkServiceConnections ?? []).some(u => plan.resources.find(x => x.urn === u)?.type.endsWith(typeSuffix)) ||
    JSON.stringify(r.inputs.resourceUri ?? r.inputs.privateLinkServiceConnections ?? "").includes(typeSuffix);

const isWorkspace = (r: PlanResource) => r.inputs.resourceProviderNamespace === "Microsoft.HealthcareApis" && r.inputs.resourceType === "workspaces";
/** Points a resource's dependencies at the grants its propagation waits were guarding (as if the waits were dropped). */
const skipWaits = (r: PlanResource, plan: Plan): boolean => {
    const waits = new Set(plan.resources.filter(x => x.type === "time:index/sleep:Sleep").map(x => x.urn));
    const deps = r.dependencies ?? [];
    if (!deps.some(d => waits.has(d))) return false;
    r.dependencies = deps.flatMap(d => (waits.has(d) ? plan.resources.find(x => x.urn === d)!.dependencies ?? [] : [d]));
    return true;
};

const WEB = "azure-native:web:WebApp";
const SA = "azure-native:storage:StorageAccount";
/** The WORM audit archive (components/auditArchive.ts) and the account holding raw HL7 (components/ingestStorage.ts). */
const isArchive = (r: PlanResource) => r.inputs.immutableStorageWithVersioning?.enabled === true;
const isRawHl7 = (r: PlanResource, plan: Plan) => plan.resources.some(c => c.type === "azure-native:storage:BlobContainer" && c.inputs.containerName === "hl7-messages" && (c.propertyDependencies?.accountName ?? []).includes(r.urn));
const APIM = "azure-native:apimanagement:ApiManagementService";

/** One entry per security setting the components enforce (issue 2 and issue 4). */
const MUTATIONS: Mutation[] = [
    // Key Vault and CMK
    { id: "vault purge protection off", type: "azure-native:keyvault:Vault", path: "properties.enablePurgeProtection", value: false },
    { id: "vault soft delete off", type: "azure-native:keyvault:Vault", path: "properties.enableSoftDelete", value: false },
    { id: "vault access-policy mode", type: "azure-native:keyvault:Vault", path: "properties.enableRbacAuthorization", value: false },
    { id: "vault public network enabled", type: "azure-native:keyvault:Vault", path: "properties.publicNetworkAccess", value: "Enabled" },
    { id: "vault firewall default Allow", type: "azure-native:keyvault:Vault", path: "properties.networkAcls.defaultAction", value: "Allow" },
    { id: "vault no trusted-services bypass", type: "azure-native:keyvault:Vault", path: "properties.networkAcls.bypass", value: "None" },
    { id: "key type EC", type: "azure-native:keyvault:Key", path: "properties.kty", value: "EC" },
    { id: "key size 1024", type: "azure-native:keyvault:Key", path: "properties.keySize", value: 1024 },
    { id: "key without expiry", type: "azure-native:keyvault:Key", path: "properties.attributes.expires", value: DELETE },
    { id: "key without rotation policy", type: "azure-native:keyvault:Key", path: "properties.rotationPolicy", value: DELETE },
    { id: "vault private endpoint removed", type: "azure-native:network:PrivateEndpoint", where: targets("keyvault:Vault"), edit: REMOVE },
    { id: "vault audit diagnostics removed", type: "azure-native:monitor:DiagnosticSetting", where: targets("keyvault:Vault"), edit: REMOVE },
    // RBAC
    { id: "role assignment without principalType", type: "azure-native:authorization:RoleAssignment", path: "principalType", value: DELETE },
    { id: "role assignment to Owner", type: "azure-native:authorization:RoleAssignment", path: "roleDefinitionId", value: `/subscriptions/5b1e2f7a-0000-4000-8000-0000000000aa${OWNER}` },
    { id: "role assignment at subscription scope", type: "azure-native:authorization:RoleAssignment", path: "scope", value: "/subscriptions/5b1e2f7a-0000-4000-8000-0000000000aa" },
    // FHIR / AHDS
    { id: "FHIR without CMK", type: "azure-native:healthcareapis:FhirService", path: "encryption", value: DELETE },
    { id: "FHIR system-assigned identity", type: "azure-native:healthcareapis:FhirService", path: "identity", value: { type: "SystemAssigned" } },
    { id: "FHIR CORS wildcard", type: "azure-native:healthcareapis:FhirService", path: "corsConfiguration.origins", value: ["*"] },
    { id: "FHIR authority multi-tenant", type: "azure-native:healthcareapis:FhirService", path: "authenticationConfiguration.authority", value: "https://login.microsoftonline.com/common" },
    { id: "FHIR without audience", type: "azure-native:healthcareapis:FhirService", path: "authenticationConfiguration.audience", value: DELETE },
    { id: "FHIR SMART proxy on", type: "azure-native:healthcareapis:FhirService", path: "authenticationConfiguration.smartProxyEnabled", value: true },
    { id: "FHIR audit diagnostics removed", type: "azure-native:monitor:DiagnosticSetting", where: targets("healthcareapis:FhirService"), edit: REMOVE },
    { id: "AHDS workspace private endpoint removed", type: "azure-native:network:PrivateEndpoint", where: targets("resources:Resource"), edit: REMOVE },
    // Deploy readiness (issue 8)
    { id: "AHDS workspace public network enabled", type: "azure-native:resources:Resource", where: isWorkspace, path: "properties.publicNetworkAccess", value: "Enabled" },
    { id: "AHDS workspace declared with the typed resource", type: "azure-native:resources:Resource", where: isWorkspace, edit: r => void ((r.type = "azure-native:healthcareapis:Workspace"), (r.urn = r.urn.replace("azure-native:resources:Resource", "azure-native:healthcareapis:Workspace"))) },
    {
        id: "FHIR API calls FHIR as APIM without stamping the caller",
        type: "azure-native:apimanagement:ApiPolicy",
        where: r => String(r.inputs.value).includes("authentication-managed-identity"),
        edit: r => void (r.inputs.value = String(r.inputs.value).replace(/<set-header name="X-MS-AZUREFHIR-AUDIT-[\s\S]*?<\/set-header>/g, "")),
    },
    { id: "Activity Log export removed", type: "azure-native:monitor:SubscriptionDiagnosticSetting", edit: REMOVE },
    { id: "role-assignment alert removed", type: "azure-native:monitor:ActivityLogAlert", where: r => JSON.stringify(r.inputs.condition).includes("roleAssignments"), edit: REMOVE },
    { id: "lock-delete alert disabled", type: "azure-native:monitor:ActivityLogAlert", where: r => JSON.stringify(r.inputs.condition).includes("locks/delete"), path: "enabled", value: false },
    { id: "FHIR data role granted to a group", type: "azure-native:authorization:RoleAssignment", where: r => /\/fhirservices\//.test(String(r.inputs.scope)), path: "principalType", value: "Group" },
    { id: "role assignment with a random name", type: "azure-native:authorization:RoleAssignment", path: "roleAssignmentName", value: DELETE },
    { id: "FHIR created without waiting for its CMK grant", type: "azure-native:healthcareapis:FhirService", edit: (r, plan) => skipWaits(r, plan) },
    { id: "CMK created without waiting for the deployer's grant", type: "azure-native:keyvault:Key", edit: (r, plan) => skipWaits(r, plan) },
    { id: "RBAC propagation wait of 5 s", type: "time:index/sleep:Sleep", path: "createDuration", value: "5s" },
    // Edge and egress (issue 11)
    { id: "WAF in Detection mode", type: "azure-native:network:WebApplicationFirewallPolicy", path: "policySettings.mode", value: "Detection" },
    { id: "WAF on CRS 3.1", type: "azure-native:network:WebApplicationFirewallPolicy", path: "managedRules.managedRuleSets", value: [{ ruleSetType: "OWASP", ruleSetVersion: "3.1" }] },
    { id: "WAF without body inspection", type: "azure-native:network:WebApplicationFirewallPolicy", path: "policySettings.requestBodyCheck", value: false },
    { id: "Application Gateway Standard_v2 (no WAF)", type: "azure-native:network:ApplicationGateway", path: "sku", value: { name: "Standard_v2", tier: "Standard_v2" } },
    { id: "Application Gateway plain HTTP listener", type: "azure-native:network:ApplicationGateway", edit: r => void r.inputs.httpListeners.push({ name: "http", protocol: "Http", hostName: "x.example.org" }) },
    { id: "Application Gateway 2017 TLS policy", type: "azure-native:network:ApplicationGateway", path: "sslPolicy.policyName", value: "AppGwSslPolicy20170401S" },
    { id: "Application Gateway uploaded certificate", type: "azure-native:network:ApplicationGateway", edit: r => void (r.inputs.sslCertificates = [{ name: "listener", data: "[secret]", password: "[secret]" }]) },
    { id: "subnet with default outbound access", type: "azure-native:network:Subnet", path: "defaultOutboundAccess", value: true },
    { id: "VNet flow log removed", type: "azure-native:network:FlowLog", edit: REMOVE },
    { id: "VNet flow log without traffic analytics", type: "azure-native:network:FlowLog", path: "flowAnalyticsConfiguration", value: DELETE },
    {
        id: "gateway CORS allows any origin",
        type: "azure-native:apimanagement:ApiPolicy",
        where: r => String(r.inputs.value).includes("<cors"),
        edit: r => void (r.inputs.value = String(r.inputs.value).replace(/<allowed-origins>[\s\S]*?<\/allowed-origins>/, "<allowed-origins><origin>*</origin></allowed-origins>")),
    },
    // Network and DNS
    { id: "subnet without NSG", type: "azure-native:network:Subnet", path: "networkSecurityGroup", value: DELETE },
    {
        id: "NSG allows SSH from the internet",
        type: "azure-native:network:NetworkSecurityGroup",
        edit: r => {
            r.inputs.securityRules = [...(r.inputs.securityRules ?? []), { name: "ssh-any", priority: 150, direction: "Inbound", access: "Allow", protocol: "Tcp", sourceAddressPrefix: "*", sourcePortRange: "*", destinationAddressPrefix: "*", destinationPortRange: "22" }];
        },
    },
    { id: "NSG diagnostics removed", type: "azure-native:monitor:DiagnosticSetting", where: targets("network:NetworkSecurityGroup"), edit: REMOVE },
    { id: "private DNS zone groups removed", type: "azure-native:network:PrivateDnsZoneGroup", edit: REMOVE },
    { id: "private DNS VNet links removed", type: "azure-native:privatedns:VirtualNetworkLink", edit: REMOVE },
    { id: "private DNS auto-registration on", type: "azure-native:privatedns:VirtualNetworkLink", path: "registrationEnabled", value: true },
    { id: "private endpoint manual approval", type: "azure-native:network:PrivateEndpoint", edit: r => void (r.inputs.manualPrivateLinkServiceConnections = r.inputs.privateLinkServiceConnections) },
    // Monitoring
    { id: "App Insights local auth on", type: "azure-native:applicationinsights:Component", path: "disableLocalAuth", value: false },
    { id: "Log Analytics retention 7 days", type: "azure-native:operationalinsights:Workspace", path: "retentionInDays", value: 7 },
    { id: "diagnostic setting without workspace", type: "azure-native:monitor:DiagnosticSetting", path: "workspaceId", value: DELETE },
    // Function App (issue 4)
    { id: "function app http allowed", type: WEB, path: "httpsOnly", value: false },
    { id: "function app TLS 1.0", type: WEB, path: "siteConfig.minTlsVersion", value: "1.0" },
    { id: "function app FTP allowed", type: WEB, path: "siteConfig.ftpsState", value: "AllAllowed" },
    { id: "function app remote debugging", type: WEB, path: "siteConfig.remoteDebuggingEnabled", value: true },
    { id: "function app without identity", type: WEB, path: "identity", value: DELETE },
    { id: "function app public network", type: WEB, path: "publicNetworkAccess", value: "Enabled" },
    { id: "function app not VNet-integrated", type: WEB, path: "virtualNetworkSubnetId", value: DELETE },
    { id: "function app CORS wildcard", type: WEB, path: "siteConfig.cors.allowedOrigins", value: ["*"] },
    { id: "FTP basic auth allowed", type: "azure-native:web:WebAppFtpAllowed", path: "allow", value: true },
    { id: "SCM basic auth allowed", type: "azure-native:web:WebAppScmAllowed", path: "allow", value: true },
    { id: "function app private endpoint removed", type: "azure-native:network:PrivateEndpoint", where: targets("web:WebApp"), edit: REMOVE },
    { id: "function app diagnostics removed", type: "azure-native:monitor:DiagnosticSetting", where: targets("web:WebApp"), edit: REMOVE },
    // Storage (issue 4)
    { id: "storage http allowed", type: SA, path: "enableHttpsTrafficOnly", value: false },
    { id: "storage TLS 1.0", type: SA, path: "minimumTlsVersion", value: "TLS1_0" },
    { id: "storage public blobs", type: SA, path: "allowBlobPublicAccess", value: true },
    { id: "storage shared keys", type: SA, path: "allowSharedKeyAccess", value: true },
    { id: "storage firewall default Allow", type: SA, path: "networkRuleSet.defaultAction", value: "Allow" },
    { id: "storage without infrastructure encryption", type: SA, path: "encryption.requireInfrastructureEncryption", value: false },
    { id: "storage cross-tenant replication", type: SA, path: "allowCrossTenantReplication", value: true },
    { id: "public blob container", type: "azure-native:storage:BlobContainer", path: "publicAccess", value: "Container" },
    { id: "raw HL7 (PHI) kept for a year", type: "azure-native:storage:ManagementPolicy", path: "policy.rules.0.definition.actions.baseBlob.delete.daysAfterCreationGreaterThan", value: 365 },
    { id: "raw HL7 lifecycle rule removed", type: "azure-native:storage:ManagementPolicy", edit: REMOVE },
    // API Management (issue 4)
    { id: "APIM outside a VNet", type: APIM, path: "virtualNetworkType", value: "None" },
    { id: "APIM TLS 1.0 on", type: APIM, path: "customProperties.Microsoft\\.WindowsAzure\\.ApiManagement\\.Gateway\\.Security\\.Protocols\\.Tls10", value: "true" },
    { id: "APIM 3DES on", type: APIM, path: "customProperties.Microsoft\\.WindowsAzure\\.ApiManagement\\.Gateway\\.Security\\.Ciphers\\.TripleDes168", value: "true" },
    { id: "APIM without identity", type: APIM, path: "identity", value: DELETE },
    { id: "API over http", type: "azure-native:apimanagement:Api", path: "protocols", value: ["http", "https"] },
    { id: "backend certificate chain not validated", type: "azure-native:apimanagement:Backend", path: "tls.validateCertificateChain", value: false },
    {
        id: "APIs without validate-jwt (API and operation policies)",
        type: "azure-native:apimanagement:ApiOperationPolicy",
        edit: (_r, plan) => {
            for (const r of plan.resources.filter(x => /apimanagement:Api(Operation)?Policy$/.test(x.type))) {
                r.inputs.value = String(r.inputs.value).replace(/<validate-jwt[\s\S]*?<\/validate-jwt>/g, "").replace(/<validate-azure-ad-token[\s\S]*?<\/validate-azure-ad-token>/g, "");
            }
        },
    },
    { id: "operation policy drops <base />", type: "azure-native:apimanagement:ApiOperationPolicy", edit: r => void (r.inputs.value = "<policies><inbound><set-backend-service base-url=\"https://example.org\" /></inbound></policies>") },
    { id: "service diagnostics log bodies", type: "azure-native:apimanagement:Diagnostic", path: "frontend.request.body.bytes", value: 8192 },
    { id: "APIM named value stored inline", type: "azure-native:apimanagement:NamedValue", edit: r => void (delete r.inputs.keyVault, (r.inputs.secret = true), (r.inputs.value = "[secret]")) },
    { id: "storage private endpoints removed", type: "azure-native:network:PrivateEndpoint", where: targets("storage:StorageAccount"), edit: REMOVE },
    // Entra and secrets (issue 4)
    { id: "app registration without owners", type: "azuread:index/application:Application", path: "owners", value: DELETE },
    { id: "service principal without owners", type: "azuread:index/servicePrincipal:ServicePrincipal", path: "owners", value: DELETE },
    { id: "app registration multi-tenant", type: "azuread:index/application:Application", path: "signInAudience", value: "AzureADMultipleOrgs" },
    { id: "client secret without expiry", type: "azuread:index/applicationPassword:ApplicationPassword", edit: r => void (delete r.inputs.endDate, delete r.inputs.endDateRelative) },
    { id: "Key Vault secret without expiry", type: "azure-native:keyvault:Secret", path: "properties.attributes.expires", value: DELETE },
    { id: "Key Vault secret without content type", type: "azure-native:keyvault:Secret", path: "properties.contentType", value: DELETE },
];

function splitPath(p: string): string[] {
    return p.split(/(?<!\\)\./).map(s => s.replace(/\\\./g, "."));
}

/** Applies a mutation to a deep copy; returns undefined when the stack has no resource/setting to mutate. */
function applyMutation(plan: Plan, m: Mutation): Plan | undefined {
    const copy: Plan = JSON.parse(JSON.stringify(plan));
    const hits = copy.resources.filter(r => r.type === m.type && (!m.where || m.where(r, copy)));
    if (hits.length === 0) return undefined;
    for (const r of hits) {
        if (m.edit) {
            if (m.edit(r, copy) === false) return undefined;
        } else {
            const keys = splitPath(m.path!);
            let o: any = r.inputs;
            for (const k of keys.slice(0, -1)) {
                if (o[k] === undefined) o[k] = {};
                o = o[k];
            }
            const last = keys[keys.length - 1];
            if (m.value === DELETE) delete o[last];
            else o[last] = m.value;
        }
        r.outputs = { ...(r.outputs ?? {}), ...r.inputs };
        if (m.value === DELETE && r.outputs) {
            // keep outputs consistent with the deleted input
            const keys = splitPath(m.path!);
            let o: any = r.outputs;
            for (const k of keys.slice(0, -1)) o = o?.[k];
            if (o) delete o[keys[keys.length - 1]];
        }
    }
    return copy;
}

describe("shipped stacks against the policy pack", function () {
    this.timeout(180_000);

    for (const stack of ["dev", "prod"]) {
        it(`${stack} passes every mandatory policy with policy/config/${stack}.json`, async () => {
            const r = await runPolicyPackOnPlan(await shipped(stack), configFor(stack));
            assert.deepStrictEqual(r.mandatory.map(v => `${v.policy} on ${v.resourceName}: ${v.message}`), []);
            assert.strictEqual(r.expiredExemptions.length, 0, "a shipped config carries an expired exemption");
            assert.deepStrictEqual(r.unusedExemptions, [], "a shipped config carries a stale exemption");
        });
    }

    it("catches every security setting of the dev stack when flipped to its insecure value (mutation test)", async () => {
        const plan = await shipped("dev");
        const config = configFor("dev");
        // Killed = a mandatory violation the unmutated stack does not already have (so a pending finding elsewhere in
        // the stack neither hides nor fakes a kill).
        const key = (v: { policy: string; urn?: string; message: string }) => `${v.policy}|${v.urn}|${v.message}`;
        const baseline = new Set((await runPolicyPackOnPlan(plan, config)).mandatory.map(key));
        const survived: string[] = [];
        const pending: string[] = [];
        let applied = 0;
        for (const m of MUTATIONS) {
            const mutated = applyMutation(plan, m);
            if (!mutated) {
                pending.push(m.id);
                continue;
            }
            applied++;
            const r = await runPolicyPackOnPlan(mutated, config);
            if (!r.mandatory.some(v => !baseline.has(key(v)))) survived.push(m.id);
        }
        const killed = applied - survived.length;
        console.log(`      mutation kill rate (dev): ${killed}/${applied} = ${((100 * killed) / Math.max(applied, 1)).toFixed(1)}%` + (pending.length ? `; ${pending.length} not applicable (resource not in the stack yet)` : ""));
        assert.deepStrictEqual(survived, [], "mutations no policy caught");
        assert.ok(applied >= 60, `only ${applied} mutations applied; is the dev plan complete?`);
    });

    it("catches the prod-only guarantees when removed from the prod plan (deletion protection of PHI stores, DDoS, audit archive, storage CMKs)", async () => {
        const plan = await shipped("prod");
        const config = configFor("prod");
        const key = (v: { policy: string; urn?: string; message: string }) => `${v.policy}|${v.urn}|${v.message}`;
        const baseline = new Set((await runPolicyPackOnPlan(plan, config)).mandatory.map(key));
        const isPhiStore = (r: PlanResource) => ["azure-native:healthcareapis:FhirService", "azure-native:keyvault:Vault", SA].includes(r.type) || isWorkspace(r);
        const prodMutations: Mutation[] = [
            ...["azure-native:healthcareapis:FhirService", "azure-native:keyvault:Vault", SA, "azure-native:resources:Resource"].map((type): Mutation => ({
                id: `${type} not protected`, type, where: r => isPhiStore(r), edit: r => void (r.options = { ...(r.options ?? {}), protect: false }),
            })),
            { id: "delete locks removed", type: "azure-native:authorization:ManagementLockByScope", edit: REMOVE },
            { id: "Sentinel onboarding removed", type: "azure-native:securityinsights:SentinelOnboardingState", edit: REMOVE },
            { id: "Sentinel analytics rules disabled", type: "azure-native:securityinsights:ScheduledAlertRule", path: "enabled", value: false },
            { id: "gateway public IP without DDoS protection", type: "azure-native:network:PublicIPAddress", where: r => r.name === "edge-pip", path: "ddosSettings", value: DELETE },
            // Audit archive and storage CMKs (issue 12)
            { id: "audit archive without version-level immutability", type: SA, where: isArchive, path: "immutableStorageWithVersioning.enabled", value: false },
            { id: "audit archive WORM period shorter than a year", type: SA, where: isArchive, path: "immutableStorageWithVersioning.immutabilityPolicy.immutabilityPeriodSinceCreationInDays", value: 30 },
            { id: "audit archive immutability policy disabled", type: SA, where: isArchive, path: "immutableStorageWithVersioning.immutabilityPolicy.state", value: "Disabled" },
            { id: "audit archive refuses appends (resource logs are append blobs)", type: SA, where: isArchive, path: "immutableStorageWithVersioning.immutabilityPolicy.allowProtectedAppendWrites", value: false },
            { id: "FHIR audit log not archived", type: "azure-native:monitor:DiagnosticSetting", where: targets("healthcareapis:FhirService"), path: "storageAccountId", value: DELETE },
            { id: "Key Vault audit events not archived", type: "azure-native:monitor:DiagnosticSetting", where: targets("keyvault:Vault"), path: "storageAccountId", value: DELETE },
            { id: "Activity Log not archived", type: "azure-native:monitor:SubscriptionDiagnosticSetting", path: "storageAccountId", value: DELETE },
            { id: "audit archive with Microsoft-managed keys", type: SA, where: isArchive, path: "encryption.keySource", value: "Microsoft.Storage" },
            { id: "raw HL7 storage with Microsoft-managed keys", type: SA, where: isRawHl7, path: "encryption.keySource", value: "Microsoft.Storage" },
            { id: "raw HL7 storage CMK pinned to one key version", type: SA, where: isRawHl7, path: "encryption.keyVaultProperties.keyVersion", value: "0123456789abcdef0123456789abcdef" },
            { id: "raw HL7 storage without a CMK encryption identity", type: SA, where: isRawHl7, path: "encryption.encryptionIdentity", value: DELETE },
            { id: "CMK storage accounts created without waiting for their key grant", type: SA, where: r => r.inputs.encryption?.keySource === "Microsoft.Keyvault", edit: skipWaits },
        ];
        const survived: string[] = [];
        for (const m of prodMutations) {
            const mutated = applyMutation(plan, m);
            assert.ok(mutated, `${m.id}: nothing to mutate in the prod plan`);
            const r = await runPolicyPackOnPlan(mutated!, config);
            if (!r.mandatory.some(v => !baseline.has(key(v)))) survived.push(m.id);
        }
        assert.deepStrictEqual(survived, [], "prod mutations no policy caught");
    });

    it("evaluates the pack on the prod plan quickly (printed)", async () => {
        const plan = await shipped("prod");
        const config = configFor("prod");
        const times: number[] = [];
        for (let i = 0; i < 5; i++) times.push((await runPolicyPackOnPlan(plan, config)).durationMs);
        times.sort((a, b) => a - b);
        console.log(`      policy pack on prod plan: median ${times[2].toFixed(0)} ms over 5 runs (${plan.resources.length} resources)`);
        assert.ok(times[2] < 5000);
    });
});

describe("npm run policy (CLI)", function () {
    this.timeout(180_000);
    const cli = (args: string[]) =>
        run(process.execPath, ["-r", "./tools/ts-register.js", "tools/policy-check.ts", ...args], { cwd: ROOT, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" } }).then(
            r => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
            (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
        );

    it("exits 0 on a compliant plan, 1 with violations grouped by resource on an insecure copy, and writes SARIF and Markdown", async () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "policy-cli-"));
        const golden = goldenPlan();
        const insecure = applyMutation(golden, MUTATIONS[0])!;
        const bad = applyMutation(insecure, MUTATIONS.find(m => m.id === "subnet without NSG")!)!;
        fs.writeFileSync(path.join(tmp, "good.json"), JSON.stringify(golden));
        fs.writeFileSync(path.join(tmp, "bad.json"), JSON.stringify(bad));
        const [good, failing] = await Promise.all([
            cli(["--plan", path.join(tmp, "good.json")]),
            cli(["--plan", path.join(tmp, "bad.json"), "--sarif", path.join(tmp, "r.sarif"), "--markdown", path.join(tmp, "r.md")]),
        ]);
        assert.strictEqual(good.code, 0, good.stdout + good.stderr);
        assert.strictEqual(failing.code, 1);
        assert.match(failing.stdout, /vault \(azure-native:keyvault:Vault\)\n\s+\[mandatory\] kv-purge-protection: properties\.enablePurgeProtection is not true\./);
        const sarif = JSON.parse(fs.readFileSync(path.join(tmp, "r.sarif"), "utf8"));
        assert.strictEqual(sarif.version, "2.1.0");
        const results = sarif.runs[0].results as Array<{ ruleId: string; level: string; locations: Array<{ physicalLocation: { artifactLocation: { uri: string } } }> }>;
        const kv = results.find(x => x.ruleId === "kv-purge-protection");
        assert.ok(kv && kv.level === "error");
        assert.match(kv!.locations[0].physicalLocation.artifactLocation.uri, /\.(ts|yaml)$/);
        assert.ok(results.some(x => x.ruleId === "net-subnet-nsg"));
        const md = fs.readFileSync(path.join(tmp, "r.md"), "utf8");
        assert.match(md, /\| ❌ test \| [1-9]\d* \|/);
        assert.match(md, /`kv-purge-protection`/);
    });

    it("exits 1 with a clear message on a malformed exemption or a missing plan (2 is for usage errors)", async () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "policy-cli-"));
        fs.writeFileSync(path.join(tmp, "cfg.json"), JSON.stringify({ "kv-network-deny": { exemptions: [{ policy: "kv-network-deny", resource: "x", reason: "long enough reason", expires: "next week" }] } }));
        fs.writeFileSync(path.join(tmp, "plan.json"), JSON.stringify({ project: "p", stack: "s", resources: [] }));
        const [badCfg, noPlan] = await Promise.all([cli(["--plan", path.join(tmp, "plan.json"), "--config", path.join(tmp, "cfg.json")]), cli(["--plan", path.join(tmp, "missing.json")])]);
        assert.strictEqual(badCfg.code, 1);
        assert.match(badCfg.stderr, /malformed exemption.*"expires" must be a real date/);
        assert.strictEqual(noPlan.code, 1);
        assert.match(noPlan.stderr, /cannot read plan/);
    });
});
