import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { fhirOperations } from "../../components/apiManagement";
import {
    APP_ROLES, fhirApiPolicy, fhirRoleFor, hl7ApiPolicy, loadPolicyTemplate, operationPolicy, POLICY_DIR, renderPolicy, xmlEscape,
} from "../../components/apimPolicies";

const TENANT = "72f988bf-0000-4000-8000-00000000f00d";
const AUDIENCE = "11111111-2222-4333-8444-555555555555";
const FHIR = "https://ahdsx-fhir.fhir.azurehealthcareapis.com";
const PUBLIC = "https://apim-x.azure-api.net/fhir";

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@", preserveOrder: true, commentPropName: "#comment" });

type Node = Record<string, unknown>;
/** Element names in document order, depth first, with their attributes. */
function elements(xml: string): { name: string; attrs: Record<string, string>; path: string[] }[] {
    const out: { name: string; attrs: Record<string, string>; path: string[] }[] = [];
    const walk = (nodes: Node[], path: string[]) => {
        for (const node of nodes) {
            for (const [key, value] of Object.entries(node)) {
                if (key === ":@" || key === "#text" || key === "#comment") continue;
                const attrs = Object.fromEntries(Object.entries((node[":@"] as Record<string, string>) ?? {}).map(([k, v]) => [k.replace(/^@/, ""), v]));
                out.push({ name: key, attrs, path });
                walk(value as Node[], [...path, key]);
            }
        }
    };
    walk(parser.parse(xml) as Node[], []);
    return out;
}

function sectionChildren(xml: string, section: string): string[] {
    return elements(xml).filter((e) => e.path.length === 2 && e.path[1] === section).map((e) => e.name);
}

