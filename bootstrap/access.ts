import { createHash } from "node:crypto";
import { BUILT_IN_ROLES } from "../components/roles";

/**
 * Who may do what, as data: the roles, custom-role actions, Graph permissions and OIDC subjects the bootstrap grants.
 * Pure, so the tests and the policy review read exactly what the program declares.
 */

/** GitHub's OIDC issuer and the audience Entra expects for workload identity federation (Learn, "Workload identity federation", GitHub section). */
export const GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com";
export const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";

/**
 * Subjects GitHub puts in the `sub` claim (GitHub docs, "About security hardening with OpenID Connect", example
 * subject claims): a job bound to an environment gets `repo:<owner>/<repo>:environment:<name>` whatever its trigger;
 * a `pull_request` job without an environment gets `repo:<owner>/<repo>:pull_request`. Entra matches them exactly
 * (AADSTS70021 otherwise), so each job kind needs its own federated credential.
 */
export function githubSubjects(repository: string, environment: string): { deploy: string; preview: string; releasePreview: string } {
    return {
        deploy: `repo:${repository}:environment:${environment}`,
        preview: `repo:${repository}:pull_request`,
        // deploy.yml's preview of the exact commit about to be deployed, bound to `<env>-preview` (no reviewers), so
        // the approvers of `<env>` read it before they approve; it signs in as the read-only preview identity.
        releasePreview: `repo:${repository}:environment:${environment}-preview`,
    };
}

/** Built-in roles the bootstrap assigns itself (Microsoft "Azure built-in roles" reference; azure-deployment-facts §2.1). */
export const BOOTSTRAP_ROLES = {
    /** Preview identity: read every control-plane resource (refresh, `get` functions). */
    reader: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    /**
     * Preview identity: key/secret metadata on RBAC vaults. ARM reads `vaults/keys` of an RBAC vault as the caller's
     * data-plane identity (pulumi/pulumi-azure-native#890), so Reader alone cannot refresh the platform's CMK.
     * Key Vault Reader has `vaults/*\/read` data actions and no key material or secret values.
     */
    keyVaultReader: "21090545-7ca7-4776-b22c-e363652d74d2",
    /** Bootstrap operator on the bootstrap vault: ARM creates keys of an RBAC vault as the caller (see above). */
    keyVaultCryptoOfficer: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
    /** Deployer and operators on their secrets-provider key: encrypt (stack init) and decrypt. */
    keyVaultCryptoUser: "12338af0-0e69-4776-bea7-57ae8d297424",
    /** Deployer and operators on their environment's state container: read, write, lock. */
    storageBlobDataContributor: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    /**
     * Preview identity on its state container. A DIY-backend preview takes no lock and writes no history
     * (pulumi/pulumi pkg/backend/diy/backend.go: Preview calls apply with DryRun and no Lock), so read suffices.
     */
    storageBlobDataReader: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    /**
     * Deployer on its own runner VNet only: the platform peers with it and links its DNS zone to it
     * (components/deployerAccess.ts), which needs `virtualNetworks/peer/action` and `join/action` on this VNet even
     * when the VNet lives in another subscription than the platform.
     */
    networkContributor: "4d97b98b-1d4f-4787-a291-c67834d212e7",
    /** Deployer: create the platform's role assignments, limited by the condition below (never User Access Administrator). */
    roleBasedAccessControlAdministrator: "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
} as const;

/**
 * Role definitions the platform program assigns: every entry of components/roles.ts BUILT_IN_ROLES, plus Key Vault
 * Crypto Officer, which the deployer grants itself on the platform vault to create the CMK. Sorted, lowercase.
 */
export function platformAssignableRoleGuids(): string[] {
    return [...new Set([...Object.values(BUILT_IN_ROLES), BOOTSTRAP_ROLES.keyVaultCryptoOfficer].map((g) => g.toLowerCase()))].sort();
}

/** Principal types the platform assigns roles to: its managed identities and service principals, and Entra groups. */
export const ASSIGNABLE_PRINCIPAL_TYPES = ["ServicePrincipal", "Group"] as const;

