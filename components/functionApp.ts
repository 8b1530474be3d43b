import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as storage from "@pulumi/azure-native/storage";
import * as web from "@pulumi/azure-native/web";
import { FhirAuthMode, ingestAppSettings, toNameValueList } from "./appSettings";

/**
 * A FHIR server outside Azure Health Data Services (third-party FHIR mode): the Function signs in with the client the
 * server issued, its secret read from the platform vault by name (an operator stores it there; nothing in code).
 */
export interface ExternalFhirTarget {
    baseUrl: string;
    tokenUrl: string;
    clientId: string;
    scope?: string;
    secretName: string;
}

/** A facility (MSH-4, or its first component) a sender may name, optionally with the application (MSH-3). */
export type SenderFacility = string | { facility: string; application?: string };
import { publishUrlFor } from "./flexDeploy";
import { Monitoring } from "./monitoring";
import { NamingContext, resourceName } from "./naming";
import { readFunctionPackage } from "./packageHash";
import { declareIngestStorage } from "./ingestStorage";
import type { StorageCmkSettings } from "./storageCmk";
import { privateEndpointWithDns } from "./privateEndpoint";
import { rbacPropagationWait } from "./propagation";
import { grantRoles, RoleGrant } from "./rbac";

import { DEPLOYMENT_CONTAINER_NAME, INGEST_QUEUE_NAME, MESSAGE_CONTAINER_NAME, POISON_QUEUE_NAME } from "./ingestStorage";

export { DEPLOYMENT_CONTAINER_NAME, INGEST_QUEUE_NAME, MESSAGE_CONTAINER_NAME, POISON_QUEUE_NAME };
/** Node major the bundle targets (esbuild target in app/build.ts) and Flex runs. */
export const NODE_RUNTIME_VERSION = "22";

export interface IngestionFunctionAppArgs {
    naming: NamingContext;
    /** Stable random suffix: the site and storage names are globally unique. */
    globalSuffix: pulumi.Input<string>;
    resourceGroupName: pulumi.Input<string>;
    location: pulumi.Input<string>;
    tags: Record<string, string>;
    /** Entra tenant (token endpoint in client-credentials mode). */
    tenantId: pulumi.Input<string>;
    /** Subscription, for role definition ids. */
    subscriptionId: pulumi.Input<string>;
    /** Subnet delegated to Microsoft.App/environments (Flex VNet integration). */
    integrationSubnetId: pulumi.Input<string>;
    /** Subnet of the site and storage private endpoints. */
    privateEndpointSubnetId: pulumi.Input<string>;
    /** Private DNS zones the endpoints register in. */
    dnsZoneIds: {
        webApps: pulumi.Input<string>;
        storageBlob: pulumi.Input<string>;
        storageQueue: pulumi.Input<string>;
        storageTable: pulumi.Input<string>;
    };
    /** App Insights (telemetry, Entra auth) and Log Analytics (diagnostic settings). */
    monitoring: Monitoring;
    /** FHIR base URL (also its token audience) and resource id, from the health-data component. */
    fhirUrl: pulumi.Input<string>;
    /** Scope of the Function's FHIR Data Writer role. */
    fhirServiceId: pulumi.Input<string>;
    /** The platform vault; only used (and only granted) in clientCredentials mode. */
    keyVault: { id: pulumi.Input<string>; uri: pulumi.Input<string> };
    /** Flex instance memory (512, 2048 or 4096). */
    instanceMemoryMB: number;
    /** Flex scale-out ceiling. */
    maximumInstanceCount: number;
    /** How the app authenticates to FHIR. */
    fhirAuthMode: FhirAuthMode;
    /** Largest HL7 message accepted (MAX_BODY_BYTES). */
    maxMessageBytes: number;
    /** Replication of the host storage account. */
    storageSku: "Standard_LRS" | "Standard_ZRS" | "Standard_GZRS";
    /** Days after which raw HL7 messages (PHI) and their dedupe marks are deleted from the message container. */
    messageRetentionDays: number;
    /** Zone-redundant Flex plan. */
    zoneRedundant: boolean;
    /** Required in clientCredentials mode: the confidential client the Function signs in as, and its secret's name. */
    clientCredentials?: { clientId: pulumi.Input<string>; secretName: string };
    /** Third-party FHIR mode: write there instead of `fhirUrl` (no FHIR Data Writer on the platform's FHIR then). */
    externalFhir?: ExternalFhirTarget;
    /** The bundle; defaults to app/dist/ingest-function.zip (override with INGEST_FUNCTION_ZIP). */
    packageZipPath?: string;
    /**
     * Who may POST HL7 (the Function validates the caller's Entra token itself, issue 9): the tenant, the token
     * audiences of the platform API (v2 client id, v1 identifier URI) and, per sender client id, the sending
     * facilities (MSH-4, optionally MSH-3) it may name.
     */
    callerAuth: {
        tenantId: pulumi.Input<string>;
        audiences: pulumi.Input<string>[];
        senders: { clientId: pulumi.Input<string>; facilities: SenderFacility[] }[];
    };
    /** Raw HL7 (PHI) lives in the storage account: `protect` it and put a CanNotDelete lock on it. */
    deleteLock: boolean;
    /**
     * Encrypt that account with its own customer-managed key in the platform vault (required in prod); without it the
     * account uses Microsoft-managed keys. Infrastructure encryption stays on either way.
     */
    storageCmk?: StorageCmkSettings;
    /** Seconds between a role assignment and its first data-plane use (RBAC propagation). */
    rbacPropagationSeconds: number;
    /**
     * What must exist before the code is published from the deploy runner: the VNet peering and DNS link that give it
     * a route to, and the name of, the private SCM endpoint (deployerAccess.ts).
     */
    deployPathReady: pulumi.Resource[];
}

