import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { zipSync, strToU8 } from "fflate";
import { findSecretLikeSettings, FLEX_FORBIDDEN_SETTINGS, ingestAppSettings, IngestAppSettingsInput, keyVaultReference } from "../../components/appSettings";
import { IngestionFunctionApp, IngestionFunctionAppArgs, INGEST_QUEUE_NAME, POISON_QUEUE_NAME, scmHostFor } from "../../components/functionApp";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { publishUrlFor, publishZip } from "../../components/flexDeploy";
import { DEPLOY_FUNCTION_COMMAND } from "../../components/functionApp";
import { Monitoring } from "../../components/monitoring";
import { packageBlobName, readFunctionPackage } from "../../components/packageHash";
import { MOCK_SUBSCRIPTION_ID, MOCK_TENANT_ID } from "../../tools/offline/arm-mocks";
import { findRegistered, registered, settle } from "../support/pulumi-mocks";

const RG = "rg-fa-test";
const SUB = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${RG}/providers`;

function writeZip(dir: string, name: string, code: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, zipSync({ "host.json": strToU8("{\"version\":\"2.0\"}"), "dist/main.js": strToU8(code) }));
    return file;
}

function functionArgs(monitoring: Monitoring, zip: string, overrides: Partial<IngestionFunctionAppArgs> = {}): IngestionFunctionAppArgs {
    const zone = (z: string) => `${SUB}/Microsoft.Network/privateDnsZones/${z}`;
    return {
        naming: { prefix: "unit", environment: "fa" },
        globalSuffix: pulumi.output("q1w2e"),
        resourceGroupName: RG,
        location: "westeurope",
        tags: { environment: "fa" },
        tenantId: MOCK_TENANT_ID,
        subscriptionId: MOCK_SUBSCRIPTION_ID,
        integrationSubnetId: `${SUB}/Microsoft.Network/virtualNetworks/vnet/subnets/snet-func`,
        privateEndpointSubnetId: `${SUB}/Microsoft.Network/virtualNetworks/vnet/subnets/snet-pe`,
        dnsZoneIds: {
            webApps: zone("privatelink.azurewebsites.net"),
            storageBlob: zone("privatelink.blob.core.windows.net"),
            storageQueue: zone("privatelink.queue.core.windows.net"),
            storageTable: zone("privatelink.table.core.windows.net"),
        },
        monitoring,
        fhirUrl: "https://ahdsunitfa-fhir.fhir.azurehealthcareapis.com",
        fhirServiceId: `${SUB}/Microsoft.HealthcareApis/workspaces/ahdsunitfa/fhirservices/fhir`,
        keyVault: { id: `${SUB}/Microsoft.KeyVault/vaults/kv-unit-fa`, uri: "https://kv-unit-fa.vault.azure.net/" },
        instanceMemoryMB: 2048,
        maximumInstanceCount: 17,
        fhirAuthMode: "managedIdentity",
        maxMessageBytes: 524288,
        storageSku: "Standard_ZRS",
        messageRetentionDays: 14,
        zoneRedundant: true,
        packageZipPath: zip,
        callerAuth: {
            tenantId: MOCK_TENANT_ID,
            audiences: ["5e8c0c3a-0000-4000-8000-0000000000a1", "api://5e8c0c3a-0000-4000-8000-0000000000a1"],
            senders: [{ clientId: pulumi.output("6f1d2e3c-0000-4000-8000-0000000000b2"), facilities: ["MAIN_HOSPITAL", { facility: "LAB", application: "LIS" }] }],
        },
        deleteLock: true,
        rbacPropagationSeconds: 90,
        deployPathReady: [],
        ...overrides,
    };
}

/** Stands in for the peering and DNS link the code deployment must wait for. */
class DeployPathStandIn extends pulumi.CustomResource {
    constructor(name: string) {
        super("test:index:DeployPath", name, {});
    }
}

describe("IngestionFunctionApp (under mocks)", () => {
    let dir: string;
    let zipA: string;
    let zipB: string;
    let app: IngestionFunctionApp;
    let deployPath: pulumi.CustomResource;
    let external: IngestionFunctionApp;
    let settings: Record<string, string>;

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "fa-spec-"));
        zipA = writeZip(dir, "a.zip", "module.exports = 1;");
        zipB = writeZip(dir, "b.zip", "module.exports = 2;");
        const monitoring = new Monitoring("fa-mon", { naming: { prefix: "unit", environment: "fa" }, resourceGroupName: RG, location: "westeurope", logRetentionDays: 30, dailyQuotaGb: 0, tags: {} });
        deployPath = new DeployPathStandIn("fa-deploy-path");
        app = new IngestionFunctionApp("fa", functionArgs(monitoring, zipA, { deployPathReady: [deployPath] }));
        new IngestionFunctionApp("facc", functionArgs(monitoring, zipB, {
            naming: { prefix: "unit", environment: "facc" },
            deleteLock: false,
            fhirAuthMode: "clientCredentials",
            clientCredentials: { clientId: "0f0f0f0f-0000-4000-8000-000000000001", secretName: "fhir-client-secret" },
        }));
        external = new IngestionFunctionApp("faext", functionArgs(monitoring, zipB, {
            naming: { prefix: "unit", environment: "faext" },
            deleteLock: false,
            externalFhir: { baseUrl: "https://fhir.partner.example.com/r4", tokenUrl: "https://auth.partner.example.com/oauth2/token", clientId: "platform-client", scope: "system/*.write", secretName: "partner-fhir-client-secret" },
        }));
        settings = await new Promise((resolve) => app.appSettings.apply(resolve));
        await settle();
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const site = () => findRegistered("azure-native:web:WebApp", "fa-site").inputs as any;

    it("runs on Flex Consumption FC1 (Linux) with Node 22 and the configured scale", () => {
        const plan = findRegistered("azure-native:web:AppServicePlan", "fa-plan").inputs as any;
        assert.deepEqual(plan.sku, { name: "FC1", tier: "FlexConsumption" });
        assert.equal(plan.reserved, true);
        assert.equal(plan.zoneRedundant, true);
        const s = site();
        assert.equal(s.kind, "functionapp,linux");
        assert.deepEqual(s.functionAppConfig.runtime, { name: "node", version: "22" });
        assert.deepEqual(s.functionAppConfig.scaleAndConcurrency, { instanceMemoryMB: 2048, maximumInstanceCount: 17 });
        assert.equal(s.siteConfig.alwaysOn, false);
        // The SDK's default "v4.6" is stripped: Flex rejects classic stack settings (pitfall 12).
        assert.ok(!("netFrameworkVersion" in s.siteConfig), "no netFrameworkVersion");
        assert.ok(!("localMySqlEnabled" in s.siteConfig), "no localMySqlEnabled");
    });

    it("is private: public access off, VNet integration with all outbound routed, HTTPS/TLS 1.2, no FTP, no remote debugging", () => {
        const s = site();
        assert.equal(s.publicNetworkAccess, "Disabled");
        assert.match(s.virtualNetworkSubnetId, /subnets\/snet-func$/);
        assert.deepEqual(s.outboundVnetRouting, { allTraffic: true });
        assert.equal(s.httpsOnly, true);
        assert.equal(s.siteConfig.minTlsVersion, "1.2");
        assert.equal(s.siteConfig.scmMinTlsVersion, "1.2");
        assert.equal(s.siteConfig.ftpsState, "Disabled");
        assert.equal(s.siteConfig.remoteDebuggingEnabled, false);
        for (const [type, name] of [["azure-native:web:WebAppFtpAllowed", "fa-ftp-basic-auth"], ["azure-native:web:WebAppScmAllowed", "fa-scm-basic-auth"]]) {
            assert.equal((findRegistered(type, name).inputs as any).allow, false, `${type} basic auth off`);
        }
    });

    it("uses its user-assigned identity for everything, including Key Vault references and the deployment container", () => {
        const uamiId = findRegistered("azure-native:managedidentity:UserAssignedIdentity", "fa-id").outputs.id as string;
        const s = site();
        assert.deepEqual(s.identity, { type: "UserAssigned", userAssignedIdentities: [uamiId] });
        assert.equal(s.keyVaultReferenceIdentity, uamiId);
        const storage = s.functionAppConfig.deployment.storage;
        assert.equal(storage.type, "blobContainer");
        assert.match(storage.value, /^https:\/\/stfnunitfaq1w2e\.blob\.core\.windows\.net\/app-package$/);
        assert.deepEqual(storage.authentication, { type: "UserAssignedIdentity", userAssignedIdentityResourceId: uamiId });
    });

    it("has identity-based, secret-free app settings with the FHIR URL, queues and Entra telemetry", () => {
        const clientId = findRegistered("azure-native:managedidentity:UserAssignedIdentity", "fa-id").outputs.clientId as string;
        assert.equal(settings.AzureWebJobsStorage__credential, "managedidentity");
        assert.equal(settings.AzureWebJobsStorage__clientId, clientId);
        assert.equal(settings.AzureWebJobsStorage__queueServiceUri, "https://stfnunitfaq1w2e.queue.core.windows.net");
        assert.equal(settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING, `ClientId=${clientId};Authorization=AAD`);
        assert.match(settings.APPLICATIONINSIGHTS_CONNECTION_STRING, /^InstrumentationKey=/);
        assert.equal(settings.FHIR_URL, "https://ahdsunitfa-fhir.fhir.azurehealthcareapis.com");
        assert.equal(settings.FHIR_AUDIENCE, settings.FHIR_URL);
        assert.equal(settings.FHIR_AUTH_MODE, "managed-identity");
        assert.equal(settings.INGEST_QUEUE_NAME, INGEST_QUEUE_NAME);
        assert.equal(settings.POISON_QUEUE_NAME, POISON_QUEUE_NAME);
        assert.equal(settings.MAX_BODY_BYTES, "524288");
        assert.deepEqual(findSecretLikeSettings(settings), []);
        for (const forbidden of FLEX_FORBIDDEN_SETTINGS) assert.ok(!(forbidden in settings), forbidden);
        // What the site receives is exactly this map, as a name/value list.
        const list = site().siteConfig.appSettings as { name: string; value: string }[];
        assert.deepEqual(Object.fromEntries(list.map((e) => [e.name, e.value])), settings);
    });

    it("client-credentials mode points the app at Key Vault for its secret, never a value", () => {
        const list = (findRegistered("azure-native:web:WebApp", "facc-site").inputs as any).siteConfig.appSettings as { name: string; value: string }[];
        const s = Object.fromEntries(list.map((e) => [e.name, e.value]));
        assert.equal(s.FHIR_AUTH_MODE, "client-credentials");
        assert.equal(s.FHIR_OAUTH_TOKEN_URL, `https://login.microsoftonline.com/${MOCK_TENANT_ID}/oauth2/v2.0/token`);
        assert.equal(s.FHIR_OAUTH_SECRET_VAULT_URL, "https://kv-unit-fa.vault.azure.net");
        assert.equal(s.FHIR_OAUTH_SECRET_NAME, "fhir-client-secret");
        assert.equal(s.FHIR_OAUTH_SCOPE, "https://ahdsunitfa-fhir.fhir.azurehealthcareapis.com/.default");
        assert.ok(!("FHIR_OAUTH_CLIENT_SECRET" in s));
        assert.deepEqual(findSecretLikeSettings(s), []);
    });

    it("locks down its storage account and reaches it through blob, queue and table private endpoints", () => {
        const st = findRegistered("azure-native:storage:StorageAccount", "fa-st").inputs as any;
        assert.equal(st.allowSharedKeyAccess, false);
        assert.equal(st.allowBlobPublicAccess, false);
        assert.equal(st.allowCrossTenantReplication, false);
        assert.equal(st.minimumTlsVersion, "TLS1_2");
        assert.equal(st.enableHttpsTrafficOnly, true);
        assert.equal(st.publicNetworkAccess, "Disabled");
        assert.deepEqual(st.sku, { name: "Standard_ZRS" });
        assert.equal(st.networkRuleSet.defaultAction, "Deny");
        assert.equal(st.networkRuleSet.bypass, "None");
        assert.equal(st.encryption.requireInfrastructureEncryption, true);
        const accountId = findRegistered("azure-native:storage:StorageAccount", "fa-st").outputs.id;
        for (const group of ["blob", "queue", "table"]) {
            const pe = findRegistered("azure-native:network:PrivateEndpoint", `fa-st-${group}-pe`).inputs as any;
            assert.deepEqual(pe.privateLinkServiceConnections[0].groupIds, [group]);
            assert.equal(pe.privateLinkServiceConnections[0].privateLinkServiceId, accountId);
            const zg = findRegistered("azure-native:network:PrivateDnsZoneGroup", `fa-st-${group}-dns`).inputs as any;
            assert.match(zg.privateDnsZoneConfigs[0].privateDnsZoneId, new RegExp(`privatelink\\.${group}\\.core\\.windows\\.net$`));
        }
        const sitePe = findRegistered("azure-native:network:PrivateEndpoint", "fa-site-pe").inputs as any;
        assert.deepEqual(sitePe.privateLinkServiceConnections[0].groupIds, ["sites"]);
        const queues = registered().filter((r) => r.type === "azure-native:storage:Queue" && r.name.startsWith("fa-q-")).map((r) => (r.inputs as any).queueName).sort();
        assert.deepEqual(queues, [INGEST_QUEUE_NAME, POISON_QUEUE_NAME].sort());
        const containers = registered().filter((r) => r.type === "azure-native:storage:BlobContainer" && /^fa-(deploy|messages)$/.test(r.name));
        assert.deepEqual(containers.map((c) => (c.inputs as any).publicAccess), ["None", "None"]);
    });

    it("deletes raw HL7 messages (PHI and dedupe marks) after the configured retention", () => {
        const policy = findRegistered("azure-native:storage:ManagementPolicy", "fa-st-lifecycle").inputs as any;
        assert.equal(policy.accountName, findRegistered("azure-native:storage:StorageAccount", "fa-st").outputs.name);
        const rule = policy.policy.rules[0];
        assert.equal(rule.enabled, true);
        assert.deepEqual(rule.definition.filters.prefixMatch, ["hl7-messages/"]);
        assert.equal(rule.definition.actions.baseBlob.delete.daysAfterCreationGreaterThan, 14);
    });

    it("deploys the bundle from pulumi up: a command on the deploy runner, one deployment per content hash, to the SCM one-deploy endpoint", () => {
        const deployments = registered().filter((r) => r.type === "command:local:Command");
        const mine = deployments.find((d) => d.name === "fa-package")!;
        const other = deployments.find((d) => d.name === "facc-package")!;
        const hash = createHash("sha256").update(fs.readFileSync(zipA)).digest("hex");
        const inputs = mine.inputs as any;
        assert.equal(inputs.create, DEPLOY_FUNCTION_COMMAND);
        assert.equal(inputs.environment.FUNCTION_ZIP_SHA256, hash);
        assert.equal(inputs.environment.FUNCTION_PUBLISH_URL, "https://func-unit-fa-q1w2e.scm.azurewebsites.net/api/publish?RemoteBuild=false&Deployer=pulumi");
        assert.ok(inputs.triggers.includes(hash), "a new bundle hash replaces (re-runs) the deployment");
        assert.notEqual((other.inputs as any).environment.FUNCTION_ZIP_SHA256, hash, "a different bundle is a different deployment");
        const siteUrn = findRegistered("azure-native:web:WebApp", "fa-site").urn;
        const zoneGroupUrn = findRegistered("azure-native:network:PrivateDnsZoneGroup", "fa-site-dns").urn;
        assert.ok(mine.dependencies.includes(siteUrn) && mine.dependencies.includes(zoneGroupUrn), "waits for the site and its private DNS");
        assert.ok(mine.dependencies.some((d) => d.endsWith("::fa-deploy-path")), "waits for the runner's network path");
        assert.equal(app.packageSha256, hash);
    });

    it("publishes only after the site identity's blob grant has propagated (the platform writes the package as that identity)", () => {
        const grant = findRegistered("azure-native:authorization:RoleAssignment", "fa-role-blob-owner");
        const wait = findRegistered("time:index/sleep:Sleep", "fa-grant-wait");
        assert.equal(wait.inputs.createDuration, "90s");
        assert.ok(wait.dependencies.includes(grant.urn));
        assert.ok(findRegistered("command:local:Command", "fa-package").dependencies.includes(wait.urn));
    });

    it("in client-credentials mode, also waits for the Key Vault grant before the publish restarts the app (Key Vault references)", () => {
        const wait = findRegistered("time:index/sleep:Sleep", "facc-grant-wait");
        for (const grant of ["facc-role-blob-owner", "facc-role-kv-secrets-user"]) {
            assert.ok(wait.dependencies.includes(findRegistered("azure-native:authorization:RoleAssignment", grant).urn), grant);
        }
        assert.ok(!findRegistered("time:index/sleep:Sleep", "fa-grant-wait").dependencies.some((d) => d.includes("kv-secrets-user")));
    });

    it("protects and locks the storage account that holds raw HL7 when asked, and only then", () => {
        const st = findRegistered("azure-native:storage:StorageAccount", "fa-st");
        assert.equal(st.options.protect, true);
        const lock = findRegistered("azure-native:authorization:ManagementLockByScope", "fa-st-lock");
        assert.equal(lock.inputs.level, "CanNotDelete");
        assert.equal(lock.inputs.scope, st.outputs.id);
        assert.notEqual(findRegistered("azure-native:storage:StorageAccount", "facc-st").options.protect, true);
        assert.equal(registered().filter((r) => r.name === "facc-st-lock").length, 0);
    });

    it("tells the Function whose tokens to accept and which facilities each sender may name", async () => {
        assert.equal(settings.INGEST_AUTH_TENANT_ID, MOCK_TENANT_ID);
        assert.equal(settings.INGEST_AUTH_AUDIENCE, "5e8c0c3a-0000-4000-8000-0000000000a1,api://5e8c0c3a-0000-4000-8000-0000000000a1");
        assert.deepEqual(JSON.parse(settings.INGEST_SENDERS), { "6f1d2e3c-0000-4000-8000-0000000000b2": ["MAIN_HOSPITAL", { facility: "LAB", application: "LIS" }] });
        // The app's own parser accepts exactly what the program writes.
        const { parseSenders } = await import("../../app/src/ingest/caller-auth");
        assert.equal(parseSenders(settings.INGEST_SENDERS)?.get("6f1d2e3c-0000-4000-8000-0000000000b2")?.length, 2);
    });

    it("writes to a third-party FHIR server with its own client: its URLs in the settings, its secret read by name, no AHDS grant", async () => {
        const ext: Record<string, string> = await new Promise((resolve) => external.appSettings.apply(resolve));
        assert.equal(ext.FHIR_URL, "https://fhir.partner.example.com/r4");
        assert.equal(ext.FHIR_AUDIENCE, "https://fhir.partner.example.com");
        assert.equal(ext.FHIR_AUTH_MODE, "client-credentials");
        assert.equal(ext.FHIR_OAUTH_TOKEN_URL, "https://auth.partner.example.com/oauth2/token");
        assert.equal(ext.FHIR_OAUTH_CLIENT_ID, "platform-client");
        assert.equal(ext.FHIR_OAUTH_SCOPE, "system/*.write");
        assert.equal(ext.FHIR_OAUTH_SECRET_NAME, "partner-fhir-client-secret");
        assert.equal(registered().filter((r) => r.name === "faext-role-fhir-writer").length, 0, "no FHIR Data Writer on the platform's FHIR");
        const kv = findRegistered("azure-native:authorization:RoleAssignment", "faext-role-kv-secrets-user").inputs as any;
        assert.equal(kv.scope, `${SUB}/Microsoft.KeyVault/vaults/kv-unit-fa/secrets/partner-fhir-client-secret`, "the one secret, not the vault");
        // The app accepts exactly these settings.
        const { loadConfig } = await import("../../app/src/ingest/config");
        assert.equal(loadConfig(ext).oauth?.tokenUrl, "https://auth.partner.example.com/oauth2/token");
        assert.throws(() => new IngestionFunctionApp("faext-bad", functionArgs(new Monitoring("faext-mon", { naming: { prefix: "unit", environment: "x" }, resourceGroupName: RG, location: "westeurope", logRetentionDays: 30, dailyQuotaGb: 0, tags: {} }), zipA, {
            externalFhir: { baseUrl: "https://x.example.com", tokenUrl: "https://x.example.com/t", clientId: "c", secretName: "s" },
            fhirAuthMode: "clientCredentials",
            clientCredentials: { clientId: "0f0f0f0f-0000-4000-8000-000000000001", secretName: "fhir-client-secret" },
        })), /brings its own client/);
    });

    it("grants Key Vault Secrets User only in client-credentials mode", () => {
        const kvGrants = registered().filter((r) => r.type === "azure-native:authorization:RoleAssignment" && /-role-kv-secrets-user$/.test(r.name)).map((r) => r.name);
        assert.deepEqual(kvGrants.sort(), ["facc-role-kv-secrets-user", "faext-role-kv-secrets-user"]);
    });

    it("sends site, plan and storage (account and each service) diagnostics to Log Analytics", () => {
        const diags = registered().filter((r) => r.type === "azure-native:monitor:DiagnosticSetting" && /^fa-/.test(r.name)).map((r) => r.name).sort();
        assert.deepEqual(diags, ["fa-plan-diag", "fa-site-diag", "fa-st-blob-diag", "fa-st-diag", "fa-st-queue-diag", "fa-st-table-diag"]);
        const blob = findRegistered("azure-native:monitor:DiagnosticSetting", "fa-st-queue-diag").inputs as any;
        assert.match(blob.resourceUri, /storageAccounts\/stfnunitfaq1w2e\/queueServices\/default$/);
    });

    it("refuses to plan without a built bundle and names the build command", () => {
        assert.throws(() => readFunctionPackage(path.join(dir, "missing.zip")), /npm run build:app/);
        const notZip = path.join(dir, "not.zip");
        fs.writeFileSync(notZip, "hello");
        assert.throws(() => readFunctionPackage(notZip), /not a zip archive.*npm run build:app/);
        assert.throws(() => new IngestionFunctionApp("fa-missing", functionArgs(undefined as unknown as Monitoring, path.join(dir, "nope.zip"))), /npm run build:app/);
    });

    it("names the package after its hash", () => {
        const a = readFunctionPackage(zipA);
        const b = readFunctionPackage(zipB);
        assert.match(a.blobName, /^ingest-[0-9a-f]{16}\.zip$/);
        assert.notEqual(a.blobName, b.blobName);
        assert.equal(a.blobName, packageBlobName(a.sha256));
        assert.equal(scmHostFor("func-x.azurewebsites.net"), "func-x.scm.azurewebsites.net");
        assert.throws(() => publishUrlFor("evil.example.org"), /not an SCM host/);
    });
});

