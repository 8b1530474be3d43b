// Storage (the Function App's host account and its containers/queues). Input names are azure-native's, which differ
// from the ARM aliases Azure Policy uses (enableHttpsTrafficOnly vs supportsHttpsTrafficOnly, networkRuleSet vs networkAcls).
import * as storage from "@pulumi/azure-native/storage";
import { validateResourceOfType } from "@pulumi/policy";
import { asArray, eqi, has, linksTo, peek, resourcePolicy, stackPolicy } from "./framework";

const ACCOUNT = "azure-native:storage:StorageAccount";

export const stHttpsOnly = resourcePolicy(
    {
        name: "st-https-only",
        description: "Storage accounts must set enableHttpsTrafficOnly true (secure transfer); do not rely on the API default.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [ACCOUNT],
        anchor: { azurePolicy: ["404c3081-a854-4457-ae30-26a93ef643f9"], scanner: ["CKV_AZURE_3", "AZU-0008"], hitrust: "0809.01n2 / 0943.09y1" },
    },
    validateResourceOfType(storage.StorageAccount, (sa, _a, report) => {
        if (sa.enableHttpsTrafficOnly !== true) report(`enableHttpsTrafficOnly is ${String(sa.enableHttpsTrafficOnly)}, expected true.`);
    }),
);

export const stMinTls = resourcePolicy(
    {
        name: "st-min-tls-1-2",
        description: "Storage accounts must set minimumTlsVersion 'TLS1_2' or later.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [ACCOUNT],
        anchor: { azurePolicy: ["fe83a0eb-a853-422d-aac2-1bffd182c5d0"], scanner: ["CKV_AZURE_44", "AZU-0011"] },
    },
    validateResourceOfType(storage.StorageAccount, (sa, _a, report) => {
        if (!["TLS1_2", "TLS1_3"].includes(String(sa.minimumTlsVersion))) report(`minimumTlsVersion is '${String(sa.minimumTlsVersion)}', expected TLS1_2+.`);
    }),
);

export const stNoPublicBlob = resourcePolicy(
    {
        name: "st-no-public-blob",
        description: "Storage accounts must set allowBlobPublicAccess false, and blob containers must keep publicAccess 'None'.",
        enforcementLevel: "mandatory",
        severity: "critical",
        resourceTypes: [ACCOUNT, "azure-native:storage:BlobContainer"],
        anchor: { azurePolicy: ["4fa4b6c0-31ca-4c0d-b10d-24b96f62a751"], scanner: ["CKV_AZURE_190", "CKV_AZURE_34", "AZU-0007"] },
    },
    [
        validateResourceOfType(storage.StorageAccount, (sa, _a, report) => {
            if (sa.allowBlobPublicAccess !== false) report(`allowBlobPublicAccess is ${String(sa.allowBlobPublicAccess)}, expected false.`);
        }),
        validateResourceOfType(storage.BlobContainer, (c, _a, report) => {
            if (c.publicAccess !== undefined && !eqi(c.publicAccess, "None")) report(`publicAccess is '${String(c.publicAccess)}', expected 'None'.`);
        }),
    ],
);

export const stNoSharedKey = resourcePolicy(
    {
        name: "st-no-shared-key",
        description:
            "Storage accounts must set allowSharedKeyAccess false; the Function host uses identity-based connections " +
            "(Flex Consumption supports this) so account keys are never needed.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [ACCOUNT],
        anchor: { azurePolicy: ["8c6a50c6-9ffd-4ae7-986f-5fa6111f9a54"], scanner: ["CKV2_AZURE_40"] },
    },
    validateResourceOfType(storage.StorageAccount, (sa, _a, report) => {
        if (sa.allowSharedKeyAccess !== false) report(`allowSharedKeyAccess is ${String(sa.allowSharedKeyAccess)}, expected false.`);
    }),
);

export const stNetworkDeny = resourcePolicy(
    {
        name: "st-network-default-deny",
        description:
            "Storage accounts must deny network access by default: networkRuleSet.defaultAction 'Deny' (the SDK default is " +
            "'Allow', so a missing networkRuleSet is a violation), no allow-all IP rule, publicNetworkAccess not 'Enabled', " +
            "and exactly 'Disabled' when config requirePublicNetworkDisabled is true.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [ACCOUNT],
        anchor: {
            azurePolicy: ["34c877ad-507e-4c82-993e-3452a6e0ad3c", "b2982f36-99f2-4db5-8eff-283140c09693"],
            scanner: ["CKV_AZURE_35", "CKV_AZURE_59", "AZU-0012"],
            hitrust: "0866.09m3Organizational.1516-09.m",
        },
        settings: { requirePublicNetworkDisabled: { type: "boolean", default: false } },
    },
    validateResourceOfType(storage.StorageAccount, (sa, args, report) => {
        const { requirePublicNetworkDisabled } = args.getConfig<{ requirePublicNetworkDisabled: boolean }>();
        const rules = sa.networkRuleSet;
        if (!rules) report("networkRuleSet is missing; the effective default action is 'Allow'.");
        else {
            if (!eqi(rules.defaultAction, "Deny")) report(`networkRuleSet.defaultAction is '${String(rules.defaultAction)}', expected 'Deny'.`);
            if ((rules.ipRules ?? []).some(r => ["0.0.0.0/0", "*", "0.0.0.0"].includes(String(r.iPAddressOrRange)))) {
                report("networkRuleSet.ipRules allows every address.");
            }
        }
        if (eqi(sa.publicNetworkAccess, "Enabled") || (requirePublicNetworkDisabled && !eqi(sa.publicNetworkAccess, "Disabled"))) {
            report(`publicNetworkAccess is '${String(sa.publicNetworkAccess)}'; expected 'Disabled'.`);
        }
    }),
);

