// Function App (azure-native:web:WebApp with a functionapp kind) and its plan. Azure Policy can only audit most of
// these (AuditIfNotExists on Microsoft.Web/sites/config, Azure/azure-policy#190, #864); in azure-native v3 siteConfig is
// an input of WebApp, so they can be rejected before deployment.
import * as web from "@pulumi/azure-native/web";
import { Unwrap } from "@pulumi/pulumi";
import { PolicyResource, ResourceValidationArgs, validateResourceOfType } from "@pulumi/policy";
import { asArray, eqi, has, isFunctionAppKind, linksTo, peek, resourcePolicy, stackPolicy } from "./framework";

const WEBAPP = "azure-native:web:WebApp";
type WebAppProps = Unwrap<web.WebAppArgs>;

/** Like validateResourceOfType(web.WebApp, ...) but only for function apps, as Azure Policy scopes these rules. */
function forFunctionApps(check: (app: WebAppProps, args: ResourceValidationArgs, report: (m: string) => void) => void) {
    return validateResourceOfType(web.WebApp, (app, args, report) => {
        if (!isFunctionAppKind(app.kind)) args.notApplicable(`WebApp kind '${String(app.kind)}' is not a function app`);
        check(app, args, report);
    });
}

const TLS_ORDER = ["1.0", "1.1", "1.2", "1.3"];

export const fnHttpsOnly = resourcePolicy(
    {
        name: "fn-https-only",
        description: "Function apps must set httpsOnly true so plain-HTTP requests are redirected to HTTPS.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [WEBAPP],
        anchor: { azurePolicy: ["6d555dd1-86f2-4f1c-8ed7-5abae7c6cbab"], scanner: ["CKV_AZURE_70", "AZU-0004"], hitrust: "0809.01n2 / 0949.09y2" },
    },
    forFunctionApps((app, _a, report) => {
        if (app.httpsOnly !== true) report("httpsOnly is not true.");
    }),
);

export const fnMinTls = resourcePolicy(
    {
        name: "fn-min-tls-1-2",
        description:
            "Function apps must set siteConfig.minTlsVersion and siteConfig.scmMinTlsVersion to '1.2' or later; a missing " +
            "value means the platform default, which is treated as non-compliant.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [WEBAPP],
        anchor: { azurePolicy: ["f9d614c5-c173-4d56-95a7-b4437057d193"], scanner: ["CKV_AZURE_145", "AZU-0006"], hitrust: "0809.01n2 / 0949.09y2" },
    },
    forFunctionApps((app, _a, report) => {
        for (const key of ["minTlsVersion", "scmMinTlsVersion"] as const) {
            const v = app.siteConfig?.[key];
            if (TLS_ORDER.indexOf(String(v)) < TLS_ORDER.indexOf("1.2")) report(`siteConfig.${key} is '${String(v)}', expected '1.2' or later.`);
        }
    }),
);

export const fnFtpsDisabled = resourcePolicy(
    {
        name: "fn-ftps-disabled",
        description: "Function apps must set siteConfig.ftpsState 'Disabled'; deployments go through pulumi up, not FTP.",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: [WEBAPP],
        anchor: { azurePolicy: ["399b2637-a50f-4f95-96f8-3a145476eb15"], scanner: ["CKV_AZURE_78", "AZU-0071"] },
    },
    forFunctionApps((app, _a, report) => {
        if (!eqi(app.siteConfig?.ftpsState, "Disabled")) report(`siteConfig.ftpsState is '${String(app.siteConfig?.ftpsState)}', expected 'Disabled'.`);
    }),
);

export const fnRemoteDebugging = resourcePolicy(
    {
        name: "fn-remote-debugging-off",
        description: "Function apps must not enable remote debugging: remove siteConfig.remoteDebuggingEnabled or set it false.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [WEBAPP],
        anchor: { azurePolicy: ["0e60b895-3786-45da-8377-9c6b4b6ac5f9"], scanner: ["CKV_AZURE_72"], hitrust: "0913.09s1 / 1325.09s1" },
    },
    forFunctionApps((app, _a, report) => {
        if (app.siteConfig?.remoteDebuggingEnabled === true) report("siteConfig.remoteDebuggingEnabled is true.");
    }),
);