describe("app settings rules (pure)", () => {
    const base: IngestAppSettingsInput = {
        identityClientId: "0d3b9a1e-0000-4000-8000-0000000000de",
        blobEndpoint: "https://st.blob.core.windows.net/", queueEndpoint: "https://st.queue.core.windows.net/", tableEndpoint: "https://st.table.core.windows.net/",
        appInsightsConnectionString: "InstrumentationKey=0d3b9a1e-0000-4000-8000-0000000000de;IngestionEndpoint=https://westeurope-0.in.applicationinsights.azure.com/",
        fhirUrl: "https://x-fhir.fhir.azurehealthcareapis.com/", fhirAudience: "https://x-fhir.fhir.azurehealthcareapis.com",
        fhirAuthMode: "managedIdentity", ingestQueueName: "hl7-ingest", poisonQueueName: "hl7-ingest-poison", messageContainerName: "hl7-messages", maxMessageBytes: 1024,
    };

    it("flags connection strings with keys, SAS signatures, generated passwords and secret-named plain values", () => {
        const problems = findSecretLikeSettings({
            A: "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc==",
            B: "https://x.blob.core.windows.net/c/b?sv=2022&sig=abcd",
            C: "Q8~kd82jdk2LLzq9d0d9sKs8dj2kdKQ2mn1",
            CLIENT_SECRET: "short",
            OK_GUID: "0d3b9a1e-0000-4000-8000-0000000000de",
            OK_REF: keyVaultReference("https://kv-x.vault.azure.net/secrets/fhir-client-secret"),
            SECRET_NAME: "fhir-client-secret",
        });
        assert.deepEqual(problems.map((p) => p.split(" ")[0]), ["A", "B", "C", "CLIENT_SECRET"]);
    });

    it("refuses to build settings that would carry a secret, and requires client-credentials details in that mode", () => {
        assert.throws(() => ingestAppSettings({ ...base, appInsightsConnectionString: "AccountKey=abc" }), /must not carry secrets/);
        assert.throws(() => ingestAppSettings({ ...base, fhirAuthMode: "clientCredentials" }), /needs clientCredentials/);
        assert.equal(ingestAppSettings(base).FHIR_URL, "https://x-fhir.fhir.azurehealthcareapis.com");
        assert.throws(() => keyVaultReference("https://example.org/secret"), /not a Key Vault secret URI/);
    });
});

