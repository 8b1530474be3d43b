// npm run plan:diff -- <base-plan.json> <head-plan.json> [--markdown <file>]
// Lists resources added, removed and changed between two offline plans, with the changed input paths, and marks the
// changes that replace a resource (delete + create: data in it is lost, its ids change). Values are shown only when
// short and never when either side is a redacted secret, so the output is safe for a PR comment. Resource options
// (protect, ignoreChanges, ...) are compared too, as `(options).<name>`: dropping protect is worth a reviewer's eye.
//
// Replacement is a heuristic, because the provider's replace-on-change metadata is not in the npm package:
//   * azure-native: the ARM URL's path parameters cannot change in place: `location`, `resourceGroupName`, a
//     top-level `name` or `*Name` (the resource's and its parents' names; except body properties that merely end in
//     "Name", BODY_NAMES), API Management's entity ids (apiId, productId, sid, ...), `scope` on authorization types,
//     and the generic resources:Resource's namespace/type/parent path. A RoleAssignment's principal and role
//     cannot be updated either.
//   * random: every input (the provider replaces on any change); command:local:Command: `create` and `triggers`.
//   * any type: a changed URN (the logical name, type or parent) is a delete of the old resource and a create of the
//     new one. A removed and an added resource of the same type with the same identifying inputs are shown as one
//     such replacement: without an alias, Pulumi deletes the old URN, and with it the Azure resource both name.
// Anything else is shown as an in-place update, which the real `pulumi preview` may still report as a replacement.
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";

interface PlanResource {
    urn: string;
    type: string;
    name: string;
    parent?: string | null;
    inputs?: Record<string, unknown>;
    /** Resource options the offline plan records (protect, ignoreChanges, ...); shown as `(options).protect`. */
    options?: Record<string, unknown>;
    dependencies?: string[];
}

interface Plan {
    project?: string;
    stack: string;
    resources: PlanResource[];
}

export interface InputChange {
    path: string;
    before?: string;
    after?: string;
    /** The provider cannot apply this change in place (see the heuristic above). */
    forcesReplacement?: boolean;
}

export interface PlanDiff {
    stack: string;
    /** The plans are not of the same stack or project: the diff is not what `pulumi up` would do. */
    warnings: string[];
    added: PlanResource[];
    removed: PlanResource[];
    /** A removed and an added resource that are the same Azure resource under a new URN. */
    renamed: Array<{ from: PlanResource; to: PlanResource }>;
    changed: Array<{ resource: PlanResource; changes: InputChange[]; replaced?: boolean }>;
    unchanged: number;
}

const REDACTED = "[secret]";
/** A protect or ignoreChanges removed in review matters as much as an input: options diff under this prefix. */
const OPTIONS_PATH = "(options)";
const BODY_NAMES = new Set(["displayName", "publisherName", "groupShortName", "customNetworkInterfaceName", "hostName", "userName", "friendlyName"]);
const APIM_ENTITY_IDS = new Set(["apiId", "operationId", "policyId", "productId", "sid", "namedValueId", "backendId", "loggerId", "diagnosticId", "userId", "groupId", "tagId"]);
const GENERIC_RESOURCE_PATH = new Set(["resourceProviderNamespace", "parentResourcePath", "resourceType"]);

