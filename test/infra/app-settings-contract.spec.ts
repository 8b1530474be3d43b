import { strict as assert } from "node:assert";
import { loadConfig } from "../../app/src/ingest/config";
import { stackPlan } from "../support/stack-plans";

// The infrastructure and the app are written separately; this checks they agree on the settings contract: what the
// Function App is given in each stack is exactly what the app's own config loader accepts.
for (const stack of ["dev", "prod"]) {
    describe(`Function App settings contract: ${stack}`, function () {
        this.timeout(120000);

        it("are accepted by the app's config loader and point at the queues and FHIR service the stack creates", async () => {
            const { plan } = await stackPlan(stack);
            const site = plan.resources.find((r) => r.type === "azure-native:web:WebApp")!;
            const settings = (site.inputs.siteConfig as { appSettings: { name: string; value: string }[] }).appSettings;
            const env = Object.fromEntries(settings.map((s) => [s.name, s.value]));
            const config = loadConfig(env);

            const queues = plan.resources.filter((r) => r.type === "azure-native:storage:Queue").map((r) => r.inputs.queueName);
            assert.ok(queues.includes(config.ingestQueueName), `ingest queue ${config.ingestQueueName} is created`);
            assert.ok(queues.includes(config.poisonQueueName), `poison queue ${config.poisonQueueName} is created`);
            const containers = plan.resources.filter((r) => r.type === "azure-native:storage:BlobContainer").map((r) => r.inputs.containerName);
            assert.ok(containers.includes(env.MESSAGE_CONTAINER_NAME), "message container is created");

            const fhir = plan.resources.find((r) => r.type === "azure-native:healthcareapis:FhirService")!;
            assert.equal(env.FHIR_URL, (fhir.inputs.authenticationConfiguration as { audience: string }).audience);
            const identity = plan.resources.find((r) => r.type === "azure-native:managedidentity:UserAssignedIdentity" && (site.inputs.identity as { userAssignedIdentities: string[] }).userAssignedIdentities.includes(r.outputs.id as string));
            assert.ok(identity, "the site runs as a user-assigned identity from the stack");
            assert.equal(env.AZURE_CLIENT_ID, identity!.outputs.clientId);
            assert.equal(env.AzureWebJobsStorage__clientId, identity!.outputs.clientId);
        });
    });
}
