// Pack-level facts: metadata every policy must carry, type coverage of the platform's resources, behaviour with values
// unknown at preview, and the engine semantics the in-process runner mirrors (type filter, notApplicable, levels).
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ResourceValidation, ResourceValidationArgs, StackValidationPolicy, unknownCheckingProxy } from "@pulumi/policy";
import { catalogue, PACK_NAME, policies } from "../../policy/policies";
import { runPolicyPackOnPlan } from "../../tools/policy/run";
import { TYPES, goldenPlan, mutate, without } from "./fixtures";

const ROOT = path.resolve(__dirname, "..", "..");

describe("policy pack metadata", () => {
    it("has at least 45 policies with unique kebab-case ids and a valid pack name", () => {
        assert.ok(policies.length >= 45, `only ${policies.length} policies`);
        const names = policies.map(p => p.name);
        assert.strictEqual(new Set(names).size, names.length);
        for (const n of names) assert.match(n, /^[a-z0-9]+(-[a-z0-9]+)*$/);
        assert.ok(!names.includes("all"), "a policy named 'all' makes the analyzer exit");
        assert.match(PACK_NAME, /^[a-zA-Z0-9-_.]{1,100}$/);
    });

    it("gives every policy a fix-it description, a level, a severity and an anchor; advisory ones say why", () => {
        for (const m of catalogue) {
            assert.ok(m.description.length > 40, `${m.name}: description too short`);
            assert.ok(["mandatory", "advisory"].includes(m.enforcementLevel), m.name);
            assert.ok(m.severity, m.name);
            const a = m.anchor;
            assert.ok((a.azurePolicy?.length ?? 0) + (a.scanner?.length ?? 0) > 0 || !!a.derivedFrom, `${m.name}: no anchor`);
            for (const g of a.azurePolicy ?? []) assert.match(g, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, `${m.name}: ${g}`);
            if (m.enforcementLevel !== "mandatory") assert.ok(m.levelReason && m.levelReason.length > 20, `${m.name}: advisory without a reason`);
        }
        const mandatory = catalogue.filter(m => m.enforcementLevel === "mandatory").length;
        assert.ok(mandatory >= 45, `${mandatory} mandatory policies`);
    });

    it("never declares enforcementLevel in a configSchema (the analyzer exits on it)", () => {
        for (const p of policies) {
            assert.ok(!p.configSchema?.properties?.enforcementLevel, p.name);
            assert.ok(!p.configSchema?.required?.includes("enforcementLevel"), p.name);
            assert.ok(p.configSchema?.properties?.exemptions, `${p.name}: no exemptions schema`);
        }
    });

    it("covers every resource type the platform declares with at least one type-specific policy", () => {
        const covered = new Set(catalogue.flatMap(m => m.resourceTypes));
        // Types whose only risks are secrets/locations (checked stack-wide by no-plaintext-secrets and allowed-locations).
        const stackWideOnly = new Set<string>([TYPES.rg, TYPES.uami, TYPES.queue, TYPES.op, TYPES.topic, TYPES.eventSub, TYPES.plan, TYPES.appRoleAssignment, TYPES.randomString]);
        for (const t of Object.values(TYPES)) {
            if (stackWideOnly.has(t)) continue;
            assert.ok(covered.has(t), `no policy inspects ${t}`);
        }
        assert.ok(covered.has("*"), "stack-wide policies must exist for the remaining types");
    });

    it("lists every policy in policy/README.md with its level", () => {
        const readme = fs.readFileSync(path.join(ROOT, "policy", "README.md"), "utf8");
        for (const m of catalogue) {
            const row = readme.split("\n").find(l => l.startsWith(`| \`${m.name}\``));
            assert.ok(row, `README has no row for ${m.name}`);
            assert.ok(row!.includes(m.enforcementLevel), `README row for ${m.name} does not state ${m.enforcementLevel}`);
        }
    });

    it("ships per-stack configs that the runner accepts and a pack package.json with a version", async () => {
        for (const stack of ["dev", "prod"]) {
            const cfg = JSON.parse(fs.readFileSync(path.join(ROOT, "policy", "config", `${stack}.json`), "utf8"));
            await runPolicyPackOnPlan(goldenPlan(), cfg); // throws on an invalid config
        }
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "policy", "package.json"), "utf8"));
        assert.ok(pkg.version, "PolicyPack reads the version from package.json and throws without it");
        const root = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        for (const [dep, v] of Object.entries<string>(pkg.dependencies)) assert.strictEqual(v, root.dependencies[dep], `${dep} must match the root pin`);
    });
});

