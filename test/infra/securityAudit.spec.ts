import { strict as assert } from "node:assert";
import { ACTIVITY_ALERTS, ACTIVITY_LOG_CATEGORIES, failedSignInsQuery, gatewayAuthFailuresQuery, keyVaultDeleteQuery, PATIENT_ACCESS_QUERY, SecurityAudit } from "../../components/securityAudit";
import { Monitoring } from "../../components/monitoring";
import { PlatformSentinel, SENTINEL_RULES } from "../../components/sentinel";
import { MOCK_DEPLOYER_OBJECT_ID } from "../../tools/offline/arm-mocks";
import { MOCK_SUBSCRIPTION_ID } from "../../tools/offline/arm-mocks";
import type { OfflinePlan } from "../../tools/offline/plan-runner";
import { findRegistered, registered, settle } from "../support/pulumi-mocks";
import { stackPlan } from "../support/stack-plans";

const RG = "rg-sa-test";
const SUB = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${RG}/providers`;
const AG = `${SUB}/Microsoft.Insights/actionGroups/ag`;
const SENDER_APP = "11111111-2222-3333-4444-555555555555";
const FUNCTION_MI = "66666666-7777-8888-9999-000000000000";

describe("SecurityAudit (under mocks)", () => {
    before(async () => {
        const naming = { prefix: "unit", environment: "sa" };
        const monitoring = new Monitoring("sa-mon", { naming, resourceGroupName: RG, location: "westeurope", logRetentionDays: 30, dailyQuotaGb: 0, tags: {} });
        new SecurityAudit("sa", {
            naming, resourceGroupName: RG, location: "westeurope", tags: {}, subscriptionId: MOCK_SUBSCRIPTION_ID, monitoring,
            actionGroupId: AG, keyVaultId: `${SUB}/Microsoft.KeyVault/vaults/kv`, apimId: `${SUB}/Microsoft.ApiManagement/service/apim`,
            entraSignIns: { appIds: [SENDER_APP], managedIdentityPrincipalIds: [FUNCTION_MI] },
        });
        new PlatformSentinel("sn", { resourceGroupName: RG, monitoring, deployerObjectId: MOCK_DEPLOYER_OBJECT_ID });
        await settle();
    });

    it("exports the subscription Activity Log (Administrative, Security, Policy, ServiceHealth) to Log Analytics", () => {
        const d = findRegistered("azure-native:monitor:SubscriptionDiagnosticSetting", "sa-activity-log").inputs as any;
        assert.equal(d.workspaceId, findRegistered("azure-native:operationalinsights:Workspace", "sa-mon-law").outputs.id);
        assert.deepEqual(d.logs, ACTIVITY_LOG_CATEGORIES.map((category) => ({ category, enabled: true })));
    });

    it("pages on role assignment changes, lock and vault deletes, diagnostic-setting deletes and ARM deployments to the platform group", () => {
        const alerts = registered().filter((r) => r.type === "azure-native:monitor:ActivityLogAlert" && r.name.startsWith("sa-"));
        assert.equal(alerts.length, ACTIVITY_ALERTS.length);
        const ops = (a: any) => a.condition.allOf.flatMap((c: any) => (c.anyOf ?? [c])).filter((l: any) => l.field === "operationName").map((l: any) => l.equals);
        const all = alerts.flatMap((a) => ops(a.inputs));
        for (const op of ["Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete", "Microsoft.Authorization/locks/delete", "Microsoft.KeyVault/vaults/delete", "Microsoft.KeyVault/locations/deletedVaults/purge/action", "Microsoft.Insights/diagnosticSettings/delete", "Microsoft.Resources/deployments/write"]) {
            assert.ok(all.includes(op), op);
        }
        for (const a of alerts) {
            const i = a.inputs as any;
            assert.deepEqual(i.scopes, [`/subscriptions/${MOCK_SUBSCRIPTION_ID}`]);
            assert.deepEqual(i.actions.actionGroups, [{ actionGroupId: AG }]);
            assert.equal(i.location, "global");
        }
        const arm = findRegistered("azure-native:monitor:ActivityLogAlert", "sa-arm-deployment").inputs as any;
        assert.ok(arm.condition.allOf.some((c: any) => c.field === "resourceGroup" && c.equals === RG), "only the platform's resource group");
    });

    it("alerts on key/secret deletes and purges (data plane) and on gateway authentication failures", () => {
        const kv = findRegistered("azure-native:monitor:ScheduledQueryRule", "sa-kv-key-secret-delete").inputs as any;
        assert.equal(kv.criteria.allOf[0].query, keyVaultDeleteQuery(`${SUB}/Microsoft.KeyVault/vaults/kv`));
        assert.match(kv.criteria.allOf[0].query, /SecretPurge/);
        const gw = findRegistered("azure-native:monitor:ScheduledQueryRule", "sa-gateway-auth-failures").inputs as any;
        assert.equal(gw.criteria.allOf[0].query, gatewayAuthFailuresQuery(`${SUB}/Microsoft.ApiManagement/service/apim`));
        assert.match(gw.criteria.allOf[0].query, /ResponseCode in \(401, 403\)/);
    });

    it("alerts on bursts of failed Entra sign-ins of the platform's apps and managed identities (when the tenant exports them)", () => {
        const rule = findRegistered("azure-native:monitor:ScheduledQueryRule", "sa-platform-signin-failures").inputs as any;
        const query = rule.criteria.allOf[0].query as string;
        assert.equal(query, failedSignInsQuery([SENDER_APP], [FUNCTION_MI]));
        assert.match(query, /AADServicePrincipalSignInLogs \| where AppId in \("11111111-2222-3333-4444-555555555555"\)/);
        assert.match(query, /AADManagedIdentitySignInLogs \| where ServicePrincipalId in \("66666666-7777-8888-9999-000000000000"\)/);
        assert.match(query, /where ResultType != "0"/);
        assert.equal(rule.criteria.allOf[0].threshold, 5);
        assert.deepEqual(rule.actions.actionGroups, [AG]);
        assert.throws(() => failedSignInsQuery(['x") or true //'], []), /not a GUID/);
    });

    it("saves 'who accessed Patient X between T1 and T2' as a parameterised workspace function naming the caller", () => {
        const s = findRegistered("azure-native:operationalinsights:SavedSearch", "sa-patient-access").inputs as any;
        assert.equal(s.functionAlias, "FhirPatientAccess");
        assert.equal(s.functionParameters, "patientId:string, fromTime:datetime, toTime:datetime");
        assert.equal(s.query, PATIENT_ACCESS_QUERY);
        assert.match(s.query, /X-MS-AZUREFHIR-AUDIT-CALLER-OID/);
        assert.match(s.query, /between \(fromTime \.\. toTime\)/);
    });
});

describe("PlatformSentinel (under mocks)", () => {
    it("onboards Sentinel on the platform workspace and creates incident-raising rules for Key Vault bursts, mass FHIR reads and out-of-band role assignments", () => {
        const onboarding = findRegistered("azure-native:securityinsights:SentinelOnboardingState", "sn-onboarding");
        assert.equal((onboarding.inputs as any).workspaceName, findRegistered("azure-native:operationalinsights:Workspace", "sa-mon-law").outputs.name);
        assert.deepEqual(SENTINEL_RULES.map((r) => r.id), ["kv-access-denied-burst", "fhir-mass-read", "role-assignment-outside-deploy"]);
        for (const rule of SENTINEL_RULES) {
            const r = findRegistered("azure-native:securityinsights:ScheduledAlertRule", `sn-${rule.id}`);
            const i = r.inputs as any;
            assert.equal(i.enabled, true);
            assert.equal(i.incidentConfiguration.createIncident, true);
            assert.ok(r.dependencies.includes(onboarding.urn), "rules after onboarding");
        }
        const outOfBand = findRegistered("azure-native:securityinsights:ScheduledAlertRule", "sn-role-assignment-outside-deploy").inputs as any;
        assert.match(outOfBand.query, new RegExp(`Caller != "${MOCK_DEPLOYER_OBJECT_ID}"`), "the deploying identity is the expected caller");
    });
});

describe("security operations in the offline plans (dev and prod)", function () {
    this.timeout(180000);
    it("declares the Activity Log export, the control-change alerts and the patient-access query on both stacks", async () => {
        const plans: OfflinePlan[] = (await Promise.all([stackPlan("dev"), stackPlan("prod")])).map((p) => p.plan);
        for (const plan of plans) {
            assert.ok(plan.resources.some((r) => r.type === "azure-native:monitor:SubscriptionDiagnosticSetting"), plan.stack);
            assert.equal(plan.resources.filter((r) => r.type === "azure-native:monitor:ActivityLogAlert").length, ACTIVITY_ALERTS.length, plan.stack);
            assert.ok(plan.resources.some((r) => r.type === "azure-native:operationalinsights:SavedSearch"), plan.stack);
            const topic = plan.resources.find((r) => r.name === "alerts-kv-secret-expiry")!.inputs as any;
            assert.ok(topic.filter.includedEventTypes.includes("Microsoft.KeyVault.KeyNearExpiry"), "CMK near expiry alerts too");
            assert.equal(plan.resources.some((r) => r.type === "azure-native:securityinsights:SentinelOnboardingState"), plan.stack === "prod", `${plan.stack}: Sentinel in prod only`);
            // Prod's tenant exports Entra sign-in logs (monitoring.entraSignInLogs); dev's config does not say so.
            const signIns = plan.resources.find((r) => r.name === "audit-platform-signin-failures");
            assert.equal(signIns !== undefined, plan.stack === "prod", `${plan.stack}: sign-in failure alert`);
            if (signIns) assert.match((signIns.inputs as any).criteria.allOf[0].query, /AADServicePrincipalSignInLogs \| where AppId in \("[0-9a-f-]{36}"\)/);
        }
    });
});
