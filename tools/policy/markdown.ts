// Markdown summary of a policy run, sized for a PR comment: totals, violations grouped by resource, waivers,
// expired exemptions and checks deferred to `pulumi up`.
import { PolicyRunResult, Violation } from "./run";

const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function groupByResource(violations: Violation[]): Map<string, Violation[]> {
    const groups = new Map<string, Violation[]>();
    for (const v of violations) {
        const key = v.urn ?? "(stack)";
        groups.set(key, [...(groups.get(key) ?? []), v]);
    }
    return groups;
}

export function toMarkdown(results: PolicyRunResult[]): string {
    const lines: string[] = ["## Policy pack `fhir-platform-security`", ""];
    lines.push("| stack | mandatory | advisory | waived | expired exemptions | deferred to up | policies | resources | time |");
    lines.push("|---|---|---|---|---|---|---|---|---|");
    for (const r of results) {
        const mark = r.mandatory.length ? "❌" : "✅";
        lines.push(`| ${mark} ${r.stack} | ${r.mandatory.length} | ${r.advisory.length} | ${r.waived.length} | ${r.expiredExemptions.length} | ${r.deferred.length} | ${r.policiesRun} | ${r.resourcesChecked} | ${r.durationMs.toFixed(0)} ms |`);
    }
    for (const r of results) {
        if (!r.violations.length && !r.waived.length && !r.expiredExemptions.length) continue;
        lines.push("", `### ${r.stack}`, "");
        for (const [urn, vs] of groupByResource(r.violations)) {
            const head = vs[0].resourceName ? `\`${vs[0].resourceName}\` (${vs[0].resourceType})` : urn;
            lines.push(`<details${vs.some(v => v.level === "mandatory") ? " open" : ""}><summary>${head} — ${vs.length} finding(s)</summary>`, "");
            lines.push("| level | policy | finding |", "|---|---|---|");
            for (const v of vs) lines.push(`| ${v.level} | \`${v.policy}\` | ${esc(v.message)} |`);
            lines.push("", "</details>");
        }
        if (r.waived.length) {
            lines.push("", "**Waived by exemption**", "", "| policy | resource | until | reason |", "|---|---|---|---|");
            for (const w of r.waived) lines.push(`| \`${w.policy}\` | ${w.resourceName ?? w.urn ?? ""} | ${w.exemption.expires} | ${esc(w.exemption.reason)} |`);
        }
        if (r.expiredExemptions.length) {
            lines.push("", "**Expired exemptions (no longer applied)**", "", "| policy | resource | expired | reason |", "|---|---|---|---|");
            for (const w of r.expiredExemptions) lines.push(`| \`${w.policy}\` | ${w.resourceName ?? w.urn ?? ""} | ${w.exemption.expires} | ${esc(w.exemption.reason)} |`);
        }
    }
    const deferred = results.flatMap(r => r.deferred.map(d => ({ ...d, stack: r.stack })));
    if (deferred.length) {
        lines.push("", "<details><summary>Checks that need values known only at <code>pulumi up</code></summary>", "");
        for (const d of deferred) lines.push(`- [${d.stack}] ${d.resourceName ?? ""} ${esc(d.message)}`);
        lines.push("", "</details>");
    }
    return lines.join("\n") + "\n";
}

export function toText(r: PolicyRunResult): string {
    const out: string[] = [`policy pack fhir-platform-security on stack '${r.stack}': ${r.policiesRun} policies, ${r.resourcesChecked} resources, ${r.durationMs.toFixed(0)} ms`];
    for (const [urn, vs] of groupByResource(r.violations)) {
        out.push("", `  ${vs[0].resourceName ?? urn} (${vs[0].resourceType ?? "stack"})`);
        for (const v of vs) out.push(`    [${v.level}] ${v.policy}: ${v.message}`);
    }
    for (const w of r.waived) out.push(`  [waived until ${w.exemption.expires}] ${w.policy} on ${w.resourceName ?? w.urn}: ${w.exemption.reason}`);
    for (const w of r.expiredExemptions) out.push(`  [exemption expired ${w.exemption.expires}] ${w.policy} on ${w.resourceName ?? w.urn}`);
    for (const d of r.deferred) out.push(`  [deferred] ${d.resourceName ?? ""} ${d.message}`);
    for (const e of r.unusedExemptions) out.push(`  [unused exemption] ${e.policy} for '${e.resource}' matches no resource in this plan; remove it`);
    out.push("", `${r.mandatory.length} mandatory, ${r.advisory.length} advisory, ${r.waived.length} waived, ${r.expiredExemptions.length} expired exemption(s), ${r.deferred.length} deferred`);
    return out.join("\n");
}
