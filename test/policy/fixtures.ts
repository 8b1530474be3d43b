// A compliant "golden" stack in offline-plan shape, written from the azure-native 3.28.0 / azuread 6.9.1 input typings
// (after the SDK's *ArgsProvideDefaults), covering every resource type the platform declares. Each policy test mutates
// one setting of a fresh copy and expects that policy to fire; the untouched copy must pass every policy.
import type { Plan, PlanResource } from "../../tools/policy/run";

const SUB = "/subscriptions/5b1e2f7a-0000-4000-8000-0000000000aa";
const RG = `${SUB}/resourceGroups/rg-test`;
export const TENANT = "72f988bf-0000-4000-8000-00000000f00d";
const DAY = 86400;

export function urnOf(type: string, name: string): string {
    return `urn:pulumi:test::fhir-platform::${type}::${name}`;
}

interface Links {
    deps?: string[];
    props?: Record<string, string[]>;
    outputs?: Record<string, unknown>;
}

function res(type: string, name: string, inputs: Record<string, any>, links: Links = {}): PlanResource {
    const propertyDependencies: Record<string, string[]> = {};
    for (const [k, names] of Object.entries(links.props ?? {})) propertyDependencies[k] = names.map(n => nameToUrn.get(n) ?? n);
    const deps = [...new Set([...(links.deps ?? []), ...Object.values(links.props ?? {}).flat()])].map(n => nameToUrn.get(n) ?? n);
    return { urn: urnOf(type, name), type, name, custom: true, inputs, outputs: { ...inputs, ...(links.outputs ?? {}) }, dependencies: deps, propertyDependencies };
}

const nameToUrn = new Map<string, string>();
function reg(type: string, name: string): void {
    nameToUrn.set(name, urnOf(type, name));
}

const T = {
    rg: "azure-native:resources:ResourceGroup",
    vnet: "azure-native:network:VirtualNetwork",
    subnet: "azure-native:network:Subnet",
    nsg: "azure-native:network:NetworkSecurityGroup",
    pe: "azure-native:network:PrivateEndpoint",
    zoneGroup: "azure-native:network:PrivateDnsZoneGroup",
    zone: "azure-native:privatedns:PrivateZone",
    link: "azure-native:privatedns:VirtualNetworkLink",
    law: "azure-native:operationalinsights:Workspace",
    appi: "azure-native:applicationinsights:Component",
    diag: "azure-native:monitor:DiagnosticSetting",
    ag: "azure-native:monitor:ActionGroup",
    metricAlert: "azure-native:monitor:MetricAlert",
    sqr: "azure-native:monitor:ScheduledQueryRule",
    uami: "azure-native:managedidentity:UserAssignedIdentity",
    vault: "azure-native:keyvault:Vault",
    key: "azure-native:keyvault:Key",
    secret: "azure-native:keyvault:Secret",
    ra: "azure-native:authorization:RoleAssignment",
    ahds: "azure-native:resources:Resource",
    sleep: "time:index/sleep:Sleep",
    agw: "azure-native:network:ApplicationGateway",
    waf: "azure-native:network:WebApplicationFirewallPolicy",
    pip: "azure-native:network:PublicIPAddress",
    flowLog: "azure-native:network:FlowLog",
    subDiag: "azure-native:monitor:SubscriptionDiagnosticSetting",
    activityAlert: "azure-native:monitor:ActivityLogAlert",
    savedSearch: "azure-native:operationalinsights:SavedSearch",
    fhir: "azure-native:healthcareapis:FhirService",
    sa: "azure-native:storage:StorageAccount",
    container: "azure-native:storage:BlobContainer",
    lifecycle: "azure-native:storage:ManagementPolicy",
    queue: "azure-native:storage:Queue",
    plan: "azure-native:web:AppServicePlan",
    webapp: "azure-native:web:WebApp",
    ftp: "azure-native:web:WebAppFtpAllowed",
    scm: "azure-native:web:WebAppScmAllowed",
    apim: "azure-native:apimanagement:ApiManagementService",
    api: "azure-native:apimanagement:Api",
    apiPolicy: "azure-native:apimanagement:ApiPolicy",
    op: "azure-native:apimanagement:ApiOperation",
    opPolicy: "azure-native:apimanagement:ApiOperationPolicy",
    backend: "azure-native:apimanagement:Backend",
    nv: "azure-native:apimanagement:NamedValue",
    logger: "azure-native:apimanagement:Logger",
    apiDiag: "azure-native:apimanagement:ApiDiagnostic",
    topic: "azure-native:eventgrid:SystemTopic",
    eventSub: "azure-native:eventgrid:SystemTopicEventSubscription",
    app: "azuread:index/application:Application",
    sp: "azuread:index/servicePrincipal:ServicePrincipal",
    appPassword: "azuread:index/applicationPassword:ApplicationPassword",
    appRoleAssignment: "azuread:index/appRoleAssignment:AppRoleAssignment",
    randomPassword: "random:index/randomPassword:RandomPassword",
    randomString: "random:index/randomString:RandomString",
} as const;
export const TYPES = T;

