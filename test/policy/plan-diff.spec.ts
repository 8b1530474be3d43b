// npm run plan:diff: added / removed / changed resources with the changed input paths, secrets never shown, changes
// that replace a resource marked, plans of different stacks flagged.
import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { diffInputs, diffPlans, diffToMarkdown, diffToText, forcesReplacement } from "../../tools/plan-diff";
import { goldenPlan, mutate, urnOf, without } from "./fixtures";

const ROOT = path.resolve(__dirname, "..", "..");

describe("plan diff", () => {
    it("lists added, removed and changed resources with the changed input paths", () => {
        const base = goldenPlan();
        let head = mutate(base, "vault", i => {
            i.properties.publicNetworkAccess = "enabled";
            i.properties.networkAcls.ipRules = [{ value: "203.0.113.7" }];
        });
        head = without(head, "pe-vault", "pe-vault-dns");
        head.resources.push({ ...head.resources.find(r => r.name === "ingest")!, urn: "urn:pulumi:test::fhir-platform::azure-native:storage:Queue::poison", name: "poison" });
        const d = diffPlans(base, head);
        assert.deepStrictEqual(d.added.map(r => r.name), ["poison"]);
        assert.deepStrictEqual(d.removed.map(r => r.name).sort(), ["pe-vault", "pe-vault-dns"]);
        assert.strictEqual(d.changed.length, 1);
        assert.deepStrictEqual(d.changed[0].changes.map(c => c.path), ["properties.networkAcls.ipRules[0]", "properties.publicNetworkAccess"]);
        assert.deepStrictEqual(d.changed[0].changes[1], { path: "properties.publicNetworkAccess", before: '"disabled"', after: '"enabled"' });
        assert.strictEqual(d.unchanged, base.resources.length - 3);
    });

    it("never prints a secret: a change to or from a redacted value shows only [secret]", () => {
        const changes = diffInputs({ properties: { value: "[secret]", contentType: "a" } }, { properties: { value: "hunter2-plaintext", contentType: "a" } });
        assert.deepStrictEqual(changes, [{ path: "properties.value", before: "[secret]", after: "[secret]" }]);
        const md = diffToMarkdown({ stack: "dev", warnings: [], added: [], removed: [], renamed: [], changed: [{ resource: goldenPlan().resources[0], changes }], unchanged: 0 });
        assert.ok(!md.includes("hunter2"));
    });

    it("runs as npm run plan:diff and writes Markdown", async () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "plan-diff-"));
        const base = goldenPlan();
        fs.writeFileSync(path.join(tmp, "base.json"), JSON.stringify(base));
        fs.writeFileSync(path.join(tmp, "head.json"), JSON.stringify(mutate(base, "st", i => (i.minimumTlsVersion = "TLS1_0"))));
        const { stdout } = await promisify(execFile)(process.execPath, ["-r", "./tools/ts-register.js", "tools/plan-diff.ts", path.join(tmp, "base.json"), path.join(tmp, "head.json"), "--markdown", path.join(tmp, "d.md")], { cwd: ROOT });
        assert.match(stdout, /0 to add, 1 to change, 0 to remove/);
        assert.match(stdout, /~ azure-native:storage:StorageAccount st\n\s+minimumTlsVersion: "TLS1_2" => "TLS1_0"/);
        assert.match(fs.readFileSync(path.join(tmp, "d.md"), "utf8"), /\| ✏️ \| `st` \| azure-native:storage:StorageAccount \| `minimumTlsVersion`: "TLS1_2" → "TLS1_0" \|/);
    });

    it("marks the changes azure-native applies by replacing the resource, and only those", () => {
        const base = goldenPlan();
        let head = mutate(base, "vault", i => {
            i.location = "northeurope";
            i.properties.sku.name = "premium";
        });
        head = mutate(head, "st", i => (i.accountName = "stother"));
        head = mutate(head, "ra-cmk", i => (i.principalId = "00000000-0000-4000-8000-000000000001"));
        head = mutate(head, "api-fhir", i => (i.displayName = "FHIR R4"));
        head = mutate(head, "suffix", i => (i.length = 6));
        const d = diffPlans(base, head);
        const byName = new Map(d.changed.map(c => [c.resource.name, c]));
        assert.deepStrictEqual(
            byName.get("vault")!.changes.map(c => [c.path, !!c.forcesReplacement]),
            [["location", true], ["properties.sku.name", false]],
        );
        assert.deepStrictEqual([...byName].filter(([, c]) => c.replaced).map(([n]) => n).sort(), ["ra-cmk", "st", "suffix", "vault"]);
        assert.strictEqual(byName.get("api-fhir")!.replaced, false, "displayName is a body property, updated in place");
        const text = diffToText(d);
        assert.match(text, /5 to change, 0 to remove, 4 to replace/);
        assert.match(text, /\+- azure-native:keyvault:Vault vault {2}\[replace\]\n\s+location: "westeurope" => "northeurope" {2}\[forces replacement\]\n\s+properties\.sku\.name: "standard" => "premium"\n/);
        assert.match(text, /~ azure-native:apimanagement:Api api-fhir\n/);
        const md = diffToMarkdown(d);
        assert.match(md, /\| ♻️ \| `st` \| azure-native:storage:StorageAccount \| `accountName`: "sttest" → "stother" \*\*\(forces replacement\)\*\* \|/);
        assert.match(md, /\| ✏️ \| `api-fhir` \|/);
        assert.match(md, /heuristic/);
    });

    it("shows a resource option dropped in review, such as protect on a PHI store", () => {
        const base = goldenPlan();
        base.resources.find(r => r.name === "st")!.options = { protect: true };
        const head = goldenPlan();
        head.resources.find(r => r.name === "st")!.options = {};
        head.resources.find(r => r.name === "suffix")!.options = { ignoreChanges: ["length"] };
        const d = diffPlans(base, head);
        const byName = new Map(d.changed.map(c => [c.resource.name, c]));
        assert.deepStrictEqual(byName.get("st")!.changes, [{ path: "(options).protect", before: "true", after: undefined }]);
        assert.strictEqual(byName.get("st")!.replaced, false);
        assert.deepStrictEqual(byName.get("suffix")!.changes.map(c => [c.path, !!c.forcesReplacement]), [["(options).ignoreChanges", false]], "an option is never a replacement, even on random");
        assert.match(diffToText(d), /~ azure-native:storage:StorageAccount st\n\s+\(options\)\.protect: true => \(unset\)\n/);
    });

    it("applies the documented heuristic per provider and type", () => {
        const cases: Array<[string, string, boolean]> = [
            ["azure-native:network:Subnet", "virtualNetworkName", true],
            ["azure-native:web:WebApp", "name", true],
            ["azure-native:storage:StorageAccount", "sku.name", false],
            ["azure-native:monitor:ActionGroup", "groupShortName", false],
            ["azure-native:apimanagement:Subscription", "sid", true],
            ["azure-native:apimanagement:Subscription", "scope", false],
            ["azure-native:authorization:ManagementLockByScope", "scope", true],
            ["azure-native:authorization:RoleAssignment", "roleDefinitionId", true],
            ["azure-native:resources:Resource", "resourceType", true],
            ["azure-native:resources:Resource", "properties.publicNetworkAccess", false],
            ["azure-native:resources:Resource", "apiVersion", false],
            ["random:index/randomPassword:RandomPassword", "special", true],
            ["azuread:index/application:Application", "displayName", false],
            ["command:local:Command", "create", true],
            ["command:local:Command", "environment.X", false],
        ];
        for (const [type, p, expected] of cases) assert.strictEqual(forcesReplacement(type, p), expected, `${type} ${p}`);
    });

    it("shows a resource moved to a new URN under the same Azure name as one replacement, not an add and a remove", () => {
        const base = goldenPlan();
        const head = without(base, "st", "pe-vault");
        const st = base.resources.find(r => r.name === "st")!;
        head.resources.push({ ...st, name: "storage", urn: urnOf(st.type, "storage") });
        const pe = base.resources.find(r => r.name === "pe-vault")!;
        head.resources.push({ ...pe, name: "pe-other", urn: urnOf(pe.type, "pe-other"), inputs: { ...pe.inputs, privateEndpointName: "pe-other" } });
        const d = diffPlans(base, head);
        assert.deepStrictEqual(d.renamed.map(r => [r.from.name, r.to.name]), [["st", "storage"]]);
        assert.deepStrictEqual([d.added.map(r => r.name), d.removed.map(r => r.name)], [["pe-other"], ["pe-vault"]], "a different Azure name is another resource");
        assert.match(diffToText(d), /\+- azure-native:storage:StorageAccount st -> storage {2}\[replace: the URN changed; add an alias/);
        assert.match(diffToMarkdown(d), /\| ♻️ \| `st` → `storage` \| azure-native:storage:StorageAccount \| \*\*replace\*\*/);
    });

    it("warns when the two plans are of different stacks or projects", () => {
        const dev = { ...goldenPlan(), stack: "dev" };
        const prod = { ...goldenPlan(), stack: "prod", project: "other" };
        const d = diffPlans(dev, prod);
        assert.strictEqual(d.warnings.length, 2);
        assert.match(diffToText(d), /^WARNING: the plans are of different stacks: base 'dev', head 'prod'/);
        assert.match(diffToText(d), /\nWARNING: the plans are of different projects/);
        assert.match(diffToMarkdown(d), /> ⚠️ \*\*Warning:\*\* the plans are of different stacks: base 'dev', head 'prod'/);
        assert.deepStrictEqual(diffPlans(dev, { ...goldenPlan(), stack: "dev" }).warnings, []);
        // Still a useful comparison: the same resources line up although every URN names another stack.
        const other = (p: typeof dev, stack: string) => ({ ...p, stack, resources: p.resources.map(r => ({ ...r, urn: r.urn.replace("urn:pulumi:test::", `urn:pulumi:${stack}::`) })) });
        const across = diffPlans(other(dev, "dev"), other(mutate(dev, "st", i => (i.minimumTlsVersion = "TLS1_0")), "prod"));
        assert.deepStrictEqual([across.added.length, across.removed.length, across.changed.map(c => c.resource.name)], [0, 0, ["st"]]);
        assert.deepStrictEqual(diffPlans({ ...dev, project: undefined } as unknown as typeof dev, dev).warnings, [], "a plan without a project is not another project");
    });

    it("exits 0 on --help, 2 on a usage error, 1 on a file that is not a plan", async () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "plan-diff-"));
        fs.writeFileSync(path.join(tmp, "plan.json"), JSON.stringify(goldenPlan()));
        fs.writeFileSync(path.join(tmp, "not-a-plan.json"), JSON.stringify({ hello: 1 }));
        const cli = (...args: string[]) =>
            promisify(execFile)(process.execPath, ["-r", "./tools/ts-register.js", "tools/plan-diff.ts", ...args], { cwd: ROOT }).then(
                r => ({ code: 0, out: r.stdout, err: r.stderr }),
                (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
            );
        const plan = path.join(tmp, "plan.json");
        const [help, none, one, unknown, missing, notPlan] = await Promise.all([
            cli("--help"), cli(), cli(plan), cli(plan, plan, "--colour"), cli(plan, path.join(tmp, "missing.json")), cli(plan, path.join(tmp, "not-a-plan.json")),
        ]);
        assert.strictEqual(help.code, 0);
        assert.match(help.out, /^usage: npm run plan:diff/);
        for (const r of [none, one, unknown]) {
            assert.strictEqual(r.code, 2, r.err);
            assert.match(r.err, /usage: npm run plan:diff/);
        }
        assert.match(unknown.err, /Unknown option '--colour'/);
        assert.strictEqual(missing.code, 1);
        assert.match(missing.err, /cannot read plan '.*missing\.json'/);
        assert.strictEqual(notPlan.code, 1);
        assert.match(notPlan.err, /is not an offline plan/);
    });
});
