import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as keyvault from "@pulumi/azure-native/keyvault";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import type * as monitor from "@pulumi/azure-native/monitor";
import { wrapKeyProperties } from "./cmkKey";
import { Monitoring } from "./monitoring";
import { keyVaultName, NamingContext, resourceName } from "./naming";
import { deleteLock } from "./locks";
import { privateEndpointWithDns } from "./privateEndpoint";
import { rbacPropagationWait } from "./propagation";
import { grantRoles } from "./rbac";

export interface CmkKeyVaultArgs {
    /** Naming prefix and environment. */
    naming: NamingContext;
    /** Stable random suffix that makes the vault name globally unique (and survives soft-deleted names). */
    globalSuffix: pulumi.Input<string>;
    resourceGroupName: pulumi.Input<string>;
    /** Must be the FHIR service's region (CMK requirement). */
    location: pulumi.Input<string>;
    /** Entra tenant of the vault. */
    tenantId: pulumi.Input<string>;
    /** Subscription, for role definition ids. */
    subscriptionId: pulumi.Input<string>;
    /**
     * The principal running `pulumi up` (`getClientConfig().objectId`). ARM creates and reads `vaults/keys` of an
     * RBAC vault as the caller, so it needs a data-plane key role on this vault (pulumi/pulumi-azure-native#890).
     */
    deployer: { objectId: pulumi.Input<string>; principalType: "ServicePrincipal" | "User" };
    /** Seconds between a role assignment and its first data-plane use (RBAC propagation). */
    rbacPropagationSeconds: number;
    /** `premium` keeps the key in HSM-backed storage. */
    sku: "standard" | "premium";
    /** Soft-delete retention in days (7–90). */
    softDeleteRetentionDays: number;
    /** RSA key size; FHIR accepts 2048 or 3072. */
    keySize: 2048 | 3072;
    /** Days until the key version expires. */
    keyExpiryDays: number;
    /** The rotation policy makes a new version this many days before expiry. */
    rotateBeforeExpiryDays: number;
    /** Protect the vault with a CanNotDelete lock. */
    deleteLock: boolean;
    /** Private endpoints subnet. */
    privateEndpointSubnetId: pulumi.Input<string>;
    /** `privatelink.vaultcore.azure.net` zone id. */
    vaultDnsZoneId: pulumi.Input<string>;
    /** Where the AuditEvent logs go. */
    monitoring: Monitoring;
    /**
     * Leave the AuditEvent diagnostic setting to a later `sendAuditEvents(archiveId)` call: the audit archive's own
     * key lives in this vault, so the archive (and its id) exists only after the vault.
     */
    deferAuditDiagnostics?: boolean;
    tags: Record<string, string>;
    /**
     * Creation time used for the key's first expiry date. Defaults to now; the value is only read on create
     * (`ignoreChanges`), after that the rotation policy owns expiry.
     */
    now?: Date;
}

/**
 * Key Vault holding the FHIR service's customer-managed key, reachable only through its private endpoint, plus the
 * user-assigned identity FHIR uses to unwrap its data encryption key and the role that lets it.
 */
export class CmkKeyVault extends pulumi.ComponentResource {
    /** The identity FHIR runs as; it may only wrap/unwrap with the CMK. */
    public readonly fhirIdentity: managedidentity.UserAssignedIdentity;
    public readonly vault: keyvault.Vault;
    public readonly cmkKey: keyvault.Key;
    /** FHIR's identity may wrap/unwrap with the key. */
    public readonly cmkRoleAssignment: authorization.RoleAssignment;
    /** FHIR must be created after this: the CMK grant has had time to propagate (FHIR checks key access at creation). */
    public readonly cmkGrantPropagated: pulumi.Resource;
    /** The deployer's Key Vault Crypto Officer grant, which key creation needs. */
    public readonly deployerKeyRoleAssignment: authorization.RoleAssignment;
    /** Every key created in this vault waits for this (the deployer's Crypto Officer grant has propagated). */
    public readonly deployerGrantPropagated: pulumi.Resource;
    public readonly vaultUri: pulumi.Output<string>;
    private readonly componentName: string;
    private readonly monitoring: Monitoring;
    private auditDiagnostics?: monitor.DiagnosticSetting;

