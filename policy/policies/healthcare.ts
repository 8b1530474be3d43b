// Azure Health Data Services: FHIR service encryption, identity, CORS, authentication; workspace private link and
// FHIR audit logs live in network.ts / monitoring.ts as stack policies.
import * as healthcareapis from "@pulumi/azure-native/healthcareapis";
import { validateResourceOfType } from "@pulumi/policy";
import { asArray, eqi, has, resourcePolicy } from "./framework";

const FHIR = "azure-native:healthcareapis:FhirService";

export const fhirCustomerManagedKey = resourcePolicy(
    {
        name: "fhir-cmk",
        description:
            "FHIR service data must be encrypted with a customer-managed key: set encryption.customerManagedKeyEncryption." +
            "keyEncryptionKeyUrl to the Key Vault key's versioned URI (key.keyUriWithVersion).",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [FHIR],
        anchor: { azurePolicy: ["c42dee8c-0202-4a12-bd8e-3e171cbf64dd"] },
    },
    validateResourceOfType(healthcareapis.FhirService, (fhir, _args, report) => {
        // Presence via `in` only: the key URL comes from another resource's output and is unknown at preview.
        const cmk = has(fhir, "encryption") && has(fhir.encryption, "customerManagedKeyEncryption")
            ? fhir.encryption!.customerManagedKeyEncryption!
            : undefined;
        if (!cmk || !has(cmk, "keyEncryptionKeyUrl")) {
            report("encryption.customerManagedKeyEncryption.keyEncryptionKeyUrl is not set; the FHIR service would use a Microsoft-managed key.");
            return;
        }
        // Reading the value is only possible once it is known (up, or an offline plan); at preview the engine
        // reports "can't run policy during preview" instead of a pass.
        const url = cmk.keyEncryptionKeyUrl;
        if (typeof url !== "string" || !/^https:\/\/[^/]+\/keys\/[^/]+\/[^/]+$/.test(url)) {
            report(`keyEncryptionKeyUrl must be a versioned Key Vault key URI (https://<vault>/keys/<name>/<version>), got '${String(url)}'.`);
        }
    }),
);

export const fhirCmkIdentity = resourcePolicy(
    {
        name: "fhir-cmk-user-assigned-identity",
        description:
            "A FHIR service with a customer-managed key must carry exactly one user-assigned identity (identity.type " +
            "'UserAssigned'), created and granted 'Key Vault Crypto Service Encryption User' before the service; a " +
            "system-assigned identity cannot be granted the key before the service exists.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [FHIR],
        anchor: { derivedFrom: "Microsoft Learn, FHIR configure-customer-managed-keys (one identity, UAMI at creation)" },
    },
    validateResourceOfType(healthcareapis.FhirService, (fhir, _args, report) => {
        const usesCmk = has(fhir, "encryption") && has(fhir.encryption, "customerManagedKeyEncryption");
        if (!usesCmk) return;
        if (!has(fhir, "identity")) {
            report("identity is missing; the customer-managed key cannot be reached without a managed identity.");
            return;
        }
        const type = fhir.identity!.type;
        if (!eqi(type, "UserAssigned")) {
            report(`identity.type is '${String(type)}'; use 'UserAssigned' (FHIR supports a single identity and CMK at creation needs a UAMI).`);
            return;
        }
        const ids = fhir.identity!.userAssignedIdentities;
        if (!has(fhir.identity, "userAssignedIdentities") || (Array.isArray(ids) && ids.length !== 1)) {
            report("identity.userAssignedIdentities must list exactly one identity resource id.");
        }
    }),
);

