import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import type { OfflinePlan } from "../../tools/offline/plan-runner";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "..", "..");
const cache = new Map<string, Promise<{ plan: OfflinePlan; dir: string; stdout: string }>>();
let bundle: Promise<unknown> | undefined;

/** The program deploys app/dist/ingest-function.zip by content hash, so a plan needs it built (`npm run build:app`). */
function ensureFunctionBundle(): Promise<unknown> {
    bundle ??= run(process.execPath, ["-r", "./tools/ts-register.js", "app/build.ts"], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    return bundle;
}

/**
 * Runs the real offline plan (`tools/plan.ts`) for a shipped stack in a child process (the Pulumi runtime is
 * process-global, so a second program cannot run in the test process) and returns the plan file it wrote. Cached
 * per stack for the whole mocha run.
 */
export function stackPlan(stack: string): Promise<{ plan: OfflinePlan; dir: string; stdout: string }> {
    let pending = cache.get(stack);
    if (!pending) {
        pending = (async () => {
            // Only the platform's plans need the bundle; building it once here keeps parallel plans from racing on it.
            if (stack !== "bootstrap") await ensureFunctionBundle();
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), `plan-${stack}-`));
            const { stdout } = await run(process.execPath, ["--max-semi-space-size=64", "-r", "./tools/ts-register.js", "tools/plan.ts", "--stack", stack, "--out", dir], {
                cwd: ROOT,
                env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
                maxBuffer: 64 * 1024 * 1024,
            });
            const plan = JSON.parse(fs.readFileSync(path.join(dir, `plan-${stack}.json`), "utf8")) as OfflinePlan;
            return { plan, dir, stdout };
        })();
        cache.set(stack, pending);
    }
    return pending;
}

/** Runs `tools/plan.ts` with arbitrary arguments in a child process and reports how it ended (for failure cases). */
export async function runPlanCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
        const { stdout, stderr } = await run(process.execPath, ["-r", "./tools/ts-register.js", "tools/plan.ts", ...args], {
            cwd: ROOT,
            env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
            maxBuffer: 64 * 1024 * 1024,
        });
        return { code: 0, stdout, stderr };
    } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
    }
}