/** Whether a change of this input path makes the provider replace the resource (the heuristic in the header). */
export function forcesReplacement(type: string, inputPath: string): boolean {
    if (inputPath.startsWith(OPTIONS_PATH)) return false;
    const top = inputPath.split(/[.[]/)[0];
    if (type.startsWith("random:")) return true;
    if (type === "command:local:Command") return top === "create" || top === "triggers";
    if (!type.startsWith("azure-native:")) return false;
    if (top !== inputPath) return false;
    if (top === "location" || top === "resourceGroupName" || top === "name") return true;
    if (top.endsWith("Name") && !BODY_NAMES.has(top)) return true;
    if (type.startsWith("azure-native:apimanagement:")) return APIM_ENTITY_IDS.has(top);
    if (type.startsWith("azure-native:authorization:")) return top === "scope" || (type.endsWith(":RoleAssignment") && (top === "principalId" || top === "roleDefinitionId"));
    if (type === "azure-native:resources:Resource") return GENERIC_RESOURCE_PATH.has(top);
    return false;
}

function show(v: unknown): string | undefined {
    if (v === undefined) return undefined;
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function containsSecret(v: unknown): boolean {
    if (v === REDACTED) return true;
    if (Array.isArray(v)) return v.some(containsSecret);
    if (v && typeof v === "object") return Object.values(v).some(containsSecret);
    return false;
}

/** Leaf-level differences between two input trees, as dotted paths (`properties.networkAcls.defaultAction`, `subnets[1].name`). */
export function diffInputs(a: unknown, b: unknown, p = ""): InputChange[] {
    if (JSON.stringify(a) === JSON.stringify(b)) return [];
    const bothObjects = a && b && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b);
    if (bothObjects) {
        const keys = Array.isArray(a) ? [...Array(Math.max((a as unknown[]).length, (b as unknown[]).length)).keys()].map(String) : [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])].sort();
        return keys.flatMap(k => diffInputs((a as any)[k], (b as any)[k], Array.isArray(a) ? `${p}[${k}]` : p ? `${p}.${k}` : k));
    }
    const secret = containsSecret(a) || containsSecret(b);
    return [{ path: p || "(root)", before: secret ? (a === undefined ? undefined : REDACTED) : show(a), after: secret ? (b === undefined ? undefined : REDACTED) : show(b) }];
}

/** The inputs that name the Azure resource (its ARM id), so that two URNs can be recognised as the same resource. */
function identity(r: PlanResource): string {
    const inputs = r.inputs ?? {};
    const keys = Object.keys(inputs).filter(k => forcesReplacement(r.type, k) && !r.type.startsWith("random:")).sort();
    // Location and resource group alone do not tell two auto-named resources apart: then only equal inputs match.
    const named = keys.some(k => k !== "location" && k !== "resourceGroupName");
    return named ? JSON.stringify(keys.map(k => [k, inputs[k]])) : JSON.stringify(inputs);
}

export function diffPlans(base: Plan, head: Plan): PlanDiff {
    const warnings: string[] = [];
    if (base.stack !== head.stack) warnings.push(`the plans are of different stacks: base '${base.stack}', head '${head.stack}'; this is not what \`pulumi up\` would change`);
    // Plans written before the project was recorded have none; that alone is no reason to warn.
    if (base.project && head.project && base.project !== head.project) warnings.push(`the plans are of different projects: base '${base.project}', head '${head.project}'`);
    // Matched without the URN's stack and project, so that comparing dev with prod lines up the same resources.
    const key = (r: PlanResource) => r.urn.replace(/^urn:pulumi:[^:]*::[^:]*::/, "");
    const before = new Map(base.resources.map(r => [key(r), r]));
    const after = new Map(head.resources.map(r => [key(r), r]));
    const diff: PlanDiff = { stack: head.stack, warnings, added: [], removed: [], renamed: [], changed: [], unchanged: 0 };
    for (const [urn, r] of after) {
        const old = before.get(urn);
        if (!old) diff.added.push(r);
        else {
            const changes = [...diffInputs(old.inputs ?? {}, r.inputs ?? {}), ...diffInputs(old.options ?? {}, r.options ?? {}, OPTIONS_PATH)].map(c =>
                forcesReplacement(r.type, c.path) ? { ...c, forcesReplacement: true } : c,
            );
            if (changes.length) diff.changed.push({ resource: r, changes, replaced: changes.some(c => c.forcesReplacement) });
            else diff.unchanged++;
        }
    }
    for (const [urn, r] of before) if (!after.has(urn)) diff.removed.push(r);
    for (const from of [...diff.removed]) {
        const to = diff.added.find(a => a.type === from.type && identity(a) === identity(from));
        if (!to) continue;
        diff.renamed.push({ from, to });
        diff.removed.splice(diff.removed.indexOf(from), 1);
        diff.added.splice(diff.added.indexOf(to), 1);
    }
    return diff;
}

const replacedCount = (d: PlanDiff) => d.changed.filter(c => c.replaced).length + d.renamed.length;

function headline(d: PlanDiff): string {
    return `${d.added.length} to add, ${d.changed.length} to change, ${d.removed.length} to remove, ${replacedCount(d)} to replace (${d.renamed.length} by a new URN), ${d.unchanged} unchanged`;
}