describe("APIM policies (XML files rendered and parsed)", () => {
    it("every template file is well-formed XML rooted at <policies> with all four sections", () => {
        const files = fs.readdirSync(POLICY_DIR).filter((f) => f.endsWith(".xml"));
        assert.deepEqual(files.sort(), ["fhir-api.xml", "hl7-api.xml", "operation-authorize.xml"]);
        for (const f of files) {
            const text = fs.readFileSync(`${POLICY_DIR}/${f}`, "utf8");
            assert.equal(XMLValidator.validate(text), true, `${f} is well-formed`);
            const top = elements(text).filter((e) => e.path.length === 1).map((e) => e.name);
            assert.deepEqual(top, ["inbound", "backend", "outbound", "on-error"], f);
        }
    });

    it("renders the operation policy: validate-jwt first, tenant issuer, API audience, required role, then <base/>", () => {
        const xml = operationPolicy({ tenantId: TENANT, audience: AUDIENCE, requiredRole: APP_ROLES.fhirWrite });
        assert.equal(XMLValidator.validate(xml), true);
        assert.deepEqual(sectionChildren(xml, "inbound"), ["validate-jwt", "base"]);
        const all = elements(xml);
        const jwt = all.find((e) => e.name === "validate-jwt")!;
        assert.equal(jwt.attrs["header-name"], "Authorization");
        assert.equal(jwt.attrs["require-signed-tokens"], "true");
        assert.equal(jwt.attrs["require-expiration-time"], "true");
        assert.equal(jwt.attrs["output-token-variable-name"], "caller-jwt");
        assert.equal(all.find((e) => e.name === "openid-config")!.attrs.url, `https://login.microsoftonline.com/${TENANT}/v2.0/.well-known/openid-configuration`);
        const parsed = new XMLParser().parse(xml);
        const v = parsed.policies.inbound["validate-jwt"];
        assert.equal(v.audiences.audience, AUDIENCE);
        assert.equal(v.issuers.issuer, `https://login.microsoftonline.com/${TENANT}/v2.0`);
        assert.equal(v["required-claims"].claim.value, "FHIR.Write");
        assert.ok(!xml.includes("<!--"), "comments are stripped before upload");
    });

    it("maps methods to roles: GET/HEAD read, everything else write", () => {
        assert.equal(fhirRoleFor("GET"), "FHIR.Read");
        assert.equal(fhirRoleFor("head"), "FHIR.Read");
        for (const m of ["POST", "PUT", "PATCH", "DELETE"]) assert.equal(fhirRoleFor(m), "FHIR.Write");
        const ops = fhirOperations();
        for (const method of ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]) {
            assert.ok(ops.some((o) => o.method === method && o.urlTemplate === "/*"), `${method} /* exposed`);
        }
        for (const op of ops) {
            const xml = operationPolicy({ tenantId: TENANT, audience: AUDIENCE, requiredRole: op.role });
            const role = new XMLParser().parse(xml).policies.inbound["validate-jwt"]["required-claims"].claim.value;
            assert.equal(role, ["GET", "HEAD"].includes(op.method) ? "FHIR.Read" : "FHIR.Write", op.id);
        }
    });

    it("FHIR API policy: rate limit per caller, managed identity for FHIR, backend, base URL rewritten in body and headers", () => {
        const xml = fhirApiPolicy({ fhirUrl: FHIR, publicBaseUrl: PUBLIC, backendId: "fhir", rateLimitPerMinute: 600, corsOrigins: [], corsMaxAgeSeconds: 0 });
        assert.equal(XMLValidator.validate(xml), true);
        assert.deepEqual(sectionChildren(xml, "inbound"), ["base", "rate-limit-by-key", "set-header", "set-header", "set-header", "authentication-managed-identity", "set-header", "set-backend-service"]);
        // The caller, stamped into FHIR's audit log (FHIR sees APIM's identity): object id, app id, tenant, from the token.
        const stamped = elements(xml).filter((e) => e.name === "set-header" && String(e.attrs.name).startsWith("X-MS-AZUREFHIR-AUDIT-"));
        assert.deepEqual(stamped.map((e) => [e.attrs.name, e.attrs["exists-action"]]), [
            ["X-MS-AZUREFHIR-AUDIT-CALLER-OID", "override"], ["X-MS-AZUREFHIR-AUDIT-CALLER-APPID", "override"], ["X-MS-AZUREFHIR-AUDIT-CALLER-TID", "override"],
        ]);
        assert.match(xml, /X-MS-AZUREFHIR-AUDIT-CALLER-OID[\s\S]*?Claims\.GetValueOrDefault\(&quot;oid&quot;/);
        const all = elements(xml);
        const rate = all.find((e) => e.name === "rate-limit-by-key")!;
        assert.equal(rate.attrs.calls, "600");
        assert.equal(rate.attrs["renewal-period"], "60");
        assert.match(rate.attrs["counter-key"], /GetValueOrDefault\("oid"/, "keyed on the caller's object id");
        assert.equal(all.find((e) => e.name === "authentication-managed-identity")!.attrs.resource, FHIR);
        assert.equal(all.find((e) => e.name === "set-backend-service")!.attrs["backend-id"], "fhir");
        const replace = all.find((e) => e.name === "find-and-replace")!;
        assert.deepEqual([replace.attrs.from, replace.attrs.to], [FHIR, PUBLIC]);
        const rewritten = all.filter((e) => e.name === "set-header" && e.path.includes("outbound")).map((e) => e.attrs.name);
        assert.deepEqual(rewritten, ["Location", "Content-Location"]);
        assert.ok(xml.includes(`.Replace(&quot;${FHIR}&quot;, &quot;${PUBLIC}&quot;)`), "header rewrite swaps the FHIR base for the gateway's");
    });

    it("HL7 API policy forwards the caller's token (the Function validates it again) and drops the subscription key", () => {
        const xml = hl7ApiPolicy({ backendId: "hl7-function", rateLimitPerMinute: 50 });
        const deleted = elements(xml).filter((e) => e.name === "set-header" && e.attrs["exists-action"] === "delete").map((e) => e.attrs.name);
        assert.deepEqual(deleted.sort(), ["Ocp-Apim-Subscription-Key"]);
        assert.ok(!elements(xml).some((e) => e.name === "set-header" && e.attrs.name === "Authorization"), "Authorization reaches the Function untouched");
        assert.equal(elements(xml).find((e) => e.name === "set-backend-service")!.attrs["backend-id"], "hl7-function");
    });

    it("FHIR API policy answers CORS first, for the configured origins only, without credentials", () => {
        const xml = fhirApiPolicy({ fhirUrl: FHIR, publicBaseUrl: PUBLIC, backendId: "fhir", rateLimitPerMinute: 60, corsOrigins: ["https://portal.example.org", "http://localhost:5173"], corsMaxAgeSeconds: 900 });
        assert.equal(XMLValidator.validate(xml), true);
        assert.equal(sectionChildren(xml, "inbound")[0], "cors");
        const cors = elements(xml).find((e) => e.name === "cors")!;
        assert.equal(cors.attrs["allow-credentials"], "false");
        assert.equal(cors.attrs["terminate-unmatched-request"], "true");
        assert.match(xml, /<allowed-origins><origin>https:\/\/portal\.example\.org<\/origin><origin>http:\/\/localhost:5173<\/origin><\/allowed-origins>/);
        assert.match(xml, /preflight-result-max-age="900"/);
        assert.match(xml, /<header>If-Match<\/header>/);
        assert.throws(() => fhirApiPolicy({ fhirUrl: FHIR, publicBaseUrl: PUBLIC, backendId: "fhir", rateLimitPerMinute: 60, corsOrigins: ["*"], corsMaxAgeSeconds: 1 }), /explicit/);
        const none = fhirApiPolicy({ fhirUrl: FHIR, publicBaseUrl: PUBLIC, backendId: "fhir", rateLimitPerMinute: 60, corsOrigins: [], corsMaxAgeSeconds: 1 });
        assert.ok(!none.includes("<cors"), "no origins, no CORS policy");
    });

    it("no policy logs or traces message bodies", () => {
        for (const xml of [
            operationPolicy({ tenantId: TENANT, audience: AUDIENCE, requiredRole: APP_ROLES.hl7Send }),
            fhirApiPolicy({ fhirUrl: FHIR, publicBaseUrl: PUBLIC, backendId: "fhir", rateLimitPerMinute: 1, corsOrigins: [], corsMaxAgeSeconds: 0 }),
            hl7ApiPolicy({ backendId: "hl7-function", rateLimitPerMinute: 1 }),
        ]) {
            const names = elements(xml).map((e) => e.name);
            for (const forbidden of ["log-to-eventhub", "trace", "emit-metric", "send-one-way-request"]) assert.ok(!names.includes(forbidden), forbidden);
            assert.ok(!/Body\.As</.test(xml), "no policy expression reads the body");
        }
    });

    it("rendering is strict: missing or unused values and bad inputs fail with the placeholder's name", () => {
        assert.throws(() => renderPolicy("<a x=\"{%one%}\">{%two%}</a>", { one: "1" }), /no value for placeholder\(s\) two/);
        assert.throws(() => renderPolicy("<a>{%one%}</a>", { one: "1", extra: "x" }), /extra match no placeholder/);
        assert.throws(() => operationPolicy({ tenantId: "not-a-guid", audience: AUDIENCE, requiredRole: "FHIR.Read" }), /not a GUID/);
        assert.throws(() => operationPolicy({ tenantId: TENANT, audience: AUDIENCE, requiredRole: "Admin" }), /not a platform app role/);
        assert.throws(() => fhirApiPolicy({ fhirUrl: "http://x", publicBaseUrl: PUBLIC, backendId: "fhir", rateLimitPerMinute: 1, corsOrigins: [], corsMaxAgeSeconds: 0 }), /fhirUrl/);
        assert.ok(loadPolicyTemplate("operation-authorize").includes("{%requiredRole%}"));
    });

    it("escapes values so a hostile value cannot inject policy elements", () => {
        const xml = renderPolicy("<policies><inbound><x a=\"{%v%}\" /></inbound><backend /><outbound /><on-error /></policies>", { v: "\"/><trace source=\"x\">" });
        assert.equal(XMLValidator.validate(xml), true);
        assert.ok(!elements(xml).some((e) => e.name === "trace"));
        assert.equal(xmlEscape("<&>\"'"), "&lt;&amp;&gt;&quot;&apos;");
    });
});
