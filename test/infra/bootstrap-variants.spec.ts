// The bootstrap's variants (own subscriptions per environment, Pulumi Cloud state, no Graph grants), its pure access
// helpers and its config validation. The shipped plan itself is tested in bootstrap.spec.ts.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { actionAllowed, BOOTSTRAP_ROLES, deployerRoleActions, roleAssignmentCondition } from "../../bootstrap/access";
import { validateBootstrapConfig } from "../../bootstrap/config";
import { roleGuidOf } from "../../components/roles";
import type { OfflinePlan } from "../../tools/offline/plan-runner";
import { ENVS, GRAPH_IDS, grantsOf, named, ofType, RA, ROOT, stackOutputs } from "../support/bootstrap-plan";
import { runPlanCli } from "../support/stack-plans";

describe("bootstrap with prod in its own subscription", function () {
    this.timeout(180000);
    it("puts prod's subscription-wide roles and AZURE_SUBSCRIPTION_ID on that subscription, and nothing of the bootstrap's beyond its state, key and runner VNet", async () => {
        const prodSub = "11111111-2222-4333-8444-555555555555";
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootstrap-subs-"));
        const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "bootstrap", "Pulumi.bootstrap.yaml"), "utf8"));
        doc.config["fhir-platform-bootstrap:environments"].prod.subscriptionId = prodSub;
        const file = path.join(dir, "Pulumi.bootstrap.yaml");
        fs.writeFileSync(file, YAML.stringify(doc));
        const result = await runPlanCli(["--stack", "bootstrap", "--config", file, "--out", dir, "--skip-policy"]);
        assert.equal(result.code, 0, result.stderr);
        const plan = JSON.parse(fs.readFileSync(path.join(dir, "plan-bootstrap.json"), "utf8")) as OfflinePlan;
        const out = stackOutputs(plan);
        const home = `/subscriptions/${out.subscriptionId}`;
        assert.equal(out.githubEnvironmentVariables.prod.AZURE_SUBSCRIPTION_ID, prodSub);
        assert.equal(out.githubEnvironmentVariables.dev.AZURE_SUBSCRIPTION_ID, out.subscriptionId);
        for (const role of ["deployer", "locks", "preview-invokes"]) {
            assert.deepEqual(named(plan, `roles-${role}`).inputs.assignableScopes, [home, `/subscriptions/${prodSub}`], role);
        }
        for (const kind of ["deploy", "preview"]) {
            const scopes = [...grantsOf(plan, named(plan, `github-prod-${kind}`).outputs.principalId).values()].flat();
            const inHome = scopes.filter((s) => s.startsWith(`${home}/`) || s === home);
            assert.ok(scopes.includes(`/subscriptions/${prodSub}`), `${kind}: subscription-wide roles on prod's subscription`);
            assert.ok(!scopes.includes(home), `${kind}: nothing subscription-wide in the bootstrap's subscription`);
            for (const ra of ofType(plan, RA).filter((r) => r.inputs.principalId === named(plan, `github-prod-${kind}`).outputs.principalId && r.inputs.scope === `/subscriptions/${prodSub}`)) {
                assert.ok(String(ra.inputs.roleDefinitionId).startsWith(`/subscriptions/${prodSub}/providers/Microsoft.Authorization/roleDefinitions/`), ra.name);
            }
            assert.ok(inHome.every((s) => /\/containers\/state-prod$|\/keys\/pulumi-secrets-prod$|\/virtualNetworks\/vnet-fhirp-prod-runners$/.test(s)), `${kind}: ${inHome.join(", ")}`);
        }
    });
});

describe("bootstrap with Pulumi Cloud state, Graph grants left to an administrator", function () {
    this.timeout(180000);
    it("declares no state account and no state grants, keeps the Key Vault secrets provider and outputs no backend URL", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootstrap-cloud-"));
        const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "bootstrap", "Pulumi.bootstrap.yaml"), "utf8"));
        doc.config["fhir-platform-bootstrap:stateBackend"] = "pulumiCloud";
        // Run by an Owner who is not a Privileged Role Administrator: Graph grants are left to an administrator.
        doc.config["fhir-platform-bootstrap:grantGraphPermissions"] = "false";
        const file = path.join(dir, "Pulumi.bootstrap.yaml");
        fs.writeFileSync(file, YAML.stringify(doc));
        const result = await runPlanCli(["--stack", "bootstrap", "--config", file, "--out", dir]);
        assert.equal(result.code, 0, result.stderr);
        const plan = JSON.parse(fs.readFileSync(path.join(dir, "plan-bootstrap.json"), "utf8")) as OfflinePlan;
        assert.ok(!plan.resources.some((r) => r.name === "state-account" || r.type === "azure-native:storage:BlobContainer"));
        const storageRoles: string[] = [BOOTSTRAP_ROLES.storageBlobDataContributor, BOOTSTRAP_ROLES.storageBlobDataReader];
        const github = new Set(ENVS.flatMap((env) => ["deploy", "preview"].map((k) => named(plan, `github-${env}-${k}`).outputs.principalId)));
        assert.ok(!ofType(plan, RA).some((ra) => github.has(ra.inputs.principalId) && storageRoles.includes(roleGuidOf(String(ra.inputs.roleDefinitionId))!)));
        const out = stackOutputs(plan);
        assert.equal(ofType(plan, "azuread:index/appRoleAssignment:AppRoleAssignment").length, 0);
        assert.deepEqual(out.graphPermissions, { granted: false, deploy: Object.keys(GRAPH_IDS), preview: ["Application.Read.All"] });
        for (const env of ENVS) {
            assert.equal(out.githubEnvironmentVariables[env].PULUMI_BACKEND_URL, undefined);
            assert.match(out.githubEnvironmentVariables[env].PULUMI_SECRETS_PROVIDER, /^azurekeyvault:\/\//);
            assert.equal(out.githubRepositoryVariables[`PULUMI_BACKEND_URL_${env.toUpperCase()}`], undefined);
        }
    });
});

