import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { APIM_HEALTH_PATH, EdgeGateway, EDGE_TLS_POLICY } from "../../components/appGateway";
import { defaultNetworkWatcher, NetworkFlowLogs } from "../../components/flowLogs";
import { Monitoring } from "../../components/monitoring";
import { roleAssignmentName } from "../../components/rbac";
import { BUILT_IN_ROLES } from "../../components/roles";
import { drsRuleGroup, managedRuleSets } from "../../components/wafRules";
import { MOCK_SUBSCRIPTION_ID } from "../../tools/offline/arm-mocks";
import { findRegistered, registered, settle } from "../support/pulumi-mocks";

const RG = "rg-edge-test";
const SUB = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${RG}/providers`;
const VAULT_ID = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/rg-certs/providers/Microsoft.KeyVault/vaults/kv-certs`;
const CERT = "https://kv-certs.vault.azure.net/secrets/edge-test";

describe("EdgeGateway and NetworkFlowLogs (under mocks)", () => {
    before(async () => {
        const naming = { prefix: "unit", environment: "edge" };
        const monitoring = new Monitoring("edge-mon", { naming, resourceGroupName: RG, location: "westeurope", logRetentionDays: 400, dailyQuotaGb: 0, tags: {} });
        new EdgeGateway("edge", {
            naming, resourceGroupName: RG, subscriptionId: MOCK_SUBSCRIPTION_ID, location: "westeurope", tags: { environment: "edge" },
            subnetId: `${SUB}/Microsoft.Network/virtualNetworks/vnet/subnets/snet-agw`,
            zones: ["1", "2", "3"], minCapacity: 2, maxCapacity: 6, hostName: "fhir.example.org",
            certificate: { keyVaultSecretId: CERT, keyVaultId: VAULT_ID },
            apimHostName: pulumi.output("apim-unit-edge.azure-api.net"),
            maxRequestBodySizeKb: 1024, disabledRules: [{ ruleId: "932100", reason: "pipes in HL7 segments matched Unix command injection" }],
            ddosIpProtection: true, rbacPropagationSeconds: 90, monitoring,
        });
        new NetworkFlowLogs("fl", {
            naming, globalSuffix: pulumi.output("x1y2z"), resourceGroupName: RG, location: "westeurope", subscriptionId: MOCK_SUBSCRIPTION_ID, tags: {},
            vnetId: `${SUB}/Microsoft.Network/virtualNetworks/vnet-unit-edge`, retentionDays: 400, deleteLock: true, rbacPropagationSeconds: 90, monitoring,
        });
        await settle();
    });

    const gw = () => findRegistered("azure-native:network:ApplicationGateway", "edge-gateway").inputs as any;

    it("is a zone-redundant, autoscaling WAF_v2 gateway whose only listener is HTTPS on 443 with SNI and a 2022 TLS policy", () => {
        const g = gw();
        assert.deepEqual(g.sku, { name: "WAF_v2", tier: "WAF_v2" });
        assert.deepEqual(g.zones, ["1", "2", "3"]);
        assert.deepEqual(g.autoscaleConfiguration, { minCapacity: 2, maxCapacity: 6 });
        assert.deepEqual(g.sslPolicy, { policyType: "Predefined", policyName: EDGE_TLS_POLICY });
        assert.deepEqual(g.frontendPorts.map((p: any) => p.port), [443]);
        assert.equal(g.httpListeners.length, 1);
        assert.equal(g.httpListeners[0].protocol, "Https");
        assert.equal(g.httpListeners[0].hostName, "fhir.example.org");
        assert.equal(g.httpListeners[0].requireServerNameIndication, true);
        assert.match(g.httpListeners[0].sslCertificate.id, /\/applicationGateways\/agw-unit-edge\/sslCertificates\/listener$/);
    });

    it("reads its certificate from Key Vault with its own identity, after the Secrets User grant on that certificate has propagated", () => {
        const g = gw();
        assert.deepEqual(g.sslCertificates, [{ name: "listener", keyVaultSecretId: CERT }]);
        const identity = findRegistered("azure-native:managedidentity:UserAssignedIdentity", "edge-id");
        assert.deepEqual(g.identity, { type: "UserAssigned", userAssignedIdentities: [identity.outputs.id] });
        const grant = findRegistered("azure-native:authorization:RoleAssignment", "edge-role-certificate-reader").inputs as any;
        assert.equal(grant.scope, `${VAULT_ID}/secrets/edge-test`, "the certificate's secret only, not the vault");
        assert.match(grant.roleDefinitionId, new RegExp(`${BUILT_IN_ROLES.keyVaultSecretsUser}$`));
        assert.equal(grant.roleAssignmentName, roleAssignmentName(grant.scope, BUILT_IN_ROLES.keyVaultSecretsUser, identity.outputs.principalId as string));
        const wait = findRegistered("time:index/sleep:Sleep", "edge-cert-grant-wait");
        assert.equal(wait.inputs.createDuration, "90s");
        assert.ok(findRegistered("azure-native:network:ApplicationGateway", "edge-gateway").dependencies.includes(wait.urn));
    });

    it("forwards to APIM's private gateway over HTTPS with its host name and probes APIM's status endpoint", () => {
        const g = gw();
        assert.deepEqual(g.backendAddressPools[0].backendAddresses, [{ fqdn: "apim-unit-edge.azure-api.net" }]);
        const settings = g.backendHttpSettingsCollection[0];
        assert.equal(settings.protocol, "Https");
        assert.equal(settings.port, 443);
        assert.equal(settings.hostName, "apim-unit-edge.azure-api.net");
        const probe = g.probes[0];
        assert.equal(probe.path, APIM_HEALTH_PATH);
        assert.equal(probe.host, "apim-unit-edge.azure-api.net");
        assert.equal(probe.protocol, "Https");
    });

    it("runs a WAF policy in Prevention with DefaultRuleSet 2.1 and the bot manager, inspecting bodies up to the HL7 limit", () => {
        const waf = findRegistered("azure-native:network:WebApplicationFirewallPolicy", "edge-waf");
        const p = waf.inputs as any;
        assert.equal(gw().firewallPolicy.id, waf.outputs.id);
        assert.equal(p.policySettings.mode, "Prevention");
        assert.equal(p.policySettings.state, "Enabled");
        assert.equal(p.policySettings.requestBodyCheck, true);
        assert.equal(p.policySettings.maxRequestBodySizeInKb, 1024);
        assert.deepEqual(p.managedRules.managedRuleSets.map((s: any) => `${s.ruleSetType} ${s.ruleSetVersion}`), ["Microsoft_DefaultRuleSet 2.1", "Microsoft_BotManagerRuleSet 1.1"]);
        assert.deepEqual(p.managedRules.managedRuleSets[0].ruleGroupOverrides, [{ ruleGroupName: "APPLICATION-ATTACK-RCE", rules: [{ ruleId: "932100", state: "Disabled" }] }]);
        assert.deepEqual(p.managedRules.exclusions, []);
    });

    it("protects the public IP against DDoS when asked and logs the gateway to Log Analytics", () => {
        const pip = findRegistered("azure-native:network:PublicIPAddress", "edge-pip").inputs as any;
        assert.deepEqual(pip.sku, { name: "Standard", tier: "Regional" });
        assert.deepEqual(pip.zones, ["1", "2", "3"]);
        assert.deepEqual(pip.ddosSettings, { protectionMode: "Enabled" });
        const diag = findRegistered("azure-native:monitor:DiagnosticSetting", "edge-gateway-diag").inputs as any;
        assert.equal(diag.resourceUri, findRegistered("azure-native:network:ApplicationGateway", "edge-gateway").outputs.id);
    });

    it("maps managed rule ids to their DRS 2.1 group and refuses others", () => {
        assert.equal(drsRuleGroup("942100"), "APPLICATION-ATTACK-SQLI");
        assert.equal(drsRuleGroup("12345"), undefined);
        assert.throws(() => managedRuleSets([{ ruleId: "123456" }]), /not a DefaultRuleSet 2\.1 rule id/);
        assert.equal(managedRuleSets([])[0].ruleGroupOverrides, undefined, "no override unless configured");
    });

    it("logs every VNet flow to a keyless, locked account through a managed identity, with traffic analytics", () => {
        const st = findRegistered("azure-native:storage:StorageAccount", "fl-st");
        assert.equal((st.inputs as any).allowSharedKeyAccess, false);
        assert.equal((st.inputs as any).networkRuleSet.defaultAction, "Deny");
        assert.equal(st.options.protect, true);
        assert.equal((findRegistered("azure-native:authorization:ManagementLockByScope", "fl-st-lock").inputs as any).scope, st.outputs.id);
        const log = findRegistered("azure-native:network:FlowLog", "fl-vnet");
        const inputs = log.inputs as any;
        const watcher = defaultNetworkWatcher("westeurope");
        assert.equal(inputs.networkWatcherName, watcher.name);
        assert.equal(inputs.resourceGroupName, watcher.resourceGroupName);
        assert.equal(inputs.targetResourceId, `${SUB}/Microsoft.Network/virtualNetworks/vnet-unit-edge`);
        assert.equal(inputs.storageId, st.outputs.id);
        assert.equal(inputs.identity.type, "UserAssigned");
        assert.equal(inputs.retentionPolicy.days, 365);
        assert.equal(inputs.flowAnalyticsConfiguration.networkWatcherFlowAnalyticsConfiguration.enabled, true);
        const wait = findRegistered("time:index/sleep:Sleep", "fl-grant-wait");
        assert.ok(log.dependencies.includes(wait.urn), "first write after the blob grant propagated");
        assert.ok(registered().some((r) => r.name === "fl-role-blob-writer"));
    });
});
