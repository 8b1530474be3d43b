// Helpers for the bootstrap plan tests: the plan's resources by type and name, role grants per principal.
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { roleGuidOf } from "../../components/roles";
import type { OfflinePlan, PlanResource } from "../../tools/offline/plan-runner";

export const ROOT = path.resolve(__dirname, "..", "..");
export const REPO = "contoso/fhir-platform";
export const ENVS = ["dev", "prod"];
/** Published Microsoft Graph application permission ids (Graph permissions reference), not read from the mocks. */
export const GRAPH_IDS: Record<string, string> = {
    "Application.ReadWrite.OwnedBy": "18a4783c-866b-4cc7-a460-3d5e5662c884",
    "AppRoleAssignment.ReadWrite.All": "06b708a9-e830-4db3-a914-8e69da51d44f",
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    "DelegatedPermissionGrant.ReadWrite.All": "8e8e4742-1d95-4f68-9d56-6ee75648c72a",
};
export const RA = "azure-native:authorization:RoleAssignment";

export const ofType = (plan: OfflinePlan, type: string) => plan.resources.filter((r) => r.type === type);
export const named = (plan: OfflinePlan, name: string): PlanResource => {
    const found = plan.resources.find((r) => r.name === name);
    assert.ok(found, `no resource named ${name}`);
    return found;
};
export const stackOutputs = (plan: OfflinePlan) => ofType(plan, "pulumi:pulumi:Stack")[0].outputs as Record<string, any>;
/** Role assignments of one principal: role GUID → scopes. */
export function grantsOf(plan: OfflinePlan, principalId: unknown): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const ra of ofType(plan, RA).filter((r) => r.inputs.principalId === principalId)) {
        const guid = roleGuidOf(String(ra.inputs.roleDefinitionId))!;
        out.set(guid, [...(out.get(guid) ?? []), String(ra.inputs.scope)]);
    }
    return out;
}
