import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import * as YAML from "yaml";
import { ConfigValidationError, rawPlatformConfig, validatePlatformConfig } from "../../stacks/config";
import { readStackConfig } from "../../tools/offline/plan-runner";

const ROOT = path.resolve(__dirname, "..", "..");

/** The shipped stack's raw config, deep-copied so a test can break one setting. */
function stackRaw(stack: "dev" | "prod"): Record<string, any> {
    return JSON.parse(JSON.stringify(rawPlatformConfig(readStackConfig(stack))));
}

/** Asserts validation fails and returns its problem lines. */
function problemsOf(raw: Record<string, unknown>): string[] {
    try {
        validatePlatformConfig(raw);
    } catch (err) {
        assert.ok(err instanceof ConfigValidationError, `expected ConfigValidationError, got ${err}`);
        return [...err.problems];
    }
    assert.fail("config was accepted but should have been rejected");
}

function assertProblem(raw: Record<string, unknown>, key: string, fragment: RegExp): void {
    const problems = problemsOf(raw);
    assert.ok(
        problems.some((p) => p.startsWith(`fhir-platform:${key}:`) && fragment.test(p)),
        `expected a problem on ${key} matching ${fragment}, got:\n${problems.join("\n")}`,
    );
}

describe("stack config validation", () => {
    it("accepts both shipped stacks, and prod is stricter than dev", () => {
        const dev = validatePlatformConfig(stackRaw("dev"));
        const prod = validatePlatformConfig(stackRaw("prod"));
        assert.equal(dev.environment, "dev");
        assert.equal(prod.environment, "prod");
        assert.ok(prod.monitoring.logRetentionDays > dev.monitoring.logRetentionDays);
        assert.equal(prod.zoneRedundant, true);
        assert.equal(prod.keyVault.sku, "premium");
        assert.equal(prod.apim.sku, "Premium");
        assert.ok(prod.apim.zones.length >= 2);
        assert.notEqual(prod.storage.sku, "Standard_LRS");
        assert.ok(prod.identity.hl7SenderSecretRotationDays < dev.identity.hl7SenderSecretRotationDays);
        assert.ok(prod.keyVault.softDeleteRetentionDays >= dev.keyVault.softDeleteRetentionDays);
        assert.equal(prod.tags.environment, "prod");
    });

    it("rejects a malformed CIDR", () => {
        const raw = stackRaw("dev");
        raw.network.addressSpace = "10.40.0.0/33";
        assertProblem(raw, "network.addressSpace", /prefix length above 32/);
        raw.network.addressSpace = "10.400.0.0/22";
        assertProblem(raw, "network.addressSpace", /octet above 255/);
        raw.network.addressSpace = "ten.forty/22";
        assertProblem(raw, "network.addressSpace", /not an IPv4 CIDR/);
    });

    it("rejects a CIDR with host bits set", () => {
        const raw = stackRaw("dev");
        raw.network.subnets.apim = "10.40.2.5/27";
        assertProblem(raw, "network.subnets.apim", /host bits set/);
    });

    it("rejects an address space outside the private ranges", () => {
        const raw = stackRaw("dev");
        raw.network.addressSpace = "52.10.0.0/22";
        assertProblem(raw, "network.addressSpace", /RFC 1918/);
    });

    it("rejects overlapping subnets", () => {
        const raw = stackRaw("dev");
        raw.network.subnets.functionIntegration = "10.40.0.0/26";
        assertProblem(raw, "network.subnets.functionIntegration", /overlaps network.subnets.privateEndpoints/);
    });

    it("rejects a subnet outside the address space", () => {
        const raw = stackRaw("dev");
        raw.network.subnets.apim = "10.41.2.0/27";
        assertProblem(raw, "network.subnets.apim", /outside the address space 10.40.0.0\/22/);
    });

    it("rejects a subnet too small for its role", () => {
        const raw = stackRaw("dev");
        raw.network.subnets.functionIntegration = "10.40.1.0/28";
        assertProblem(raw, "network.subnets.functionIntegration", /too small.*Flex Consumption/);
    });

    it("rejects a key size FHIR does not accept", () => {
        const raw = stackRaw("prod");
        raw.keyVault.cmkKeySize = 4096;
        assertProblem(raw, "keyVault.cmkKeySize", /RSA 2048 or 3072/);
    });

    it("rejects rotation that would not happen before expiry", () => {
        const raw = stackRaw("dev");
        raw.keyVault.cmkRotateBeforeExpiryDays = 400;
        assertProblem(raw, "keyVault.cmkRotateBeforeExpiryDays", /shorter than keyVault.cmkExpiryDays/);
    });

    it("rejects an unknown location", () => {
        const raw = stackRaw("dev");
        raw.location = "westeurope2";
        assertProblem(raw, "location", /not a known Azure region/);
    });

    it("rejects a wildcard CORS origin", () => {
        const raw = stackRaw("dev");
        raw.fhir.corsOrigins = ["*"];
        assertProblem(raw, "fhir.corsOrigins[0]", /wildcard/);
        raw.fhir.corsOrigins = ["https://*.example.org"];
        assertProblem(raw, "fhir.corsOrigins[0]", /wildcard/);
    });

    it("rejects CORS origins with a path or without https", () => {
        const raw = stackRaw("dev");
        raw.fhir.corsOrigins = ["https://portal.example.org/app", "http://portal.example.org"];
        assertProblem(raw, "fhir.corsOrigins[0]", /bare origin/);
        assertProblem(raw, "fhir.corsOrigins[1]", /must use https/);
    });

    it("allows http://localhost origins in dev but not in prod", () => {
        const prod = stackRaw("prod");
        prod.fhir.corsOrigins = ["http://localhost:5173"];
        assertProblem(prod, "fhir.corsOrigins[0]", /must use https/);
        const dev = stackRaw("dev");
        dev.fhir.corsOrigins = ["http://localhost:5173"];
        assert.doesNotThrow(() => validatePlatformConfig(dev));
    });

    it("enforces prod minimums (retention, zone redundancy, Premium APIM, delete lock, rotation)", () => {
        const raw = stackRaw("prod");
        raw.monitoring.logRetentionDays = 90;
        raw.zoneRedundant = "false";
        raw.apim.sku = "Developer";
        raw.apim.zones = [];
        raw.apim.capacity = 1;
        raw.keyVault.deleteLock = false;
        raw.identity.hl7SenderSecretRotationDays = 90;
        const problems = problemsOf(raw);
        for (const key of ["monitoring.logRetentionDays", "zoneRedundant", "apim.sku", "keyVault.deleteLock", "identity.hl7SenderSecretRotationDays"]) {
            assert.ok(problems.some((p) => p.startsWith(`fhir-platform:${key}:`)), `no prod problem for ${key}:\n${problems.join("\n")}`);
        }
    });

    it("rejects APIM zones on a tier without them and uneven capacity", () => {
        const dev = stackRaw("dev");
        dev.apim.zones = ["1", "2"];
        assertProblem(dev, "apim.zones", /need the Premium tier/);
        const prod = stackRaw("prod");
        prod.apim.capacity = 4;
        assertProblem(prod, "apim.capacity", /cannot be spread evenly over 3 zones/);
    });

    it("rejects invalid e-mail addresses, group ids and redirect URIs", () => {
        const raw = stackRaw("prod");
        raw.alerts.email = "not-an-address";
        raw.identity.fhirReaderGroupObjectIds = ["clinicians"];
        raw.identity.spaRedirectUris = ["http://portal.example.org/cb"];
        const problems = problemsOf(raw);
        assert.ok(problems.some((p) => p.startsWith("fhir-platform:alerts.email:")));
        assert.ok(problems.some((p) => p.startsWith("fhir-platform:identity.fhirReaderGroupObjectIds[0]:") && /GUID/.test(p)));
        assert.ok(problems.some((p) => p.startsWith("fhir-platform:identity.spaRedirectUris[0]:") && /https/.test(p)));
    });

    it("bounds how long raw HL7 messages (PHI) are kept", () => {
        const raw = stackRaw("prod");
        raw.storage.messageRetentionDays = 0;
        assertProblem(raw, "storage.messageRetentionDays", /out of range \(1–365\)/);
    });

    it("refuses a stack file whose environment contradicts the stack name (a copied dev file on prod)", () => {
        const raw = stackRaw("dev");
        assert.equal(validatePlatformConfig(raw, "dev").environment, "dev");
        assert.equal(validatePlatformConfig(raw, "dev-eu").environment, "dev");
        assert.throws(() => validatePlatformConfig(raw, "prod"), (e: ConfigValidationError) =>
            e.problems.some((p) => /fhir-platform:environment: "dev" does not match the stack "prod"/.test(p)) &&
            // and the prod minimums apply, because the stack is prod whatever the file says
            e.problems.some((p) => p.startsWith("fhir-platform:keyVault.deleteLock:")));
    });

    it("requires the deployer's runner network: a VNet id, a private prefix outside the platform's address space", () => {
        const raw = stackRaw("dev");
        raw.deployer.virtualNetworkId = "/subscriptions/x/vnet";
        assertProblem(raw, "deployer.virtualNetworkId", /is not a virtual network id/);
        const overlap = stackRaw("dev");
        overlap.deployer.addressPrefix = "10.40.1.0/27";
        assertProblem(overlap, "deployer.addressPrefix", /overlaps network\.addressSpace 10\.40\.0\.0\/22/);
        const publicPrefix = stackRaw("dev");
        publicPrefix.deployer.addressPrefix = "20.1.0.0/27";
        assertProblem(publicPrefix, "deployer.addressPrefix", /RFC 1918/);
        const missing = stackRaw("dev");
        delete missing.deployer;
        assertProblem(missing, "deployer", /is required/);
        const user = stackRaw("dev");
        user.deployer.principalType = "Group";
        assertProblem(user, "deployer.principalType", /not allowed/);
    });

    it("points each shipped stack at the runner network the bootstrap creates for it", () => {
        const boot = YAML.parse(fs.readFileSync(path.join(ROOT, "bootstrap", "Pulumi.bootstrap.yaml"), "utf8")).config;
        const prefix = boot["fhir-platform-bootstrap:namePrefix"];
        const location = boot["fhir-platform-bootstrap:location"];
        for (const stack of ["dev", "prod"] as const) {
            const { deployer, namePrefix } = validatePlatformConfig(stackRaw(stack), stack);
            assert.equal(namePrefix, prefix);
            assert.equal(deployer.addressPrefix, boot["fhir-platform-bootstrap:environments"][stack].runnerAddressSpace, stack);
            assert.match(deployer.virtualNetworkId, new RegExp(`/resourceGroups/rg-${prefix}-bootstrap-${location}/providers/Microsoft\\.Network/virtualNetworks/vnet-${prefix}-${stack}-runners$`));
        }
    });

    it("bounds the RBAC propagation wait (default 120 s, at least 60 s)", () => {
        const raw = stackRaw("dev");
        delete raw.rbacPropagationSeconds;
        assert.equal(validatePlatformConfig(raw).rbacPropagationSeconds, 120);
        raw.rbacPropagationSeconds = "10";
        assertProblem(raw, "rbacPropagationSeconds", /out of range \(60–1800\)/);
    });

    it("requires delete locks on FHIR and raw-HL7 storage in prod", () => {
        const raw = stackRaw("prod");
        raw.fhir.deleteLock = "false";
        raw.storage.deleteLock = false;
        const problems = problemsOf(raw);
        assert.ok(problems.some((p) => p.startsWith("fhir-platform:fhir.deleteLock: must be true for prod")));
        assert.ok(problems.some((p) => p.startsWith("fhir-platform:storage.deleteLock: must be true for prod")));
        const dev = validatePlatformConfig(stackRaw("dev"));
        assert.equal(dev.fhir.deleteLock, false);
        assert.equal(validatePlatformConfig(stackRaw("prod")).storage.deleteLock, true);
    });

    it("reads APIM consumers: unique names, known products", () => {
        const raw = stackRaw("dev");
        assert.deepEqual(validatePlatformConfig(raw).apim.consumers.map((c) => c.product).sort(), ["fhir", "hl7"]);
        raw.apim.consumers = [{ name: "ehr", product: "fhir" }, { name: "ehr", product: "dicom" }, { name: "Bad Name", product: "hl7" }];
        const problems = problemsOf(raw);
        assert.ok(problems.some((p) => p.startsWith("fhir-platform:apim.consumers[1].name:") && /listed twice/.test(p)));
        assert.ok(problems.some((p) => p.startsWith("fhir-platform:apim.consumers[1].product:") && /not allowed/.test(p)));
        assert.ok(problems.some((p) => p.startsWith("fhir-platform:apim.consumers[2].name:")));
    });

    it("reads the public edge: host name, a versionless Key Vault certificate in the named vault, client ranges", () => {
        const dev = validatePlatformConfig(stackRaw("dev"), "dev").edge;
        assert.equal(dev.ddos.mode, "off");
        assert.deepEqual(dev.allowedClientRanges, ["Internet"]);
        const raw = stackRaw("dev");
        raw.edge.hostName = "Not A Host";
        raw.edge.certificate.keyVaultSecretId = "https://kv-fhirp-certs-dev.vault.azure.net/secrets/edge-dev/0123456789abcdef";
        raw.edge.certificate.keyVaultId = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/other-vault";
        raw.edge.allowedClientRanges = ["10.1.0.0/16", "0.0.0.0/0", "nonsense"];
        const problems = problemsOf(raw);
        for (const [key, fragment] of [
            ["edge.hostName", /not a lowercase DNS name/],
            ["edge.certificate.keyVaultSecretId", /versionless/],
            ["edge.allowedClientRanges[0]", /private range/],
            ["edge.allowedClientRanges[1]", /admits every address/],
            ["edge.allowedClientRanges[2]", /not an IPv4 CIDR/],
        ] as const) {
            assert.ok(problems.some((p) => p.startsWith(`fhir-platform:${key}:`) && fragment.test(p)), `${key} ${fragment}\n${problems.join("\n")}`);
        }
        const mismatch = stackRaw("dev");
        mismatch.edge.certificate.keyVaultId = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/other-vault";
        assertProblem(mismatch, "edge.certificate.keyVaultId", /names vault "other-vault" but keyVaultSecretId is in "kv-fhirp-certs-dev"/);
    });

    it("holds prod's edge to partner ranges, two instances and DDoS protection", () => {
        const prod = validatePlatformConfig(stackRaw("prod"), "prod").edge;
        assert.equal(prod.ddos.mode, "ipProtection");
        assert.ok(prod.minCapacity >= 2);
        const raw = stackRaw("prod");
        raw.edge.allowedClientRanges = ["Internet"];
        raw.edge.minCapacity = 1;
        raw.edge.ddos = { mode: "off" };
        const problems = problemsOf(raw);
        assert.ok(problems.some((p) => p.startsWith("fhir-platform:edge.allowedClientRanges[0]:") && /not allowed in prod/.test(p)));
        assert.ok(problems.some((p) => p.startsWith("fhir-platform:edge.minCapacity:") && /at least 2/.test(p)));
        assert.ok(problems.some((p) => p.startsWith("fhir-platform:edge.ddos.mode:") && /prod needs DDoS protection/.test(p)));
    });

    it("keeps the WAF body limit at or above the Function's message limit, and disabled rules justified", () => {
        const raw = stackRaw("dev");
        raw.edge.waf = { maxRequestBodySizeKb: 512, disabledRules: [{ ruleId: "932100", reason: "short" }, { ruleId: "123456", reason: "a reason long enough to pass the check" }] };
        const problems = problemsOf(raw);
        assert.ok(problems.some((p) => p.startsWith("fhir-platform:edge.waf.maxRequestBodySizeKb:") && /below functionApp.maxMessageBytes \(1024 KB\)/.test(p)));
        assert.ok(problems.some((p) => p.startsWith("fhir-platform:edge.waf.disabledRules[0].reason:")));
        assert.ok(problems.some((p) => p.startsWith("fhir-platform:edge.waf.disabledRules[1].ruleId:") && /not a DefaultRuleSet 2\.1 rule id/.test(p)));
    });

    it("requires a gateway subnet of at least /26 that overlaps nothing", () => {
        const raw = stackRaw("dev");
        raw.network.subnets.appGateway = "10.40.3.0/27";
        assertProblem(raw, "network.subnets.appGateway", /at least a \/26/);
        raw.network.subnets.appGateway = "10.40.2.0/26";
        assertProblem(raw, "network.subnets.appGateway", /overlaps network\.subnets\.apim/);
    });

    it("requires the facilities the HL7 sender may name, as MSH-4 values", () => {
        assert.deepEqual(validatePlatformConfig(stackRaw("dev")).identity.hl7SenderFacilities, ["MAIN_HOSPITAL", { facility: "LAB", application: "LIS" }]);
        const raw = stackRaw("dev");
        raw.identity.hl7SenderFacilities = [];
        assertProblem(raw, "identity.hl7SenderFacilities", /must list the sending facilities/);
        raw.identity.hl7SenderFacilities = ["A|B", { facility: "LAB", application: "" }, { app: "x" }];
        const problems = problemsOf(raw);
        assert.ok(problems.some((p) => p.startsWith("fhir-platform:identity.hl7SenderFacilities[0]:")));
        assert.ok(problems.some((p) => p.startsWith("fhir-platform:identity.hl7SenderFacilities[1].application:")));
        assert.ok(problems.some((p) => p.startsWith("fhir-platform:identity.hl7SenderFacilities[2].app:")));
    });

    it("reads third-party FHIR mode: https URLs, the secret by Key Vault name, public egress ranges, no platform FHIR client", () => {
        const raw = stackRaw("dev");
        raw.fhir.external = { baseUrl: "https://fhir.partner.example.com/r4/", tokenUrl: "https://auth.partner.example.com/token", clientId: "platform", secretName: "partner-secret", egressAddressPrefixes: ["203.0.113.0/24"] };
        const ext = validatePlatformConfig(raw).fhir.external!;
        assert.equal(ext.baseUrl, "https://fhir.partner.example.com/r4");
        assert.deepEqual(ext.egressAddressPrefixes, ["203.0.113.0/24"]);
        raw.fhir.external = { baseUrl: "http://fhir.partner.example.com", tokenUrl: "not a url", clientId: "", secretName: "bad name!", egressAddressPrefixes: ["10.0.0.0/8"] };
        raw.functionApp.fhirAuthMode = "clientCredentials";
        const problems = problemsOf(raw);
        for (const key of ["fhir.external.baseUrl", "fhir.external.tokenUrl", "fhir.external.clientId", "fhir.external.secretName", "fhir.external.egressAddressPrefixes[0]", "functionApp.fhirAuthMode"]) {
            assert.ok(problems.some((p) => p.startsWith(`fhir-platform:${key}:`)), `${key}\n${problems.join("\n")}`);
        }
        raw.fhir.external = { baseUrl: "https://f.example.com", tokenUrl: "https://f.example.com/t", clientId: "c", secretName: "s" };
        assertProblem(raw, "fhir.external.egressAddressPrefixes", /no other internet egress/);
    });

    it("requires Microsoft Sentinel in prod", () => {
        const raw = stackRaw("prod");
        raw.monitoring.sentinel = false;
        assertProblem(raw, "monitoring.sentinel", /must be true for prod/);
        assert.equal(validatePlatformConfig(stackRaw("dev")).monitoring.sentinel, false);
    });

    it("reads monitoring.entraSignInLogs as a boolean, off unless the stack says the tenant exports sign-in logs", () => {
        assert.equal(validatePlatformConfig(stackRaw("dev")).monitoring.entraSignInLogs, false);
        assert.equal(validatePlatformConfig(stackRaw("prod")).monitoring.entraSignInLogs, true);
        const raw = stackRaw("prod");
        raw.monitoring.entraSignInLogs = "yes";
        assertProblem(raw, "monitoring.entraSignInLogs", /./);
    });

    it("refuses SMART on FHIR groups, which the gateway design cannot honour", () => {
        const raw = stackRaw("prod");
        raw.identity.smartUserGroupObjectIds = ["c2d9e4a8-7f16-4b3c-8e5a-9d0f1b2c3e44"];
        assertProblem(raw, "identity.smartUserGroupObjectIds", /not supported: the gateway calls FHIR as its own identity/);
    });

    it("rejects unknown keys, so a typo is not silently ignored", () => {
        const raw = stackRaw("dev");
        raw.keyVault.cmkKeysize = 2048;
        raw.monitorng = {};
        assertProblem(raw, "keyVault.cmkKeysize", /not a known setting/);
        assertProblem(raw, "monitorng", /not a known setting/);
    });

    it("reports missing required settings", () => {
        const raw = stackRaw("dev");
        delete raw.alerts;
        delete raw.location;
        assertProblem(raw, "alerts", /is required/);
        assertProblem(raw, "location", /is required/);
    });

    it("lists every bad key in one error", () => {
        const raw = stackRaw("dev");
        raw.location = "atlantis";
        raw.network.subnets.apim = "10.40.0.0/27";
        raw.keyVault.cmkKeySize = 1024;
        raw.fhir.corsOrigins = ["*"];
        try {
            validatePlatformConfig(raw);
            assert.fail("accepted");
        } catch (err) {
            assert.ok(err instanceof ConfigValidationError);
            assert.equal(err.problems.length, 4, err.message);
            for (const key of ["location", "network.subnets.apim", "keyVault.cmkKeySize", "fhir.corsOrigins[0]"]) {
                assert.match(err.message, new RegExp(`fhir-platform:${key.replace(/[.[\]]/g, "\\$&")}:`));
            }
        }
    });

    it("makes the offline plan exit non-zero, name every bad key, and write no plan", async function () {
        this.timeout(60000);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bad-config-"));
        const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"));
        doc.config["fhir-platform:keyVault"].cmkKeySize = 4096;
        doc.config["fhir-platform:fhir"].corsOrigins = ["*"];
        const configFile = path.join(dir, "Pulumi.broken.yaml");
        fs.writeFileSync(configFile, YAML.stringify(doc));
        const outDir = path.join(dir, "out");
        const result = await promisify(execFile)(process.execPath, ["--max-semi-space-size=64", "-r", "./tools/ts-register.js", "tools/plan.ts", "--stack", "dev", "--config", configFile, "--out", outDir], { cwd: ROOT })
            .then(() => ({ code: 0, stderr: "" }), (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }));
        assert.equal(result.code, 1);
        assert.match(result.stderr, /Invalid stack configuration \(2 problems\)/);
        assert.match(result.stderr, /fhir-platform:keyVault.cmkKeySize/);
        assert.match(result.stderr, /fhir-platform:fhir.corsOrigins\[0\]/);
        assert.equal(fs.existsSync(path.join(outDir, "plan-dev.json")), false);
    });
});
