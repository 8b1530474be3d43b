// Entra ID app registrations (@pulumi/azuread 6.x). Azure Policy has no built-ins here (not ARM resources); the rules
// follow Microsoft identity platform guidance and the project's design (issue 4).
import { Application } from "@pulumi/azuread/application";
import { ApplicationPassword } from "@pulumi/azuread/applicationPassword";
import { ServicePrincipal } from "@pulumi/azuread/servicePrincipal";
import { PolicyResource, validateResourceOfType } from "@pulumi/policy";
import { asArray, linksTo, now, peek, resourcePolicy, stackPolicy } from "./framework";

const APP = "azuread:index/application:Application";
const PASSWORD = "azuread:index/applicationPassword:ApplicationPassword";

export const aadSingleTenant = resourcePolicy(
    {
        name: "aad-single-tenant",
        description: "App registrations must be single-tenant: leave signInAudience unset or set it to 'AzureADMyOrg'.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [APP],
        anchor: { derivedFrom: "Microsoft identity platform: supported account types (policy-catalogue AAD-SIGNIN-AUDIENCE)" },
    },
    validateResourceOfType(Application, (app, _a, report) => {
        // The provider default is AzureADMyOrg.
        if (app.signInAudience !== undefined && app.signInAudience !== "AzureADMyOrg") report(`signInAudience is '${app.signInAudience}'.`);
    }),
);

export const aadNoImplicitGrant = resourcePolicy(
    {
        name: "aad-no-implicit-grant",
        description:
            "App registrations must not enable the implicit grant (web.implicitGrant.accessTokenIssuanceEnabled / " +
            "idTokenIssuanceEnabled); SPAs and mobile apps use the authorization code flow with PKCE.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [APP],
        anchor: { derivedFrom: "OAuth 2.0 Security BCP (RFC 9700) / policy-catalogue AAD-NO-IMPLICIT" },
    },
    validateResourceOfType(Application, (app, _a, report) => {
        const g = app.web?.implicitGrant;
        if (g?.accessTokenIssuanceEnabled === true) report("web.implicitGrant.accessTokenIssuanceEnabled is true.");
        if (g?.idTokenIssuanceEnabled === true) report("web.implicitGrant.idTokenIssuanceEnabled is true.");
    }),
);

const LOOPBACK = /^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?(\/|$)/;

export const aadRedirectUris = resourcePolicy(
    {
        name: "aad-redirect-uris-https",
        description:
            "Redirect URIs (web, singlePageApplication, publicClient) must be https, or http loopback for native clients; no " +
            "wildcards. Plain-http redirects leak authorization codes.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [APP],
        anchor: { derivedFrom: "Microsoft Learn, Redirect URI restrictions" },
    },
    validateResourceOfType(Application, (app, _a, report) => {
        const all: Array<[string, string[] | undefined]> = [
            ["web.redirectUris", app.web?.redirectUris],
            ["singlePageApplication.redirectUris", app.singlePageApplication?.redirectUris],
            ["publicClient.redirectUris", app.publicClient?.redirectUris],
        ];
        for (const [where, uris] of all) {
            for (const u of asArray(uris)) {
                if (u.includes("*")) report(`${where} contains a wildcard '${u}'.`);
                else if (!u.startsWith("https://") && !LOOPBACK.test(u) && !/^ms-appx-web:\/\//.test(u) && !/^msal[0-9a-f-]+:\/\//.test(u)) {
                    report(`${where} contains a non-https URI '${u}'.`);
                }
            }
        }
    }),
);

function isPublicClient(app: PolicyResource): boolean {
    const p = app.props;
    return p.fallbackPublicClientEnabled === true || asArray(p.publicClient?.redirectUris).length > 0 || asArray(p.singlePageApplication?.redirectUris).length > 0;
}

export const aadPublicClientNoPassword = stackPolicy(
    {
        name: "aad-public-client-no-password",
        description:
            "Public clients (SPA, mobile, fallbackPublicClientEnabled) cannot keep a secret: they must have no password credential " +
            "(no inline password block and no azuread.ApplicationPassword on them); use PKCE.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [APP, PASSWORD],
        anchor: { derivedFrom: "OAuth 2.0 public clients (RFC 6749 §2.1) / Microsoft identity platform client types" },
    },
    (args, report) => {
        const passwords = args.resources.filter(r => r.isType(ApplicationPassword));
        for (const app of args.resources.filter(r => r.isType(Application) && isPublicClient(r))) {
            if (app.props.password !== undefined && app.props.password !== null) report(`public client '${app.name}' declares an inline password.`, app.urn);
            const appId = peek(app.props, "id");
            for (const pw of passwords) {
                if (linksTo(pw, app, ["applicationId"]) || (typeof appId === "string" && peek(pw.props, "applicationId") === appId)) {
                    report(`public client '${app.name}' has a password credential '${pw.name}'.`, pw.urn);
                }
            }
        }
    },
);

