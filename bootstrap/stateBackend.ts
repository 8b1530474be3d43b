import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as keyvault from "@pulumi/azure-native/keyvault";
import * as storage from "@pulumi/azure-native/storage";
import * as time from "@pulumiverse/time";
import { BOOTSTRAP_ROLES } from "./access";
import { assignRole } from "./assign";
import { BootstrapAudit } from "./audit";

export interface StateBackendArgs {
    /** Short prefix and a random suffix make the globally unique account and vault names. */
    namePrefix: string;
    globalSuffix: pulumi.Input<string>;
    resourceGroupName: pulumi.Input<string>;
    location: string;
    tags: Record<string, string>;
    tenantId: pulumi.Input<string>;
    subscriptionId: pulumi.Input<string>;
    /** One state container and one secrets-provider key per environment. */
    environments: string[];
    /** Public operator addresses the firewalls admit. */
    allowedIpRanges: string[];
    /** Runner subnets the firewalls admit through service endpoints. */
    runnerSubnetIds: pulumi.Input<string>[];
    /** Days deleted/overwritten state stays recoverable. */
    retentionDays: number;
    /** Whoever runs the bootstrap: it creates the keys, which an RBAC vault authorises as the caller. */
    operator: { objectId: pulumi.Input<string>; principalType: "User" | "ServicePrincipal" };
    rbacPropagationSeconds: number;
    /** Where the account's and vault's access logs go. */
    audit: BootstrapAudit;
    /** Key creation date (midnight UTC) so plans made the same day agree. */
    now: Date;
}

const DAY_S = 86_400;
/** Keys expire after two years (policy kv-key-expiry allows 730 days); rotation makes a new version a month before. */
const KEY_VALIDITY_DAYS = 720;

/**
 * The Pulumi DIY state backend and the `azurekeyvault://` secrets provider for the platform stacks.
 *
 * Network: the account and vault keep a public endpoint restricted by firewall (default Deny) to the runner subnets
 * (service endpoints) and the operators' public addresses; authentication is Entra-only (no shared key, no SAS, no
 * anonymous blobs). A private endpoint would lock out the bootstrap operator's own machine, which creates the keys; a
 * wide-open endpoint would rely on RBAC alone. bootstrap/README.md documents the Pulumi Cloud alternative.
 */
export class StateBackend extends pulumi.ComponentResource {
    public readonly account: storage.StorageAccount;
    public readonly vault: keyvault.Vault;
    public readonly containers: Record<string, storage.BlobContainer> = {};
    public readonly keys: Record<string, keyvault.Key> = {};

