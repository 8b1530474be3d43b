import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as storage from "@pulumi/azure-native/storage";
import { BootstrapAudit } from "./audit";
import { KEYLESS_STORAGE_ACCOUNT } from "../components/storageDefaults";

/** Where the state account and secrets vault can be reached from, and how names are made unique. */
export interface BackendPlacement {
    /** Short prefix and a random suffix make the globally unique account and vault names. */
    namePrefix: string;
    globalSuffix: pulumi.Input<string>;
    resourceGroupName: pulumi.Input<string>;
    location: string;
    tags: Record<string, string>;
    /** One container / key per environment. */
    environments: string[];
    /** Public operator addresses the firewalls admit. */
    allowedIpRanges: string[];
    /** Runner subnets the firewalls admit through their service endpoints. */
    runnerSubnetIds: pulumi.Input<string>[];
    /** Where access logs go. */
    audit: BootstrapAudit;
}

/**
 * Network posture shared by the state account and the vault: a public endpoint whose firewall denies by default and
 * admits only the runner subnets and the operators' addresses; authentication is Entra-only. A private endpoint would
 * lock out the operator's own machine, which runs this bootstrap and the first `pulumi stack init`; an open endpoint
 * would rely on RBAC alone.
 */
export const FIREWALL = { defaultAction: "Deny" as const, bypass: "AzureServices" as const };

/** A CanNotDelete lock: `protect` guards against Pulumi, the lock against the portal and CLI (Learn, "Lock your resources"). */
export function deleteLock(name: string, scope: pulumi.Input<string>, notes: string, opts: pulumi.CustomResourceOptions): authorization.ManagementLockByScope {
    return new authorization.ManagementLockByScope(name, { scope, lockName: "do-not-delete-pulumi-state", level: "CanNotDelete", notes }, opts);
}

/** The Pulumi DIY state backend: one private container per environment in a versioned, Entra-only account. */
export class StateStore extends pulumi.ComponentResource {
    public readonly account: storage.StorageAccount;
    public readonly containers: Record<string, storage.BlobContainer> = {};

    constructor(name: string, args: BackendPlacement & { retentionDays: number }, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:bootstrap:StateStore", name, {}, opts);
        const { resourceGroupName, location, tags } = args;

        this.account = new storage.StorageAccount(`${name}-account`, {
            accountName: pulumi.interpolate`st${args.namePrefix}state${args.globalSuffix}`,
            resourceGroupName, location, tags,
            // Entra ID only (Pulumi's azblob backend uses DefaultAzureCredential when no key is set: pulumi/pulumi#10900).
            ...KEYLESS_STORAGE_ACCOUNT,
            // Zone-redundant: state must survive a zone outage; versions and soft delete cover mistakes.
            sku: { name: "Standard_ZRS" },
            accessTier: "Hot",
            encryption: {
                keySource: "Microsoft.Storage",
                requireInfrastructureEncryption: true,
                services: { blob: { enabled: true, keyType: "Account" } },
            },
            publicNetworkAccess: "Enabled",
            networkRuleSet: {
                ...FIREWALL,
                ipRules: args.allowedIpRanges.map((ip) => ({ iPAddressOrRange: ip, action: "Allow" as const })),
                virtualNetworkRules: args.runnerSubnetIds.map((id) => ({ virtualNetworkResourceId: id, action: "Allow" as const })),
            },
        }, { parent: this, protect: true });
        deleteLock(`${name}-account-lock`, this.account.id, "Pulumi state of the FHIR platform stacks (bootstrap/README.md)", { parent: this });

        // Every write of a stack's checkpoint is a new version; a bad `pulumi up` or a deleted stack is recoverable.
        new storage.BlobServiceProperties(`${name}-blob-service`, {
            accountName: this.account.name,
            resourceGroupName,
            blobServicesName: "default",
            isVersioningEnabled: true,
            deleteRetentionPolicy: { enabled: true, days: args.retentionDays },
            containerDeleteRetentionPolicy: { enabled: true, days: args.retentionDays },
            changeFeed: { enabled: true, retentionInDays: args.retentionDays },
        }, { parent: this });
        args.audit.diagnostics(`${name}-account`, this.account.id, { logs: false, metrics: true }, { parent: this });
        // Blob reads, writes and deletes: who touched which stack's checkpoint.
        args.audit.diagnostics(`${name}-blob`, pulumi.interpolate`${this.account.id}/blobServices/default`, { metrics: true }, { parent: this });

        for (const env of args.environments) {
            this.containers[env] = new storage.BlobContainer(`${name}-${env}`, {
                accountName: this.account.name,
                resourceGroupName,
                containerName: `state-${env}`,
                publicAccess: "None",
            }, { parent: this });
        }
        this.registerOutputs({ accountName: this.account.name });
    }

    /** `azblob://<container>?storage_account=<account>` (pulumi/pulumi#10900: the query parameter selects Entra auth). */
    backendUrl(env: string): pulumi.Output<string> {
        return pulumi.interpolate`azblob://${this.containers[env].name}?storage_account=${this.account.name}`;
    }
}
