import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { XMLParser } from "fast-xml-parser";
import { APIM_PRIVATE_ZONES, APIM_SECURITY_PROPERTIES, ApiGateway, ApiGatewayArgs, fhirOperations, functionKeyExpiry } from "../../components/apiManagement";
import { functionKeyRotation } from "../../components/functionKeys";
import { CALLER_AUDIT_HEADERS } from "../../components/apimSettings";
import { Monitoring } from "../../components/monitoring";
import { MOCK_SUBSCRIPTION_ID, MOCK_TENANT_ID } from "../../tools/offline/arm-mocks";
import { rawPlatformConfig, validatePlatformConfig } from "../../stacks/config";
import { readStackConfig } from "../../tools/offline/plan-runner";
import { findRegistered, registered, settle } from "../support/pulumi-mocks";

const RG = "rg-gw-test";
const SUB = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${RG}/providers`;
const FHIR = "https://ahdsunitgw-fhir.fhir.azurehealthcareapis.com";
const AUDIENCE = "6c1c1c1c-0000-4000-8000-00000000a0d1";

describe("ApiGateway (under mocks)", () => {
    const now = new Date(Date.UTC(2026, 10, 22));
    const mine = (type: string) => registered().filter((r) => r.type === `azure-native:apimanagement:${type}` && r.name.startsWith("gw-"));

    before(async () => {
        const naming = { prefix: "unit", environment: "gw" };
        const monitoring = new Monitoring("gw-mon", { naming, resourceGroupName: RG, location: "westeurope", logRetentionDays: 30, dailyQuotaGb: 0, tags: {} });
        const args: ApiGatewayArgs = {
            naming, globalSuffix: pulumi.output("z9y8x"), resourceGroupName: RG, location: "westeurope", tags: { environment: "gw" },
            tenantId: MOCK_TENANT_ID, subscriptionId: MOCK_SUBSCRIPTION_ID,
            subnetId: `${SUB}/Microsoft.Network/virtualNetworks/vnet/subnets/snet-apim`,
            vnetId: `${SUB}/Microsoft.Network/virtualNetworks/vnet`,
            sku: "Premium", capacity: 3, zones: ["1", "2", "3"], publisherName: "Platform", publisherEmail: "p@example.org",
            rateLimitPerMinute: 321, subscriptionRequired: true, monitoring,
            consumers: [{ name: "ehr-portal", product: "fhir" }, { name: "lab-feed", product: "hl7" }],
            corsOrigins: ["https://portal.example.org"], corsMaxAgeSeconds: 600, rbacPropagationSeconds: 75,
            fhirUrl: FHIR, fhirServiceId: `${SUB}/Microsoft.HealthcareApis/workspaces/ahdsunitgw/fhirservices/fhir`,
            apiAudience: AUDIENCE,
            keyVault: { name: "kv-unit-gw", resourceGroupName: RG },
            now,
            functionKeyRotation: { days: 30, generation: 0 },
            functionApp: { id: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-unit/providers/Microsoft.Web/sites/func-unit-gw", name: "func-unit-gw", hostName: "func-unit-gw.azurewebsites.net", resourceGroupName: RG },
        };
        new ApiGateway("gw", args);
        await settle();
    });

    const service = () => findRegistered("azure-native:apimanagement:ApiManagementService", "gw-service");

    it("is injected in its subnet in Internal mode with the configured SKU, zones, identity and a stv2 public IP", () => {
        const s = service().inputs as any;
        assert.deepEqual(s.sku, { name: "Premium", capacity: 3 });
        assert.deepEqual(s.zones, ["1", "2", "3"]);
        assert.equal(s.virtualNetworkType, "Internal");
        assert.match(s.virtualNetworkConfiguration.subnetResourceId, /subnets\/snet-apim$/);
        assert.deepEqual(s.identity, { type: "SystemAssigned" });
        const pip = findRegistered("azure-native:network:PublicIPAddress", "gw-pip");
        assert.equal(s.publicIpAddressId, pip.outputs.id);
        assert.equal((pip.inputs as any).sku.name, "Standard");
        assert.equal((pip.inputs as any).publicIPAllocationMethod, "Static");
        assert.match((pip.inputs as any).dnsSettings.domainNameLabel, /^apim-unit-gw-z9y8x-mgmt$/);
        // Must be Enabled at create (two-phase step in the docs).
        assert.equal(s.publicNetworkAccess, "Enabled");
        assert.equal(s.apiVersionConstraint.minApiVersion, "2021-08-01");
    });

    it("turns off SSL 3.0, TLS 1.0/1.1 (client and backend side), 3DES and the CBC / static-RSA suites", () => {
        const props = (service().inputs as any).customProperties as Record<string, string>;
        assert.deepEqual(props, APIM_SECURITY_PROPERTIES);
        for (const side of ["", "Backend."]) {
            for (const p of ["Ssl30", "Tls10", "Tls11"]) assert.equal(props[`Microsoft.WindowsAzure.ApiManagement.Gateway.Security.${side}Protocols.${p}`], "False", `${side}${p}`);
        }
        assert.equal(props["Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TripleDes168"], "False");
        const cbc = Object.keys(props).filter((k) => /Ciphers\..*CBC/.test(k));
        assert.ok(cbc.length >= 6 && cbc.every((k) => props[k] === "False"));
    });

    it("allows a long create (APIM takes up to 90 minutes)", () => {
        const timeouts = service().options.customTimeouts!;
        assert.ok(parseInt(timeouts.create!, 10) >= 120, `create timeout ${timeouts.create}`);
        assert.ok(parseInt(timeouts.update!, 10) >= 120);
    });

    it("publishes the private VIP in the five azure-api.net zones, each linked to the VNet", () => {
        const zones = registered().filter((r) => r.type === "azure-native:privatedns:PrivateZone" && r.name.startsWith("gw-dns-")).map((r) => (r.inputs as any).privateZoneName).sort();
        assert.deepEqual(zones, Object.values(APIM_PRIVATE_ZONES).sort());
        for (const key of Object.keys(APIM_PRIVATE_ZONES)) {
            const a = findRegistered("azure-native:privatedns:PrivateRecordSet", `gw-dns-${key}-a`).inputs as any;
            assert.equal(a.recordType, "A");
            assert.equal(a.relativeRecordSetName, "apim-unit-gw-z9y8x");
            assert.deepEqual(a.aRecords, [{ ipv4Address: "10.0.0.4" }], "privateIPAddresses[0]");
            const link = findRegistered("azure-native:privatedns:VirtualNetworkLink", `gw-dns-${key}-link`).inputs as any;
            assert.equal(link.virtualNetwork.id, `${SUB}/Microsoft.Network/virtualNetworks/vnet`);
            assert.equal(link.registrationEnabled, false);
        }
    });

    it("exposes /fhir and /hl7 over HTTPS only, with subscription keys as configured", () => {
        const apis = mine("Api").map((r) => r.inputs as any);
        assert.deepEqual(apis.map((a) => a.path).sort(), ["fhir", "hl7"]);
        for (const a of apis) {
            assert.deepEqual(a.protocols, ["https"]);
            assert.equal(a.subscriptionRequired, true);
        }
        assert.equal(apis.find((a) => a.path === "fhir").serviceUrl, FHIR);
    });

    it("puts validate-jwt first on every operation, with the role each method needs", () => {
        const ops = mine("ApiOperation");
        const policies = mine("ApiOperationPolicy");
        assert.equal(ops.length, fhirOperations().length + 1);
        assert.equal(policies.length, ops.length, "one policy per operation");
        for (const op of ops) {
            const inputs = op.inputs as any;
            const policy = policies.find((p) => p.name === `${op.name}-policy`);
            assert.ok(policy, `${op.name} has a policy`);
            const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@" }).parse((policy!.inputs as any).value);
            const jwt = doc.policies.inbound["validate-jwt"];
            assert.ok(jwt, `${op.name}: validate-jwt`);
            assert.ok(Object.keys(doc.policies.inbound)[0] === "validate-jwt", `${op.name}: validate-jwt runs first`);
            assert.equal(jwt.audiences.audience, AUDIENCE);
            assert.equal(jwt.issuers.issuer, `https://login.microsoftonline.com/${MOCK_TENANT_ID}/v2.0`);
            const expected = inputs.apiId === "hl7" ? "HL7.Send" : ["GET", "HEAD"].includes(inputs.method) ? "FHIR.Read" : "FHIR.Write";
            assert.equal(jwt["required-claims"].claim.value, expected, `${inputs.method} ${inputs.urlTemplate}`);
        }
    });

    it("calls FHIR with APIM's identity, rewrites its base URL, and rate limits per caller", () => {
        const fhirPolicy = findRegistered("azure-native:apimanagement:ApiPolicy", "gw-api-fhir-policy").inputs as any;
        const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@" }).parse(fhirPolicy.value);
        assert.equal(doc.policies.inbound["authentication-managed-identity"]["@resource"], FHIR);
        assert.equal(doc.policies.inbound["rate-limit-by-key"]["@calls"], "321");
        assert.equal(doc.policies.outbound["find-and-replace"]["@from"], FHIR);
        assert.equal(doc.policies.outbound["find-and-replace"]["@to"], "https://apim-unit-gw-z9y8x.azure-api.net/fhir");
    });

    it("validates backend TLS and reaches the Function with a Key Vault–backed key", () => {
        const backends = mine("Backend").map((r) => r.inputs as any);
        assert.equal(backends.length, 2);
        for (const b of backends) assert.deepEqual(b.tls, { validateCertificateChain: true, validateCertificateName: true });
        const hl7 = backends.find((b) => b.backendId === "hl7-function");
        assert.equal(hl7.url, "https://func-unit-gw.azurewebsites.net/api/hl7");
        assert.deepEqual(hl7.credentials.header, { "x-functions-key": ["{{hl7-function-key}}"] });
        const nv = findRegistered("azure-native:apimanagement:NamedValue", "gw-nv-function-key").inputs as any;
        assert.equal(nv.secret, true);
        assert.equal(nv.value, undefined, "no inline secret in APIM");
        assert.equal(nv.keyVault.secretIdentifier, "https://kv-unit-gw.vault.azure.net/secrets/hl7-function-key");
        const secret = findRegistered("azure-native:keyvault:Secret", "gw-function-key-secret").inputs as any;
        assert.equal(secret.properties.value, "[secret]");
        const rotation = functionKeyRotation(now, 30, 0);
        const current = rotation.slots[rotation.current];
        assert.equal(secret.properties.attributes.expires, current.expires.getTime() / 1000);
        assert.equal(secret.properties.contentType, `application/x-azure-functions-key; function=hl7; key=${current.keyName}`);
        assert.equal(functionKeyExpiry(now), Date.UTC(2027, 0, 1) / 1000, "consumer subscription-key copies keep the month bucket");
    });

    it("rotates the function key in two slots set on the runner, never through the program's state, and refreshes APIM", () => {
        const rotation = functionKeyRotation(now, 30, 0);
        for (const slot of ["a", "b"] as const) {
            const set = findRegistered("command:local:Command", `gw-function-key-set-${slot}`);
            const inputs = set.inputs as any;
            assert.equal(inputs.create, "node -r ./tools/ts-register.js tools/function-key.ts set");
            assert.equal(inputs.environment.FUNCTION_KEY_NAME, `apim-${slot}`);
            assert.equal(inputs.environment.FUNCTION_KEY_PRUNE, "default", "only rotated keys open the function");
            assert.match(inputs.environment.FUNCTION_SITE_ID, /\/sites\/func-unit-gw$/);
            assert.equal(inputs.environment.FUNCTION_KEY_VALUE, undefined, "the value is generated on the runner");
            assert.deepEqual(inputs.triggers[0], rotation.slots[slot].keeper, "a new period for this slot reruns it");
        }
        const secret = findRegistered("azure-native:keyvault:Secret", "gw-function-key-secret");
        assert.equal((secret.inputs as any).tags.rotation, rotation.slots[rotation.current].keeper);
        assert.ok(!registered().some((r) => r.type.startsWith("random:") && r.name.includes("function-key")), "no key value in state but the Key Vault copy");
        const refresh = findRegistered("command:local:Command", "gw-function-key-refresh");
        assert.equal((refresh.inputs as any).create, "node -r ./tools/ts-register.js tools/function-key.ts refresh");
        assert.equal((refresh.inputs as any).environment.APIM_NAMED_VALUE, "hl7-function-key");
        assert.match(String((refresh.inputs as any).triggers[0]), /\/secrets\/hl7-function-key\//, "reruns on every new version of the copy");
        assert.ok(refresh.dependencies.includes(findRegistered("azure-native:apimanagement:NamedValue", "gw-nv-function-key").urn));
    });

    it("creates the Key Vault named value only after APIM's Secrets User grant has propagated", () => {
        const grant = findRegistered("azure-native:authorization:RoleAssignment", "gw-role-function-key-reader");
        const wait = findRegistered("time:index/sleep:Sleep", "gw-function-key-grant-wait");
        assert.equal(wait.inputs.createDuration, "75s");
        assert.ok(wait.dependencies.includes(grant.urn));
        const nv = findRegistered("azure-native:apimanagement:NamedValue", "gw-nv-function-key");
        assert.ok(nv.dependencies.includes(wait.urn), "named value after the wait");
    });

    it("answers browser CORS at the gateway for the configured origins, before token validation can refuse a preflight", () => {
        const fhirPolicy = findRegistered("azure-native:apimanagement:ApiPolicy", "gw-api-fhir-policy").inputs as any;
        const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@" }).parse(fhirPolicy.value);
        const cors = doc.policies.inbound.cors;
        assert.equal(cors["@allow-credentials"], "false");
        assert.equal(cors["allowed-origins"].origin, "https://portal.example.org");
        assert.equal(cors["allowed-methods"]["@preflight-result-max-age"], "600");
        assert.ok(String(fhirPolicy.value).indexOf("<cors") < String(fhirPolicy.value).indexOf("<base"), "cors runs first");
    });

    it("declares one product per API and one subscription per consumer, scoped to its product, keys handed over in Key Vault", () => {
        const products = mine("Product").map((r) => r.inputs as any);
        assert.deepEqual(products.map((p) => p.productId).sort(), ["fhir", "hl7"]);
        for (const p of products) {
            assert.equal(p.subscriptionRequired, true);
            assert.equal(p.approvalRequired, true);
            assert.equal(p.state, "published");
        }
        const links = mine("ProductApi").map((r) => r.inputs as any).map((l) => `${l.productId}->${l.apiId}`).sort();
        assert.deepEqual(links, ["fhir->fhir", "hl7->hl7"]);
        const subs = mine("Subscription");
        assert.deepEqual(subs.map((r) => [(r.inputs as any).sid, (r.inputs as any).scope]).sort(), [["ehr-portal", "/products/fhir"], ["lab-feed", "/products/hl7"]]);
        for (const sub of subs) {
            assert.equal((sub.inputs as any).allowTracing, false);
            assert.equal((sub.inputs as any).primaryKey, undefined, "APIM generates the keys; none flows from the program");
            assert.deepEqual(sub.options.additionalSecretOutputs, ["primaryKey", "secondaryKey"]);
        }
        const secrets = registered().filter((r) => r.type === "azure-native:keyvault:Secret" && r.name.startsWith("gw-products-")).map((r) => r.inputs as any);
        assert.deepEqual(secrets.map((x) => x.secretName).sort(), ["apim-sub-ehr-portal-primary", "apim-sub-ehr-portal-secondary", "apim-sub-lab-feed-primary", "apim-sub-lab-feed-secondary"]);
        for (const x of secrets) {
            assert.equal(x.properties.value, "[secret]");
            assert.match(x.properties.contentType, /^application\/x-apim-subscription-key; product=(fhir|hl7)$/);
            assert.ok(x.properties.attributes.expires > now.getTime() / 1000);
        }
    });

    it("logs metadata only: no headers, no bodies, query strings masked, to App Insights with Entra auth", () => {
        const logger = findRegistered("azure-native:apimanagement:Logger", "gw-logger-appi").inputs as any;
        assert.equal(logger.loggerType, "applicationInsights");
        assert.equal(logger.credentials.identityClientId, "SystemAssigned");
        assert.ok(!("instrumentationKey" in logger.credentials), "no instrumentation key credential");
        const diags = mine("Diagnostic").map((r) => r.inputs as any);
        assert.deepEqual(diags.map((d) => d.diagnosticId).sort(), ["applicationinsights", "azuremonitor"]);
        for (const d of diags) {
            assert.equal(d.logClientIp, false);
            for (const side of ["frontend", "backend"]) {
                for (const dir of ["request", "response"]) {
                    const m = d[side][dir];
                    // Only the caller-id audit headers the FHIR policy stamps on backend requests (object ids, no token).
                    const expected = side === "backend" && dir === "request" ? CALLER_AUDIT_HEADERS : [];
                    assert.deepEqual(m.headers, expected, `${d.diagnosticId} ${side} ${dir} headers`);
                    assert.equal(m.body.bytes, 0, `${d.diagnosticId} ${side} ${dir} body`);
                    assert.deepEqual(m.dataMasking.queryParams, [{ value: "*", mode: "Hide" }]);
                }
            }
        }
        const diagSettings = registered().filter((r) => r.type === "azure-native:monitor:DiagnosticSetting" && r.name.startsWith("gw-")).map((r) => r.name).sort();
        assert.deepEqual(diagSettings, ["gw-pip-diag", "gw-service-diag"]);
    });
});

describe("apim.subscriptionRequired config", () => {
    const raw = () => rawPlatformConfig(readStackConfig("dev")) as Record<string, any>;

    it("defaults to false, is read from the stack, and rejects non-booleans naming the key", () => {
        assert.equal(validatePlatformConfig(raw()).apim.subscriptionRequired, false);
        assert.equal(validatePlatformConfig(rawPlatformConfig(readStackConfig("prod"))).apim.subscriptionRequired, true);
        const unset = raw();
        delete unset.apim.subscriptionRequired;
        assert.equal(validatePlatformConfig(unset).apim.subscriptionRequired, false);
        const bad = raw();
        bad.apim.subscriptionRequired = "sometimes";
        assert.throws(() => validatePlatformConfig(bad), /fhir-platform:apim\.subscriptionRequired: "sometimes" must be true or false/);
    });
});
