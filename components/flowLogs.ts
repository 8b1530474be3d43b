import * as pulumi from "@pulumi/pulumi";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as network from "@pulumi/azure-native/network";
import * as storage from "@pulumi/azure-native/storage";
import { deleteLock } from "./locks";
import { Monitoring } from "./monitoring";
import { compactGlobalName, NamingContext, resourceName } from "./naming";
import { rbacPropagationWait } from "./propagation";
import { grantRoles } from "./rbac";
import { KEYLESS_STORAGE_ACCOUNT } from "./storageDefaults";

/**
 * The regional Network Watcher Azure enables on its own when a VNet is created in a region (Learn, "Enable or disable
 * Azure Network Watcher"): only one may exist per region and subscription, so the program uses it rather than
 * declaring one. Flow logs are child resources of the watcher and live in its resource group.
 */
export function defaultNetworkWatcher(location: string): { resourceGroupName: string; name: string } {
    return { resourceGroupName: "NetworkWatcherRG", name: `NetworkWatcher_${location}` };
}

export interface NetworkFlowLogsArgs {
    naming: NamingContext;
    /** Stable random suffix: the storage account name is global. */
    globalSuffix: pulumi.Input<string>;
    resourceGroupName: pulumi.Input<string>;
    location: string;
    /** Subscription, for role definition ids. */
    subscriptionId: pulumi.Input<string>;
    tags: Record<string, string>;
    /** The VNet whose flows are logged (every subnet, every NIC: VNet flow logs replace NSG flow logs). */
    vnetId: pulumi.Input<string>;
    /** Days the raw flow records are kept (and the traffic analytics in Log Analytics by its own retention). */
    retentionDays: number;
    /** Audit evidence: protect and lock the account in prod. */
    deleteLock: boolean;
    /** Seconds between the blob grant and the flow log's first write (RBAC propagation). */
    rbacPropagationSeconds: number;
    /** Traffic analytics destination and the account's diagnostics. */
    monitoring: Monitoring;
    /** Where the regional watcher is (defaults to Azure's automatic one). */
    networkWatcher?: { resourceGroupName: string; name: string };
}

/**
 * VNet flow logs (new NSG flow logs can no longer be created: Learn, "NSG flow logs retirement") into a storage account
 * with shared keys off, written by a managed identity, and traffic analytics into Log Analytics every 10 minutes, so
 * egress is queryable (`NTANetAnalytics`) and the unusual-egress alert has data.
 */
export class NetworkFlowLogs extends pulumi.ComponentResource {
    public readonly account: storage.StorageAccount;
    public readonly flowLog: network.FlowLog;

    constructor(name: string, args: NetworkFlowLogsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:monitoring:NetworkFlowLogs", name, {}, opts);
        const { naming, resourceGroupName, location, tags } = args;
        const watcher = args.networkWatcher ?? defaultNetworkWatcher(location);

        this.account = new storage.StorageAccount(`${name}-st`, {
            accountName: pulumi.output(args.globalSuffix).apply((s) => compactGlobalName(naming, "stflow", s)),
            resourceGroupName, location, tags,
            ...KEYLESS_STORAGE_ACCOUNT,
            sku: { name: "Standard_LRS" },
            // Network Watcher writes as a trusted Microsoft service: the firewall denies everything else. publicNetworkAccess
            // is left unset (access governed by the network rules): Disabled would refuse the trusted-service path too.
            networkRuleSet: { defaultAction: "Deny", bypass: "AzureServices", ipRules: [], virtualNetworkRules: [] },
            encryption: {
                keySource: "Microsoft.Storage",
                requireInfrastructureEncryption: true,
                services: { blob: { enabled: true, keyType: "Account" } },
            },
        }, { parent: this, protect: args.deleteLock });
        if (args.deleteLock) deleteLock(`${name}-st-lock`, this.account.id, "Flow logs are audit evidence of network access to PHI systems.", { parent: this });

        const identity = new managedidentity.UserAssignedIdentity(`${name}-id`, {
            resourceName: resourceName(naming, "id", "flowlog"), resourceGroupName, location, tags,
        }, { parent: this });
        const grant = grantRoles(`${name}-role`, [{
            key: "blob-writer", role: "storageBlobDataContributor", scope: this.account.id, principalId: identity.principalId,
            principalType: "ServicePrincipal", description: "VNet flow logs write their records with this identity (no account keys)",
        }], args.subscriptionId, { parent: this })["blob-writer"];
        const grantPropagated = rbacPropagationWait(`${name}-grant-wait`, {
            grants: [grant], seconds: args.rbacPropagationSeconds, reason: "VNet flow log writes as its identity",
        }, { parent: this });

        this.flowLog = new network.FlowLog(`${name}-vnet`, {
            flowLogName: resourceName(naming, "flowlog", "vnet"),
            networkWatcherName: watcher.name,
            resourceGroupName: watcher.resourceGroupName,
            location,
            targetResourceId: args.vnetId,
            storageId: this.account.id,
            identity: { type: "UserAssigned", userAssignedIdentities: [identity.id] },
            enabled: true,
            format: { type: "JSON", version: 2 },
            retentionPolicy: { enabled: true, days: Math.min(args.retentionDays, 365) },
            flowAnalyticsConfiguration: {
                networkWatcherFlowAnalyticsConfiguration: {
                    enabled: true,
                    workspaceId: args.monitoring.workspace.customerId,
                    workspaceRegion: location,
                    workspaceResourceId: args.monitoring.workspace.id,
                    trafficAnalyticsInterval: 10,
                },
            },
            tags,
        }, { parent: this, dependsOn: [grantPropagated] });

        args.monitoring.diagnostics(`${name}-st`, this.account.id, { logs: { categories: [] } }, { parent: this });
        args.monitoring.diagnostics(`${name}-st-blob`, pulumi.interpolate`${this.account.id}/blobServices/default`, {}, { parent: this });
        this.registerOutputs({ flowLogId: this.flowLog.id, storageAccountId: this.account.id });
    }
}
