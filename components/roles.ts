/**
 * Built-in Azure role definition GUIDs used by this platform, in one table so every role assignment (and the policy
 * pack) reads the same ids. Source: Microsoft's "Azure built-in roles" reference (MicrosoftDocs/azure-docs,
 * articles/role-based-access-control/built-in-roles.md), cross-checked against the AVM `builtInRoleNames` maps.
 */
export const BUILT_IN_ROLES = {
    /** Read, write and soft-delete FHIR data: the ingestion Function and APIM's write path. */
    fhirDataWriter: "3f88fce4-5892-4214-ae73-ba5294559913",
    /** Get key metadata and wrap/unwrap: all FHIR needs from its customer-managed key. */
    keyVaultCryptoServiceEncryptionUser: "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    /** Read secret contents: the Function, only in client-credentials FHIR mode. */
    keyVaultSecretsUser: "4633458b-17de-408a-b874-0445c86b69e6",
    /**
     * Create keys and read their metadata: the deployer on the platform vault, because ARM creates `vaults/keys` of an
     * RBAC vault as the caller (pulumi/pulumi-azure-native#890). Secrets go through ARM's management plane and need no
     * Secrets Officer.
     */
    keyVaultCryptoOfficer: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
    /** Host storage for Flex Consumption deployment packages and the Functions runtime. */
    storageBlobDataOwner: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    /** Write blobs without account keys: VNet flow logs' identity on the flow-log account. */
    storageBlobDataContributor: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    /** Queue trigger and output binding. */
    storageQueueDataContributor: "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    /** Telemetry ingestion when Application Insights has local (key) auth disabled. */
    monitoringMetricsPublisher: "3913510d-42f4-4e42-8a64-420c390055eb",
} as const;

export type BuiltInRoleName = keyof typeof BUILT_IN_ROLES;

/** Roles that grant control over access itself or over everything in scope; never assigned by this program. */
export const FORBIDDEN_ROLES = {
    owner: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    contributor: "b24988ac-6180-42a0-ab88-20f7382dd24c",
    userAccessAdministrator: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
} as const;

/** The full ARM id of a built-in role definition, as `RoleAssignment.roleDefinitionId` expects it. */
export function roleDefinitionId(subscriptionId: string, role: BuiltInRoleName): string {
    return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${BUILT_IN_ROLES[role]}`;
}

/** The GUID at the end of a role definition id, or undefined when the id is not one. */
export function roleGuidOf(roleDefinitionIdValue: string): string | undefined {
    const match = /\/roleDefinitions\/([0-9a-f-]{36})$/i.exec(roleDefinitionIdValue);
    return match ? match[1].toLowerCase() : undefined;
}
