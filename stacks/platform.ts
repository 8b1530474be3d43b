import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as resources from "@pulumi/azure-native/resources";
import * as random from "@pulumi/random";
import { ApiGateway } from "../components/apiManagement";
import { EdgeGateway } from "../components/appGateway";
import { PlatformAlerts } from "../components/alerts";
import { AuditArchive } from "../components/auditArchive";
import { DeployerNetworkAccess } from "../components/deployerAccess";
import { assertOnDeployerNetwork, machineIpv4Addresses } from "../components/deployerNetwork";
import { PlatformIdentity } from "../components/entraId";
import { NetworkFlowLogs } from "../components/flowLogs";
import { SecurityAudit } from "../components/securityAudit";
import { PlatformSentinel } from "../components/sentinel";
import { IngestionFunctionApp, POISON_QUEUE_NAME } from "../components/functionApp";
import { HealthDataServices } from "../components/healthData";
import { CmkKeyVault } from "../components/keyVault";
import { Monitoring } from "../components/monitoring";
import { GLOBAL_SUFFIX_LENGTH, NamingContext, resourceName } from "../components/naming";
import { PlatformNetwork } from "../components/network";
import { PlatformConfig } from "./config";

/** What the stack exports: identifiers and URLs only, never a secret. */
export interface PlatformOutputs {
    resourceGroupName: pulumi.Output<string>;
    fhirUrl: pulumi.Output<string>;
    fhirServiceId: pulumi.Output<string>;
    keyVaultUri: pulumi.Output<string>;
    cmkKeyUriWithVersion: pulumi.Output<string>;
    logAnalyticsWorkspaceId: pulumi.Output<string>;
    vnetId: pulumi.Output<string>;
    /** Gateway URLs: the only way clients reach FHIR and the HL7 ingestion API. */
    apimGatewayUrl: pulumi.Output<string>;
    apimFhirBaseUrl: pulumi.Output<string>;
    apimHl7Url: pulumi.Output<string>;
    apimPrivateIp: pulumi.Output<string>;
    functionAppName: pulumi.Output<string>;
    functionPackageSha256: string;
    /** Entra: the platform API (token audience), the HL7 sender and the public client. */
    platformApiClientId: pulumi.Output<string>;
    platformApiIdentifierUri: pulumi.Output<string>;
    hl7SenderClientId: pulumi.Output<string>;
    /** Key Vault secret holding the HL7 sender's current client secret (the URI only, never the value). */
    hl7SenderSecretId: pulumi.Output<string>;
    publicClientId: pulumi.Output<string>;
    alertActionGroupId: pulumi.Output<string>;
    /** Partners' DNS points `edgeHostName` at this address (A record) — the only public entry. */
    edgePublicIp: pulumi.Output<string>;
    edgeHostName: string;
    /** Where the Function's and APIM's outbound calls come from (for third parties' allow-lists). */
    egressPublicIp: pulumi.Output<string>;
}

