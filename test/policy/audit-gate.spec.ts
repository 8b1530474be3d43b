import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { blockingFindings, gate, readAllowlist } from "../../tools/audit-gate";

const ROOT = path.resolve(__dirname, "..", "..");
/** The shape `npm audit --json` (npm 7+) prints. */
const REPORT = {
    auditReportVersion: 2,
    vulnerabilities: {
        "fast-xml-parser": { name: "fast-xml-parser", severity: "high", via: [{ source: 1, name: "fast-xml-parser", title: "Prototype pollution", url: "https://github.com/advisories/GHSA-aaaa-bbbb-cccc", severity: "high" }] },
        "some-wrapper": { name: "some-wrapper", severity: "high", via: ["fast-xml-parser"] },
        "minor-lib": { name: "minor-lib", severity: "moderate", via: [{ source: 2, name: "minor-lib", title: "ReDoS", url: "https://github.com/advisories/GHSA-dddd-eeee-ffff", severity: "moderate" }] },
        "critical-lib": { name: "critical-lib", severity: "critical", via: [{ source: 3, name: "critical-lib", title: "RCE", url: "https://github.com/advisories/GHSA-gggg-hhhh-iiii", severity: "critical" }] },
    },
};
const ENTRY = { advisory: "GHSA-aaaa-bbbb-cccc", package: "fast-xml-parser", reason: "only parses our own APIM policy files in tests", reviewedBy: "platform-security", expires: "2027-01-31" };

function cli(args: string[]) {
    return spawnSync(process.execPath, ["-r", "./tools/ts-register.js", "tools/audit-gate.ts", ...args], { cwd: ROOT, encoding: "utf8" });
}

describe("npm audit gate (production dependencies, high and above, reviewed allow-list)", () => {
    it("blocks high and critical advisories, not moderate ones, and follows transitive entries to their advisory", () => {
        const findings = blockingFindings(REPORT);
        assert.deepStrictEqual(findings.map(f => `${f.package} ${f.advisory}`).sort(), ["critical-lib GHSA-GGGG-HHHH-IIII", "fast-xml-parser GHSA-AAAA-BBBB-CCCC"]);
    });

    it("accepts an allow-listed advisory until its expiry, then blocks again and reports the stale entry", () => {
        const findings = blockingFindings(REPORT);
        const before = gate(findings, [ENTRY], "2027-01-31");
        assert.deepStrictEqual(before.accepted.map(f => f.package), ["fast-xml-parser"]);
        assert.deepStrictEqual(before.blocked.map(f => f.package), ["critical-lib"]);
        const after = gate(findings, [ENTRY], "2027-02-01");
        assert.deepStrictEqual(after.blocked.map(f => f.package).sort(), ["critical-lib", "fast-xml-parser"]);
        assert.strictEqual(after.expired.length, 1);
    });

    it("refuses allow-list entries without a reason, a reviewer or a real expiry", () => {
        assert.throws(() => readAllowlist([{ ...ENTRY, reason: "n/a", reviewedBy: "", expires: "soon" }]), /entry #1: "reviewedBy" is required[\s\S]*"expires" must be a date[\s\S]*"reason" must say why/);
        assert.deepStrictEqual(readAllowlist(JSON.parse(fs.readFileSync(path.join(ROOT, "security", "audit-allowlist.json"), "utf8"))), []);
    });

    it("exits 1 on a blocking advisory, 0 when all are accepted, 2 on a report that is not one (fail closed)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "audit-gate-"));
        const write = (name: string, v: unknown) => (fs.writeFileSync(path.join(dir, name), JSON.stringify(v)), path.join(dir, name));
        const report = write("audit.json", REPORT);
        const onlyAccepted = write("audit-ok.json", { vulnerabilities: { "fast-xml-parser": REPORT.vulnerabilities["fast-xml-parser"] } });
        const allow = write("allow.json", [ENTRY]);
        const broken = write("error.json", { message: "405 Method Not Allowed" });
        assert.strictEqual(cli([report, "--allowlist", allow, "--today", "2026-12-01"]).status, 1);
        const ok = cli([onlyAccepted, "--allowlist", allow, "--today", "2026-12-01"]);
        assert.strictEqual(ok.status, 0, ok.stdout + ok.stderr);
        assert.match(ok.stdout, /accepted\s+high fast-xml-parser GHSA-AAAA-BBBB-CCCC/);
        const failed = cli([broken, "--allowlist", allow]);
        assert.strictEqual(failed.status, 2);
        assert.match(failed.stderr, /not an npm audit --json report/);
        assert.strictEqual(cli(["--help"]).status, 0);
        assert.strictEqual(cli([]).status, 2);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("runs in both workflows after npm ci, on production dependencies only", () => {
        for (const [file, job] of [["pr-preview.yml", "test"], ["deploy.yml", "verify"]]) {
            const wf = parse(fs.readFileSync(path.join(ROOT, ".github", "workflows", file), "utf8")) as { jobs: Record<string, { steps: { name?: string; run?: string }[] }> };
            const step = wf.jobs[job].steps.find(s => s.name === "npm audit gate");
            assert.ok(step, `${file} ${job}`);
            assert.match(step!.run!, /npm audit --omit=dev --audit-level=high --json > npm-audit\.json/);
            assert.match(step!.run!, /npm run --silent audit:gate -- npm-audit\.json/);
        }
    });
});
