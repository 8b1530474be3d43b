// npm run bench:plan [-- --stack prod --runs 5]
// Wall time of the offline plan as `npm run plan` runs it (package.json's "plan" script, without npm's own start-up),
// with the policy gate and without it (--skip-policy), each run a fresh process (the Pulumi runtime is
// process-global). The two variants alternate so that load from other work on a shared machine hits both alike;
// compare them (and runs before/after a change) as ratios from the same run. A benchmark script, not a test.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ensureFunctionBundle } from "../app/build";

const USAGE = "usage: npm run bench:plan [-- --stack <dev|prod>] [--runs <n>]";
const ROOT = path.resolve(__dirname, "..");

interface BenchArgs {
    stack: string;
    runs: number;
}

export function parseBenchArgs(argv: string[]): BenchArgs | "help" {
    const { values } = parseArgs({
        args: argv,
        options: { stack: { type: "string", short: "s", default: "prod" }, runs: { type: "string", default: "5" }, help: { type: "boolean", short: "h" } },
    });
    if (values.help) return "help";
    const runs = Number(values.runs);
    if (!Number.isInteger(runs) || runs < 1) throw new TypeError(`--runs must be a positive integer, got '${values.runs}'`);
    return { stack: values.stack!, runs };
}

export const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** One plan run, timed; throws with the plan's own output when it fails (an unknown stack, a program error). */
function timePlan(script: string, stack: string, outDir: string, extra: string[]): number {
    const started = process.hrtime.bigint();
    // npm runs scripts through sh with node_modules/.bin on PATH; so does this, so the script may change freely.
    const r = spawnSync("sh", ["-c", `${script} "$@"`, "plan", "--stack", stack, "--out", outDir, ...extra], {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, PATH: `${path.join(ROOT, "node_modules", ".bin")}${path.delimiter}${process.env.PATH}` },
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (r.status !== 0) throw new Error(`the plan failed (exit ${r.status}):\n${(r.stderr || r.stdout).trim()}`);
    return seconds;
}

async function main(argv: string[]): Promise<number> {
    let args: BenchArgs | "help";
    try {
        args = parseBenchArgs(argv);
    } catch (err) {
        console.error(`bench:plan: ${(err as Error).message}\n${USAGE}`);
        return 2;
    }
    if (args === "help") {
        console.log(USAGE);
        return 0;
    }
    const { stack, runs } = args;
    const script = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts.plan;
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-plan-"));
    const loadBefore = os.loadavg();
    try {
        // A fresh clone has no bundle yet; building it is not what this measures.
        await ensureFunctionBundle({ quiet: true });
        const warmUp = timePlan(script, stack, outDir, []);
        const withPolicy: number[] = [];
        const planOnly: number[] = [];
        for (let i = 0; i < runs; i++) {
            withPolicy.push(timePlan(script, stack, outDir, []));
            planOnly.push(timePlan(script, stack, outDir, ["--skip-policy"]));
        }
        const plan = JSON.parse(fs.readFileSync(path.join(outDir, `plan-${stack}.json`), "utf8")) as { resources: { custom: boolean }[] };
        const custom = plan.resources.filter((r) => r.custom).length;
        const fmt = (xs: number[]) => `${xs.map((t) => t.toFixed(2)).join(", ")}  median ${median(xs).toFixed(2)} s (min ${Math.min(...xs).toFixed(2)})`;
        const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
        console.log(`offline plan, stack ${stack}, ${runs} runs each on ${os.cpus().length} cores (Node ${process.version}); script: ${script}`);
        console.log(`  plan + policy gate, runs (s): ${fmt(withPolicy)}`);
        console.log(`  plan only, runs (s):         ${fmt(planOnly)}`);
        console.log(`  ratio plan only / with gate: ${(median(planOnly) / median(withPolicy)).toFixed(2)} (medians; noisy when others load the machine)`);
        console.log(`  warm-up run (not counted):   ${warmUp.toFixed(2)} s`);
        console.log(`  load average before / after: ${load(loadBefore)} / ${load(os.loadavg())}`);
        console.log(`  resources:                   ${custom} (+ ${plan.resources.length - custom} components incl. the stack)`);
        return 0;
    } catch (err) {
        console.error(`bench:plan: ${(err as Error).message}`);
        return 1;
    } finally {
        fs.rmSync(outDir, { recursive: true, force: true });
    }
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => process.exit(code));
