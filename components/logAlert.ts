import * as pulumi from "@pulumi/pulumi";
import * as monitor from "@pulumi/azure-native/monitor";
import { NamingContext, resourceName } from "./naming";

/** Where a component's log alerts live and whom they page. */
export interface LogAlertContext {
    naming: NamingContext;
    resourceGroupName: pulumi.Input<string>;
    location: pulumi.Input<string>;
    tags: Record<string, string>;
    actionGroupIds: pulumi.Input<string>[];
}

export interface LogAlertArgs {
    description: string;
    severity: number;
    /** The Log Analytics workspace (or resource) the query runs against. */
    scope: pulumi.Input<string>;
    query: pulumi.Input<string>;
    /** Fires when the query returns more rows than this in one window. */
    threshold: number;
    /** ISO 8601 duration; evaluated every 5 minutes. */
    window?: string;
}

/**
 * A scheduled log-query alert (`kind: LogAlert`) that counts the query's rows every five minutes. Query validation is
 * skipped because resource-specific tables appear only once their first log arrives, so a new workspace would
 * refuse the rule (Learn, "Create or edit a log search alert rule": skipQueryValidation).
 */
export function logQueryAlert(
    name: string, key: string, ctx: LogAlertContext, alert: LogAlertArgs, opts: pulumi.CustomResourceOptions,
): monitor.ScheduledQueryRule {
    return new monitor.ScheduledQueryRule(name, {
        ruleName: resourceName(ctx.naming, "alert", key),
        resourceGroupName: ctx.resourceGroupName,
        location: ctx.location,
        kind: "LogAlert",
        description: alert.description,
        displayName: alert.description,
        severity: alert.severity,
        enabled: true,
        scopes: [alert.scope],
        evaluationFrequency: "PT5M",
        windowSize: alert.window ?? "PT5M",
        criteria: {
            allOf: [{
                query: alert.query,
                timeAggregation: "Count",
                operator: "GreaterThan",
                threshold: alert.threshold,
                failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 },
            }],
        },
        skipQueryValidation: true,
        autoMitigate: true,
        actions: { actionGroups: ctx.actionGroupIds },
        tags: ctx.tags,
    }, opts);
}
