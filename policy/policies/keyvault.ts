// Key Vault: vault protection and network, key type/size/expiry/rotation, secret expiry and content type.
// Azure Policy evaluates keys and secrets on the data plane (Microsoft.KeyVault.Data); Pulumi sets them through ARM,
// so these checks read the ARM inputs (properties.attributes.expires is Unix seconds, per the azure-native d.ts).
import * as keyvault from "@pulumi/azure-native/keyvault";
import { validateResourceOfType } from "@pulumi/policy";
import { asArray, eqi, has, now, resourcePolicy } from "./framework";

const VAULT = "azure-native:keyvault:Vault";
const KEY = "azure-native:keyvault:Key";
const SECRET = "azure-native:keyvault:Secret";
const DAY = 86400;

export const kvPurgeProtection = resourcePolicy(
    {
        name: "kv-purge-protection",
        description:
            "Key Vaults must have properties.enablePurgeProtection true and soft delete left on (FHIR CMK requires both); " +
            "a deleted vault or key could otherwise be purged and the PHI it protects made unreadable.",
        enforcementLevel: "mandatory",
        severity: "critical",
        resourceTypes: [VAULT],
        anchor: {
            azurePolicy: ["0b60c0b2-2dc2-4e1c-b5c9-abbed971de53", "1e66c121-a66a-4b1f-9b83-0fd99bf0fc2d"],
            scanner: ["CKV_AZURE_110", "CKV_AZURE_42", "AZU-0016"],
            hitrust: "1635.12b1Organizational.2-12.b",
        },
    },
    validateResourceOfType(keyvault.Vault, (vault, _args, report) => {
        const p = vault.properties;
        if (eqi(p.createMode, "recover")) return; // Azure Policy skips recovery, which restores existing settings.
        if (p.enablePurgeProtection !== true) report("properties.enablePurgeProtection is not true.");
        if (p.enableSoftDelete === false) report("properties.enableSoftDelete is false.");
    }),
);

export const kvRbacMode = resourcePolicy(
    {
        name: "kv-rbac-authorization",
        description:
            "Key Vaults must use the Azure RBAC permission model: set properties.enableRbacAuthorization true (the SDK " +
            "default is false) and grant data roles with role assignments instead of access policies.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [VAULT],
        anchor: { azurePolicy: ["12d4fa5e-1f9f-4c21-97a9-b99b3c6611b5"] },
    },
    validateResourceOfType(keyvault.Vault, (vault, _args, report) => {
        if (vault.properties.enableRbacAuthorization !== true) report("properties.enableRbacAuthorization is not true.");
        if (asArray(vault.properties.accessPolicies).length > 0) report("properties.accessPolicies is set; use role assignments.");
    }),
);

export const kvNetwork = resourcePolicy(
    {
        name: "kv-network-deny",
        description:
            "Key Vaults must not be reachable from public networks: set properties.publicNetworkAccess 'disabled' and " +
            "networkAcls.defaultAction 'Deny' with bypass 'AzureServices' (FHIR's CMK access uses trusted services), and no ipRules.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [VAULT],
        anchor: {
            azurePolicy: ["55615ac9-af46-4a59-874e-391cc3dfb490", "405c5871-3e91-4644-8a63-58e19d68ff5b"],
            scanner: ["CKV_AZURE_109", "CKV_AZURE_189", "AZU-0013"],
        },
    },
    validateResourceOfType(keyvault.Vault, (vault, _args, report) => {
        const p = vault.properties;
        // The SDK default for publicNetworkAccess is "enabled", so an absent value is a violation.
        if (!eqi(p.publicNetworkAccess, "disabled")) {
            report(`properties.publicNetworkAccess is '${String(p.publicNetworkAccess ?? "enabled (default)")}', expected 'disabled'.`);
        }
        const acls = p.networkAcls;
        if (!acls) {
            report("properties.networkAcls is missing; set defaultAction 'Deny' and bypass 'AzureServices'.");
            return;
        }
        if (!eqi(acls.defaultAction, "Deny")) report(`networkAcls.defaultAction is '${String(acls.defaultAction)}', expected 'Deny'.`);
        if (!eqi(acls.bypass, "AzureServices")) report(`networkAcls.bypass is '${String(acls.bypass)}', expected 'AzureServices'.`);
        if (asArray(acls.ipRules).length > 0) report("networkAcls.ipRules opens the vault to public IP ranges.");
    }),
);