const NAMES: Array<[string, string]> = [
    [T.rg, "rg"], [T.vnet, "vnet"], [T.subnet, "snet-pe"], [T.subnet, "snet-func"], [T.subnet, "snet-apim"],
    [T.nsg, "nsg-pe"], [T.nsg, "nsg-func"], [T.nsg, "nsg-apim"], [T.law, "law"], [T.appi, "appi"], [T.uami, "uami-fhir"],
    [T.vault, "vault"], [T.key, "cmk"], [T.secret, "sender-secret"], [T.ra, "ra-cmk"], [T.ra, "ra-deployer"], [T.sleep, "wait-cmk"], [T.sleep, "wait-deployer"], [T.agw, "agw"], [T.waf, "waf"], [T.pip, "agw-pip"], [T.flowLog, "flowlog"], [T.subDiag, "activity-log"], [T.activityAlert, "activity-alert"], [T.savedSearch, "patient-access"], [T.ahds, "ahds"], [T.fhir, "fhir"],
    [T.sa, "st"], [T.container, "deploy"], [T.container, "messages"], [T.lifecycle, "st-lifecycle"], [T.queue, "ingest"], [T.plan, "plan"], [T.webapp, "func"], [T.ftp, "func-ftp"], [T.scm, "func-scm"],
    [T.apim, "apim"], [T.api, "api-fhir"], [T.apiPolicy, "api-fhir-policy"], [T.op, "op-read"], [T.opPolicy, "op-read-policy"],
    [T.backend, "backend-func"], [T.nv, "nv-secret"], [T.logger, "logger"], [T.apiDiag, "api-diag"], [T.topic, "kv-topic"], [T.eventSub, "kv-near-expiry"],
    [T.ag, "ag"], [T.metricAlert, "alert-fn-failures"], [T.sqr, "alert-poison"], [T.app, "api-app"], [T.app, "spa-app"], [T.app, "sender-app"],
    [T.sp, "api-sp"], [T.appPassword, "sender-password"], [T.appRoleAssignment, "sender-role"], [T.randomPassword, "pw"], [T.randomString, "suffix"],
];
NAMES.forEach(([t, n]) => reg(t, n));
const PE_TARGETS: Array<[string, string, string[]]> = [
    ["pe-vault", "vault", ["vault"]], ["pe-ahds", "ahds", ["healthcareworkspace"]], ["pe-func", "func", ["sites"]],
    ["pe-st-blob", "st", ["blob"]], ["pe-st-queue", "st", ["queue"]], ["pe-st-table", "st", ["table"]],
];
const ZONES: Record<string, string[]> = {
    vault: ["privatelink.vaultcore.azure.net"],
    healthcareworkspace: ["privatelink.azurehealthcareapis.com", "privatelink.dicom.azurehealthcareapis.com"],
    sites: ["privatelink.azurewebsites.net"],
    blob: ["privatelink.blob.core.windows.net"],
    queue: ["privatelink.queue.core.windows.net"],
    table: ["privatelink.table.core.windows.net"],
};
const zoneRes = (z: string) => `zone-${z.replace(/\./g, "-")}`;
for (const [pe] of PE_TARGETS) {
    reg(T.pe, pe);
    reg(T.zoneGroup, `${pe}-dns`);
}
for (const z of Object.values(ZONES).flat()) {
    reg(T.zone, zoneRes(z));
    reg(T.link, `${zoneRes(z)}-link`);
}
for (const t of ["vault", "fhir", "apim", "func", "nsg-pe", "nsg-func", "nsg-apim", "st"]) reg(T.diag, `diag-${t}`);

const id = (provider: string, name: string) => `${RG}/providers/${provider}/${name}`;
const tags = { environment: "test", dataClassification: "PHI-synthetic" };
const nsgRule = (name: string, priority: number, source: string, port: string) => ({
    name, priority, direction: "Inbound", access: "Allow", protocol: "Tcp", sourceAddressPrefix: source, sourcePortRange: "*",
    destinationAddressPrefix: "VirtualNetwork", destinationPortRange: port,
});

