// Shared plumbing for every policy in the pack: metadata (anchors), per-policy config with defaults,
// exemptions with expiry, and helpers that respect the preview "unknown value" proxy.
import {
    UnknownValueError,
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { PolicyConfigJSONSchema } from "@pulumi/policy/schema";

/** Where a policy comes from: the Azure Policy built-in it mirrors, scanner ids and the HIPAA HITRUST control. */
export interface Anchor {
    /** Azure Policy built-in definition GUIDs (Azure/azure-policy, release 3.2026.0417.1). */
    azurePolicy?: string[];
    /** Checkov / trivy ids. */
    scanner?: string[];
    /** HIPAA HITRUST 9.2 control group (initiative a169a624-5599-4385-a696-c8d643089fab), when the built-in is in it. */
    hitrust?: string;
    /** For project-derived rules without a public built-in: which document or fact the rule comes from. */
    derivedFrom?: string;
}

export interface PolicyMeta {
    /** Kebab-case id, unique in the pack. */
    name: string;
    /** What is wrong and how to fix it. */
    description: string;
    enforcementLevel: EnforcementLevel;
    /** Why a policy is not mandatory (required when it is advisory). */
    levelReason?: string;
    severity: Severity;
    /** Type tokens the policy inspects; "*" for stack-wide scanners. */
    resourceTypes: string[];
    anchor: Anchor;
    /** Policy-specific settings (JSON schema per property, with defaults). */
    settings?: Record<string, PolicyConfigJSONSchema>;
}

export interface Exemption {
    policy: string;
    /** A full URN, or a resource-name pattern where `*` matches any run of characters. */
    resource: string;
    reason: string;
    /** Last day (UTC, inclusive) on which the exemption applies, `YYYY-MM-DD`. */
    expires: string;
}

export interface ExemptionEvent {
    kind: "waived" | "expired";
    policy: string;
    urn?: string;
    resourceName?: string;
    exemption: Exemption;
    /** The violation message the exemption waived (or did not, once expired). */
    message: string;
}

// ---- clock and exemption listener (the offline runner and tests hook in here; the CLI leaves them at defaults)

let clock: () => Date = () => new Date();
let exemptionListener: ((e: ExemptionEvent) => void) | undefined;

export function now(): Date {
    return clock();
}

/** Tests and the offline runner pin "today" so expiry decisions are reproducible. */
export function setClock(fn?: () => Date): void {
    clock = fn ?? (() => new Date());
}

export function setExemptionListener(fn?: (e: ExemptionEvent) => void): void {
    exemptionListener = fn;
}

// ---- config

export class PolicyConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PolicyConfigError";
    }
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

const exemptionSchema: PolicyConfigJSONSchema = {
    type: "array",
    description: "Per-resource waivers: { policy, resource (URN or name pattern), reason, expires (YYYY-MM-DD) }.",
    default: [],
    items: {
        type: "object",
        required: ["policy", "resource", "reason", "expires"],
        additionalProperties: false,
        properties: {
            policy: { type: "string", minLength: 1 },
            resource: { type: "string", minLength: 1 },
            reason: { type: "string", minLength: 10 },
            expires: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$" },
        },
    },
};

/** Validates the `exemptions` list of one policy; every problem is listed in one error. */
export function parseExemptions(policy: string, raw: unknown): Exemption[] {
    if (raw === undefined) return [];
    if (!Array.isArray(raw)) {
        throw new PolicyConfigError(`policy '${policy}': "exemptions" must be an array, got ${typeof raw}`);
    }
    const problems: string[] = [];
    const out: Exemption[] = [];
    raw.forEach((e: any, i: number) => {
        const where = `exemption #${i + 1}`;
        if (e === null || typeof e !== "object" || Array.isArray(e)) {
            problems.push(`${where} is not an object`);
            return;
        }
        const p: string[] = [];
        if (typeof e.policy !== "string" || e.policy !== policy) {
            p.push(`"policy" must be '${policy}' (got ${JSON.stringify(e.policy)})`);
        }
        if (typeof e.resource !== "string" || e.resource.trim() === "") p.push(`"resource" must be a URN or name pattern`);
        if (typeof e.reason !== "string" || e.reason.trim().length < 10) {
            p.push(`"reason" must explain the waiver (at least 10 characters)`);
        }
        if (typeof e.expires !== "string" || !isValidDate(e.expires)) {
            p.push(`"expires" must be a real date YYYY-MM-DD (got ${JSON.stringify(e.expires)})`);
        }
        const extra = Object.keys(e).filter(k => !["policy", "resource", "reason", "expires"].includes(k));
        if (extra.length) p.push(`unknown field(s) ${extra.join(", ")}`);
        if (p.length) problems.push(`${where}: ${p.join("; ")}`);
        else out.push({ policy: e.policy, resource: e.resource, reason: e.reason, expires: e.expires });
    });
    if (problems.length) {
        throw new PolicyConfigError(`policy '${policy}': malformed exemption(s): ${problems.join(" | ")}`);
    }
    return out;
}

