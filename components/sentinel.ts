import * as pulumi from "@pulumi/pulumi";
import * as securityinsights from "@pulumi/azure-native/securityinsights";
import { Monitoring } from "./monitoring";

/**
 * Analytics rules: each a scheduled query over tables the platform fills (FHIR and Key Vault audit logs, the Activity
 * Log), turned into Sentinel incidents. Thresholds are starting points for the SOC to tune.
 */
export const SENTINEL_RULES: { id: string; displayName: string; severity: "High" | "Medium" | "Low"; tactics: string[]; query: string; threshold: number }[] = [
    {
        id: "kv-access-denied-burst",
        displayName: "Key Vault access denied burst (platform vault)",
        severity: "High",
        tactics: ["CredentialAccess"],
        query: [
            "union isfuzzy=true",
            "  (AZKVAuditLogs | where HttpStatusCode == 403),",
            "  (AzureDiagnostics | where ResourceProvider == \"MICROSOFT.KEYVAULT\" and httpStatusCode_d == 403)",
            "| summarize Denied = count() by CallerIpAddress = column_ifexists(\"CallerIpAddress\", \"\"), bin(TimeGenerated, 10m)",
            "| where Denied >= 10",
        ].join("\n"),
        threshold: 0,
    },
    {
        id: "fhir-mass-read",
        displayName: "Mass FHIR reads by one caller (possible exfiltration)",
        severity: "High",
        tactics: ["Collection", "Exfiltration"],
        query: [
            "union isfuzzy=true AHDSFhirAuditLogs, MicrosoftHealthcareApisAuditLogs",
            "| where OperationName has_any (\"read\", \"search\") and StatusCode < 300",
            "| extend Caller = coalesce(tostring(todynamic(Properties)[\"X-MS-AZUREFHIR-AUDIT-CALLER-OID\"]), CallerIdentityObjectId)",
            "| summarize Reads = count(), Patients = dcount(RequestUri) by Caller, bin(TimeGenerated, 1h)",
            "| where Reads > 1000 or Patients > 200",
        ].join("\n"),
        threshold: 0,
    },
    {
        id: "role-assignment-outside-deploy",
        displayName: "Role assignment by someone other than the deploying identity",
        severity: "Medium",
        tactics: ["PrivilegeEscalation", "Persistence"],
        // The deploying identity's object id is substituted at deploy time: everything else is out-of-band.
        query: [
            "AzureActivity",
            "| where OperationNameValue =~ \"Microsoft.Authorization/roleAssignments/write\" and ActivityStatusValue =~ \"Success\"",
            "| where Caller != \"{deployer}\"",
            "| project TimeGenerated, Caller, CallerIpAddress, ResourceGroup, Properties",
        ].join("\n"),
        threshold: 0,
    },
];

export interface PlatformSentinelArgs {
    resourceGroupName: pulumi.Input<string>;
    /** The workspace Sentinel is onboarded on: the platform's Log Analytics. */
    monitoring: Monitoring;
    /** Object id of the deploying identity: role assignments it makes are expected, all others are an incident. */
    deployerObjectId: pulumi.Input<string>;
}

/** Microsoft Sentinel on the platform's workspace (prod) with analytics rules for the threats this platform faces. */
export class PlatformSentinel extends pulumi.ComponentResource {
    constructor(name: string, args: PlatformSentinelArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:monitoring:PlatformSentinel", name, {}, opts);
        const workspaceName = args.monitoring.workspace.name;
        const onboarding = new securityinsights.SentinelOnboardingState(`${name}-onboarding`, {
            resourceGroupName: args.resourceGroupName,
            workspaceName,
            sentinelOnboardingStateName: "default",
        }, { parent: this });
        for (const rule of SENTINEL_RULES) {
            new securityinsights.ScheduledAlertRule(`${name}-${rule.id}`, {
                resourceGroupName: args.resourceGroupName,
                workspaceName,
                ruleId: rule.id,
                kind: "Scheduled",
                displayName: rule.displayName,
                description: rule.displayName,
                enabled: true,
                severity: rule.severity,
                tactics: rule.tactics,
                query: pulumi.output(args.deployerObjectId).apply((deployer) => rule.query.replace("{deployer}", deployer)),
                queryFrequency: "PT1H",
                queryPeriod: "PT1H",
                triggerOperator: "GreaterThan",
                triggerThreshold: rule.threshold,
                suppressionEnabled: false,
                suppressionDuration: "PT1H",
                incidentConfiguration: { createIncident: true, groupingConfiguration: { enabled: true, matchingMethod: "AllEntities", lookbackDuration: "PT5H", reopenClosedIncident: false } },
            }, { parent: this, dependsOn: [onboarding] });
        }
        this.registerOutputs({});
    }
}