export const fnManagedIdentity = resourcePolicy(
    {
        name: "fn-managed-identity",
        description:
            "Function apps must run with a managed identity (identity.type 'UserAssigned' or 'SystemAssigned') so storage, " +
            "FHIR and Key Vault are reached without secrets.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [WEBAPP],
        anchor: { azurePolicy: ["0da106f2-4ca3-48e8-bc85-c638fe6aea8f"], scanner: ["CKV_AZURE_71"] },
    },
    forFunctionApps((app, _a, report) => {
        if (!app.identity || !app.identity.type || eqi(app.identity.type, "None")) report("identity is missing or 'None'.");
    }),
);

export const fnCors = resourcePolicy(
    {
        name: "fn-cors-no-wildcard",
        description: "Function apps must not allow every origin: remove '*' from siteConfig.cors.allowedOrigins (APIM is the only caller).",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [WEBAPP],
        anchor: { azurePolicy: ["0820b7b9-23aa-4725-a1ce-ae4558f718e5"], scanner: ["CKV_AZURE_62"], hitrust: "0902.09s2 / 0960.09sCSP" },
    },
    forFunctionApps((app, _a, report) => {
        for (const o of asArray(app.siteConfig?.cors?.allowedOrigins)) {
            if (o.includes("*")) report(`siteConfig.cors.allowedOrigins contains '${o}'.`);
        }
    }),
);

export const fnPublicNetwork = resourcePolicy(
    {
        name: "fn-public-network-disabled",
        description:
            "Function apps must set publicNetworkAccess 'Disabled' (top level, and siteConfig.publicNetworkAccess if given); " +
            "APIM reaches the app through its private endpoint.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [WEBAPP],
        anchor: { azurePolicy: ["969ac98b-88a8-449f-883c-2e9adb123127"], scanner: ["CKV_AZURE_221"] },
    },
    forFunctionApps((app, _a, report) => {
        if (has(app, "hostingEnvironmentProfile")) return; // App Service Environments are isolated; Azure Policy skips them too.
        if (!eqi(app.publicNetworkAccess, "Disabled")) report(`publicNetworkAccess is '${String(app.publicNetworkAccess)}', expected 'Disabled'.`);
        if (app.siteConfig && has(app.siteConfig, "publicNetworkAccess") && !eqi(app.siteConfig.publicNetworkAccess, "Disabled")) {
            report(`siteConfig.publicNetworkAccess is '${String(app.siteConfig.publicNetworkAccess)}'.`);
        }
    }),
);

export const fnVnetIntegration = resourcePolicy(
    {
        name: "fn-vnet-integration-route-all",
        description:
            "Function apps must be VNet-integrated (virtualNetworkSubnetId) and route all outbound traffic through the VNet " +
            "(outboundVnetRouting.allTraffic true or siteConfig.vnetRouteAllEnabled true), so FHIR and storage are reached privately.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [WEBAPP],
        anchor: { azurePolicy: ["72d04c29-f87d-4575-9731-419ff16a2757", "32a913ec-5ed7-4b31-a5b0-198450d8fb13"] },
    },
    forFunctionApps((app, _a, report) => {
        if (!has(app, "virtualNetworkSubnetId")) report("virtualNetworkSubnetId is not set; the app is not VNet-integrated.");
        const routeAll = app.outboundVnetRouting?.allTraffic === true || app.siteConfig?.vnetRouteAllEnabled === true;
        if (!routeAll) report("outbound traffic is not routed through the VNet (outboundVnetRouting.allTraffic / siteConfig.vnetRouteAllEnabled).");
    }),
);

