import * as pulumi from "@pulumi/pulumi";
import * as monitor from "@pulumi/azure-native/monitor";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights";
import { logQueryAlert } from "./logAlert";
import { Monitoring } from "./monitoring";
import { NamingContext, resourceName } from "./naming";

/** Subscription Activity Log categories exported to Log Analytics (who changed what in the subscription). */
export const ACTIVITY_LOG_CATEGORIES = ["Administrative", "Security", "Policy", "ServiceHealth"] as const;

/**
 * Activity Log operations that page someone: each is a control being removed or changed outside a reviewed deploy
 * (Learn, "Azure resource provider operations" for the names).
 */
export const ACTIVITY_ALERTS: { key: string; description: string; operations: string[]; inPlatformGroup?: boolean }[] = [
    { key: "role-assignment-change", description: "A role assignment was created or deleted in the subscription", operations: ["Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete"] },
    { key: "lock-delete", description: "A management lock was deleted (PHI stores lose their deletion protection)", operations: ["Microsoft.Authorization/locks/delete"] },
    { key: "key-vault-delete", description: "A Key Vault was deleted or purged (the CMK makes FHIR data readable)", operations: ["Microsoft.KeyVault/vaults/delete", "Microsoft.KeyVault/locations/deletedVaults/purge/action"] },
    { key: "diagnostic-setting-delete", description: "A diagnostic setting was deleted (audit logs stop flowing)", operations: ["Microsoft.Insights/diagnosticSettings/delete"] },
    { key: "arm-deployment", description: "An ARM deployment changed the platform's resource group outside Pulumi", operations: ["Microsoft.Resources/deployments/write"], inPlatformGroup: true },
];

/** Key and secret deletes and purges happen on Key Vault's data plane: they are in its audit log, not the Activity Log. */
export function keyVaultDeleteQuery(vaultId: string): string {
    return [
        "union isfuzzy=true",
        "  (AZKVAuditLogs | where OperationName in (\"KeyDelete\", \"KeyPurge\", \"SecretDelete\", \"SecretPurge\", \"CertificateDelete\", \"CertificatePurge\")),",
        "  (AzureDiagnostics | where ResourceProvider == \"MICROSOFT.KEYVAULT\" and OperationName in (\"KeyDelete\", \"KeyPurge\", \"SecretDelete\", \"SecretPurge\", \"CertificateDelete\", \"CertificatePurge\"))",
        `| where _ResourceId =~ "${vaultId}"`,
        "| project TimeGenerated, OperationName, CallerIPAddress = column_ifexists(\"CallerIpAddress\", \"\"), _ResourceId",
    ].join("\n");
}

/** Callers refused by the gateway (APIM 401/403), from its gateway log in either destination table. */
export function gatewayAuthFailuresQuery(apimId: string): string {
    return [
        "union isfuzzy=true",
        "  (ApiManagementGatewayLogs | where ResponseCode in (401, 403)),",
        "  (AzureDiagnostics | where ResourceProvider == \"MICROSOFT.APIMANAGEMENT\" and toint(column_ifexists(\"responseCode_d\", 0)) in (401, 403))",
        `| where _ResourceId =~ "${apimId}"`,
        "| project TimeGenerated, OperationName = column_ifexists(\"OperationName\", \"\"), _ResourceId",
    ].join("\n");
}

/**
 * Failed Entra sign-ins of the platform's own service principals (client-credential apps by app id) and managed
 * identities (by principal id). The tables exist only when a tenant admin exports them to this workspace: Entra ID
 * diagnostic settings, categories ServicePrincipalSignInLogs and ManagedIdentitySignInLogs (Learn, "Integrate Microsoft
 * Entra logs with Azure Monitor logs"). ResultType "0" is success; anything else is an AADSTS error code.
 */
export function failedSignInsQuery(appIds: string[], managedIdentityPrincipalIds: string[]): string {
    const list = (ids: string[]) => ids.map((id) => {
        if (!/^[0-9a-f-]{36}$/i.test(id)) throw new Error(`"${id}" is not a GUID`);
        return `"${id}"`;
    }).join(", ");
    return [
        "union isfuzzy=true",
        `  (AADServicePrincipalSignInLogs | where AppId in (${list(appIds)})),`,
        `  (AADManagedIdentitySignInLogs | where ServicePrincipalId in (${list(managedIdentityPrincipalIds)}))`,
        "| where ResultType != \"0\"",
        "| project TimeGenerated, AppId, ServicePrincipalId, ServicePrincipalName, ResultType, ResultDescription, IPAddress",
    ].join("\n");
}

/** "Who accessed Patient X between T1 and T2", as a workspace function: FhirPatientAccess("X", datetime(T1), datetime(T2)). */
export const PATIENT_ACCESS_QUERY = [
    "union isfuzzy=true AHDSFhirAuditLogs, MicrosoftHealthcareApisAuditLogs",
    "| where TimeGenerated between (fromTime .. toTime)",
    "| where RequestUri has strcat(\"/Patient/\", patientId) or (FhirResourceType == \"Patient\" and RequestUri has patientId)",
    "| extend p = todynamic(Properties)",
    "| project TimeGenerated, OperationName, StatusCode, RequestUri, CallerOid = tostring(p[\"X-MS-AZUREFHIR-AUDIT-CALLER-OID\"]),",
    "          CallerAppId = tostring(p[\"X-MS-AZUREFHIR-AUDIT-CALLER-APPID\"]), CallerIdentityObjectId",
    "| order by TimeGenerated asc",
].join("\n");

