// Issue 12, "Audit archive": the WORM archive of the FHIR, Key Vault and Activity Log audit trail, and the raw-HL7
// account's customer-managed key, asserted on the shipped prod plan (and their absence on dev).
import { strict as assert } from "node:assert";
import { BUILT_IN_ROLES } from "../../components/roles";
import { ConfigValidationError, rawPlatformConfig, validatePlatformConfig } from "../../stacks/config";
import { readStackConfig } from "../../tools/offline/plan-runner";
import type { OfflinePlan } from "../../tools/offline/plan-runner";
import { stackPlan } from "../support/stack-plans";

type R = OfflinePlan["resources"][number];
const SA = "azure-native:storage:StorageAccount";

function byName(plan: OfflinePlan, name: string): R {
    const r = plan.resources.find((x) => x.name === name);
    assert.ok(r, `${name} is not in the ${plan.stack} plan`);
    return r!;
}

/** The key, identity, grant and wait behind a CMK account, checked the same way for both accounts. */
function assertOwnRotatingKey(plan: OfflinePlan, account: R, prefix: string, keyName: string): void {
    const i = account.inputs as any;
    const key = byName(plan, `${prefix}-cmk`);
    const identity = byName(plan, `${prefix}-cmk-id`);
    const grant = byName(plan, `${prefix}-cmk-role-key-user`);
    const wait = byName(plan, `${prefix}-cmk-grant-wait`);
    const vault = plan.resources.find((r) => r.type === "azure-native:keyvault:Vault")!;

    // Its own key in the platform vault, with an expiry and a rotation policy; the account follows new versions.
    assert.equal((key.inputs as any).keyName, keyName);
    assert.equal((key.inputs as any).vaultName, (vault.outputs as any).name);
    assert.deepEqual((key.inputs as any).properties.keyOps, ["wrapKey", "unwrapKey"]);
    assert.equal((key.inputs as any).properties.keySize, 3072);
    assert.ok((key.inputs as any).properties.attributes.expires > 0);
    assert.equal((key.inputs as any).properties.rotationPolicy.attributes.expiryTime, "P365D");
    assert.ok((key.inputs as any).properties.rotationPolicy.lifetimeActions.some((a: any) => a.action.type === "rotate"));
    assert.equal(i.encryption.keySource, "Microsoft.Keyvault");
    assert.equal(i.encryption.keyVaultProperties.keyName, keyName);
    assert.equal(i.encryption.keyVaultProperties.keyVaultUri, (vault.outputs as any).properties.vaultUri);
    assert.equal(i.encryption.keyVaultProperties.keyVersion, undefined, "versionless: rotation reaches the account by itself");
    assert.equal(i.encryption.requireInfrastructureEncryption, true);

    // Through a user-assigned identity holding Crypto Service Encryption User on that key alone, after a wait.
    const identityId = (identity.outputs as any).id;
    assert.deepEqual(i.identity, { type: "UserAssigned", userAssignedIdentities: [identityId] });
    assert.equal(i.encryption.encryptionIdentity.encryptionUserAssignedIdentity, identityId);
    assert.ok((grant.inputs as any).roleDefinitionId.endsWith(BUILT_IN_ROLES.keyVaultCryptoServiceEncryptionUser));
    assert.equal((grant.inputs as any).scope, (key.outputs as any).id);
    assert.equal((grant.inputs as any).principalType, "ServicePrincipal");
    assert.ok(wait.dependencies.includes(grant.urn), "the wait follows the grant");
    assert.ok(account.dependencies.includes(wait.urn), "the account waits for the grant to propagate");
    assert.ok(key.dependencies.some((d) => d.endsWith("::keyvault-deployer-grant-wait")), "the key waits for the deployer's Crypto Officer grant");
}

