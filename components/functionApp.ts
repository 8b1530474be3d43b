import * as pulumi from "@pulumi/pulumi";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as resources from "@pulumi/azure-native/resources";
import * as storage from "@pulumi/azure-native/storage";
import * as web from "@pulumi/azure-native/web";
import { FhirAuthMode, ingestAppSettings, toNameValueList } from "./appSettings";
import { Monitoring } from "./monitoring";
import { compactGlobalName, NamingContext, resourceName } from "./naming";
import { readFunctionPackage } from "./packageHash";
import { privateEndpointWithDns } from "./privateEndpoint";
import { grantRoles, RoleGrant } from "./rbac";

/** Queue and container names the app expects (app/src/ingest/config.ts defaults). */
export const INGEST_QUEUE_NAME = "hl7-ingest";
export const POISON_QUEUE_NAME = "hl7-ingest-poison";
export const MESSAGE_CONTAINER_NAME = "hl7-messages";
/** Flex Consumption keeps the deployed package here (functionAppConfig.deployment.storage). */
export const DEPLOYMENT_CONTAINER_NAME = "app-package";
/** Build artefacts (code only, never PHI) uploaded by `pulumi up`. */
export const RELEASE_CONTAINER_NAME = "releases";
/** Node major the bundle targets (esbuild target in app/build.ts) and Flex runs. */
export const NODE_RUNTIME_VERSION = "22";
/** The read-only SAS onedeploy uses to fetch the package is valid this long after the day it is minted. */
export const PACKAGE_SAS_VALIDITY_DAYS = 2;

export interface IngestionFunctionAppArgs {
    naming: NamingContext;
    /** Stable random suffix: the site and storage names are globally unique. */
    globalSuffix: pulumi.Input<string>;
    resourceGroupName: pulumi.Input<string>;
    location: pulumi.Input<string>;
    tags: Record<string, string>;
    tenantId: pulumi.Input<string>;
    subscriptionId: pulumi.Input<string>;
    /** Subnet delegated to Microsoft.App/environments (Flex VNet integration). */
    integrationSubnetId: pulumi.Input<string>;
    privateEndpointSubnetId: pulumi.Input<string>;
    dnsZoneIds: {
        webApps: pulumi.Input<string>;
        storageBlob: pulumi.Input<string>;
        storageQueue: pulumi.Input<string>;
        storageTable: pulumi.Input<string>;
    };
    monitoring: Monitoring;
    /** FHIR base URL (also its token audience) and resource id, from the health-data component. */
    fhirUrl: pulumi.Input<string>;
    fhirServiceId: pulumi.Input<string>;
    /** The platform vault; only used (and only granted) in clientCredentials mode. */
    keyVault: { id: pulumi.Input<string>; uri: pulumi.Input<string> };
    instanceMemoryMB: number;
    maximumInstanceCount: number;
    fhirAuthMode: FhirAuthMode;
    maxMessageBytes: number;
    storageSku: "Standard_LRS" | "Standard_ZRS" | "Standard_GZRS";
    zoneRedundant: boolean;
    /** Required in clientCredentials mode: the confidential client the Function signs in as, and its secret's name. */
    clientCredentials?: { clientId: pulumi.Input<string>; secretName: string };
    /** The bundle; defaults to app/dist/ingest-function.zip (override with INGEST_FUNCTION_ZIP). */
    packageZipPath?: string;
    /** Day the package SAS is minted from (defaults to today, UTC midnight). */
    now?: Date;
}

/**
 * The HL7 v2 ingestion Function on Flex Consumption: private inbound (only APIM reaches it), all outbound through the
 * VNet, keyless storage, Entra-only telemetry, and the code bundle deployed by `pulumi up` itself.
 */
