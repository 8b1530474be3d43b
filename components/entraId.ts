import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import * as keyvault from "@pulumi/azure-native/keyvault";
import { APP_ROLES } from "./apimPolicies";
import { grantRoles, RoleGrant } from "./rbac";
import { rotationSchedule, Slot, stableUuid } from "./secretRotation";

/** The delegated scope user-facing clients request; the user's app roles still decide what APIM lets through. */
export const USER_SCOPE = "access_as_user";

/** Entra's built-in "default access" app role id, used to assign users or groups to an app without roles. */
export const DEFAULT_ACCESS_ROLE_ID = "00000000-0000-0000-0000-000000000000";

export interface AppRoleDefinition {
    value: string;
    displayName: string;
    description: string;
    allowedMemberTypes: ("User" | "Application")[];
}

/** App roles of the platform API; ids derive from the value so they never change between runs or stacks. */
export const PLATFORM_APP_ROLES: AppRoleDefinition[] = [
    { value: APP_ROLES.hl7Send, displayName: "Send HL7 v2 messages", description: "Post HL7 v2 messages to the /hl7 ingestion API", allowedMemberTypes: ["Application"] },
    { value: APP_ROLES.fhirRead, displayName: "Read FHIR data", description: "GET and HEAD on the /fhir API", allowedMemberTypes: ["User", "Application"] },
    { value: APP_ROLES.fhirWrite, displayName: "Write FHIR data", description: "POST, PUT, PATCH and DELETE on the /fhir API", allowedMemberTypes: ["User", "Application"] },
];

export function appRoleId(value: string): string {
    return stableUuid(`app-role/${value}`);
}

export interface PlatformIdentityArgs {
    /** Environment name, shown in display names. */
    environment: string;
    /** Entra tenant of the registrations. */
    tenantId: pulumi.Input<string>;
    /** Subscription, for role definition ids. */
    subscriptionId: pulumi.Input<string>;
    /**
     * The deploying principal's object id. With Graph `Application.ReadWrite.OwnedBy` it may manage only what it
     * owns, so every registration and service principal lists it as owner (azuread Application docs: include the
     * principal running the deployment in `owners`).
     */
    deployerObjectId: pulumi.Input<string>;
    /** Days between HL7 sender secret renewals (config identity.hl7SenderSecretRotationDays). */
    secretRotationDays: number;
    /** Redirect URIs of the SPA / mobile public client (authorisation code + PKCE). */
    spaRedirectUris: string[];
    /**
     * Existing Entra groups given the FHIR.Read app role at the gateway, the only place their access is decided: FHIR
     * is private and sees every call as APIM's identity, with the caller stamped into its audit log (README, "Audit
     * attribution"). No FHIR data role is granted to users or groups (policy fhir-data-roles-service-principals).
     */
    fhirReaderGroupObjectIds: string[];
    /** The FHIR service, scope of the client-credentials client's role (clientCredentials mode). */
    fhirServiceId: pulumi.Input<string>;
    /** Where client secrets are published. */
    keyVault: { name: pulumi.Input<string>; resourceGroupName: pulumi.Input<string> };
    /** In clientCredentials mode a confidential client is created for the ingestion Function. */
    fhirAuthMode: "managedIdentity" | "clientCredentials";
    /** Clock for the rotation schedule (defaults to now). */
    now?: Date;
}

interface RotatingSecret {
    passwords: Record<Slot, azuread.ApplicationPassword>;
    secret: keyvault.Secret;
}

/**
 * Entra ID app registrations of the platform: the API the gateway protects (app roles), the confidential HL7 sender
 * client with a rotating secret published to Key Vault, and the public SPA/mobile client.
 */
export class PlatformIdentity extends pulumi.ComponentResource {
    public readonly apiApplication: azuread.Application;
    public readonly apiServicePrincipal: azuread.ServicePrincipal;
    /** `aud` of v2 access tokens for the platform API. */
    public readonly apiClientId: pulumi.Output<string>;
    public readonly apiIdentifierUri: pulumi.Output<string>;
    public readonly hl7SenderApplication: azuread.Application;
    public readonly hl7SenderClientId: pulumi.Output<string>;
    public readonly hl7SenderSecret: RotatingSecret;
    public readonly publicClientApplication: azuread.Application;
    public readonly publicClientId: pulumi.Output<string>;
    /** Only in clientCredentials mode. */
    public readonly fhirClient?: { clientId: pulumi.Output<string>; secretName: string; secret: RotatingSecret };

