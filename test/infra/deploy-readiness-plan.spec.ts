// Issue 8 on the shipped stacks: what a first `pulumi up` on a fresh subscription needs, asserted on the offline plans
// of dev and prod (the real program, child processes).
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { roleAssignmentName } from "../../components/rbac";
import { BUILT_IN_ROLES, roleGuidOf } from "../../components/roles";
import { MOCK_DEPLOYER_OBJECT_ID } from "../../tools/offline/arm-mocks";
import type { OfflinePlan, PlanResource } from "../../tools/offline/plan-runner";
import { stackPlan } from "../support/stack-plans";

const SLEEP = "time:index/sleep:Sleep";
const RA = "azure-native:authorization:RoleAssignment";
const LOCK = "azure-native:authorization:ManagementLockByScope";

const get = (plan: OfflinePlan, name: string): PlanResource => {
    const r = plan.resources.find((x) => x.name === name);
    if (!r) throw new Error(`${plan.stack}: no resource ${name}`);
    return r;
};
const byUrn = (plan: OfflinePlan, urn: string) => plan.resources.find((r) => r.urn === urn)!;
const seconds = (d: unknown) => Number(/^(\d+)s$/.exec(String(d))?.[1] ?? NaN);

describe("first pulumi up on a fresh subscription, in the offline plans (dev and prod)", function () {
    this.timeout(180000);
    let plans: OfflinePlan[];
    before(async () => {
        plans = (await Promise.all([stackPlan("dev"), stackPlan("prod")])).map((p) => p.plan);
    });

    /** The grants the user of `user` waits for through a Sleep, with the wait's length. */
    const waitedGrants = (plan: OfflinePlan, user: PlanResource) =>
        user.dependencies.map((u) => byUrn(plan, u)).filter((r) => r.type === SLEEP).flatMap((sleep) =>
            sleep.dependencies.map((u) => byUrn(plan, u)).filter((r) => r.type === RA).map((grant) => ({ grant, seconds: seconds(sleep.inputs.createDuration) })));

    it("grants the deployer Key Vault Crypto Officer on the vault, and creates the CMK only after a propagation wait", () => {
        for (const plan of plans) {
            const key = get(plan, "keyvault-cmk");
            const waited = waitedGrants(plan, key);
            const officer = waited.find((w) => roleGuidOf(String(w.grant.inputs.roleDefinitionId)) === BUILT_IN_ROLES.keyVaultCryptoOfficer);
            assert.ok(officer, `${plan.stack}: the key waits for the deployer's Crypto Officer grant`);
            assert.equal(officer!.grant.inputs.principalId, MOCK_DEPLOYER_OBJECT_ID, "granted to the caller of getClientConfig");
            assert.equal(officer!.grant.inputs.scope, get(plan, "keyvault-vault").outputs.id, "on the vault the program creates");
            assert.ok(officer!.seconds >= 120, `${plan.stack}: ${officer!.seconds} s`);
        }
    });

    it("waits between every grant and its first use in the same run: FHIR after its CMK grant, the named value after APIM's Secrets User grant, the code deployment after the blob grant", () => {
        const expected: [string, keyof typeof BUILT_IN_ROLES][] = [
            ["healthdata-fhir", "keyVaultCryptoServiceEncryptionUser"],
            ["gateway-nv-function-key", "keyVaultSecretsUser"],
            ["ingestion-package", "storageBlobDataOwner"],
        ];
        for (const plan of plans) {
            for (const [user, role] of expected) {
                const waited = waitedGrants(plan, get(plan, user)).filter((w) => roleGuidOf(String(w.grant.inputs.roleDefinitionId)) === BUILT_IN_ROLES[role]);
                assert.equal(waited.length, 1, `${plan.stack}: ${user} waits for its ${role} grant`);
                assert.ok(waited[0].seconds >= 60);
            }
            const prodLonger = plan.stack === "prod" ? 180 : 120;
            for (const sleep of plan.resources.filter((r) => r.type === SLEEP)) assert.equal(seconds(sleep.inputs.createDuration), prodLonger, sleep.name);
        }
    });

    it("names every role assignment deterministically from scope, role and principal", () => {
        for (const plan of plans) {
            const grants = plan.resources.filter((r) => r.type === RA);
            assert.ok(grants.length >= 10);
            for (const g of grants) {
                const guid = roleGuidOf(String(g.inputs.roleDefinitionId))!;
                assert.equal(g.inputs.roleAssignmentName, roleAssignmentName(String(g.inputs.scope), guid, String(g.inputs.principalId)), `${plan.stack}: ${g.name}`);
            }
        }
    });

    it("keeps PHI from accidental deletion in prod only: protect and a CanNotDelete lock on vault, workspace, FHIR and raw-HL7 storage", () => {
        const stores = ["keyvault-vault", "healthdata-workspace", "healthdata-fhir", "ingestion-st"];
        for (const plan of plans) {
            const prod = plan.stack === "prod";
            const locks = plan.resources.filter((r) => r.type === LOCK);
            for (const name of stores) {
                const store = get(plan, name);
                assert.equal(store.options.protect === true, prod, `${plan.stack}: ${name} protect`);
                const lock = locks.find((l) => l.inputs.scope === store.outputs.id);
                assert.equal(Boolean(lock), prod, `${plan.stack}: ${name} lock`);
                if (lock) assert.equal(lock.inputs.level, "CanNotDelete");
            }
        }
    });

    it("switches the AHDS workspace's public network access off", () => {
        for (const plan of plans) {
            const ws = get(plan, "healthdata-workspace");
            assert.equal(ws.type, "azure-native:resources:Resource");
            assert.deepEqual([ws.inputs.resourceProviderNamespace, ws.inputs.resourceType, ws.inputs.apiVersion], ["Microsoft.HealthcareApis", "workspaces", "2024-03-31"]);
            assert.equal((ws.inputs.properties as any).publicNetworkAccess, "Disabled");
            assert.ok(!plan.resources.some((r) => r.type === "azure-native:healthcareapis:Workspace"));
        }
    });

    it("alerts on FHIR 401/403 from the audit log, and uses no metric dimension the FHIR metrics lack", () => {
        for (const plan of plans) {
            const rule = get(plan, "alerts-fhir-auth-failures");
            assert.equal(rule.type, "azure-native:monitor:ScheduledQueryRule");
            assert.match((rule.inputs as any).criteria.allOf[0].query, /StatusCode in \(401, 403\)/);
            for (const alert of plan.resources.filter((r) => r.type === "azure-native:monitor:MetricAlert" && (r.inputs as any).criteria.allOf[0].metricNamespace?.endsWith("fhirservices"))) {
                for (const c of (alert.inputs as any).criteria.allOf) {
                    const allowed = c.metricName === "TotalRequests" ? ["Protocol"] : ["StatusCode", "StatusCodeClass", "StatusCodeText", "Protocol"];
                    for (const d of c.dimensions ?? []) assert.ok(allowed.includes(d.name), `${alert.name}: ${c.metricName} by ${d.name}`);
                }
            }
        }
    });

    it("gives every consumer a product subscription and answers CORS at the gateway for the configured origins", () => {
        const origins: Record<string, string[]> = {
            dev: ["https://portal.dev.fhir-platform.example.org", "http://localhost:5173"],
            prod: ["https://portal.fhir-platform.example.org"],
        };
        for (const plan of plans) {
            const subs = plan.resources.filter((r) => r.type === "azure-native:apimanagement:Subscription").map((r) => [(r.inputs as any).sid, (r.inputs as any).scope]);
            assert.deepEqual(subs.sort(), [["adt-feed-main", "/products/hl7"], ["ehr-portal", "/products/fhir"]]);
            const policy = String(get(plan, "gateway-api-fhir-policy").inputs.value);
            for (const o of origins[plan.stack]) assert.ok(policy.includes(`<origin>${o}</origin>`), `${plan.stack}: ${o}`);
            assert.equal([...policy.matchAll(/<origin>/g)].length, origins[plan.stack].length);
            assert.equal(get(plan, "healthdata-fhir").inputs.corsConfiguration, undefined, "FHIR itself answers no CORS");
        }
    });

    it("declares the code deployment's network path and makes the deployment wait for it", () => {
        for (const plan of plans) {
            const deploy = get(plan, "ingestion-package");
            for (const dep of ["deployer-access-peer-to-runner", "deployer-access-peer-from-runner", "deployer-access-dns-webapps-link"]) {
                assert.ok(deploy.dependencies.includes(get(plan, dep).urn), `${plan.stack}: waits for ${dep}`);
            }
            const nsg = get(plan, "network-nsg-privateEndpoints");
            const runnerRule = (nsg.inputs.securityRules as any[]).find((r) => r.name === "allow-deployer-scm-https");
            const prefix = (get(plan, "deployer-access-peer-to-runner").inputs as any).remoteVirtualNetwork.id;
            assert.ok(runnerRule, `${plan.stack}: the private-endpoint NSG admits the runner`);
            assert.equal(runnerRule.destinationPortRange, "443");
            assert.match(prefix, /\/virtualNetworks\/vnet-fhirp-(dev|prod)-runners$/);
        }
    });

    it("lets the Function validate its callers: the platform API's audiences and the HL7 sender's facilities, and APIM forwards the token", () => {
        for (const plan of plans) {
            const settings = Object.fromEntries((get(plan, "ingestion-site").inputs as any).siteConfig.appSettings.map((s: any) => [s.name, s.value]));
            const outputs = plan.resources.find((r) => r.type === "pulumi:pulumi:Stack")!.outputs as Record<string, string>;
            assert.deepEqual(settings.INGEST_AUTH_AUDIENCE.split(","), [outputs.platformApiClientId, outputs.platformApiIdentifierUri]);
            assert.deepEqual(Object.keys(JSON.parse(settings.INGEST_SENDERS)), [outputs.hl7SenderClientId]);
            assert.ok(!String(get(plan, "gateway-api-hl7-policy").inputs.value).includes('name="Authorization"'));
        }
    });

    it("deploys exactly the package the workflow attests: same path, and the plan's hash is the file's SHA-256", () => {
        // deploy.yml hashes app/dist/ingest-function.zip with sha256sum, attests that file, and the deploy jobs
        // download it to the same path and check the hash before pulumi up; the program keys the deployment on it.
        const zip = path.join(path.resolve(__dirname, "..", ".."), "app", "dist", "ingest-function.zip");
        const fileHash = createHash("sha256").update(fs.readFileSync(zip)).digest("hex");
        const workflow = fs.readFileSync(path.join(path.resolve(__dirname, "..", ".."), ".github", "workflows", "deploy.yml"), "utf8");
        assert.match(workflow, /sha256sum app\/dist\/ingest-function\.zip/);
        assert.match(workflow, /subject-path: app\/dist\/ingest-function\.zip/);
        for (const plan of plans) {
            const env = (get(plan, "ingestion-package").inputs as any).environment;
            assert.equal(env.FUNCTION_ZIP, "app/dist/ingest-function.zip");
            assert.equal(env.FUNCTION_ZIP_SHA256, fileHash, `${plan.stack}: the plan deploys the file's hash`);
        }
    });
});