function isValidDate(s: string): boolean {
    const m = DATE_RE.exec(s);
    if (!m) return false;
    const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

/** True while `today` (UTC) is on or before the exemption's last day. */
export function exemptionActive(e: Exemption, at: Date = now()): boolean {
    const m = DATE_RE.exec(e.expires)!;
    const endExclusive = Date.UTC(+m[1], +m[2] - 1, +m[3] + 1);
    return at.getTime() < endExclusive;
}

function globToRegExp(pattern: string): RegExp {
    const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
    return new RegExp(`^${escaped}$`);
}

export function exemptionMatches(e: Exemption, urn: string | undefined, name: string | undefined): boolean {
    if (e.resource.startsWith("urn:pulumi:")) return urn === e.resource;
    return name !== undefined && globToRegExp(e.resource).test(name);
}

/** Applies schema defaults (the engine does this for the CLI; doing it here keeps offline runs identical). */
export function withDefaults(meta: PolicyMeta, raw: Record<string, any>): Record<string, any> {
    const out: Record<string, any> = {};
    for (const [k, schema] of Object.entries(meta.settings ?? {})) {
        if ((schema as any).default !== undefined) out[k] = (schema as any).default;
    }
    return { ...out, ...raw };
}

function readSettings(meta: PolicyMeta, raw: Record<string, any>): { settings: Record<string, any>; exemptions: Exemption[] } {
    const { exemptions, ...rest } = raw ?? {};
    return { settings: withDefaults(meta, rest), exemptions: parseExemptions(meta.name, exemptions) };
}

function exemptionAwareReporter(
    meta: PolicyMeta,
    exemptions: Exemption[],
    report: ReportViolation,
    nameOf: (urn: string | undefined) => string | undefined,
    defaultUrn?: string,
): ReportViolation {
    return (message: string, urn?: string) => {
        const target = urn ?? defaultUrn;
        const name = nameOf(target);
        const matching = exemptions.filter(e => exemptionMatches(e, target, name));
        const active = matching.find(e => exemptionActive(e));
        if (active) {
            exemptionListener?.({ kind: "waived", policy: meta.name, urn: target, resourceName: name, exemption: active, message });
            return;
        }
        const expired = matching[0];
        if (expired) {
            exemptionListener?.({ kind: "expired", policy: meta.name, urn: target, resourceName: name, exemption: expired, message });
            message = `${message} (exemption expired on ${expired.expires}: ${expired.reason})`;
        }
        if (urn === undefined) report(message);
        else report(message, urn);
    };
}

// ---- policy builders

const HITRUST = { name: "HITRUST/HIPAA (Azure initiative a169a624)", version: "14.13.0" };

function commonFields(meta: PolicyMeta) {
    const tags = [
        ...(meta.anchor.azurePolicy ?? []).map(g => `azure-policy:${g}`),
        ...(meta.anchor.scanner ?? []).map(s => `scanner:${s}`),
    ];
    return {
        name: meta.name,
        description: meta.description,
        enforcementLevel: meta.enforcementLevel,
        severity: meta.severity,
        tags,
        remediationSteps: meta.description,
        framework: {
            name: HITRUST.name,
            version: HITRUST.version,
            reference: meta.anchor.hitrust ?? "none",
            specification: meta.anchor.azurePolicy?.[0] ?? meta.anchor.derivedFrom ?? "none",
        },
        configSchema: { properties: { ...(meta.settings ?? {}), exemptions: exemptionSchema } },
    };
}

/** Every policy the pack knows, with its metadata, in registration order. */
export const catalogue: PolicyMeta[] = [];

function register(meta: PolicyMeta): void {
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(meta.name)) throw new Error(`policy id '${meta.name}' is not kebab-case`);
    if (catalogue.some(m => m.name === meta.name)) throw new Error(`duplicate policy id '${meta.name}'`);
    if (meta.enforcementLevel !== "mandatory" && !meta.levelReason) {
        throw new Error(`policy '${meta.name}' is ${meta.enforcementLevel} but does not say why`);
    }
    catalogue.push(meta);
}