    constructor(name: string, args: PlatformIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:identity:PlatformIdentity", name, {}, opts);
        const env = args.environment;
        const schedule = rotationSchedule(args.now ?? new Date(), args.secretRotationDays);
        const scopeId = stableUuid(`scope/${USER_SCOPE}`);

        this.apiApplication = new azuread.Application(`${name}-api`, {
            owners: [args.deployerObjectId],
            displayName: `fhir-platform-api-${env}`,
            description: "Platform API behind API Management (FHIR and HL7 ingestion)",
            signInAudience: "AzureADMyOrg",
            api: {
                // v2 tokens: aud is the client id, iss is login.microsoftonline.com/<tenant>/v2.0 (what APIM checks).
                requestedAccessTokenVersion: 2,
                oauth2PermissionScopes: [{
                    id: scopeId,
                    value: USER_SCOPE,
                    type: "User",
                    enabled: true,
                    adminConsentDisplayName: "Access the FHIR platform as the signed-in user",
                    adminConsentDescription: "Lets the app call the platform API as the user; the user's app roles decide what is allowed.",
                    userConsentDisplayName: "Access the FHIR platform as you",
                    userConsentDescription: "Lets the app call the platform API on your behalf.",
                }],
            },
            appRoles: PLATFORM_APP_ROLES.map((r) => ({
                id: appRoleId(r.value), value: r.value, displayName: r.displayName, description: r.description,
                allowedMemberTypes: r.allowedMemberTypes, enabled: true,
            })),
            preventDuplicateNames: true,
        }, { parent: this, ignoreChanges: ["identifierUris"] });
        this.apiClientId = this.apiApplication.clientId;
        // api://<client id> satisfies tenants whose app policy forbids free-form identifier URIs.
        const identifierUri = new azuread.ApplicationIdentifierUri(`${name}-api-uri`, {
            applicationId: this.apiApplication.id,
            identifierUri: pulumi.interpolate`api://${this.apiApplication.clientId}`,
        }, { parent: this });
        this.apiIdentifierUri = identifierUri.identifierUri;
        this.apiServicePrincipal = new azuread.ServicePrincipal(`${name}-api-sp`, {
            owners: [args.deployerObjectId],
            clientId: this.apiApplication.clientId,
            // Only callers holding one of the app roles get a token for this API at all.
            appRoleAssignmentRequired: true,
        }, { parent: this });

        // Confidential client for upstream HL7 senders (client credentials) with HL7.Send only.
        this.hl7SenderApplication = new azuread.Application(`${name}-hl7-sender`, {
            owners: [args.deployerObjectId],
            displayName: `fhir-platform-hl7-sender-${env}`,
            description: "Upstream HL7 v2 senders (client credentials); may only post to /hl7",
            signInAudience: "AzureADMyOrg",
            requiredResourceAccesses: [{
                resourceAppId: this.apiApplication.clientId,
                resourceAccesses: [{ id: appRoleId(APP_ROLES.hl7Send), type: "Role" }],
            }],
            preventDuplicateNames: true,
        }, { parent: this });
        this.hl7SenderClientId = this.hl7SenderApplication.clientId;
        // No user ever signs in to the sender app; requiring assignment closes that door entirely.
        const senderSp = new azuread.ServicePrincipal(`${name}-hl7-sender-sp`, { owners: [args.deployerObjectId], clientId: this.hl7SenderApplication.clientId, appRoleAssignmentRequired: true }, { parent: this });
        new azuread.AppRoleAssignment(`${name}-hl7-sender-role`, {
            appRoleId: appRoleId(APP_ROLES.hl7Send),
            principalObjectId: senderSp.objectId,
            resourceObjectId: this.apiServicePrincipal.objectId,
        }, { parent: this });
        this.hl7SenderSecret = this.rotatingSecret(`${name}-hl7-sender`, this.hl7SenderApplication, "hl7-sender-client-secret", schedule, args);

        // Public client (SPA / mobile): authorisation code with PKCE, no secret, no ROPC/device-code fallback.
        this.publicClientApplication = new azuread.Application(`${name}-public`, {
            owners: [args.deployerObjectId],
            displayName: `fhir-platform-portal-${env}`,
            description: "Clinician SPA / mobile app (authorisation code + PKCE); reads FHIR through the gateway",
            signInAudience: "AzureADMyOrg",
            singlePageApplication: { redirectUris: args.spaRedirectUris },
            fallbackPublicClientEnabled: false,
            requiredResourceAccesses: [{
                resourceAppId: this.apiApplication.clientId,
                resourceAccesses: [{ id: scopeId, type: "Scope" }],
            }],
            preventDuplicateNames: true,
        }, { parent: this });
        this.publicClientId = this.publicClientApplication.clientId;
        // Only assigned groups (clinicians) may sign in to the portal at all.
        const publicSp = new azuread.ServicePrincipal(`${name}-public-sp`, { owners: [args.deployerObjectId], clientId: this.publicClientApplication.clientId, appRoleAssignmentRequired: true }, { parent: this });
        args.fhirReaderGroupObjectIds.forEach((groupId, i) => {
            new azuread.AppRoleAssignment(`${name}-public-access-${i}`, {
                // The all-zero id is Entra's "default access" role for apps that define no user roles.
                appRoleId: DEFAULT_ACCESS_ROLE_ID,
                principalObjectId: groupId,
                resourceObjectId: publicSp.objectId,
            }, { parent: this });
        });
        // Tenant-wide consent for the one delegated scope, so users are not prompted.
        new azuread.ServicePrincipalDelegatedPermissionGrant(`${name}-public-grant`, {
            servicePrincipalObjectId: publicSp.objectId,
            resourceServicePrincipalObjectId: this.apiServicePrincipal.objectId,
            claimValues: [USER_SCOPE],
        }, { parent: this });

        // Reader groups: FHIR.Read at the gateway (users' tokens carry it in `roles`); the gateway checks it per method.
        args.fhirReaderGroupObjectIds.forEach((groupId, i) => {
            new azuread.AppRoleAssignment(`${name}-reader-group-${i}`, {
                appRoleId: appRoleId(APP_ROLES.fhirRead),
                principalObjectId: groupId,
                resourceObjectId: this.apiServicePrincipal.objectId,
            }, { parent: this });
        });
        const fhirGrants: RoleGrant[] = [];

        if (args.fhirAuthMode === "clientCredentials") {
            const app = new azuread.Application(`${name}-fhir-client`, {
            owners: [args.deployerObjectId],
                displayName: `fhir-platform-ingest-fhir-client-${env}`,
                description: "Ingestion Function's FHIR client (client-credentials mode only)",
                signInAudience: "AzureADMyOrg",
                preventDuplicateNames: true,
            }, { parent: this });
            const sp = new azuread.ServicePrincipal(`${name}-fhir-client-sp`, { owners: [args.deployerObjectId], clientId: app.clientId }, { parent: this });
            const secretName = "fhir-client-secret";
            this.fhirClient = { clientId: app.clientId, secretName, secret: this.rotatingSecret(`${name}-fhir-client`, app, secretName, schedule, args) };
            fhirGrants.push({
                key: "fhir-client-writer", role: "fhirDataWriter", scope: args.fhirServiceId, principalId: sp.objectId, principalType: "ServicePrincipal",
                description: "Ingestion Function (client-credentials mode) writes FHIR bundles",
            });
        }
        if (fhirGrants.length > 0) grantRoles(`${name}-role`, fhirGrants, args.subscriptionId, { parent: this });

        this.registerOutputs({
            apiClientId: this.apiClientId,
            apiIdentifierUri: this.apiIdentifierUri,
            hl7SenderClientId: this.hl7SenderClientId,
            publicClientId: this.publicClientId,
        });
    }