/** Runs the publish on the deploy runner; the package hash and target are its triggers (a new hash redeploys). */
export const DEPLOY_FUNCTION_COMMAND = "node -r ./tools/ts-register.js tools/deploy-function.ts";

/**
 * The HL7 v2 ingestion Function on Flex Consumption: private inbound (only APIM reaches it), all outbound through the
 * VNet, keyless storage, Entra-only telemetry, and the code bundle deployed by `pulumi up` itself.
 */
export class IngestionFunctionApp extends pulumi.ComponentResource {
    public readonly identity: managedidentity.UserAssignedIdentity;
    public readonly storageAccount: storage.StorageAccount;
    public readonly plan: web.AppServicePlan;
    public readonly site: web.WebApp;
    public readonly deployment: command.local.Command;
    public readonly queues: { ingest: storage.Queue; poison: storage.Queue };
    /** `<name>.azurewebsites.net`, resolved privately through the `sites` endpoint. */
    public readonly defaultHostName: pulumi.Output<string>;
    /** SHA-256 of the deployed bundle. */
    public readonly packageSha256: string;
    public readonly appSettings: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: IngestionFunctionAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:compute:IngestionFunctionApp", name, {}, opts);
        const { naming, resourceGroupName, location, tags } = args;
        if (args.externalFhir && args.fhirAuthMode === "clientCredentials") {
            throw new Error(`${name}: fhirAuthMode clientCredentials is for the platform's FHIR; an external FHIR server brings its own client`);
        }
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

        const hostStorage = declareIngestStorage(name, args, suffix, this);
        this.storageAccount = hostStorage.account;
        this.queues = hostStorage.queues;
        const { deploymentContainer, storageEndpoints } = hostStorage;
        const endpoints = this.storageAccount.primaryEndpoints;

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

