import * as pulumi from "@pulumi/pulumi";
import * as eventgrid from "@pulumi/azure-native/eventgrid";
import * as monitor from "@pulumi/azure-native/monitor";
import type * as network from "@pulumi/azure-native/network";
import { deniedEgressQuery, FIREWALL_ALERT_THRESHOLDS } from "./egressFirewallRules";
import { LogAlertArgs, logQueryAlert } from "./logAlert";
import { Monitoring } from "./monitoring";
import { NamingContext, resourceName } from "./naming";

/** Thresholds in one place so reviewers see what pages someone. */
export const ALERT_THRESHOLDS = {
    /** Key Vault requests refused (403) in 5 minutes: any is suspicious (or a broken CMK/secret grant). */
    keyVaultDenied: 0,
    /** Failed Function executions in 15 minutes. */
    functionFailures: 5,
    /** Messages moved to the poison queue in 15 minutes: any means data did not reach FHIR. */
    poisonMessages: 0,
    /** FHIR 5xx responses in 5 minutes (500 also means the CMK is unreachable, pitfall 14). */
    fhirServerErrors: 5,
    /** FHIR 401/403 responses in 5 minutes: a removed role assignment or a token audience mistake. */
    fhirAuthFailures: 20,
    /** Requests the WAF blocked in 5 minutes: an attack, or a rule misfiring on legitimate HL7/FHIR traffic. */
    wafBlocks: 10,
    /** Allowed outbound flows to non-Azure public addresses in an hour: the NSGs allow none, so any is unusual. */
    unusualEgressFlows: 0,
} as const;

/** Builds the KQL of the Key Vault access-denied alert (resource-specific table or AzureDiagnostics). */
export function keyVaultDeniedQuery(vaultId: string): string {
    return [
        "union isfuzzy=true",
        "  (AZKVAuditLogs | where HttpStatusCode == 403 or ResultSignature == \"Forbidden\"),",
        "  (AzureDiagnostics | where ResourceProvider == \"MICROSOFT.KEYVAULT\" and (httpStatusCode_d == 403 or ResultSignature == \"Forbidden\"))",
        `| where _ResourceId =~ "${vaultId}"`,
        "| project TimeGenerated, OperationName, CallerIpAddress, _ResourceId",
    ].join("\n");
}

/**
 * 401/403 answers from FHIR, from its audit log. The `TotalRequests` metric has only a `Protocol` dimension (Learn,
 * "Supported metrics for Microsoft.HealthcareApis/workspaces/fhirservices"), so status codes come from the `AuditLogs`
 * category. Depending on the diagnostic setting's destination type it lands in a resource-specific table
 * (`AHDSFhirAuditLogs`; `MicrosoftHealthcareApisAuditLogs` is the Azure API for FHIR one, same columns) or in
 * `AzureDiagnostics`; the fuzzy union reads whichever exists.
 */
export function fhirAuthFailuresQuery(fhirServiceId: string): string {
    return [
        "union isfuzzy=true",
        "  (AHDSFhirAuditLogs | where StatusCode in (401, 403)),",
        "  (MicrosoftHealthcareApisAuditLogs | where StatusCode in (401, 403)),",
        "  (AzureDiagnostics | where ResourceProvider == \"MICROSOFT.HEALTHCAREAPIS\" and Category == \"AuditLogs\" and toint(column_ifexists(\"StatusCode_d\", 0)) in (401, 403))",
        `| where _ResourceId =~ "${fhirServiceId}"`,
        "| project TimeGenerated, OperationName, CallerIdentityObjectId = column_ifexists(\"CallerIdentityObjectId\", \"\"), _ResourceId",
    ].join("\n");
}

/**
 * Requests the Application Gateway WAF blocked, from its firewall log (resource-specific `AGWFirewallLogs` or
 * `AzureDiagnostics`, depending on the diagnostic setting's destination type).
 */
export function wafBlocksQuery(appGatewayId: string): string {
    return [
        "union isfuzzy=true",
        "  (AGWFirewallLogs | where Action == \"Blocked\"),",
        "  (AzureDiagnostics | where ResourceProvider == \"MICROSOFT.NETWORK\" and Category == \"ApplicationGatewayFirewallLog\" and column_ifexists(\"action_s\", \"\") == \"Blocked\")",
        `| where _ResourceId =~ "${appGatewayId}"`,
        "| project TimeGenerated, RuleId = column_ifexists(\"RuleId\", column_ifexists(\"ruleId_s\", \"\")), _ResourceId",
    ].join("\n");
}

/**
 * Outbound flows from the platform VNet to public addresses outside Azure that were allowed, from VNet flow log traffic
 * analytics (`NTANetAnalytics`; FlowType `ExternalPublic`, FlowDirection `O`, FlowStatus `A`; Learn, "Traffic analytics
 * schema"). The NSGs admit only Azure service tags outbound, so such a flow means a rule changed or egress was bypassed.
 */