/**
 * The ABAC condition on the deployer's Role Based Access Control Administrator assignment (Learn, "Delegate Azure
 * role assignment management to others with conditions" and "Authorization actions and attributes"): it may create
 * assignments only of the listed role definitions, only to service principals and groups, and delete only
 * assignments of those roles. Owner, User Access Administrator and RBAC Administrator itself are not in the list, so
 * it cannot escalate.
 */
export function roleAssignmentCondition(roleGuids: readonly string[], principalTypes: readonly string[] = ASSIGNABLE_PRINCIPAL_TYPES): string {
    if (roleGuids.length === 0) throw new Error("a role-assignment condition needs at least one role definition id");
    const guids = roleGuids.join(", ");
    const types = principalTypes.map((t) => `'${t}'`).join(", ");
    return [
        "(",
        " (",
        "  !(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})",
        " )",
        " OR",
        " (",
        `  @Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${guids}}`,
        "  AND",
        `  @Request[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {${types}}`,
        " )",
        ")",
        "AND",
        "(",
        " (",
        "  !(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})",
        " )",
        " OR",
        " (",
        `  @Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${guids}}`,
        " )",
        ")",
    ].join("\n");
}

/**
 * Resource providers of everything stacks/platform.ts declares (read from components/: networking and private DNS,
 * Key Vault, AHDS, APIM, the Flex Function, storage, monitoring, identities, Event Grid). The deployer's custom role
 * gets `<namespace>/*` on these and nothing else: no Compute, no SQL, no `Microsoft.Authorization` (role assignments
 * go through the conditioned RBAC Administrator, locks through their own role). test/infra/bootstrap.spec.ts plans
 * dev and prod and fails when the platform declares a type outside this list.
 */
export const PLATFORM_RESOURCE_PROVIDERS = [
    "Microsoft.ApiManagement",
    "Microsoft.EventGrid",
    "Microsoft.HealthcareApis",
    "Microsoft.Insights",
    "Microsoft.KeyVault",
    "Microsoft.ManagedIdentity",
    "Microsoft.Network",
    "Microsoft.OperationalInsights",
    // Microsoft Sentinel on the platform's workspace (prod).
    "Microsoft.SecurityInsights",
    "Microsoft.Storage",
    "Microsoft.Web",
] as const;

/** Control-plane actions of the "platform deployer" custom role. */
export function deployerRoleActions(): string[] {
    return [
        // Resource groups are created by the program; `*/read` lets it read anything it refreshes.
        "Microsoft.Resources/subscriptions/resourceGroups/*",
        "*/read",
        ...PLATFORM_RESOURCE_PROVIDERS.map((ns) => `${ns}/*`),
    ];
}

/** The lock custom role: among built-ins only Owner and User Access Administrator hold this (Learn, "Lock your resources"). */
export const LOCK_ROLE_ACTIONS = ["Microsoft.Authorization/locks/*"] as const;

/**
 * The preview identity's secrets-provider role: read the key and decrypt the stack's data key, nothing else. No built-in
 * role is decrypt-only (Crypto User also encrypts, signs and wraps; Crypto Service Encryption User only wraps).
 * Key Vault data actions: Learn, "Azure permissions for Security" (Microsoft.KeyVault).
 */
export const SECRETS_DECRYPT_DATA_ACTIONS = ["Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/decrypt/action"] as const;

/**
 * POST actions behind the data-source invokes the platform program calls on every preview (Reader covers GETs only).
 * Keys are the azure-native function names; test/infra/bootstrap.spec.ts fails when components/ calls a `list*`
 * invoke missing here. They return secrets, but nothing the preview identity could not already read: those values
 * are secret outputs in the state it reads and decrypts anyway.
 */