    constructor(name: string, args: CmkKeyVaultArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:security:CmkKeyVault", name, {}, opts);
        const { naming, resourceGroupName, location, tags } = args;

        this.fhirIdentity = new managedidentity.UserAssignedIdentity(`${name}-fhir-id`, {
            resourceName: resourceName(naming, "id", "fhir"),
            resourceGroupName,
            location,
            tags,
        }, { parent: this });

        this.vault = new keyvault.Vault(`${name}-vault`, {
            vaultName: pulumi.output(args.globalSuffix).apply((suffix) => keyVaultName(naming, suffix)),
            resourceGroupName,
            location,
            properties: {
                tenantId: args.tenantId,
                sku: { family: "A", name: args.sku },
                // Data access through Azure RBAC only, so every grant is a reviewable role assignment.
                enableRbacAuthorization: true,
                enableSoftDelete: true,
                softDeleteRetentionInDays: args.softDeleteRetentionDays,
                // FHIR CMK requires purge protection; it can never be turned off again.
                enablePurgeProtection: true,
                publicNetworkAccess: "Disabled",
                // FHIR reaches its key as a trusted Microsoft service (AHDS CMK article).
                networkAcls: { defaultAction: "Deny", bypass: "AzureServices", ipRules: [], virtualNetworkRules: [] },
                enabledForDeployment: false,
                enabledForDiskEncryption: false,
                enabledForTemplateDeployment: false,
            },
            tags,
        }, { parent: this, protect: args.deleteLock });

        // The deployer creates the key through ARM, which authorises `vaults/keys` writes against the caller's
        // data-plane role (ForbiddenByRbac otherwise; pulumi/pulumi-azure-native#890, MicrosoftDocs/azure-docs#65704).
        // Secrets are written through ARM `vaults/secrets`, a management-plane write, so no Secrets Officer is needed.
        this.deployerKeyRoleAssignment = grantRoles(`${name}-role`, [{
            key: "deployer-crypto-officer", role: "keyVaultCryptoOfficer", scope: this.vault.id, principalId: args.deployer.objectId,
            principalType: args.deployer.principalType, description: "The deploying identity creates and rotates the FHIR CMK",
        }], args.subscriptionId, { parent: this })["deployer-crypto-officer"];
        const deployerGrantPropagated = this.deployerGrantPropagated = rbacPropagationWait(`${name}-deployer-grant-wait`, {
            grants: [this.deployerKeyRoleAssignment], seconds: args.rbacPropagationSeconds, reason: "CMK creation as the deployer",
        }, { parent: this });

        this.cmkKey = new keyvault.Key(`${name}-cmk`, {
            keyName: "fhir-cmk",
            vaultName: this.vault.name,
            resourceGroupName,
            // FHIR does not follow new versions by itself: keyEncryptionKeyUrl names one, which every deploy moves to
            // the current version (healthData.ts; AHDS CMK article: "rotate manually").
            properties: wrapKeyProperties({
                keySize: args.keySize, expiryDays: args.keyExpiryDays, rotateBeforeExpiryDays: args.rotateBeforeExpiryDays, now: args.now ?? new Date(),
            }),
            tags,
        }, { parent: this, ignoreChanges: ["properties.attributes.expires"], dependsOn: [deployerGrantPropagated] });

        // Crypto Service Encryption User on the key alone: wrap/unwrap and read metadata, nothing else. principalType
        // is explicit so a just-created identity is not looked up in Entra (PrincipalNotFound race).
        this.cmkRoleAssignment = grantRoles(`${name}-role`, [{
            key: "fhir-cmk", role: "keyVaultCryptoServiceEncryptionUser", scope: this.cmkKey.id, principalId: this.fhirIdentity.principalId,
            principalType: "ServicePrincipal", description: "FHIR service wraps/unwraps its data encryption key with the CMK",
        }], args.subscriptionId, { parent: this })["fhir-cmk"];
        this.cmkGrantPropagated = rbacPropagationWait(`${name}-cmk-grant-wait`, {
            grants: [this.cmkRoleAssignment], seconds: args.rbacPropagationSeconds, reason: "FHIR service creation with the CMK",
        }, { parent: this });

        privateEndpointWithDns(`${name}-vault`, {
            endpointName: resourceName(naming, "pe", "kv"),
            resourceGroupName,
            location,
            subnetId: args.privateEndpointSubnetId,
            targetResourceId: this.vault.id,
            groupId: "vault",
            dnsZoneIds: [args.vaultDnsZoneId],
            tags,
        }, { parent: this });

        this.componentName = name;
        this.monitoring = args.monitoring;
        if (!args.deferAuditDiagnostics) this.sendAuditEvents();

        if (args.deleteLock) {
            deleteLock(`${name}-vault-lock`, this.vault.id, "Deleting this vault or its key makes the FHIR data unreadable.", { parent: this });
        }

        this.vaultUri = this.vault.properties.apply((p) => p.vaultUri ?? "");
        this.registerOutputs({
            vaultId: this.vault.id,
            vaultUri: this.vaultUri,
            cmkKeyUriWithVersion: this.cmkKey.keyUriWithVersion,
            fhirIdentityId: this.fhirIdentity.id,
        });
    }

    /**
     * The vault's AuditEvent diagnostic setting: to Log Analytics and, when given, to the WORM audit archive as well.
     * Declared once (same name and parent whichever way, so its URN never changes).
     */
    public sendAuditEvents(archiveStorageAccountId?: pulumi.Input<string>): monitor.DiagnosticSetting {
        if (this.auditDiagnostics) throw new Error(`${this.componentName}: the vault's audit diagnostic setting is already declared`);
        this.auditDiagnostics = this.monitoring.diagnostics(`${this.componentName}-vault`, this.vault.id, {
            logs: { categories: ["AuditEvent"] },
            archiveStorageAccountId,
        }, { parent: this });
        return this.auditDiagnostics;
    }
}
