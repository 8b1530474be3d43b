// In-process policy runner: evaluates the pack against an offline plan file the way the Pulumi engine's analyzer
// server does (node_modules/@pulumi/policy/server.js): same ResourceValidationArgs / StackValidationArgs shapes, props
// wrapped in unknownCheckingProxy, the __pulumiType fast filter, notApplicable, the enforcement-level precedence
// (config > policy > pack), and UnknownValueError turned into an advisory "can't run during preview" note.
import {
    EnforcementLevel,
    Policies,
    PolicyResource,
    ResourceValidation,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
    ResourceValidationPolicy,
    UnknownValueError,
    unknownCheckingProxy,
} from "@pulumi/policy";
import * as fs from "fs";
import * as path from "path";
import { catalogue, PACK_ENFORCEMENT_LEVEL, PACK_NAME, policies as packPolicies } from "../../policy/policies";
import { Exemption, ExemptionEvent, PolicyConfigError, PolicyMeta, exemptionMatches, parseExemptions, setClock, setExemptionListener } from "../../policy/policies/framework";

export interface PlanResource {
    urn: string;
    type: string;
    name: string;
    custom?: boolean;
    parent?: string | null;
    provider?: string | null;
    inputs: Record<string, any>;
    outputs?: Record<string, any>;
    dependencies?: string[];
    propertyDependencies?: Record<string, string[]>;
    /** Resource options recorded by the offline plan (ignoreChanges, protect, customTimeouts as "120m"). */
    options?: { ignoreChanges?: string[]; protect?: boolean; customTimeouts?: Record<string, string>; additionalSecretOutputs?: string[] };
}

/** "120m", "2h", "90s", "1h30m" → seconds, as the engine reports custom timeouts to policies. */
export function durationSeconds(text: string | undefined): number {
    if (!text) return 0;
    let total = 0;
    for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)) total += Number(n) * (unit === "h" ? 3600 : unit === "m" ? 60 : 1);
    return total;
}

/** The `opts` argument the CLI would pass a policy for this resource. */
function policyOptions(r: PlanResource) {
    const o = r.options ?? {};
    return {
        protect: o.protect ?? false,
        ignoreChanges: o.ignoreChanges ?? [],
        aliases: [],
        customTimeouts: {
            createSeconds: durationSeconds(o.customTimeouts?.create),
            updateSeconds: durationSeconds(o.customTimeouts?.update),
            deleteSeconds: durationSeconds(o.customTimeouts?.delete),
        },
        additionalSecretOutputs: o.additionalSecretOutputs ?? [],
        ...(r.parent ? { parent: r.parent } : {}),
        ...(r.provider ? { provider: r.provider } : {}),
    };
}

export interface Plan {
    project: string;
    stack: string;
    resources: PlanResource[];
}

/** The `--policy-pack-config` file format: `{ "all"?: level, "<policy>": level | { enforcementLevel?, ...settings } }`. */
export type PolicyPackConfigFile = Record<string, EnforcementLevel | Record<string, any>>;

export interface Violation {
    policy: string;
    level: "mandatory" | "advisory";
    severity?: string;
    message: string;
    urn?: string;
    resourceName?: string;
    resourceType?: string;
    description: string;
}

/** An exemption event as the runner records it: with the policy's effective level and the resource's type. */
export interface RecordedExemption extends ExemptionEvent {
    level: "mandatory" | "advisory";
    resourceType?: string;
}

export interface DeferredCheck {
    policy: string;
    urn?: string;
    resourceName?: string;
    /** Why the check could not run: an input it must read is unknown until `pulumi up`. */
    message: string;
}

export interface PolicyRunResult {
    stack: string;
    violations: Violation[];
    mandatory: Violation[];
    advisory: Violation[];
    /** Violations an active exemption waived. */
    waived: RecordedExemption[];
    /** Exemptions that matched a violation but have expired (the violation was reported). */
    expiredExemptions: RecordedExemption[];
    deferred: DeferredCheck[];
    /** Configured exemptions whose resource pattern matches nothing in the plan (stale waivers to clean up). */
    unusedExemptions: Exemption[];
    policiesRun: number;
    resourcesChecked: number;
    durationMs: number;
}

