import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as fs from "node:fs";
import * as path from "node:path";
import { findSecretLikeSettings } from "../../components/appSettings";
import { armMocks } from "../../tools/offline/arm-mocks";
import type { OfflinePlan, PlanResource } from "../../tools/offline/plan-runner";
import { stackPlan } from "../support/stack-plans";

/** Every resource this issue adds, by Pulumi name and type: the plan of each stack must contain all of them. */
const EDGE_RESOURCES: [string, string][] = [
    ["ingestion", "fhirplatform:compute:IngestionFunctionApp"],
    ["ingestion-id", "azure-native:managedidentity:UserAssignedIdentity"],
    ["ingestion-st", "azure-native:storage:StorageAccount"],
    ["ingestion-deploy", "azure-native:storage:BlobContainer"],
    ["ingestion-q-ingest", "azure-native:storage:Queue"],
    ["ingestion-q-poison", "azure-native:storage:Queue"],
    ["ingestion-st-blob-pe", "azure-native:network:PrivateEndpoint"],
    ["ingestion-st-queue-pe", "azure-native:network:PrivateEndpoint"],
    ["ingestion-st-table-pe", "azure-native:network:PrivateEndpoint"],
    ["ingestion-plan", "azure-native:web:AppServicePlan"],
    ["ingestion-site", "azure-native:web:WebApp"],
    ["ingestion-ftp-basic-auth", "azure-native:web:WebAppFtpAllowed"],
    ["ingestion-scm-basic-auth", "azure-native:web:WebAppScmAllowed"],
    ["ingestion-site-pe", "azure-native:network:PrivateEndpoint"],
    ["ingestion-package", "command:local:Command"],
    ["ingestion-grant-wait", "time:index/sleep:Sleep"],
    ["deployer-access-peer-to-runner", "azure-native:network:VirtualNetworkPeering"],
    ["deployer-access-peer-from-runner", "azure-native:network:VirtualNetworkPeering"],
    ["deployer-access-dns-webapps-link", "azure-native:privatedns:VirtualNetworkLink"],
    ["gateway-function-key-grant-wait", "time:index/sleep:Sleep"],
    ["gateway-products-fhir", "azure-native:apimanagement:Product"],
    ["gateway-products-hl7", "azure-native:apimanagement:Product"],
    ["gateway-products-ehr-portal", "azure-native:apimanagement:Subscription"],
    ["gateway", "fhirplatform:edge:ApiGateway"],
    ["gateway-pip", "azure-native:network:PublicIPAddress"],
    ["gateway-service", "azure-native:apimanagement:ApiManagementService"],
    ["gateway-dns-gateway-a", "azure-native:privatedns:PrivateRecordSet"],
    ["gateway-logger-appi", "azure-native:apimanagement:Logger"],
    ["gateway-diag-appi", "azure-native:apimanagement:Diagnostic"],
    ["gateway-api-fhir", "azure-native:apimanagement:Api"],
    ["gateway-api-hl7", "azure-native:apimanagement:Api"],
    ["gateway-api-fhir-policy", "azure-native:apimanagement:ApiPolicy"],
    ["gateway-op-fhir-get-policy", "azure-native:apimanagement:ApiOperationPolicy"],
    ["gateway-backend-fhir", "azure-native:apimanagement:Backend"],
    ["gateway-backend-hl7", "azure-native:apimanagement:Backend"],
    ["gateway-nv-function-key", "azure-native:apimanagement:NamedValue"],
    ["gateway-function-key-secret", "azure-native:keyvault:Secret"],
    ["identity", "fhirplatform:identity:PlatformIdentity"],
    ["identity-api", "azuread:index/application:Application"],
    ["identity-api-sp", "azuread:index/servicePrincipal:ServicePrincipal"],
    ["identity-hl7-sender", "azuread:index/application:Application"],
    ["identity-hl7-sender-role", "azuread:index/appRoleAssignment:AppRoleAssignment"],
    ["identity-hl7-sender-secret-a", "azuread:index/applicationPassword:ApplicationPassword"],
    ["identity-hl7-sender-secret-b", "azuread:index/applicationPassword:ApplicationPassword"],
    ["identity-hl7-sender-kv-secret", "azure-native:keyvault:Secret"],
    ["identity-public", "azuread:index/application:Application"],
    ["alerts", "fhirplatform:monitoring:PlatformAlerts"],
    ["alerts-ag", "azure-native:monitor:ActionGroup"],
    ["alerts-kv-access-denied", "azure-native:monitor:ScheduledQueryRule"],
    ["alerts-poison-queue", "azure-native:monitor:ScheduledQueryRule"],
    ["alerts-function-failures", "azure-native:monitor:ScheduledQueryRule"],
    ["alerts-fhir-5xx", "azure-native:monitor:MetricAlert"],
    ["alerts-fhir-auth-failures", "azure-native:monitor:ScheduledQueryRule"],
    ["alerts-kv-events", "azure-native:eventgrid:SystemTopic"],
    ["alerts-kv-secret-expiry", "azure-native:eventgrid:SystemTopicEventSubscription"],
];