    constructor(name: string, args: StateBackendArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:bootstrap:StateBackend", name, {}, opts);
        const { resourceGroupName, location, tags } = args;
        const firewall = {
            defaultAction: "Deny" as const,
            // Trusted Azure services only; nothing else reaches either endpoint outside the rules below.
            bypass: "AzureServices" as const,
        };

        this.account = new storage.StorageAccount(`${name}-account`, {
            accountName: pulumi.interpolate`st${args.namePrefix}state${args.globalSuffix}`,
            resourceGroupName, location, tags,
            kind: "StorageV2",
            // Zone-redundant: state must survive a zone outage; versions and soft delete cover mistakes.
            sku: { name: "Standard_ZRS" },
            accessTier: "Hot",
            // Entra ID only (Pulumi's azblob backend uses DefaultAzureCredential when no key is set: pulumi/pulumi#10900).
            allowSharedKeyAccess: false,
            defaultToOAuthAuthentication: true,
            allowBlobPublicAccess: false,
            allowCrossTenantReplication: false,
            enableHttpsTrafficOnly: true,
            minimumTlsVersion: "TLS1_2",
            encryption: {
                keySource: "Microsoft.Storage",
                requireInfrastructureEncryption: true,
                services: { blob: { enabled: true, keyType: "Account" } },
            },
            publicNetworkAccess: "Enabled",
            networkRuleSet: {
                ...firewall,
                ipRules: args.allowedIpRanges.map((ip) => ({ iPAddressOrRange: ip, action: "Allow" as const })),
                virtualNetworkRules: args.runnerSubnetIds.map((id) => ({ virtualNetworkResourceId: id, action: "Allow" as const })),
            },
        }, { parent: this, protect: true });

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

        this.vault = new keyvault.Vault(`${name}-vault`, {
            vaultName: pulumi.interpolate`kv-${args.namePrefix}-state-${args.globalSuffix}`,
            resourceGroupName, location, tags,
            properties: {
                tenantId: args.tenantId,
                sku: { family: "A", name: "standard" },
                enableRbacAuthorization: true,
                enableSoftDelete: true,
                softDeleteRetentionInDays: 90,
                // A purged secrets-provider key makes every stack's secrets unreadable: purge protection is not optional.
                enablePurgeProtection: true,
                publicNetworkAccess: "Enabled",
                networkAcls: {
                    ...firewall,
                    ipRules: args.allowedIpRanges.map((value) => ({ value })),
                    virtualNetworkRules: args.runnerSubnetIds.map((id) => ({ id })),
                },
            },
        }, { parent: this, protect: true });

        // Deleting either loses every stack (state) or every stack's secrets (key): `protect` guards against Pulumi,
        // a CanNotDelete lock against the portal and CLI (Learn, "Lock your resources").
        for (const [key, target] of [["account", this.account], ["vault", this.vault]] as const) {
            new authorization.ManagementLockByScope(`${name}-${key}-lock`, {
                scope: target.id,
                lockName: "do-not-delete-pulumi-state",
                level: "CanNotDelete",
                notes: "Pulumi state backend / secrets provider of the FHIR platform stacks (bootstrap/README.md)",
            }, { parent: this });
        }

        args.audit.diagnostics(`${name}-account`, this.account.id, { logs: false, metrics: true }, { parent: this });
        // Blob reads, writes and deletes: who touched which stack's checkpoint.
        args.audit.diagnostics(`${name}-blob`, pulumi.interpolate`${this.account.id}/blobServices/default`, { metrics: true }, { parent: this });
        // AuditEvent: every decrypt with a secrets-provider key, by whom.
        args.audit.diagnostics(`${name}-vault`, this.vault.id, { metrics: true }, { parent: this });

        // ARM creates keys of an RBAC vault as the caller (pulumi/pulumi-azure-native#890): the operator needs a key role
        // on this vault, and it takes minutes to apply (AVM: time_sleep.wait_for_rbac_before_key_operations).
        const operatorGrant = assignRole(`${name}-operator-crypto-officer`, {
            scope: this.vault.id, roleGuid: BOOTSTRAP_ROLES.keyVaultCryptoOfficer, subscriptionId: args.subscriptionId,
            principalId: args.operator.objectId, principalType: args.operator.principalType,
            description: "Bootstrap operator creates the secrets-provider keys",
        }, { parent: this });
        const propagated = new time.Sleep(`${name}-operator-grant-wait`, {
            createDuration: `${args.rbacPropagationSeconds}s`,
            triggers: { grant: operatorGrant.id },
        }, { parent: this, dependsOn: [operatorGrant] });

        const created = Math.floor(args.now.getTime() / 1000);
        for (const env of args.environments) {
            this.containers[env] = new storage.BlobContainer(`${name}-state-${env}`, {
                accountName: this.account.name,
                resourceGroupName,
                containerName: `state-${env}`,
                publicAccess: "None",
            }, { parent: this });
            this.keys[env] = new keyvault.Key(`${name}-secrets-key-${env}`, {
                vaultName: this.vault.name,
                resourceGroupName,
                keyName: `pulumi-secrets-${env}`,
                properties: {
                    kty: "RSA",
                    keySize: 3072,
                    keyOps: ["encrypt", "decrypt"],
                    attributes: { enabled: true, expires: created + KEY_VALIDITY_DAYS * DAY_S },
                    // A rotation adds a version and never breaks stacks: the provider URL pins the version (see index.ts),
                    // and an expired version still decrypts (Learn, "About keys", key attributes: `exp` forbids only new encryption,
                    // wrapping and signing).
                    rotationPolicy: {
                        attributes: { expiryTime: "P720D" },
                        lifetimeActions: [{ action: { type: "rotate" }, trigger: { timeBeforeExpiry: "P30D" } }],
                    },
                },
                tags: { environment: env, use: "pulumi-secrets-provider" },
            }, { parent: this, dependsOn: [propagated], ignoreChanges: ["properties.attributes.expires"] });
        }

        this.registerOutputs({ accountName: this.account.name, vaultUri: this.vault.properties.vaultUri });
    }

    /** `azblob://<container>?storage_account=<account>` (pulumi/pulumi#10900: the query parameter selects Entra auth). */
    backendUrl(env: string): pulumi.Output<string> {
        return pulumi.interpolate`azblob://${this.containers[env].name}?storage_account=${this.account.name}`;
    }

    /** `azurekeyvault://<vault>.vault.azure.net/keys/<key>/<version>`: pinned, so a rotated version never changes it. */
    secretsProviderUrl(env: string): pulumi.Output<string> {
        return this.keys[env].keyUriWithVersion.apply((uri) => uri.replace(/^https:\/\//, "azurekeyvault://"));
    }
}
