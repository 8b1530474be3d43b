// Monitoring: diagnostic settings on every resource that supports them (stack policies that follow
// propertyDependencies.resourceUri, which works during preview when ids are unknown), audit-log categories for FHIR and
// Key Vault, Application Insights / Log Analytics hardening, and alert rules that notify someone.
import * as applicationinsights from "@pulumi/azure-native/applicationinsights";
import * as monitor from "@pulumi/azure-native/monitor";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights";
import { PolicyResource, validateResourceOfType } from "@pulumi/policy";
import { asArray, has, isFunctionAppKind, linksTo, peek, resourcePolicy, stackPolicy } from "./framework";

const DIAG = "azure-native:monitor:DiagnosticSetting";

/** Diagnostic settings that target `target`: through propertyDependencies, or a literal resourceUri under its id. */
export function diagnosticSettingsFor(target: PolicyResource, resources: PolicyResource[]): PolicyResource[] {
    const id = peek(target.props, "id");
    return resources.filter(r => {
        if (!r.isType(monitor.DiagnosticSetting)) return false;
        if (linksTo(r, target, ["resourceUri"])) return true;
        const uri = peek(r.props, "resourceUri");
        return typeof id === "string" && typeof uri === "string" && (uri === id || uri.startsWith(`${id}/`));
    });
}

function enabledLogs(setting: PolicyResource): Array<{ category?: string; categoryGroup?: string }> {
    return asArray<any>(setting.props.logs).filter(l => l.enabled === true);
}

function hasDestination(setting: PolicyResource): boolean {
    return ["workspaceId", "storageAccountId", "eventHubAuthorizationRuleId"].some(k => has(setting.props, k));
}

function coversCategories(setting: PolicyResource, accepted: string[]): boolean {
    const want = accepted.map(a => a.toLowerCase());
    return enabledLogs(setting).some(l => want.includes(String(l.category ?? l.categoryGroup ?? "").toLowerCase()));
}

const DEFAULT_TARGETS = [
    "azure-native:keyvault:Vault",
    "azure-native:healthcareapis:FhirService",
    "azure-native:apimanagement:ApiManagementService",
    "azure-native:web:WebApp",
    "azure-native:network:NetworkSecurityGroup",
    "azure-native:storage:StorageAccount",
];

export const diagRequired = stackPolicy(
    {
        name: "diag-settings-required",
        description:
            "Every resource that emits resource logs (config targetTypes: Key Vault, FHIR, APIM, Function App, NSG, storage) " +
            "needs a monitor.DiagnosticSetting that targets it (resourceUri), sends to Log Analytics (workspaceId) and enables " +
            "logs (categoryGroup allLogs/audit) or, for storage accounts, metrics.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [DIAG, ...DEFAULT_TARGETS],
        anchor: {
            azurePolicy: ["7f89b1eb-583c-429a-8828-af049802c1d9", "cf820ca0-f99e-4f3e-84fb-66e913812d21", "eb2fea88-fa7b-4531-a4c1-428c618fbcc8", "567c93f7-3661-494f-a30f-0a94d9bfebf8"],
            hitrust: "1210.09aa3System.3-09.aa",
        },
        settings: {
            targetTypes: { type: "array", items: { type: "string" }, default: DEFAULT_TARGETS },
            metricsOnlyTypes: { type: "array", items: { type: "string" }, default: ["azure-native:storage:StorageAccount"] },
        },
    },
    (args, report) => {
        const { targetTypes, metricsOnlyTypes } = args.getConfig<{ targetTypes: string[]; metricsOnlyTypes: string[] }>();
        for (const target of args.resources.filter(r => targetTypes.includes(r.type))) {
            if (target.type === "azure-native:web:WebApp" && !isFunctionAppKind(target.props.kind)) continue;
            const settings = diagnosticSettingsFor(target, args.resources);
            // Storage accounts expose only metrics at account level; their logs live on the blob/queue services,
            // which a setting with a resourceUri under the account id also satisfies.
            const metricsOk = metricsOnlyTypes.includes(target.type);
            const good = settings.filter(s => hasDestination(s) && (enabledLogs(s).length > 0 || (metricsOk && asArray<any>(s.props.metrics).some(m => m.enabled === true))));
            if (settings.length === 0) report(`'${target.name}' (${target.type}) has no diagnostic setting.`, target.urn);
            else if (good.length === 0) report(`diagnostic settings of '${target.name}' send no enabled logs to a destination.`, target.urn);
        }
    },
);

function auditPolicy(name: string, typeToken: string, categories: string[], description: string, anchor: Parameters<typeof stackPolicy>[0]["anchor"]) {
    return stackPolicy(
        {
            name,
            description,
            enforcementLevel: "mandatory",
            severity: "high",
            resourceTypes: [typeToken, DIAG],
            anchor,
            settings: { acceptedCategories: { type: "array", items: { type: "string" }, default: categories } },
        },
        (args, report) => {
            const { acceptedCategories } = args.getConfig<{ acceptedCategories: string[] }>();
            for (const target of args.resources.filter(r => r.type === typeToken)) {
                const ok = diagnosticSettingsFor(target, args.resources).some(s => has(s.props, "workspaceId") && coversCategories(s, acceptedCategories));
                if (!ok) report(`'${target.name}' sends no audit logs (${acceptedCategories.join(" / ")}) to Log Analytics.`, target.urn);
            }
        },
    );
}

