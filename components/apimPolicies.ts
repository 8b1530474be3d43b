import * as fs from "node:fs";
import * as path from "node:path";

/**
 * APIM policy documents live as XML files in `components/apim-policies/` with `{%name%}` placeholders (APIM's own
 * `{{name}}` named-value syntax is left alone). Rendering is strict: every placeholder needs a value and every value
 * must be used, so a renamed placeholder fails the plan instead of shipping a half-filled policy.
 */
export const POLICY_DIR = path.join(__dirname, "apim-policies");

export type PolicyTemplate = "operation-authorize" | "fhir-api" | "hl7-api";

/** App roles the platform API defines, and which one each method of each API needs. */
export const APP_ROLES = {
    hl7Send: "HL7.Send",
    fhirRead: "FHIR.Read",
    fhirWrite: "FHIR.Write",
} as const;

/** Read-only HTTP methods: FHIR.Read is enough; every other method needs FHIR.Write. */
export const FHIR_READ_METHODS = ["GET", "HEAD"] as const;
export const FHIR_WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"] as const;

/** The app role a call to the FHIR API needs for a method. */
export function fhirRoleFor(method: string): string {
    return (FHIR_READ_METHODS as readonly string[]).includes(method.toUpperCase()) ? APP_ROLES.fhirRead : APP_ROLES.fhirWrite;
}

const PLACEHOLDER = /\{%([A-Za-z][A-Za-z0-9]*)%\}/g;

/** Escapes a value for use inside XML text or a double-quoted attribute. */
export function xmlEscape(value: string): string {
    return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

export function loadPolicyTemplate(name: PolicyTemplate, dir = POLICY_DIR): string {
    return fs.readFileSync(path.join(dir, `${name}.xml`), "utf8");
}

/** A fragment of policy XML built (and escaped) by this module, inserted as is. */
export interface RawXml {
    xml: string;
}

/** Fills `{%name%}` placeholders; throws naming every missing or unused value. */
export function renderPolicy(template: string, values: Record<string, string | number | RawXml>, label = "policy"): string {
    // Comments explain the file to reviewers; they are not sent to APIM (the service would keep them as noise).
    const body = template.replace(/<!--[\s\S]*?-->\s*/g, "");
    const wanted = new Set([...body.matchAll(PLACEHOLDER)].map((m) => m[1]));
    const missing = [...wanted].filter((k) => values[k] === undefined || values[k] === "");
    const unused = Object.keys(values).filter((k) => !wanted.has(k));
    if (missing.length || unused.length) {
        throw new Error(`${label}: ${[
            missing.length ? `no value for placeholder(s) ${missing.join(", ")}` : "",
            unused.length ? `value(s) ${unused.join(", ")} match no placeholder` : "",
        ].filter(Boolean).join("; ")}`);
    }
    return body
        .replace(PLACEHOLDER, (_, key: string) => {
            const value = values[key];
            return typeof value === "object" ? value.xml : xmlEscape(String(value));
        })
        .trim() + "\n";
}

export interface AuthorizeValues {
    tenantId: string;
    /** `aud` of v2 tokens for the platform API: its application (client) id. */
    audience: string;
    requiredRole: string;
}

/** The operation-scope policy: validate-jwt with one required app role, then the API pipeline. */
export function operationPolicy(values: AuthorizeValues): string {
    if (!/^[0-9a-f-]{36}$/i.test(values.tenantId)) throw new Error(`tenantId "${values.tenantId}" is not a GUID`);
    if (!Object.values(APP_ROLES).includes(values.requiredRole as never)) throw new Error(`"${values.requiredRole}" is not a platform app role`);
    return renderPolicy(loadPolicyTemplate("operation-authorize"), { ...values }, "operation-authorize");
}

export interface FhirApiValues {
    fhirUrl: string;
    /** The gateway URL callers use for FHIR (`https://<apim>.azure-api.net/fhir`). */
    publicBaseUrl: string;
    backendId: string;
    rateLimitPerMinute: number;
    /** Explicit browser origins (validated in stack config); empty: no CORS policy. */
    corsOrigins: string[];
    corsMaxAgeSeconds: number;
}

/** Headers a browser FHIR client sends; everything else is refused at preflight. */
export const FHIR_CORS_HEADERS = [
    "Authorization", "Content-Type", "Accept", "Prefer", "If-Match", "If-None-Match", "If-None-Exist",
    "X-Requested-With", "x-ms-correlation-request-id",
];
/** Response headers a browser client may read (versioning and paging). */
export const FHIR_CORS_EXPOSED_HEADERS = ["ETag", "Last-Modified", "Location", "Content-Location", "x-ms-request-id"];

/**
 * The gateway's CORS rule. Browsers reach FHIR only through APIM, so preflights must be answered here: APIM evaluates
 * only the cors policy on a preflight OPTIONS (Learn, "cors policy", usage notes), at API scope even though no OPTIONS
 * operation exists. Explicit origins, bearer tokens only (no credentials), unmatched cross-origin requests terminated.
 */
export function corsPolicyXml(origins: string[], maxAgeSeconds: number): string {
    if (origins.length === 0) return "";
    for (const origin of origins) {
        if (origin.includes("*") || !/^https?:\/\/[^/]+$/.test(origin)) throw new Error(`CORS origin "${origin}" must be an explicit scheme://host[:port]`);
    }
    const list = (tag: string, items: readonly string[]) => items.map((i) => `<${tag}>${xmlEscape(i)}</${tag}>`).join("");
    const methods = [...FHIR_READ_METHODS, ...FHIR_WRITE_METHODS];
    return `<cors allow-credentials="false" terminate-unmatched-request="true">` +
        `<allowed-origins>${list("origin", origins)}</allowed-origins>` +
        `<allowed-methods preflight-result-max-age="${Math.trunc(maxAgeSeconds)}">${list("method", methods)}</allowed-methods>` +
        `<allowed-headers>${list("header", FHIR_CORS_HEADERS)}</allowed-headers>` +
        `<expose-headers>${list("header", FHIR_CORS_EXPOSED_HEADERS)}</expose-headers>` +
        `</cors>`;
}

export function fhirApiPolicy(values: FhirApiValues): string {
    for (const [k, v] of [["fhirUrl", values.fhirUrl], ["publicBaseUrl", values.publicBaseUrl]] as const) {
        if (!/^https:\/\/[^/]+/.test(v) || v.endsWith("/")) throw new Error(`${k} "${v}" must be an https URL without a trailing slash`);
    }
    const { corsOrigins, corsMaxAgeSeconds, ...rest } = values;
    return renderPolicy(loadPolicyTemplate("fhir-api"), { ...rest, cors: { xml: corsPolicyXml(corsOrigins, corsMaxAgeSeconds) } }, "fhir-api");
}

export interface Hl7ApiValues {
    backendId: string;
    rateLimitPerMinute: number;
}

export function hl7ApiPolicy(values: Hl7ApiValues): string {
    return renderPolicy(loadPolicyTemplate("hl7-api"), { ...values }, "hl7-api");
}