export const stInfrastructureEncryption = resourcePolicy(
    {
        name: "st-infrastructure-encryption",
        description:
            "Storage accounts must set encryption.requireInfrastructureEncryption true (double encryption at rest); it can " +
            "only be chosen when the account is created.",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: [ACCOUNT],
        anchor: { azurePolicy: ["4733ea7b-a883-42fe-8cac-97454c2a9e4a"], scanner: ["AZU-0061"] },
    },
    validateResourceOfType(storage.StorageAccount, (sa, _a, report) => {
        if (sa.encryption?.requireInfrastructureEncryption !== true) report("encryption.requireInfrastructureEncryption is not true.");
    }),
);

export const stNoCrossTenantReplication = resourcePolicy(
    {
        name: "st-no-cross-tenant-replication",
        description: "Storage accounts must set allowCrossTenantReplication false so objects cannot be replicated to another tenant.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [ACCOUNT],
        anchor: { azurePolicy: ["92a89a79-6c52-4a7e-a03f-61306fc49312"] },
    },
    validateResourceOfType(storage.StorageAccount, (sa, _a, report) => {
        if (sa.allowCrossTenantReplication !== false) report(`allowCrossTenantReplication is ${String(sa.allowCrossTenantReplication)}, expected false.`);
    }),
);

export const stOAuthDefault = resourcePolicy(
    {
        name: "st-default-oauth",
        description: "Storage accounts should set defaultToOAuthAuthentication true so the portal and tools use Entra ID, not keys.",
        enforcementLevel: "advisory",
        levelReason: "Convenience default for portal access; shared keys are already blocked by st-no-shared-key.",
        severity: "low",
        resourceTypes: [ACCOUNT],
        anchor: { derivedFrom: "Microsoft Learn, Prevent Shared Key authorization (defaultToOAuthAuthentication)" },
    },
    validateResourceOfType(storage.StorageAccount, (sa, _a, report) => {
        if (sa.defaultToOAuthAuthentication !== true) report("defaultToOAuthAuthentication is not true.");
    }),
);

const CONTAINER = "azure-native:storage:BlobContainer";
const LIFECYCLE = "azure-native:storage:ManagementPolicy";

/** The day count after which an enabled lifecycle rule deletes base blobs under `prefix`, if any rule does. */
function deleteAfterDays(policy: Record<string, any>, prefix: string): number | undefined {
    let best: number | undefined;
    for (const rule of asArray<any>(peek(policy, "policy") ? (policy.policy as any).rules : undefined)) {
        if (rule?.enabled === false) continue;
        const prefixes: string[] = asArray(rule?.definition?.filters?.prefixMatch);
        if (prefixes.length > 0 && !prefixes.some((p) => prefix.startsWith(p))) continue;
        const del = rule?.definition?.actions?.baseBlob?.delete ?? {};
        const days = del.daysAfterCreationGreaterThan ?? del.daysAfterModificationGreaterThan;
        if (typeof days === "number") best = best === undefined ? days : Math.min(best, days);
    }
    return best;
}

export const stPhiContainerRetention = stackPolicy(
    {
        name: "st-phi-container-retention",
        description:
            "Blob containers that hold raw PHI (default: 'hl7-messages', the ingestion app's raw messages and dedupe marks) " +
            "need a storage.ManagementPolicy on their account that deletes those blobs within maxDays (default 90); add a " +
            "lifecycle rule with prefixMatch '<container>/' and baseBlob.delete.daysAfterCreationGreaterThan.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [CONTAINER, LIFECYCLE],
        anchor: { derivedFrom: "HIPAA minimum necessary / data retention (45 CFR 164.502(b)); Microsoft Learn, Blob lifecycle management" },
        settings: {
            phiContainers: { type: "array", items: { type: "string" }, default: ["hl7-messages"] },
            maxDays: { type: "number", default: 90 },
        },
    },
    (args, report) => {
        const cfg = args.getConfig<{ phiContainers?: string[]; maxDays?: number }>();
        const phi = cfg.phiContainers ?? ["hl7-messages"];
        const maxDays = cfg.maxDays ?? 90;
        const lifecycles = args.resources.filter((r) => r.type === LIFECYCLE);
        for (const container of args.resources.filter((r) => r.type === CONTAINER)) {
            const name = peek(container.props, "containerName");
            if (typeof name !== "string" || !phi.includes(name)) continue;
            const account = container.propertyDependencies.accountName?.[0];
            const accountName = peek(container.props, "accountName");
            const policies = lifecycles.filter((l) => (account && linksTo(l, account, ["accountName"])) || (typeof accountName === "string" && peek(l.props, "accountName") === accountName));
            const days = policies.map((l) => deleteAfterDays(l.props, `${name}/`)).filter((d): d is number => d !== undefined);
            if (days.length === 0) report(`PHI container '${name}' has no lifecycle rule deleting its blobs.`, container.urn);
            else if (Math.min(...days) > maxDays) report(`PHI container '${name}' keeps blobs ${Math.min(...days)} days; at most ${maxDays} allowed.`, container.urn);
        }
    },
);