export interface RunOptions {
    /** Override the policies (tests); defaults to the whole pack. */
    policies?: Policies;
    /** "Today" for expiry decisions. */
    now?: Date;
}

const LEVELS: EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];
/** Values the plan may carry for inputs that are unknown at preview; mapped to the engine's sentinels. */
const UNKNOWN_MARKERS = new Set(["[unknown]", "04da6b54-80e4-46f7-96ec-b56ff0331ba9"]);
const UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // @pulumi/policy proxy.ts unknownStringValue

export function loadPlan(file: string): Plan {
    let plan: any;
    try {
        plan = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new Error(`cannot read plan '${file}': ${(e as Error).message}`);
    }
    if (!plan || !Array.isArray(plan.resources)) throw new Error(`plan '${file}' has no "resources" array; is it an offline plan from npm run plan?`);
    return plan as Plan;
}

export function loadPolicyConfig(file: string): PolicyPackConfigFile {
    let cfg: any;
    try {
        cfg = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new PolicyConfigError(`cannot read policy config '${file}': ${(e as Error).message}`);
    }
    validatePolicyConfig(cfg);
    return cfg;
}

/** Checks a policy-pack config the way the engine would (known policy names, valid levels) plus our exemptions. */
export function validatePolicyConfig(cfg: unknown, metas: PolicyMeta[] = catalogue): void {
    if (!cfg || typeof cfg !== "object" || Array.isArray(cfg)) throw new PolicyConfigError("policy config must be a JSON object");
    const problems: string[] = [];
    for (const [key, value] of Object.entries(cfg as Record<string, unknown>)) {
        if (key === "all") {
            if (!LEVELS.includes(value as EnforcementLevel)) problems.push(`"all" must be one of ${LEVELS.join(", ")}`);
            continue;
        }
        const meta = metas.find(m => m.name === key);
        if (!meta) {
            problems.push(`unknown policy '${key}'`);
            continue;
        }
        if (typeof value === "string") {
            if (!LEVELS.includes(value as EnforcementLevel)) problems.push(`'${key}': '${value}' is not an enforcement level`);
            continue;
        }
        if (!value || typeof value !== "object") {
            problems.push(`'${key}' must be an enforcement level or an object`);
            continue;
        }
        const { enforcementLevel, exemptions, ...settings } = value as Record<string, unknown>;
        if (enforcementLevel !== undefined && !LEVELS.includes(enforcementLevel as EnforcementLevel)) {
            problems.push(`'${key}'.enforcementLevel '${String(enforcementLevel)}' is not an enforcement level`);
        }
        for (const s of Object.keys(settings)) if (!meta.settings?.[s]) problems.push(`'${key}' has no setting '${s}'`);
        try {
            parseExemptions(key, exemptions);
        } catch (e) {
            problems.push((e as Error).message);
        }
    }
    if (problems.length) throw new PolicyConfigError(`invalid policy config: ${problems.join("; ")}`);
}

function toUnknowns(v: any): any {
    if (typeof v === "string") return UNKNOWN_MARKERS.has(v) ? UNKNOWN_SENTINEL : v;
    if (Array.isArray(v)) return v.map(toUnknowns);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toUnknowns(x)]));
    return v;
}

/** Outputs with inputs propagated under them, as stack policies see resources (pulumi/docs#15367). */
function stackProps(r: PlanResource): Record<string, any> {
    const merge = (a: any, b: any): any => {
        if (b === undefined) return a;
        if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
            const out: Record<string, any> = { ...a };
            for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v);
            return out;
        }
        return b;
    };
    return merge(r.inputs ?? {}, r.outputs ?? {});
}

function pulumiTypeOf(cls: unknown): string | undefined {
    return (cls as any)?.__pulumiType;
}

