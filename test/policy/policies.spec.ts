// Every policy: the golden stack passes it, and each listed insecure variant (one real setting changed) violates it.
import * as assert from "assert";
import { Policies } from "@pulumi/policy";
import { catalogue, policies } from "../../policy/policies";
import { Plan, PolicyPackConfigFile, runPolicyPackOnPlan } from "../../tools/policy/run";
import { goldenPlan, mutate, urnOf, without } from "./fixtures";

type Case = [description: string, make: (p: Plan) => Plan, config?: PolicyPackConfigFile];

const P = "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.";
const at = (name: string, edit: (i: Record<string, any>) => void) => (p: Plan) => mutate(p, name, edit);
const setting = (name: string, value: string) => at("func", i => i.siteConfig.appSettings.push({ name, value }));
const rule = (source: string, port: string) => at("nsg-pe", i => i.securityRules.push({ name: "bad", priority: 200, direction: "Inbound", access: "Allow", protocol: "*", sourceAddressPrefix: source, sourcePortRange: "*", destinationAddressPrefix: "*", destinationPortRange: port }));

const listener = (protocol: string) => at("agw", i => i.httpListeners.push({ name: "plain", protocol, hostName: "fhir.example.org" }));

/** The golden raw-HL7 account switched to a customer-managed key (complete unless `edit` breaks it). */
const cmkAccount = (edit: (enc: Record<string, any>) => void = () => undefined) => at("st", i => {
    i.identity = { type: "UserAssigned", userAssignedIdentities: ["/subscriptions/5b1e2f7a-0000-4000-8000-0000000000aa/resourceGroups/rg-test/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-st"] };
    i.encryption = {
        keySource: "Microsoft.Keyvault", requireInfrastructureEncryption: true, services: i.encryption.services,
        keyVaultProperties: { keyName: "st-hl7-cmk", keyVaultUri: "https://kv-test.vault.azure.net/" },
        encryptionIdentity: { encryptionUserAssignedIdentity: i.identity.userAssignedIdentities[0] },
    };
    edit(i.encryption);
});
const REQUIRE_CMK = { "st-cmk-phi-audit": { requireCustomerManagedKey: true } };

/** The golden plan plus an egress firewall (policy, rule collection group, firewall) with `edit` applied first. */
const withFirewall = (edit: (fw: Record<"policy" | "rules" | "firewall", Record<string, any>>) => void) => (p: Plan): Plan => {
    const copy: Plan = JSON.parse(JSON.stringify(p));
    const [POL, RCG, AFW] = ["FirewallPolicy", "FirewallPolicyRuleCollectionGroup", "AzureFirewall"].map(t => `azure-native:network:${t}`);
    const fw = {
        policy: { firewallPolicyName: "afwp-test", resourceGroupName: "rg-test", sku: { tier: "Standard" }, threatIntelMode: "Deny", dnsSettings: { enableProxy: false } },
        rules: { firewallPolicyName: "afwp-test", resourceGroupName: "rg-test", priority: 200, ruleCollections: [{ ruleCollectionType: "FirewallPolicyFilterRuleCollection", name: "function-fqdns", priority: 200, action: { type: "Allow" }, rules: [
            { ruleType: "ApplicationRule", name: "entra", sourceAddresses: ["10.40.1.0/26"], targetFqdns: ["login.microsoftonline.com"], protocols: [{ protocolType: "Https", port: 443 }] },
        ] }] },
        firewall: { azureFirewallName: "afw-test", resourceGroupName: "rg-test", sku: { name: "AZFW_VNet", tier: "Standard" }, firewallPolicy: { id: "/subscriptions/5b1e2f7a-0000-4000-8000-0000000000aa/resourceGroups/rg-test/providers/Microsoft.Network/firewallPolicies/afwp-test" } } as Record<string, any>,
    };
    edit(fw);
    const add = (type: string, name: string, inputs: Record<string, any>, props: Record<string, string[]>) =>
        copy.resources.push({ urn: urnOf(type, name), type, name, custom: true, inputs, outputs: { ...inputs }, dependencies: Object.values(props).flat(), propertyDependencies: props } as any);
    add(POL, "afwp", fw.policy, {});
    add(RCG, "afwp-rules", fw.rules, { firewallPolicyName: [urnOf(POL, "afwp")] });
    add(AFW, "afw", fw.firewall, "firewallPolicy" in fw.firewall ? { firewallPolicy: [urnOf(POL, "afwp")] } : {});
    return copy;
};
const firewallRule = (rule: Record<string, any>) => withFirewall(fw => fw.rules.ruleCollections[0].rules.push(rule));