export const PLATFORM_INVOKE_ACTIONS: Record<string, string> = {
    // components/gatewayFunctionKey.ts: the HL7 function's keys, read back into Key Vault (POST sites/{name}/functions/{fn}/listkeys).
    listWebAppFunctionKeys: "Microsoft.Web/sites/functions/listkeys/action",
    // components/apimProducts.ts: consumer subscription keys published to Key Vault (POST .../subscriptions/{sid}/listSecrets).
    listSubscriptionSecrets: "Microsoft.ApiManagement/service/subscriptions/listSecrets/action",
};

/** True when one of `patterns` (ARM action syntax, `*` wildcards, case-insensitive) allows `action`. */
export function actionAllowed(patterns: readonly string[], action: string): boolean {
    return patterns.some((p) => new RegExp(`^${p.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join(".*")}$`, "i").test(action));
}

/** azure-native modules whose ARM namespace is not `Microsoft.<Module>` spelled the same way. */
const MODULE_NAMESPACES: Record<string, string> = {
    apimanagement: "Microsoft.ApiManagement",
    applicationinsights: "Microsoft.Insights",
    monitor: "Microsoft.Insights",
    eventgrid: "Microsoft.EventGrid",
    healthcareapis: "Microsoft.HealthcareApis",
    keyvault: "Microsoft.KeyVault",
    managedidentity: "Microsoft.ManagedIdentity",
    network: "Microsoft.Network",
    privatedns: "Microsoft.Network",
    operationalinsights: "Microsoft.OperationalInsights",
    storage: "Microsoft.Storage",
    web: "Microsoft.Web",
    authorization: "Microsoft.Authorization",
};

/**
 * The ARM write action a planned azure-native resource needs, namespace-exact (`Microsoft.Web/...` for a web:WebApp);
 * the type segment is the SDK's kind, which is enough because the deployer role grants whole namespaces. The generic
 * `resources:Resource` uses its own namespace. Undefined for non-ARM resources (azuread, random, time).
 */
export function armWriteAction(type: string, inputs: Record<string, unknown>): string | undefined {
    const [pkg, module, kind] = type.split(":");
    if (pkg !== "azure-native") return undefined;
    if (type === "azure-native:resources:ResourceGroup") return "Microsoft.Resources/subscriptions/resourceGroups/write";
    if (type === "azure-native:resources:Resource") return `${String(inputs.resourceProviderNamespace)}/${String(inputs.resourceType)}/write`;
    const ns = MODULE_NAMESPACES[module] ?? `Microsoft.${module}`;
    return `${ns}/${kind}/write`;
}

/** Microsoft Graph's well-known application id (the same in every tenant). */
export const MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";

/**
 * Graph application permissions of the deploying identity, each for something components/entraId.ts does (least
 * privileged entries of each Graph API's permissions table on Learn):
 * - Application.ReadWrite.OwnedBy: create the API, sender, portal and client registrations and their service
 *   principals, identifier URIs and client secrets, and manage only those it owns (application-post-applications).
 * - AppRoleAssignment.ReadWrite.All + Application.Read.All: `azuread.AppRoleAssignment` (sender → HL7.Send, groups →
 *   FHIR.Read / default access); the least privileged pair on serviceprincipal-post-approleassignedto.
 * - DelegatedPermissionGrant.ReadWrite.All: the tenant-wide consent for `access_as_user`
 *   (`ServicePrincipalDelegatedPermissionGrant`; oauth2permissiongrant-post).
 * No directory role (Application Administrator, Global Administrator) is assigned.
 */
export const DEPLOYER_GRAPH_PERMISSIONS = [
    "Application.ReadWrite.OwnedBy",
    "AppRoleAssignment.ReadWrite.All",
    "Application.Read.All",
    "DelegatedPermissionGrant.ReadWrite.All",
] as const;

/** The preview identity reads registrations, service principals and app role assignments on refresh; nothing more. */
export const PREVIEW_GRAPH_PERMISSIONS = ["Application.Read.All"] as const;

/** A name-based UUID (v5-shaped) for ids that must be the same on every run: custom role definitions, assignments. */
export function nameUuid(...parts: string[]): string {
    const h = createHash("sha256").update(parts.map((p) => p.toLowerCase()).join("|")).digest("hex");
    const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
