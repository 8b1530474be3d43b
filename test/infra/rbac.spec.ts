import { strict as assert } from "node:assert";
import { roleAssignmentName, grantRoles } from "../../components/rbac";
import { BUILT_IN_ROLES, BuiltInRoleName, FORBIDDEN_ROLES, roleGuidOf } from "../../components/roles";
import type { OfflinePlan, PlanResource } from "../../tools/offline/plan-runner";
import { stackPlan } from "../support/stack-plans";

const ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment";

/** The access table of this issue: every grant, what it must be, and on what. */
interface Expected {
    role: BuiltInRoleName;
    /** Plan resource (by name) whose id is the scope. */
    scopeOf: string;
    /** Plan resource whose principal is the assignee, or "config" for Entra groups. */
    principal: "ingestion-id" | "gateway-service" | "config";
    principalType: "ServicePrincipal" | "Group";
}

const EDGE_GRANTS: Record<string, Expected> = {
    "ingestion-role-fhir-writer": { role: "fhirDataWriter", scopeOf: "healthdata-fhir", principal: "ingestion-id", principalType: "ServicePrincipal" },
    "ingestion-role-blob-owner": { role: "storageBlobDataOwner", scopeOf: "ingestion-st", principal: "ingestion-id", principalType: "ServicePrincipal" },
    "ingestion-role-queue-contributor": { role: "storageQueueDataContributor", scopeOf: "ingestion-st", principal: "ingestion-id", principalType: "ServicePrincipal" },
    "ingestion-role-metrics-publisher": { role: "monitoringMetricsPublisher", scopeOf: "monitoring-appi", principal: "ingestion-id", principalType: "ServicePrincipal" },
    "gateway-role-fhir-writer": { role: "fhirDataWriter", scopeOf: "healthdata-fhir", principal: "gateway-service", principalType: "ServicePrincipal" },
    "gateway-role-metrics-publisher": { role: "monitoringMetricsPublisher", scopeOf: "monitoring-appi", principal: "gateway-service", principalType: "ServicePrincipal" },
    "gateway-role-function-key-reader": { role: "keyVaultSecretsUser", scopeOf: "gateway-function-key-secret", principal: "gateway-service", principalType: "ServicePrincipal" },
};

function byName(plan: OfflinePlan, name: string): PlanResource {
    const r = plan.resources.find((x) => x.name === name);
    if (!r) throw new Error(`plan has no resource named ${name}`);
    return r;
}

function principalOf(plan: OfflinePlan, name: string): string {
    const r = byName(plan, name);
    if (r.type === "azure-native:apimanagement:ApiManagementService") return (r.outputs.identity as { principalId: string }).principalId;
    return r.outputs.principalId as string;
}

describe("least-privilege RBAC of the edge (plans for dev and prod)", function () {
    this.timeout(180000);

    for (const stack of ["dev", "prod"]) {
        describe(stack, () => {
            let plan: OfflinePlan;
            let assignments: PlanResource[];
            before(async () => {
                ({ plan } = await stackPlan(stack));
                assignments = plan.resources.filter((r) => r.type === ROLE_ASSIGNMENT);
            });

            it("creates each grant of the access table with the right role, scope, principal and principal type", () => {
                for (const [name, want] of Object.entries(EDGE_GRANTS)) {
                    const a = byName(plan, name).inputs as Record<string, string>;
                    assert.equal(roleGuidOf(a.roleDefinitionId), BUILT_IN_ROLES[want.role], `${name}: role`);
                    assert.equal(a.scope, byName(plan, want.scopeOf).outputs.id, `${name}: scope`);
                    assert.equal(a.principalId, principalOf(plan, want.principal), `${name}: principal`);
                    assert.equal(a.principalType, want.principalType, `${name}: principalType`);
                }
            });

            it("grants nothing else to the Function or APIM identities (Key Vault Secrets User only in client-credentials mode)", () => {
                const fn = principalOf(plan, "ingestion-id");
                const apim = principalOf(plan, "gateway-service");
                const granted = assignments.filter((a) => [fn, apim].includes((a.inputs as Record<string, string>).principalId)).map((a) => a.name).sort();
                assert.deepEqual(granted, Object.keys(EDGE_GRANTS).sort());
            });

            it("grants FHIR data roles to service principals only: users and groups are authorised at the gateway", () => {
                const onFhir = assignments.filter((a) => (a.inputs as Record<string, string>).scope === byName(plan, "healthdata-fhir").outputs.id);
                assert.ok(onFhir.length >= 2);
                for (const g of onFhir) assert.equal((g.inputs as Record<string, string>).principalType, "ServicePrincipal", g.name);
                assert.ok(!assignments.some((a) => a.name.startsWith("identity-role-reader-group") || a.name.startsWith("identity-role-smart-group")));
            });

            it("uses only roles from the single role table, never a privileged one, always with principalType and a deterministic name", () => {
                const known = new Set<string>(Object.values(BUILT_IN_ROLES));
                const forbidden = new Set<string>(Object.values(FORBIDDEN_ROLES));
                for (const r of assignments) {
                    const a = r.inputs as Record<string, string>;
                    const guid = roleGuidOf(a.roleDefinitionId)!;
                    assert.ok(known.has(guid), `${r.name}: ${guid} is in components/roles.ts`);
                    assert.ok(!forbidden.has(guid), `${r.name}: not privileged`);
                    assert.ok(["ServicePrincipal", "Group", "User"].includes(a.principalType), `${r.name}: principalType`);
                    assert.ok(!/^\/subscriptions\/[^/]+$/.test(a.scope), `${r.name}: not subscription-wide`);
                    if (/^(ingestion|gateway|identity)-/.test(r.name)) {
                        assert.equal(a.roleAssignmentName, roleAssignmentName(a.scope, guid, a.principalId), `${r.name}: deterministic name`);
                    }
                }
            });
        });
    }

    it("derives role assignment names from scope, role and principal only", () => {
        const n = roleAssignmentName("/s/x", BUILT_IN_ROLES.fhirDataWriter, "p1");
        assert.match(n, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        assert.equal(n, roleAssignmentName("/S/X", BUILT_IN_ROLES.fhirDataWriter.toUpperCase(), "P1"), "ARM ids are case-insensitive");
        assert.notEqual(n, roleAssignmentName("/s/y", BUILT_IN_ROLES.fhirDataWriter, "p1"));
        assert.notEqual(n, roleAssignmentName("/s/x", BUILT_IN_ROLES.keyVaultSecretsUser, "p1"));
        assert.notEqual(n, roleAssignmentName("/s/x", BUILT_IN_ROLES.fhirDataWriter, "p2"));
        assert.throws(() => grantRoles("dup", [
            { key: "k", role: "keyVaultSecretsUser", scope: "/s", principalId: "p", principalType: "Group", description: "" },
            { key: "k", role: "fhirDataWriter", scope: "/s", principalId: "p", principalType: "Group", description: "" },
        ], "sub", {}), /used twice/);
    });
});