export interface SecurityAuditArgs {
    naming: NamingContext;
    resourceGroupName: pulumi.Input<string>;
    location: pulumi.Input<string>;
    tags: Record<string, string>;
    /** The subscription whose Activity Log is exported and watched. */
    subscriptionId: pulumi.Input<string>;
    /** Log Analytics (Activity Log destination, saved queries, query alerts). */
    monitoring: Monitoring;
    /** Prod: the WORM audit archive the Activity Log also goes to (auditArchive.ts). */
    auditArchiveStorageAccountId?: pulumi.Input<string>;
    /** Receives the alerts. */
    actionGroupId: pulumi.Input<string>;
    /** The platform vault (data-plane delete and purge alerts). */
    keyVaultId: pulumi.Input<string>;
    /** The gateway (authentication-failure alert). */
    apimId: pulumi.Input<string>;
    /**
     * When the tenant exports Entra sign-in logs to this workspace (config `monitoring.entraSignInLogs`): the platform's
     * client-credential apps and managed identities whose failed sign-ins page someone.
     */
    entraSignIns?: { appIds: pulumi.Input<string>[]; managedIdentityPrincipalIds: pulumi.Input<string>[] };
}

/**
 * What a security team asks after an incident: the subscription's Activity Log in Log Analytics, alerts on the
 * changes that remove controls (role assignments, locks, vault deletes, diagnostic settings, deployments outside
 * Pulumi), gateway authentication failures, and a saved query for "who accessed this patient's record".
 */
export class SecurityAudit extends pulumi.ComponentResource {
    public readonly activityLogExport: monitor.SubscriptionDiagnosticSetting;

    constructor(name: string, args: SecurityAuditArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:monitoring:SecurityAudit", name, {}, opts);
        const { naming, resourceGroupName, location, tags, monitoring } = args;
        const subscriptionScope = pulumi.interpolate`/subscriptions/${args.subscriptionId}`;

        // Subscription-level, one per environment (a subscription takes up to five settings).
        this.activityLogExport = new monitor.SubscriptionDiagnosticSetting(`${name}-activity-log`, {
            name: resourceName(naming, "diag", "activitylog"),
            workspaceId: monitoring.workspace.id,
            ...(args.auditArchiveStorageAccountId ? { storageAccountId: args.auditArchiveStorageAccountId } : {}),
            logs: ACTIVITY_LOG_CATEGORIES.map((category) => ({ category, enabled: true })),
        }, { parent: this });

        for (const alert of ACTIVITY_ALERTS) {
            const operations = alert.operations.map((equals) => ({ field: "operationName", equals }));
            new monitor.ActivityLogAlert(`${name}-${alert.key}`, {
                activityLogAlertName: resourceName(naming, "alert", alert.key),
                resourceGroupName,
                location: "global",
                description: alert.description,
                enabled: true,
                scopes: [subscriptionScope],
                condition: {
                    allOf: [
                        { field: "category", equals: "Administrative" },
                        ...(operations.length === 1 ? operations : [{ anyOf: operations }]),
                        ...(alert.inPlatformGroup ? [{ field: "resourceGroup", equals: resourceGroupName }] : []),
                    ],
                },
                actions: { actionGroups: [{ actionGroupId: args.actionGroupId }] },
                tags,
            }, { parent: this });
        }

        const alertContext = { naming, resourceGroupName, location, tags, actionGroupIds: [args.actionGroupId] };
        const queryAlert = (key: string, description: string, severity: number, query: pulumi.Input<string>, threshold: number) =>
            logQueryAlert(`${name}-${key}`, key, alertContext, { description, severity, scope: monitoring.workspace.id, query, threshold }, { parent: this });
        queryAlert("kv-key-secret-delete", "A key, secret or certificate was deleted or purged in the platform vault", 1, pulumi.output(args.keyVaultId).apply(keyVaultDeleteQuery), 0);
        if (args.entraSignIns) {
            const { appIds, managedIdentityPrincipalIds } = args.entraSignIns;
            // A few failures are a secret mid-rotation; a burst is a stolen or expired credential, or a probe.
            queryAlert("platform-signin-failures", "Failed Entra sign-ins of the platform's service principals or managed identities", 2,
                pulumi.all([pulumi.all(appIds), pulumi.all(managedIdentityPrincipalIds)]).apply(([a, m]) => failedSignInsQuery(a, m)), 5);
        }
        queryAlert("gateway-auth-failures", "Spike of 401/403 at the gateway: stolen or misconfigured client, or probing", 2, pulumi.output(args.apimId).apply(gatewayAuthFailuresQuery), 20);

        new operationalinsights.SavedSearch(`${name}-patient-access`, {
            savedSearchId: "fhir-patient-access",
            workspaceName: monitoring.workspace.name,
            resourceGroupName,
            category: "FHIR audit",
            displayName: "Who accessed a patient's record (FHIR audit log, caller from the gateway's audit headers)",
            functionAlias: "FhirPatientAccess",
            functionParameters: "patientId:string, fromTime:datetime, toTime:datetime",
            query: PATIENT_ACCESS_QUERY,
        }, { parent: this });

        this.registerOutputs({ activityLogExportId: this.activityLogExport.id });
    }
}
