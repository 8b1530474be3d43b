// npm run bench:plan [-- --stack prod --runs 5]
// Median wall time of the offline plan over N runs, each in a fresh process (the Pulumi runtime is process-global),
// as `npm run plan` runs it (program + policy gate), and of the program alone (--skip-policy); plus the resource
// count. A benchmark script, not a test.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
};
const stack = option("--stack", "prod");
const runs = Number(option("--runs", "5"));
const root = path.resolve(__dirname, "..");
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-plan-"));

function timeRuns(extraArgs: string[]): number[] {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
        const started = process.hrtime.bigint();
        execFileSync(process.execPath, ["--max-semi-space-size=64", "-r", "./tools/ts-register.js", "tools/plan.ts", "--stack", stack, "--out", outDir, ...extraArgs], { cwd: root, stdio: "ignore" });
        times.push(Number(process.hrtime.bigint() - started) / 1e9);
    }
    return times;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const withPolicy = timeRuns([]);
const planOnly = timeRuns(["--skip-policy"]);
const plan = JSON.parse(fs.readFileSync(path.join(outDir, `plan-${stack}.json`), "utf8")) as { resources: { custom: boolean }[] };
const custom = plan.resources.filter((r) => r.custom).length;
console.log(`offline plan, stack ${stack}, ${runs} runs on ${os.cpus().length} cores (Node ${process.version})`);
console.log(`  plan + policy gate, runs (s): ${withPolicy.map((t) => t.toFixed(2)).join(", ")}  median ${median(withPolicy).toFixed(2)} s`);
console.log(`  plan only, runs (s):         ${planOnly.map((t) => t.toFixed(2)).join(", ")}  median ${median(planOnly).toFixed(2)} s`);
console.log(`  load average at the end:     ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
console.log(`  resources:     ${custom} (+ ${plan.resources.length - custom} components incl. the stack)`);
