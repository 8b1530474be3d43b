import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { parseArgs as parsePolicyArgs } from "../../tools/policy-check";
import { durationSeconds, runPolicyPackOnPlan } from "../../tools/policy/run";

describe("offline policy run: resource options", () => {
    it("converts recorded custom timeouts to seconds", () => {
        assert.equal(durationSeconds("120m"), 7200);
        assert.equal(durationSeconds("1h30m"), 5400);
        assert.equal(durationSeconds("45s"), 45);
        assert.equal(durationSeconds(undefined), 0);
    });

    it("passes the plan's recorded options to policies as the CLI would", async () => {
        const seen: ResourceValidationArgs[] = [];
        const probe: ResourceValidationPolicy = {
            name: "probe-options",
            description: "records what it is given",
            enforcementLevel: "advisory",
            validateResource: (args) => {
                seen.push(args);
            },
        };
        await runPolicyPackOnPlan({
            project: "p",
            stack: "s",
            resources: [{
                urn: "urn:pulumi:s::p::azure-native:apimanagement:ApiManagementService::gw",
                type: "azure-native:apimanagement:ApiManagementService",
                name: "gw",
                custom: true,
                parent: null,
                provider: null,
                inputs: { sku: { name: "Premium", capacity: 3 } },
                options: { protect: true, ignoreChanges: ["publicNetworkAccess"], customTimeouts: { create: "120m", update: "2h" } },
            }],
        }, {}, { policies: [probe] });
        assert.equal(seen.length, 1);
        assert.equal(seen[0].opts.protect, true);
        assert.deepEqual(seen[0].opts.ignoreChanges, ["publicNetworkAccess"]);
        assert.deepEqual(seen[0].opts.customTimeouts, { createSeconds: 7200, updateSeconds: 7200, deleteSeconds: 0 });
        assert.equal(seen[0].props.sku.capacity, 3);
    });
});