export function unusualEgressQuery(vnetName: string): string {
    return [
        "NTANetAnalytics",
        "| where SubType == \"FlowLog\" and FlowDirection == \"O\" and FlowStatus == \"A\" and FlowType == \"ExternalPublic\"",
        `| where SrcSubnet has "/${vnetName}/" or TargetResourceId has "/virtualNetworks/${vnetName}"`,
        "| project TimeGenerated, SrcIp, DestIp, DestPort, L4Protocol, SrcSubnet",
    ].join("\n");
}

/**
 * Messages written to the poison queue. Storage's QueueMessageCount metric is account-wide (no per-queue dimension),
 * so the queue service's resource logs are queried instead: each PutMessage on the poison queue is one failed message.
 */
export function poisonQueueQuery(accountName: string, poisonQueueName: string): string {
    return [
        "StorageQueueLogs",
        `| where AccountName == "${accountName}" and OperationName == "PutMessage"`,
        `| where Uri has "/${poisonQueueName}/messages"`,
        "| project TimeGenerated, StatusCode, Uri",
    ].join("\n");
}

/** Failed executions of the Function (HTTP and queue triggers both surface as requests in Application Insights). */
export function functionFailuresQuery(siteName: string): string {
    return [
        "requests",
        `| where cloud_RoleName =~ "${siteName}" and success == false`,
        "| project timestamp, operation_Name, resultCode",
    ].join("\n");
}

export interface PlatformAlertsArgs {
    naming: NamingContext;
    resourceGroupName: pulumi.Input<string>;
    location: pulumi.Input<string>;
    tags: Record<string, string>;
    /** Receives every alert. */
    email: string;
    /** Log Analytics workspace and App Insights the log alerts query. */
    monitoring: Monitoring;
    /** The platform vault (access-denied alert, near-expiry events). */
    keyVaultId: pulumi.Input<string>;
    /** The ingestion Function app, as it appears in App Insights (cloud_RoleName). */
    functionSiteName: pulumi.Input<string>;
    /** The Function's storage account (queue logs). */
    storageAccountName: pulumi.Input<string>;
    /** Queue that receives messages the Function gave up on. */
    poisonQueueName: string;
    /** FHIR service whose metrics are watched. */
    fhirServiceId: pulumi.Input<string>;
    /** The public Application Gateway whose WAF blocks are watched. */
    appGatewayId: pulumi.Input<string>;
    /** The platform VNet, whose outbound flows the unusual-egress alert watches. */
    vnetName: pulumi.Input<string>;
    /** Its flow log: traffic analytics from it feed the unusual-egress alert, which is created after it. */
    flowLog: network.FlowLog;
    /** Firewall egress mode: the Azure Firewall whose denies and threat-intelligence hits page someone. */
    egressFirewallId?: pulumi.Input<string>;
}

/** The on-call surface: one action group and the alerts that mean PHI is at risk or not flowing. */
export class PlatformAlerts extends pulumi.ComponentResource {
    public readonly actionGroup: monitor.ActionGroup;
    public readonly vaultEvents: eventgrid.SystemTopic;