describe("audit archive and storage CMKs in the offline plans (issue 12)", function () {
    this.timeout(180000);
    let prod: OfflinePlan;
    let dev: OfflinePlan;
    before(async () => {
        [prod, dev] = (await Promise.all([stackPlan("prod"), stackPlan("dev")])).map((p) => p.plan);
    });

    it("prod: the archive account is WORM (account-level version immutability) for the configured retention, with appends allowed", () => {
        const archive = byName(prod, "auditarchive-st");
        const i = archive.inputs as any;
        const retention = validatePlatformConfig(rawPlatformConfig(readStackConfig("prod"))).monitoring.logRetentionDays;
        assert.equal(retention, 730);
        assert.deepEqual(i.immutableStorageWithVersioning, {
            enabled: true,
            immutabilityPolicy: { immutabilityPeriodSinceCreationInDays: retention, allowProtectedAppendWrites: true, state: "Unlocked" },
        });
        // Lifecycle deletes only after the WORM period.
        const rule = (byName(prod, "auditarchive-st-lifecycle").inputs as any).policy.rules[0];
        assert.equal(rule.definition.actions.baseBlob.delete.daysAfterCreationGreaterThan, retention + 1);
        assert.equal(rule.definition.actions.version.delete.daysAfterCreationGreaterThan, retention + 1);
    });

    it("prod: the archive is keyless, TLS 1.2, reachable only by trusted Azure services, protected and locked", () => {
        const archive = byName(prod, "auditarchive-st");
        const i = archive.inputs as any;
        assert.equal(i.allowSharedKeyAccess, false);
        assert.equal(i.allowBlobPublicAccess, false);
        assert.equal(i.minimumTlsVersion, "TLS1_2");
        assert.equal(i.enableHttpsTrafficOnly, true);
        assert.deepEqual(i.networkRuleSet, { defaultAction: "Deny", bypass: "AzureServices", ipRules: [], virtualNetworkRules: [] });
        assert.notEqual(i.publicNetworkAccess, "Enabled");
        assert.equal((archive.options as any)?.protect, true);
        const lock = prod.resources.find((r) => r.type === "azure-native:authorization:ManagementLockByScope" && (r.propertyDependencies?.scope ?? []).includes(archive.urn));
        assert.ok(lock, "a CanNotDelete lock on the archive");
        assert.equal((lock!.inputs as any).level, "CanNotDelete");
    });

    it("prod: the archive is encrypted with its own rotating key from the platform vault, after its identity's grant has propagated", () => {
        assertOwnRotatingKey(prod, byName(prod, "auditarchive-st"), "auditarchive-st", "audit-archive-cmk");
    });

    it("prod: FHIR AuditLogs, Key Vault AuditEvent and the Activity Log go to Log Analytics and to the archive", () => {
        const archive = byName(prod, "auditarchive-st");
        const workspace = prod.resources.find((r) => r.type === "azure-native:operationalinsights:Workspace")!;
        for (const [name, category] of [["healthdata-fhir-diag", "AuditLogs"], ["keyvault-vault-diag", "AuditEvent"], ["audit-activity-log", "Security"]]) {
            const s = byName(prod, name);
            const i = s.inputs as any;
            assert.equal(i.storageAccountId, (archive.outputs as any).id, name);
            assert.deepEqual(s.propertyDependencies?.storageAccountId, [archive.urn], `${name} depends on the archive`);
            assert.equal(i.workspaceId, (workspace.outputs as any).id, `${name} still goes to Log Analytics`);
            assert.ok(i.logs.some((l: any) => l.category === category && l.enabled), `${name} sends ${category}`);
        }
    });

    it("prod: the raw-HL7 account is encrypted with its own rotating key, infrastructure encryption kept", () => {
        const account = byName(prod, "ingestion-st");
        assertOwnRotatingKey(prod, account, "ingestion-st", "st-hl7-cmk");
        const services = (account.inputs as any).encryption.services;
        for (const s of ["blob", "queue", "table"]) assert.equal(services[s].keyType, "Account", `${s} under the account key (so under the CMK)`);
        assert.equal((account.inputs as any).publicNetworkAccess, "Disabled");
    });

    it("prod: the archive's account, key, identity, grant, wait, lock and lifecycle are children of one AuditArchive component", () => {
        const component = prod.resources.find((r) => r.type === "fhirplatform:monitoring:AuditArchive");
        assert.ok(component, "the AuditArchive component");
        for (const name of ["auditarchive-st", "auditarchive-st-cmk", "auditarchive-st-cmk-id", "auditarchive-st-cmk-role-key-user", "auditarchive-st-cmk-grant-wait", "auditarchive-st-lock", "auditarchive-st-lifecycle"]) {
            assert.equal(byName(prod, name).parent, component!.urn, name);
        }
        for (const name of ["ingestion-st-cmk", "ingestion-st-cmk-id", "ingestion-st-cmk-role-key-user", "ingestion-st-cmk-grant-wait"]) {
            assert.equal(byName(prod, name).parent, byName(prod, "ingestion-st").parent, `${name} beside the raw-HL7 account`);
        }
    });

    it("dev: no archive, Microsoft-managed keys on the raw-HL7 account, audit settings to Log Analytics only", () => {
        assert.ok(!dev.resources.some((r) => r.type === SA && (r.inputs as any).immutableStorageWithVersioning), "no archive in dev");
        assert.ok(!dev.resources.some((r) => r.type === "azure-native:keyvault:Key" && (r.inputs as any).keyName !== "fhir-cmk"), "only the FHIR CMK in dev");
        const hl7 = byName(dev, "ingestion-st").inputs as any;
        assert.equal(hl7.encryption.keySource, "Microsoft.Storage");
        assert.equal(hl7.encryption.requireInfrastructureEncryption, true);
        for (const name of ["healthdata-fhir-diag", "keyvault-vault-diag", "audit-activity-log"]) {
            assert.equal((byName(dev, name).inputs as any).storageAccountId, undefined, name);
        }
    });
});

