import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as keyvault from "@pulumi/azure-native/keyvault";
import { armMocks } from "../../tools/offline/arm-mocks";
import { readStackConfig, type OfflinePlan } from "../../tools/offline/plan-runner";
import { SECRET_PLACEHOLDER, toPlanValue } from "../../tools/offline/recording-monitor";
import { findRegistered, settle } from "../support/pulumi-mocks";
import { stackPlan } from "../support/stack-plans";

const RESOURCE_KEYS = ["urn", "type", "name", "custom", "parent", "provider", "inputs", "outputs", "dependencies", "propertyDependencies", "options"];

/** The FHIR CMK (prod also has one key per CMK-encrypted storage account). */
function fhirCmk(plan: OfflinePlan) {
    const keys = plan.resources.filter((r) => r.type === "azure-native:keyvault:Key" && (r.inputs as any).keyName === "fhir-cmk");
    assert.equal(keys.length, 1, "expected one FHIR CMK");
    return keys[0];
}

function one(plan: OfflinePlan, type: string) {
    const found = plan.resources.filter((r) => r.type === type);
    assert.equal(found.length, 1, `expected one ${type}, found ${found.length}`);
    return found[0];
}

for (const stack of ["dev", "prod"]) {
    describe(`offline plan: ${stack}`, function () {
        this.timeout(120000);
        let plan: OfflinePlan;
        let dir: string;
        let stdout: string;

        before(async () => {
            ({ plan, dir, stdout } = await stackPlan(stack));
        });

        it("has the documented shape", () => {
            assert.equal(plan.project, "fhir-platform");
            assert.equal(plan.stack, stack);
            assert.ok(plan.resources.length > 30);
            for (const r of plan.resources) {
                assert.deepEqual(Object.keys(r).sort(), [...RESOURCE_KEYS].sort(), r.urn);
                assert.match(r.urn, new RegExp(`^urn:pulumi:${stack}::fhir-platform::`));
                assert.ok(Array.isArray(r.dependencies));
            }
            assert.equal(plan.resources.filter((r) => r.type === "pulumi:pulumi:Stack").length, 1);
        });

        it("carries the resource options reviewers and policies need", () => {
            const key = fhirCmk(plan);
            assert.deepEqual(key.options.ignoreChanges, ["properties.attributes.expires"]);
            const vaultRes = one(plan, "azure-native:keyvault:Vault");
            assert.equal(vaultRes.options.protect, stack === "prod" ? true : undefined);
        });

        it("only depends on resources that are in the plan", () => {
            const urns = new Set(plan.resources.map((r) => r.urn));
            for (const r of plan.resources) {
                for (const dep of [...r.dependencies, ...Object.values(r.propertyDependencies).flat()]) assert.ok(urns.has(dep), `${r.urn} → ${dep}`);
                if (r.parent) assert.ok(urns.has(r.parent));
            }
        });

        it("records explicit and implicit dependency edges", () => {
            const fhir = one(plan, "azure-native:healthcareapis:FhirService");
            const role = plan.resources.find((r) => r.type === "azure-native:authorization:RoleAssignment" && r.name === "keyvault-role-fhir-cmk")!;
            const wait = plan.resources.find((r) => r.name === "keyvault-cmk-grant-wait")!;
            const key = fhirCmk(plan);
            const identity = plan.resources.find((r) => r.name === "keyvault-fhir-id")!;
            assert.ok(fhir.dependencies.includes(wait.urn), "explicit dependsOn on the wait after the CMK role assignment");
            assert.ok(wait.dependencies.includes(role.urn), "the wait follows the grant");
            // The key's current version is read on every deploy (getKey after the key): the URL depends on the key.
            assert.ok(fhir.propertyDependencies.encryption.includes(key.urn));
            assert.deepEqual(fhir.propertyDependencies.identity, [identity.urn]);
            assert.ok(role.propertyDependencies.principalId.includes(identity.urn));
            const workspacePe = plan.resources.find((r) => r.name === "healthdata-workspace-pe")!;
            assert.ok(workspacePe.dependencies.includes(fhir.urn), "workspace private endpoint after FHIR");
        });

        it("wires real-looking values between resources", () => {
            const fhir = one(plan, "azure-native:healthcareapis:FhirService");
            const key = fhirCmk(plan);
            assert.match(String(key.outputs.keyUriWithVersion), /^https:\/\/kv-fhirp-[a-z]+-[a-z0-9]{5}\.vault\.azure\.net\/keys\/fhir-cmk\/[0-9a-f]{32}$/);
            assert.equal((fhir.inputs.encryption as any).customerManagedKeyEncryption.keyEncryptionKeyUrl, key.outputs.keyUriWithVersion);
            assert.match(String(fhir.outputs.id), /^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/rg-fhirp-[a-z]+-[a-z]+\/providers\/Microsoft\.HealthcareApis\/workspaces\/[a-z0-9]+\/fhirservices\/fhir$/);
            const identity = plan.resources.find((r) => r.name === "keyvault-fhir-id")!;
            assert.match(String(identity.outputs.principalId), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        });

        it("never writes a secret value, only the placeholder", async () => {
            const text = fs.readFileSync(path.join(dir, `plan-${stack}.json`), "utf8");
            // Recompute what the mock provider returned for every secret output and make sure it is not in the file.
            let secretOutputs = 0;
            for (const r of plan.resources) {
                for (const [k, v] of Object.entries(r.outputs)) {
                    if (v !== SECRET_PLACEHOLDER || !r.custom) continue;
                    secretOutputs++;
                    const mocked = (await armMocks.newResource({ type: r.type, name: r.name, inputs: r.inputs, custom: true })).state[k];
                    if (typeof mocked === "string" && mocked.length > 0) assert.ok(!text.includes(mocked), `${r.urn}.${k} leaked`);
                }
            }
            // Secret inputs (a generated password written to Key Vault) must show only as the placeholder too.
            for (const r of plan.resources.filter((x) => x.type === "azure-native:keyvault:Secret")) {
                assert.equal((r.inputs.properties as { value?: unknown }).value, SECRET_PLACEHOLDER, r.urn);
            }
            // The HL7 sender's rotating client secrets are the stack's generated secrets.
            assert.ok(secretOutputs >= 2, `expected the generated client secrets to be redacted, found ${secretOutputs}`);
        });

        it("prints resources per component, per type and the total", () => {
            const custom = plan.resources.filter((r) => r.custom).length;
            assert.match(stdout, /Per component:/);
            assert.match(stdout, /healthdata \(HealthDataServices\)/);
            assert.match(stdout, /Per type:/);
            assert.match(stdout, /healthcareapis:FhirService/);
            assert.match(stdout, new RegExp(`Total: ${custom} resources`));
        });

        it("writes a Markdown review with the data paths derived from the wiring", () => {
            const md = fs.readFileSync(path.join(dir, `plan-${stack}.md`), "utf8");
            assert.match(md, /```mermaid\nflowchart LR/);
            assert.match(md, /rhealthdata_fhir -->\|wrap \/ unwrap\| rkeyvault_cmk/);
            assert.match(md, /rhealthdata_workspace_pe -->\|A record\| rnetwork_dns_healthcareApis/);
            assert.match(md, /rhealthdata_workspace_pe -->\|A record\| rnetwork_dns_healthcareDicom/);
            assert.match(md, /rkeyvault_vault_pe -->\|vault\| rkeyvault_vault/);
            assert.match(md, /### keyvault \(CmkKeyVault\)/);
        });
    });
}

describe("offline plan: program failures", () => {
    it("fails with the program's own message when an input cannot be resolved, instead of hanging", async function () {
        this.timeout(60000);
        const { execFile } = await import("node:child_process");
        const script = `require("./tools/offline/plan-runner").runOfflinePlan("dev", ${JSON.stringify(path.resolve(__dirname, "..", "fixtures", "failing-program"))})
            .then(() => console.log("planned"), (e) => { console.error(e.message); process.exitCode = 1; });`;
        const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
            const child = execFile(process.execPath, ["-r", "./tools/ts-register.js", "-e", script], { cwd: path.resolve(__dirname, "..", ".."), timeout: 50000 }, (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
        });
        assert.equal(result.code, 1);
        assert.doesNotMatch(result.stdout, /planned/);
        assert.match(result.stderr, /the program failed: .*subnet prefix 10\.0\.0\.0\/33 cannot be split/);
    });
});

describe("offline plan: unanswered invokes", () => {
    it("fails naming the invoke instead of writing a plan without the resources that depend on it", async function () {
        this.timeout(60000);
        const { execFile } = await import("node:child_process");
        const script = `require("./tools/offline/plan-runner").runOfflinePlan("dev", ${JSON.stringify(path.resolve(__dirname, "..", "fixtures", "unmocked-invoke"))})
            .then((p) => console.log("planned " + p.resources.length), (e) => { console.error(e.message); process.exitCode = 1; });`;
        const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
            const child = execFile(process.execPath, ["-r", "./tools/ts-register.js", "-e", script], { cwd: path.resolve(__dirname, "..", ".."), timeout: 50000 }, (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
        });
        assert.equal(result.code, 1);
        assert.doesNotMatch(result.stdout, /planned/);
        assert.match(result.stderr, /the program failed: offline plan: no mock for invoke azure-native:resources:getResourceGroup/);
    });
});

describe("offline plan: secrets", () => {
    it("replaces secret inputs with the placeholder and keeps the rest", async () => {
        new keyvault.Secret("plan-secret-probe", {
            resourceGroupName: "rg",
            vaultName: "kv",
            secretName: "probe",
            properties: { value: pulumi.secret("correct-horse-battery-staple"), contentType: "text/plain" },
        });
        await settle();
        const recorded = findRegistered("azure-native:keyvault:Secret", "plan-secret-probe");
        assert.deepEqual(recorded.inputs.properties, { value: SECRET_PLACEHOLDER, contentType: "text/plain" });
        assert.ok(!JSON.stringify(recorded).includes("correct-horse-battery-staple"));
    });

    it("translates wire values: secrets, unknowns, resource references and archives", () => {
        const sig = "4dabf18193072939515e22adb298388d";
        assert.equal(toPlanValue({ [sig]: "1b47061264138c4ac30d75fd1eb44270", value: "x" }), SECRET_PLACEHOLDER);
        assert.equal(toPlanValue("04da6b54-80e4-46f7-96ec-b56ff0331ba9"), "[unknown]");
        assert.equal(toPlanValue({ [sig]: "5cf8f73096256a8f31e491e813e4eb8e", urn: "urn:x", id: "i" }), "urn:x");
        assert.deepEqual(toPlanValue({ [sig]: "0def7320c3a5731c473e5ecbe6d01bc7", path: "app/dist/app.zip" }), { archive: "app/dist/app.zip" });
        assert.deepEqual(toPlanValue({ a: [{ [sig]: "1b47061264138c4ac30d75fd1eb44270", value: 1 }] }), { a: [SECRET_PLACEHOLDER] });
    });
});

describe("plan CLI: input errors fail fast", () => {
    // In-process: every case fails before the program runs, so the test process's mock runtime is untouched.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { planCli, UsageError } = require("../../tools/plan") as typeof import("../../tools/plan");
    const built: string[] = [];
    const deps = { ensureBundle: async (t: { stack: string }) => void built.push(t.stack) };
    const tempFile = (name: string, text: string) => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "plan-cli-")), name);
        fs.writeFileSync(file, text);
        return file;
    };
    beforeEach(() => (built.length = 0));

    it("--help exits 0; unknown options, positionals and a missing --stack are usage errors (exit 2)", async function () {
        this.timeout(60000);
        const { runPlanCli } = await import("../support/stack-plans");
        const help = await runPlanCli(["--help"]);
        assert.equal(help.code, 0);
        assert.match(help.stdout, /usage: npm run plan -- --stack <name>/);
        for (const args of [["--bogus"], [], ["--stack", "dev", "extra"]]) {
            const r = await runPlanCli(args);
            assert.equal(r.code, 2, args.join(" "));
            assert.match(r.stderr, /usage: npm run plan/);
        }
        await assert.rejects(planCli(["--stack"], deps), UsageError);
    });

    it("rejects an unknown stack, naming the known ones, before building the Function bundle", async () => {
        await assert.rejects(planCli(["--stack", "nosuch"], deps), /unknown stack "nosuch".*known stacks: dev, prod, bootstrap/);
        assert.deepEqual(built, []);
    });

    it("names the file that is not valid YAML", async () => {
        const file = tempFile("Pulumi.dev.yaml", "config:\n  fhir-platform:tags: [a\n");
        await assert.rejects(planCli(["--stack", "dev", "--config", file], deps), (err: Error) => err.message.startsWith(`${file} is not valid YAML: `));
        assert.deepEqual(built, []);
    });

    it("rejects a stack file whose environment contradicts the stack name", async () => {
        const prodAsDev = fs.readFileSync(path.resolve(__dirname, "..", "..", "Pulumi.prod.yaml"), "utf8").replace(/fhir-platform:environment: prod/, "fhir-platform:environment: dev");
        const file = tempFile("Pulumi.prod.yaml", prodAsDev);
        await assert.rejects(planCli(["--stack", "prod", "--config", file], deps), /sets fhir-platform:environment to "dev", which contradicts the stack name "prod"/);
        assert.deepEqual(built, []);
        // The shipped stack files pass the same check.
        for (const stack of ["dev", "prod", "bootstrap"]) assert.doesNotThrow(() => readStackConfig(stack), stack);
    });
});
