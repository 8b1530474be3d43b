import type * as azureInputs from "@pulumi/azure-native/types/input";
import { FHIR_READ_METHODS, FHIR_WRITE_METHODS, fhirRoleFor } from "./apimPolicies";

// Fixed gateway settings as reviewable data: TLS hardening, private DNS zones, logging limits, the FHIR operations.

/**
 * Gateway TLS hardening (the keys AVM's api-management/service module sets): no SSL 3.0 / TLS 1.0 / 1.1 towards
 * clients or backends, no 3DES, none of the CBC and static-RSA suites; HTTP/2 to clients.
 */
export const APIM_SECURITY_PROPERTIES: Record<string, string> = {
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Ssl30": "False",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls10": "False",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls11": "False",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Ssl30": "False",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls10": "False",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls11": "False",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TripleDes168": "False",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "False",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "False",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "False",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "False",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TLS_RSA_WITH_AES_128_GCM_SHA256": "False",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TLS_RSA_WITH_AES_256_GCM_SHA384": "False",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TLS_RSA_WITH_AES_128_CBC_SHA256": "False",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TLS_RSA_WITH_AES_256_CBC_SHA256": "False",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TLS_RSA_WITH_AES_128_CBC_SHA": "False",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TLS_RSA_WITH_AES_256_CBC_SHA": "False",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Protocols.Server.Http2": "True",
};

/**
 * Internal-mode APIM has no public DNS: these zones (Microsoft "Configure custom DNS for API Management in a VNet";
 * the AHDS reference architecture's apimprivatednsrecords) carry one A record each, the service name → private VIP.
 */
export const APIM_PRIVATE_ZONES = {
    gateway: "azure-api.net",
    portal: "portal.azure-api.net",
    developer: "developer.azure-api.net",
    management: "management.azure-api.net",
    scm: "scm.azure-api.net",
} as const;

/** Fixed, reviewable logging: no bodies, no headers (tokens), query strings masked (FHIR search params are PHI). */
export const NO_PHI_MESSAGE_LOGGING: azureInputs.apimanagement.HttpMessageDiagnosticArgs = {
    headers: [],
    body: { bytes: 0 },
    dataMasking: { queryParams: [{ value: "*", mode: "Hide" }], headers: [{ value: "Authorization", mode: "Hide" }] },
};

/** The caller's ids the FHIR API policy stamps on each backend request (fhir-api.xml); object ids, not PHI. */
export const CALLER_AUDIT_HEADERS = ["X-MS-AZUREFHIR-AUDIT-CALLER-OID", "X-MS-AZUREFHIR-AUDIT-CALLER-APPID", "X-MS-AZUREFHIR-AUDIT-CALLER-TID"];

/**
 * The backend request's logging: the same limits, plus the caller-id headers, so APIM's own logs name who called
 * (object id, app id, tenant) without a token, a body or a query string.
 */
export const CALLER_ATTRIBUTED_BACKEND_LOGGING: azureInputs.apimanagement.HttpMessageDiagnosticArgs = {
    ...NO_PHI_MESSAGE_LOGGING,
    headers: CALLER_AUDIT_HEADERS,
};

/** Expiry of the Key Vault copy of the function key: the first day of the month after next (1–2 months ahead), epoch s. */
export function functionKeyExpiry(now: Date): number {
    return Math.floor(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 2, 1) / 1000);
}

export interface FhirOperation {
    id: string;
    method: string;
    urlTemplate: string;
    role: string;
}

/** Every FHIR operation the gateway exposes: each method on the root (batch/transaction, capability) and below it. */
export function fhirOperations(): FhirOperation[] {
    const methods = [...FHIR_READ_METHODS, ...FHIR_WRITE_METHODS];
    const ops: FhirOperation[] = [];
    for (const method of methods) {
        ops.push({ id: `fhir-${method.toLowerCase()}`, method, urlTemplate: "/*", role: fhirRoleFor(method) });
    }
    for (const method of ["GET", "POST"]) {
        ops.push({ id: `fhir-${method.toLowerCase()}-root`, method, urlTemplate: "/", role: fhirRoleFor(method) });
    }
    return ops;
}

/** The gateway's products: one per API, so a consumer's key opens exactly the API it was issued for. */
export const API_PRODUCTS = {
    fhir: { apiId: "fhir", displayName: "FHIR R4", description: "FHIR R4 through the gateway (Entra token with FHIR.Read / FHIR.Write as well)" },
    hl7: { apiId: "hl7", displayName: "HL7 v2 ingestion", description: "HL7 v2 ADT ingestion (Entra token with HL7.Send as well)" },
} as const;

export type ApiProductName = keyof typeof API_PRODUCTS;

/** One consumer of the gateway (an EHR, a lab's interface engine) and the product it subscribes to. */
export interface ApiConsumer {
    /** Lowercase letters, digits and dashes: the subscription id and the Key Vault secret names derive from it. */
    name: string;
    product: ApiProductName;
}
