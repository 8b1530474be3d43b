import * as pulumi from "@pulumi/pulumi";
import * as storage from "@pulumi/azure-native/storage";
import { deleteLock } from "./locks";
import { Monitoring } from "./monitoring";
import { compactGlobalName, NamingContext } from "./naming";
import { StorageCmk, storageCustomerManagedKey, StorageCmkSettings } from "./storageCmk";
import { KEYLESS_STORAGE_ACCOUNT } from "./storageDefaults";

export interface AuditArchiveArgs {
    /** Naming prefix and environment. */
    naming: NamingContext;
    /** Stable random suffix: storage account names are global. */
    globalSuffix: pulumi.Input<string>;
    resourceGroupName: pulumi.Input<string>;
    /** Same region as the platform vault holding the archive's key. */
    location: pulumi.Input<string>;
    tags: Record<string, string>;
    /** Subscription, for role definition ids. */
    subscriptionId: pulumi.Input<string>;
    /** Replication of the archive account (zone-redundant in prod). */
    sku: "Standard_LRS" | "Standard_ZRS" | "Standard_GZRS";
    /**
     * Days every archived blob stays immutable (WORM) after it is written: the retention the config states for audit
     * logs (`monitoring.logRetentionDays`). Blobs are deleted by lifecycle management the day after.
     */
    retentionDays: number;
    /**
     * Lock the time-based policy: it can then only be lengthened, never shortened or removed, not even by an Owner.
     * Azure creates policies unlocked, so this is a second deploy's step (config `monitoring.auditArchive.locked`).
     */
    lockImmutabilityPolicy: boolean;
    /** The account's own customer-managed key in the platform vault (with its rotation policy). */
    cmk: StorageCmkSettings;
    /** Seconds between the key grant and the account's first use of the key. */
    rbacPropagationSeconds: number;
    /** `protect` the account and put a CanNotDelete lock on it (prod). */
    deleteLock: boolean;
    /** Who reads the archive goes to Log Analytics (blob service diagnostics). */
    monitoring: Monitoring;
}

/**
 * The audit archive: a storage account that keeps the FHIR audit log, Key Vault audit events and the subscription
 * Activity Log (the diagnostic settings that also send them to Log Analytics add it as their `storageAccountId`) under
 * a time-based immutability (WORM) policy, so nobody, including a subscription Owner, can alter or delete the evidence
 * before the retention ends. Encrypted with its own customer-managed key, infrastructure encryption on, keyless.
 */
export class AuditArchive extends pulumi.ComponentResource {
    public readonly account: storage.StorageAccount;
    public readonly cmk: StorageCmk;
    /** The `storageAccountId` the archived diagnostic settings send to. */
    public readonly storageAccountId: pulumi.Output<string>;

    constructor(name: string, args: AuditArchiveArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:monitoring:AuditArchive", name, {}, opts);
        const { naming, resourceGroupName, location, tags } = args;

        this.cmk = storageCustomerManagedKey(`${name}-st`, {
            naming, resourceGroupName, location, tags,
            subscriptionId: args.subscriptionId,
            rbacPropagationSeconds: args.rbacPropagationSeconds,
            keyName: "audit-archive-cmk",
            identityQualifier: "auditarchive-cmk",
            purpose: "Audit archive",
            settings: args.cmk,
        }, { parent: this });

        this.account = new storage.StorageAccount(`${name}-st`, {
            accountName: pulumi.output(args.globalSuffix).apply((s) => compactGlobalName(naming, "staudit", s)),
            resourceGroupName, location, tags,
            // Shared keys off: Azure Monitor writes diagnostic and Activity Log data as a trusted Microsoft service with
            // its own authorization, not with account keys (Learn, "Diagnostic settings in Azure Monitor", destination
            // limitations; "Azure Storage firewall rules", trusted access: "Azure Monitor - allows writing of
            // monitoring data to a secured storage account").
            ...KEYLESS_STORAGE_ACCOUNT,
            sku: { name: args.sku },
            // No network path but the trusted-service exception: default Deny, no IP or VNet rule, bypass AzureServices.
            // publicNetworkAccess is left unset (= governed by these rules), as for the flow-log account: Disabled
            // would refuse the trusted-service exception as well (Learn, "Azure Storage firewall rules": exceptions
            // apply when public network access is enabled from selected networks), and Azure Monitor writes there
            // from outside any VNet. Nobody reads the archive over the network except through a future private endpoint.
            networkRuleSet: { defaultAction: "Deny", bypass: "AzureServices", ipRules: [], virtualNetworkRules: [] },
            // Version-level WORM on the whole account: Azure Monitor creates its own containers
            // (`insights-logs-<category>`, `insights-activity-logs`), so a container-level policy would come too late;
            // the account default applies to every blob version in every container (Learn, "Configure immutability
            // policies for blob versions", account-level default policy). Resource logs are append blobs, so
            // protected append writes must stay allowed (Learn, "Diagnostic settings in Azure Monitor": immutable
            // storage destinations need "Allow additional appends").
            immutableStorageWithVersioning: {
                enabled: true,
                immutabilityPolicy: {
                    immutabilityPeriodSinceCreationInDays: args.retentionDays,
                    allowProtectedAppendWrites: true,
                    state: args.lockImmutabilityPolicy ? "Locked" : "Unlocked",
                },
            },
            ...this.cmk.accountInputs({ blob: { enabled: true, keyType: "Account" } }),
        }, { parent: this, protect: args.deleteLock, dependsOn: [this.cmk.grantPropagated] });
        if (args.deleteLock) {
            deleteLock(`${name}-st-lock`, this.account.id, "Audit archive (FHIR access, Key Vault, Activity Log) under a WORM policy: HIPAA evidence.", { parent: this });
        }
        this.storageAccountId = this.account.id;

        // Nothing is kept forever: after the WORM period the blobs and their versions are deleted (a delete before it
        // is refused by the immutability policy anyway).
        new storage.ManagementPolicy(`${name}-st-lifecycle`, {
            accountName: this.account.name,
            resourceGroupName,
            managementPolicyName: "default",
            policy: {
                rules: [{
                    name: "expire-after-retention",
                    enabled: true,
                    type: "Lifecycle",
                    definition: {
                        filters: { blobTypes: ["blockBlob", "appendBlob"] },
                        actions: {
                            baseBlob: { delete: { daysAfterCreationGreaterThan: args.retentionDays + 1 } },
                            version: { delete: { daysAfterCreationGreaterThan: args.retentionDays + 1 } },
                        },
                    },
                }],
            },
        }, { parent: this });

        args.monitoring.diagnostics(`${name}-st`, this.account.id, { logs: { categories: [] } }, { parent: this });
        args.monitoring.diagnostics(`${name}-st-blob`, pulumi.interpolate`${this.account.id}/blobServices/default`, {}, { parent: this });

        this.registerOutputs({ storageAccountId: this.account.id, keyId: this.cmk.key.id });
    }
}
