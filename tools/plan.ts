// npm run plan -- --stack <dev|prod|bootstrap> [--out <dir>] [--config <file>] [--skip-policy]
// Runs a stack's real Pulumi program offline under the mock runtime, writes out/plan-<stack>.json and .md, prints a
// summary, then evaluates the CrossGuard pack on the plan and fails on any mandatory violation (unless --skip-policy).
// Exit codes: 0 planned (and policy-clean), 1 bad input / program or policy failure, 2 usage error.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { planMarkdown, planSummary } from "./offline/plan-report";
import { OfflinePlan, readStackConfig, REPO_ROOT, resolveStack, runOfflinePlan, StackTarget } from "./offline/plan-runner";
import { toText } from "./policy/markdown";
import { loadPolicyConfig, policyConfigPath, runPolicyPackOnPlan } from "./policy/run";

export const USAGE = `usage: npm run plan -- --stack <name> [--out <dir>] [--config <file>] [--skip-policy]

  -s, --stack <name>   stack to plan: dev, prod (the platform) or bootstrap (bootstrap/)
      --out <dir>      where plan-<stack>.json and .md go (default: out/)
      --config <file>  a stack config file to use instead of Pulumi.<stack>.yaml (try a change before committing it)
      --skip-policy    plan only, without the policy gate (benchmarks)
  -h, --help           this text`;

export interface PlanCliArgs {
    stack: string;
    outDir: string;
    configFile?: string;
    skipPolicy: boolean;
}

/** A command-line mistake: printed with the usage, exit 2. */
export class UsageError extends Error {}

export function parsePlanArgs(argv: string[]): PlanCliArgs | "help" {
    let values: { stack?: string; out?: string; config?: string; "skip-policy"?: boolean; help?: boolean };
    try {
        ({ values } = parseArgs({
            args: argv,
            options: {
                stack: { type: "string", short: "s" },
                out: { type: "string" },
                config: { type: "string" },
                "skip-policy": { type: "boolean" },
                help: { type: "boolean", short: "h" },
            },
            strict: true,
            allowPositionals: false,
        }));
    } catch (err) {
        throw new UsageError(err instanceof Error ? err.message : String(err));
    }
    if (values.help) return "help";
    if (!values.stack) throw new UsageError("--stack is required (e.g. --stack dev)");
    return {
        stack: values.stack,
        outDir: path.resolve(values.out ?? path.join(REPO_ROOT, "out")),
        configFile: values.config,
        skipPolicy: values["skip-policy"] ?? false,
    };
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

/**
 * The platform program deploys app/dist/ingest-function.zip by content hash, so its plan needs the bundle; the
 * bootstrap program does not. Built here, after the stack name is known to be valid, so a typo fails in milliseconds.
 */
async function ensureFunctionBundle(target: StackTarget): Promise<void> {
    if (path.resolve(target.projectDir) !== REPO_ROOT) return;
    // Loaded lazily (esbuild); skips the build when the bundle's inputs are unchanged.
    const { ensureFunctionBundle: ensure } = await import("../app/build");
    await ensure({ quiet: true });
}

/**
 * The pack's config for a stack: policy/config/<stack>.json for the platform, <project>/policy/<stack>.json for other
 * projects (the bootstrap's documents why its subscription-scope grants are exempt).
 */
export function policyConfigFor(target: StackTarget): string {
    return path.resolve(target.projectDir) === REPO_ROOT ? policyConfigPath(target.stack, REPO_ROOT) : path.join(target.projectDir, "policy", `${target.stack}.json`);
}

export interface PlanCliDeps {
    /** Builds the Function bundle when the stack needs it (tests pass a recorder). */
    ensureBundle?: (target: StackTarget) => Promise<void>;
}

/**
 * The CLI without process handling: throws UsageError (exit 2) or Error (exit 1). Everything that can be wrong with
 * the input (arguments, stack name, stack file) is checked before the bundle build and before the program runs.
 */
export async function planCli(argv: string[], deps: PlanCliDeps = {}): Promise<void> {
    const args = parsePlanArgs(argv);
    if (args === "help") {
        console.log(USAGE);
        return;
    }
    const target = resolveStack(args.stack, REPO_ROOT);
    readStackConfig(args.stack, REPO_ROOT, args.configFile);
    await (deps.ensureBundle ?? ensureFunctionBundle)(target);
    const started = process.hrtime.bigint();
    const plan = await runOfflinePlan(args.stack, REPO_ROOT, args.configFile);
    const files = writePlanFiles(plan, args.outDir);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(planSummary(plan));
    console.log(`\nWrote ${path.relative(process.cwd(), files.json)} and ${path.relative(process.cwd(), files.markdown)} in ${ms.toFixed(0)} ms`);
    if (args.skipPolicy) return;

    // Same pack and config as `pulumi up --policy-pack policy --policy-pack-config <file>`.
    const configFile = policyConfigFor(target);
    const result = await runPolicyPackOnPlan(plan, fs.existsSync(configFile) ? loadPolicyConfig(configFile) : {});
    console.log(`\n${toText(result)}`);
    if (result.mandatory.length > 0) {
        throw new Error(`${result.mandatory.length} mandatory policy violation(s): pulumi up --policy-pack policy would refuse this plan`);
    }
}

if (require.main === module) {
    planCli(process.argv.slice(2)).catch((err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        if (err instanceof UsageError) {
            console.error(`plan: ${message}\n\n${USAGE}`);
            process.exit(2);
        }
        console.error(`plan failed: ${message}`);
        process.exit(1);
    });
}