    constructor(name: string, args: PlatformAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:monitoring:PlatformAlerts", name, {}, opts);
        const { naming, resourceGroupName, location, tags, monitoring } = args;

        this.actionGroup = new monitor.ActionGroup(`${name}-ag`, {
            actionGroupName: resourceName(naming, "ag"),
            resourceGroupName,
            location: "global",
            enabled: true,
            // Shown in e-mail subjects; at most 12 characters.
            groupShortName: `${naming.prefix}-${naming.environment}`.slice(0, 12),
            emailReceivers: [{ name: "platform-email", emailAddress: args.email, useCommonAlertSchema: true }],
            tags,
        }, { parent: this });
        const actionGroups = [this.actionGroup.id];

        const alertContext = { naming, resourceGroupName, location, tags, actionGroupIds: actionGroups };
        const logAlert = (key: string, props: LogAlertArgs & { window: string; dependsOn?: pulumi.Resource[] }) =>
            logQueryAlert(`${name}-${key}`, key, alertContext, props, { parent: this, dependsOn: props.dependsOn });

        logAlert("kv-access-denied", {
            description: "Key Vault refused a request (403): check callers and the CMK / secret role assignments",
            severity: 1,
            scope: monitoring.workspace.id,
            query: pulumi.output(args.keyVaultId).apply(keyVaultDeniedQuery),
            threshold: ALERT_THRESHOLDS.keyVaultDenied,
            window: "PT5M",
        });
        logAlert("function-failures", {
            description: "HL7 ingestion Function executions are failing",
            severity: 2,
            scope: monitoring.appInsights.id,
            query: pulumi.output(args.functionSiteName).apply(functionFailuresQuery),
            threshold: ALERT_THRESHOLDS.functionFailures,
            window: "PT15M",
        });
        logAlert("poison-queue", {
            description: "An HL7 message was moved to the poison queue (it did not reach FHIR); replay after fixing",
            severity: 1,
            scope: monitoring.workspace.id,
            query: pulumi.output(args.storageAccountName).apply((account) => poisonQueueQuery(account, args.poisonQueueName)),
            threshold: ALERT_THRESHOLDS.poisonMessages,
            window: "PT15M",
        });

        logAlert("waf-blocks", {
            description: "The edge WAF is blocking requests: an attack, or a rule misfiring on HL7/FHIR (see the rule ids)",
            severity: 2,
            scope: monitoring.workspace.id,
            query: pulumi.output(args.appGatewayId).apply(wafBlocksQuery),
            threshold: ALERT_THRESHOLDS.wafBlocks,
            window: "PT5M",
        });

        logAlert("unusual-egress", {
            description: "Traffic left the platform VNet for a public address outside Azure: check NSG changes and the flow's source",
            severity: 1,
            scope: monitoring.workspace.id,
            query: pulumi.output(args.vnetName).apply(unusualEgressQuery),
            threshold: ALERT_THRESHOLDS.unusualEgressFlows,
            window: "PT1H",
            dependsOn: [args.flowLog],
        });

        if (args.egressFirewallId) {
            // Firewall mode: the callers and destinations are fixed, so a refused connection is either a missing rule
            // after a change or something inside trying to leave (AZFW structured logs, egressFirewallRules.ts).
            logAlert("denied-egress", {
                description: "The egress firewall refused outbound traffic (rule deny or threat intelligence): check the source and destination",
                severity: 1,
                scope: monitoring.workspace.id,
                query: pulumi.output(args.egressFirewallId).apply(deniedEgressQuery),
                threshold: FIREWALL_ALERT_THRESHOLDS.deniedEgress,
                window: "PT1H",
            });
        }

        // FHIR service metrics (Azure Monitor supported metrics, Microsoft.HealthcareApis/workspaces/fhirservices:
        // TotalErrors has StatusCode, StatusCodeClass and StatusCodeText; TotalRequests has only Protocol).
        const fhirMetricAlert = (key: string, description: string, severity: number, metricName: string, dimension: { name: string; values: string[] }, threshold: number) =>
            new monitor.MetricAlert(`${name}-${key}`, {
                ruleName: resourceName(naming, "alert", key),
                resourceGroupName,
                location: "global",
                description,
                severity,
                enabled: true,
                scopes: [args.fhirServiceId],
                evaluationFrequency: "PT1M",
                windowSize: "PT5M",
                criteria: {
                    odataType: "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                    allOf: [{
                        criterionType: "StaticThresholdCriterion",
                        name: key,
                        metricNamespace: "Microsoft.HealthcareApis/workspaces/fhirservices",
                        metricName,
                        dimensions: [{ name: dimension.name, operator: "Include", values: dimension.values }],
                        operator: "GreaterThan",
                        threshold,
                        timeAggregation: "Total",
                    }],
                },
                autoMitigate: true,
                actions: [{ actionGroupId: this.actionGroup.id }],
                tags,
            }, { parent: this });
        fhirMetricAlert("fhir-5xx", "FHIR is returning server errors (a 500 can mean the CMK is unreachable)", 1, "TotalErrors", { name: "StatusCodeClass", values: ["5xx"] }, ALERT_THRESHOLDS.fhirServerErrors);
        logAlert("fhir-auth-failures", {
            description: "Spike of 401/403 from FHIR: check role assignments and token audiences",
            severity: 2,
            scope: monitoring.workspace.id,
            query: pulumi.output(args.fhirServiceId).apply(fhirAuthFailuresQuery),
            threshold: ALERT_THRESHOLDS.fhirAuthFailures,
            window: "PT5M",
        });

        // Secret near expiry: Key Vault publishes SecretNearExpiry to Event Grid (30 days before `expires`); an Azure
        // Monitor alert destination turns it into an alert on the same action group. That destination takes the
        // CloudEvents schema only.
        this.vaultEvents = new eventgrid.SystemTopic(`${name}-kv-events`, {
            systemTopicName: resourceName(naming, "evgt", "kv"),
            resourceGroupName,
            location,
            source: args.keyVaultId,
            topicType: "Microsoft.KeyVault.vaults",
            tags,
        }, { parent: this });
        new eventgrid.SystemTopicEventSubscription(`${name}-kv-secret-expiry`, {
            systemTopicName: this.vaultEvents.name,
            resourceGroupName,
            eventSubscriptionName: "secret-near-expiry",
            eventDeliverySchema: "CloudEventSchemaV1_0",
            // Keys too: the CMK's rotation policy renews it, and KeyNearExpiry means that did not happen.
            filter: { includedEventTypes: ["Microsoft.KeyVault.SecretNearExpiry", "Microsoft.KeyVault.SecretExpired", "Microsoft.KeyVault.KeyNearExpiry", "Microsoft.KeyVault.KeyExpired"] },
            destination: {
                endpointType: "MonitorAlert",
                severity: "Sev2",
                actionGroups,
                description: "A Key Vault secret or key is about to expire (or expired): the scheduled deploy or the key's rotation policy did not renew it",
            },
        }, { parent: this });
        monitoring.diagnostics(`${name}-kv-events`, this.vaultEvents.id, {}, { parent: this });

        this.registerOutputs({ actionGroupId: this.actionGroup.id });
    }
}