describe("audit archive and storage CMK config (issue 12)", () => {
    const prodRaw = () => JSON.parse(JSON.stringify(rawPlatformConfig(readStackConfig("prod")))) as Record<string, any>;
    const problemsOf = (raw: Record<string, unknown>): string[] => {
        try {
            validatePlatformConfig(raw, "prod");
        } catch (err) {
            assert.ok(err instanceof ConfigValidationError);
            return [...err.problems];
        }
        return assert.fail("accepted");
    };

    it("prod requires the archive and the raw-HL7 CMK, and lists every bad key at once", () => {
        const raw = prodRaw();
        raw.monitoring.auditArchive = { enabled: false, lockd: true };
        raw.storage.customerManagedKey = false;
        const problems = problemsOf(raw);
        for (const key of ["monitoring.auditArchive.enabled", "monitoring.auditArchive.lockd", "storage.customerManagedKey"]) {
            assert.ok(problems.some((p) => p.includes(`${key}:`)), `${key} in:\n${problems.join("\n")}`);
        }
    });

    it("reads the shipped settings: archive on and unlocked in prod, off in dev", () => {
        const prodConfig = validatePlatformConfig(prodRaw(), "prod");
        assert.deepEqual(prodConfig.monitoring.auditArchive, { enabled: true, locked: false });
        assert.equal(prodConfig.storage.customerManagedKey, true);
        const devConfig = validatePlatformConfig(rawPlatformConfig(readStackConfig("dev")), "dev");
        assert.deepEqual(devConfig.monitoring.auditArchive, { enabled: false, locked: false });
        assert.equal(devConfig.storage.customerManagedKey, false);
        const locked = prodRaw();
        locked.monitoring.auditArchive.locked = true;
        assert.equal(validatePlatformConfig(locked, "prod").monitoring.auditArchive.locked, true);
    });
});
