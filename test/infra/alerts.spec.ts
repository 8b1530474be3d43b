import { strict as assert } from "node:assert";
import { ALERT_THRESHOLDS, fhirAuthFailuresQuery, functionFailuresQuery, keyVaultDeniedQuery, PlatformAlerts, poisonQueueQuery, unusualEgressQuery, wafBlocksQuery } from "../../components/alerts";
import * as network from "@pulumi/azure-native/network";
import { Monitoring } from "../../components/monitoring";
import { MOCK_SUBSCRIPTION_ID } from "../../tools/offline/arm-mocks";
import { findRegistered, registered, settle } from "../support/pulumi-mocks";

const RG = "rg-al-test";
const SUB = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${RG}/providers`;
const VAULT = `${SUB}/Microsoft.KeyVault/vaults/kv-unit-al`;
const FHIR = `${SUB}/Microsoft.HealthcareApis/workspaces/ws/fhirservices/fhir`;

const AGW = `${SUB}/Microsoft.Network/applicationGateways/agw-unit-al`;

describe("PlatformAlerts (under mocks)", () => {
    let flowLog: network.FlowLog;
    before(async () => {
        const naming = { prefix: "unit", environment: "al" };
        const monitoring = new Monitoring("al-mon", { naming, resourceGroupName: RG, location: "westeurope", logRetentionDays: 30, dailyQuotaGb: 0, tags: {} });
        flowLog = new network.FlowLog("al-flowlog", { networkWatcherName: "NetworkWatcher_westeurope", resourceGroupName: "NetworkWatcherRG", targetResourceId: `${SUB}/Microsoft.Network/virtualNetworks/vnet-unit-al`, storageId: `${SUB}/Microsoft.Storage/storageAccounts/stflow` });
        new PlatformAlerts("al", {
            naming, resourceGroupName: RG, location: "westeurope", tags: {}, email: "oncall@example.org", monitoring,
            keyVaultId: VAULT, functionSiteName: "func-unit-al", storageAccountName: "stfnunital", poisonQueueName: "hl7-ingest-poison", fhirServiceId: FHIR,
            appGatewayId: AGW, vnetName: "vnet-unit-al", flowLog,
        });
        await settle();
    });
    const agId = () => findRegistered("azure-native:monitor:ActionGroup", "al-ag").outputs.id as string;
    const logAlert = (key: string) => {
        const inputs = findRegistered("azure-native:monitor:ScheduledQueryRule", `al-${key}`).inputs as any;
        return { ...inputs, query: inputs.criteria.allOf[0].query as string };
    };

    it("sends everything to one e-mail action group", () => {
        const ag = findRegistered("azure-native:monitor:ActionGroup", "al-ag").inputs as any;
        assert.deepEqual(ag.emailReceivers, [{ name: "platform-email", emailAddress: "oncall@example.org", useCommonAlertSchema: true }]);
        assert.ok(ag.groupShortName.length <= 12);
        assert.equal(ag.enabled, true);
        const rules = registered().filter((r) => /^al-/.test(r.name) && /ScheduledQueryRule|MetricAlert/.test(r.type));
        assert.equal(rules.length, 7);
        for (const r of rules) {
            const actions = (r.inputs as any).actions;
            const ids = Array.isArray(actions) ? actions.map((a: any) => a.actionGroupId) : actions.actionGroups;
            assert.deepEqual(ids, [agId()], r.name);
        }
    });

    it("alerts on any Key Vault access denied (403 / Forbidden) for the platform vault", () => {
        const a = logAlert("kv-access-denied");
        assert.match(a.query, /403/);
        assert.match(a.query, /Forbidden/);
        assert.ok(a.query.includes(VAULT));
        assert.equal(a.criteria.allOf[0].threshold, ALERT_THRESHOLDS.keyVaultDenied);
        assert.equal(a.criteria.allOf[0].operator, "GreaterThan");
        assert.equal(a.scopes[0], findRegistered("azure-native:operationalinsights:Workspace", "al-mon-law").outputs.id);
    });

    it("alerts on any message written to the poison queue, from queue service logs", () => {
        const a = logAlert("poison-queue");
        assert.equal(a.query, poisonQueueQuery("stfnunital", "hl7-ingest-poison"));
        assert.match(a.query, /PutMessage/);
        assert.match(a.query, /\/hl7-ingest-poison\/messages/);
        assert.equal(a.criteria.allOf[0].threshold, 0);
    });

    it("alerts on failing Function executions in Application Insights", () => {
        const a = logAlert("function-failures");
        assert.equal(a.query, functionFailuresQuery("func-unit-al"));
        assert.match(a.query, /success == false/);
        assert.equal(a.scopes[0], findRegistered("azure-native:applicationinsights:Component", "al-mon-appi").outputs.id);
    });

    it("watches FHIR for 5xx with a metric alert on a dimension TotalErrors has", () => {
        const five = findRegistered("azure-native:monitor:MetricAlert", "al-fhir-5xx").inputs as any;
        assert.deepEqual(five.scopes, [FHIR]);
        assert.equal(five.criteria.allOf[0].metricName, "TotalErrors");
        assert.deepEqual(five.criteria.allOf[0].dimensions, [{ name: "StatusCodeClass", operator: "Include", values: ["5xx"] }]);
    });

    it("watches FHIR 401/403 spikes from its audit log, not from a metric dimension TotalRequests lacks", () => {
        assert.equal(registered().filter((r) => r.type === "azure-native:monitor:MetricAlert" && r.name === "al-fhir-auth-failures").length, 0);
        for (const metric of registered().filter((r) => r.type === "azure-native:monitor:MetricAlert" && r.name.startsWith("al-"))) {
            for (const c of (metric.inputs as any).criteria.allOf) {
                // Learn, supported metrics for workspaces/fhirservices: TotalRequests has only Protocol.
                if (c.metricName === "TotalRequests") assert.ok(c.dimensions.every((d: any) => d.name === "Protocol"), metric.name);
            }
        }
        const a = logAlert("fhir-auth-failures");
        assert.equal(a.query, fhirAuthFailuresQuery(FHIR));
        assert.match(a.query, /StatusCode in \(401, 403\)/);
        assert.match(a.query, /_ResourceId =~ /);
        assert.equal(a.criteria.allOf[0].threshold, ALERT_THRESHOLDS.fhirAuthFailures);
        assert.equal(a.scopes[0], findRegistered("azure-native:operationalinsights:Workspace", "al-mon-law").outputs.id);
    });

    it("alerts when the edge WAF blocks a burst of requests, from the gateway's firewall log", () => {
        const a = logAlert("waf-blocks");
        assert.equal(a.query, wafBlocksQuery(AGW));
        assert.match(a.query, /Action == "Blocked"/);
        assert.equal(a.criteria.allOf[0].threshold, ALERT_THRESHOLDS.wafBlocks);
    });

    it("alerts on any allowed outbound flow to a non-Azure public address, once flow logs exist", () => {
        const a = logAlert("unusual-egress");
        assert.equal(a.query, unusualEgressQuery("vnet-unit-al"));
        assert.match(a.query, /FlowType == "ExternalPublic"/);
        assert.equal(a.criteria.allOf[0].threshold, 0);
        assert.equal(a.windowSize, "PT1H");
        assert.ok(findRegistered("azure-native:monitor:ScheduledQueryRule", "al-unusual-egress").dependencies.includes(findRegistered("azure-native:network:FlowLog", "al-flowlog").urn));
    });

    it("turns Key Vault SecretNearExpiry events into alerts via Event Grid", () => {
        const topic = findRegistered("azure-native:eventgrid:SystemTopic", "al-kv-events").inputs as any;
        assert.equal(topic.source, VAULT);
        assert.equal(topic.topicType, "Microsoft.KeyVault.vaults");
        const sub = findRegistered("azure-native:eventgrid:SystemTopicEventSubscription", "al-kv-secret-expiry").inputs as any;
        assert.ok(sub.filter.includedEventTypes.includes("Microsoft.KeyVault.SecretNearExpiry"));
        assert.equal(sub.destination.endpointType, "MonitorAlert");
        assert.deepEqual(sub.destination.actionGroups, [agId()]);
        assert.equal(sub.eventDeliverySchema, "CloudEventSchemaV1_0");
        assert.ok(registered().some((r) => r.type === "azure-native:monitor:DiagnosticSetting" && r.name === "al-kv-events-diag"));
    });

    it("builds queries from their inputs", () => {
        assert.notEqual(keyVaultDeniedQuery("/a"), keyVaultDeniedQuery("/b"));
        assert.ok(poisonQueueQuery("acct", "q-poison").includes("\"acct\""));
    });
});