export function goldenResources(nowSeconds = Math.floor(Date.now() / 1000)): PlanResource[] {
    const out: PlanResource[] = [];
    const add = (r: PlanResource) => out.push(r);
    add(res(T.rg, "rg", { location: "westeurope", resourceGroupName: "rg-test", tags }, { outputs: { id: RG } }));
    add(res(T.vnet, "vnet", { location: "westeurope", resourceGroupName: "rg-test", addressSpace: { addressPrefixes: ["10.40.0.0/22"] }, virtualNetworkName: "vnet-test" }, { props: { resourceGroupName: ["rg"] } }));
    for (const [n, port, src] of [["nsg-pe", "443", "VirtualNetwork"], ["nsg-func", "443", "VirtualNetwork"], ["nsg-apim", "3443", "ApiManagement"]] as const) {
        add(res(T.nsg, n, { location: "westeurope", resourceGroupName: "rg-test", securityRules: [nsgRule("allow-in", 100, src, port), nsgRule("allow-lb", 110, "AzureLoadBalancer", "6390")] }, { outputs: { id: id("Microsoft.Network/networkSecurityGroups", n) } }));
    }
    for (const [n, nsg, prefix] of [["snet-pe", "nsg-pe", "10.40.0.0/26"], ["snet-func", "nsg-func", "10.40.1.0/26"], ["snet-apim", "nsg-apim", "10.40.2.0/27"]] as const) {
        add(res(T.subnet, n, { resourceGroupName: "rg-test", virtualNetworkName: "vnet-test", subnetName: n, addressPrefix: prefix, defaultOutboundAccess: false, networkSecurityGroup: { id: id("Microsoft.Network/networkSecurityGroups", nsg) } }, { props: { networkSecurityGroup: [nsg], virtualNetworkName: ["vnet"] }, outputs: { id: id("Microsoft.Network/virtualNetworks", `vnet-test/subnets/${n}`) } }));
    }
    add(res(T.law, "law", { location: "westeurope", resourceGroupName: "rg-test", retentionInDays: 90, sku: { name: "PerGB2018" }, features: { disableLocalAuth: true } }, { outputs: { id: id("Microsoft.OperationalInsights/workspaces", "law") } }));
    add(res(T.appi, "appi", { location: "westeurope", resourceGroupName: "rg-test", kind: "web", applicationType: "web", disableLocalAuth: true, workspaceResourceId: id("Microsoft.OperationalInsights/workspaces", "law"), ingestionMode: "LogAnalytics" }, { props: { workspaceResourceId: ["law"] } }));
    add(res(T.uami, "uami-fhir", { location: "westeurope", resourceGroupName: "rg-test" }, { outputs: { principalId: "11111111-1111-4111-8111-111111111111", clientId: "22222222-2222-4222-8222-222222222222" } }));
    add(res(T.vault, "vault", {
        location: "westeurope", resourceGroupName: "rg-test", vaultName: "kv-test",
        properties: {
            tenantId: TENANT, sku: { family: "A", name: "standard" }, enableRbacAuthorization: true, enableSoftDelete: true, softDeleteRetentionInDays: 90,
            enablePurgeProtection: true, publicNetworkAccess: "disabled", networkAcls: { defaultAction: "Deny", bypass: "AzureServices", ipRules: [], virtualNetworkRules: [] },
        },
    }, { outputs: { id: id("Microsoft.KeyVault/vaults", "kv-test") } }));
    add(res(T.key, "cmk", {
        resourceGroupName: "rg-test", vaultName: "kv-test", keyName: "fhir-cmk",
        properties: {
            kty: "RSA", keySize: 3072, keyOps: ["wrapKey", "unwrapKey"], attributes: { enabled: true, expires: nowSeconds + 365 * DAY },
            rotationPolicy: { attributes: { expiryTime: "P1Y" }, lifetimeActions: [{ action: { type: "rotate" }, trigger: { timeBeforeExpiry: "P30D" } }, { action: { type: "notify" }, trigger: { timeBeforeExpiry: "P45D" } }] },
        },
    }, { deps: ["wait-deployer"], props: { vaultName: ["vault"] }, outputs: { keyUriWithVersion: "https://kv-test.vault.azure.net/keys/fhir-cmk/0123456789abcdef" } }));
    add(res(T.ra, "ra-deployer", {
        principalId: "0d3b9a1e-0000-4000-8000-0000000000de", principalType: "ServicePrincipal", roleAssignmentName: "9a1c2f0e-3b4d-5e6f-8a7b-0c1d2e3f4a5b",
        roleDefinitionId: `${SUB}/providers/Microsoft.Authorization/roleDefinitions/14b46e9e-c2b7-41b4-b07b-48a6ebf60603`,
        scope: id("Microsoft.KeyVault/vaults", "kv-test"),
    }, { props: { scope: ["vault"] } }));
    add(res(T.sleep, "wait-deployer", { createDuration: "120s", triggers: { grant0: "ra-deployer" } }, { deps: ["ra-deployer"] }));
    add(res(T.ra, "ra-cmk", {
        principalId: "11111111-1111-4111-8111-111111111111", principalType: "ServicePrincipal", roleAssignmentName: "0b2d4f6a-8c0e-5a2c-9e4f-6a8c0e2a4c6e",
        roleDefinitionId: `${SUB}/providers/Microsoft.Authorization/roleDefinitions/e147488a-f6f5-4113-8e2d-b22465e65bf6`,
        scope: id("Microsoft.KeyVault/vaults", "kv-test/keys/fhir-cmk"),
    }, { props: { principalId: ["uami-fhir"], scope: ["cmk"] } }));
    add(res(T.sleep, "wait-cmk", { createDuration: "120s", triggers: { grant0: "ra-cmk" } }, { deps: ["ra-cmk"] }));
    add(res(T.ahds, "ahds", {
        location: "westeurope", resourceGroupName: "rg-test", resourceProviderNamespace: "Microsoft.HealthcareApis", parentResourcePath: "",
        resourceType: "workspaces", resourceName: "ahdstest", apiVersion: "2024-03-31", properties: { publicNetworkAccess: "Disabled" },
    }, { outputs: { id: id("Microsoft.HealthcareApis/workspaces", "ahdstest"), name: "ahdstest" } }));
    add(res(T.fhir, "fhir", {
        location: "westeurope", resourceGroupName: "rg-test", workspaceName: "ahdstest", fhirServiceName: "fhir", kind: "fhir-R4",
        identity: { type: "UserAssigned", userAssignedIdentities: [id("Microsoft.ManagedIdentity/userAssignedIdentities", "uami-fhir")] },
        encryption: { customerManagedKeyEncryption: { keyEncryptionKeyUrl: "https://kv-test.vault.azure.net/keys/fhir-cmk/0123456789abcdef" } },
        authenticationConfiguration: { authority: `https://login.microsoftonline.com/${TENANT}`, audience: "https://ahdstest-fhir.fhir.azurehealthcareapis.com", smartProxyEnabled: false },
        corsConfiguration: { origins: ["https://portal.example.org"], methods: ["GET"], headers: ["Authorization"], maxAge: 600, allowCredentials: false },
    }, { deps: ["wait-cmk"], props: { encryption: ["cmk"], identity: ["uami-fhir"], workspaceName: ["ahds"] }, outputs: { id: id("Microsoft.HealthcareApis/workspaces", "ahdstest/fhirservices/fhir") } }));
    add(res(T.sa, "st", {
        location: "westeurope", resourceGroupName: "rg-test", accountName: "sttest", kind: "StorageV2", sku: { name: "Standard_LRS" },
        enableHttpsTrafficOnly: true, minimumTlsVersion: "TLS1_2", allowBlobPublicAccess: false, allowSharedKeyAccess: false, allowCrossTenantReplication: false,
        defaultToOAuthAuthentication: true, publicNetworkAccess: "Disabled",
        networkRuleSet: { defaultAction: "Deny", bypass: "AzureServices", ipRules: [], virtualNetworkRules: [] },
        encryption: { keySource: "Microsoft.Storage", requireInfrastructureEncryption: true, services: { blob: { enabled: true }, queue: { enabled: true, keyType: "Account" } } },
    }, { outputs: { id: id("Microsoft.Storage/storageAccounts", "sttest") } }));
    add(res(T.container, "deploy", { accountName: "sttest", resourceGroupName: "rg-test", publicAccess: "None" }, { props: { accountName: ["st"] } }));
    add(res(T.container, "messages", { accountName: "sttest", resourceGroupName: "rg-test", containerName: "hl7-messages", publicAccess: "None" }, { props: { accountName: ["st"] } }));
    add(res(T.lifecycle, "st-lifecycle", {
        accountName: "sttest", resourceGroupName: "rg-test", managementPolicyName: "default",
        policy: { rules: [{ name: "expire-raw-hl7-messages", enabled: true, type: "Lifecycle", definition: { filters: { blobTypes: ["blockBlob"], prefixMatch: ["hl7-messages/"] }, actions: { baseBlob: { delete: { daysAfterCreationGreaterThan: 30 } } } } }] },
    }, { props: { accountName: ["st"] }, deps: ["messages"] }));
    add(res(T.queue, "ingest", { accountName: "sttest", resourceGroupName: "rg-test", queueName: "hl7-ingest" }, { props: { accountName: ["st"] } }));
    add(res(T.plan, "plan", { location: "westeurope", resourceGroupName: "rg-test", kind: "functionapp", reserved: true, sku: { name: "FC1", tier: "FlexConsumption" } }, { outputs: { id: id("Microsoft.Web/serverfarms", "plan") } }));
    add(res(T.webapp, "func", {
        location: "westeurope", resourceGroupName: "rg-test", name: "func-test", kind: "functionapp,linux", serverFarmId: id("Microsoft.Web/serverfarms", "plan"),
        httpsOnly: true, publicNetworkAccess: "Disabled", virtualNetworkSubnetId: id("Microsoft.Network/virtualNetworks", "vnet-test/subnets/snet-func"),
        outboundVnetRouting: { allTraffic: true }, identity: { type: "UserAssigned", userAssignedIdentities: [id("Microsoft.ManagedIdentity/userAssignedIdentities", "uami-func")] },
        siteConfig: {
            minTlsVersion: "1.2", scmMinTlsVersion: "1.2", ftpsState: "Disabled", remoteDebuggingEnabled: false, http20Enabled: true,
            cors: { allowedOrigins: ["https://portal.azure.com"] },
            appSettings: [
                { name: "AzureWebJobsStorage__credential", value: "managedidentity" },
                { name: "AzureWebJobsStorage__clientId", value: "33333333-3333-4333-8333-333333333333" },
                { name: "APPLICATIONINSIGHTS_CONNECTION_STRING", value: "InstrumentationKey=00000000-0000-4000-8000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/" },
                { name: "HL7_SENDER_SECRET", value: "@Microsoft.KeyVault(SecretUri=https://kv-test.vault.azure.net/secrets/hl7-sender/)" },
            ],
        },
        functionAppConfig: { runtime: { name: "node", version: "22" }, deployment: { storage: { type: "blobContainer", value: "https://sttest.blob.core.windows.net/deploy", authentication: { type: "UserAssignedIdentity" } } } },
    }, { props: { serverFarmId: ["plan"], virtualNetworkSubnetId: ["snet-func"] }, outputs: { id: id("Microsoft.Web/sites", "func-test") } }));
    add(res(T.ftp, "func-ftp", { resourceGroupName: "rg-test", name: "func-test", allow: false }, { props: { name: ["func"] } }));
    add(res(T.scm, "func-scm", { resourceGroupName: "rg-test", name: "func-test", allow: false }, { props: { name: ["func"] } }));
    const p = "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.";
    add(res(T.apim, "apim", {
        location: "westeurope", resourceGroupName: "rg-test", serviceName: "apim-test", publisherName: "Platform", publisherEmail: "platform@example.org",
        sku: { name: "Developer", capacity: 1 }, identity: { type: "SystemAssigned" }, virtualNetworkType: "Internal", publicNetworkAccess: "Disabled",
        virtualNetworkConfiguration: { subnetResourceId: id("Microsoft.Network/virtualNetworks", "vnet-test/subnets/snet-apim") },
        apiVersionConstraint: { minApiVersion: "2021-08-01" },
        customProperties: Object.fromEntries([
            ...["Protocols.Ssl30", "Protocols.Tls10", "Protocols.Tls11", "Backend.Protocols.Ssl30", "Backend.Protocols.Tls10", "Backend.Protocols.Tls11", "Ciphers.TripleDes168"].map(k => [p + k, "false"]),
            [`${p}Protocols.Server.Http2`, "true"],
        ]),
    }, { props: { virtualNetworkConfiguration: ["snet-apim"] }, outputs: { id: id("Microsoft.ApiManagement/service", "apim-test") } }));
    add(res(T.api, "api-fhir", { resourceGroupName: "rg-test", serviceName: "apim-test", apiId: "fhir", path: "fhir", protocols: ["https"], serviceUrl: "https://ahdstest-fhir.fhir.azurehealthcareapis.com", subscriptionRequired: false }, { props: { serviceName: ["apim"] } }));
    const jwt = `<policies><inbound><base /><validate-jwt header-name="Authorization" failed-validation-httpcode="401"><openid-config url="https://login.microsoftonline.com/${TENANT}/v2.0/.well-known/openid-configuration" /><audiences><audience>api://fhir-platform</audience></audiences></validate-jwt><set-header name="X-MS-AZUREFHIR-AUDIT-CALLER-OID" exists-action="override"><value>@(oid)</value></set-header><set-header name="X-MS-AZUREFHIR-AUDIT-CALLER-APPID" exists-action="override"><value>@(azp)</value></set-header><authentication-managed-identity resource="https://ahdstest-fhir.fhir.azurehealthcareapis.com" /></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>`;
    add(res(T.apiPolicy, "api-fhir-policy", { resourceGroupName: "rg-test", serviceName: "apim-test", apiId: "fhir", format: "rawxml", value: jwt }, { props: { apiId: ["api-fhir"] } }));
    add(res(T.op, "op-read", { resourceGroupName: "rg-test", serviceName: "apim-test", apiId: "fhir", operationId: "read", displayName: "Read", method: "GET", urlTemplate: "/*" }, { props: { apiId: ["api-fhir"] } }));
    add(res(T.opPolicy, "op-read-policy", { resourceGroupName: "rg-test", serviceName: "apim-test", apiId: "fhir", operationId: "read", format: "rawxml", value: `<policies><inbound><base /><validate-jwt header-name="Authorization"><required-claims><claim name="roles" match="any"><value>FHIR.Read</value></claim></required-claims></validate-jwt></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>` }, { props: { operationId: ["op-read"] } }));
    add(res(T.backend, "backend-func", { resourceGroupName: "rg-test", serviceName: "apim-test", protocol: "http", url: "https://func-test.azurewebsites.net/api", tls: { validateCertificateChain: true, validateCertificateName: true } }));
    add(res(T.nv, "nv-secret", { resourceGroupName: "rg-test", serviceName: "apim-test", displayName: "sender-secret", secret: true, keyVault: { secretIdentifier: "https://kv-test.vault.azure.net/secrets/hl7-sender" } }));
    add(res(T.logger, "logger", { resourceGroupName: "rg-test", serviceName: "apim-test", loggerType: "applicationInsights", credentials: { connectionString: "InstrumentationKey=00000000-0000-4000-8000-000000000000", identityClientId: "SystemAssigned" } }));
    add(res(T.apiDiag, "api-diag", { resourceGroupName: "rg-test", serviceName: "apim-test", apiId: "fhir", loggerId: "logger", alwaysLog: "allErrors", logClientIp: false, verbosity: "information", sampling: { samplingType: "fixed", percentage: 100 }, frontend: { request: { headers: [], body: { bytes: 0 } }, response: { headers: [], body: { bytes: 0 } } }, backend: { request: { headers: [], body: { bytes: 0 } }, response: { headers: [], body: { bytes: 0 } } } }));
    add(res(T.topic, "kv-topic", { location: "westeurope", resourceGroupName: "rg-test", source: id("Microsoft.KeyVault/vaults", "kv-test"), topicType: "Microsoft.KeyVault.vaults" }, { props: { source: ["vault"] } }));
    add(res(T.eventSub, "kv-near-expiry", { resourceGroupName: "rg-test", systemTopicName: "kv-topic", filter: { includedEventTypes: ["Microsoft.KeyVault.SecretNearExpiry"] } }, { props: { systemTopicName: ["kv-topic"] } }));
    add(res(T.ag, "ag", { location: "global", resourceGroupName: "rg-test", groupShortName: "fhirops", enabled: true, emailReceivers: [{ name: "ops", emailAddress: "ops@example.org", useCommonAlertSchema: true }] }));
    add(res(T.metricAlert, "alert-fn-failures", { location: "global", resourceGroupName: "rg-test", enabled: true, severity: 2, evaluationFrequency: "PT5M", windowSize: "PT15M", scopes: [id("Microsoft.Insights/components", "appi")], criteria: { odataType: "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria", allOf: [] }, actions: [{ actionGroupId: id("Microsoft.Insights/actionGroups", "ag") }] }, { props: { actions: ["ag"] } }));
    add(res(T.sqr, "alert-poison", { location: "westeurope", resourceGroupName: "rg-test", enabled: true, severity: 1, scopes: [id("Microsoft.OperationalInsights/workspaces", "law")], actions: { actionGroups: [id("Microsoft.Insights/actionGroups", "ag")] } }, { props: { actions: ["ag"] } }));
    // Entra
    add(res(T.app, "api-app", { owners: ["0d3b9a1e-0000-4000-8000-0000000000de"], displayName: "fhir-platform-api", signInAudience: "AzureADMyOrg", identifierUris: ["api://fhir-platform"], api: { requestedAccessTokenVersion: 2 }, appRoles: [{ allowedMemberTypes: ["Application"], displayName: "HL7.Send", value: "HL7.Send", id: "44444444-4444-4444-8444-444444444444", description: "send", enabled: true }] }, { outputs: { id: "/applications/api" } }));
    add(res(T.app, "spa-app", { owners: ["0d3b9a1e-0000-4000-8000-0000000000de"], displayName: "fhir-platform-spa", signInAudience: "AzureADMyOrg", singlePageApplication: { redirectUris: ["https://portal.example.org/auth/callback", "http://localhost:5173/auth/callback"] }, web: { implicitGrant: { accessTokenIssuanceEnabled: false, idTokenIssuanceEnabled: false } } }, { outputs: { id: "/applications/spa" } }));
    add(res(T.app, "sender-app", { owners: ["0d3b9a1e-0000-4000-8000-0000000000de"], displayName: "hl7-sender", signInAudience: "AzureADMyOrg" }, { outputs: { id: "/applications/sender" } }));
    add(res(T.sp, "api-sp", { owners: ["0d3b9a1e-0000-4000-8000-0000000000de"], clientId: "55555555-5555-4555-8555-555555555555", appRoleAssignmentRequired: true }, { props: { clientId: ["api-app"] } }));
    add(res(T.appPassword, "sender-password", { applicationId: "/applications/sender", displayName: "rotating", endDateRelative: "2160h", rotateWhenChanged: { rotation: "2026-11" } }, { props: { applicationId: ["sender-app"] }, outputs: { value: "[secret]" } }));
    add(res(T.secret, "sender-secret", { resourceGroupName: "rg-test", vaultName: "kv-test", secretName: "hl7-sender", properties: { value: "[secret]", contentType: "client-secret", attributes: { expires: nowSeconds + 90 * DAY } } }, { props: { properties: ["sender-password"], vaultName: ["vault"] } }));
    add(res(T.appRoleAssignment, "sender-role", { appRoleId: "44444444-4444-4444-8444-444444444444", principalObjectId: "66666666-6666-4666-8666-666666666666", resourceObjectId: "77777777-7777-4777-8777-777777777777" }, { props: { principalObjectId: ["sender-app"] } }));
    add(res(T.randomPassword, "pw", { length: 40, special: true, upper: true, lower: true, numeric: true }, { outputs: { result: "[secret]" } }));
    add(res(T.randomString, "suffix", { length: 5, special: false, upper: false }, { outputs: { result: "zp5v4" } }));
    // private endpoints, DNS
    for (const [pe, target, groups] of PE_TARGETS) {
        add(res(T.pe, pe, { location: "westeurope", resourceGroupName: "rg-test", privateEndpointName: pe, subnet: { id: id("Microsoft.Network/virtualNetworks", "vnet-test/subnets/snet-pe") }, privateLinkServiceConnections: [{ name: pe, groupIds: groups, privateLinkServiceId: `/id/${target}` }] }, { props: { privateLinkServiceConnections: [target], subnet: ["snet-pe"] } }));
        const zones = groups.flatMap(g => ZONES[g]);
        add(res(T.zoneGroup, `${pe}-dns`, { resourceGroupName: "rg-test", privateEndpointName: pe, privateDnsZoneGroupName: "default", privateDnsZoneConfigs: zones.map(z => ({ name: z, privateDnsZoneId: `/zones/${z}` })) }, { props: { privateEndpointName: [pe], privateDnsZoneConfigs: zones.map(zoneRes) } }));
    }
    for (const z of Object.values(ZONES).flat()) {
        add(res(T.zone, zoneRes(z), { location: "Global", resourceGroupName: "rg-test", privateZoneName: z }));
        add(res(T.link, `${zoneRes(z)}-link`, { location: "Global", resourceGroupName: "rg-test", privateZoneName: z, registrationEnabled: false, virtualNetwork: { id: "/vnet" } }, { props: { privateZoneName: [zoneRes(z)], virtualNetwork: ["vnet"] } }));
    }
    // diagnostic settings
    const diag = (name: string, target: string, logs: object[], metrics: object[] = [{ category: "AllMetrics", enabled: true }]) =>
        add(res(T.diag, name, { name: "to-law", resourceUri: `/id/${target}`, workspaceId: id("Microsoft.OperationalInsights/workspaces", "law"), logs, metrics }, { props: { resourceUri: [target], workspaceId: ["law"] } }));
    diag("diag-vault", "vault", [{ category: "AuditEvent", enabled: true }]);
    diag("diag-fhir", "fhir", [{ category: "AuditLogs", enabled: true }]);
    diag("diag-apim", "apim", [{ categoryGroup: "allLogs", enabled: true }]);
    diag("diag-func", "func", [{ categoryGroup: "allLogs", enabled: true }]);
    for (const n of ["nsg-pe", "nsg-func", "nsg-apim"]) diag(`diag-${n}`, n, [{ categoryGroup: "allLogs", enabled: true }], []);
    diag("diag-st", "st", [], [{ category: "Transaction", enabled: true }]);

    // The public edge (issue 11): WAF_v2 with a Prevention policy, HTTPS listener on a 2022 TLS policy, Key Vault
    // certificate; the VNet's flow log with traffic analytics.
    const agwId = id("Microsoft.Network/applicationGateways", "agw-test");
    add(res(T.pip, "agw-pip", { location: "westeurope", resourceGroupName: "rg-test", sku: { name: "Standard", tier: "Regional" }, publicIPAllocationMethod: "Static", ddosSettings: { protectionMode: "Enabled" } }, { outputs: { id: id("Microsoft.Network/publicIPAddresses", "pip-agw") } }));
    add(res(T.waf, "waf", {
        location: "westeurope", resourceGroupName: "rg-test",
        policySettings: { state: "Enabled", mode: "Prevention", requestBodyCheck: true, maxRequestBodySizeInKb: 1024 },
        managedRules: { managedRuleSets: [{ ruleSetType: "Microsoft_DefaultRuleSet", ruleSetVersion: "2.1" }, { ruleSetType: "Microsoft_BotManagerRuleSet", ruleSetVersion: "1.1" }], exclusions: [] },
    }, { outputs: { id: id("Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies", "waf-test") } }));
    add(res(T.agw, "agw", {
        location: "westeurope", resourceGroupName: "rg-test", applicationGatewayName: "agw-test",
        sku: { name: "WAF_v2", tier: "WAF_v2" }, firewallPolicy: { id: id("Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies", "waf-test") },
        sslPolicy: { policyType: "Predefined", policyName: "AppGwSslPolicy20220101S" },
        frontendIPConfigurations: [{ name: "public", publicIPAddress: { id: id("Microsoft.Network/publicIPAddresses", "pip-agw") } }],
        sslCertificates: [{ name: "listener", keyVaultSecretId: "https://kv-certs.vault.azure.net/secrets/edge" }],
        httpListeners: [{ name: "https", protocol: "Https", hostName: "fhir.example.org", sslCertificate: { id: `${agwId}/sslCertificates/listener` } }],
        requestRoutingRules: [{ name: "to-apim", ruleType: "Basic", priority: 100, httpListener: { id: `${agwId}/httpListeners/https` } }],
    }, { props: { firewallPolicy: ["waf"], frontendIPConfigurations: ["agw-pip"] }, outputs: { id: agwId } }));
    add(res(T.flowLog, "flowlog", {
        location: "westeurope", resourceGroupName: "NetworkWatcherRG", networkWatcherName: "NetworkWatcher_westeurope", enabled: true,
        targetResourceId: id("Microsoft.Network/virtualNetworks", "vnet-test"), storageId: id("Microsoft.Storage/storageAccounts", "stflow"),
        flowAnalyticsConfiguration: { networkWatcherFlowAnalyticsConfiguration: { enabled: true, workspaceResourceId: id("Microsoft.OperationalInsights/workspaces", "law"), trafficAnalyticsInterval: 10 } },
    }, { props: { targetResourceId: ["vnet"] } }));

    // Security operations (issue 12): the Activity Log in Log Analytics, alerts on control changes, a saved function.
    add(res(T.subDiag, "activity-log", { name: "activitylog", workspaceId: id("Microsoft.OperationalInsights/workspaces", "law"), logs: ["Administrative", "Security", "Policy", "ServiceHealth"].map(category => ({ category, enabled: true })) }, { props: { workspaceId: ["law"] } }));
    add(res(T.activityAlert, "activity-alert", {
        resourceGroupName: "rg-test", location: "global", enabled: true, scopes: [SUB],
        condition: { allOf: [{ field: "category", equals: "Administrative" }, { anyOf: ["Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete", "Microsoft.Authorization/locks/delete", "Microsoft.KeyVault/vaults/delete", "Microsoft.Insights/diagnosticSettings/delete"].map(equals => ({ field: "operationName", equals })) }] },
        actions: { actionGroups: [{ actionGroupId: id("Microsoft.Insights/actionGroups", "ag") }] },
    }, { props: { actions: ["ag"] } }));
    add(res(T.savedSearch, "patient-access", { resourceGroupName: "rg-test", workspaceName: "law", savedSearchId: "fhir-patient-access", category: "FHIR audit", displayName: "patient access", functionAlias: "FhirPatientAccess", functionParameters: "patientId:string", query: "AHDSFhirAuditLogs | where RequestUri has patientId" }, { props: { workspaceName: ["law"] } }));
    return out;
}