describe("policy/index.ts under the policy runtime", function () {
    this.timeout(60_000);

    it("constructs the PolicyPack (valid name, schemas, package.json version) and serves on a local port", async () => {
        // What `pulumi preview --policy-pack policy` starts: the pack validates itself, then prints its gRPC port.
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "index.ts"], { cwd: path.join(ROOT, "policy"), stdio: ["ignore", "pipe", "pipe"] });
        try {
            const port = await new Promise<number>((resolve, reject) => {
                let out = "";
                let err = "";
                const timer = setTimeout(() => reject(new Error(`no port within 45 s; stderr: ${err}`)), 45_000);
                child.stdout.on("data", d => {
                    out += String(d);
                    const m = /^(\d+)\s*$/m.exec(out);
                    if (m) {
                        clearTimeout(timer);
                        resolve(Number(m[1]));
                    }
                });
                child.stderr.on("data", d => (err += String(d)));
                child.on("exit", code => {
                    clearTimeout(timer);
                    reject(new Error(`pack exited with ${code}: ${err}`));
                });
            });
            assert.ok(port > 0 && port < 65536);
        } finally {
            child.kill();
        }
    });
});

describe("policy pack engine semantics", () => {
    function args(type: string, props: Record<string, unknown>): ResourceValidationArgs {
        return {
            type,
            props: unknownCheckingProxy(props),
            urn: `urn:pulumi:t::p::${type}::x`,
            name: "x",
            opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
            stackTags: new Map(),
            isType: (cls: any) => cls.__pulumiType === type,
            asType: () => undefined,
            getConfig: <T extends object>() => ({}) as T,
            notApplicable: (reason?: string) => {
                throw new Error(`not applicable: ${reason}`);
            },
        };
    }

    it("keeps the engine's __pulumiType fast filter on single-type policies and calls notApplicable for other types", () => {
        const kv = policies.find(p => p.name === "kv-purge-protection") as { validateResource: ResourceValidation };
        assert.strictEqual((kv.validateResource as any).__pulumiType, "azure-native:keyvault:Vault");
        assert.throws(() => kv.validateResource(args(TYPES.sa, { kind: "StorageV2" }), () => undefined), /not applicable: Policy only applies to resources of type 'azure-native:keyvault:Vault'/);
    });

    it("reports violations through the exact args the engine passes", () => {
        const kv = policies.find(p => p.name === "kv-purge-protection") as { validateResource: ResourceValidation };
        const seen: string[] = [];
        kv.validateResource(args(TYPES.vault, { properties: { enablePurgeProtection: false, sku: { family: "A", name: "standard" }, tenantId: "t" } }), m => seen.push(m));
        assert.deepStrictEqual(seen, ["properties.enablePurgeProtection is not true."]);
    });

    it("applies config > 'all' > policy default enforcement levels, and 'disabled' skips a policy", async () => {
        const bad = mutate(goldenPlan(), "cmk", i => delete i.properties.rotationPolicy);
        const asDefault = await runPolicyPackOnPlan(bad);
        assert.ok(asDefault.mandatory.some(v => v.policy === "kv-key-rotation-policy"));
        const allAdvisory = await runPolicyPackOnPlan(bad, { all: "advisory" });
        assert.strictEqual(allAdvisory.mandatory.length, 0);
        const overridden = await runPolicyPackOnPlan(bad, { all: "advisory", "kv-key-rotation-policy": "mandatory" });
        assert.deepStrictEqual(overridden.mandatory.map(v => v.policy), ["kv-key-rotation-policy"]);
        const disabled = await runPolicyPackOnPlan(bad, { "kv-key-rotation-policy": { enforcementLevel: "disabled" } });
        assert.ok(!disabled.violations.some(v => v.policy === "kv-key-rotation-policy"));
        assert.strictEqual(disabled.policiesRun, asDefault.policiesRun - 1);
    });

    it("gives stack policies dependency objects wired by URN", async () => {
        const stackPolicies = policies.filter((p): p is StackValidationPolicy => "validateStack" in p);
        assert.ok(stackPolicies.length >= 10);
        const noVaultLink = mutate(goldenPlan(), "pe-vault", (_i, r) => (r.propertyDependencies = {}));
        // Without the propertyDependencies edge and with a literal id that does not match, the vault has no endpoint.
        const r = await runPolicyPackOnPlan(noVaultLink);
        assert.ok(r.mandatory.some(v => v.policy === "kv-private-endpoint" && v.resourceName === "vault"));
    });
});