function hoursOf(rel: unknown): number | undefined {
    if (typeof rel !== "string") return undefined;
    // Go duration syntax as the provider documents it (e.g. "2160h", "720h30m").
    const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(rel);
    if (!m || rel === "") return undefined;
    return Number(m[1] ?? 0) + Number(m[2] ?? 0) / 60 + Number(m[3] ?? 0) / 3600;
}

export const aadPasswordLifetime = resourcePolicy(
    {
        name: "aad-password-lifetime",
        description:
            "Application passwords must expire within maxDays (config; default 180): set endDateRelative (e.g. '720h') or endDate, " +
            "and rotate them with rotateWhenChanged.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [PASSWORD],
        anchor: { derivedFrom: "Microsoft Entra recommendations: credential lifetime (policy-catalogue AAD-PASSWORD-LIFETIME)" },
        settings: { maxDays: { type: "integer", minimum: 1, default: 180 } },
    },
    validateResourceOfType(ApplicationPassword, (pw, args, report) => {
        const { maxDays } = args.getConfig<{ maxDays: number }>();
        if (pw.endDateRelative !== undefined) {
            const h = hoursOf(pw.endDateRelative);
            if (h === undefined) report(`endDateRelative '${pw.endDateRelative}' is not a duration like '720h'.`);
            else if (h > maxDays * 24) report(`endDateRelative is ${Math.round(h / 24)} days; the maximum is ${maxDays}.`);
        } else if (pw.endDate !== undefined) {
            const t = Date.parse(pw.endDate);
            if (Number.isNaN(t)) report(`endDate '${pw.endDate}' is not a date.`);
            else if (t - now().getTime() > maxDays * 86400_000) report(`endDate is more than ${maxDays} days away.`);
        } else {
            report("neither endDate nor endDateRelative is set; the password lifetime is left to the provider default.");
        }
    }),
);

export const aadApiRequiresAssignment = resourcePolicy(
    {
        name: "aad-sp-assignment-required",
        description:
            "Service principals should set appRoleAssignmentRequired true so only callers granted an app role (HL7.Send, FHIR.Read, " +
            "FHIR.Write) can obtain tokens for the platform API.",
        enforcementLevel: "advisory",
        levelReason: "Client-only service principals (SPA, sender) do not need it; the API's own SP is the one that matters.",
        severity: "medium",
        resourceTypes: ["azuread:index/servicePrincipal:ServicePrincipal"],
        anchor: { derivedFrom: "Microsoft Learn, Restrict a Microsoft Entra app to a set of users" },
    },
    validateResourceOfType(ServicePrincipal, (sp, _a, report) => {
        if (sp.appRoleAssignmentRequired !== true) report("appRoleAssignmentRequired is not true.");
    }),
);

export const aadExplicitOwners = resourcePolicy(
    {
        name: "aad-explicit-owners",
        description:
            "App registrations and service principals must list owners (the deploying principal): with Graph " +
            "Application.ReadWrite.OwnedBy the deployer can manage only what it owns, and an ownerless registration is " +
            "managed by nobody accountable.",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: [APP, "azuread:index/servicePrincipal:ServicePrincipal"],
        anchor: { derivedFrom: "azuread Application docs (include the deploying principal in owners with Application.ReadWrite.OwnedBy); Learn, Graph permissions reference" },
    },
    [
        validateResourceOfType(Application, (app, _a, report) => {
            if (!Array.isArray(app.owners) || app.owners.length === 0) report("owners is empty.");
        }),
        validateResourceOfType(ServicePrincipal, (sp, _a, report) => {
            if (!Array.isArray(sp.owners) || sp.owners.length === 0) report("owners is empty.");
        }),
    ],
);

export const entraPolicies = [aadSingleTenant, aadNoImplicitGrant, aadRedirectUris, aadPublicClientNoPassword, aadPasswordLifetime, aadApiRequiresAssignment, aadExplicitOwners];
