import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { armMocks } from "./arm-mocks";
import { installRecordingMonitor, PlannedResource } from "./recording-monitor";

/** The offline plan file: what `pulumi up` would create, with inputs and dependency edges. */
export interface OfflinePlan {
    project: string;
    stack: string;
    resources: PlanResource[];
}

/**
 * One planned resource. `options` (ignoreChanges, protect, customTimeouts, additionalSecretOutputs) is an addition
 * to the documented shape so policies can see the resource options the CLI would pass them.
 */
export type PlanResource = PlannedResource;

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** A plan of this program takes seconds; anything near this means an Output never resolved. */
const PLAN_TIMEOUT_MS = 120_000;

/** Reads the project name from Pulumi.yaml. */
export function readProjectName(root = REPO_ROOT): string {
    const doc = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { name?: string };
    if (!doc?.name) throw new Error("Pulumi.yaml has no project name");
    return doc.name;
}

/**
 * Reads `Pulumi.<stack>.yaml` into the flat string map the Pulumi CLI hands a program: maps and lists as JSON,
 * scalars as text.
 */
export function readStackConfig(stack: string, root = REPO_ROOT, configFile?: string): Record<string, string> {
    const file = configFile ? path.resolve(configFile) : path.join(root, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        const known = fs.readdirSync(root).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f)).map((f) => f.split(".")[1]);
        throw new Error(`no stack config ${path.basename(file)} (known stacks: ${known.join(", ") || "none"})`);
    }
    const doc = YAML.parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(doc?.config ?? {})) {
        if (value !== null && typeof value === "object" && "secure" in (value as object)) {
            throw new Error(`${key} is an encrypted secret; this project keeps no secrets in stack config`);
        }
        config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return config;
}

/**
 * Runs the real program (`stacks/index.ts`) under the mock runtime with a stack's config and returns the plan.
 * Process-global: the Pulumi runtime and the program module can only be loaded once per process.
 */
export async function runOfflinePlan(stack: string, root = REPO_ROOT, configFile?: string): Promise<OfflinePlan> {
    const project = readProjectName(root);
    const config = readStackConfig(stack, root, configFile);
    const monitor = installRecordingMonitor(armMocks, project, stack);
    pulumi.runtime.setAllConfig(config);

    // A throw inside an apply surfaces as an unhandled rejection, not as a rejection of the program; a never-resolving
    // Output would hang. Either way the plan must fail with the program's own message.
    let failWith: (reason: unknown) => void = () => undefined;
    const failure = new Promise<never>((_, reject) => (failWith = reject));
    const onFailure = (reason: unknown) => failWith(reason);
    process.on("unhandledRejection", onFailure);
    process.on("uncaughtException", onFailure);
    // Pulumi records a stack trace for every promise it creates (leak diagnostics); formatting them was a fifth of the
    // plan's time. The plan reports program errors by message, so no frames are needed while it runs.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    const timer = setTimeout(() => failWith(new Error(`the program did not finish within ${PLAN_TIMEOUT_MS / 1000} s (an Output that never resolves?)`)), PLAN_TIMEOUT_MS);
    try {
        await Promise.race([
            (async () => {
                await pulumi.runtime.runInPulumiStack(async () => require(path.join(root, "stacks", "index.ts")));
                await pulumi.runtime.disconnect();
            })(),
            failure,
        ]);
    } catch (err) {
        throw new Error(`the program failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
        clearTimeout(timer);
        Error.stackTraceLimit = stackTraceLimit;
        // Late rejections of the same failure are expected once the run is over; keep swallowing them.
        process.off("uncaughtException", onFailure);
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const store = require("@pulumi/pulumi/runtime/state").getStore();
    if (store.logErrorCount > 0) throw new Error("the program logged errors while resolving resources (see above)");

    return { project, stack, resources: monitor.plannedResources() };
}