const get = (plan: OfflinePlan, name: string): PlanResource => {
    const r = plan.resources.find((x) => x.name === name);
    if (!r) throw new Error(`${plan.stack}: no resource ${name}`);
    return r;
};
const inputs = (plan: OfflinePlan, name: string) => get(plan, name).inputs as any;

describe("edge and identity in the offline plans (dev and prod, child processes)", function () {
    this.timeout(180000);
    let dev: OfflinePlan;
    let prod: OfflinePlan;
    let devDir: string;
    before(async () => {
        const [d, p] = await Promise.all([stackPlan("dev"), stackPlan("prod")]);
        dev = d.plan;
        prod = p.plan;
        devDir = d.dir;
    });

    it("contains every resource of the issue in both stacks", () => {
        for (const plan of [dev, prod]) {
            for (const [name, type] of EDGE_RESOURCES) assert.equal(get(plan, name).type, type, `${plan.stack}: ${name}`);
        }
    });

    it("differs between dev and prod where the config says so", () => {
        assert.deepEqual(inputs(dev, "gateway-service").sku, { name: "Developer", capacity: 1 });
        assert.deepEqual(inputs(prod, "gateway-service").sku, { name: "Premium", capacity: 3 });
        assert.equal(inputs(dev, "gateway-service").zones, undefined);
        assert.deepEqual(inputs(prod, "gateway-service").zones, ["1", "2", "3"]);
        assert.equal(inputs(dev, "gateway-api-fhir").subscriptionRequired, false);
        assert.equal(inputs(prod, "gateway-api-fhir").subscriptionRequired, true);
        assert.equal(inputs(dev, "ingestion-site").functionAppConfig.scaleAndConcurrency.maximumInstanceCount, 20);
        assert.equal(inputs(prod, "ingestion-site").functionAppConfig.scaleAndConcurrency.maximumInstanceCount, 100);
        assert.deepEqual(inputs(dev, "ingestion-st").sku, { name: "Standard_LRS" });
        assert.deepEqual(inputs(prod, "ingestion-st").sku, { name: "Standard_ZRS" });
        assert.equal(inputs(dev, "ingestion-plan").zoneRedundant, false);
        assert.equal(inputs(prod, "ingestion-plan").zoneRedundant, true);
        assert.equal(inputs(dev, "identity-hl7-sender-kv-secret").tags.rotationPeriodDays, "90");
        assert.equal(inputs(prod, "identity-hl7-sender-kv-secret").tags.rotationPeriodDays, "30");
        const lifetime = (plan: OfflinePlan) => {
            const s = inputs(plan, "identity-hl7-sender-kv-secret").properties.attributes.expires * 1000;
            return s - Date.now();
        };
        assert.ok(lifetime(prod) < lifetime(dev), "prod secrets expire sooner");
        assert.equal(inputs(dev, "gateway-api-fhir-policy").value.includes("calls=\"1200\""), true);
        assert.equal(inputs(prod, "gateway-api-fhir-policy").value.includes("calls=\"600\""), true);
    });

    it("keeps every secret out of the plan files and the stack outputs", async () => {
        for (const plan of [dev, prod]) {
            const text = JSON.stringify(plan);
            for (const name of ["identity-hl7-sender-secret-a", "identity-hl7-sender-secret-b"]) {
                const mock = armMocks.newResource({ type: "azuread:index/applicationPassword:ApplicationPassword", name, inputs: {}, custom: true } as never) as unknown as { state: { value: string } };
                assert.ok(!text.includes(mock.state.value), `${plan.stack}: ${name} value leaked`);
                assert.equal(get(plan, name).outputs.value, "[secret]");
            }
            const site = get(plan, "ingestion-site").outputs.name as string;
            const keys = armMocks.call({ token: "azure-native:web:listWebAppFunctionKeys", inputs: { name: site, resourceGroupName: "x", functionName: "hl7" } } as never) as unknown as { properties: Record<string, string> };
            for (const [k, v] of Object.entries(keys.properties)) assert.ok(!text.includes(v), `${plan.stack}: function key ${k} leaked`);
            for (const name of ["identity-hl7-sender-kv-secret", "gateway-function-key-secret"]) {
                assert.equal(inputs(plan, name).properties.value, "[secret]", `${plan.stack}: ${name}`);
                assert.equal(get(plan, name).outputs.properties && (get(plan, name).outputs.properties as any).value, undefined);
            }
            assert.equal(inputs(plan, "gateway-nv-function-key").value, undefined);
            const stackOutputs = plan.resources.find((r) => r.type === "pulumi:pulumi:Stack")!.outputs;
            assert.ok(/\/secrets\/hl7-sender-client-secret$/.test(String(stackOutputs.hl7SenderSecretId)), "the secret's id, not its value");
            for (const [k, v] of Object.entries(stackOutputs)) assert.notEqual(v, "[secret]", `stack output ${k} is not a secret`);
        }
        const md = fs.readFileSync(path.join(devDir, "plan-dev.md"), "utf8");
        assert.ok(!md.includes("sig="));
    });

    it("gives the Function app settings and no secret values, in both stacks", () => {
        for (const plan of [dev, prod]) {
            const list = inputs(plan, "ingestion-site").siteConfig.appSettings as { name: string; value: string }[];
            const settings = Object.fromEntries(list.map((e) => [e.name, e.value]));
            assert.deepEqual(findSecretLikeSettings(settings), []);
            assert.equal(settings.FHIR_URL, inputs(plan, "healthdata-fhir").authenticationConfiguration.audience);
            assert.ok(!("FUNCTIONS_WORKER_RUNTIME" in settings));
        }
    });

    it("draws the public path and the egress path: clients → WAF → APIM, Function and APIM → NAT → Azure services", () => {
        for (const dir of [devDir]) {
            const md = fs.readFileSync(path.join(dir, "plan-dev.md"), "utf8");
            assert.match(md, /clients -->\|HTTPS \(WAF\)\| redge_gateway/);
            assert.match(md, /redge_gateway -->\|HTTPS \+ Entra token\| rgateway_service/);
            assert.doesNotMatch(md, /clients -->\|HTTPS \+ Entra token\| rgateway_service/, "APIM is not reached directly");
            assert.match(md, /ringestion_site -->\|egress\| rnetwork_nat/);
            assert.match(md, /rgateway_service -->\|egress\| rnetwork_nat/);
            assert.match(md, /rnetwork_nat -->\|explicit outbound IP\| azureServices/);
        }
    });

    it("draws the edge data paths in the diagram: clients → APIM → FHIR and Function, Function → FHIR", () => {
        const md = fs.readFileSync(path.join(devDir, "plan-dev.md"), "utf8");
        assert.match(md, /rgateway_service -->\|managed identity token\| rhealthdata_fhir/);
        assert.match(md, /rgateway_service -->\|HL7 over private endpoint\| ringestion_site/);
        assert.match(md, /ringestion_site -->\|managed identity token\| rhealthdata_fhir/);
    });

    it("deploys the current bundle: the deployment carries the zip's hash, and the stack exports it", () => {
        for (const plan of [dev, prod]) {
            const d = inputs(plan, "ingestion-package").environment;
            assert.match(d.FUNCTION_ZIP_SHA256, /^[0-9a-f]{64}$/);
            assert.equal(plan.resources.find((r) => r.type === "pulumi:pulumi:Stack")!.outputs.functionPackageSha256, d.FUNCTION_ZIP_SHA256);
            assert.match(d.FUNCTION_PUBLISH_URL, /^https:\/\/func-fhirp-(dev|prod)-[a-z0-9]+\.scm\.azurewebsites\.net\/api\/publish\?RemoteBuild=false/);
            assert.equal(d.FUNCTION_ZIP, "app/dist/ingest-function.zip", "a relative path: the plan is the same on every machine");
        }
    });

    it("orders the edge: APIM is created in parallel with the Function, only the function key waits for the code", () => {
        for (const plan of [dev, prod]) {
            const apim = get(plan, "gateway-service");
            assert.ok(!apim.dependencies.some((d) => d.includes("IngestionFunctionApp")), `${plan.stack}: APIM does not wait for the Function`);
            for (const slot of ["a", "b"]) {
                const setKey = get(plan, `gateway-function-key-set-${slot}`);
                assert.ok(setKey.dependencies.includes(get(plan, "ingestion-package").urn), `${plan.stack}: key ${slot} set after the deployment`);
            }
            const deploy = get(plan, "ingestion-package");
            for (const dep of ["ingestion-site", "ingestion-grant-wait", "ingestion-site-dns", "ingestion-st-blob-dns", "deployer-access-peer-to-runner", "deployer-access-peer-from-runner", "deployer-access-dns-webapps-link"]) {
                assert.ok(deploy.dependencies.includes(get(plan, dep).urn), `${plan.stack}: deployment waits for ${dep}`);
            }
        }
    });

    it("fails the plan with a message naming `npm run build:app` when the bundle is missing", async () => {
        const root = path.resolve(__dirname, "..", "..");
        const run = promisify(execFile);
        const err = await run(process.execPath, ["--max-semi-space-size=64", "-r", "./tools/ts-register.js", "tools/plan.ts", "--stack", "dev", "--out", path.join(devDir, "missing")], {
            cwd: root,
            env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true", INGEST_FUNCTION_ZIP: path.join(devDir, "no-such-bundle.zip") },
        }).then(() => undefined, (e: { code: number; stderr: string }) => e);
        assert.ok(err, "the plan must fail");
        assert.notEqual(err.code, 0);
        assert.match(err.stderr, /no-such-bundle\.zip not found: run `npm run build:app` first/);
    });
});