export class IngestionFunctionApp extends pulumi.ComponentResource {
    public readonly identity: managedidentity.UserAssignedIdentity;
    public readonly storageAccount: storage.StorageAccount;
    public readonly releaseAccount: storage.StorageAccount;
    public readonly plan: web.AppServicePlan;
    public readonly site: web.WebApp;
    public readonly packageBlob: storage.Blob;
    public readonly deployment: resources.Resource;
    public readonly queues: { ingest: storage.Queue; poison: storage.Queue };
    /** `<name>.azurewebsites.net`, resolved privately through the `sites` endpoint. */
    public readonly defaultHostName: pulumi.Output<string>;
    /** SHA-256 of the deployed bundle. */
    public readonly packageSha256: string;
    public readonly appSettings: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: IngestionFunctionAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:compute:IngestionFunctionApp", name, {}, opts);
        const { naming, resourceGroupName, location, tags } = args;
        if (args.fhirAuthMode === "clientCredentials" && !args.clientCredentials) {
            throw new Error(`${name}: fhirAuthMode clientCredentials needs the client id and secret name of the FHIR client`);
        }
        // Read the bundle first: a missing build fails the plan before anything is declared.
        const pkg = readFunctionPackage(args.packageZipPath);
        this.packageSha256 = pkg.sha256;
        const suffix = pulumi.output(args.globalSuffix);

        this.identity = new managedidentity.UserAssignedIdentity(`${name}-id`, {
            resourceName: resourceName(naming, "id", "func"),
            resourceGroupName,
            location,
            tags,
        }, { parent: this });

        // Host storage: identity-only, private-only (Flex quickstart + AVM storage defaults, minus shared keys).
        this.storageAccount = new storage.StorageAccount(`${name}-st`, {
            accountName: suffix.apply((s) => compactGlobalName(naming, "stfn", s)),
            resourceGroupName,
            location,
            kind: "StorageV2",
            sku: { name: args.storageSku },
            allowSharedKeyAccess: false,
            defaultToOAuthAuthentication: true,
            allowBlobPublicAccess: false,
            allowCrossTenantReplication: false,
            minimumTlsVersion: "TLS1_2",
            enableHttpsTrafficOnly: true,
            publicNetworkAccess: "Disabled",
            // bypass None: nothing reaches this account except through its private endpoints (the Function's
            // integration subnet and the Flex platform's deployment path via the site's identity).
            networkRuleSet: { defaultAction: "Deny", bypass: "None", ipRules: [], virtualNetworkRules: [] },
            encryption: {
                keySource: "Microsoft.Storage",
                requireInfrastructureEncryption: true,
                services: {
                    blob: { enabled: true, keyType: "Account" },
                    queue: { enabled: true, keyType: "Account" },
                    table: { enabled: true, keyType: "Account" },
                },
            },
            tags,
        }, { parent: this });
        const accountName = this.storageAccount.name;
        const endpoints = this.storageAccount.primaryEndpoints;

        const deploymentContainer = new storage.BlobContainer(`${name}-deploy`, {
            accountName, resourceGroupName, containerName: DEPLOYMENT_CONTAINER_NAME, publicAccess: "None",
        }, { parent: this });
        new storage.BlobContainer(`${name}-messages`, {
            accountName, resourceGroupName, containerName: MESSAGE_CONTAINER_NAME, publicAccess: "None",
        }, { parent: this });
        this.queues = {
            ingest: new storage.Queue(`${name}-q-ingest`, { accountName, resourceGroupName, queueName: INGEST_QUEUE_NAME }, { parent: this }),
            poison: new storage.Queue(`${name}-q-poison`, { accountName, resourceGroupName, queueName: POISON_QUEUE_NAME }, { parent: this }),
        };

        const storageEndpoints = (["blob", "queue", "table"] as const).map((groupId) =>
            privateEndpointWithDns(`${name}-st-${groupId}`, {
                endpointName: resourceName(naming, "pe", `stfn-${groupId}`),
                resourceGroupName,
                location,
                subnetId: args.privateEndpointSubnetId,
                targetResourceId: this.storageAccount.id,
                groupId,
                dnsZoneIds: [{ blob: args.dnsZoneIds.storageBlob, queue: args.dnsZoneIds.storageQueue, table: args.dnsZoneIds.storageTable }[groupId]],
                tags,
            }, { parent: this }));

