// The user-facing GitHub workflows: schema-valid (npm-installed @action-validator/cli) and wired the way the policy
// gate needs: offline policy + SARIF + plan diff without credentials, OIDC-only cloud jobs, the pack on every
// preview/up, prod behind an environment, one update per stack at a time.
import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { parse } from "yaml";
import { BUNDLE_NODE_MAJOR } from "../../app/build";
import { NODE_RUNTIME_VERSION } from "../../components/functionApp";

const ROOT = path.resolve(__dirname, "..", "..");
const WF = path.join(ROOT, ".github", "workflows");
const validatorCli = require.resolve("@action-validator/cli/cli.mjs");
const validate = (file: string) =>
    promisify(execFile)(process.execPath, [validatorCli, file]).then(
        () => ({ code: 0, out: "" }),
        (e: { code: number; stderr: string }) => ({ code: e.code, out: e.stderr }),
    );

type Job = { if?: string; needs?: string | string[]; permissions?: Record<string, string>; environment?: string; concurrency?: { group: string; "cancel-in-progress"?: boolean }; env?: Record<string, string>; steps: Array<{ uses?: string; run?: string; with?: Record<string, unknown>; if?: string }> };
const load = (name: string) => parse(fs.readFileSync(path.join(WF, name), "utf8")) as { on: Record<string, any>; permissions: Record<string, string>; jobs: Record<string, Job> };
const runs = (job: Job) => job.steps.map(s => s.run ?? "").join("\n");
const uses = (job: Job, action: string) => job.steps.filter(s => s.uses?.startsWith(action));

