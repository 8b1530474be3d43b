// npm run plan:diff -- <base-plan.json> <head-plan.json> [--markdown <file>]
// Lists resources added, removed and changed between two offline plans, with the changed input paths. Values are shown
// only when short and never when either side is a redacted secret, so the output is safe for a PR comment.
import * as fs from "fs";
import * as path from "path";

interface PlanResource {
    urn: string;
    type: string;
    name: string;
    inputs?: Record<string, unknown>;
    dependencies?: string[];
}

interface Plan {
    stack: string;
    resources: PlanResource[];
}

export interface InputChange {
    path: string;
    before?: string;
    after?: string;
}

export interface PlanDiff {
    stack: string;
    added: PlanResource[];
    removed: PlanResource[];
    changed: Array<{ resource: PlanResource; changes: InputChange[] }>;
    unchanged: number;
}

const REDACTED = "[secret]";

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

export function diffPlans(base: Plan, head: Plan): PlanDiff {
    const before = new Map(base.resources.map(r => [r.urn, r]));
    const after = new Map(head.resources.map(r => [r.urn, r]));
    const diff: PlanDiff = { stack: head.stack, added: [], removed: [], changed: [], unchanged: 0 };
    for (const [urn, r] of after) {
        const old = before.get(urn);
        if (!old) diff.added.push(r);
        else {
            const changes = diffInputs(old.inputs ?? {}, r.inputs ?? {});
            if (changes.length) diff.changed.push({ resource: r, changes });
            else diff.unchanged++;
        }
    }
    for (const [urn, r] of before) if (!after.has(urn)) diff.removed.push(r);
    return diff;
}

export function diffToText(d: PlanDiff): string {
    const out = [`plan diff for stack '${d.stack}': ${d.added.length} to add, ${d.changed.length} to change, ${d.removed.length} to remove, ${d.unchanged} unchanged`];
    for (const r of d.added) out.push(`  + ${r.type} ${r.name}`);
    for (const r of d.removed) out.push(`  - ${r.type} ${r.name}`);
    for (const c of d.changed) {
        out.push(`  ~ ${c.resource.type} ${c.resource.name}`);
        for (const ch of c.changes) out.push(`      ${ch.path}: ${ch.before ?? "(unset)"} => ${ch.after ?? "(unset)"}`);
    }
    return out.join("\n");
}

export function diffToMarkdown(d: PlanDiff): string {
    const esc = (s: string) => s.replace(/\|/g, "\\|");
    const lines = [`### Plan diff: \`${d.stack}\``, "", `**${d.added.length}** to add, **${d.changed.length}** to change, **${d.removed.length}** to remove, ${d.unchanged} unchanged.`, ""];
    if (d.added.length + d.removed.length + d.changed.length === 0) return lines.join("\n") + "\nNo changes.\n";
    lines.push("| | resource | type | changed inputs |", "|---|---|---|---|");
    for (const r of d.added) lines.push(`| ➕ | \`${r.name}\` | ${r.type} | |`);
    for (const r of d.removed) lines.push(`| ➖ | \`${r.name}\` | ${r.type} | |`);
    for (const c of d.changed) {
        const paths = c.changes.map(ch => `\`${esc(ch.path)}\`: ${esc(ch.before ?? "(unset)")} → ${esc(ch.after ?? "(unset)")}`).join("<br>");
        lines.push(`| ✏️ | \`${c.resource.name}\` | ${c.resource.type} | ${paths} |`);
    }
    return lines.join("\n") + "\n";
}

function load(file: string): Plan {
    const p = JSON.parse(fs.readFileSync(file, "utf8"));
    if (!p || !Array.isArray(p.resources)) throw new Error(`'${file}' is not an offline plan (no "resources" array)`);
    return p;
}

function main(argv: string[]): number {
    const files: string[] = [];
    let markdown: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--markdown") {
            markdown = argv[++i];
            if (!markdown) {
                console.error("plan:diff: --markdown needs a file");
                return 2;
            }
        } else files.push(argv[i]);
    }
    if (files.length !== 2) {
        console.error("usage: npm run plan:diff -- <base-plan.json> <head-plan.json> [--markdown <file>]");
        return 2;
    }
    let d: PlanDiff;
    try {
        d = diffPlans(load(files[0]), load(files[1]));
    } catch (e) {
        console.error(`plan:diff: ${(e as Error).message}`);
        return 2;
    }
    console.log(diffToText(d));
    if (markdown) {
        fs.mkdirSync(path.dirname(path.resolve(markdown)), { recursive: true });
        fs.writeFileSync(markdown, diffToMarkdown(d));
    }
    return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