describe("bootstrap access helpers", () => {
    it("match ARM actions the way Azure does: wildcards per segment run, case-insensitive, nothing implied", () => {
        assert.ok(actionAllowed(["Microsoft.Web/*"], "microsoft.web/sites/write"));
        assert.ok(!actionAllowed(["Microsoft.Web/*"], "Microsoft.WebX/sites/write"));
        assert.ok(!actionAllowed(["Microsoft.Web/*"], "Microsoft.Network/virtualNetworks/write"));
        assert.ok(actionAllowed(["*/read"], "Microsoft.KeyVault/vaults/read"));
        assert.ok(!actionAllowed(["*/read"], "Microsoft.KeyVault/vaults/write"));
        assert.ok(!actionAllowed(deployerRoleActions(), "Microsoft.Authorization/roleAssignments/write"));
        assert.ok(!actionAllowed(deployerRoleActions(), "Microsoft.Compute/virtualMachines/write"));
        assert.throws(() => roleAssignmentCondition([]), /at least one role/);
    });

    it("waives policies only for named bootstrap resources, each with a reason and an expiry within a year", () => {
        const config = JSON.parse(fs.readFileSync(path.join(ROOT, "bootstrap", "policy", "bootstrap.json"), "utf8")) as Record<string, { exemptions?: { resource: string; reason: string; expires: string }[] }>;
        const inAYear = Date.now() + 366 * 86_400_000;
        for (const [policy, entry] of Object.entries(config)) {
            assert.deepEqual(Object.keys(entry), ["exemptions"], `${policy}: only exemptions, no level change`);
            for (const e of entry.exemptions ?? []) {
                assert.match(e.resource, /^(github-\*-(deploy|preview)-\*|state-account|secrets-vault|flowlogs-st|fhir-platform-bootstrap-\*)$/, `${policy}: ${e.resource}`);
                assert.ok(Date.parse(e.expires) <= inAYear, `${policy}: ${e.expires} is more than a year away`);
            }
        }
    });
});

describe("bootstrap config", () => {
    const shipped = () => {
        const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "bootstrap", "Pulumi.bootstrap.yaml"), "utf8")) as { config: Record<string, unknown> };
        return Object.fromEntries(Object.entries(doc.config).filter(([k]) => k.startsWith("fhir-platform-bootstrap:")).map(([k, v]) => [k.split(":")[1], v])) as Record<string, any>;
    };

    it("accepts the shipped stack file", () => {
        assert.deepEqual(validateBootstrapConfig(shipped()).environments.map((e) => e.name), ENVS);
    });

    it("lists every bad key at once", () => {
        const raw: Record<string, unknown> = {
            ...shipped(), githubRepository: "not a repo", colour: "blue", allowedIpRanges: ["10.1.2.3", "300.1.1.1"], rbacPropagationSeconds: "5",
            environments: { dev: { runnerAddressSpace: "10.90.0.0/24", subscriptionId: "nope" }, prod: { runnerAddressSpace: "10.90.0.128/25" } },
        };
        assert.throws(() => validateBootstrapConfig(raw), (err: Error) => {
            for (const key of ["githubRepository", "colour", "allowedIpRanges[0]", "allowedIpRanges[1]", "rbacPropagationSeconds", "environments.prod.runnerAddressSpace", "environments.dev.subscriptionId"]) {
                assert.match(err.message, new RegExp(`- ${key.replace(/[[\].]/g, "\\$&")}: `), key);
            }
            return true;
        });
    });

    it("fails the plan before declaring anything, naming every bad key", async function () {
        this.timeout(60000);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootstrap-bad-"));
        const file = path.join(dir, "Pulumi.bootstrap.yaml");
        fs.writeFileSync(file, YAML.stringify({ config: {
            "fhir-platform-bootstrap:location": "westeurope",
            "fhir-platform-bootstrap:namePrefix": "X",
            "fhir-platform-bootstrap:githubRepository": "contoso",
        } }));
        const result = await runPlanCli(["--stack", "bootstrap", "--config", file, "--out", dir]);
        assert.equal(result.code, 1);
        for (const key of ["namePrefix", "githubRepository", "environments", "allowedIpRanges"]) assert.match(result.stderr, new RegExp(`- ${key}: `), key);
        assert.ok(!fs.existsSync(path.join(dir, "plan-bootstrap.json")), "no plan written");
    });
});
