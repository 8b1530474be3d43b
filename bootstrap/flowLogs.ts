import * as pulumi from "@pulumi/pulumi";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as network from "@pulumi/azure-native/network";
import * as storage from "@pulumi/azure-native/storage";
import { BOOTSTRAP_ROLES } from "./access";
import { assignRole } from "./assign";
import { BootstrapAudit } from "./audit";
import { rbacPropagationWait } from "../components/propagation";
import { KEYLESS_STORAGE_ACCOUNT } from "../components/storageDefaults";

export interface RunnerFlowLogsArgs {
    namePrefix: string;
    globalSuffix: pulumi.Input<string>;
    resourceGroupName: pulumi.Input<string>;
    location: string;
    tags: Record<string, string>;
    subscriptionId: pulumi.Input<string>;
    /** Runner VNets by environment. */
    vnets: Record<string, network.VirtualNetwork>;
    audit: BootstrapAudit;
    rbacPropagationSeconds: number;
}

/** Raw flow records are kept 90 days; traffic analytics stay in the audit workspace for its retention. */
const FLOW_LOG_RETENTION_DAYS = 90;

/**
 * VNet flow logs of the runner networks (policy net-vnet-flow-logs): runners execute repository code next to the
 * platform's private endpoints, so their egress and lateral traffic are on record. Records go to an Entra-only account
 * written by a managed identity, traffic analytics to the bootstrap's audit workspace. Flow logs are children of the
 * regional Network Watcher Azure enables on its own in `NetworkWatcherRG` when the first VNet of a region is created
 * (Learn, "Enable or disable Azure Network Watcher"); NSG flow logs can no longer be created (Learn, retirement notice).
 */
export class RunnerFlowLogs extends pulumi.ComponentResource {
    public readonly account: storage.StorageAccount;
    public readonly flowLogs: Record<string, network.FlowLog> = {};

    constructor(name: string, args: RunnerFlowLogsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:bootstrap:RunnerFlowLogs", name, {}, opts);
        const { resourceGroupName, location, tags } = args;

        this.account = new storage.StorageAccount(`${name}-st`, {
            accountName: pulumi.interpolate`st${args.namePrefix}flow${args.globalSuffix}`,
            resourceGroupName, location, tags,
            ...KEYLESS_STORAGE_ACCOUNT,
            sku: { name: "Standard_LRS" },
            // Network Watcher writes as a trusted Microsoft service; the firewall denies everyone else.
            publicNetworkAccess: "Enabled",
            networkRuleSet: { defaultAction: "Deny", bypass: "AzureServices", ipRules: [], virtualNetworkRules: [] },
            encryption: {
                keySource: "Microsoft.Storage",
                requireInfrastructureEncryption: true,
                services: { blob: { enabled: true, keyType: "Account" } },
            },
        }, { parent: this });
        args.audit.diagnostics(`${name}-st`, this.account.id, { logs: false, metrics: true }, { parent: this });
        args.audit.diagnostics(`${name}-st-blob`, pulumi.interpolate`${this.account.id}/blobServices/default`, { metrics: true }, { parent: this });

        const identity = new managedidentity.UserAssignedIdentity(`${name}-id`, {
            resourceName: `id-${args.namePrefix}-runner-flowlogs`, resourceGroupName, location, tags,
        }, { parent: this });
        const grant = assignRole(`${name}-blob-writer`, {
            scope: this.account.id, roleGuid: BOOTSTRAP_ROLES.storageBlobDataContributor, subscriptionId: args.subscriptionId,
            principalId: identity.principalId, principalType: "ServicePrincipal",
            description: "Runner VNet flow logs write their records with this identity (no account keys)",
        }, { parent: this });
        // The first write uses the grant: wait for it to apply (Learn: RBAC changes take up to ~10 minutes).
        const propagated = rbacPropagationWait(`${name}-grant-wait`, { grants: [grant], seconds: args.rbacPropagationSeconds, reason: "runner VNet flow log writes as its identity" }, { parent: this });

        for (const [env, vnet] of Object.entries(args.vnets)) {
            this.flowLogs[env] = new network.FlowLog(`${name}-${env}`, {
                flowLogName: `flowlog-${args.namePrefix}-${env}-runners`,
                networkWatcherName: `NetworkWatcher_${location}`,
                resourceGroupName: "NetworkWatcherRG",
                location,
                targetResourceId: vnet.id,
                storageId: this.account.id,
                identity: { type: "UserAssigned", userAssignedIdentities: [identity.id] },
                enabled: true,
                format: { type: "JSON", version: 2 },
                retentionPolicy: { enabled: true, days: FLOW_LOG_RETENTION_DAYS },
                flowAnalyticsConfiguration: {
                    networkWatcherFlowAnalyticsConfiguration: {
                        enabled: true,
                        workspaceId: args.audit.workspace.customerId,
                        workspaceRegion: location,
                        workspaceResourceId: args.audit.workspace.id,
                        trafficAnalyticsInterval: 10,
                    },
                },
                tags: { ...tags, environment: env },
            }, { parent: this, dependsOn: [propagated] });
        }
        this.registerOutputs({ accountName: this.account.name });
    }
}