export const fhirAuditLogs = auditPolicy(
    "fhir-audit-logs",
    "azure-native:healthcareapis:FhirService",
    ["AuditLogs", "audit", "allLogs"],
    "Every FHIR service needs a diagnostic setting that sends the AuditLogs category (or category group audit/allLogs) to a " +
        "Log Analytics workspace: it is the PHI access trail.",
    { azurePolicy: ["eb2fea88-fa7b-4531-a4c1-428c618fbcc8"] },
);

export const kvAuditLogs = auditPolicy(
    "kv-audit-logs",
    "azure-native:keyvault:Vault",
    ["AuditEvent", "audit", "allLogs"],
    "Every Key Vault needs a diagnostic setting that sends AuditEvent (or category group audit/allLogs) to Log Analytics, so key and secret access is traceable.",
    { azurePolicy: ["cf820ca0-f99e-4f3e-84fb-66e913812d21"], hitrust: "1211.09aa3System.4-09.aa" },
);

export const diagSettingShape = resourcePolicy(
    {
        name: "diag-setting-to-log-analytics",
        description:
            "Diagnostic settings must send to a Log Analytics workspace (workspaceId) and enable at least one log or metric; " +
            "settings that only point at storage or event hubs are not queried by the alerts.",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: [DIAG],
        anchor: { azurePolicy: ["7f89b1eb-583c-429a-8828-af049802c1d9"] },
    },
    validateResourceOfType(monitor.DiagnosticSetting, (d, _a, report) => {
        if (!has(d, "workspaceId")) report("workspaceId is not set.");
        const any = asArray(d.logs).some(l => l.enabled === true) || asArray(d.metrics).some(m => m.enabled === true);
        if (!any) report("no log category or metric is enabled.");
    }),
);

export const appInsightsLocalAuth = resourcePolicy(
    {
        name: "appi-local-auth-disabled",
        description:
            "Application Insights must set disableLocalAuth true (Entra-only ingestion) and be workspace-based (workspaceResourceId) " +
            "so telemetry lands in the audited Log Analytics workspace.",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: ["azure-native:applicationinsights:Component"],
        anchor: { derivedFrom: "Microsoft Learn, Application Insights Entra authentication (disableLocalAuth)" },
    },
    validateResourceOfType(applicationinsights.Component, (c, _a, report) => {
        if (c.disableLocalAuth !== true) report("disableLocalAuth is not true; instrumentation keys alone could ingest telemetry.");
        if (!has(c, "workspaceResourceId")) report("workspaceResourceId is not set (classic Application Insights).");
    }),
);

export const logAnalyticsRetention = resourcePolicy(
    {
        name: "log-analytics-retention",
        description:
            "Log Analytics workspaces must keep data at least minRetentionDays (config; audit trails for PHI access) and " +
            "should disable local (shared-key) auth via features.disableLocalAuth.",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: ["azure-native:operationalinsights:Workspace"],
        anchor: { derivedFrom: "HIPAA 45 CFR 164.312(b) audit controls; Azure Policy cf820ca0 requiredRetentionDays parameter" },
        settings: { minRetentionDays: { type: "integer", minimum: 30, default: 30 } },
    },
    validateResourceOfType(operationalinsights.Workspace, (w, args, report) => {
        const { minRetentionDays } = args.getConfig<{ minRetentionDays: number }>();
        if (typeof w.retentionInDays !== "number" || w.retentionInDays < minRetentionDays) {
            report(`retentionInDays is ${String(w.retentionInDays)}, minimum ${minRetentionDays}.`);
        }
    }),
);

export const alertsNotify = resourcePolicy(
    {
        name: "alerts-route-to-action-group",
        description:
            "Alert rules (monitor.MetricAlert, monitor.ScheduledQueryRule) must be enabled and reference an action group, and " +
            "action groups must be enabled with at least one receiver — an alert nobody receives is no control.",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: ["azure-native:monitor:MetricAlert", "azure-native:monitor:ScheduledQueryRule", "azure-native:monitor:ActionGroup"],
        anchor: { derivedFrom: "issue 4 (alerts); HITRUST 1211.09aa3 (monitoring of audit events)" },
    },
    [
        validateResourceOfType(monitor.MetricAlert, (a, _args, report) => {
            if (a.enabled === false) report("the alert rule is disabled.");
            if (asArray(a.actions).length === 0) report("actions is empty; reference an action group.");
        }),
        validateResourceOfType(monitor.ScheduledQueryRule, (a, _args, report) => {
            if (a.enabled === false) report("the alert rule is disabled.");
            if (!a.actions || asArray(a.actions.actionGroups).length === 0) report("actions.actionGroups is empty; reference an action group.");
        }),
        validateResourceOfType(monitor.ActionGroup, (g, _args, report) => {
            if (g.enabled !== true) report("the action group is disabled.");
            const receivers = ["emailReceivers", "smsReceivers", "webhookReceivers", "armRoleReceivers", "azureAppPushReceivers", "logicAppReceivers", "azureFunctionReceivers", "eventHubReceivers", "itsmReceivers", "voiceReceivers", "automationRunbookReceivers", "incidentReceivers"] as const;
            if (!receivers.some(k => asArray((g as any)[k]).length > 0)) report("the action group has no receivers.");
        }),
    ],
);

export const monitoringPolicies = [diagRequired, fhirAuditLogs, kvAuditLogs, diagSettingShape, appInsightsLocalAuth, logAnalyticsRetention, alertsNotify];

