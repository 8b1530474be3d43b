// The PR report when it matters: a plan with a mandatory violation still produces SARIF and the Markdown report, the
// comment carries the failing policy and is found again by its own marker, and the job fails at the end. The steps'
// own shell scripts run here, from the workflow file, against a fixture plan (and a stand-in `gh`).
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { goldenPlan, mutate } from "./fixtures";

const ROOT = path.resolve(__dirname, "..", "..");
type Step = { name?: string; id?: string; if?: string; run?: string; "working-directory"?: string; env?: Record<string, string> };
const workflow = parse(fs.readFileSync(path.join(ROOT, ".github", "workflows", "pr-preview.yml"), "utf8")) as { jobs: Record<string, { steps: Step[] }> };
const step = (job: string, name: string) => {
    const s = workflow.jobs[job].steps.find((x) => x.name === name);
    if (!s?.run) throw new Error(`no step "${name}" with a script in ${job}`);
    return s;
};

/** A checkout-shaped folder: the repository's files linked in, its own out/. */
function workspace(): string {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), "pr-report-"));
    for (const entry of ["package.json", "tools", "policy", "components", "stacks", "app", "node_modules", "tsconfig.json"]) {
        fs.symlinkSync(path.join(ROOT, entry), path.join(ws, entry));
    }
    fs.mkdirSync(path.join(ws, "out"));
    return ws;
}

function bash(script: string, cwd: string, env: Record<string, string>) {
    return spawnSync("bash", ["-e", "-c", script], { cwd, env: { ...process.env, ...env }, encoding: "utf8", timeout: 60_000 });
}

describe("PR report on a plan the pack refuses (pr-preview.yml steps, run here)", function () {
    this.timeout(120_000);
    let ws: string;
    let output: string;

    before(() => {
        ws = workspace();
        const insecure = mutate(goldenPlan(), "vault", (i) => (i.properties.enablePurgeProtection = false));
        fs.writeFileSync(path.join(ws, "out", "plan-dev.json"), JSON.stringify(insecure));
        output = path.join(ws, "github-output");
        fs.writeFileSync(output, "");
    });
    after(() => fs.rmSync(ws, { recursive: true, force: true }));

    it("writes the plan even when the pack would refuse it (the plan step skips the gate)", () => {
        assert.match(step("offline-policy", "Offline plan (PR)").run!, /npm run plan -- --stack "\$STACK" --out out --skip-policy/);
    });

    it("reports every mandatory violation as SARIF and Markdown, records the exit code, and does not stop the job there", () => {
        const policy = step("offline-policy", "Policy pack on the offline plan");
        const r = bash(policy.run!, ws, { STACK: "dev", GITHUB_OUTPUT: output });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(fs.readFileSync(output, "utf8"), /^exit=1$/m);
        const sarif = JSON.parse(fs.readFileSync(path.join(ws, "out", "policy-dev.sarif"), "utf8"));
        const result = sarif.runs[0].results.find((x: { ruleId: string }) => x.ruleId === "kv-purge-protection");
        assert.ok(result, "the failing policy is in the SARIF");
        assert.strictEqual(result.level, "error");
        assert.match(fs.readFileSync(path.join(ws, "out", "policy-dev.md"), "utf8"), /kv-purge-protection/);
    });

    it("uploads SARIF and keeps the reports whatever happened, then fails the job on the recorded exit code", () => {
        const steps = workflow.jobs["offline-policy"].steps;
        for (const name of ["Upload SARIF to code scanning", "Keep the reports for the comment job", "Job summary"]) {
            assert.match(steps.find((s) => s.name === name)?.if ?? "", /always\(\)/, name);
        }
        const fail = steps[steps.length - 1];
        assert.strictEqual(fail.name, "Fail on mandatory violations");
        assert.strictEqual(fail.if, "steps.policy.outputs.exit != '0'");
    });

    for (const existing of [true, false]) {
        it(`comments with the failing policy, ${existing ? "updating its own earlier comment by marker" : "creating the comment when none carries the marker"}`, () => {
            const reports = path.join(ws, "reports");
            fs.mkdirSync(reports, { recursive: true });
            fs.copyFileSync(path.join(ws, "out", "policy-dev.md"), path.join(reports, "policy-dev.md"));
            const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fake-gh-"));
            const log = path.join(bin, "calls.log");
            // A stand-in gh: logs each call; `api .../comments` lists comments like GitHub (jq applied by the caller).
            fs.writeFileSync(path.join(bin, "gh"), [
                "#!/usr/bin/env bash",
                `echo "$*" >> "${log}"`,
                'if [ "$1" = api ] && [[ "$2" == */comments ]] && [ "$FAKE_EXISTING" = 1 ]; then echo 4242; fi',
            ].join("\n"), { mode: 0o755 });
            const comment = step("comment", "Post or update the comment");
            const r = bash(comment.run!, ws, { PATH: `${bin}:${process.env.PATH}`, GH_REPO: "org/repo", PR: "7", FAKE_EXISTING: existing ? "1" : "0" });
            assert.strictEqual(r.status, 0, r.stderr);
            const calls = fs.readFileSync(log, "utf8").trim().split("\n");
            assert.match(calls[0], /^api repos\/org\/repo\/issues\/7\/comments --paginate --jq .*fhir-platform-policy-report/);
            if (existing) assert.match(calls[1], /^api -X PATCH repos\/org\/repo\/issues\/comments\/4242 -F body=@comment\.md$/);
            else assert.match(calls[1], /^pr comment 7 --body-file comment\.md$/);
            assert.ok(!calls.some((c) => c.includes("--edit-last")), "never edits whatever comment came last");
            const body = fs.readFileSync(path.join(ws, "comment.md"), "utf8");
            assert.match(body, /^<!-- fhir-platform-policy-report -->/);
            assert.match(body, /kv-purge-protection/);
        });
    }
});
