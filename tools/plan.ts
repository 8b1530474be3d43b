// npm run plan -- --stack <dev|prod> [--out <dir>]
// Runs the real Pulumi program offline under the mock runtime, writes out/plan-<stack>.json and .md, prints a summary,
// then evaluates the CrossGuard pack on the plan and fails on any mandatory violation (unless --skip-policy).
import * as fs from "node:fs";
import * as path from "node:path";
import { planMarkdown, planSummary } from "./offline/plan-report";
import { OfflinePlan, REPO_ROOT, runOfflinePlan } from "./offline/plan-runner";
import { toText } from "./policy/markdown";
import { runPolicyGate } from "./policy/run";

interface PlanCliArgs {
    stack: string;
    outDir: string;
    /** A stack config file to use instead of Pulumi.<stack>.yaml (try a config change before committing it). */
    configFile?: string;
    /** Plan only, without the policy gate (benchmarks). */
    skipPolicy: boolean;
}

function parseArgs(argv: string[]): PlanCliArgs {
    let stack: string | undefined;
    let outDir = path.join(REPO_ROOT, "out");
    let configFile: string | undefined;
    let skipPolicy = false;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--stack" || arg === "-s") stack = argv[++i];
        else if (arg === "--out") outDir = path.resolve(argv[++i] ?? "");
        else if (arg === "--config") configFile = argv[++i];
        else if (arg === "--skip-policy") skipPolicy = true;
        else if (arg === "--help" || arg === "-h") {
            console.log("usage: npm run plan -- --stack <dev|prod> [--out <dir>] [--config <Pulumi.<stack>.yaml to use instead>] [--skip-policy]");
            process.exit(0);
        } else throw new Error(`unknown argument ${arg}`);
    }
    if (!stack) throw new Error("--stack is required (e.g. --stack dev)");
    return { stack, outDir, configFile, skipPolicy };
}

export function writePlanFiles(plan: OfflinePlan, outDir: string): { json: string; markdown: string } {
    fs.mkdirSync(outDir, { recursive: true });
    const json = path.join(outDir, `plan-${plan.stack}.json`);
    const markdown = path.join(outDir, `plan-${plan.stack}.md`);
    const { project, stack, resources } = plan;
    fs.writeFileSync(json, JSON.stringify({ project, stack, resources }, null, 2) + "\n");
    fs.writeFileSync(markdown, planMarkdown(plan) + "\n");
    return { json, markdown };
}

async function main(): Promise<void> {
    const args = parseArgs(process.argv.slice(2));
    const started = process.hrtime.bigint();
    const plan = await runOfflinePlan(args.stack, REPO_ROOT, args.configFile);
    const files = writePlanFiles(plan, args.outDir);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(planSummary(plan));
    console.log(`\nWrote ${path.relative(process.cwd(), files.json)} and ${path.relative(process.cwd(), files.markdown)} in ${ms.toFixed(0)} ms`);
    if (args.skipPolicy) return;

    // Same pack and per-stack policy config as `pulumi up --policy-pack policy --policy-pack-config policy/config/<stack>.json`.
    const result = await runPolicyGate(plan, plan.stack, REPO_ROOT);
    console.log(`\n${toText(result)}`);
    if (result.mandatory.length > 0) {
        throw new Error(`${result.mandatory.length} mandatory policy violation(s): pulumi up --policy-pack policy would refuse this plan`);
    }
}

main().catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`plan failed: ${message}`);
    process.exit(1);
});