export const kvKeyTypeSize = resourcePolicy(
    {
        name: "kv-key-type-size",
        description:
            "Key Vault keys must be RSA or RSA-HSM with a size in the allowed list (default 2048 or 3072, the sizes the FHIR " +
            "CMK accepts); set properties.kty and properties.keySize explicitly.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [KEY],
        anchor: { azurePolicy: ["75c4f823-d65c-4f29-a733-01d0077fdbcb", "82067dbb-e53b-4e06-b631-546d197452d9"] },
        settings: {
            allowedKeyTypes: { type: "array", items: { type: "string" }, default: ["RSA", "RSA-HSM"] },
            allowedRsaKeySizes: { type: "array", items: { type: "integer" }, default: [2048, 3072] },
        },
    },
    validateResourceOfType(keyvault.Key, (key, args, report) => {
        const { allowedKeyTypes, allowedRsaKeySizes } = args.getConfig<{ allowedKeyTypes: string[]; allowedRsaKeySizes: number[] }>();
        const kty = key.properties.kty;
        if (!allowedKeyTypes.some(t => eqi(kty, t))) {
            report(`properties.kty is '${String(kty)}', allowed: ${allowedKeyTypes.join(", ")}.`);
            return;
        }
        if (String(kty).toUpperCase().startsWith("RSA") && !allowedRsaKeySizes.includes(Number(key.properties.keySize))) {
            report(`properties.keySize is ${String(key.properties.keySize)}, allowed: ${allowedRsaKeySizes.join(", ")}.`);
        }
    }),
);

export const kvKeyExpiry = resourcePolicy(
    {
        name: "kv-key-expiry",
        description:
            "Key Vault keys must expire: set properties.attributes.expires (Unix seconds) no later than maxValidityDays from " +
            "today, and renew the key version before it expires.",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: [KEY],
        anchor: { azurePolicy: ["152b15f7-8e1f-4c1f-ab71-8c010ba5dbc0", "49a22571-d204-4c91-a7b6-09b1a586fbc9"], scanner: ["CKV_AZURE_40", "AZU-0014"] },
        settings: { maxValidityDays: { type: "integer", minimum: 1, default: 730 } },
    },
    validateResourceOfType(keyvault.Key, (key, args, report) => {
        const { maxValidityDays } = args.getConfig<{ maxValidityDays: number }>();
        const attrs = key.properties.attributes;
        if (!attrs || !has(attrs, "expires")) {
            report("properties.attributes.expires is not set; the key never expires.");
            return;
        }
        checkExpiry(attrs.expires, maxValidityDays, "properties.attributes.expires", report);
    }),
);

function checkExpiry(expires: unknown, maxDays: number, path: string, report: (m: string) => void): void {
    if (typeof expires !== "number" || !Number.isFinite(expires)) {
        report(`${path} must be a number of Unix seconds, got ${JSON.stringify(expires)}.`);
        return;
    }
    if (expires > 1e11) {
        report(`${path} is ${expires}, which looks like milliseconds; azure-native expects Unix seconds.`);
        return;
    }
    const today = now().getTime() / 1000;
    if (expires <= today) report(`${path} (${new Date(expires * 1000).toISOString()}) is already in the past.`);
    else if (expires - today > maxDays * DAY) {
        report(`${path} is ${Math.round((expires - today) / DAY)} days away; the maximum is ${maxDays} days.`);
    }
}

