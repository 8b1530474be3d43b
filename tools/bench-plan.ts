// npm run bench:plan [-- --stack prod --runs 5]
// Median wall time of the offline plan over N runs, each in a fresh process (the Pulumi runtime is process-global),
// plus the resource count. A benchmark script, not a test.
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

const times: number[] = [];
for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    execFileSync(process.execPath, ["-r", "./tools/ts-register.js", "tools/plan.ts", "--stack", stack, "--out", outDir], {
        cwd: root,
        stdio: "ignore",
        env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
    });
    times.push(Number(process.hrtime.bigint() - started) / 1e9);
}
const sorted = [...times].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)];
const plan = JSON.parse(fs.readFileSync(path.join(outDir, `plan-${stack}.json`), "utf8")) as { resources: { custom: boolean }[] };
const custom = plan.resources.filter((r) => r.custom).length;
console.log(`offline plan, stack ${stack}, ${runs} runs on ${os.cpus().length} cores (Node ${process.version})`);
console.log(`  runs (s):      ${times.map((t) => t.toFixed(2)).join(", ")}`);
console.log(`  median (s):    ${median.toFixed(2)}`);
console.log(`  resources:     ${custom} (+ ${plan.resources.length - custom} components incl. the stack)`);