/**
 * A resource policy. `validate` is one or more functions from `validateResourceOfType`, so the engine keeps its
 * fast type filter (`__pulumiType`) and calls `notApplicable` for other types exactly as it would unwrapped.
 */
export function resourcePolicy(meta: PolicyMeta, validate: ResourceValidation | ResourceValidation[]): ResourceValidationPolicy {
    register(meta);
    const wrap = (inner: ResourceValidation): ResourceValidation => {
        const fn: ResourceValidation = (args: ResourceValidationArgs, report: ReportViolation) => {
            const { settings, exemptions } = readSettings(meta, args.getConfig<Record<string, any>>());
            const wrappedArgs: ResourceValidationArgs = { ...args, getConfig: <T extends object>() => settings as T };
            const reporter = exemptionAwareReporter(meta, exemptions, report, () => args.name, args.urn);
            return inner(wrappedArgs, reporter);
        };
        const t = (inner as any).__pulumiType;
        if (t) (fn as any).__pulumiType = t;
        return fn;
    };
    return {
        ...commonFields(meta),
        validateResource: Array.isArray(validate) ? validate.map(wrap) : wrap(validate),
    };
}

/** A stack policy; `report(message, urn)` should name the offending resource so exemptions can match it. */
export function stackPolicy(
    meta: PolicyMeta,
    validate: (args: StackValidationArgs, report: ReportViolation) => void | Promise<void>,
): StackValidationPolicy {
    register(meta);
    return {
        ...commonFields(meta),
        validateStack: (args: StackValidationArgs, report: ReportViolation) => {
            const { settings, exemptions } = readSettings(meta, args.getConfig<Record<string, any>>());
            const byUrn = new Map(args.resources.map(r => [r.urn, r.name]));
            const wrappedArgs: StackValidationArgs = { ...args, getConfig: <T extends object>() => settings as T };
            return validate(wrappedArgs, exemptionAwareReporter(meta, exemptions, report, u => (u ? byUrn.get(u) : undefined)));
        },
    };
}

// ---- helpers for reading inputs under the preview proxy

/**
 * Presence test that never reads the value: `in` does not trip the unknown-value proxy (it has no `has` trap),
 * so an input that is set but unknown during preview still counts as present.
 */
export function has(obj: unknown, key: string): boolean {
    return obj !== null && obj !== undefined && typeof obj === "object" && key in (obj as object);
}

/**
 * Reads an optional fallback value (a literal id used when no propertyDependencies edge exists) and returns undefined
 * while it is unknown at preview, instead of aborting the whole stack policy. Never use it for a value a rule decides on.
 */
export function peek(obj: unknown, key: string): unknown {
    if (obj === null || obj === undefined || typeof obj !== "object") return undefined;
    try {
        return (obj as Record<string, unknown>)[key];
    } catch (e) {
        if (e instanceof UnknownValueError) return undefined;
        throw e;
    }
}

export function eqi(a: unknown, b: string): boolean {
    return typeof a === "string" && a.toLowerCase() === b.toLowerCase();
}

export function asArray<T>(v: T[] | undefined | null): T[] {
    return Array.isArray(v) ? v : [];
}

/** Function apps, as Azure Policy scopes them: kind contains "functionapp" but not workflow/container apps. */
export function isFunctionAppKind(kind: unknown): boolean {
    const k = typeof kind === "string" ? kind.toLowerCase() : "";
    return k.includes("functionapp") && !k.includes("workflowapp") && !k.includes("azurecontainerapps");
}

/** The resources another resource's input `prop` was computed from (propertyDependencies), plus plain deps. */
export function linked(r: PolicyResource, prop?: string): PolicyResource[] {
    if (prop) return r.propertyDependencies[prop] ?? [];
    return r.dependencies;
}

export function linksTo(r: PolicyResource, target: PolicyResource, props: string[]): boolean {
    return props.some(p => (r.propertyDependencies[p] ?? []).some(d => d.urn === target.urn));
}

export const AZURE_POLICY_URL = "https://github.com/Azure/azure-policy/tree/master/built-in-policies/policyDefinitions";