        this.plan = new web.AppServicePlan(`${name}-plan`, {
            name: resourceName(naming, "asp", "func"),
            resourceGroupName,
            location,
            kind: "functionapp",
            sku: { name: "FC1", tier: "FlexConsumption" },
            // Linux.
            reserved: true,
            zoneRedundant: args.zoneRedundant,
            tags,
        }, { parent: this });

        const settings = pulumi.all([
            this.identity.clientId, endpoints, args.monitoring.appInsights.connectionString, args.fhirUrl, args.tenantId,
            args.keyVault.uri, args.clientCredentials?.clientId ?? "",
        ]).apply(([clientId, ep, aiConnection, fhirUrl, tenantId, vaultUri, ccClientId]) => ingestAppSettings({
            identityClientId: clientId,
            blobEndpoint: ep.blob,
            queueEndpoint: ep.queue,
            tableEndpoint: ep.table,
            appInsightsConnectionString: aiConnection,
            fhirUrl,
            fhirAudience: fhirUrl,
            fhirAuthMode: args.fhirAuthMode,
            ingestQueueName: INGEST_QUEUE_NAME,
            poisonQueueName: POISON_QUEUE_NAME,
            messageContainerName: MESSAGE_CONTAINER_NAME,
            maxMessageBytes: args.maxMessageBytes,
            clientCredentials: args.fhirAuthMode === "clientCredentials"
                ? { tenantId, clientId: ccClientId, vaultUri, secretName: args.clientCredentials!.secretName }
                : undefined,
        }));
        this.appSettings = settings;

        this.site = new web.WebApp(`${name}-site`, {
            name: suffix.apply((s) => `${resourceName(naming, "func")}-${s}`),
            resourceGroupName,
            location,
            kind: "functionapp,linux",
            serverFarmId: this.plan.id,
            identity: { type: "UserAssigned", userAssignedIdentities: [this.identity.id] },
            keyVaultReferenceIdentity: this.identity.id,
            httpsOnly: true,
            clientCertEnabled: false,
            // Inbound only through the `sites` private endpoint (APIM); outbound always through the VNet.
            publicNetworkAccess: "Disabled",
            virtualNetworkSubnetId: args.integrationSubnetId,
            outboundVnetRouting: { allTraffic: true },
            functionAppConfig: {
                deployment: {
                    storage: {
                        type: "blobContainer",
                        value: pulumi.interpolate`${endpoints.blob}${DEPLOYMENT_CONTAINER_NAME}`,
                        authentication: { type: "UserAssignedIdentity", userAssignedIdentityResourceId: this.identity.id },
                    },
                },
                runtime: { name: "node", version: NODE_RUNTIME_VERSION },
                scaleAndConcurrency: { instanceMemoryMB: args.instanceMemoryMB, maximumInstanceCount: args.maximumInstanceCount },
            },
            // Flex rejects classic stack settings (netFrameworkVersion, FUNCTIONS_WORKER_RUNTIME; pitfall 12).
            siteConfig: {
                appSettings: settings.apply(toNameValueList),
                alwaysOn: false,
                minTlsVersion: "1.2",
                scmMinTlsVersion: "1.2",
                ftpsState: "Disabled",
                remoteDebuggingEnabled: false,
                http20Enabled: true,
            },
            tags,
        }, {
            parent: this,
            // The host reads its storage at start-up: endpoints and DNS records first.
            dependsOn: storageEndpoints.map((e) => e.zoneGroup),
        });
        this.defaultHostName = this.site.defaultHostName;

        // Basic-auth publishing off for FTP and SCM: deployments go through ARM with Entra identities only.
        const ftp = new web.WebAppFtpAllowed(`${name}-ftp-basic-auth`, { name: this.site.name, resourceGroupName, allow: false }, { parent: this });
        const scm = new web.WebAppScmAllowed(`${name}-scm-basic-auth`, { name: this.site.name, resourceGroupName, allow: false }, { parent: this });

