// API Management: gateway TLS/ciphers, VNet mode, identity, HTTPS-only APIs, JWT validation in API policies, backend
// certificate validation, Key Vault named values, and diagnostics that never log bodies or credentials (PHI).
import * as apim from "@pulumi/azure-native/apimanagement";
import { Unwrap } from "@pulumi/pulumi";
import { PolicyResource, validateResourceOfType } from "@pulumi/policy";
import { asArray, eqi, has, linksTo, peek, resourcePolicy, stackPolicy } from "./framework";

const SERVICE = "azure-native:apimanagement:ApiManagementService";
const PREFIX = "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.";
export const APIM_LEGACY_PROTOCOL_KEYS = ["Protocols.Ssl30", "Protocols.Tls10", "Protocols.Tls11", "Backend.Protocols.Ssl30", "Backend.Protocols.Tls10", "Backend.Protocols.Tls11"].map(k => PREFIX + k);
export const APIM_WEAK_CIPHER_KEYS = [PREFIX + "Ciphers.TripleDes168"];

function customPropertyOff(props: Record<string, string> | undefined, key: string, requireExplicit: boolean): string | undefined {
    const value = props?.[key];
    if (value === undefined) return requireExplicit ? `customProperties['${key}'] is not set; set it to "false" (the platform default is not guaranteed).` : undefined;
    // Values are the strings "true"/"false"; unlike Checkov's truthiness test, "false" is compliant.
    return eqi(value, "false") ? undefined : `customProperties['${key}'] is '${value}', expected "false".`;
}

export const apimLegacyTls = resourcePolicy(
    {
        name: "apim-legacy-tls-disabled",
        description:
            "API Management must disable SSL 3.0, TLS 1.0 and TLS 1.1 on the gateway and towards backends: set the six " +
            "customProperties 'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.[Backend.]Protocols.{Ssl30,Tls10,Tls11}' to \"false\".",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [SERVICE],
        anchor: { scanner: ["CKV_AZURE_173"] },
        settings: { requireExplicit: { type: "boolean", default: true } },
    },
    validateResourceOfType(apim.ApiManagementService, (svc, args, report) => {
        const { requireExplicit } = args.getConfig<{ requireExplicit: boolean }>();
        for (const k of APIM_LEGACY_PROTOCOL_KEYS) {
            const problem = customPropertyOff(svc.customProperties, k, requireExplicit);
            if (problem) report(problem);
        }
    }),
);

export const apimWeakCiphers = resourcePolicy(
    {
        name: "apim-weak-ciphers-disabled",
        description: "API Management must disable the 3DES cipher: set customProperties '…Gateway.Security.Ciphers.TripleDes168' to \"false\".",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: [SERVICE],
        anchor: { scanner: ["CKV_AZURE_173"] },
        settings: { requireExplicit: { type: "boolean", default: true } },
    },
    validateResourceOfType(apim.ApiManagementService, (svc, args, report) => {
        const { requireExplicit } = args.getConfig<{ requireExplicit: boolean }>();
        for (const k of APIM_WEAK_CIPHER_KEYS) {
            const problem = customPropertyOff(svc.customProperties, k, requireExplicit);
            if (problem) report(problem);
        }
    }),
);

export const apimVnet = resourcePolicy(
    {
        name: "apim-vnet-internal",
        description:
            "API Management must be injected into its subnet in Internal mode: virtualNetworkType 'Internal' (or 'External' " +
            "when config allowExternal is true) with virtualNetworkConfiguration.subnetResourceId, on a SKU that supports it " +
            "(Developer or Premium).",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [SERVICE],
        anchor: { azurePolicy: ["ef619a2c-cc4d-4d03-b2ba-8c94a834d85b", "73ef9241-5d81-4cd4-b483-8443d1730fe5"], scanner: ["CKV_AZURE_107"] },
        settings: {
            allowExternal: { type: "boolean", default: false },
            vnetSkus: { type: "array", items: { type: "string" }, default: ["Developer", "Premium"] },
        },
    },
    validateResourceOfType(apim.ApiManagementService, (svc, args, report) => {
        const { allowExternal, vnetSkus } = args.getConfig<{ allowExternal: boolean; vnetSkus: string[] }>();
        const mode = svc.virtualNetworkType;
        if (!(eqi(mode, "Internal") || (allowExternal && eqi(mode, "External")))) {
            report(`virtualNetworkType is '${String(mode ?? "None")}', expected 'Internal'${allowExternal ? " or 'External'" : ""}.`);
        }
        if (!svc.virtualNetworkConfiguration || !has(svc.virtualNetworkConfiguration, "subnetResourceId")) {
            report("virtualNetworkConfiguration.subnetResourceId is not set.");
        }
        if (!vnetSkus.some(s => eqi(svc.sku.name, s))) report(`sku.name '${String(svc.sku.name)}' cannot be injected into a VNet (${vnetSkus.join(", ")}).`);
    }),
);