const DIAG = "azure-native:monitor:DiagnosticSetting";
const SUB_DIAG = "azure-native:monitor:SubscriptionDiagnosticSetting";

/** What is wrong with an account's customer-managed key encryption, or an empty list. */
export function cmkProblems(account: Record<string, any>): string[] {
    const enc = peek(account, "encryption") as Record<string, any> | undefined;
    const problems: string[] = [];
    if (!eqi(peek(enc, "keySource"), "Microsoft.Keyvault")) problems.push(`encryption.keySource is '${String(peek(enc, "keySource"))}', expected 'Microsoft.Keyvault'`);
    const kvp = peek(enc, "keyVaultProperties");
    if (!has(kvp, "keyName") || !has(kvp, "keyVaultUri")) problems.push("encryption.keyVaultProperties needs keyName and keyVaultUri");
    if (has(kvp, "keyVersion") && peek(kvp, "keyVersion")) problems.push("encryption.keyVaultProperties.keyVersion pins one version: leave it out so the rotation policy's new versions apply");
    if (!has(peek(enc, "encryptionIdentity"), "encryptionUserAssignedIdentity")) problems.push("encryption.encryptionIdentity.encryptionUserAssignedIdentity is not set (a user-assigned identity unwraps the key)");
    if (peek(enc, "requireInfrastructureEncryption") !== true) problems.push("encryption.requireInfrastructureEncryption is not true");
    return problems;
}

export const stCmkPhiAudit = stackPolicy(
    {
        name: "st-cmk-phi-audit",
        description:
            "When config requireCustomerManagedKey is true (prod), storage accounts that hold raw PHI (a container in " +
            "phiContainers, default 'hl7-messages') or receive audit logs (the storageAccountId of a diagnostic setting) " +
            "must use a customer-managed key: encryption.keySource 'Microsoft.Keyvault' with keyName and keyVaultUri but no " +
            "pinned keyVersion, a user-assigned encryptionIdentity, and requireInfrastructureEncryption true.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [ACCOUNT, CONTAINER, DIAG, SUB_DIAG],
        anchor: {
            azurePolicy: ["6fac406b-40ca-413b-bf8e-0bf964659c25"],
            scanner: ["CKV2_AZURE_1"],
            derivedFrom: "issue 12 (audit archive and raw HL7 under a customer-managed key)",
        },
        settings: {
            requireCustomerManagedKey: { type: "boolean", default: false },
            phiContainers: { type: "array", items: { type: "string" }, default: ["hl7-messages"] },
        },
    },
    (args, report) => {
        const cfg = args.getConfig<{ requireCustomerManagedKey: boolean; phiContainers?: string[] }>();
        if (!cfg.requireCustomerManagedKey) return;
        const phi = cfg.phiContainers ?? ["hl7-messages"];
        const holdsPhi = (a: (typeof args.resources)[number]) => args.resources.some((c) => c.type === CONTAINER
            && phi.includes(String(peek(c.props, "containerName"))) && (linksTo(c, a, ["accountName"]) || peek(c.props, "accountName") === peek(a.props, "accountName")));
        const receivesAudit = (a: (typeof args.resources)[number]) => args.resources.some((d) => (d.type === DIAG || d.type === SUB_DIAG)
            && (linksTo(d, a, ["storageAccountId"]) || (typeof peek(a.props, "id") === "string" && peek(d.props, "storageAccountId") === peek(a.props, "id"))));
        for (const account of args.resources.filter((r) => r.type === ACCOUNT)) {
            const why = holdsPhi(account) ? "holds raw PHI" : receivesAudit(account) ? "receives audit logs" : undefined;
            if (!why) continue;
            for (const problem of cmkProblems(account.props)) report(`'${account.name}' ${why}: ${problem}.`, account.urn);
        }
    },
);

export const storagePolicies = [
    stHttpsOnly,
    stMinTls,
    stNoPublicBlob,
    stNoSharedKey,
    stNetworkDeny,
    stInfrastructureEncryption,
    stNoCrossTenantReplication,
    stOAuthDefault,
    stPhiContainerRetention,
    stCmkPhiAudit,
];
