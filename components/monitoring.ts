import * as pulumi from "@pulumi/pulumi";
import * as applicationinsights from "@pulumi/azure-native/applicationinsights";
import * as monitor from "@pulumi/azure-native/monitor";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights";
import { NamingContext, resourceName } from "./naming";

export interface MonitoringArgs {
    /** Naming prefix and environment. */
    naming: NamingContext;
    /** Resource group of the workspace and Application Insights. */
    resourceGroupName: pulumi.Input<string>;
    /** Azure region. */
    location: pulumi.Input<string>;
    /** Log Analytics retention in days (30–730). */
    logRetentionDays: number;
    /** Daily ingestion cap in GB; 0 for none. */
    dailyQuotaGb: number;
    /** Tags for every resource. */
    tags: Record<string, string>;
}

/** Which logs a diagnostic setting sends. */
export type DiagnosticLogs =
    /** Every log category of the resource. */
    | { categoryGroup: "allLogs" | "audit" }
    /** Named categories, for resources whose audit trail is one category (Key Vault `AuditEvent`, FHIR `AuditLogs`). */
    | { categories: string[] };

export interface DiagnosticsOptions {
    /** Logs to send; defaults to every category (`allLogs`). */
    logs?: DiagnosticLogs;
    /** Send the `AllMetrics` category too (default true); some resource types (NSGs) have no metrics. */
    metrics?: boolean;
    /**
     * Also write the same logs to this storage account (the WORM audit archive, auditArchive.ts). One setting may
     * have one destination of each type (Learn, "Diagnostic settings in Azure Monitor"), and the same category cannot
     * go to one workspace from two settings, so the archive is a second destination of this setting.
     */
    archiveStorageAccountId?: pulumi.Input<string>;
}

/**
 * Log Analytics plus workspace-based Application Insights (Entra-only ingestion), and the one way every component
 * attaches a diagnostic setting to the resources it creates.
 */
export class Monitoring extends pulumi.ComponentResource {
    public readonly workspace: operationalinsights.Workspace;
    public readonly appInsights: applicationinsights.Component;

    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:monitoring:Monitoring", name, {}, opts);
        const { naming, resourceGroupName, location, tags } = args;

        this.workspace = new operationalinsights.Workspace(`${name}-law`, {
            workspaceName: resourceName(naming, "log"),
            resourceGroupName,
            location,
            sku: { name: "PerGB2018" },
            retentionInDays: args.logRetentionDays,
            ...(args.dailyQuotaGb > 0 ? { workspaceCapping: { dailyQuotaGb: args.dailyQuotaGb } } : {}),
            features: {
                // Entra-only ingestion: no shared workspace keys.
                disableLocalAuth: true,
                // Readers need rights on the resource whose logs they query, not just on the workspace.
                enableLogAccessUsingOnlyResourcePermissions: true,
            },
            tags,
        }, { parent: this });

        this.appInsights = new applicationinsights.Component(`${name}-appi`, {
            resourceName: resourceName(naming, "appi"),
            resourceGroupName,
            location,
            kind: "web",
            applicationType: "web",
            workspaceResourceId: this.workspace.id,
            ingestionMode: "LogAnalytics",
            // The instrumentation key alone can no longer write telemetry: senders need an Entra token and the
            // Monitoring Metrics Publisher role.
            disableLocalAuth: true,
            // Client IPs stay masked: they can identify a patient's device.
            disableIpMasking: false,
            tags,
        }, { parent: this });

        this.registerOutputs({ workspaceId: this.workspace.id, appInsightsId: this.appInsights.id });
    }

    /**
     * Sends a resource's logs and metrics to the workspace. `parent` should be the component that owns the target,
     * so the setting appears next to it.
     */
    diagnostics(
        name: string,
        resourceUri: pulumi.Input<string>,
        options: DiagnosticsOptions = {},
        opts: pulumi.CustomResourceOptions = {},
    ): monitor.DiagnosticSetting {
        const logs = options.logs ?? { categoryGroup: "allLogs" };
        return new monitor.DiagnosticSetting(`${name}-diag`, {
            name: "send-to-log-analytics",
            resourceUri,
            workspaceId: this.workspace.id,
            ...(options.archiveStorageAccountId ? { storageAccountId: options.archiveStorageAccountId } : {}),
            // Resource-specific tables (e.g. MicrosoftHealthcareApisAuditLogs) instead of AzureDiagnostics.
            logAnalyticsDestinationType: "Dedicated",
            logs: "categories" in logs
                ? logs.categories.map((category) => ({ category, enabled: true }))
                : [{ categoryGroup: logs.categoryGroup, enabled: true }],
            metrics: options.metrics === false ? [] : [{ category: "AllMetrics", enabled: true }],
        }, opts);
    }
}
