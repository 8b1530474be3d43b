import * as pulumi from "@pulumi/pulumi";
import * as apimanagement from "@pulumi/azure-native/apimanagement";
import * as command from "@pulumi/command";
import * as network from "@pulumi/azure-native/network";
import * as privatedns from "@pulumi/azure-native/privatedns";
import { APP_ROLES, fhirApiPolicy, hl7ApiPolicy, operationPolicy } from "./apimPolicies";
import { ApiConsumer, ApiProducts } from "./apimProducts";
import {
    APIM_PRIVATE_ZONES, APIM_SECURITY_PROPERTIES, CALLER_ATTRIBUTED_BACKEND_LOGGING, FhirOperation, fhirOperations, functionKeyExpiry,
    NO_PHI_MESSAGE_LOGGING,
} from "./apimSettings";
import { FUNCTION_KEY_TOOL, GatewayFunctionKey } from "./gatewayFunctionKey";
import { Monitoring } from "./monitoring";
import { NamingContext, resourceName } from "./naming";
import { rbacPropagationWait } from "./propagation";
import { grantRoles } from "./rbac";

export { APIM_PRIVATE_ZONES, APIM_SECURITY_PROPERTIES, fhirOperations, functionKeyExpiry, NO_PHI_MESSAGE_LOGGING, type FhirOperation } from "./apimSettings";

export interface ApiGatewayArgs {
    naming: NamingContext;
    /** Stable random suffix: the service name (and `<name>.azure-api.net`) is global. */
    globalSuffix: pulumi.Input<string>;
    resourceGroupName: pulumi.Input<string>;
    location: pulumi.Input<string>;
    tags: Record<string, string>;
    /** Entra tenant whose v2 tokens callers present. */
    tenantId: pulumi.Input<string>;
    /** Subscription, for role definition ids. */
    subscriptionId: pulumi.Input<string>;
    /** The APIM subnet (its NSG already holds the Internal-mode rules) and the VNet the private zones link to. */
    subnetId: pulumi.Input<string>;
    /** VNet the `azure-api.net` private zones are linked to. */
    vnetId: pulumi.Input<string>;
    /** Classic tier that supports Internal VNet injection. */
    sku: "Developer" | "Premium";
    /** Scale units (a multiple of the zone count). */
    capacity: number;
    /** Availability zones (Premium only); empty for none. */
    zones: string[];
    /** Shown in the developer portal and notification mails. */
    publisherName: string;
    /** Receives APIM system notifications. */
    publisherEmail: string;
    /** Calls per minute per caller on each API. */
    rateLimitPerMinute: number;
    /** Require an APIM subscription key on top of the Entra token. */
    subscriptionRequired: boolean;
    /** Callers issued a product subscription (keys in Key Vault). */
    consumers: ApiConsumer[];
    /**
     * Browser origins allowed to call the gateway (explicit https origins). Browsers reach FHIR only through APIM, so
     * CORS is answered here, not by the FHIR service. Empty: no CORS.
     */
    corsOrigins: string[];
    /** How long browsers may cache a preflight. */
    corsMaxAgeSeconds: number;
    /** Seconds between a role assignment and its first data-plane use (RBAC propagation). */
    rbacPropagationSeconds: number;
    /** App Insights (logger) and Log Analytics (diagnostic settings). */
    monitoring: Monitoring;
    /** FHIR base URL: backend, managed-identity token audience and the URL rewritten in responses. */
    fhirUrl: pulumi.Input<string>;
    /** Scope of APIM's FHIR Data Writer role. */
    fhirServiceId: pulumi.Input<string>;
    /** Application (client) id of the platform API registration: the `aud` of v2 tokens. */
    apiAudience: pulumi.Input<string>;
    /** The platform vault, where the Function key is kept for APIM's named value. */
    keyVault: { name: pulumi.Input<string>; resourceGroupName: pulumi.Input<string> };
    /** Clock for the function-key copy's expiry (defaults to now). */
    now?: Date;
    /** Rotation of the function key APIM presents (period in days, and the generation the revocation runbook bumps). */
    functionKeyRotation: { days: number; generation: number };
    /** The ingestion Function: its private host name and the site its function key is set on. */
    functionApp: {
        id: pulumi.Input<string>;
        name: pulumi.Input<string>;
        hostName: pulumi.Input<string>;
        resourceGroupName: pulumi.Input<string>;
        /** Resources after which the host runs the function (the code deployment); only the key waits for them. */
        ready?: pulumi.Resource[];
    };
}