/** ISO-8601 durations as Key Vault rotation policies use them (P90D, P1Y, P3M, PT12H ...), in days. */
export function isoDurationDays(d: unknown): number | undefined {
    if (typeof d !== "string") return undefined;
    const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(d);
    if (!m || d === "P" || d.endsWith("T")) return undefined;
    const [y, mo, w, dd, h, mi, s] = m.slice(1).map(x => (x ? Number(x) : 0));
    return y * 365 + mo * 30 + w * 7 + dd + h / 24 + mi / 1440 + s / 86400;
}

export const kvKeyRotation = resourcePolicy(
    {
        name: "kv-key-rotation-policy",
        description:
            "Key Vault keys must carry properties.rotationPolicy with a 'rotate' lifetime action triggered within " +
            "maxRotationDays after creation (or before expiry) and an attributes.expiryTime for new versions.",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: [KEY],
        anchor: { azurePolicy: ["d8cf8476-a2ec-4916-896e-992351803c44"] },
        settings: { maxRotationDays: { type: "integer", minimum: 1, default: 365 } },
    },
    validateResourceOfType(keyvault.Key, (key, args, report) => {
        const { maxRotationDays } = args.getConfig<{ maxRotationDays: number }>();
        const policy = key.properties.rotationPolicy;
        if (!policy) {
            report("properties.rotationPolicy is missing.");
            return;
        }
        const rotate = asArray(policy.lifetimeActions).filter(a => eqi(a.action?.type, "rotate"));
        if (rotate.length === 0) report("rotationPolicy has no 'rotate' lifetime action.");
        for (const a of rotate) {
            const after = isoDurationDays(a.trigger?.timeAfterCreate);
            const before = isoDurationDays(a.trigger?.timeBeforeExpiry);
            if (after === undefined && before === undefined) report("a 'rotate' action has no timeAfterCreate/timeBeforeExpiry trigger.");
            if (after !== undefined && after > maxRotationDays) {
                report(`rotation after ${after} days exceeds maxRotationDays ${maxRotationDays}.`);
            }
        }
        if (isoDurationDays(policy.attributes?.expiryTime) === undefined) {
            report("rotationPolicy.attributes.expiryTime (ISO-8601 duration such as P2Y) is missing or invalid.");
        }
    }),
);

export const kvSecretExpiry = resourcePolicy(
    {
        name: "kv-secret-expiry",
        description:
            "Key Vault secrets must expire: set properties.attributes.expires (Unix seconds) within maxValidityDays and " +
            "rotate the secret before then.",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: [SECRET],
        anchor: { azurePolicy: ["98728c90-32c7-4049-8429-847dc0f4fe37"], scanner: ["CKV_AZURE_41", "AZU-0017"] },
        settings: { maxValidityDays: { type: "integer", minimum: 1, default: 365 } },
    },
    validateResourceOfType(keyvault.Secret, (secret, args, report) => {
        const { maxValidityDays } = args.getConfig<{ maxValidityDays: number }>();
        const attrs = secret.properties.attributes;
        if (!attrs || !has(attrs, "expires")) {
            report("properties.attributes.expires is not set; the secret never expires.");
            return;
        }
        checkExpiry(attrs.expires, maxValidityDays, "properties.attributes.expires", report);
    }),
);

export const kvSecretContentType = resourcePolicy(
    {
        name: "kv-secret-content-type",
        description: "Key Vault secrets must set properties.contentType (e.g. 'client-secret') so operators know how to rotate them.",
        enforcementLevel: "mandatory",
        severity: "low",
        resourceTypes: [SECRET],
        anchor: { azurePolicy: ["75262d3e-ba4a-4f43-85f8-9f72c090e5e3"], scanner: ["CKV_AZURE_114", "AZU-0015"] },
    },
    validateResourceOfType(keyvault.Secret, (secret, _args, report) => {
        // Presence only: a content type derived from another output is fine.
        if (!has(secret.properties, "contentType")) report("properties.contentType is not set.");
    }),
);

export const keyVaultPolicies = [kvPurgeProtection, kvRbacMode, kvNetwork, kvKeyTypeSize, kvKeyExpiry, kvKeyRotation, kvSecretExpiry, kvSecretContentType];