describe("values unknown during preview", () => {
    it("checks presence without reading: an unknown CMK key URL is present, and the URL check is deferred, not passed", async () => {
        const plan = mutate(goldenPlan(), "fhir", i => (i.encryption.customerManagedKeyEncryption.keyEncryptionKeyUrl = "[unknown]"));
        const r = await runPolicyPackOnPlan(plan);
        assert.ok(!r.violations.some(v => v.policy === "fhir-cmk"), "presence must count");
        const d = r.deferred.find(x => x.policy === "fhir-cmk");
        assert.ok(d, "the value check must say it could not run");
        assert.match(d!.message, /can't run policy 'fhir-cmk' during preview: string value at \.encryption\.customerManagedKeyEncryption\.keyEncryptionKeyUrl can't be known during preview/);
    });

    it("still rejects a missing CMK even when other inputs are unknown", async () => {
        const plan = mutate(goldenPlan(), "fhir", i => {
            delete i.encryption;
            i.identity.userAssignedIdentities = ["[unknown]"];
        });
        const r = await runPolicyPackOnPlan(plan);
        assert.ok(r.mandatory.some(v => v.policy === "fhir-cmk"));
    });

    it("treats an unknown NSG id on a subnet as present (no violation, nothing deferred)", async () => {
        const plan = mutate(goldenPlan(), "snet-func", i => (i.networkSecurityGroup = "[unknown]"));
        const r = await runPolicyPackOnPlan(plan);
        assert.ok(!r.violations.some(v => v.policy === "net-subnet-nsg"));
        assert.ok(!r.deferred.some(v => v.policy === "net-subnet-nsg"));
    });

    it("keeps stack policies running when resource ids are unknown: links come from propertyDependencies", async () => {
        const plan = goldenPlan();
        for (const r of plan.resources) {
            if (r.outputs && "id" in r.outputs) r.outputs.id = "[unknown]";
            if (r.type === "azure-native:monitor:DiagnosticSetting") r.inputs.resourceUri = "[unknown]";
            if (r.type === "azure-native:network:PrivateEndpoint") r.inputs.privateLinkServiceConnections[0].privateLinkServiceId = "[unknown]";
        }
        const ok = await runPolicyPackOnPlan(plan);
        assert.deepStrictEqual(ok.violations, []);
        assert.deepStrictEqual(ok.deferred.filter(d => ["diag-settings-required", "kv-private-endpoint", "net-pe-dns-zone-group", "no-plaintext-secrets", "secret-sources-only-to-keyvault"].includes(d.policy)), []);
        const noDiag = await runPolicyPackOnPlan(without(plan, "diag-vault"));
        assert.ok(noDiag.mandatory.some(v => v.policy === "diag-settings-required" && v.resourceName === "vault"), "a missing setting is still caught at preview");
    });

    it("defers a role-assignment scope check that needs the unknown scope instead of passing it", async () => {
        const plan = mutate(goldenPlan(), "ra-cmk", i => (i.scope = "[unknown]"));
        const r = await runPolicyPackOnPlan(plan);
        assert.ok(r.deferred.some(d => d.policy === "rbac-no-subscription-scope" && d.resourceName === "ra-cmk"));
        assert.ok(!r.violations.some(v => v.policy === "rbac-no-subscription-scope"));
    });
});