/**
 * API Management injected in the APIM subnet in Internal mode: the only way in to FHIR and to the ingestion Function.
 * Callers present Entra tokens for the platform API; APIM checks the app role per operation and calls FHIR as itself.
 */
export class ApiGateway extends pulumi.ComponentResource {
    public readonly service: apimanagement.ApiManagementService;
    public readonly publicIp: network.PublicIPAddress;
    public readonly gatewayUrl: pulumi.Output<string>;
    public readonly privateIp: pulumi.Output<string>;
    /** `https://<apim>.azure-api.net/fhir`: the FHIR base URL clients use. */
    public readonly fhirBaseUrl: pulumi.Output<string>;
    public readonly hl7Url: pulumi.Output<string>;

    constructor(name: string, args: ApiGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:edge:ApiGateway", name, {}, opts);
        const { naming, resourceGroupName, location, tags } = args;
        const suffix = pulumi.output(args.globalSuffix);
        const serviceName = suffix.apply((s) => `${resourceName(naming, "apim")}-${s}`);

        // stv2 VNet injection needs a Standard public IP with a DNS label even in Internal mode: it carries only
        // management traffic (Microsoft "Deploy API Management in an internal VNet", stv2 requirements).
        this.publicIp = new network.PublicIPAddress(`${name}-pip`, {
            publicIpAddressName: resourceName(naming, "pip", "apim"),
            resourceGroupName,
            location,
            sku: { name: "Standard", tier: "Regional" },
            publicIPAllocationMethod: "Static",
            publicIPAddressVersion: "IPv4",
            dnsSettings: { domainNameLabel: serviceName.apply((n) => `${n}-mgmt`) },
            ...(args.zones.length > 0 ? { zones: args.zones } : {}),
            tags,
        }, { parent: this });

        this.service = new apimanagement.ApiManagementService(`${name}-service`, {
            serviceName,
            resourceGroupName,
            location,
            sku: { name: args.sku, capacity: args.capacity },
            ...(args.zones.length > 0 ? { zones: args.zones } : {}),
            publisherName: args.publisherName,
            publisherEmail: args.publisherEmail,
            identity: { type: "SystemAssigned" },
            virtualNetworkType: "Internal",
            virtualNetworkConfiguration: { subnetResourceId: args.subnetId },
            publicIpAddressId: this.publicIp.id,
            // Cannot be Disabled at creation (azure-rest-api-specs #24947); Internal mode already keeps the gateway
            // off the internet. Disabling management-plane public access is the documented second phase.
            publicNetworkAccess: "Enabled",
            customProperties: APIM_SECURITY_PROPERTIES,
            // Reject management API clients older than the 2021-08-01 contract (AVM default).
            apiVersionConstraint: { minApiVersion: "2021-08-01" },
            developerPortalStatus: "Disabled",
            legacyPortalStatus: "Disabled",
            tags,
        }, {
            parent: this,
            // Classic APIM takes 30–90 min to create or change SKU/VNet (MicrosoftDocs/azure-docs PR #124999).
            customTimeouts: { create: "180m", update: "180m", delete: "120m" },
        });
        const apimName = this.service.name;
        this.gatewayUrl = this.service.gatewayUrl;
        this.privateIp = this.service.privateIPAddresses.apply((ips) => {
            if (!ips || ips.length === 0) throw new Error(`${name}: Internal-mode APIM reported no private IP address`);
            return ips[0];
        });
        this.fhirBaseUrl = pulumi.interpolate`${this.gatewayUrl}/fhir`;
        this.hl7Url = pulumi.interpolate`${this.gatewayUrl}/hl7`;

        for (const [key, zoneName] of Object.entries(APIM_PRIVATE_ZONES)) {
            const zone = new privatedns.PrivateZone(`${name}-dns-${key}`, {
                privateZoneName: zoneName, resourceGroupName, location: "global", tags,
            }, { parent: this });
            new privatedns.VirtualNetworkLink(`${name}-dns-${key}-link`, {
                privateZoneName: zone.name,
                virtualNetworkLinkName: resourceName(naming, "vnetlink", `apim-${key}`),
                resourceGroupName,
                location: "global",
                virtualNetwork: { id: args.vnetId },
                registrationEnabled: false,
                tags,
            }, { parent: this });
            new privatedns.PrivateRecordSet(`${name}-dns-${key}-a`, {
                privateZoneName: zone.name,
                resourceGroupName,
                recordType: "A",
                relativeRecordSetName: apimName,
                ttl: 300,
                aRecords: [{ ipv4Address: this.privateIp }],
            }, { parent: this });
        }

        const apimPrincipal = this.service.identity.apply((i) => {
            if (!i?.principalId) throw new Error(`${name}: APIM has no system-assigned principal id`);
            return i.principalId;
        });
        grantRoles(`${name}-role`, [
            // Writer covers reads too; the gateway proxies both (FHIR.Read and FHIR.Write callers).
            { key: "fhir-writer", role: "fhirDataWriter", scope: args.fhirServiceId, principalId: apimPrincipal, principalType: "ServicePrincipal", description: "APIM calls FHIR with its own identity on behalf of authorised callers" },
            { key: "metrics-publisher", role: "monitoringMetricsPublisher", scope: args.monitoring.appInsights.id, principalId: apimPrincipal, principalType: "ServicePrincipal", description: "APIM logger sends telemetry with Entra auth (App Insights local auth disabled)" },
        ], args.subscriptionId, { parent: this });

        const common = { resourceGroupName, serviceName: apimName };

        // Logging: Application Insights through APIM's identity, and the Azure Monitor (resource log) pipeline, both
        // limited to metadata. The connection string is an ingestion address; with local auth off it grants nothing.
        const aiLogger = new apimanagement.Logger(`${name}-logger-appi`, {
            ...common,
            loggerId: "appinsights",
            loggerType: "applicationInsights",
            resourceId: args.monitoring.appInsights.id,
            credentials: { connectionString: args.monitoring.appInsights.connectionString, identityClientId: "SystemAssigned" },
            isBuffered: true,
            description: "Entra-authenticated telemetry; no bodies, headers or query strings",
        }, { parent: this });
        const diagnosticDefaults = {
            ...common,
            alwaysLog: "allErrors",
            logClientIp: false,
            httpCorrelationProtocol: "W3C",
            verbosity: "information",
            frontend: { request: NO_PHI_MESSAGE_LOGGING, response: NO_PHI_MESSAGE_LOGGING },
            backend: { request: CALLER_ATTRIBUTED_BACKEND_LOGGING, response: NO_PHI_MESSAGE_LOGGING },
        };
        new apimanagement.Diagnostic(`${name}-diag-appi`, {
            ...diagnosticDefaults,
            diagnosticId: "applicationinsights",
            loggerId: aiLogger.id,
            // Metadata only, so full sampling is cheap and keeps every failed call traceable.
            sampling: { samplingType: "fixed", percentage: 100 },
            metrics: true,
        }, { parent: this });
        new apimanagement.Diagnostic(`${name}-diag-azuremonitor`, {
            ...diagnosticDefaults,
            diagnosticId: "azuremonitor",
            // The built-in logger behind the service's diagnostic setting (GatewayLogs).
            loggerId: pulumi.interpolate`${this.service.id}/loggers/azuremonitor`,
            sampling: { samplingType: "fixed", percentage: 100 },
        }, { parent: this });
        args.monitoring.diagnostics(`${name}-service`, this.service.id, {}, { parent: this });
        args.monitoring.diagnostics(`${name}-pip`, this.publicIp.id, {}, { parent: this });

        // Backends: TLS chain and host name always validated.
        const tls = { validateCertificateChain: true, validateCertificateName: true };
        const fhirBackend = new apimanagement.Backend(`${name}-backend-fhir`, {
            ...common,
            backendId: "fhir",
            title: "FHIR service (private endpoint)",
            protocol: "http",
            url: args.fhirUrl,
            tls,
        }, { parent: this });
        // authLevel 'function' on the HL7 trigger: APIM presents a function key; nobody else can reach the private site.
        // The key rotates with every period (gatewayFunctionKey.ts) and APIM reads it from Key Vault with its own
        // identity (no secret stored in APIM).
        const functionKey = new GatewayFunctionKey(`${name}-function-key`, {
            site: { id: args.functionApp.id, name: args.functionApp.name, resourceGroupName: args.functionApp.resourceGroupName },
            keyVault: args.keyVault,
            secretName: "hl7-function-key",
            rotationDays: args.functionKeyRotation.days,
            generation: args.functionKeyRotation.generation,
            now: args.now ?? new Date(),
            ready: args.functionApp.ready ?? [],
        }, { parent: this });
        const keySecret = functionKey.secret;
        const kvGrant = grantRoles(`${name}-role`, [{
            key: "function-key-reader", role: "keyVaultSecretsUser", scope: keySecret.id, principalId: apimPrincipal, principalType: "ServicePrincipal",
            description: "APIM reads the HL7 Function key (named value) from Key Vault",
        }], args.subscriptionId, { parent: this });
        // APIM resolves a Key Vault named value when it is created: the grant must have reached Key Vault by then.
        const kvGrantPropagated = rbacPropagationWait(`${name}-function-key-grant-wait`, {
            grants: [kvGrant["function-key-reader"]], seconds: args.rbacPropagationSeconds, reason: "APIM named value from Key Vault",
        }, { parent: this });
        const functionKeyValue = new apimanagement.NamedValue(`${name}-nv-function-key`, {
            ...common,
            namedValueId: "hl7-function-key",
            displayName: "hl7-function-key",
            secret: true,
            // Versionless URI: APIM picks up a refreshed key on its own (it re-reads Key Vault every 4 hours).
            // The URI is not secret; `properties` as a whole is marked secret only because it carries the value.
            keyVault: { secretIdentifier: pulumi.unsecret(keySecret.properties.apply((p) => p.secretUri)) },
        }, { parent: this, dependsOn: [kvGrantPropagated] });
        // APIM re-reads Key Vault named values only every 4 hours: refresh it whenever the copy gets a new version, so a
        // rotation that overwrote the slot APIM was using (a missed scheduled run, a revocation) costs seconds, not hours.
        // ARM "Named Value - Refresh Secret"; run as the deployer like the key itself.
        new command.local.Command(`${name}-function-key-refresh`, {
            create: `${FUNCTION_KEY_TOOL} refresh`,
            environment: { APIM_ID: this.service.id, APIM_NAMED_VALUE: "hl7-function-key" },
            triggers: [pulumi.unsecret(keySecret.properties.apply((p) => p.secretUriWithVersion ?? ""))],
        }, { parent: this, dependsOn: [functionKeyValue] });
        const hl7Backend = new apimanagement.Backend(`${name}-backend-hl7`, {
            ...common,
            backendId: "hl7-function",
            title: "HL7 ingestion Function (private endpoint)",
            protocol: "http",
            url: pulumi.interpolate`https://${args.functionApp.hostName}/api/hl7`,
            credentials: { header: { "x-functions-key": ["{{hl7-function-key}}"] } },
            tls,
        }, { parent: this, dependsOn: [functionKeyValue] });

        // APIs
        const fhirApi = new apimanagement.Api(`${name}-api-fhir`, {
            ...common,
            apiId: "fhir",
            displayName: "FHIR R4",
            path: "fhir",
            protocols: ["https"],
            serviceUrl: args.fhirUrl,
            subscriptionRequired: args.subscriptionRequired,
            apiType: "http",
        }, { parent: this });
        new apimanagement.ApiPolicy(`${name}-api-fhir-policy`, {
            ...common,
            apiId: fhirApi.name,
            policyId: "policy",
            format: "xml",
            value: pulumi.all([args.fhirUrl, this.fhirBaseUrl]).apply(([fhirUrl, publicBaseUrl]) => fhirApiPolicy({
                fhirUrl: fhirUrl.replace(/\/+$/, ""),
                publicBaseUrl,
                backendId: "fhir",
                rateLimitPerMinute: args.rateLimitPerMinute,
                corsOrigins: args.corsOrigins,
                corsMaxAgeSeconds: args.corsMaxAgeSeconds,
            })),
        }, { parent: this, dependsOn: [fhirBackend] });
        for (const op of fhirOperations()) {
            this.operation(name, common, fhirApi, op, args);
        }

        const hl7Api = new apimanagement.Api(`${name}-api-hl7`, {
            ...common,
            apiId: "hl7",
            displayName: "HL7 v2 ingestion",
            path: "hl7",
            protocols: ["https"],
            serviceUrl: pulumi.interpolate`https://${args.functionApp.hostName}/api/hl7`,
            subscriptionRequired: args.subscriptionRequired,
            apiType: "http",
        }, { parent: this });
        new apimanagement.ApiPolicy(`${name}-api-hl7-policy`, {
            ...common,
            apiId: hl7Api.name,
            policyId: "policy",
            format: "xml",
            value: hl7ApiPolicy({ backendId: "hl7-function", rateLimitPerMinute: args.rateLimitPerMinute }),
        }, { parent: this, dependsOn: [hl7Backend] });
        this.operation(name, common, hl7Api, { id: "hl7-post", method: "POST", urlTemplate: "/", role: APP_ROLES.hl7Send }, args);

        new ApiProducts(`${name}-products`, {
            ...common,
            apis: { fhir: fhirApi, hl7: hl7Api },
            consumers: args.consumers,
            keyVault: args.keyVault,
            keyExpires: functionKeyExpiry(args.now ?? new Date()),
        }, { parent: this });

        this.registerOutputs({ serviceId: this.service.id, gatewayUrl: this.gatewayUrl, fhirBaseUrl: this.fhirBaseUrl, hl7Url: this.hl7Url });
    }

    private operation(
        name: string,
        common: { resourceGroupName: pulumi.Input<string>; serviceName: pulumi.Input<string> },
        api: apimanagement.Api,
        op: FhirOperation,
        args: ApiGatewayArgs,
    ): void {
        const operation = new apimanagement.ApiOperation(`${name}-op-${op.id}`, {
            ...common,
            apiId: api.name,
            operationId: op.id,
            displayName: `${op.method} ${op.urlTemplate} (${op.role})`,
            method: op.method,
            urlTemplate: op.urlTemplate,
        }, { parent: this });
        new apimanagement.ApiOperationPolicy(`${name}-op-${op.id}-policy`, {
            ...common,
            apiId: api.name,
            operationId: operation.name,
            policyId: "policy",
            format: "xml",
            value: pulumi.all([args.tenantId, args.apiAudience]).apply(([tenantId, audience]) => operationPolicy({ tenantId, audience, requiredRole: op.role })),
        }, { parent: this });
    }
}