export function diffToText(d: PlanDiff): string {
    const out = [...d.warnings.map(w => `WARNING: ${w}`), `plan diff for stack '${d.stack}': ${headline(d)}`];
    for (const r of d.added) out.push(`  + ${r.type} ${r.name}`);
    for (const r of d.removed) out.push(`  - ${r.type} ${r.name}`);
    for (const { from, to } of d.renamed) out.push(`  +- ${to.type} ${from.name} -> ${to.name}  [replace: the URN changed; add an alias to keep the resource]`);
    for (const c of d.changed) {
        out.push(`  ${c.replaced ? "+-" : "~"} ${c.resource.type} ${c.resource.name}${c.replaced ? "  [replace]" : ""}`);
        for (const ch of c.changes) out.push(`      ${ch.path}: ${ch.before ?? "(unset)"} => ${ch.after ?? "(unset)"}${ch.forcesReplacement ? "  [forces replacement]" : ""}`);
    }
    return out.join("\n");
}

export function diffToMarkdown(d: PlanDiff): string {
    const esc = (s: string) => s.replace(/\|/g, "\\|");
    const lines = [`### Plan diff: \`${d.stack}\``, ""];
    for (const w of d.warnings) lines.push(`> ⚠️ **Warning:** ${esc(w)}`, "");
    lines.push(`**${d.added.length}** to add, **${d.changed.length}** to change, **${d.removed.length}** to remove, **${replacedCount(d)}** to replace, ${d.unchanged} unchanged.`, "");
    if (d.added.length + d.removed.length + d.changed.length + d.renamed.length === 0) return lines.join("\n") + "\nNo changes.\n";
    lines.push("| | resource | type | changed inputs |", "|---|---|---|---|");
    for (const r of d.added) lines.push(`| ➕ | \`${r.name}\` | ${r.type} | |`);
    for (const r of d.removed) lines.push(`| ➖ | \`${r.name}\` | ${r.type} | |`);
    for (const { from, to } of d.renamed) lines.push(`| ♻️ | \`${from.name}\` → \`${to.name}\` | ${to.type} | **replace**: the URN changed; add an alias to keep the resource |`);
    for (const c of d.changed) {
        const paths = c.changes.map(ch => `\`${esc(ch.path)}\`: ${esc(ch.before ?? "(unset)")} → ${esc(ch.after ?? "(unset)")}${ch.forcesReplacement ? " **(forces replacement)**" : ""}`).join("<br>");
        lines.push(`| ${c.replaced ? "♻️" : "✏️"} | \`${c.resource.name}\` | ${c.resource.type} | ${paths} |`);
    }
    if (replacedCount(d)) lines.push("", "♻️ = replaced (deleted and created again), by a heuristic of the provider's replace-on-change inputs: see tools/plan-diff.ts.");
    return lines.join("\n") + "\n";
}

function load(file: string): Plan {
    let p: Plan;
    try {
        p = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new Error(`cannot read plan '${file}': ${(e as Error).message}`);
    }
    if (!p || !Array.isArray(p.resources)) throw new Error(`'${file}' is not an offline plan (no "resources" array)`);
    return p;
}

const USAGE = "usage: npm run plan:diff -- <base-plan.json> <head-plan.json> [--markdown <file>]";

export function main(argv: string[]): number {
    let files: string[];
    let markdown: string | undefined;
    try {
        const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { markdown: { type: "string" }, help: { type: "boolean", short: "h" } } });
        if (values.help) {
            console.log(`${USAGE}\nMarks changes that force a replacement (heuristic documented in tools/plan-diff.ts) and warns when the plans are of different stacks.`);
            return 0;
        }
        if (positionals.length !== 2) throw new TypeError(`expected two plan files, got ${positionals.length}`);
        files = positionals;
        markdown = values.markdown;
    } catch (e) {
        console.error(`plan:diff: ${(e as Error).message}\n${USAGE}`);
        return 2;
    }
    let d: PlanDiff;
    try {
        d = diffPlans(load(files[0]), load(files[1]));
    } catch (e) {
        console.error(`plan:diff: ${(e as Error).message}`);
        return 1;
    }
    console.log(diffToText(d));
    if (markdown) {
        fs.mkdirSync(path.dirname(path.resolve(markdown)), { recursive: true });
        fs.writeFileSync(markdown, diffToMarkdown(d));
    }
    return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
