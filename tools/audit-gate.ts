// npm run audit:gate -- <npm-audit.json> [--allowlist security/audit-allowlist.json] [--today YYYY-MM-DD]
// Gates on `npm audit --omit=dev --json`: exit 1 when a production dependency has a high or critical advisory that the
// reviewed allow-list does not accept, or when an allow-list entry has expired; 2 on usage errors or unreadable input.
// Every accepted advisory needs a reason, a reviewer and an expiry, so an exception is revisited, never forgotten.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";

export interface AllowlistEntry {
    /** GitHub advisory id (GHSA-xxxx-xxxx-xxxx) or the advisory URL. */
    advisory: string;
    package: string;
    reason: string;
    reviewedBy: string;
    /** Last day (UTC, inclusive) the acceptance holds, YYYY-MM-DD. */
    expires: string;
}

export interface AuditFinding {
    package: string;
    severity: string;
    advisory: string;
    title: string;
}

const BLOCKING = new Set(["high", "critical"]);
const GHSA = /GHSA-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}/i;

/** Every high/critical advisory of `npm audit --json` (npm 7+ report format), one per package and advisory. */
export function blockingFindings(report: unknown): AuditFinding[] {
    const vulns = (report as { vulnerabilities?: Record<string, { severity?: string; via?: unknown[] }> })?.vulnerabilities;
    if (!vulns || typeof vulns !== "object") throw new Error("not an npm audit --json report (no vulnerabilities map)");
    const out = new Map<string, AuditFinding>();
    for (const [pkg, v] of Object.entries(vulns)) {
        for (const via of v.via ?? []) {
            // A string `via` names another vulnerable package; its own entry carries the advisory.
            if (typeof via !== "object" || via === null) continue;
            const a = via as { url?: string; severity?: string; title?: string; name?: string };
            if (!BLOCKING.has(String(a.severity))) continue;
            const advisory = GHSA.exec(String(a.url))?.[0]?.toUpperCase() ?? String(a.url);
            out.set(`${pkg}|${advisory}`, { package: a.name ?? pkg, severity: String(a.severity), advisory, title: String(a.title ?? "") });
        }
    }
    return [...out.values()];
}

/** Validates the allow-list; every problem names its entry. */
export function readAllowlist(raw: unknown): AllowlistEntry[] {
    if (!Array.isArray(raw)) throw new Error("the allow-list must be a JSON array of entries");
    const problems: string[] = [];
    raw.forEach((e: Partial<AllowlistEntry>, i) => {
        for (const k of ["advisory", "package", "reason", "reviewedBy", "expires"] as const) {
            if (typeof e?.[k] !== "string" || !e[k]) problems.push(`entry #${i + 1}: "${k}" is required`);
        }
        if (typeof e?.expires === "string" && (!/^\d{4}-\d{2}-\d{2}$/.test(e.expires) || Number.isNaN(Date.parse(`${e.expires}T00:00:00Z`)))) {
            problems.push(`entry #${i + 1}: "expires" must be a date YYYY-MM-DD`);
        }
        if (typeof e?.reason === "string" && e.reason.length < 20) problems.push(`entry #${i + 1}: "reason" must say why the advisory does not apply`);
    });
    if (problems.length) throw new Error(`malformed allow-list:\n  ${problems.join("\n  ")}`);
    return raw as AllowlistEntry[];
}

export interface GateResult {
    blocked: AuditFinding[];
    accepted: AuditFinding[];
    expired: AllowlistEntry[];
}

export function gate(findings: AuditFinding[], allowlist: AllowlistEntry[], today: string): GateResult {
    const expired = allowlist.filter((e) => e.expires < today);
    const active = allowlist.filter((e) => e.expires >= today);
    const allowed = (f: AuditFinding) => active.some((e) => e.package === f.package && e.advisory.toUpperCase().includes(f.advisory.toUpperCase()));
    return { blocked: findings.filter((f) => !allowed(f)), accepted: findings.filter(allowed), expired };
}

function main(): number {
    let parsed;
    try {
        parsed = parseArgs({ allowPositionals: true, options: { allowlist: { type: "string" }, today: { type: "string" }, help: { type: "boolean", short: "h" } } });
    } catch (err) {
        console.error(`audit-gate: ${(err as Error).message}`);
        return 2;
    }
    const usage = "usage: npm run audit:gate -- <npm-audit.json> [--allowlist security/audit-allowlist.json] [--today YYYY-MM-DD]";
    if (parsed.values.help) {
        console.log(usage);
        return 0;
    }
    if (parsed.positionals.length !== 1) {
        console.error(`audit-gate: one audit report is required\n${usage}`);
        return 2;
    }
    const today = parsed.values.today ?? new Date().toISOString().slice(0, 10);
    let findings: AuditFinding[];
    let allowlist: AllowlistEntry[];
    try {
        findings = blockingFindings(JSON.parse(fs.readFileSync(parsed.positionals[0], "utf8")));
        allowlist = readAllowlist(JSON.parse(fs.readFileSync(parsed.values.allowlist ?? path.join(__dirname, "..", "security", "audit-allowlist.json"), "utf8")));
    } catch (err) {
        console.error(`audit-gate: ${(err as Error).message}`);
        return 2;
    }
    const r = gate(findings, allowlist, today);
    for (const f of r.accepted) console.log(`accepted  ${f.severity} ${f.package} ${f.advisory} (allow-list)`);
    for (const e of r.expired) console.log(`EXPIRED   allow-list entry ${e.package} ${e.advisory} (expired ${e.expires}): review it again`);
    for (const f of r.blocked) console.log(`BLOCKED   ${f.severity} ${f.package} ${f.advisory} ${f.title}`);
    console.log(`${r.blocked.length} blocking, ${r.accepted.length} accepted, ${r.expired.length} expired allow-list entries`);
    return r.blocked.length > 0 || r.expired.length > 0 ? 1 : 0;
}

if (require.main === module) process.exit(main());
