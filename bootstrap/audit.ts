import * as pulumi from "@pulumi/pulumi";
import * as monitor from "@pulumi/azure-native/monitor";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights";

export interface BootstrapAuditArgs {
    namePrefix: string;
    resourceGroupName: pulumi.Input<string>;
    location: string;
    tags: Record<string, string>;
}

/**
 * Who read or changed state, and who decrypted with a secrets-provider key: state blobs hold every resource id and
 * the stacks' encrypted secrets, so their access is audited like the platform's own data (policy diag-settings-required).
 */
export class BootstrapAudit extends pulumi.ComponentResource {
    public readonly workspace: operationalinsights.Workspace;

    constructor(name: string, args: BootstrapAuditArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:bootstrap:BootstrapAudit", name, {}, opts);
        this.workspace = new operationalinsights.Workspace(`${name}-law`, {
            workspaceName: `log-${args.namePrefix}-bootstrap`,
            resourceGroupName: args.resourceGroupName,
            location: args.location,
            sku: { name: "PerGB2018" },
            // An audit trail of access to state and keys: a year, like the prod platform's own audit logs.
            retentionInDays: 365,
            features: { disableLocalAuth: true, enableLogAccessUsingOnlyResourcePermissions: true },
            tags: args.tags,
        }, { parent: this });
        this.registerOutputs({ workspaceId: this.workspace.id });
    }

    /** A diagnostic setting on `resourceUri`: every log category (unless `logs` is false) and, optionally, metrics. */
    diagnostics(name: string, resourceUri: pulumi.Input<string>, options: { logs?: boolean; metrics?: boolean }, opts: pulumi.CustomResourceOptions): monitor.DiagnosticSetting {
        return new monitor.DiagnosticSetting(`${name}-diag`, {
            name: "send-to-log-analytics",
            resourceUri,
            workspaceId: this.workspace.id,
            logAnalyticsDestinationType: "Dedicated",
            logs: options.logs === false ? [] : [{ categoryGroup: "allLogs", enabled: true }],
            metrics: options.metrics ? [{ category: "AllMetrics", enabled: true }] : [],
        }, opts);
    }
}