export const apimIdentity = resourcePolicy(
    {
        name: "apim-managed-identity",
        description:
            "API Management must have a managed identity (identity.type not 'None') to read Key Vault named values and to " +
            "call FHIR with its own token.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [SERVICE],
        anchor: { derivedFrom: "policy-catalogue APIM-IDENTITY; Azure Policy f1cc7827 depends on it" },
    },
    validateResourceOfType(apim.ApiManagementService, (svc, _a, report) => {
        if (!svc.identity || eqi(svc.identity.type, "None")) report("identity is missing or 'None'.");
    }),
);

export const apimPublicNetwork = resourcePolicy(
    {
        name: "apim-public-network-disabled",
        description:
            "API Management should set publicNetworkAccess 'Disabled' once a private endpoint is approved; until then rely on " +
            "Internal VNet mode (apim-vnet-internal).",
        enforcementLevel: "advisory",
        levelReason:
            "Azure rejects publicNetworkAccess 'Disabled' when the service is created (Azure/azure-rest-api-specs#24947, " +
            "hashicorp/terraform-provider-azurerm#21506), so a mandatory rule would block the first deployment.",
        severity: "medium",
        resourceTypes: [SERVICE],
        anchor: { scanner: ["CKV_AZURE_174"] },
    },
    validateResourceOfType(apim.ApiManagementService, (svc, _a, report) => {
        if (!eqi(svc.publicNetworkAccess, "Disabled")) report(`publicNetworkAccess is '${String(svc.publicNetworkAccess ?? "Enabled")}'.`);
    }),
);

export const apimMinApiVersion = resourcePolicy(
    {
        name: "apim-min-api-version",
        description: "API Management should set apiVersionConstraint.minApiVersion to 2019-12-01 or later so old control-plane APIs cannot read secrets.",
        enforcementLevel: "advisory",
        levelReason: "Azure marks the matching built-in (549814b6) deprecated; kept as a reminder rather than a gate.",
        severity: "low",
        resourceTypes: [SERVICE],
        anchor: { azurePolicy: ["549814b6-3212-4203-bdc8-1548d342fb67"] },
    },
    validateResourceOfType(apim.ApiManagementService, (svc, _a, report) => {
        const v = svc.apiVersionConstraint?.minApiVersion;
        if (typeof v !== "string" || v < "2019-12-01") report(`apiVersionConstraint.minApiVersion is '${String(v)}'.`);
    }),
);

