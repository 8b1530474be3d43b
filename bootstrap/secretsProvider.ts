import * as pulumi from "@pulumi/pulumi";
import * as keyvault from "@pulumi/azure-native/keyvault";
import { BOOTSTRAP_ROLES } from "./access";
import { assignRole } from "./assign";
import { BackendPlacement, deleteLock, FIREWALL } from "./stateStore";
import { rbacPropagationWait } from "../components/propagation";

export interface SecretsProviderArgs extends BackendPlacement {
    tenantId: pulumi.Input<string>;
    subscriptionId: pulumi.Input<string>;
    /** Whoever runs the bootstrap: it creates the keys, which an RBAC vault authorises as the caller. */
    operator: { objectId: pulumi.Input<string>; principalType: "User" | "ServicePrincipal" };
    rbacPropagationSeconds: number;
    /** Key creation date (midnight UTC) so plans made the same day agree. */
    now: Date;
}

const DAY_S = 86_400;
/** Keys expire after two years (policy kv-key-expiry allows 730 days); rotation makes a new version a month before. */
const KEY_VALIDITY_DAYS = 720;

/**
 * The `azurekeyvault://` secrets provider of the platform stacks: one key per environment in an RBAC vault, so the
 * stacks' data keys are wrapped by a key no GitHub secret holds. Used with either backend (blob or Pulumi Cloud).
 */
export class SecretsProvider extends pulumi.ComponentResource {
    public readonly vault: keyvault.Vault;
    public readonly keys: Record<string, keyvault.Key> = {};

    constructor(name: string, args: SecretsProviderArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:bootstrap:SecretsProvider", name, {}, opts);
        const { resourceGroupName, location, tags } = args;

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
                    ...FIREWALL,
                    ipRules: args.allowedIpRanges.map((value) => ({ value })),
                    virtualNetworkRules: args.runnerSubnetIds.map((id) => ({ id })),
                },
            },
        }, { parent: this, protect: true });
        deleteLock(`${name}-vault-lock`, this.vault.id, "Secrets provider of the FHIR platform stacks (bootstrap/README.md)", { parent: this });
        // AuditEvent: every decrypt with a secrets-provider key, by whom.
        args.audit.diagnostics(`${name}-vault`, this.vault.id, { metrics: true }, { parent: this });

        // ARM creates keys of an RBAC vault as the caller (pulumi/pulumi-azure-native#890): the operator needs a key role
        // on this vault, and it takes minutes to apply (AVM: time_sleep.wait_for_rbac_before_key_operations).
        const operatorGrant = assignRole(`${name}-operator-crypto-officer`, {
            scope: this.vault.id, roleGuid: BOOTSTRAP_ROLES.keyVaultCryptoOfficer, subscriptionId: args.subscriptionId,
            principalId: args.operator.objectId, principalType: args.operator.principalType,
            description: "Bootstrap operator creates the secrets-provider keys",
        }, { parent: this });
        const propagated = rbacPropagationWait(`${name}-operator-grant-wait`, { grants: [operatorGrant], seconds: args.rbacPropagationSeconds, reason: "secrets-provider key creation as the bootstrap operator" }, { parent: this });

        const created = Math.floor(args.now.getTime() / 1000);
        for (const env of args.environments) {
            this.keys[env] = new keyvault.Key(`${name}-key-${env}`, {
                vaultName: this.vault.name,
                resourceGroupName,
                keyName: `pulumi-secrets-${env}`,
                properties: {
                    kty: "RSA",
                    keySize: 3072,
                    keyOps: ["encrypt", "decrypt"],
                    attributes: { enabled: true, expires: created + KEY_VALIDITY_DAYS * DAY_S },
                    // A rotation adds a version and never breaks stacks: the provider URL pins the version (url()),
                    // and an expired version still decrypts (Learn, "About keys", key attributes: `exp` forbids only new
                    // encryption, wrapping and signing).
                    rotationPolicy: {
                        attributes: { expiryTime: "P720D" },
                        lifetimeActions: [{ action: { type: "rotate" }, trigger: { timeBeforeExpiry: "P30D" } }],
                    },
                },
                tags: { environment: env, use: "pulumi-secrets-provider" },
            }, { parent: this, dependsOn: [propagated], ignoreChanges: ["properties.attributes.expires"] });
        }
        this.registerOutputs({ vaultUri: this.vault.properties.vaultUri });
    }

    /** `azurekeyvault://<vault>.vault.azure.net/keys/<key>/<version>`: pinned, so a rotated version never changes it. */
    url(env: string): pulumi.Output<string> {
        return this.keys[env].keyUriWithVersion.apply((uri) => uri.replace(/^https:\/\//, "azurekeyvault://"));
    }
}
