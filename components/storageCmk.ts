import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as keyvault from "@pulumi/azure-native/keyvault";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import type * as azureInputs from "@pulumi/azure-native/types/input";
import { NamingContext, resourceName } from "./naming";
import { rbacPropagationWait } from "./propagation";
import { wrapKeyProperties } from "./cmkKey";
import { grantRoles } from "./rbac";

/** The platform vault and key settings a storage account's customer-managed key is made with (same as the FHIR CMK's). */
export interface StorageCmkSettings {
    /** The platform Key Vault (RBAC mode, purge protection: both required for storage CMK). */
    vault: { name: pulumi.Input<string>; uri: pulumi.Input<string> };
    /** The deployer's Crypto Officer grant on the vault has propagated: key creation waits for it. */
    deployerGrantPropagated: pulumi.Resource;
    /** RSA key size (storage accepts 2048, 3072, 4096). */
    keySize: 2048 | 3072;
    /** Days until a key version expires. */
    expiryDays: number;
    /** The rotation policy makes a new version this many days before expiry. */
    rotateBeforeExpiryDays: number;
    /** Creation time of the key's first expiry (only read on create). */
    now?: Date;
}

export interface StorageCmkArgs {
    naming: NamingContext;
    resourceGroupName: pulumi.Input<string>;
    location: pulumi.Input<string>;
    tags: Record<string, string>;
    /** Subscription, for role definition ids. */
    subscriptionId: pulumi.Input<string>;
    /** Seconds between the key grant and the account's first use of the key. */
    rbacPropagationSeconds: number;
    /** The key's name in the vault (one key per account). */
    keyName: string;
    /** Qualifier of the identity's name (`id-<prefix>-<env>-<qualifier>`). */
    identityQualifier: string;
    /** What the key protects, for the role assignment's description and the wait's reason. */
    purpose: string;
    settings: StorageCmkSettings;
}

/** A storage account's own key, the identity that uses it, and the wait the account must follow. */
export interface StorageCmk {
    identity: managedidentity.UserAssignedIdentity;
    key: keyvault.Key;
    roleAssignment: authorization.RoleAssignment;
    /** The account must depend on this (storage checks key access when the CMK is set). */
    grantPropagated: pulumi.Resource;
    /** `identity` and `encryption` inputs of the account, with the services it encrypts. */
    accountInputs(services: azureInputs.storage.EncryptionServicesArgs): { identity: azureInputs.storage.IdentityArgs; encryption: azureInputs.storage.EncryptionArgs };
}

/**
 * One RSA key in the platform vault for one storage account, with an expiry and a rotation policy, plus the
 * user-assigned identity the account unwraps it with (Key Vault Crypto Service Encryption User on that key alone) and
 * an RBAC propagation wait: the same pattern as the FHIR CMK (keyVault.ts). The account references the key without a
 * version, so Azure Storage moves to each version the rotation policy makes (Learn, "Configure customer-managed keys
 * in the same tenant for an existing account": automatic key version update). Storage reaches the vault as a trusted
 * service with that identity: a vault with public network access Disabled still admits trusted services (Key Vault
 * `publicNetworkAccess` reference: "all traffic except private endpoint traffic and that that originates from trusted
 * services will be blocked"), and it checks the key when the encryption setting is applied, hence the wait.
 */
export function storageCustomerManagedKey(name: string, args: StorageCmkArgs, opts: pulumi.CustomResourceOptions): StorageCmk {
    const { naming, resourceGroupName, location, tags, settings } = args;
    const identity = new managedidentity.UserAssignedIdentity(`${name}-cmk-id`, {
        resourceName: resourceName(naming, "id", args.identityQualifier), resourceGroupName, location, tags,
    }, opts);

    const key = new keyvault.Key(`${name}-cmk`, {
        keyName: args.keyName,
        vaultName: settings.vault.name,
        resourceGroupName,
        // Storage follows new versions by itself (versionless key reference below), no deploy needed.
        properties: wrapKeyProperties({
            keySize: settings.keySize, expiryDays: settings.expiryDays, rotateBeforeExpiryDays: settings.rotateBeforeExpiryDays, now: settings.now ?? new Date(),
        }),
        tags,
    }, { ...opts, ignoreChanges: ["properties.attributes.expires"], dependsOn: [settings.deployerGrantPropagated] });

    const roleAssignment = grantRoles(`${name}-cmk-role`, [{
        key: "key-user", role: "keyVaultCryptoServiceEncryptionUser", scope: key.id, principalId: identity.principalId,
        principalType: "ServicePrincipal", description: `${args.purpose}: the storage account wraps/unwraps its account key with this CMK`,
    }], args.subscriptionId, opts)["key-user"];
    const grantPropagated = rbacPropagationWait(`${name}-cmk-grant-wait`, {
        grants: [roleAssignment], seconds: args.rbacPropagationSeconds, reason: `${args.purpose}: storage encryption with the CMK`,
    }, opts);

    return {
        identity, key, roleAssignment, grantPropagated,
        accountInputs: (services) => ({
            identity: { type: "UserAssigned", userAssignedIdentities: [identity.id] },
            encryption: {
                keySource: "Microsoft.Keyvault",
                // No keyVersion: the account follows the rotation policy's new versions automatically.
                keyVaultProperties: { keyName: key.name, keyVaultUri: settings.vault.uri },
                encryptionIdentity: { encryptionUserAssignedIdentity: identity.id },
                requireInfrastructureEncryption: true,
                services,
            },
        }),
    };
}