        const ext = args.externalFhir;
        const callers = pulumi.all([
            args.callerAuth.tenantId,
            pulumi.all(args.callerAuth.audiences),
            pulumi.all(args.callerAuth.senders.map((s) => pulumi.output(s.clientId).apply((id) => [id, s.facilities] as const))),
        ]).apply(([tenantId, audiences, senders]) => ({ tenantId, audience: audiences.join(","), senders: Object.fromEntries(senders) }));
        const settings = pulumi.all([
            this.identity.clientId, endpoints, args.monitoring.appInsights.connectionString, args.fhirUrl, args.tenantId,
            args.keyVault.uri, args.clientCredentials?.clientId ?? "", callers,
        ]).apply(([clientId, ep, aiConnection, fhirUrl, tenantId, vaultUri, ccClientId, callerAuth]) => ingestAppSettings({
            identityClientId: clientId,
            blobEndpoint: ep.blob,
            queueEndpoint: ep.queue,
            tableEndpoint: ep.table,
            appInsightsConnectionString: aiConnection,
            fhirUrl: ext ? ext.baseUrl : fhirUrl,
            fhirAudience: ext ? new URL(ext.baseUrl).origin : fhirUrl,
            fhirAuthMode: ext ? "clientCredentials" : args.fhirAuthMode,
            ingestQueueName: INGEST_QUEUE_NAME,
            poisonQueueName: POISON_QUEUE_NAME,
            messageContainerName: MESSAGE_CONTAINER_NAME,
            maxMessageBytes: args.maxMessageBytes,
            callerAuth,
            clientCredentials: ext
                ? { tenantId, clientId: ext.clientId, vaultUri, secretName: ext.secretName, tokenUrl: ext.tokenUrl, scope: ext.scope ?? "" }
                : args.fhirAuthMode === "clientCredentials"
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
            transformations: [stripClassicSiteDefaults],
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
            ...(ext ? [] : [{ key: "fhir-writer", role: "fhirDataWriter", scope: args.fhirServiceId, principalId, principalType: "ServicePrincipal", description: "Ingestion Function writes converted HL7 bundles to FHIR" } as RoleGrant]),
            { key: "blob-owner", role: "storageBlobDataOwner", scope: this.storageAccount.id, principalId, principalType: "ServicePrincipal", description: "Functions host storage and Flex deployment package (identity-based AzureWebJobsStorage)" },
            { key: "queue-contributor", role: "storageQueueDataContributor", scope: this.storageAccount.id, principalId, principalType: "ServicePrincipal", description: "Ingest queue trigger and poison queue" },
            { key: "metrics-publisher", role: "monitoringMetricsPublisher", scope: args.monitoring.appInsights.id, principalId, principalType: "ServicePrincipal", description: "Telemetry to Application Insights with local auth disabled" },
        ];
        if (ext) {
            // The third party's client secret alone, not the vault.
            grants.push({ key: "kv-secrets-user", role: "keyVaultSecretsUser", scope: pulumi.interpolate`${args.keyVault.id}/secrets/${ext.secretName}`, principalId, principalType: "ServicePrincipal", description: "Reads the external FHIR server's client secret" });
        } else if (args.fhirAuthMode === "clientCredentials") {
            grants.push({ key: "kv-secrets-user", role: "keyVaultSecretsUser", scope: args.keyVault.id, principalId, principalType: "ServicePrincipal", description: "Reads the FHIR client secret (client-credentials mode only)" });
        }
        const roleAssignments = grantRoles(`${name}-role`, grants, args.subscriptionId, { parent: this });

        // --- Code deployment -----------------------------------------------------------------------------------
        // Flex one deploy through the private SCM endpoint (flexDeploy.ts), run by `pulumi up` on the deploy runner as
        // the deploying identity. A plain command rather than a dynamic provider: nothing to serialise at plan time.
        // The platform then writes the package into the deployment container as the site identity, so that grant
        // must have propagated (a fresh grant fails the upload with BlobUploadFailedException / 403). The publish also
        // restarts the app, which resolves its Key Vault references then (client-credentials mode): same wait.
        const siteGrantsPropagated = rbacPropagationWait(`${name}-grant-wait`, {
            grants: [roleAssignments["blob-owner"], ...(roleAssignments["kv-secrets-user"] ? [roleAssignments["kv-secrets-user"]] : [])],
            seconds: args.rbacPropagationSeconds,
            reason: "Flex package upload and Key Vault references, as the site identity",
        }, { parent: this });
        const relativeZip = path.relative(path.resolve(__dirname, ".."), pkg.path);
        const zipPath = relativeZip.startsWith("..") ? pkg.path : relativeZip.split(path.sep).join("/");
        const publishUrl = this.site.defaultHostName.apply((host) => publishUrlFor(scmHostFor(host)));
        this.deployment = new command.local.Command(`${name}-package`, {
            create: DEPLOY_FUNCTION_COMMAND,
            environment: { FUNCTION_PUBLISH_URL: publishUrl, FUNCTION_ZIP: zipPath, FUNCTION_ZIP_SHA256: pkg.sha256 },
            // A new bundle or a new site is a new deployment; removing it from the program undeploys nothing.
            triggers: [pkg.sha256, publishUrl],
        }, {
            parent: this,
            dependsOn: [
                deploymentContainer, siteGrantsPropagated, ...storageEndpoints.map((e) => e.zoneGroup), sitePe.zoneGroup, ftp, scm,
                ...args.deployPathReady,
            ],
        });

        // Diagnostics: the account itself has metrics only; logs live on its services.
        const mon = args.monitoring;
        mon.diagnostics(`${name}-site`, this.site.id, {}, { parent: this });
        mon.diagnostics(`${name}-plan`, this.plan.id, { logs: { categories: [] } }, { parent: this });
        mon.diagnostics(`${name}-st`, this.storageAccount.id, { logs: { categories: [] } }, { parent: this });
        for (const service of ["blob", "queue", "table"]) {
            mon.diagnostics(`${name}-st-${service}`, pulumi.interpolate`${this.storageAccount.id}/${service}Services/default`, {}, { parent: this });
        }

        this.registerOutputs({
            siteId: this.site.id,
            defaultHostName: this.defaultHostName,
            identityClientId: this.identity.clientId,
            storageAccountId: this.storageAccount.id,
            packageSha256: pkg.sha256,
        });
    }
}

/** Site properties the azure-native SDK fills in by default that Flex Consumption rejects (pitfall 12). */
export const FLEX_REJECTED_SITE_CONFIG = ["netFrameworkVersion", "localMySqlEnabled"] as const;

/**
 * azure-native 3.28 adds `siteConfig.netFrameworkVersion: "v4.6"` (and `localMySqlEnabled`) to every WebApp
 * (`siteConfigArgsProvideDefaults`); Flex answers "Site.SiteConfig.NetFrameworkVersion ... for Flex Consumption sites
 * is invalid" (pulumi/pulumi-azure-native#4168). This transformation removes them before registration.
 */
export function stripClassicSiteDefaults(args: pulumi.ResourceTransformationArgs): pulumi.ResourceTransformationResult | undefined {
    if (args.type !== "azure-native:web:WebApp" || args.props.siteConfig === undefined) return undefined;
    const siteConfig = pulumi.output(args.props.siteConfig).apply((sc: Record<string, unknown> | undefined) => {
        if (!sc) return sc;
        const copy = { ...sc };
        for (const key of FLEX_REJECTED_SITE_CONFIG) delete copy[key];
        return copy;
    });
    return { props: { ...args.props, siteConfig }, opts: args.opts };
}

/** `<app>.azurewebsites.net` → `<app>.scm.azurewebsites.net` (the SCM site shares the `sites` private endpoint). */
export function scmHostFor(defaultHostName: string): string {
    const dot = defaultHostName.indexOf(".");
    if (dot <= 0) throw new Error(`"${defaultHostName}" is not a site host name`);
    return `${defaultHostName.slice(0, dot)}.scm${defaultHostName.slice(dot)}`;
}