describe("tools/ts-register.js (the TypeScript loader every tool and test runs under)", function () {
    this.timeout(60_000);
    const ROOT = path.resolve(__dirname, "..", "..");
    const node = (args: string[], env: Record<string, string> = {}) =>
        spawnSync(process.execPath, ["-r", path.join(ROOT, "tools", "ts-register.js"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env } });

    it("imports Pulumi without TypeScript or arborist, and still serialises a closure on demand", () => {
        const r = node(["-e", `
            const pulumi = require("@pulumi/pulumi");
            const heavy = () => Object.keys(require.cache).filter((k) => /node_modules\\/(typescript|@npmcli\\/arborist)\\//.test(k)).length;
            const before = heavy();
            pulumi.runtime.serializeFunction(() => 6 * 7).then((s) => {
                const file = require.resolve("@pulumi/pulumi/runtime/closure/serializeClosure");
                const real = require.cache[file].exports;
                const functions = Object.keys(real).filter((k) => typeof real[k] === "function").sort();
                console.log(JSON.stringify({ before, after: heavy(), body: s.text.includes("6 * 7"), functions, all: Object.keys(real).filter((k) => k !== "__esModule").sort() }));
            });`]);
        assert.equal(r.status, 0, r.stderr);
        const out = JSON.parse(r.stdout);
        assert.equal(out.before, 0, "the closure serialiser's dependencies were loaded eagerly");
        assert.ok(out.after > 0, "serializeFunction did not load the real serialiser");
        assert.equal(out.body, true);
        // Every export of the real module is a function the stub forwards; a new non-function export would break it.
        assert.deepEqual(out.functions, ["serializeFunction", "serializeFunctionAsync"]);
        assert.deepEqual(out.all, out.functions);
    });

    it("gives the code-path finder the same exports as the real module", () => {
        const file = require.resolve("@pulumi/pulumi/runtime/closure/codePaths");
        const r = node(["-e", `
            const stub = require(${JSON.stringify(file)});
            const names = stub.__lazyPulumiStub.names.sort();
            delete require.cache[${JSON.stringify(file)}];
            const real = require(${JSON.stringify(file)});
            console.log(JSON.stringify({ names, real: Object.keys(real).filter((k) => k !== "__esModule").sort(), types: Object.values(real).map((v) => typeof v) }));`]);
        assert.equal(r.status, 0, r.stderr);
        const out = JSON.parse(r.stdout);
        assert.deepEqual(out.names, out.real);
        assert.ok(out.names.includes("computeCodePaths"));
        assert.ok(out.types.every((t: string) => t === "function"));
    });

    it("runs an edited file's new code (the transform cache is keyed by content) and supports import()", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ts-register-"));
        try {
            const file = path.join(dir, "probe.ts");
            fs.writeFileSync(path.join(dir, "dep.ts"), "export const answer: number = 41;\n");
            fs.writeFileSync(file, "(async () => { const d = await import('./dep'); console.log(d.answer + (1 as number)); })();\n");
            assert.equal(node([file]).stdout.trim(), "42");
            assert.equal(node([file]).stdout.trim(), "42", "a cached compile must run the same");
            fs.writeFileSync(path.join(dir, "dep.ts"), "export const answer: number = 99;\n");
            assert.equal(node([file]).stdout.trim(), "100", "the cache served a stale compile");
            assert.equal(node([file], { TS_REGISTER_CACHE: "off" }).stdout.trim(), "100");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("turns on Node's compile cache where Node has one (22.1+, what CI runs)", function () {
        if (typeof (require("node:module") as { enableCompileCache?: unknown }).enableCompileCache !== "function") this.skip();
        const r = node(["-e", "console.log(require('node:module').getCompileCacheDir())"]);
        assert.equal(path.dirname(r.stdout.trim()), path.join(ROOT, "node_modules", ".cache", "node-compile-cache"), r.stderr);
        assert.equal(node(["-e", "console.log(require('node:module').getCompileCacheDir())"], { TS_REGISTER_CACHE: "off" }).stdout.trim(), "undefined");
    });

    it("drops cache entries older than two weeks, at most once a day", () => {
        const cache = fs.mkdtempSync(path.join(os.tmpdir(), "ts-register-cache-"));
        try {
            fs.mkdirSync(path.join(cache, "ab"));
            const old = path.join(cache, "ab", "old.js");
            const recent = path.join(cache, "ab", "recent.js");
            fs.writeFileSync(old, "");
            fs.writeFileSync(recent, "");
            const monthAgo = new Date(Date.now() - 30 * 24 * 3600 * 1000);
            fs.utimesSync(old, monthAgo, monthAgo);
            const source = path.join(cache, "probe.ts");
            fs.writeFileSync(source, "console.log(1 as number);\n");
            assert.equal(node([source], { TS_REGISTER_CACHE_DIR: cache }).stdout.trim(), "1");
            assert.ok(!fs.existsSync(old), "a month-old entry survived");
            assert.ok(fs.existsSync(recent));
            // Pruned today already: a second stale entry waits for tomorrow's run.
            fs.writeFileSync(old, "");
            fs.utimesSync(old, monthAgo, monthAgo);
            fs.writeFileSync(source, "console.log(2 as number);\n");
            assert.equal(node([source], { TS_REGISTER_CACHE_DIR: cache }).stdout.trim(), "2");
            assert.ok(fs.existsSync(old));
        } finally {
            fs.rmSync(cache, { recursive: true, force: true });
        }
    });
});

describe("npm run policy / npm run bench:plan: command lines", function () {
    this.timeout(60_000);
    const ROOT = path.resolve(__dirname, "..", "..");
    const cli = (script: string, ...args: string[]) => spawnSync(process.execPath, ["-r", "./tools/ts-register.js", script, ...args], { cwd: ROOT, encoding: "utf8" });

    it("policy: repeated --plan, optional outputs; usage errors are TypeErrors", () => {
        assert.deepEqual(parsePolicyArgs(["--plan", "a.json", "--plan", "b.json", "--config", "c.json", "--sarif", "r.sarif"]), { plans: ["a.json", "b.json"], config: "c.json", sarif: "r.sarif", markdown: undefined });
        assert.equal(parsePolicyArgs(["-h"]), "help");
        assert.throws(() => parsePolicyArgs([]), /--plan <plan\.json> is required/);
        assert.throws(() => parsePolicyArgs(["--plan", "a.json", "b.json"]), /unexpected argument 'b\.json'/);
        assert.throws(() => parsePolicyArgs(["--plan", "a.json", "--sarif="]), /--sarif needs a file argument/);
        assert.throws(() => parsePolicyArgs(["--plan", "a.json", "--strict"]), /Unknown option '--strict'/);
    });

    it("policy: --help exits 0, a usage error 2 with the usage, an unreadable plan 1", () => {
        const help = cli("tools/policy-check.ts", "--help");
        assert.equal(help.status, 0);
        assert.match(help.stdout, /^usage: npm run policy -- --plan/);
        for (const args of [[], ["--plan"], ["--plan", "a.json", "--bogus"]]) {
            const r = cli("tools/policy-check.ts", ...args);
            assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
            assert.match(r.stderr, /usage: npm run policy/);
        }
        const missing = cli("tools/policy-check.ts", "--plan", path.join(os.tmpdir(), "no-such-plan-4f1c.json"));
        assert.equal(missing.status, 1);
        assert.match(missing.stderr, /cannot read plan/);
        assert.doesNotMatch(missing.stderr, /usage:/);
    });

    it("bench:plan: --help exits 0, a bad --runs or an unknown option 2", () => {
        assert.equal(cli("tools/bench-plan.ts", "--help").status, 0);
        const runs = cli("tools/bench-plan.ts", "--runs", "0");
        assert.equal(runs.status, 2);
        assert.match(runs.stderr, /--runs must be a positive integer[\s\S]*usage: npm run bench:plan/);
        assert.equal(cli("tools/bench-plan.ts", "--stacks", "prod").status, 2);
    });
});
