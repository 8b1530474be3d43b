import { API_PRODUCTS, ApiConsumer, ApiProductName } from "../components/apimSettings";
import { isPrivateRange } from "../components/cidr";
import type { SenderFacility } from "../components/functionApp";
import { Reader } from "./configReader";

// Readers for the structured config fields (origins, consumers, sender facilities): each reports every problem with
// its full key and returns what it could read.

/** Browser origins: scheme + host (+ port), no path, no wildcard; plain http only for localhost outside prod. */
export function checkOrigin(r: Reader, origin: string, key: string, allowLocalHttp: boolean): void {
    if (origin.includes("*")) {
        r.problem(key, `"${origin}" is a wildcard origin; list each allowed origin explicitly`);
        return;
    }
    let url: URL;
    try {
        url = new URL(origin);
    } catch {
        r.problem(key, `"${origin}" is not a URL origin (expected https://host[:port])`);
        return;
    }
    if (url.origin !== origin) {
        r.problem(key, `"${origin}" must be a bare origin (scheme://host[:port], no path or trailing slash)`);
    }
    const localHttp = url.protocol === "http:" && (url.hostname === "localhost" || url.hostname === "127.0.0.1");
    if (url.protocol !== "https:" && !(localHttp && allowLocalHttp)) {
        r.problem(key, `"${origin}" must use https${allowLocalHttp ? " (http only for localhost)" : ""}`);
    }
}

/** HL7 HD text without the field separator or escapes: what MSH-3/MSH-4 (or their first component) hold. */
const HD_TEXT = /^[^|\\\r\n]{1,180}$/;

/** `identity.hl7SenderFacilities`: a non-empty list of facility names or `{ facility, application }`. */
export function readSenderFacilities(r: Reader, value: unknown): SenderFacility[] {
    const key = "identity.hl7SenderFacilities";
    if (!Array.isArray(value) || value.length === 0) {
        r.problem(key, "must list the sending facilities (MSH-4) the HL7 sender may name: the Function refuses any other");
        return [];
    }
    return value.map((item: unknown, i) => {
        const itemKey = `${key}[${i}]`;
        if (typeof item === "string") {
            if (!HD_TEXT.test(item)) r.problem(itemKey, "is not an MSH-4 value (1–180 characters, no | or \\)");
            return item;
        }
        const entry = r.object(item, itemKey, ["facility", "application"]);
        const facility = r.string(entry.facility, `${itemKey}.facility`, HD_TEXT, "is not an MSH-4 value (1–180 characters, no | or \\)");
        const application = entry.application === undefined ? undefined : r.string(entry.application, `${itemKey}.application`, HD_TEXT, "is not an MSH-3 value");
        return application ? { facility, application } : { facility };
    });
}

/** `apim.consumers`: `[{ name, product }]`, names unique, products among the gateway's. */
export function readConsumers(r: Reader, value: unknown): ApiConsumer[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
        r.problem("apim.consumers", "must be a list of { name, product }");
        return [];
    }
    const products = Object.keys(API_PRODUCTS) as ApiProductName[];
    const names = new Set<string>();
    return value.flatMap((item: unknown, i) => {
        const key = `apim.consumers[${i}]`;
        const entry = r.object(item, key, ["name", "product"]);
        const name = r.string(entry.name, `${key}.name`, /^[a-z][a-z0-9-]{1,38}[a-z0-9]$/, "must be 3–40 lowercase letters, digits or dashes");
        const product = r.oneOf(entry.product, `${key}.product`, products);
        if (name && names.has(name)) r.problem(`${key}.name`, `"${name}" is listed twice`);
        names.add(name);
        return name ? [{ name, product }] : [];
    });
}

/** A FHIR server outside Azure Health Data Services that the Function writes to instead (third-party FHIR mode). */
export interface ExternalFhirConfig {
    /** The server's FHIR base URL (https). */
    baseUrl: string;
    /** Its OAuth 2.0 token endpoint (client-credentials grant). */
    tokenUrl: string;
    /** The client id the server issued to the platform. */
    clientId: string;
    /** Scope to request, when the server wants one. */
    scope?: string;
    /** Name of the Key Vault secret (platform vault) that holds the client secret; an operator stores it there. */
    secretName: string;
    /**
     * The server's (and token endpoint's) public address ranges: the only internet egress the Function gets. Required
     * with NAT egress; optional with the firewall (which admits the two hosts by FQDN; listed ranges also narrow the NSG).
     */
    egressAddressPrefixes: string[];
}

/** `fhir.external`: every URL https, the secret by Key Vault name only, egress as explicit public ranges. */
export function readExternalFhir(r: Reader, value: unknown): ExternalFhirConfig | undefined {
    if (value === undefined) return undefined;
    const key = "fhir.external";
    const ext = r.object(value, key, ["baseUrl", "tokenUrl", "clientId", "scope", "secretName", "egressAddressPrefixes"]);
    const https = (v: unknown, k: string) => {
        const text = r.string(v, k);
        if (!text) return "";
        let u: URL | undefined;
        try {
            u = new URL(text);
        } catch {
            r.problem(k, `"${text}" is not a URL`);
            return text;
        }
        if (u.protocol !== "https:") r.problem(k, `"${text}" must use https`);
        return text.replace(/\/+$/, "");
    };
    const baseUrl = https(ext.baseUrl, `${key}.baseUrl`);
    const tokenUrl = https(ext.tokenUrl, `${key}.tokenUrl`);
    const clientId = r.string(ext.clientId, `${key}.clientId`);
    const scope = ext.scope === undefined ? undefined : r.string(ext.scope, `${key}.scope`);
    const secretName = r.string(ext.secretName, `${key}.secretName`, /^[A-Za-z0-9-]{1,127}$/, "is not a Key Vault secret name");
    const egressAddressPrefixes = r.stringList(ext.egressAddressPrefixes, `${key}.egressAddressPrefixes`, (prefix, k) => {
        const cidr = r.cidr(prefix, k);
        if (cidr && (cidr.prefix < 16 || isPrivateRange(cidr))) r.problem(k, `"${prefix}" must be the server's public range (a /16 or narrower)`);
    });
    // Required in NAT egress mode (checked with edge.egress, configEdge.ts); the firewall mode allows the hosts by FQDN.
    return { baseUrl, tokenUrl, clientId, ...(scope ? { scope } : {}), secretName, egressAddressPrefixes };
}