function isTypeOf(type: string, cls: unknown): boolean {
    const t = pulumiTypeOf(cls);
    if (t) return t === type;
    const isInstance = (cls as any)?.isInstance;
    return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

class NotApplicable extends Error {
    constructor(readonly reason?: string) {
        super(reason ?? "not applicable");
    }
}

// Thrown thousands of times per plan and always caught here: without a stack trace it is several times cheaper.
const throwNotApplicable = (reason?: string): never => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
        throw new NotApplicable(reason);
    } finally {
        Error.stackTraceLimit = limit;
    }
};

function effectiveLevel(name: string, policyLevel: EnforcementLevel | undefined, cfg: PolicyPackConfigFile): EnforcementLevel {
    const entry = cfg[name];
    const fromEntry = typeof entry === "string" ? entry : entry?.enforcementLevel;
    const all = typeof cfg.all === "string" ? (cfg.all as EnforcementLevel) : undefined;
    const level = (fromEntry as EnforcementLevel | undefined) ?? all ?? policyLevel ?? PACK_ENFORCEMENT_LEVEL;
    return level === "remediate" ? "mandatory" : level; // no remediations in this pack; the engine reports them as mandatory
}

function policyConfig(name: string, cfg: PolicyPackConfigFile): Record<string, any> {
    const entry = cfg[name];
    if (!entry || typeof entry === "string") return {};
    const { enforcementLevel: _ignored, ...rest } = entry;
    return rest;
}

/**
 * Runs every policy of the pack against a plan. Throws PolicyConfigError for an invalid config or a malformed
 * exemption (the CLI fails the same way); violations, waivers, expired exemptions and deferred checks are returned.
 */
export async function runPolicyPackOnPlan(plan: Plan, config: PolicyPackConfigFile = {}, options: RunOptions = {}): Promise<PolicyRunResult> {
    const started = process.hrtime.bigint();
    validatePolicyConfig(config);
    const policies = options.policies ?? packPolicies;
    const byUrn = new Map(plan.resources.map(r => [r.urn, r]));
    const violations: Violation[] = [];
    const deferred: DeferredCheck[] = [];
    const waived: RecordedExemption[] = [];
    const expired: RecordedExemption[] = [];
    if (options.now) {
        const fixed = options.now;
        setClock(() => fixed);
    }
    let policiesRun = 0;
    const resources = plan.resources.filter(r => r.custom !== false);
    // Converted once per run; every validation still gets its own proxy, as the engine deserializes per call.
    const converted = new Map(resources.map(r => [r.urn, toUnknowns(r.inputs ?? {})]));
    let stackResources: PolicyResource[] | undefined;
    try {
        for (const p of policies) {
            const level = effectiveLevel(p.name, p.enforcementLevel, config);
            if (level === "disabled") continue;
            policiesRun++;
            const settings = policyConfig(p.name, config);
            const recordedLevel = level === "advisory" ? "advisory" : "mandatory";
            setExemptionListener(e => (e.kind === "waived" ? waived : expired).push({ ...e, level: recordedLevel, resourceType: e.urn ? byUrn.get(e.urn)?.type : undefined }));
            const record = (message: string, urn?: string) => {
                const r = urn ? byUrn.get(urn) : undefined;
                violations.push({
                    policy: p.name,
                    level: level === "advisory" ? "advisory" : "mandatory",
                    severity: p.severity,
                    message,
                    urn,
                    resourceName: r?.name,
                    resourceType: r?.type,
                    description: p.description,
                });
            };
            const defer = (e: UnknownValueError, urn?: string) => {
                const r = urn ? byUrn.get(urn) : undefined;
                deferred.push({ policy: p.name, urn, resourceName: r?.name, message: `can't run policy '${p.name}' during preview: ${e.message}` });
            };
            if ("validateResource" in p && p.validateResource) {
                await runResourcePolicy(p as ResourceValidationPolicy, resources, converted, settings, record, defer);
            } else if ("validateStack" in p) {
                const args: StackValidationArgs = {
                    resources: (stackResources ??= buildPolicyResources(plan.resources)),
                    stackTags: new Map(),
                    getConfig: <T extends object>() => settings as T,
                    notApplicable: throwNotApplicable,
                };
                try {
                    await (p as StackValidationPolicy).validateStack(args, (m, urn) => record(m, urn));
                } catch (e) {
                    if (e instanceof UnknownValueError) defer(e);
                    else if (!(e instanceof NotApplicable)) throw e;
                }
            }
        }
    } finally {
        setExemptionListener(undefined);
        if (options.now) setClock(undefined);
    }
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    const configured = Object.entries(config).flatMap(([name, entry]) => (entry && typeof entry === "object" ? parseExemptions(name, entry.exemptions) : []));
    const unusedExemptions = configured.filter(e => !plan.resources.some(r => exemptionMatches(e, r.urn, r.name)));
    return {
        stack: plan.stack,
        violations,
        mandatory: violations.filter(v => v.level === "mandatory"),
        advisory: violations.filter(v => v.level === "advisory"),
        waived,
        expiredExemptions: expired,
        deferred,
        unusedExemptions,
        policiesRun,
        resourcesChecked: resources.length,
        durationMs,
    };
}