        const sitePe = privateEndpointWithDns(`${name}-site`, {
            endpointName: resourceName(naming, "pe", "func"),
            resourceGroupName,
            location,
            subnetId: args.privateEndpointSubnetId,
            targetResourceId: this.site.id,
            groupId: "sites",
            dnsZoneIds: [args.dnsZoneIds.webApps],
            tags,
        }, { parent: this });

        const principalId = this.identity.principalId;
        const grants: RoleGrant[] = [
            { key: "fhir-writer", role: "fhirDataWriter", scope: args.fhirServiceId, principalId, principalType: "ServicePrincipal", description: "Ingestion Function writes converted HL7 bundles to FHIR" },
            { key: "blob-owner", role: "storageBlobDataOwner", scope: this.storageAccount.id, principalId, principalType: "ServicePrincipal", description: "Functions host storage and Flex deployment package (identity-based AzureWebJobsStorage)" },
            { key: "queue-contributor", role: "storageQueueDataContributor", scope: this.storageAccount.id, principalId, principalType: "ServicePrincipal", description: "Ingest queue trigger and poison queue" },
            { key: "metrics-publisher", role: "monitoringMetricsPublisher", scope: args.monitoring.appInsights.id, principalId, principalType: "ServicePrincipal", description: "Telemetry to Application Insights with local auth disabled" },
        ];
        if (args.fhirAuthMode === "clientCredentials") {
            grants.push({ key: "kv-secrets-user", role: "keyVaultSecretsUser", scope: args.keyVault.id, principalId, principalType: "ServicePrincipal", description: "Reads the FHIR client secret (client-credentials mode only)" });
        }
        const roleAssignments = grantRoles(`${name}-role`, grants, args.subscriptionId, { parent: this });

        // --- Code deployment -----------------------------------------------------------------------------------
        // Flex Consumption's IaC deployment path is the `onedeploy` site extension (Microsoft.Web/sites/extensions,
        // name 'onedeploy', properties.packageUri; Microsoft Learn template reference "Microsoft.Web sites/extensions
        // 'onedeploy'", used with remoteBuild false by the Flex Bicep samples). The platform fetches packageUri and
        // stores it in the functionAppConfig.deployment.storage container. azure-native 3.28 has no typed resource
        // for it, so it is declared as a generic ARM resource.
        //
        // The package cannot be uploaded into the host account: azure-native's Blob needs shared-key access
        // (pulumi/pulumi-azure-native#2015) and that account is private-only. It goes to a separate release account
        // that holds build artefacts only (no PHI), read through a short-lived, blob-scoped, read-only SAS.
        this.releaseAccount = new storage.StorageAccount(`${name}-release`, {
            accountName: suffix.apply((s) => compactGlobalName(naming, "strel", s)),
            resourceGroupName,
            location,
            kind: "StorageV2",
            sku: { name: "Standard_LRS" },
            // Required by azure-native Blob uploads and service SAS signing (#2015). Holds code only.
            allowSharedKeyAccess: true,
            allowBlobPublicAccess: false,
            allowCrossTenantReplication: false,
            minimumTlsVersion: "TLS1_2",
            enableHttpsTrafficOnly: true,
            // The deployer and the App Service deployment service (no fixed addresses) must both reach it.
            publicNetworkAccess: "Enabled",
            networkRuleSet: { defaultAction: "Allow", bypass: "AzureServices" },
            // Any SAS longer than the deployment window is logged.
            sasPolicy: { sasExpirationPeriod: `${PACKAGE_SAS_VALIDITY_DAYS}.00:00:00`, expirationAction: "Log" },
            encryption: {
                keySource: "Microsoft.Storage",
                requireInfrastructureEncryption: true,
                services: { blob: { enabled: true, keyType: "Account" } },
            },
            tags: { ...tags, dataClassification: "code-artifacts" },
        }, { parent: this });
        const releaseContainer = new storage.BlobContainer(`${name}-releases`, {
            accountName: this.releaseAccount.name, resourceGroupName, containerName: RELEASE_CONTAINER_NAME, publicAccess: "None",
        }, { parent: this });
        this.packageBlob = new storage.Blob(`${name}-package`, {
            accountName: this.releaseAccount.name,
            containerName: releaseContainer.name,
            resourceGroupName,
            blobName: pkg.blobName,
            type: "Block",
            contentType: "application/zip",
            metadata: { sha256: pkg.sha256 },
            source: new pulumi.asset.FileAsset(pkg.path),
        }, { parent: this });

