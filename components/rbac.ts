import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import { BUILT_IN_ROLES, BuiltInRoleName, roleDefinitionId } from "./roles";

/** One row of a component's access table: who gets which built-in role on what. */
export interface RoleGrant {
    /** Pulumi name suffix, unique within the component. */
    key: string;
    role: BuiltInRoleName;
    /** The narrowest resource id that still lets the principal do its job. */
    scope: pulumi.Input<string>;
    principalId: pulumi.Input<string>;
    /** Always explicit: avoids the Entra look-up race on fresh identities (PrincipalNotFound, pitfall 1). */
    principalType: "ServicePrincipal" | "Group" | "User";
    /** Why this access exists; shown in the portal next to the assignment. */
    description: string;
}

/**
 * A name-based GUID for a role assignment (the same idea as Bicep's `guid(scope, principal, role)`), so the same
 * grant always has the same ARM name: re-running never duplicates it and a changed grant is a visible replacement.
 */
export function roleAssignmentName(scope: string, roleGuid: string, principalId: string): string {
    const h = createHash("sha256").update(`${scope.toLowerCase()}|${roleGuid.toLowerCase()}|${principalId.toLowerCase()}`).digest("hex");
    // Version nibble 5 and RFC 4122 variant bits, like a name-based UUID.
    const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Declares one role assignment per grant, all with principalType and a deterministic name. */
export function grantRoles(
    prefix: string,
    grants: RoleGrant[],
    subscriptionId: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions,
): Record<string, authorization.RoleAssignment> {
    const keys = new Set<string>();
    const out: Record<string, authorization.RoleAssignment> = {};
    for (const grant of grants) {
        if (keys.has(grant.key)) throw new Error(`${prefix}: role grant key "${grant.key}" is used twice`);
        keys.add(grant.key);
        const roleGuid = BUILT_IN_ROLES[grant.role];
        out[grant.key] = new authorization.RoleAssignment(`${prefix}-${grant.key}`, {
            roleAssignmentName: pulumi.all([grant.scope, grant.principalId]).apply(([scope, principal]) => roleAssignmentName(scope, roleGuid, principal)),
            scope: grant.scope,
            roleDefinitionId: pulumi.output(subscriptionId).apply((sub) => roleDefinitionId(sub, grant.role)),
            principalId: grant.principalId,
            principalType: grant.principalType,
            description: grant.description,
        }, opts);
    }
    return out;
}
