import * as pulumi from "@pulumi/pulumi";
import * as storage from "@pulumi/azure-native/storage";
import type { IngestionFunctionAppArgs } from "./functionApp";
import { deleteLock } from "./locks";
import { compactGlobalName, resourceName } from "./naming";
import { privateEndpointWithDns, PrivateEndpointWithDns } from "./privateEndpoint";
import { storageCustomerManagedKey } from "./storageCmk";
import { KEYLESS_STORAGE_ACCOUNT } from "./storageDefaults";

/** Queue and container names the app expects (app/src/ingest/config.ts defaults). */
export const INGEST_QUEUE_NAME = "hl7-ingest";
export const POISON_QUEUE_NAME = "hl7-ingest-poison";
export const MESSAGE_CONTAINER_NAME = "hl7-messages";
/** Flex Consumption keeps the deployed package here (functionAppConfig.deployment.storage). */
export const DEPLOYMENT_CONTAINER_NAME = "app-package";
export interface IngestStorage {
    account: storage.StorageAccount;
    /** Where Flex keeps the deployed package (functionAppConfig.deployment.storage). */
    deploymentContainer: storage.BlobContainer;
    queues: { ingest: storage.Queue; poison: storage.Queue };
    /** blob, queue, table endpoints with their DNS zone groups: the host needs them before it starts. */
    storageEndpoints: PrivateEndpointWithDns[];
}

/**
 * The ingestion Function's storage account (host storage, deployment package, raw HL7 messages and their queues),
 * declared as children of the Function component.
 */
export function declareIngestStorage(name: string, args: IngestionFunctionAppArgs, suffix: pulumi.Output<string>, parent: pulumi.Resource): IngestStorage {
    const { naming, resourceGroupName, location, tags } = args;
    const services = {
        blob: { enabled: true, keyType: "Account" },
        queue: { enabled: true, keyType: "Account" },
        table: { enabled: true, keyType: "Account" },
    };
    // Prod: the raw HL7 (PHI) is encrypted with the account's own key in the platform vault (versionless, so the
    // rotation policy's new versions apply by themselves); the account waits for its identity's key grant.
    const cmk = args.storageCmk ? storageCustomerManagedKey(`${name}-st`, {
        naming, resourceGroupName, location, tags,
        subscriptionId: args.subscriptionId,
        rbacPropagationSeconds: args.rbacPropagationSeconds,
        keyName: "st-hl7-cmk",
        identityQualifier: "st-hl7-cmk",
        purpose: "Raw HL7 storage (PHI)",
        settings: args.storageCmk,
    }, { parent }) : undefined;
    // Host storage: identity-only, private-only (Flex quickstart + AVM storage defaults, minus shared keys).
    const account = new storage.StorageAccount(`${name}-st`, {
        accountName: suffix.apply((s) => compactGlobalName(naming, "stfn", s)),
        resourceGroupName,
        location,
        ...KEYLESS_STORAGE_ACCOUNT,
        sku: { name: args.storageSku },
        publicNetworkAccess: "Disabled",
        // bypass None: nothing reaches this account except through its private endpoints (the Function's
        // integration subnet and the Flex platform's deployment path via the site's identity).
        networkRuleSet: { defaultAction: "Deny", bypass: "None", ipRules: [], virtualNetworkRules: [] },
        ...(cmk
            ? cmk.accountInputs(services)
            : { encryption: { keySource: "Microsoft.Storage", requireInfrastructureEncryption: true, services } }),
        tags,
    }, { parent, protect: args.deleteLock, ...(cmk ? { dependsOn: [cmk.grantPropagated] } : {}) });
    if (args.deleteLock) {
        deleteLock(`${name}-st-lock`, account.id, "Holds raw HL7 messages (PHI) not yet in FHIR, and the dedupe marks.", { parent });
    }
    const accountName = account.name;

    const deploymentContainer = new storage.BlobContainer(`${name}-deploy`, {
        accountName, resourceGroupName, containerName: DEPLOYMENT_CONTAINER_NAME, publicAccess: "None",
    }, { parent });
    const messageContainer = new storage.BlobContainer(`${name}-messages`, {
        accountName, resourceGroupName, containerName: MESSAGE_CONTAINER_NAME, publicAccess: "None",
    }, { parent });
    // Raw messages are PHI and double as dedupe marks: keep them no longer than the configured window.
    new storage.ManagementPolicy(`${name}-st-lifecycle`, {
        accountName,
        resourceGroupName,
        managementPolicyName: "default",
        policy: {
            rules: [{
                name: "expire-raw-hl7-messages",
                enabled: true,
                type: "Lifecycle",
                definition: {
                    filters: { blobTypes: ["blockBlob"], prefixMatch: [`${MESSAGE_CONTAINER_NAME}/`] },
                    actions: { baseBlob: { delete: { daysAfterCreationGreaterThan: args.messageRetentionDays } } },
                },
            }],
        },
    }, { parent, dependsOn: [messageContainer] });
    const queues = {
        ingest: new storage.Queue(`${name}-q-ingest`, { accountName, resourceGroupName, queueName: INGEST_QUEUE_NAME }, { parent }),
        poison: new storage.Queue(`${name}-q-poison`, { accountName, resourceGroupName, queueName: POISON_QUEUE_NAME }, { parent }),
    };

    const storageEndpoints = (["blob", "queue", "table"] as const).map((groupId) =>
        privateEndpointWithDns(`${name}-st-${groupId}`, {
            endpointName: resourceName(naming, "pe", `stfn-${groupId}`),
            resourceGroupName,
            location,
            subnetId: args.privateEndpointSubnetId,
            targetResourceId: account.id,
            groupId,
            dnsZoneIds: [{ blob: args.dnsZoneIds.storageBlob, queue: args.dnsZoneIds.storageQueue, table: args.dnsZoneIds.storageTable }[groupId]],
            tags,
        }, { parent }));
    return { account, deploymentContainer, queues, storageEndpoints };
}