/** Midnight UTC of the given day: the CMK's first expiry counts from here, so plans made the same day agree. */
export function startOfUtcDay(date: Date): Date {
    return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

/** Declares the whole platform for one environment from validated config. */
export function createPlatform(config: PlatformConfig): PlatformOutputs {
    // A real `pulumi up` publishes code to a private endpoint: refuse to start from anywhere else. Previews (PR
    // checks, the offline plan) deploy nothing and run anywhere.
    if (!pulumi.runtime.isDryRun()) assertOnDeployerNetwork(config.deployer, machineIpv4Addresses());
    const naming: NamingContext = { prefix: config.namePrefix, environment: config.environment };
    const { location, tags } = config;
    const client = authorization.getClientConfigOutput();
    // One "now" per run, at day granularity, so plans made the same day agree (key expiry, secret rotation period).
    const today = startOfUtcDay(new Date());

    const resourceGroup = new resources.ResourceGroup("platform-rg", {
        resourceGroupName: resourceName(naming, "rg", location),
        location,
        tags,
    });
    const resourceGroupName = resourceGroup.name;

    // One suffix for every globally unique name of the stack; stable across runs because it lives in state.
    const globalSuffix = new random.RandomString("global-suffix", {
        length: GLOBAL_SUFFIX_LENGTH,
        lower: true,
        upper: false,
        numeric: true,
        special: false,
    }).result;

    const monitoring = new Monitoring("monitoring", {
        naming, resourceGroupName, location, tags,
        logRetentionDays: config.monitoring.logRetentionDays,
        dailyQuotaGb: config.monitoring.dailyQuotaGb,
    });

    const net = new PlatformNetwork("network", {
        naming, resourceGroupName, location, tags,
        addressSpace: config.network.addressSpace,
        subnets: config.network.subnets,
        ruleOptions: {
            deployerPrefix: config.deployer.addressPrefix,
            clientRanges: config.edge.allowedClientRanges,
            externalFhirPrefixes: config.fhir.external?.egressAddressPrefixes,
            externalFhirViaFirewall: config.edge.egress.mode === "firewall" && config.fhir.external !== undefined,
        },
        ...(config.edge.ddos.mode === "networkPlan" ? { ddosNetworkPlan: { planId: config.edge.ddos.planId } } : {}),
        // edge.egress.mode firewall: Azure Firewall with an FQDN / service-tag allow-list instead of the NAT gateway.
        ...(config.edge.egress.mode === "firewall" ? {
            egressFirewall: {
                subnetPrefix: config.edge.egress.subnetPrefix, sku: config.edge.egress.sku, monitoring,
                zones: config.zoneRedundant ? ["1", "2", "3"] : [],
                allowList: { subnets: config.network.subnets, externalFhir: config.fhir.external },
            },
        } : {}),
    });
    // Egress is logged: every flow of the VNet, with traffic analytics in Log Analytics.
    const flowLogs = new NetworkFlowLogs("flowlogs", {
        naming, globalSuffix, resourceGroupName, location, tags,
        subscriptionId: client.subscriptionId,
        vnetId: net.vnet.id,
        retentionDays: config.monitoring.logRetentionDays,
        deleteLock: config.storage.deleteLock,
        rbacPropagationSeconds: config.rbacPropagationSeconds,
        monitoring,
    });
    const deployerAccess = new DeployerNetworkAccess("deployer-access", {
        naming, resourceGroupName, tags,
        platformVnet: { id: net.vnet.id, name: net.vnet.name },
        deployer: config.deployer,
        webAppsZoneName: net.dnsZones.webApps.name,
    });
    for (const [role, nsg] of Object.entries(net.nsgs)) {
        // NSGs have no metrics; their rule-hit events are the useful log.
        monitoring.diagnostics(`network-nsg-${role}`, nsg.id, { metrics: false }, { parent: net });
    }

    const keyVault = new CmkKeyVault("keyvault", {
        naming, globalSuffix, resourceGroupName, location, tags,
        tenantId: client.tenantId,
        subscriptionId: client.subscriptionId,
        deployer: { objectId: client.objectId, principalType: config.deployer.principalType },
        rbacPropagationSeconds: config.rbacPropagationSeconds,
        sku: config.keyVault.sku,
        softDeleteRetentionDays: config.keyVault.softDeleteRetentionDays,
        keySize: config.keyVault.cmkKeySize,
        keyExpiryDays: config.keyVault.cmkExpiryDays,
        rotateBeforeExpiryDays: config.keyVault.cmkRotateBeforeExpiryDays,
        deleteLock: config.keyVault.deleteLock,
        privateEndpointSubnetId: net.subnets.privateEndpoints.id,
        vaultDnsZoneId: net.dnsZoneIds.keyVault,
        monitoring,
        now: today,
        deferAuditDiagnostics: true,
    });
    // Storage accounts with their own key in the platform vault: same size, expiry and rotation as the FHIR CMK.
    const storageCmk = {
        vault: { name: keyVault.vault.name, uri: keyVault.vaultUri },
        deployerGrantPropagated: keyVault.deployerGrantPropagated,
        keySize: config.keyVault.cmkKeySize,
        expiryDays: config.keyVault.cmkExpiryDays,
        rotateBeforeExpiryDays: config.keyVault.cmkRotateBeforeExpiryDays,
        now: today,
    };
    // Prod: WORM copy of the FHIR, Key Vault and Activity Log audit trail. Its key lives in the vault, so the vault's
    // AuditEvent setting is declared after it.
    const auditArchive = config.monitoring.auditArchive.enabled ? new AuditArchive("auditarchive", {
        naming, globalSuffix, resourceGroupName, location, tags,
        subscriptionId: client.subscriptionId,
        sku: config.storage.sku,
        retentionDays: config.monitoring.logRetentionDays,
        lockImmutabilityPolicy: config.monitoring.auditArchive.locked,
        cmk: storageCmk,
        rbacPropagationSeconds: config.rbacPropagationSeconds,
        deleteLock: config.storage.deleteLock,
        monitoring,
    }) : undefined;
    keyVault.sendAuditEvents(auditArchive?.storageAccountId);

    const healthData = new HealthDataServices("healthdata", {
        naming, globalSuffix, resourceGroupName, location, tags,
        tenantId: client.tenantId,
        fhirIdentity: keyVault.fhirIdentity,
        cmkKey: keyVault.cmkKey,
        cmkVaultName: keyVault.vault.name,
        cmkGrantPropagated: keyVault.cmkGrantPropagated,
        deleteLock: config.fhir.deleteLock,
        privateEndpointSubnetId: net.subnets.privateEndpoints.id,
        healthcareDnsZoneIds: [net.dnsZoneIds.healthcareApis, net.dnsZoneIds.healthcareDicom],
        monitoring,
        auditArchiveStorageAccountId: auditArchive?.storageAccountId,
    });

    // Entra first: the gateway validates tokens for the API registration, and secrets go to the vault.
    const identity = new PlatformIdentity("identity", {
        environment: config.environment,
        tenantId: client.tenantId,
        subscriptionId: client.subscriptionId,
        deployerObjectId: client.objectId,
        secretRotationDays: config.identity.hl7SenderSecretRotationDays,
        spaRedirectUris: config.identity.spaRedirectUris,
        fhirReaderGroupObjectIds: config.identity.fhirReaderGroupObjectIds,
        fhirServiceId: healthData.fhirService.id,
        keyVault: { name: keyVault.vault.name, resourceGroupName },
        fhirAuthMode: config.functionApp.fhirAuthMode,
        now: today,
    });

    const ingestion = new IngestionFunctionApp("ingestion", {
        naming, globalSuffix, resourceGroupName, location, tags,
        tenantId: client.tenantId,
        subscriptionId: client.subscriptionId,
        integrationSubnetId: net.subnets.functionIntegration.id,
        privateEndpointSubnetId: net.subnets.privateEndpoints.id,
        dnsZoneIds: {
            webApps: net.dnsZoneIds.webApps,
            storageBlob: net.dnsZoneIds.storageBlob,
            storageQueue: net.dnsZoneIds.storageQueue,
            storageTable: net.dnsZoneIds.storageTable,
        },
        monitoring,
        fhirUrl: healthData.fhirUrl,
        fhirServiceId: healthData.fhirService.id,
        keyVault: { id: keyVault.vault.id, uri: keyVault.vaultUri },
        instanceMemoryMB: config.functionApp.instanceMemoryMB,
        maximumInstanceCount: config.functionApp.maximumInstanceCount,
        fhirAuthMode: config.functionApp.fhirAuthMode,
        maxMessageBytes: config.functionApp.maxMessageBytes,
        storageSku: config.storage.sku,
        messageRetentionDays: config.storage.messageRetentionDays,
        zoneRedundant: config.zoneRedundant,
        clientCredentials: identity.fhirClient ? { clientId: identity.fhirClient.clientId, secretName: identity.fhirClient.secretName } : undefined,
        externalFhir: config.fhir.external,
        callerAuth: {
            tenantId: client.tenantId,
            audiences: [identity.apiClientId, identity.apiIdentifierUri],
            senders: [{ clientId: identity.hl7SenderClientId, facilities: config.identity.hl7SenderFacilities }],
        },
        deleteLock: config.storage.deleteLock,
        storageCmk: config.storage.customerManagedKey ? storageCmk : undefined,
        rbacPropagationSeconds: config.rbacPropagationSeconds,
        deployPathReady: deployerAccess.ready,
    });

    const gateway = new ApiGateway("gateway", {
        naming, globalSuffix, resourceGroupName, location, tags,
        tenantId: client.tenantId,
        subscriptionId: client.subscriptionId,
        subnetId: net.subnets.apim.id,
        vnetId: net.vnet.id,
        ...config.apim,
        corsOrigins: config.fhir.corsOrigins,
        corsMaxAgeSeconds: config.fhir.corsMaxAgeSeconds,
        rbacPropagationSeconds: config.rbacPropagationSeconds,
        monitoring,
        fhirUrl: healthData.fhirUrl,
        fhirServiceId: healthData.fhirService.id,
        apiAudience: identity.apiClientId,
        keyVault: { name: keyVault.vault.name, resourceGroupName },
        now: today,
        // Only the function-key read waits for the code deployment; APIM's long create runs in parallel with it.
        functionKeyRotation: { days: config.identity.hl7SenderSecretRotationDays, generation: config.apim.functionKeyGeneration },
        functionApp: { id: ingestion.site.id, name: ingestion.site.name, hostName: ingestion.defaultHostName, resourceGroupName, ready: [ingestion.deployment] },
    });

    // The only public entry: WAF_v2 in front of the internal APIM.
    const edge = new EdgeGateway("edge", {
        naming, resourceGroupName, location, tags,
        subscriptionId: client.subscriptionId,
        subnetId: net.subnets.appGateway.id,
        zones: config.zoneRedundant ? ["1", "2", "3"] : [],
        minCapacity: config.edge.minCapacity,
        maxCapacity: config.edge.maxCapacity,
        hostName: config.edge.hostName,
        certificate: config.edge.certificate,
        apimHostName: gateway.gatewayUrl.apply((url) => new URL(url).hostname),
        maxRequestBodySizeKb: config.edge.waf.maxRequestBodySizeKb,
        disabledRules: config.edge.waf.disabledRules,
        ddosIpProtection: config.edge.ddos.mode === "ipProtection",
        rbacPropagationSeconds: config.rbacPropagationSeconds,
        monitoring,
    });

    const alerts = new PlatformAlerts("alerts", {
        naming, resourceGroupName, location, tags,
        email: config.alerts.email,
        monitoring,
        keyVaultId: keyVault.vault.id,
        functionSiteName: ingestion.site.name,
        storageAccountName: ingestion.storageAccount.name,
        poisonQueueName: POISON_QUEUE_NAME,
        fhirServiceId: healthData.fhirService.id,
        appGatewayId: edge.gateway.id,
        vnetName: net.vnet.name,
        flowLog: flowLogs.flowLog,
        egressFirewallId: net.egressFirewall?.firewall.id,
    });

    // Who changed what in the subscription, who was refused at the gateway, who accessed which record.
    new SecurityAudit("audit", {
        naming, resourceGroupName, location, tags,
        subscriptionId: client.subscriptionId,
        monitoring,
        auditArchiveStorageAccountId: auditArchive?.storageAccountId,
        actionGroupId: alerts.actionGroup.id,
        keyVaultId: keyVault.vault.id,
        apimId: gateway.service.id,
        entraSignIns: config.monitoring.entraSignInLogs ? {
            appIds: [identity.hl7SenderClientId],
            managedIdentityPrincipalIds: [ingestion.identity.principalId, gateway.service.identity.apply((i) => i?.principalId ?? "")],
        } : undefined,
    });

    if (config.monitoring.sentinel) {
        new PlatformSentinel("sentinel", { resourceGroupName, monitoring, deployerObjectId: client.objectId });
    }

    return {
        resourceGroupName,
        fhirUrl: healthData.fhirUrl,
        fhirServiceId: healthData.fhirService.id,
        keyVaultUri: keyVault.vaultUri,
        cmkKeyUriWithVersion: keyVault.cmkKey.keyUriWithVersion,
        logAnalyticsWorkspaceId: monitoring.workspace.id,
        vnetId: net.vnet.id,
        apimGatewayUrl: gateway.gatewayUrl,
        apimFhirBaseUrl: gateway.fhirBaseUrl,
        apimHl7Url: gateway.hl7Url,
        apimPrivateIp: gateway.privateIp,
        functionAppName: ingestion.site.name,
        functionPackageSha256: ingestion.packageSha256,
        platformApiClientId: identity.apiClientId,
        platformApiIdentifierUri: identity.apiIdentifierUri,
        hl7SenderClientId: identity.hl7SenderClientId,
        hl7SenderSecretId: identity.hl7SenderSecret.secret.id,
        publicClientId: identity.publicClientId,
        alertActionGroupId: alerts.actionGroup.id,
        edgePublicIp: edge.publicIp.ipAddress.apply((ip) => ip ?? ""),
        edgeHostName: config.edge.hostName,
        egressPublicIp: net.egressPublicIp.ipAddress.apply((ip) => ip ?? ""),
    };
}