export const apimApiHttps = resourcePolicy(
    {
        name: "apim-api-https-only",
        description: "APIs must list only encrypted protocols: set protocols to ['https'] (or 'wss'); never 'http' or 'ws'.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: ["azure-native:apimanagement:Api"],
        anchor: { azurePolicy: ["ee7495e7-3ba7-40b6-bfee-c29e22cc75d4"] },
    },
    validateResourceOfType(apim.Api, (api, _a, report) => {
        const protocols = asArray(api.protocols).map(p => String(p).toLowerCase());
        if (protocols.length === 0) report("protocols is not set; list 'https' explicitly.");
        for (const p of protocols) if (p === "http" || p === "ws") report(`protocols contains '${p}'.`);
        if (typeof api.serviceUrl === "string" && !/^https:\/\//i.test(api.serviceUrl)) report(`serviceUrl '${api.serviceUrl}' is not https.`);
    }),
);

const JWT_POLICY = /<(validate-jwt|validate-azure-ad-token)[\s>]/;

/** True when `child` names `parent` by literal id in `prop` or was computed from it (propertyDependencies). */
function refers(child: PolicyResource, parent: PolicyResource, prop: string): boolean {
    if (linksTo(child, parent, [prop])) return true;
    const id = peek(parent.props, prop);
    return typeof id === "string" && peek(child.props, prop) === id && peek(child.props, "serviceName") === peek(parent.props, "serviceName");
}

export const apimApiRequiresJwt = stackPolicy(
    {
        name: "apim-api-validates-jwt",
        description:
            "Every APIM API must validate the caller's Entra token: either its ApiPolicy, or the ApiOperationPolicy of every " +
            "one of its operations, must contain <validate-jwt> (or <validate-azure-ad-token>) in the inbound section.",
        enforcementLevel: "mandatory",
        severity: "critical",
        resourceTypes: ["azure-native:apimanagement:Api", "azure-native:apimanagement:ApiPolicy", "azure-native:apimanagement:ApiOperation", "azure-native:apimanagement:ApiOperationPolicy"],
        anchor: { derivedFrom: "issue 4 (validate-jwt on every operation); Azure Policy 8ac833bd (API endpoints should be authenticated)" },
    },
    (args, report) => {
        const of = (cls: unknown) => args.resources.filter(r => r.isType(cls as never));
        const policies = of(apim.ApiPolicy);
        const operations = of(apim.ApiOperation);
        const opPolicies = of(apim.ApiOperationPolicy);
        const validates = (r: PolicyResource) => {
            const xml = inbound(r.props.value);
            return xml !== undefined && JWT_POLICY.test(xml);
        };
        for (const api of of(apim.Api)) {
            if (policies.some(p => refers(p, api, "apiId") && validates(p))) continue;
            const ops = operations.filter(o => refers(o, api, "apiId"));
            if (ops.length === 0) {
                report(`API '${api.name}' has no policy that validates the caller's token.`, api.urn);
                continue;
            }
            for (const op of ops) {
                const covered = opPolicies.some(p => refers(p, op, "operationId") && refers(p, api, "apiId") && validates(p));
                if (!covered) report(`operation '${op.name}' of API '${api.name}' is reachable without token validation.`, op.urn);
            }
        }
    },
);

export const apimOperationPolicyInherits = resourcePolicy(
    {
        name: "apim-operation-policy-keeps-base",
        description:
            "Operation-level policies must keep <base /> in their inbound section (or validate the token themselves); " +
            "dropping <base /> skips the API-level JWT validation.",
        enforcementLevel: "mandatory",
        severity: "critical",
        resourceTypes: ["azure-native:apimanagement:ApiOperationPolicy"],
        anchor: { derivedFrom: "APIM policy inheritance (<base /> element), Microsoft Learn 'Set or edit policies'" },
    },
    validateResourceOfType(apim.ApiOperationPolicy, (pol, _a, report) => {
        const xml = inbound(pol.value);
        if (xml === undefined) report("the policy XML has no <inbound> section.");
        else if (!/<base\s*\/>/.test(xml) && !JWT_POLICY.test(xml)) report("the inbound section drops <base /> without validating the token itself.");
    }),
);

function inbound(value: unknown): string | undefined {
    if (typeof value !== "string") return undefined;
    const m = /<inbound>([\s\S]*?)<\/inbound>/i.exec(value);
    return m ? m[1] : undefined;
}

export const apimBackendTls = resourcePolicy(
    {
        name: "apim-backend-tls-validation",
        description:
            "APIM backends must use https:// URLs and keep certificate chain and name validation on (tls.validateCertificateChain " +
            "and tls.validateCertificateName not false).",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: ["azure-native:apimanagement:Backend"],
        anchor: { azurePolicy: ["92bb331d-ac71-416a-8c91-02f2cb734ce4"], scanner: ["CKV_AZURE_215"] },
    },
    validateResourceOfType(apim.Backend, (b, _a, report) => {
        if (b.tls?.validateCertificateChain === false) report("tls.validateCertificateChain is false.");
        if (b.tls?.validateCertificateName === false) report("tls.validateCertificateName is false.");
        if (!has(b, "url")) report("url is not set.");
        else if (typeof b.url === "string" && !/^https:\/\//i.test(b.url)) report(`url '${b.url}' is not https.`);
    }),
);

export const apimNamedValueKeyVault = resourcePolicy(
    {
        name: "apim-named-value-keyvault",
        description:
            "Secret APIM named values must come from Key Vault (secret true with keyVault.secretIdentifier and no inline value); " +
            "a credential-looking value must not be stored as a plain named value.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: ["azure-native:apimanagement:NamedValue"],
        anchor: { azurePolicy: ["f1cc7827-022c-473e-836e-5a51cae0b249"] },
    },
    validateResourceOfType(apim.NamedValue, (nv, _a, report) => {
        const fromVault = !!nv.keyVault && has(nv.keyVault, "secretIdentifier");
        if (nv.secret === true && !fromVault) report("secret named value is stored in APIM; reference a Key Vault secret (keyVault.secretIdentifier).");
        if (nv.secret === true && has(nv, "value")) report("secret named value carries an inline value.");
        if (nv.secret !== true && typeof nv.value === "string" && /(AccountKey=|SharedAccessKey=|password=|client_secret|-----BEGIN)/i.test(nv.value)) {
            report("a non-secret named value looks like a credential.");
        }
    }),
);

const SENSITIVE_HEADERS = ["authorization", "cookie", "set-cookie", "ocp-apim-subscription-key", "x-functions-key", "x-ms-client-principal"];

type PipelineDiagnostics = { frontend?: Unwrap<apim.DiagnosticArgs>["frontend"]; backend?: Unwrap<apim.DiagnosticArgs>["backend"] };

function payloadLogging(d: PipelineDiagnostics, report: (m: string) => void): void {
    for (const side of ["frontend", "backend"] as const) {
        for (const dir of ["request", "response"] as const) {
            const msg = d[side]?.[dir];
            if (!msg) continue;
            if ((msg.body?.bytes ?? 0) > 0) report(`${side}.${dir}.body.bytes is ${msg.body!.bytes}; bodies may contain PHI.`);
            for (const h of asArray(msg.headers)) {
                if (SENSITIVE_HEADERS.includes(String(h).toLowerCase())) report(`${side}.${dir}.headers logs '${h}'.`);
            }
        }
    }
}

export const apimDiagnosticsNoPhi = resourcePolicy(
    {
        name: "apim-diagnostics-no-payload-logging",
        description:
            "APIM diagnostics (service-level Diagnostic and ApiDiagnostic) must not log request or response bodies (body.bytes " +
            "0 or unset) nor credential headers (Authorization, Cookie, subscription keys): FHIR payloads are PHI.",
        enforcementLevel: "mandatory",
        severity: "critical",
        resourceTypes: ["azure-native:apimanagement:ApiDiagnostic", "azure-native:apimanagement:Diagnostic"],
        anchor: { derivedFrom: "HIPAA minimum necessary; issue 4 (logger never records bodies or token headers)" },
    },
    [
        validateResourceOfType(apim.ApiDiagnostic, (d, _a, report) => payloadLogging(d, report)),
        validateResourceOfType(apim.Diagnostic, (d, _a, report) => payloadLogging(d, report)),
    ],
);

export const apimLoggerCredentials = resourcePolicy(
    {
        name: "apim-logger-no-inline-key",
        description:
            "APIM loggers must not embed an Application Insights instrumentation key or connection string in plain credentials; " +
            "use a {{named-value}} reference or the managed-identity logger.",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: ["azure-native:apimanagement:Logger"],
        anchor: { derivedFrom: "Microsoft Learn 'Integrate API Management with Application Insights' (named value / managed identity)" },
    },
    validateResourceOfType(apim.Logger, (l, _a, report) => {
        const creds = l.credentials ?? {};
        // With identityClientId the connection string only routes telemetry; ingestion is authenticated with Entra.
        const entraAuth = has(creds, "identityClientId");
        for (const key of ["instrumentationKey", "connectionString"]) {
            if (!has(creds, key) || (entraAuth && key === "connectionString")) continue;
            const v = (creds as Record<string, string>)[key];
            if (typeof v === "string" && !/^\{\{[^}]+\}\}$/.test(v) && /InstrumentationKey=|^[0-9a-f-]{36}$/i.test(v)) {
                report(`credentials.${key} is an inline key; reference a named value ({{name}}) instead.`);
            }
        }
    }),
);

export const apimCorsExplicitOrigins = resourcePolicy(
    {
        name: "apim-cors-explicit-origins",
        description:
            "A <cors> policy on an API must list explicit https origins (no '*', no http except loopback when config " +
            "allowLoopbackHttp), never allow credentials (clients send bearer tokens), and terminate unmatched requests.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: ["azure-native:apimanagement:ApiPolicy", "azure-native:apimanagement:Policy"],
        anchor: { derivedFrom: "Learn, API Management cors policy; issue 8 item 8 (browser CORS answered by the gateway)" },
        settings: { allowLoopbackHttp: { type: "boolean", default: false } },
    },
    validateResourceOfType(apim.ApiPolicy, (pol, args, report) => {
        const { allowLoopbackHttp } = args.getConfig<{ allowLoopbackHttp: boolean }>();
        const cors = /<cors\b([^>]*)>([\s\S]*?)<\/cors>/.exec(String(pol.value ?? ""));
        if (!cors) return;
        if (/allow-credentials="true"/i.test(cors[1])) report("the cors policy allows credentials; clients authenticate with bearer tokens.");
        if (/terminate-unmatched-request="false"/i.test(cors[1])) report("the cors policy lets unmatched cross-origin requests through.");
        const origins = [...cors[2].matchAll(/<origin>([^<]*)<\/origin>/g)].map(m => m[1].trim());
        if (origins.length === 0) report("the cors policy lists no origin.");
        for (const origin of origins) {
            const loopback = allowLoopbackHttp && /^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?$/.test(origin);
            if (origin.includes("*")) report(`CORS origin '${origin}' is a wildcard; list each client origin explicitly.`);
            else if (!/^https:\/\/[^/*]+$/.test(origin) && !loopback) report(`CORS origin '${origin}' is not an https origin.`);
        }
    }),
);

export const apimFhirCallerAttribution = resourcePolicy(
    {
        name: "apim-fhir-caller-attribution",
        description:
            "An API policy that calls its backend with APIM's managed identity (authentication-managed-identity) must stamp " +
            "the caller into the backend's audit log: set-header X-MS-AZUREFHIR-AUDIT-CALLER-OID (and -APPID) from the " +
            "validated token with exists-action override; otherwise FHIR's audit log names APIM for every clinician.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: ["azure-native:apimanagement:ApiPolicy"],
        anchor: { derivedFrom: "Learn, Add custom HTTP headers to audit logs in FHIR service; issue 12 (audit attribution)" },
    },
    validateResourceOfType(apim.ApiPolicy, (pol, _args, report) => {
        const xml = String(pol.value ?? "");
        if (!/<authentication-managed-identity\b/.test(xml)) return;
        for (const header of ["X-MS-AZUREFHIR-AUDIT-CALLER-OID", "X-MS-AZUREFHIR-AUDIT-CALLER-APPID"]) {
            const stamped = new RegExp(`<set-header name="${header}" exists-action="override">`).test(xml);
            if (!stamped) report(`calls its backend as APIM without stamping ${header} (override) from the caller's token.`);
        }
    }),
);

export const apimPolicies = [
    apimLegacyTls,
    apimWeakCiphers,
    apimVnet,
    apimIdentity,
    apimPublicNetwork,
    apimMinApiVersion,
    apimApiHttps,
    apimApiRequiresJwt,
    apimOperationPolicyInherits,
    apimBackendTls,
    apimNamedValueKeyVault,
    apimDiagnosticsNoPhi,
    apimLoggerCredentials,
    apimCorsExplicitOrigins,
    apimFhirCallerAttribution,
];