export const fhirCorsExplicitOrigins = resourcePolicy(
    {
        name: "fhir-cors-explicit-origins",
        description:
            "FHIR CORS must list explicit https origins only: remove '*' and non-https origins from corsConfiguration.origins. " +
            "The platform answers CORS at the gateway (apim-cors-explicit-origins); the origins themselves are defined once, " +
            "in the stack config's fhir.corsOrigins.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [FHIR],
        anchor: { azurePolicy: ["fe1c9040-c46a-4e81-9aea-c7850fbb3aa6"] },
        settings: {
            allowLoopbackHttp: { type: "boolean", default: false, description: "Accept http://localhost[:port] (developer SPAs; dev stacks only)." },
        },
    },
    validateResourceOfType(healthcareapis.FhirService, (fhir, args, report) => {
        if (!has(fhir, "corsConfiguration")) return;
        const { allowLoopbackHttp } = args.getConfig<{ allowLoopbackHttp: boolean }>();
        for (const origin of asArray(fhir.corsConfiguration!.origins)) {
            const loopback = allowLoopbackHttp && /^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?$/.test(origin);
            if (origin.includes("*")) report(`CORS origin '${origin}' is a wildcard; list each client origin explicitly.`);
            else if (!/^https:\/\/[^/*]+$/.test(origin) && !loopback) report(`CORS origin '${origin}' is not an https origin.`);
        }
    }),
);

export const fhirAuthentication = resourcePolicy(
    {
        name: "fhir-authority-audience",
        description:
            "FHIR authenticationConfiguration must set authority https://login.microsoftonline.com/<tenant-id> (the stack's " +
            "tenant when config tenantId is set) and an https audience (https://<ws>-<fhir>.fhir.azurehealthcareapis.com); " +
            "the SMART proxy stays off unless config allowSmartProxy is true.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [FHIR],
        anchor: { derivedFrom: "azure-deployment-facts §2.3 (FHIR audience and authority formats)" },
        settings: {
            tenantId: { type: "string", default: "", description: "Expected Entra tenant id; empty accepts any GUID tenant." },
            allowSmartProxy: { type: "boolean", default: false },
        },
    },
    validateResourceOfType(healthcareapis.FhirService, (fhir, args, report) => {
        const { tenantId, allowSmartProxy } = args.getConfig<{ tenantId: string; allowSmartProxy: boolean }>();
        if (!has(fhir, "authenticationConfiguration")) {
            report("authenticationConfiguration is missing; set authority and audience for the tenant.");
            return;
        }
        const auth = fhir.authenticationConfiguration!;
        if (!has(auth, "authority")) report("authenticationConfiguration.authority is missing.");
        else {
            const m = /^https:\/\/login\.microsoftonline\.com\/([0-9a-fA-F-]{36})\/?$/.exec(String(auth.authority));
            if (!m) report(`authority '${String(auth.authority)}' is not https://login.microsoftonline.com/<tenant-id>.`);
            else if (tenantId && m[1].toLowerCase() !== tenantId.toLowerCase()) {
                report(`authority points at tenant ${m[1]}, not this stack's tenant ${tenantId}.`);
            }
        }
        if (!has(auth, "audience")) report("authenticationConfiguration.audience is missing.");
        else if (!/^https:\/\/\S+$/.test(String(auth.audience))) report(`audience '${String(auth.audience)}' is not an https URL.`);
        if (auth.smartProxyEnabled === true && !allowSmartProxy) {
            report("smartProxyEnabled is true; enable the SMART proxy only when config allowSmartProxy says so.");
        }
    }),
);

export const fhirKindR4 = resourcePolicy(
    {
        name: "fhir-kind-r4",
        description: "FHIR services should be kind 'fhir-R4'; STU3 is legacy and the ingestion bundles are R4.",
        enforcementLevel: "advisory",
        levelReason: "A version choice rather than a security control; STU3 is still a supported Azure value.",
        severity: "low",
        resourceTypes: [FHIR],
        anchor: { derivedFrom: "policy-catalogue AHDS-FHIR-KIND" },
    },
    validateResourceOfType(healthcareapis.FhirService, (fhir, _args, report) => {
        if (!eqi(fhir.kind, "fhir-R4")) report(`kind is '${String(fhir.kind)}', expected 'fhir-R4'.`);
    }),
);

export const healthcarePolicies = [fhirCustomerManagedKey, fhirCmkIdentity, fhirCorsExplicitOrigins, fhirAuthentication, fhirKindR4];