const CASES: Record<string, Case[]> = {
    "net-egress-firewall-allowlist": [
        ["a Firewall Policy with threat intelligence in Alert mode", withFirewall(fw => (fw.policy.threatIntelMode = "Alert"))],
        ["a Basic-tier Firewall Policy", withFirewall(fw => (fw.policy.sku = { tier: "Basic" }))],
        ["a firewall without a Firewall Policy", withFirewall(fw => delete fw.firewall.firewallPolicy)],
        ["classic rules on the firewall", withFirewall(fw => (fw.firewall.networkRuleCollections = [{ name: "classic", priority: 100, action: { type: "Allow" }, rules: [] }]))],
        ["an application rule allowing every FQDN", firewallRule({ ruleType: "ApplicationRule", name: "all", sourceAddresses: ["*"], targetFqdns: ["*"], protocols: [{ protocolType: "Https", port: 443 }] })],
        ["a network rule to 0.0.0.0/0", firewallRule({ ruleType: "NetworkRule", name: "any", sourceAddresses: ["10.40.1.0/26"], destinationAddresses: ["0.0.0.0/0"], destinationPorts: ["*"], ipProtocols: ["Any"] })],
        ["a network rule to the Internet tag", firewallRule({ ruleType: "NetworkRule", name: "internet", sourceAddresses: ["10.40.1.0/26"], destinationAddresses: ["Internet"], destinationPorts: ["443"], ipProtocols: ["TCP"] })],
        ["an FQDN network rule without the DNS proxy", firewallRule({ ruleType: "NetworkRule", name: "fqdn", sourceAddresses: ["10.40.1.0/26"], destinationFqdns: ["example.org"], destinationPorts: ["443"], ipProtocols: ["TCP"] })],
    ],
    "monitor-audit-archive-worm": [
        ["prod without a WORM archive of the FHIR, Key Vault and Activity Log audit trail", p => p, { "monitor-audit-archive-worm": { requireAuditArchive: true } }],
    ],
    "st-cmk-phi-audit": [
        ["raw HL7 account with Microsoft-managed keys", p => p, REQUIRE_CMK],
        ["CMK pinned to one key version (rotation never applies)", cmkAccount(e => (e.keyVaultProperties.keyVersion = "0123456789abcdef0123456789abcdef")), REQUIRE_CMK],
        ["CMK without a user-assigned encryption identity", cmkAccount(e => delete e.encryptionIdentity), REQUIRE_CMK],
        ["CMK without infrastructure encryption", cmkAccount(e => (e.requireInfrastructureEncryption = false)), REQUIRE_CMK],
    ],
    "monitor-sentinel-prod": [
        ["prod without Sentinel", p => p, { "monitor-sentinel-prod": { requireSentinel: true } }],
    ],
    "monitor-activity-log-export": [
        ["no Activity Log export", p => without(p, "activity-log")],
        ["Security category missing", at("activity-log", i => (i.logs = i.logs.filter((l: any) => l.category !== "Security")))],
    ],
    "monitor-activity-log-alerts": [
        ["lock deletes not watched", at("activity-alert", i => (i.condition.allOf[1].anyOf = i.condition.allOf[1].anyOf.filter((l: any) => !l.equals.includes("locks"))))],
        ["alerts without an action group", at("activity-alert", i => (i.actions = { actionGroups: [] }))],
    ],
    "monitor-activity-alert-action-group": [
        ["disabled alert", at("activity-alert", i => (i.enabled = false))],
    ],
    "audit-saved-search-parameterised": [
        ["not a function", at("patient-access", i => delete i.functionAlias)],
        ["a patient id in the query", at("patient-access", i => (i.query = 'AHDSFhirAuditLogs | where RequestUri has "Patient/12345"'))],
    ],
    "apim-fhir-caller-attribution": [
        ["calls FHIR as APIM without stamping the caller", at("api-fhir-policy", i => (i.value = i.value.replace(/<set-header name="X-MS-AZUREFHIR-AUDIT-CALLER-[A-Z]+"[\s\S]*?<\/set-header>/g, "")))],
        ["a caller-supplied value may win (exists-action skip)", at("api-fhir-policy", i => (i.value = i.value.replace('X-MS-AZUREFHIR-AUDIT-CALLER-OID" exists-action="override"', 'X-MS-AZUREFHIR-AUDIT-CALLER-OID" exists-action="skip"')))],
    ],
    "fhir-data-roles-service-principals": [
        ["a FHIR data role for a group", at("ra-cmk", i => ((i.scope = "/subscriptions/5b1e2f7a-0000-4000-8000-0000000000aa/resourceGroups/rg-test/providers/Microsoft.HealthcareApis/workspaces/ahdstest/fhirservices/fhir"), (i.principalType = "Group")))],
        ["a FHIR data role for a user", at("ra-cmk", i => ((i.scope = "/subscriptions/5b1e2f7a-0000-4000-8000-0000000000aa/resourceGroups/rg-test/providers/Microsoft.HealthcareApis/workspaces/ahdstest/fhirservices/fhir"), (i.principalType = "User")))],
    ],
    "aad-explicit-owners": [
        ["an application without owners", at("api-app", i => delete i.owners)],
        ["a service principal with an empty owner list", at("api-sp", i => (i.owners = []))],
    ],
    "agw-waf-v2-prevention": [
        ["Standard_v2 tier", at("agw", i => (i.sku = { name: "Standard_v2", tier: "Standard_v2" }))],
        ["detection mode", at("waf", i => (i.policySettings.mode = "Detection"))],
        ["policy disabled", at("waf", i => (i.policySettings.state = "Disabled"))],
        ["no body inspection", at("waf", i => (i.policySettings.requestBodyCheck = false))],
        ["CRS 3.1", at("waf", i => (i.managedRules.managedRuleSets = [{ ruleSetType: "OWASP", ruleSetVersion: "3.1" }]))],
        ["no firewall policy", p => without(p, "waf")],
    ],
    "agw-https-listeners-tls": [
        ["an HTTP listener that serves", listener("Http")],
        ["the 2017 TLS policy", at("agw", i => (i.sslPolicy = { policyType: "Predefined", policyName: "AppGwSslPolicy20170401S" }))],
        ["no TLS policy", at("agw", i => delete i.sslPolicy)],
        ["custom policy allowing TLS 1.1", at("agw", i => (i.sslPolicy = { policyType: "CustomV2", minProtocolVersion: "TLSv1_1" }))],
    ],
    "agw-keyvault-certificates": [
        ["an uploaded certificate", at("agw", i => (i.sslCertificates = [{ name: "listener", data: "[secret]", password: "[secret]" }]))],
    ],
    "net-vnet-flow-logs": [
        ["no flow log", p => without(p, "flowlog")],
        ["flow log disabled", at("flowlog", i => (i.enabled = false))],
        ["no traffic analytics", at("flowlog", i => delete i.flowAnalyticsConfiguration)],
    ],
    "net-ddos-protection": [
        ["prod without per-IP protection or a plan", at("agw-pip", i => delete i.ddosSettings), { "net-ddos-protection": { requireDdosProtection: true } }],
    ],
    "ahds-workspace-public-access-disabled": [
        ["public access enabled", at("ahds", i => (i.properties.publicNetworkAccess = "Enabled"))],
        ["public access unset", at("ahds", i => delete i.properties.publicNetworkAccess)],
        ["typed workspace (cannot set it)", p => ({ ...p, resources: p.resources.map(r => (r.name === "ahds" ? { ...r, type: "azure-native:healthcareapis:Workspace", urn: r.urn.replace("resources:Resource", "healthcareapis:Workspace") } : r)) })],
    ],
    "phi-deletion-protection": [
        ["prod stack without protect or locks", p => p, { "phi-deletion-protection": { requireDeletionProtection: true } }],
        ["prod stack with protect but no lock", p => ({ ...p, resources: p.resources.map(r => ({ ...r, options: { ...(r.options ?? {}), protect: true } })) }), { "phi-deletion-protection": { requireDeletionProtection: true } }],
    ],
    "rbac-deterministic-name": [
        ["no roleAssignmentName", at("ra-cmk", i => delete i.roleAssignmentName)],
        ["a name that is not a GUID", at("ra-cmk", i => (i.roleAssignmentName = "fhir-cmk-grant"))],
    ],
    "rbac-propagation-wait": [
        ["FHIR depends on the grant directly", p => { const q = mutate(p, "fhir", () => undefined); const f = q.resources.find(r => r.name === "fhir")!; f.dependencies = (f.dependencies ?? []).map(d => (d.endsWith("::wait-cmk") ? d.replace("time:index/sleep:Sleep::wait-cmk", "azure-native:authorization:RoleAssignment::ra-cmk") : d)); return q; }],
        ["key created without waiting", p => { const q = mutate(p, "cmk", () => undefined); const k = q.resources.find(r => r.name === "cmk")!; k.dependencies = (k.dependencies ?? []).filter(d => !d.endsWith("::wait-deployer")); return q; }],
        ["a 10 s wait", at("wait-cmk", i => (i.createDuration = "10s"))],
        ["a wait that does not follow the key grant", p => { const q = mutate(p, "wait-cmk", () => undefined); q.resources.find(r => r.name === "wait-cmk")!.dependencies = []; return q; }],
        ["a storage account encrypted with a CMK without waiting for its key grant", cmkAccount()],
    ],
    "apim-cors-explicit-origins": [
        ["wildcard origin", at("api-fhir-policy", i => (i.value = i.value.replace("<inbound>", "<inbound><cors><allowed-origins><origin>*</origin></allowed-origins></cors>")))],
        ["credentials allowed", at("api-fhir-policy", i => (i.value = i.value.replace("<inbound>", "<inbound><cors allow-credentials=\"true\"><allowed-origins><origin>https://a.example.org</origin></allowed-origins></cors>")))],
        ["http origin", at("api-fhir-policy", i => (i.value = i.value.replace("<inbound>", "<inbound><cors><allowed-origins><origin>http://a.example.org</origin></allowed-origins></cors>")))],
    ],
    "fhir-cmk": [
        ["no encryption block", at("fhir", i => delete i.encryption)],
        ["key URL without a version", at("fhir", i => (i.encryption.customerManagedKeyEncryption.keyEncryptionKeyUrl = "https://kv-test.vault.azure.net/keys/fhir-cmk"))],
    ],
    "fhir-cmk-user-assigned-identity": [
        ["system-assigned identity", at("fhir", i => (i.identity = { type: "SystemAssigned" }))],
        ["no identity", at("fhir", i => delete i.identity)],
        ["two identities", at("fhir", i => i.identity.userAssignedIdentities.push("/other"))],
    ],
    "fhir-cors-explicit-origins": [
        ["wildcard origin", at("fhir", i => (i.corsConfiguration.origins = ["*"]))],
        ["http origin", at("fhir", i => i.corsConfiguration.origins.push("http://portal.example.org"))],
        ["loopback without allowLoopbackHttp", at("fhir", i => i.corsConfiguration.origins.push("http://localhost:5173"))],
    ],
    "fhir-authority-audience": [
        ["authority of another IdP", at("fhir", i => (i.authenticationConfiguration.authority = "https://sts.example.org/tenant"))],
        ["authority of another tenant", p => p, { "fhir-authority-audience": { tenantId: "00000000-0000-4000-8000-000000000001" } }],
        ["no audience", at("fhir", i => delete i.authenticationConfiguration.audience)],
        ["SMART proxy on", at("fhir", i => (i.authenticationConfiguration.smartProxyEnabled = true))],
    ],
    "fhir-kind-r4": [["STU3", at("fhir", i => (i.kind = "fhir-Stu3"))]],
    "kv-purge-protection": [
        ["purge protection off", at("vault", i => (i.properties.enablePurgeProtection = false))],
        ["soft delete off", at("vault", i => (i.properties.enableSoftDelete = false))],
    ],
    "kv-rbac-authorization": [
        ["access-policy mode (SDK default)", at("vault", i => delete i.properties.enableRbacAuthorization)],
        ["access policies present", at("vault", i => (i.properties.accessPolicies = [{ objectId: "x", tenantId: "y", permissions: { keys: ["get"] } }]))],
    ],
    "kv-network-deny": [
        ["public network enabled", at("vault", i => (i.properties.publicNetworkAccess = "enabled"))],
        ["default action Allow", at("vault", i => (i.properties.networkAcls.defaultAction = "Allow"))],
        ["no trusted-services bypass", at("vault", i => (i.properties.networkAcls.bypass = "None"))],
        ["ip rule", at("vault", i => (i.properties.networkAcls.ipRules = [{ value: "203.0.113.0/24" }]))],
    ],
    "kv-key-type-size": [
        ["EC key", at("cmk", i => (i.properties.kty = "EC"))],
        ["4096-bit RSA (FHIR rejects it)", at("cmk", i => (i.properties.keySize = 4096))],
        ["2048 when prod allows only 3072", at("cmk", i => (i.properties.keySize = 2048)), { "kv-key-type-size": { allowedRsaKeySizes: [3072] } }],
    ],
    "kv-key-expiry": [
        ["no expiry", at("cmk", i => delete i.properties.attributes.expires)],
        ["expiry in milliseconds", at("cmk", i => (i.properties.attributes.expires = Date.now() + 1e10))],
        ["expiry beyond maxValidityDays", p => p, { "kv-key-expiry": { maxValidityDays: 30 } }],
        ["expired", at("cmk", i => (i.properties.attributes.expires = Math.floor(Date.now() / 1000) - 10))],
    ],
    "kv-key-rotation-policy": [
        ["no rotation policy", at("cmk", i => delete i.properties.rotationPolicy)],
        ["notify only", at("cmk", i => (i.properties.rotationPolicy.lifetimeActions = [{ action: { type: "notify" }, trigger: { timeBeforeExpiry: "P30D" } }]))],
        ["rotation too late", at("cmk", i => (i.properties.rotationPolicy.lifetimeActions = [{ action: { type: "rotate" }, trigger: { timeAfterCreate: "P2Y" } }]))],
        ["no expiryTime", at("cmk", i => delete i.properties.rotationPolicy.attributes)],
    ],
    "kv-secret-expiry": [
        ["no expiry", at("sender-secret", i => delete i.properties.attributes)],
        ["beyond max validity", p => p, { "kv-secret-expiry": { maxValidityDays: 30 } }],
    ],
    "kv-secret-content-type": [["no content type", at("sender-secret", i => delete i.properties.contentType)]],
    "fn-https-only": [["httpsOnly false", at("func", i => (i.httpsOnly = false))], ["httpsOnly unset", at("func", i => delete i.httpsOnly)]],
    "fn-min-tls-1-2": [
        ["TLS 1.0", at("func", i => (i.siteConfig.minTlsVersion = "1.0"))],
        ["SCM TLS unset", at("func", i => delete i.siteConfig.scmMinTlsVersion)],
    ],
    "fn-ftps-disabled": [["FTPS only", at("func", i => (i.siteConfig.ftpsState = "FtpsOnly"))], ["all allowed", at("func", i => (i.siteConfig.ftpsState = "AllAllowed"))]],
    "fn-remote-debugging-off": [["remote debugging on", at("func", i => (i.siteConfig.remoteDebuggingEnabled = true))]],
    "fn-managed-identity": [["no identity", at("func", i => delete i.identity)], ["identity None", at("func", i => (i.identity = { type: "None" }))]],
    "fn-cors-no-wildcard": [["wildcard", at("func", i => (i.siteConfig.cors.allowedOrigins = ["*"]))]],
    "fn-public-network-disabled": [
        ["public network enabled", at("func", i => (i.publicNetworkAccess = "Enabled"))],
        ["unset (platform default is enabled)", at("func", i => delete i.publicNetworkAccess)],
    ],
    "fn-vnet-integration-route-all": [
        ["no VNet integration", at("func", i => delete i.virtualNetworkSubnetId)],
        ["only app traffic routed", at("func", i => (i.outboundVnetRouting = { applicationTraffic: true }))],
    ],
    "fn-app-settings-keyvault-references": [
        ["storage connection string with key", setting("AzureWebJobsStorage", "DefaultEndpointsProtocol=https;AccountName=sttest;AccountKey=abcdefghijklmnopqrstuvwxyz0123456789==")],
        ["plain secret setting", setting("FHIR_CLIENT_SECRET", "s3cr3t-value")],
        ["literal connection string", at("func", i => (i.siteConfig.connectionStrings = [{ name: "db", type: "SQLAzure", connectionString: "Server=x;Password=y" }]))],
    ],
    "fn-basic-auth-publishing-off": [
        ["FTP basic auth allowed", at("func-ftp", i => (i.allow = true))],
        ["SCM policy resource missing", p => without(p, "func-scm")],
    ],
    "fn-private-endpoint": [["no sites endpoint", p => without(p, "pe-func", "pe-func-dns")]],
    "st-https-only": [["http allowed", at("st", i => (i.enableHttpsTrafficOnly = false))]],
    "st-min-tls-1-2": [["TLS 1.0", at("st", i => (i.minimumTlsVersion = "TLS1_0"))], ["unset", at("st", i => delete i.minimumTlsVersion)]],
    "st-no-public-blob": [
        ["account allows public blobs", at("st", i => (i.allowBlobPublicAccess = true))],
        ["public container", at("deploy", i => (i.publicAccess = "Blob"))],
    ],
    "st-no-shared-key": [["shared key allowed", at("st", i => (i.allowSharedKeyAccess = true))], ["unset (defaults to allowed)", at("st", i => delete i.allowSharedKeyAccess)]],
    "st-network-default-deny": [
        ["default action Allow", at("st", i => (i.networkRuleSet.defaultAction = "Allow"))],
        ["no network rule set", at("st", i => delete i.networkRuleSet)],
        ["public network enabled", at("st", i => (i.publicNetworkAccess = "Enabled"))],
        ["allow-all IP rule", at("st", i => (i.networkRuleSet.ipRules = [{ iPAddressOrRange: "0.0.0.0/0", action: "Allow" }]))],
        ["PNA unset when required disabled", at("st", i => delete i.publicNetworkAccess), { "st-network-default-deny": { requirePublicNetworkDisabled: true } }],
    ],
    "st-infrastructure-encryption": [["off", at("st", i => (i.encryption.requireInfrastructureEncryption = false))]],
    "st-no-cross-tenant-replication": [["allowed", at("st", i => (i.allowCrossTenantReplication = true))]],
    "st-default-oauth": [["off", at("st", i => (i.defaultToOAuthAuthentication = false))]],
    "st-phi-container-retention": [
        ["no lifecycle policy", p => without(p, "st-lifecycle")],
        ["retention longer than allowed", at("st-lifecycle", i => (i.policy.rules[0].definition.actions.baseBlob.delete.daysAfterCreationGreaterThan = 365))],
        ["rule disabled", at("st-lifecycle", i => (i.policy.rules[0].enabled = false))],
        ["rule for another prefix", at("st-lifecycle", i => (i.policy.rules[0].definition.filters.prefixMatch = ["app-package/"]))],
        ["stricter configured maximum", p => p, { "st-phi-container-retention": { maxDays: 7 } }],
    ],
    "st-private-endpoints": [["no queue endpoint", p => without(p, "pe-st-queue", "pe-st-queue-dns")]],
    "apim-legacy-tls-disabled": [
        ["TLS 1.0 on", at("apim", i => (i.customProperties[`${P}Protocols.Tls10`] = "true"))],
        ["backend TLS 1.1 key missing", at("apim", i => delete i.customProperties[`${P}Backend.Protocols.Tls11`])],
    ],
    "apim-weak-ciphers-disabled": [["3DES on", at("apim", i => (i.customProperties[`${P}Ciphers.TripleDes168`] = "True"))]],
    "apim-vnet-internal": [
        ["no VNet", at("apim", i => (i.virtualNetworkType = "None"))],
        ["External without allowExternal", at("apim", i => (i.virtualNetworkType = "External"))],
        ["no subnet", at("apim", i => delete i.virtualNetworkConfiguration)],
        ["Standard SKU", at("apim", i => (i.sku.name = "Standard"))],
    ],
    "apim-managed-identity": [["no identity", at("apim", i => delete i.identity)]],
    "apim-public-network-disabled": [["enabled", at("apim", i => (i.publicNetworkAccess = "Enabled"))]],
    "apim-min-api-version": [["old control-plane API", at("apim", i => (i.apiVersionConstraint.minApiVersion = "2019-01-01"))]],
    "apim-api-https-only": [
        ["http protocol", at("api-fhir", i => i.protocols.push("http"))],
        ["protocols unset", at("api-fhir", i => delete i.protocols)],
        ["http backend URL", at("api-fhir", i => (i.serviceUrl = "http://fhir.internal"))],
    ],
    "apim-api-validates-jwt": [
        ["API policy without validate-jwt and an operation without its own", p =>
            mutate(mutate(p, "api-fhir-policy", i => (i.value = "<policies><inbound><base /></inbound><backend><base /></backend></policies>")), "op-read-policy", i => (i.value = "<policies><inbound><base /></inbound></policies>"))],
        ["API with neither policies nor operations", p => without(p, "api-fhir-policy", "op-read", "op-read-policy")],
    ],
    "apim-operation-policy-keeps-base": [["drops <base /> without its own check", at("op-read-policy", i => (i.value = "<policies><inbound><rate-limit calls=\"10\" renewal-period=\"60\" /></inbound></policies>"))]],
    "apim-backend-tls-validation": [
        ["chain validation off", at("backend-func", i => (i.tls.validateCertificateChain = false))],
        ["name validation off", at("backend-func", i => (i.tls.validateCertificateName = false))],
        ["http URL", at("backend-func", i => (i.url = "http://func-test.azurewebsites.net/api"))],
    ],
    "apim-named-value-keyvault": [
        ["secret stored in APIM", at("nv-secret", i => {
            delete i.keyVault;
            i.value = "[secret]";
        })],
        ["credential in a plain named value", at("nv-secret", i => {
            i.secret = false;
            delete i.keyVault;
            i.value = "Endpoint=sb://x/;SharedAccessKey=abc";
        })],
    ],
    "apim-diagnostics-no-payload-logging": [
        ["request bodies logged", at("api-diag", i => (i.frontend.request.body.bytes = 8192))],
        ["Authorization header logged", at("api-diag", i => (i.backend.request.headers = ["Authorization"]))],
        ["service-level diagnostic logs bodies", p => ({ ...p, resources: [...p.resources, { ...p.resources.find(r => r.name === "api-diag")!, type: "azure-native:apimanagement:Diagnostic", name: "svc-diag", urn: "urn:pulumi:test::fhir-platform::azure-native:apimanagement:Diagnostic::svc-diag", inputs: { ...p.resources.find(r => r.name === "api-diag")!.inputs, frontend: { response: { body: { bytes: 1024 } } } } }] })],
    ],
    "apim-logger-no-inline-key": [["instrumentation key inline", at("logger", i => (i.credentials = { instrumentationKey: "00000000-0000-4000-8000-000000000000" }))]],
    "net-subnet-nsg": [
        ["subnet without NSG", at("snet-func", i => delete i.networkSecurityGroup)],
        ["inline subnet without NSG", at("vnet", i => (i.subnets = [{ name: "snet-extra", addressPrefix: "10.40.3.0/27" }]))],
    ],
    "net-gateway-subnet-no-nsg": [["GatewaySubnet with NSG", at("snet-apim", i => (i.subnetName = "GatewaySubnet"))]],
    "net-nsg-no-internet-management-ports": [["SSH from Internet", rule("Internet", "22")], ["RDP from *", rule("*", "3380-3390")]],
    "net-nsg-no-internet-open-ports": [["all ports from 0.0.0.0/0", rule("0.0.0.0/0", "*")], ["8080 from Internet", rule("Internet", "8080")]],
    "net-subnet-no-default-outbound": [["default outbound on", at("snet-pe", i => (i.defaultOutboundAccess = true))]],
    "net-pe-auto-approved": [["manual connection", at("pe-vault", i => (i.manualPrivateLinkServiceConnections = i.privateLinkServiceConnections))]],
    "net-dns-link-no-autoregistration": [["auto-registration on", at("zone-privatelink-vaultcore-azure-net-link", i => (i.registrationEnabled = true))]],
    "ahds-workspace-private-endpoint": [
        ["no workspace endpoint", p => without(p, "pe-ahds", "pe-ahds-dns")],
        ["endpoint with the wrong group id", at("pe-ahds", i => (i.privateLinkServiceConnections[0].groupIds = ["fhir"]))],
    ],
    "kv-private-endpoint": [["no vault endpoint", p => without(p, "pe-vault", "pe-vault-dns")]],
    "net-pe-dns-zone-group": [
        ["endpoint without zone group", p => without(p, "pe-vault-dns")],
        ["AHDS zone group missing the dicom zone", p => mutate(p, "pe-ahds-dns", (i, r) => {
            i.privateDnsZoneConfigs = i.privateDnsZoneConfigs.filter((c: { name: string }) => !c.name.includes("dicom"));
            r.propertyDependencies!.privateDnsZoneConfigs = r.propertyDependencies!.privateDnsZoneConfigs.filter(u => !u.includes("dicom"));
        })],
    ],
    "net-dns-zone-vnet-link": [["zone without VNet link", p => without(p, "zone-privatelink-blob-core-windows-net-link")]],
    "diag-settings-required": [
        ["APIM without diagnostics", p => without(p, "diag-apim")],
        ["function app setting with logs disabled", at("diag-func", i => (i.logs = [{ categoryGroup: "allLogs", enabled: false }]))],
        ["NSG without diagnostics", p => without(p, "diag-nsg-func")],
    ],
    "fhir-audit-logs": [
        ["no FHIR diagnostic setting", p => without(p, "diag-fhir")],
        ["metrics only", at("diag-fhir", i => (i.logs = []))],
    ],
    "kv-audit-logs": [["AuditEvent disabled", at("diag-vault", i => (i.logs = [{ category: "AzurePolicyEvaluationDetails", enabled: true }]))]],
    "diag-setting-to-log-analytics": [
        ["storage-only destination", at("diag-apim", i => {
            delete i.workspaceId;
            i.storageAccountId = "/st";
        })],
        ["nothing enabled", at("diag-apim", i => {
            i.logs = [];
            i.metrics = [];
        })],
    ],
    "appi-local-auth-disabled": [["local auth on", at("appi", i => (i.disableLocalAuth = false))], ["classic component", at("appi", i => delete i.workspaceResourceId)]],
    "log-analytics-retention": [["below prod minimum", p => p, { "log-analytics-retention": { minRetentionDays: 365 } }], ["retention unset", at("law", i => delete i.retentionInDays)]],
    "alerts-route-to-action-group": [
        ["metric alert without actions", at("alert-fn-failures", i => (i.actions = []))],
        ["disabled query alert", at("alert-poison", i => (i.enabled = false))],
        ["action group without receivers", at("ag", i => (i.emailReceivers = []))],
    ],
    "rbac-no-privileged-roles": [
        ["Owner", at("ra-cmk", i => (i.roleDefinitionId = "/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"))],
        ["Contributor", at("ra-cmk", i => (i.roleDefinitionId = "/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"))],
        ["User Access Administrator", at("ra-cmk", i => (i.roleDefinitionId = "/x/roleDefinitions/18D7D88D-D35E-4FB5-A5C3-7773C20A72D9"))],
    ],
    "rbac-no-subscription-scope": [
        ["subscription scope", at("ra-cmk", i => (i.scope = "/subscriptions/5b1e2f7a-0000-4000-8000-0000000000aa"))],
        ["management group scope", at("ra-cmk", i => (i.scope = "/providers/Microsoft.Management/managementGroups/root"))],
    ],
    "rbac-principal-type": [["no principal type", at("ra-cmk", i => delete i.principalType)]],
    "aad-single-tenant": [["multi-tenant", at("api-app", i => (i.signInAudience = "AzureADMultipleOrgs"))]],
    "aad-no-implicit-grant": [["implicit access tokens", at("spa-app", i => (i.web.implicitGrant.accessTokenIssuanceEnabled = true))]],
    "aad-redirect-uris-https": [
        ["http redirect", at("spa-app", i => i.singlePageApplication.redirectUris.push("http://portal.example.org/cb"))],
        ["wildcard redirect", at("spa-app", i => i.singlePageApplication.redirectUris.push("https://*.example.org/cb"))],
    ],
    "aad-public-client-no-password": [
        ["password on the SPA", p => {
            const q = mutate(p, "sender-password", (i, r) => {
                i.applicationId = "/applications/spa";
                r.propertyDependencies = { applicationId: [r.urn.replace("applicationPassword:ApplicationPassword::sender-password", "application:Application::spa-app")] };
            });
            return q;
        }],
        ["inline password on a public client", at("spa-app", i => (i.password = { displayName: "x" }))],
    ],
    "aad-password-lifetime": [
        ["no end date", at("sender-password", i => delete i.endDateRelative)],
        ["two-year relative end", at("sender-password", i => (i.endDateRelative = "17520h"))],
        ["end date too far", at("sender-password", i => {
            delete i.endDateRelative;
            i.endDate = "2099-01-01T00:00:00Z";
        })],
    ],
    "aad-sp-assignment-required": [["assignment not required", at("api-sp", i => (i.appRoleAssignmentRequired = false))]],
    "no-plaintext-secrets": [
        ["account key in a tag", at("st", i => (i.tags = { note: "AccountKey=abcdefghijklmnopqrstuvwxyz0123456789ABCD==" }))],
        ["secret value unwrapped in the plan", at("sender-secret", i => (i.properties.contentType = "client-secret; password=hunter2hunter2"))],
        ["secret-named property in clear", at("backend-func", i => (i.credentials = { header: { "x-functions-key": ["[secret]"] }, password: "plain" }))],
        ["app setting secret in clear", setting("SENDER_PASSWORD", "hunter2")],
    ],
    "secret-sources-only-to-keyvault": [
        // The edge matters, not the marker: the function app's siteConfig is computed from the client password.
        ["password flows into an app setting", p =>
            mutate(p, "func", (i, r) => {
                i.siteConfig.appSettings.push({ name: "SENDER_CREDENTIAL", value: "[secret]" });
                r.propertyDependencies = { ...r.propertyDependencies, siteConfig: [r.urn.replace("azure-native:web:WebApp::func", "azuread:index/applicationPassword:ApplicationPassword::sender-password")] };
            })],
    ],
    "allowed-locations": [["region outside the allow-list", at("vault", i => (i.location = "eastus")), { "allowed-locations": { allowedLocations: ["westeurope"] } }]],
    "random-password-strength": [["short password", at("pw", i => (i.length = 12))], ["no digits", at("pw", i => (i.numeric = false))]],
    "unreviewed-azure-types": [["unknown type", p => ({ ...p, resources: [...p.resources, { urn: "urn:pulumi:test::fhir-platform::azure-native:compute:VirtualMachine::vm", type: "azure-native:compute:VirtualMachine", name: "vm", custom: true, inputs: {}, outputs: {}, dependencies: [], propertyDependencies: {} }] })]],
};

function only(name: string): Policies {
    const p = policies.find(x => x.name === name);
    if (!p) throw new Error(`no policy ${name}`);
    return [p];
}

describe("policy pack: every policy has compliant and violating cases", () => {
    const golden = goldenPlan();

    it("lists a violating case for every policy in the pack, and no unknown policy", () => {
        assert.deepStrictEqual(Object.keys(CASES).sort(), catalogue.map(m => m.name).sort());
    });

    for (const meta of catalogue) {
        describe(meta.name, () => {
            it("passes the compliant golden stack", async () => {
                const r = await runPolicyPackOnPlan(golden, {}, { policies: only(meta.name) });
                assert.deepStrictEqual(r.violations.map(v => v.message), []);
            });
            for (const [description, make, config] of CASES[meta.name] ?? []) {
                it(`rejects: ${description}`, async () => {
                    const r = await runPolicyPackOnPlan(make(golden), config ?? {}, { policies: only(meta.name) });
                    assert.ok(r.violations.length > 0, `expected a violation of ${meta.name}`);
                    assert.ok(r.violations.every(v => v.policy === meta.name));
                    assert.strictEqual(r.violations[0].level, meta.enforcementLevel === "mandatory" ? "mandatory" : "advisory");
                });
            }
        });
    }
});
