import * as keyvault from "@pulumi/azure-native/keyvault";

export interface WrapKeySettings {
    /** RSA modulus: 2048 or 3072 (config keyVault.cmkKeySize). */
    keySize: number;
    /** Each version expires this many days after it is made. */
    expiryDays: number;
    /** The rotation policy makes a new version this many days before expiry (and notifies a week earlier). */
    rotateBeforeExpiryDays: number;
    /** Clock for the first version's expiry. */
    now: Date;
}

/**
 * The properties of a customer-managed key that a service only wraps and unwraps its own data key with: RSA, not
 * exportable, an expiry, and a rotation policy (Learn, "Configure cryptographic key auto-rotation in Azure Key
 * Vault"). The FHIR CMK and the storage CMKs share it; whether the service follows new versions by itself depends on
 * how it references the key, which the caller says beside it.
 */
export function wrapKeyProperties(s: WrapKeySettings): keyvault.KeyArgs["properties"] {
    return {
        kty: "RSA",
        keySize: s.keySize,
        keyOps: ["wrapKey", "unwrapKey"],
        attributes: { enabled: true, expires: Math.floor(s.now.getTime() / 1000) + s.expiryDays * 86400, exportable: false },
        rotationPolicy: {
            attributes: { expiryTime: `P${s.expiryDays}D` },
            lifetimeActions: [
                { action: { type: "rotate" }, trigger: { timeBeforeExpiry: `P${s.rotateBeforeExpiryDays}D` } },
                { action: { type: "notify" }, trigger: { timeBeforeExpiry: `P${s.rotateBeforeExpiryDays + 7}D` } },
            ],
        },
    };
}