// App settings whose names denote credentials; APPLICATIONINSIGHTS_CONNECTION_STRING is not a credential when local
// auth is disabled (ingestion needs Entra), and identity-based settings (`__credential`, `__clientId`) carry no secret.
const SECRET_SETTING = /(secret|password|passwd|pwd|apikey|api_key|accountkey|connectionstring|connection_string|sas|sastoken|token)$/i;
const CREDENTIAL_VALUE = /(AccountKey=|SharedAccessKey=|SharedAccessSignature=|Password=|sig=[A-Za-z0-9%]{20,})/i;
const NOT_SECRET_SETTING = /^(APPLICATIONINSIGHTS_CONNECTION_STRING|APPLICATIONINSIGHTS_AUTHENTICATION_STRING)$|__(credential|clientId|serviceUri|accountName|queueServiceUri|blobServiceUri|tableServiceUri)$/i;
const KV_REFERENCE = /^@Microsoft\.KeyVault\((SecretUri|VaultName)=/;

export const fnSettingsKeyVaultReferences = resourcePolicy(
    {
        name: "fn-app-settings-keyvault-references",
        description:
            "Function app settings and connection strings must not hold credentials: use identity-based settings " +
            "(AzureWebJobsStorage__credential=managedidentity) or Key Vault references (@Microsoft.KeyVault(SecretUri=...)).",
        enforcementLevel: "mandatory",
        severity: "critical",
        resourceTypes: [WEBAPP],
        anchor: { derivedFrom: "Microsoft Learn, Key Vault references for App Service; issue 4 (identity-based settings)" },
    },
    forFunctionApps((app, _a, report) => {
        for (const s of asArray(app.siteConfig?.appSettings)) {
            const name = String(s.name ?? "");
            const value = s.value;
            if (typeof value !== "string" || KV_REFERENCE.test(value)) continue;
            if (CREDENTIAL_VALUE.test(value)) report(`app setting '${name}' contains a credential; use a managed identity or a Key Vault reference.`);
            else if (SECRET_SETTING.test(name) && !NOT_SECRET_SETTING.test(name)) {
                report(`app setting '${name}' looks like a secret but is not a Key Vault reference.`);
            }
        }
        for (const c of asArray(app.siteConfig?.connectionStrings)) {
            if (typeof c.connectionString === "string" && !KV_REFERENCE.test(c.connectionString)) {
                report(`connection string '${String(c.name)}' is a literal; use a Key Vault reference.`);
            }
        }
    }),
);

/** Resolves which web app a WebAppFtpAllowed/WebAppScmAllowed policy resource belongs to. */
function publishingPolicyFor(app: PolicyResource, candidates: PolicyResource[]): PolicyResource | undefined {
    const appName = peek(app.props, "name");
    return candidates.find(c => linksTo(c, app, ["name"]) || (typeof appName === "string" && peek(c.props, "name") === appName));
}

export const fnBasicPublishingCredentials = stackPolicy(
    {
        name: "fn-basic-auth-publishing-off",
        description:
            "Every function app needs web.WebAppFtpAllowed and web.WebAppScmAllowed resources with allow false, so FTP and " +
            "SCM (Kudu) basic-auth publishing credentials are disabled; deploy with Entra identities instead.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [WEBAPP, "azure-native:web:WebAppFtpAllowed", "azure-native:web:WebAppScmAllowed"],
        anchor: { azurePolicy: ["871b205b-57cf-4e1e-a234-492616998bf7", "aede300b-d67f-480a-ae26-4b3dfb1a1fdc"] },
    },
    (args, report) => {
        const apps = args.resources.filter(r => r.isType(web.WebApp) && isFunctionAppKind(r.props.kind));
        const ftp = args.resources.filter(r => r.isType(web.WebAppFtpAllowed));
        const scm = args.resources.filter(r => r.isType(web.WebAppScmAllowed));
        for (const app of apps) {
            for (const [label, list] of [["FTP (WebAppFtpAllowed)", ftp], ["SCM (WebAppScmAllowed)", scm]] as const) {
                const p = publishingPolicyFor(app, list);
                if (!p) report(`${label} basic-auth publishing is not disabled for function app '${app.name}'.`, app.urn);
                else if (p.props.allow !== false) report(`${label} for '${app.name}' has allow ${String(p.props.allow)}; set false.`, p.urn);
            }
        }
    },
);

export const functionAppPolicies = [
    fnHttpsOnly,
    fnMinTls,
    fnFtpsDisabled,
    fnRemoteDebugging,
    fnManagedIdentity,
    fnCors,
    fnPublicNetwork,
    fnVnetIntegration,
    fnSettingsKeyVaultReferences,
    fnBasicPublishingCredentials,
];