        const day = startOfUtcDay(args.now ?? new Date());
        const expiry = new Date(day.getTime() + PACKAGE_SAS_VALIDITY_DAYS * 86_400_000);
        const sas = storage.listStorageAccountServiceSASOutput({
            accountName: this.releaseAccount.name,
            resourceGroupName: pulumi.output(resourceGroupName),
            canonicalizedResource: pulumi.interpolate`/blob/${this.releaseAccount.name}/${RELEASE_CONTAINER_NAME}/${pkg.blobName}`,
            resource: "b",
            permissions: "r",
            protocols: "https",
            sharedAccessStartTime: day.toISOString(),
            sharedAccessExpiryTime: expiry.toISOString(),
        }, { parent: this });
        const packageUri = pulumi.secret(pulumi.interpolate`${this.releaseAccount.primaryEndpoints.blob}${RELEASE_CONTAINER_NAME}/${pkg.blobName}?${sas.serviceSasToken}`);

        // One Pulumi resource per bundle hash: a code change creates a new onedeploy PUT (a deployment); the SAS,
        // which changes daily, is ignored afterwards; the superseded resource only leaves state (retainOnDelete),
        // because deleting the extension would not undeploy anything.
        this.deployment = new resources.Resource(`${name}-onedeploy-${pkg.sha256.slice(0, 12)}`, {
            resourceGroupName,
            resourceProviderNamespace: "Microsoft.Web",
            parentResourcePath: pulumi.interpolate`sites/${this.site.name}`,
            resourceType: "extensions",
            resourceName: "onedeploy",
            apiVersion: "2024-04-01",
            properties: { packageUri, remoteBuild: false },
        }, {
            parent: this,
            ignoreChanges: ["properties.packageUri"],
            retainOnDelete: true,
            // The platform writes into the deployment container with the site identity, through its endpoint.
            dependsOn: [this.packageBlob, deploymentContainer, roleAssignments["blob-owner"], ...storageEndpoints.map((e) => e.zoneGroup), ftp, scm, sitePe.zoneGroup],
        });

        // Diagnostics: the account itself has metrics only; logs live on its services.
        const mon = args.monitoring;
        mon.diagnostics(`${name}-site`, this.site.id, {}, { parent: this });
        mon.diagnostics(`${name}-plan`, this.plan.id, { logs: { categories: [] } }, { parent: this });
        mon.diagnostics(`${name}-st`, this.storageAccount.id, { logs: { categories: [] } }, { parent: this });
        for (const service of ["blob", "queue", "table"]) {
            mon.diagnostics(`${name}-st-${service}`, pulumi.interpolate`${this.storageAccount.id}/${service}Services/default`, {}, { parent: this });
        }
        mon.diagnostics(`${name}-release`, this.releaseAccount.id, { logs: { categories: [] } }, { parent: this });
        mon.diagnostics(`${name}-release-blob`, pulumi.interpolate`${this.releaseAccount.id}/blobServices/default`, {}, { parent: this });

        this.registerOutputs({
            siteId: this.site.id,
            defaultHostName: this.defaultHostName,
            identityClientId: this.identity.clientId,
            storageAccountId: this.storageAccount.id,
            packageSha256: pkg.sha256,
        });
    }
}

function startOfUtcDay(date: Date): Date {
    return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}
