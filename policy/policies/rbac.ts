// Azure RBAC role assignments declared by the stack: least privilege (no Owner/Contributor/User Access Administrator),
// no subscription or management-group scope, explicit principalType (avoids replication-delay failures for new identities).
import * as authorization from "@pulumi/azure-native/authorization";
import { validateResourceOfType } from "@pulumi/policy";
import { has, resourcePolicy } from "./framework";

const RA = "azure-native:authorization:RoleAssignment";

/** Built-in role GUIDs (azure-deployment-facts §2.1; Microsoft built-in roles table). */
export const PRIVILEGED_ROLES: Record<string, string> = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
};

export const rbacNoPrivilegedRoles = resourcePolicy(
    {
        name: "rbac-no-privileged-roles",
        description:
            "The stack must not assign Owner, Contributor or User Access Administrator (config forbiddenRoleIds); assign the " +
            "narrow data-plane role the principal needs (e.g. FHIR Data Writer, Key Vault Crypto Service Encryption User).",
        enforcementLevel: "mandatory",
        severity: "critical",
        resourceTypes: [RA],
        anchor: { scanner: ["CKV_AZURE_39"], derivedFrom: "least privilege; Azure Policy 4f11b553/09024ccc (owner counts) are related" },
        settings: { forbiddenRoleIds: { type: "array", items: { type: "string" }, default: Object.keys(PRIVILEGED_ROLES) } },
    },
    validateResourceOfType(authorization.RoleAssignment, (ra, args, report) => {
        const { forbiddenRoleIds } = args.getConfig<{ forbiddenRoleIds: string[] }>();
        const guid = String(ra.roleDefinitionId).split("/").pop()!.toLowerCase();
        if (forbiddenRoleIds.map(r => r.toLowerCase()).includes(guid)) {
            report(`roleDefinitionId is ${PRIVILEGED_ROLES[guid] ?? "a forbidden role"} (${guid}).`);
        }
    }),
);

const BROAD_SCOPE = [
    /^\/?$/,
    /^\/subscriptions\/[^/]+\/?$/i,
    /^\/providers\/Microsoft\.Management\/managementGroups\/[^/]+\/?$/i,
];

export const rbacNoBroadScope = resourcePolicy(
    {
        name: "rbac-no-subscription-scope",
        description:
            "Role assignments must be scoped to a resource (or at most a resource group), never to the tenant root, a management " +
            "group or a subscription; set scope to the target resource's id.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [RA],
        anchor: { derivedFrom: "least privilege (Microsoft Learn, Azure RBAC best practices: limit scope)" },
    },
    validateResourceOfType(authorization.RoleAssignment, (ra, _args, report) => {
        // The scope is usually another resource's id: reading it is deferred to `up` when unknown at preview.
        const scope = String(ra.scope);
        if (BROAD_SCOPE.some(r => r.test(scope))) report(`scope '${scope}' is too broad.`);
    }),
);

export const rbacPrincipalType = resourcePolicy(
    {
        name: "rbac-principal-type",
        description:
            "Role assignments must set principalType (ServicePrincipal for managed identities, Group, User) so Azure does not " +
            "fail on a principal that has not replicated yet.",
        enforcementLevel: "mandatory",
        severity: "low",
        resourceTypes: [RA],
        anchor: { derivedFrom: "azure-deployment-facts §2.10 (principalType for new managed identities)" },
    },
    validateResourceOfType(authorization.RoleAssignment, (ra, _args, report) => {
        if (!has(ra, "principalType")) report("principalType is not set.");
    }),
);

export const fhirDataRolesServicePrincipals = resourcePolicy(
    {
        name: "fhir-data-roles-service-principals",
        description:
            "Role assignments on a FHIR service must go to service principals (the gateway, the ingestion Function). FHIR is " +
            "private and reached only through API Management, which calls it as itself and stamps the caller into the " +
            "audit log: a role granted to a user or group there would suggest access that never applies. Authorise users " +
            "and groups with the platform API's app roles (FHIR.Read / FHIR.Write) instead.",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: [RA],
        anchor: { derivedFrom: "issue 12 (audit attribution: group role assignments must mean what they say)" },
    },
    validateResourceOfType(authorization.RoleAssignment, (ra, _args, report) => {
        const scope = typeof ra.scope === "string" ? ra.scope : "";
        if (/\/providers\/Microsoft\.HealthcareApis\/workspaces\/[^/]+\/fhirservices\//i.test(scope) && ra.principalType !== "ServicePrincipal") {
            report(`a FHIR data role is granted to a ${String(ra.principalType)}; grant the platform API's app role at the gateway instead.`);
        }
    }),
);

export const rbacPolicies = [rbacNoPrivilegedRoles, rbacNoBroadScope, rbacPrincipalType, fhirDataRolesServicePrincipals];