export function goldenPlan(): Plan {
    return { project: "fhir-platform", stack: "test", resources: goldenResources() };
}

/** A deep copy with `edit` applied to the resource named `name`. */
export function mutate(plan: Plan, name: string, edit: (inputs: Record<string, any>, r: PlanResource) => void): Plan {
    const copy: Plan = JSON.parse(JSON.stringify(plan));
    const r = copy.resources.find(x => x.name === name);
    if (!r) throw new Error(`fixture has no resource '${name}'`);
    // Outputs echo the inputs (as under mocks); keep only output-only keys such as id across the edit.
    const outputOnly = Object.fromEntries(Object.entries(r.outputs ?? {}).filter(([k]) => !(k in r.inputs)));
    edit(r.inputs, r);
    r.outputs = { ...outputOnly, ...JSON.parse(JSON.stringify(r.inputs)) };
    return copy;
}

/** A deep copy without the named resources (and without edges to them). */
export function without(plan: Plan, ...names: string[]): Plan {
    const copy: Plan = JSON.parse(JSON.stringify(plan));
    const gone = new Set(copy.resources.filter(r => names.includes(r.name)).map(r => r.urn));
    copy.resources = copy.resources.filter(r => !gone.has(r.urn));
    for (const r of copy.resources) {
        r.dependencies = (r.dependencies ?? []).filter(u => !gone.has(u));
        for (const k of Object.keys(r.propertyDependencies ?? {})) r.propertyDependencies![k] = r.propertyDependencies![k].filter(u => !gone.has(u));
    }
    return copy;
}