    /**
     * Two passwords on alternate periods (see secretRotation.ts); the newest goes to Key Vault with its expiry, so
     * senders always read a secret that stays valid at least one more period.
     */
    private rotatingSecret(
        prefix: string,
        application: azuread.Application,
        secretName: string,
        schedule: ReturnType<typeof rotationSchedule>,
        args: PlatformIdentityArgs,
    ): RotatingSecret {
        const passwords = {} as Record<Slot, azuread.ApplicationPassword>;
        for (const slot of ["a", "b"] as Slot[]) {
            const s = schedule.slots[slot];
            passwords[slot] = new azuread.ApplicationPassword(`${prefix}-secret-${slot}`, {
                applicationId: application.id,
                displayName: `rotating-${slot} ${s.keeper}`,
                endDate: s.expires.toISOString(),
                rotateWhenChanged: { generation: s.keeper },
            }, { parent: this, additionalSecretOutputs: ["value"] });
        }
        const current = schedule.slots[schedule.current];
        const secret = new keyvault.Secret(`${prefix}-kv-secret`, {
            vaultName: args.keyVault.name,
            resourceGroupName: args.keyVault.resourceGroupName,
            secretName,
            properties: {
                value: pulumi.secret(passwords[schedule.current].value),
                contentType: "application/x-entra-client-secret",
                attributes: { enabled: true, expires: Math.floor(current.expires.getTime() / 1000) },
            },
            tags: { clientId: application.clientId, rotationPeriodDays: String(schedule.periodDays), generation: current.keeper },
        }, { parent: this });
        return { passwords, secret };
    }
}
