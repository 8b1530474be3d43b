import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import { roleAssignmentName } from "../components/rbac";

export interface RoleAssignmentSpec {
    scope: pulumi.Input<string>;
    /** Role definition GUID (built-in or one of the bootstrap's custom roles). */
    roleGuid: pulumi.Input<string>;
    subscriptionId: pulumi.Input<string>;
    principalId: pulumi.Input<string>;
    /** Always explicit: a just-created identity may not have replicated yet (PrincipalNotFound otherwise). */
    principalType: "ServicePrincipal" | "Group" | "User";
    description: string;
    /** ABAC condition (version 2.0). */
    condition?: string;
}

/**
 * One role assignment with the same deterministic name scheme as the platform's (components/rbac.ts), so re-running
 * never duplicates a grant and a changed grant shows as a replacement.
 */
export function assignRole(name: string, spec: RoleAssignmentSpec, opts: pulumi.CustomResourceOptions): authorization.RoleAssignment {
    return new authorization.RoleAssignment(name, {
        roleAssignmentName: pulumi.all([spec.scope, spec.roleGuid, spec.principalId]).apply(([scope, role, principal]) => roleAssignmentName(scope, role, principal)),
        scope: spec.scope,
        roleDefinitionId: pulumi.interpolate`/subscriptions/${spec.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${spec.roleGuid}`,
        principalId: spec.principalId,
        principalType: spec.principalType,
        description: spec.description,
        ...(spec.condition ? { condition: spec.condition, conditionVersion: "2.0" } : {}),
    }, opts);
}