describe("GitHub workflows", function () {
    this.timeout(60_000);

    it("pass action-validator, which rejects a broken workflow", async () => {
        const files = fs.readdirSync(WF).filter(f => f.endsWith(".yml"));
        assert.deepStrictEqual(files.sort(), ["deploy.yml", "drift.yml", "pr-preview.yml"]);
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wf-"));
        for (const f of files) {
            // action-validator 0.6.0 (the newest) bundles a schema older than the job permission `attestations`
            // (GitHub docs, "Permissions for the GITHUB_TOKEN"), which attest-build-provenance needs; those lines
            // are checked here and left out of the schema validation, nothing else.
            const text = fs.readFileSync(path.join(WF, f), "utf8");
            for (const m of text.matchAll(/^\s*attestations: (\S+)/gm)) assert.ok(["read", "write"].includes(m[1]), `${f}: attestations: ${m[1]}`);
            const copy = path.join(tmp, f);
            fs.writeFileSync(copy, text.replace(/^\s*attestations: (read|write).*\n/gm, ""));
            const r = await validate(copy);
            assert.strictEqual(r.code, 0, `${f}: ${r.out}`);
        }
        const broken = path.join(tmp, "broken.yml");
        fs.writeFileSync(broken, "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n        with-typo: 1\n");
        assert.notStrictEqual((await validate(broken)).code, 0);
    });

    it("pr-preview: tests and offline policy per stack without credentials, SARIF upload, comment with the base diff", () => {
        const wf = load("pr-preview.yml");
        assert.ok(wf.on.pull_request);
        assert.deepStrictEqual(wf.permissions, { contents: "read" });
        assert.match(runs(wf.jobs.test), /npm ci[\s\S]*npm test/);
        const off = wf.jobs["offline-policy"];
        assert.deepStrictEqual((off as any).strategy.matrix.stack, ["dev", "prod"]);
        assert.match(runs(off), /npm run plan -- --stack "\$STACK"/);
        assert.match(runs(off), /npm run policy -- --plan "out\/plan-\$STACK\.json" --config "policy\/config\/\$STACK\.json"[\s\S]*--sarif[\s\S]*--markdown/);
        assert.match(runs(off), /npm run plan:diff -- "out\/base\/plan-\$STACK\.json" "out\/plan-\$STACK\.json"/);
        assert.ok(off.steps.some(s => s.uses?.startsWith("actions/checkout") && String(s.with?.ref).includes("pull_request.base.sha")), "base branch checkout");
        assert.strictEqual(uses(off, "github/codeql-action/upload-sarif").length, 1);
        // Jobs that run PR code hold no cloud identity and no secrets.
        for (const name of ["test", "offline-policy"]) {
            const job = wf.jobs[name];
            assert.ok(!job.permissions?.["id-token"], `${name} must not mint tokens`);
            assert.ok(!JSON.stringify(job).includes("secrets."), `${name} must not read secrets`);
        }
        const comment = wf.jobs.comment;
        assert.deepStrictEqual(comment.permissions, { "pull-requests": "write" });
        assert.ok(!comment.steps.some(s => s.uses?.startsWith("actions/checkout")), "the job with a write token must not check out PR code");
        assert.match(comment.if ?? "", /head\.repo\.full_name == github\.repository/);
    });

    it("pr-preview: pulumi preview with the policy pack only once the bootstrap ran, never for forks, as each stack's read-only identity", () => {
        const job = load("pr-preview.yml").jobs.preview as Job & { "runs-on": unknown; strategy: { matrix: { include: { stack: string; suffix: string }[] } } };
        assert.match(job.if ?? "", /vars\.AZURE_TENANT_ID != ''/);
        assert.match(job.if ?? "", /vars\.DEPLOY_RUNNER_GROUP != ''/);
        // The state account and secrets vault admit only the runner networks: previews run there too.
        assert.deepStrictEqual(job["runs-on"], { group: "${{ vars.DEPLOY_RUNNER_GROUP }}" });
        assert.strictEqual(job.environment, undefined, "no environment: the token's subject is pull_request, the preview identity's");
        assert.deepStrictEqual(job.strategy.matrix.include, [{ stack: "dev", suffix: "DEV" }, { stack: "prod", suffix: "PROD" }]);
        assert.strictEqual(job.env?.ARM_CLIENT_ID, "${{ vars[format('AZURE_PREVIEW_CLIENT_ID_{0}', matrix.suffix)] }}");
        assert.strictEqual(uses(job, "azure/login@").length, 1, "state backend and secrets provider sign in through the CLI");
        assert.match(job.if ?? "", /head\.repo\.full_name == github\.repository/);
        assert.strictEqual(job.permissions?.["id-token"], "write");
        assert.strictEqual(job.env?.ARM_USE_OIDC, "true");
        assert.ok(!Object.keys(job.env ?? {}).some(k => k === "ARM_CLIENT_SECRET"), "OIDC only, no client secret");
        const [pulumi] = uses(job, "pulumi/actions@");
        assert.strictEqual(pulumi.uses, "pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d");
        assert.strictEqual(pulumi.with?.command, "preview");
        assert.strictEqual(pulumi.with?.policyPacks, "policy");
        assert.strictEqual(pulumi.with?.policyPackConfigs, "policy/config/${{ matrix.stack }}.json");
        assert.strictEqual(pulumi.with?.["comment-on-pr"], true);
        assert.strictEqual(pulumi.with?.["cloud-url"], "${{ vars[format('PULUMI_BACKEND_URL_{0}', matrix.suffix)] }}");
    });

    it("uses exactly the variable names the bootstrap outputs", () => {
        const index = fs.readFileSync(path.join(ROOT, "bootstrap", "index.ts"), "utf8");
        for (const name of ["AZURE_PREVIEW_CLIENT_ID_", "AZURE_SUBSCRIPTION_ID_", "PULUMI_BACKEND_URL_", "AZURE_TENANT_ID"]) assert.ok(index.includes(name), name);
        const pr = fs.readFileSync(path.join(WF, "pr-preview.yml"), "utf8");
        for (const name of ["AZURE_PREVIEW_CLIENT_ID_", "AZURE_SUBSCRIPTION_ID_", "PULUMI_BACKEND_URL_"]) assert.ok(pr.includes(`'${name}{0}'`), name);
    });

    it("deploy: up with the policy pack to dev, then a prod preview for the approvers, then prod behind an environment, one update per stack", () => {
        const wf = load("deploy.yml");
        assert.deepStrictEqual(wf.on.push.branches, ["main"]);
        const dev = wf.jobs["up-dev"];
        const preview = wf.jobs["preview-prod"];
        const prod = wf.jobs["up-prod"];
        assert.deepStrictEqual(preview.needs, ["up-dev", "build"]);
        assert.deepStrictEqual(prod.needs, ["preview-prod", "build"]);
        assert.strictEqual(prod.environment, "prod");
        assert.strictEqual(preview.environment, "prod-preview", "read-only identity, subject environment:prod-preview");
        assert.strictEqual(uses(preview, "pulumi/actions@")[0].with?.command, "preview");
        assert.strictEqual(uses(preview, "pulumi/actions@")[0].with?.["comment-on-summary"], true, "the approvers read it in the run summary");
        for (const [stack, job] of [["dev", dev], ["prod", prod]] as const) {
            assert.strictEqual(job.concurrency?.group, `pulumi-stack-${stack}`);
            assert.strictEqual(job.concurrency?.["cancel-in-progress"], false);
            assert.strictEqual(job.permissions?.["id-token"], "write");
            assert.strictEqual(job.env?.ARM_USE_OIDC, "true");
            const [pulumi] = uses(job, "pulumi/actions@");
            assert.strictEqual(pulumi.with?.command, "up");
            assert.strictEqual(pulumi.with?.policyPacks, "policy");
            assert.strictEqual(pulumi.with?.policyPackConfigs, `policy/config/${stack}.json`);
            assert.ok(uses(job, "azure/login@").length === 1, `${stack}: azure/login for the code deployment`);
        }
        assert.match(runs(wf.jobs.verify), /npm test[\s\S]*npm run policy/);
        const pr = load("pr-preview.yml").jobs.preview;
        assert.match(runs(pr), /npm run build:app/);
    });

    it("deploy: one attested package per commit; deploy jobs verify it and never rebuild it", () => {
        const wf = load("deploy.yml");
        const build = wf.jobs.build as Job & { outputs?: Record<string, string> };
        assert.deepStrictEqual(build.permissions, { contents: "read", "id-token": "write", attestations: "write" });
        assert.match(runs(build), /npm run build:app[\s\S]*sha256sum app\/dist\/ingest-function\.zip[\s\S]*npm sbom --sbom-format cyclonedx --omit dev/);
        assert.strictEqual(build.outputs?.sha256, "${{ steps.hash.outputs.sha256 }}");
        assert.strictEqual(uses(build, "actions/attest-build-provenance@")[0].with?.["subject-path"], "app/dist/ingest-function.zip");
        assert.strictEqual(uses(build, "actions/attest-sbom@")[0].with?.["sbom-path"], "app/dist/ingest-function.cdx.json");
        assert.strictEqual(uses(build, "actions/upload-artifact@")[0].with?.name, "function-package-${{ github.sha }}");
        for (const name of ["up-dev", "preview-prod", "up-prod"]) {
            const job = wf.jobs[name];
            assert.ok(([] as string[]).concat(job.needs ?? []).includes(name === "up-dev" ? "build" : "build"), `${name} needs build`);
            assert.doesNotMatch(runs(job), /build:app/, `${name} must not rebuild the package`);
            const order = job.steps.map((st) => st.run ?? st.uses ?? "");
            const download = order.findIndex((x) => x.startsWith("actions/download-artifact@"));
            const verify = order.findIndex((x) => /gh attestation verify app\/dist\/ingest-function\.zip[\s\S]*sha256sum --check/.test(x));
            const pulumi = order.findIndex((x) => x.startsWith("pulumi/actions@"));
            assert.ok(download >= 0 && download < verify && verify < pulumi, `${name}: download, verify, then pulumi`);
            assert.strictEqual(job.permissions?.attestations, "read");
        }
    });

    it("CI runs Node 22, the Function's runtime, while the tooling keeps supporting Node 20.19+", () => {
        const versions: string[] = [];
        for (const f of ["deploy.yml", "pr-preview.yml"]) {
            const wf = parse(fs.readFileSync(path.join(WF, f), "utf8")) as { env?: Record<string, string>; jobs: Record<string, Job> };
            for (const [name, job] of Object.entries(wf.jobs)) {
                for (const step of uses(job, "actions/setup-node@")) {
                    const v = String(step.with?.["node-version"] ?? "");
                    const resolved = v.replace(/^\$\{\{\s*env\.(\w+)\s*\}\}$/, (_, k: string) => String(job.env?.[k] ?? wf.env?.[k] ?? "(unset)"));
                    assert.strictEqual(resolved, NODE_RUNTIME_VERSION, `${f} ${name}: setup-node ${v} -> ${resolved}`);
                    versions.push(resolved);
                }
            }
        }
        assert.ok(versions.length >= 5, `only ${versions.length} setup-node steps found`);
        // The Function: Flex runtime, esbuild target and the zipped package.json name the same major.
        assert.strictEqual(NODE_RUNTIME_VERSION, "22");
        assert.strictEqual(BUNDLE_NODE_MAJOR, Number(NODE_RUNTIME_VERSION));
        assert.strictEqual(JSON.parse(fs.readFileSync(path.join(ROOT, "app", "package.json"), "utf8")).engines.node, `>=${NODE_RUNTIME_VERSION}`);
        // The tooling: engines and the loader's compile target stay at the Node 20.19+ these machines run.
        assert.strictEqual(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).engines.node, ">=20.19");
        assert.match(fs.readFileSync(path.join(ROOT, "tools", "ts-register.js"), "utf8"), /target: "node20"/);
    });

    it("every policy config the workflows pass exists", () => {
        for (const s of ["dev", "prod"]) assert.ok(fs.existsSync(path.join(ROOT, "policy", "config", `${s}.json`)));
        assert.ok(fs.existsSync(path.join(ROOT, "policy", "PulumiPolicy.yaml")));
    });

    it("deploys only from the runner group on the bootstrap's network, failing fast when it is not configured", () => {
        const wf = parse(fs.readFileSync(path.join(WF, "deploy.yml"), "utf8")) as { jobs: Record<string, Job & { "runs-on": unknown }> };
        for (const name of ["up-dev", "preview-prod", "up-prod"]) {
            const job = wf.jobs[name];
            assert.deepStrictEqual(job["runs-on"], { group: "${{ vars.DEPLOY_RUNNER_GROUP }}" }, `${name} runs on the deploy runner group, with no fallback`);
        }
        assert.ok(!JSON.stringify(wf.jobs["up-dev"]["runs-on"]).includes("ubuntu-latest"));
        const gate = wf.jobs["deploy-runner"];
        assert.ok(gate, "a gate job checks the runner group first");
        assert.match(runs(gate), /DEPLOY_RUNNER_GROUP[\s\S]*exit 1/);
        const needs = (j: Job) => ([] as string[]).concat(j.needs ?? []);
        assert.ok(needs(wf.jobs["up-dev"]).includes("deploy-runner"), "up-dev waits for the gate");
        assert.ok(needs(wf.jobs["preview-prod"]).includes("up-dev") && needs(wf.jobs["up-prod"]).includes("preview-prod"));
    });

    it("pins every third-party action to a full commit SHA, with its version in a comment, and keeps them current with Dependabot", () => {
        let count = 0;
        for (const file of ["deploy.yml", "drift.yml", "pr-preview.yml"]) {
            for (const line of fs.readFileSync(path.join(WF, file), "utf8").split("\n").filter((l) => /^\s*(- )?uses:/.test(l))) {
                count++;
                assert.match(line, /uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/, `${file}: ${line.trim()}`);
            }
        }
        assert.ok(count >= 20, `${count} action references`);
        const dependabot = parse(fs.readFileSync(path.join(ROOT, ".github", "dependabot.yml"), "utf8")) as { version: number; updates: { "package-ecosystem": string; directory: string }[] };
        assert.strictEqual(dependabot.version, 2);
        const covered = dependabot.updates.map((u) => `${u["package-ecosystem"]} ${u.directory}`).sort();
        assert.deepStrictEqual(covered, ["github-actions /", "npm /", "npm /app", "npm /policy"]);
    });

    it("reports drift daily per stack as the read-only identity, and re-deploys weekly for rotation with the same approvals", () => {
        const drift = parse(fs.readFileSync(path.join(WF, "drift.yml"), "utf8")) as { on: Record<string, any>; jobs: Record<string, Job & { "runs-on": unknown; strategy: { matrix: { stack: string[] } } }> };
        assert.ok(drift.on.schedule?.[0]?.cron, "scheduled");
        const job = drift.jobs.drift;
        assert.strictEqual(job.environment, "${{ matrix.stack }}-preview", "the read-only identity's environment");
        assert.deepStrictEqual(job.strategy.matrix.stack, ["dev", "prod"]);
        assert.deepStrictEqual(job["runs-on"], { group: "${{ vars.DEPLOY_RUNNER_GROUP }}" });
        const [pulumi] = uses(job, "pulumi/actions@");
        assert.strictEqual(pulumi.with?.command, "preview");
        assert.strictEqual(pulumi.with?.refresh, true);
        assert.strictEqual(pulumi.with?.["expect-no-changes"], true, "drift fails the run");
        const deploy = load("deploy.yml");
        assert.ok(deploy.on.schedule?.[0]?.cron, "a scheduled up keeps time-based rotation going");
        assert.strictEqual(deploy.jobs["up-prod"].environment, "prod", "scheduled prod updates wait for the same approvers");
    });
});
