// SARIF 2.1.0 for GitHub code scanning (github/codeql-action/upload-sarif). Each policy is a rule; each violation a
// result located at the component source line that declares the resource type (best effort), with the URN as the
// logical location. Waived violations are kept as results with an external suppression so reviewers see them.
import * as fs from "fs";
import * as path from "path";
import { PolicyMeta } from "../../policy/policies/framework";
import { PolicyRunResult, Violation } from "./run";

const SEVERITY_SCORE: Record<string, string> = { critical: "9.5", high: "8.0", medium: "5.5", low: "3.0" };

interface SourceIndex {
    find(type: string): { uri: string; line: number } | undefined;
}

/** Finds where a type is constructed, e.g. `new keyvault.Vault(` for azure-native:keyvault:Vault. */
export function indexSources(root: string, dirs = ["components", "stacks"]): SourceIndex {
    const files: Array<{ uri: string; lines: string[] }> = [];
    const walk = (d: string) => {
        if (!fs.existsSync(d)) return;
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.name.endsWith(".ts")) files.push({ uri: path.relative(root, p).split(path.sep).join("/"), lines: fs.readFileSync(p, "utf8").split("\n") });
        }
    };
    dirs.forEach(d => walk(path.join(root, d)));
    return {
        find(type: string) {
            const parts = type.split(":");
            const cls = parts[parts.length - 1].split("/").pop()!;
            const re = new RegExp(`new\\s+(?:[\\w.]+\\.)?${cls}\\s*\\(`);
            for (const f of files) {
                const i = f.lines.findIndex(l => re.test(l));
                if (i >= 0) return { uri: f.uri, line: i + 1 };
            }
            return undefined;
        },
    };
}

export function toSarif(results: PolicyRunResult[], metas: PolicyMeta[], opts: { sourceRoot?: string; fallbackUri?: string; version?: string } = {}): object {
    const index = indexSources(opts.sourceRoot ?? process.cwd());
    const rules = metas.map(m => ({
        id: m.name,
        name: m.name,
        shortDescription: { text: m.description.split(/(?<=\.)\s/)[0] },
        fullDescription: { text: m.description },
        help: { text: `${m.description}\nAnchor: ${anchorText(m)}` },
        defaultConfiguration: { level: m.enforcementLevel === "mandatory" ? "error" : "warning" },
        properties: { tags: ["security", ...(m.anchor.azurePolicy ?? []).map(g => `azure-policy/${g}`)], "security-severity": SEVERITY_SCORE[m.severity] ?? "5.0", precision: "high" },
    }));
    const ruleIndex = new Map(rules.map((r, i) => [r.id, i]));
    const location = (stack: string, v: { urn?: string; resourceName?: string; resourceType?: string }) => {
        const src = v.resourceType ? index.find(v.resourceType) : undefined;
        return {
            physicalLocation: {
                artifactLocation: { uri: src?.uri ?? opts.fallbackUri ?? `Pulumi.${stack}.yaml` },
                region: { startLine: src?.line ?? 1 },
            },
            logicalLocations: v.urn ? [{ fullyQualifiedName: v.urn, name: v.resourceName, kind: "resource" }] : [],
        };
    };
    const out: object[] = [];
    for (const r of results) {
        for (const v of r.violations) out.push(result(r.stack, v, ruleIndex, location));
        for (const w of r.waived) {
            out.push({
                ...result(r.stack, { policy: w.policy, level: w.level, message: w.message, urn: w.urn, resourceName: w.resourceName, resourceType: w.resourceType, description: "" }, ruleIndex, location),
                suppressions: [{ kind: "external", status: "accepted", justification: `${w.exemption.reason} (until ${w.exemption.expires})` }],
            });
        }
    }
    return {
        $schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: [
            {
                tool: { driver: { name: "fhir-platform-security", version: opts.version ?? "0.1.0", informationUri: "https://www.pulumi.com/docs/iac/packages-and-automation/crossguard/", rules } },
                results: out,
                automationDetails: { id: `policy/${results.map(r => r.stack).join("+")}` },
            },
        ],
    };
}

function result(
    stack: string,
    v: Violation,
    ruleIndex: Map<string, number>,
    location: (stack: string, v: Violation) => object,
): Record<string, unknown> {
    return {
        ruleId: v.policy,
        ruleIndex: ruleIndex.get(v.policy) ?? -1,
        level: v.level === "mandatory" ? "error" : "warning",
        message: { text: `[${stack}] ${v.resourceName ? `${v.resourceName}: ` : ""}${v.message}` },
        locations: [location(stack, v)],
        partialFingerprints: { resourcePolicy: `${stack}/${v.policy}/${v.urn ?? ""}` },
    };
}

export function anchorText(m: PolicyMeta): string {
    const parts: string[] = [];
    if (m.anchor.azurePolicy?.length) parts.push(`Azure Policy ${m.anchor.azurePolicy.join(", ")}`);
    if (m.anchor.scanner?.length) parts.push(m.anchor.scanner.join(", "));
    if (m.anchor.hitrust) parts.push(`HITRUST ${m.anchor.hitrust}`);
    if (m.anchor.derivedFrom) parts.push(m.anchor.derivedFrom);
    return parts.join("; ") || "—";
}
