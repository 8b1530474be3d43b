import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as resources from "@pulumi/azure-native/resources";
import * as random from "@pulumi/random";
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
}

/** Midnight UTC of the given day: the CMK's first expiry counts from here, so plans made the same day agree. */
export function startOfUtcDay(date: Date): Date {
    return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

/** Declares the whole platform for one environment from validated config. */
export function createPlatform(config: PlatformConfig): PlatformOutputs {
    const naming: NamingContext = { prefix: config.namePrefix, environment: config.environment };
    const { location, tags } = config;
    const client = authorization.getClientConfigOutput();

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
    });
    for (const [role, nsg] of Object.entries(net.nsgs)) {
        // NSGs have no metrics; their rule-hit events are the useful log.
        monitoring.diagnostics(`network-nsg-${role}`, nsg.id, { metrics: false }, { parent: net });
    }

    const keyVault = new CmkKeyVault("keyvault", {
        naming, globalSuffix, resourceGroupName, location, tags,
        tenantId: client.tenantId,
        subscriptionId: client.subscriptionId,
        sku: config.keyVault.sku,
        softDeleteRetentionDays: config.keyVault.softDeleteRetentionDays,
        keySize: config.keyVault.cmkKeySize,
        keyExpiryDays: config.keyVault.cmkExpiryDays,
        rotateBeforeExpiryDays: config.keyVault.cmkRotateBeforeExpiryDays,
        deleteLock: config.keyVault.deleteLock,
        privateEndpointSubnetId: net.subnets.privateEndpoints.id,
        vaultDnsZoneId: net.dnsZoneIds.keyVault,
        monitoring,
        now: startOfUtcDay(new Date()),
    });

    const healthData = new HealthDataServices("healthdata", {
        naming, globalSuffix, resourceGroupName, location, tags,
        tenantId: client.tenantId,
        fhirIdentity: keyVault.fhirIdentity,
        cmkKey: keyVault.cmkKey,
        cmkRoleAssignment: keyVault.cmkRoleAssignment,
        corsOrigins: config.fhir.corsOrigins,
        corsMaxAgeSeconds: config.fhir.corsMaxAgeSeconds,
        privateEndpointSubnetId: net.subnets.privateEndpoints.id,
        healthcareDnsZoneIds: [net.dnsZoneIds.healthcareApis, net.dnsZoneIds.healthcareDicom],
        monitoring,
    });

    return {
        resourceGroupName,
        fhirUrl: healthData.fhirUrl,
        fhirServiceId: healthData.fhirService.id,
        keyVaultUri: keyVault.vaultUri,
        cmkKeyUriWithVersion: keyVault.cmkKey.keyUriWithVersion,
        logAnalyticsWorkspaceId: monitoring.workspace.id,
        vnetId: net.vnet.id,
    };
}