describe("Flex one-deploy client (local HTTP server)", () => {
    let server: http.Server;
    let base: string;
    let dir: string;
    let zip: string;
    let sha: string;
    const seen: { method: string; url: string; auth?: string; type?: string; bytes: number }[] = [];
    let mode: "async" | "fail" | "sync" = "async";

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "flex-deploy-"));
        zip = writeZip(dir, "app.zip", "exports.x = 1;");
        sha = createHash("sha256").update(fs.readFileSync(zip)).digest("hex");
        server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on("data", (c: Buffer) => chunks.push(c));
            req.on("end", () => {
                seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, type: req.headers["content-type"], bytes: Buffer.concat(chunks).length });
                if (req.method === "POST") {
                    if (mode === "fail") { res.writeHead(403); res.end("Forbidden: not a contributor"); return; }
                    if (mode === "sync") { res.writeHead(200, { "scm-deployment-id": "d-sync" }); res.end(); return; }
                    res.writeHead(202, { location: "/api/deployments/d-42" });
                    res.end();
                    return;
                }
                const polls = seen.filter((s) => s.method === "GET").length;
                res.writeHead(polls < 2 ? 202 : 200, { "content-type": "application/json" });
                res.end(polls < 2 ? "" : JSON.stringify({ id: "d-42", status: 4, complete: true }));
            });
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => {
        await new Promise((resolve) => server.close(resolve));
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("uploads the zip with a bearer token and waits for the asynchronous deployment to complete", async () => {
        mode = "async";
        seen.length = 0;
        const result = await publishZip({ publishUrl: `${base}/api/publish?RemoteBuild=false`, zipPath: zip, sha256: sha, token: "tok", pollMs: 10 });
        assert.deepEqual(result, { status: 200, deploymentId: "d-42" });
        const post = seen[0];
        assert.equal(post.method, "POST");
        assert.equal(post.url, "/api/publish?RemoteBuild=false");
        assert.equal(post.auth, "Bearer tok");
        assert.equal(post.type, "application/zip");
        assert.equal(post.bytes, fs.statSync(zip).size);
        assert.equal(seen.filter((s) => s.method === "GET" && s.url === "/api/deployments/d-42").length, 2);
    });

    it("reports a refused deployment with its status and refuses a zip that changed since the plan", async () => {
        mode = "fail";
        await assert.rejects(publishZip({ publishUrl: `${base}/api/publish`, zipPath: zip, sha256: sha, token: "t", pollMs: 10 }), /HTTP 403 Forbidden: not a contributor/);
        mode = "sync";
        assert.deepEqual(await publishZip({ publishUrl: `${base}/api/publish`, zipPath: zip, sha256: sha, token: "t" }), { status: 200, deploymentId: "d-sync" });
        await assert.rejects(publishZip({ publishUrl: `${base}/api/publish`, zipPath: zip, sha256: "0".repeat(64), token: "t" }), /changed since the plan/);
    });
});
