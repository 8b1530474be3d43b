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

/**
 * The Pulumi projects in this repository, relative to the root: the platform and the once-per-subscription bootstrap
 * (bootstrap/README.md). A stack name is looked up in each project's `Pulumi.<stack>.yaml` files.
 */
export const PROJECT_DIRS = [".", "bootstrap"] as const;

/** One plannable stack: which project it belongs to, its program and its stack file. */
export interface StackTarget {
    stack: string;
    /** Absolute project directory (holds Pulumi.yaml). */
    projectDir: string;
    /** Project name from Pulumi.yaml. */
    project: string;
    /** Absolute path of the program (Pulumi.yaml `main`). */
    program: string;
    /** Absolute path of Pulumi.<stack>.yaml. */
    stackFile: string;
}

/** A file as users name it: relative to the repository when inside it, absolute otherwise. */
function displayPath(file: string, root: string): string {
    const rel = path.relative(root, file);
    return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : file;
}

/** Parses a YAML file; a syntax error names the file (and line) instead of surfacing as a bare parser message. */
export function readYamlFile(file: string, root = REPO_ROOT): unknown {
    const text = fs.readFileSync(file, "utf8");
    try {
        return YAML.parse(text);
    } catch (err) {
        const where = displayPath(file, root);
        throw new Error(`${where} is not valid YAML: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
    }
}

/** Reads the project name and program of the Pulumi.yaml in `projectDir`. */
export function readProject(projectDir: string, root = REPO_ROOT): { project: string; program: string } {
    const file = path.join(projectDir, "Pulumi.yaml");
    const doc = readYamlFile(file, root) as { name?: string; main?: string } | null;
    if (!doc?.name) throw new Error(`${displayPath(file, root)} has no project name`);
    return { project: doc.name, program: path.resolve(projectDir, doc.main ?? "index.ts") };
}

/** Reads the project name from Pulumi.yaml. */
export function readProjectName(root = REPO_ROOT): string {
    return readProject(root, root).project;
}

/** Every stack with a `Pulumi.<stack>.yaml` in one of the repository's projects, in project order. */
export function knownStacks(root = REPO_ROOT): { stack: string; projectDir: string }[] {
    const found: { stack: string; projectDir: string }[] = [];
    for (const dir of PROJECT_DIRS) {
        const projectDir = path.resolve(root, dir);
        if (!fs.existsSync(path.join(projectDir, "Pulumi.yaml"))) continue;
        for (const f of fs.readdirSync(projectDir).sort()) {
            const m = /^Pulumi\.([^.]+)\.yaml$/.exec(f);
            if (m) found.push({ stack: m[1], projectDir });
        }
    }
    return found;
}

/**
 * Finds the project a stack belongs to. Fails, naming the known stacks, when no project has the stack file or when
 * two projects claim the same name (the plan would be ambiguous).
 */
export function resolveStack(stack: string, root = REPO_ROOT): StackTarget {
    const known = knownStacks(root);
    const matches = known.filter((k) => k.stack === stack);
    if (matches.length === 0) {
        throw new Error(`unknown stack "${stack}": no Pulumi.${stack}.yaml in ${PROJECT_DIRS.join(", ")} (known stacks: ${known.map((k) => k.stack).join(", ") || "none"})`);
    }
    if (matches.length > 1) {
        throw new Error(`stack "${stack}" is defined by more than one project: ${matches.map((m) => path.relative(root, m.projectDir) || ".").join(", ")}`);
    }
    const { projectDir } = matches[0];
    const { project, program } = readProject(projectDir, root);
    return { stack, projectDir, project, program, stackFile: path.join(projectDir, `Pulumi.${stack}.yaml`) };
}

/**
 * A stack file whose `<project>:environment` names another environment than the stack (a copied Pulumi.prod.yaml
 * still saying `dev`) would plan, and deploy, the wrong settings under the right name. The environment must be one of
 * the stack name's `-`/`_`/`.`-separated words (`prod`, `prod-eu`). Only the pairing is checked here; the value
 * itself is validated by the program's config loader.
 */
export function checkStackEnvironment(stack: string, project: string, config: Record<string, string>, file: string): void {
    const environment = config[`${project}:environment`];
    if (environment === undefined) return;
    if (!stack.split(/[-_.]/).includes(environment)) {
        throw new Error(`${file} sets ${project}:environment to "${environment}", which contradicts the stack name "${stack}"`);
    }
}

/**
 * Reads `Pulumi.<stack>.yaml` into the flat string map the Pulumi CLI hands a program: maps and lists as JSON,
 * scalars as text.
 */
export function readStackConfig(stack: string, root = REPO_ROOT, configFile?: string): Record<string, string> {
    const target = resolveStack(stack, root);
    return readConfigFile(configFile ? path.resolve(configFile) : target.stackFile, target, root);
}

function readConfigFile(file: string, target: StackTarget, root: string): Record<string, string> {
    if (!fs.existsSync(file)) throw new Error(`no stack config ${file}`);
    const doc = readYamlFile(file, root) as { config?: Record<string, unknown> } | null;
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(doc?.config ?? {})) {
        if (value !== null && typeof value === "object" && "secure" in (value as object)) {
            throw new Error(`${key} is an encrypted secret; this project keeps no secrets in stack config`);
        }
        config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    checkStackEnvironment(target.stack, target.project, config, displayPath(file, root));
    return config;
}

/**
 * Runs the stack's real program (its Pulumi.yaml `main`) under the mock runtime with a stack's config and returns the plan.
 * Process-global: the Pulumi runtime and the program module can only be loaded once per process.
 */
export async function runOfflinePlan(stack: string, root = REPO_ROOT, configFile?: string): Promise<OfflinePlan> {
    const target = resolveStack(stack, root);
    const { project } = target;
    const config = readConfigFile(configFile ? path.resolve(configFile) : target.stackFile, target, root);
    // As a preview: the plan shows what `pulumi up` would do without doing it, so the program's up-only guards (the
    // deploy runner's network check in stacks/platform.ts) stay quiet, exactly as in `pulumi preview`.
    // A throw inside an apply surfaces as an unhandled rejection, not as a rejection of the program; a never-resolving
    // Output would hang. Either way the plan must fail with the program's own message.
    let failWith: (reason: unknown) => void = () => undefined;
    const failure = new Promise<never>((_, reject) => (failWith = reject));
    // An invoke the mocks cannot answer leaves its Output pending forever (the resources fed by it never register) and
    // the plan would be written without them; fail with the invoke's name instead.
    const mocks: pulumi.runtime.Mocks = {
        newResource: (args) => armMocks.newResource(args),
        call: (args) => {
            try {
                return armMocks.call(args);
            } catch (err) {
                failWith(err);
                throw err;
            }
        },
    };
    const monitor = installRecordingMonitor(mocks, project, stack, true);
    pulumi.runtime.setAllConfig(config);
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
                await pulumi.runtime.runInPulumiStack(async () => require(target.program));
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
