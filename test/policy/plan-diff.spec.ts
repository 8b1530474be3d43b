// npm run plan:diff: added / removed / changed resources with the changed input paths, secrets never shown.
import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { diffInputs, diffPlans, diffToMarkdown } from "../../tools/plan-diff";
import { goldenPlan, mutate, without } from "./fixtures";

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
        const md = diffToMarkdown({ stack: "dev", added: [], removed: [], changed: [{ resource: goldenPlan().resources[0], changes }], unchanged: 0 });
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
});