async function runResourcePolicy(
    p: ResourceValidationPolicy,
    resources: PlanResource[],
    converted: Map<string, Record<string, any>>,
    settings: Record<string, any>,
    record: (m: string, urn?: string) => void,
    defer: (e: UnknownValueError, urn?: string) => void,
): Promise<void> {
    const validations: ResourceValidation[] = Array.isArray(p.validateResource) ? p.validateResource : [p.validateResource!];
    const fastType = !Array.isArray(p.validateResource) ? pulumiTypeOf(p.validateResource) : undefined;
    for (const r of resources) {
        if (fastType && r.type !== fastType) continue; // the engine's __pulumiType short-cut
        for (const validation of validations) {
            const props = unknownCheckingProxy(converted.get(r.urn)!);
            const args: ResourceValidationArgs = {
                type: r.type,
                props,
                urn: r.urn,
                name: r.name,
                opts: policyOptions(r),
                stackTags: new Map(),
                isType: cls => isTypeOf(r.type, cls),
                asType: (cls: any) => (isTypeOf(r.type, cls) ? (props as any) : undefined),
                getConfig: <T extends object>() => settings as T,
                notApplicable: throwNotApplicable,
            };
            try {
                await validation(args, (m, urn) => record(m, urn ?? r.urn));
            } catch (e) {
                if (e instanceof UnknownValueError) defer(e, r.urn);
                else if (!(e instanceof NotApplicable)) throw e;
            }
        }
    }
}

function buildPolicyResources(planResources: PlanResource[]): PolicyResource[] {
    const out = new Map<string, PolicyResource>();
    for (const r of planResources) {
        const props = unknownCheckingProxy(toUnknowns(stackProps(r)));
        out.set(r.urn, {
            type: r.type,
            props,
            urn: r.urn,
            name: r.name,
            opts: policyOptions(r),
            dependencies: [],
            propertyDependencies: {},
            isType: cls => isTypeOf(r.type, cls),
            asType: (cls: any) => (isTypeOf(r.type, cls) ? (props as any) : undefined),
        });
    }
    for (const r of planResources) {
        const pr = out.get(r.urn)!;
        if (r.parent && out.has(r.parent)) pr.parent = out.get(r.parent);
        pr.dependencies = (r.dependencies ?? []).map(u => out.get(u)).filter((x): x is PolicyResource => !!x);
        for (const [k, urns] of Object.entries(r.propertyDependencies ?? {})) {
            pr.propertyDependencies[k] = urns.map(u => out.get(u)).filter((x): x is PolicyResource => !!x);
        }
    }
    return [...out.values()];
}

/** `policy/config/<stack>.json`, the per-stack --policy-pack-config file. */
export function policyConfigPath(stack: string, root = process.cwd()): string {
    return path.join(root, "policy", "config", `${stack}.json`);
}

/** The gate `npm run plan` can call: the pack with the stack's own config (when that file exists). */
export async function runPolicyGate(plan: Plan, stack = plan.stack, root = process.cwd()): Promise<PolicyRunResult> {
    const file = policyConfigPath(stack, root);
    return runPolicyPackOnPlan(plan, fs.existsSync(file) ? loadPolicyConfig(file) : {});
}

export { PACK_NAME, catalogue };
