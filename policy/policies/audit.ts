// Security operations (issue 12): the subscription Activity Log reaches Log Analytics, the changes that remove controls
// page someone, and "who accessed this record" has a saved answer.
import * as monitor from "@pulumi/azure-native/monitor";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights";
import { validateResourceOfType } from "@pulumi/policy";
import { asArray, has, peek, resourcePolicy, stackPolicy } from "./framework";

const SUB_DIAG = "azure-native:monitor:SubscriptionDiagnosticSetting";
const ACTIVITY_ALERT = "azure-native:monitor:ActivityLogAlert";
const SAVED_SEARCH = "azure-native:operationalinsights:SavedSearch";

/** Stack-wide findings are reported against the stack itself, so a stack that is not the platform can be exempted by name. */
function stackUrn(resources: { type: string; urn: string }[]): string | undefined {
    return resources.find((r) => r.type === "pulumi:pulumi:Stack")?.urn;
}

const REQUIRED_CATEGORIES = ["Administrative", "Security", "Policy", "ServiceHealth"];
/** Operations whose Activity Log events must page someone (config requiredOperations). */
const REQUIRED_OPERATIONS = [
    "Microsoft.Authorization/roleAssignments/write",
    "Microsoft.Authorization/roleAssignments/delete",
    "Microsoft.Authorization/locks/delete",
    "Microsoft.KeyVault/vaults/delete",
    "Microsoft.Insights/diagnosticSettings/delete",
];

export const activityLogExport = stackPolicy(
    {
        name: "monitor-activity-log-export",
        description:
            "The stack must export the subscription Activity Log (Administrative, Security, Policy, ServiceHealth) to a Log " +
            "Analytics workspace with a monitor.SubscriptionDiagnosticSetting, so subscription changes are queryable and kept.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [SUB_DIAG],
        anchor: { derivedFrom: "Azure Policy built-in 'Configure Azure Activity logs to stream to specified Log Analytics workspace'; HIPAA audit controls" },
    },
    (args, report) => {
        const exports = args.resources.filter((r) => r.type === SUB_DIAG);
        const complete = exports.some((r) => {
            if (!has(r.props, "workspaceId")) return false;
            const enabled = asArray<any>(peek(r.props, "logs") as any[]).filter((l) => l.enabled === true).map((l) => String(l.category));
            return REQUIRED_CATEGORIES.every((c) => enabled.includes(c));
        });
        if (!complete) report(`no subscription diagnostic setting sends ${REQUIRED_CATEGORIES.join(", ")} to a Log Analytics workspace.`, stackUrn(args.resources));
    },
);

export const activityLogAlerts = stackPolicy(
    {
        name: "monitor-activity-log-alerts",
        description:
            "Enabled Activity Log alerts with an action group must cover role assignment writes and deletes, lock deletes, " +
            "Key Vault deletes and diagnostic-setting deletes (config requiredOperations).",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [ACTIVITY_ALERT],
        anchor: { derivedFrom: "Azure Policy built-ins 'An activity log alert should exist for specific Administrative operations'" },
        settings: { requiredOperations: { type: "array", items: { type: "string" }, default: REQUIRED_OPERATIONS } },
    },
    (args, report) => {
        const { requiredOperations } = args.getConfig<{ requiredOperations: string[] }>();
        const covered = new Set<string>();
        for (const alert of args.resources.filter((r) => r.type === ACTIVITY_ALERT)) {
            if (peek(alert.props, "enabled") === false) continue;
            if (asArray<any>(peek(peek(alert.props, "actions"), "actionGroups") as any[]).length === 0) continue;
            for (const c of asArray<any>(peek(peek(alert.props, "condition"), "allOf") as any[])) {
                const leaves = c.anyOf ? asArray<any>(c.anyOf) : [c];
                for (const l of leaves) if (String(l.field).toLowerCase() === "operationname") covered.add(String(l.equals).toLowerCase());
            }
        }
        for (const op of requiredOperations) if (!covered.has(op.toLowerCase())) report(`no enabled Activity Log alert with an action group watches ${op}.`, stackUrn(args.resources));
    },
);

export const savedSearchNoRawIdentifiers = resourcePolicy(
    {
        name: "audit-saved-search-parameterised",
        description:
            "Saved searches must take identifiers as function parameters (functionAlias + functionParameters), never embed a " +
            "patient identifier or name in the query text stored in the workspace.",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: [SAVED_SEARCH],
        anchor: { derivedFrom: "HIPAA minimum necessary: no PHI in configuration" },
    },
    validateResourceOfType(operationalinsights.SavedSearch, (s, _args, report) => {
        if (!s.functionAlias || !s.functionParameters) report("the saved search is not a parameterised function.");
        if (/Patient\/[A-Za-z0-9.-]+"/.test(String(s.query))) report("the query embeds a patient identifier.");
    }),
);

export const activityAlertActionGroup = resourcePolicy(
    {
        name: "monitor-activity-alert-action-group",
        description: "Activity Log alerts must be enabled and route to an action group (an alert nobody receives protects nothing).",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: [ACTIVITY_ALERT],
        anchor: { derivedFrom: "issue 12 (alerts on control changes)" },
    },
    validateResourceOfType(monitor.ActivityLogAlert, (a, _args, report) => {
        if (a.enabled === false) report("the alert is disabled.");
        if (asArray(a.actions?.actionGroups).length === 0) report("the alert has no action group.");
    }),
);

const SENTINEL = "azure-native:securityinsights:SentinelOnboardingState";
const SENTINEL_RULE = "azure-native:securityinsights:ScheduledAlertRule";

export const sentinelOnboarded = stackPolicy(
    {
        name: "monitor-sentinel-prod",
        description:
            "When config requireSentinel is true (prod), Microsoft Sentinel must be onboarded on the stack's workspace " +
            "(securityinsights.SentinelOnboardingState) with at least minRules enabled scheduled analytics rules that create incidents.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [SENTINEL, SENTINEL_RULE],
        anchor: { derivedFrom: "issue 12 (SOC analytics in Sentinel for prod)" },
        settings: { requireSentinel: { type: "boolean", default: false }, minRules: { type: "number", default: 3 } },
    },
    (args, report) => {
        const { requireSentinel, minRules } = args.getConfig<{ requireSentinel: boolean; minRules: number }>();
        if (!requireSentinel) return;
        if (!args.resources.some((r) => r.type === SENTINEL)) report("Microsoft Sentinel is not onboarded on the workspace.");
        const rules = args.resources.filter((r) => r.type === SENTINEL_RULE && peek(r.props, "enabled") === true
            && peek(peek(r.props, "incidentConfiguration"), "createIncident") === true);
        if (rules.length < minRules) report(`only ${rules.length} enabled analytics rules create incidents (at least ${minRules}).`);
    },
);

const DIAG = "azure-native:monitor:DiagnosticSetting";
const STORAGE = "azure-native:storage:StorageAccount";
const FHIR = "azure-native:healthcareapis:FhirService";
const VAULT = "azure-native:keyvault:Vault";

/** What keeps an account from being a WORM archive of at least `minDays`, or an empty list. */
export function wormProblems(account: Record<string, any>, minDays: number): string[] {
    const imm = peek(account, "immutableStorageWithVersioning");
    const policy = peek(imm, "immutabilityPolicy");
    const problems: string[] = [];
    if (peek(imm, "enabled") !== true) problems.push("immutableStorageWithVersioning.enabled is not true");
    const state = peek(policy, "state");
    if (!["Unlocked", "Locked"].includes(String(state))) problems.push(`the default immutability policy's state is '${String(state)}' (Unlocked or Locked expected)`);
    const days = peek(policy, "immutabilityPeriodSinceCreationInDays");
    if (typeof days !== "number" || days < minDays) problems.push(`blobs are immutable for ${String(days)} days (at least ${minDays})`);
    // Resource logs are append blobs: without protected appends Azure Monitor cannot add to them.
    if (peek(policy, "allowProtectedAppendWrites") !== true) problems.push("allowProtectedAppendWrites is not true (resource logs are append blobs)");
    return problems;
}

export const auditArchiveWorm = stackPolicy(
    {
        name: "monitor-audit-archive-worm",
        description:
            "When config requireAuditArchive is true (prod), the diagnostic settings carrying the FHIR audit log (AuditLogs) " +
            "and Key Vault audit events (AuditEvent), and the subscription Activity Log export, must also send to a storage " +
            "account (storageAccountId) in the stack with account-level version immutability (immutableStorageWithVersioning " +
            "enabled, default policy Unlocked or Locked, immutabilityPeriodSinceCreationInDays ≥ minImmutabilityDays, " +
            "allowProtectedAppendWrites true).",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [DIAG, SUB_DIAG, STORAGE],
        anchor: { derivedFrom: "issue 12 (audit archive); HIPAA 45 CFR 164.312(b) audit controls, 164.316(b)(2) retention; Learn, Immutable storage for blob data" },
        settings: { requireAuditArchive: { type: "boolean", default: false }, minImmutabilityDays: { type: "number", default: 365 } },
    },
    (args, report) => {
        const { requireAuditArchive, minImmutabilityDays } = args.getConfig<{ requireAuditArchive: boolean; minImmutabilityDays: number }>();
        if (!requireAuditArchive) return;
        const accounts = args.resources.filter((r) => r.type === STORAGE);
        /** Why a setting's storage destination is not a WORM archive, or undefined when it is one. */
        const archiveProblem = (setting: (typeof args.resources)[number]): string | undefined => {
            if (!has(setting.props, "storageAccountId")) return "has no storageAccountId";
            const target = accounts.find((a) => (setting.propertyDependencies.storageAccountId ?? []).some((d) => d.urn === a.urn)
                || (typeof peek(a.props, "id") === "string" && peek(setting.props, "storageAccountId") === peek(a.props, "id")));
            if (!target) return "sends to a storage account outside the stack";
            const problems = wormProblems(target.props, minImmutabilityDays);
            return problems.length ? `sends to '${target.name}', which is not WORM: ${problems.join("; ")}` : undefined;
        };
        const logsOf = (s: (typeof args.resources)[number]) => asArray<any>(peek(s.props, "logs") as any[]).filter((l) => l.enabled === true)
            .map((l) => String(l.category ?? l.categoryGroup ?? "").toLowerCase());
        for (const [type, category] of [[FHIR, "auditlogs"], [VAULT, "auditevent"]] as const) {
            for (const target of args.resources.filter((r) => r.type === type)) {
                const settings = args.resources.filter((d) => d.type === DIAG && (d.propertyDependencies.resourceUri ?? []).some((u) => u.urn === target.urn)
                    && logsOf(d).some((c) => [category, "audit", "alllogs"].includes(c)));
                const problems = settings.map(archiveProblem);
                if (settings.length === 0 || problems.every((p) => p !== undefined)) {
                    report(`the audit logs of '${target.name}' are not archived to WORM storage${problems.length ? ` (its setting ${problems.join("; ")})` : ""}.`, target.urn);
                }
            }
        }
        const exports = args.resources.filter((r) => r.type === SUB_DIAG && ["administrative", "security"].every((c) => logsOf(r).includes(c)));
        const exportProblems = exports.map(archiveProblem);
        if (exports.length === 0 || exportProblems.every((p) => p !== undefined)) {
            report(`the subscription Activity Log is not archived to WORM storage${exportProblems.length ? ` (its export ${exportProblems.join("; ")})` : ""}.`, stackUrn(args.resources));
        }
    },
);

export const auditPolicies = [activityLogExport, activityLogAlerts, activityAlertActionGroup, savedSearchNoRawIdentifiers, sentinelOnboarded, auditArchiveWorm];
