import * as pulumi from "@pulumi/pulumi";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as network from "@pulumi/azure-native/network";
import { Monitoring } from "./monitoring";
import { NamingContext, resourceName } from "./naming";
import { rbacPropagationWait } from "./propagation";
import { grantRoles } from "./rbac";
import { managedRuleSets } from "./wafRules";

/** APIM's built-in health endpoint (Learn, "Integrate API Management in an internal VNet with Application Gateway"). */
export const APIM_HEALTH_PATH = "/status-0123456789abcdef";
/** TLS 1.2+ with the 2022 cipher suites only (Learn, "Application Gateway TLS policy overview": predefined policies). */
export const EDGE_TLS_POLICY = "AppGwSslPolicy20220101S";

export interface EdgeGatewayArgs {
    naming: NamingContext;
    resourceGroupName: pulumi.Input<string>;
    /** Subscription, for sub-resource ids and role definition ids. */
    subscriptionId: pulumi.Input<string>;
    location: pulumi.Input<string>;
    tags: Record<string, string>;
    /** The gateway's own subnet (its NSG admits GatewayManager, the load balancer and the client ranges on 443). */
    subnetId: pulumi.Input<string>;
    /** Zones for the gateway and its public IP (prod: all three); empty for a regional deployment. */
    zones: string[];
    /** Autoscale floor (instances always running; prod ≥ 2). */
    minCapacity: number;
    /** Autoscale ceiling. */
    maxCapacity: number;
    /** The host name partners call; the listener requires it (SNI). */
    hostName: string;
    /** Versionless Key Vault secret URI of the certificate, and the vault's ARM id (for the role's scope). */
    certificate: { keyVaultSecretId: string; keyVaultId: string };
    /** APIM's gateway host (`<apim>.azure-api.net`), resolved privately through the APIM zones. */
    apimHostName: pulumi.Input<string>;
    /** Largest request body in KB (≥ the largest HL7 message). */
    maxRequestBodySizeKb: number;
    /** Managed rules switched off after a documented misfire. */
    disabledRules: { ruleId: string; reason: string }[];
    /** Per-IP DDoS protection on the gateway's public IP (edge.ddos mode ipProtection). */
    ddosIpProtection: boolean;
    /** Seconds between the certificate grant and the gateway's creation (RBAC propagation). */
    rbacPropagationSeconds: number;
    /** Where the access and firewall logs go. */
    monitoring: Monitoring;
}

/**
 * The only public entry: an Application Gateway WAF_v2 in Prevention mode in front of the internal APIM. HTTPS only
 * (no port 80 listener at all), a 2022 TLS policy, the certificate read from Key Vault by the gateway's own identity,
 * end-to-end TLS to APIM with its real host name, and APIM's status endpoint as the health probe.
 */
export class EdgeGateway extends pulumi.ComponentResource {
    public readonly gateway: network.ApplicationGateway;
    public readonly wafPolicy: network.WebApplicationFirewallPolicy;
    public readonly publicIp: network.PublicIPAddress;
    public readonly identity: managedidentity.UserAssignedIdentity;

    constructor(name: string, args: EdgeGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:edge:EdgeGateway", name, {}, opts);
        const { naming, resourceGroupName, location, tags } = args;
        const gatewayName = resourceName(naming, "agw");
        const zones = args.zones.length > 0 ? { zones: args.zones } : {};

        this.identity = new managedidentity.UserAssignedIdentity(`${name}-id`, {
            resourceName: resourceName(naming, "id", "agw"), resourceGroupName, location, tags,
        }, { parent: this });
        // Secrets User on the certificate's secret alone; the gateway re-reads it every 4 hours, so a renewed
        // certificate (new version, same versionless URI) is picked up without a deploy (Learn, "TLS termination with
        // Key Vault certificates"). The gateway reaches the vault as a trusted Microsoft service.
        const secretName = args.certificate.keyVaultSecretId.replace(/\/$/, "").split("/").pop()!;
        const certGrant = grantRoles(`${name}-role`, [{
            key: "certificate-reader", role: "keyVaultSecretsUser", scope: `${args.certificate.keyVaultId}/secrets/${secretName}`,
            principalId: this.identity.principalId, principalType: "ServicePrincipal", description: "Application Gateway reads its TLS certificate",
        }], args.subscriptionId, { parent: this })["certificate-reader"];
        const certGrantPropagated = rbacPropagationWait(`${name}-cert-grant-wait`, {
            grants: [certGrant], seconds: args.rbacPropagationSeconds, reason: "Application Gateway certificate from Key Vault",
        }, { parent: this });

        this.publicIp = new network.PublicIPAddress(`${name}-pip`, {
            publicIpAddressName: resourceName(naming, "pip", "agw"),
            resourceGroupName, location, tags, ...zones,
            sku: { name: "Standard", tier: "Regional" },
            publicIPAllocationMethod: "Static",
            publicIPAddressVersion: "IPv4",
            ...(args.ddosIpProtection ? { ddosSettings: { protectionMode: "Enabled" } } : {}),
        }, { parent: this });

        this.wafPolicy = new network.WebApplicationFirewallPolicy(`${name}-waf`, {
            policyName: resourceName(naming, "waf"),
            resourceGroupName, location, tags,
            policySettings: {
                state: "Enabled",
                mode: "Prevention",
                requestBodyCheck: true,
                // Enforce the size limit and inspect the whole body up to it (CRS 3.2+ / DRS: Learn, "WAF request
                // size limits"); HL7 v2 messages and FHIR bundles are single bodies, not file uploads.
                requestBodyEnforcement: true,
                maxRequestBodySizeInKb: args.maxRequestBodySizeKb,
                requestBodyInspectLimitInKB: Math.min(args.maxRequestBodySizeKb, 128),
                fileUploadEnforcement: true,
                fileUploadLimitInMb: 1,
            },
            managedRules: { managedRuleSets: managedRuleSets(args.disabledRules), exclusions: [] },
        }, { parent: this });

        // Sub-resources reference each other by id inside the gateway; the id is known from its name.
        const gatewayId = pulumi.interpolate`/subscriptions/${args.subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.Network/applicationGateways/${gatewayName}`;
        const sub = (kind: string, child: string) => ({ id: pulumi.interpolate`${gatewayId}/${kind}/${child}` });

        this.gateway = new network.ApplicationGateway(`${name}-gateway`, {
            applicationGatewayName: gatewayName,
            resourceGroupName, location, tags, ...zones,
            sku: { name: "WAF_v2", tier: "WAF_v2" },
            autoscaleConfiguration: { minCapacity: args.minCapacity, maxCapacity: args.maxCapacity },
            identity: { type: "UserAssigned", userAssignedIdentities: [this.identity.id] },
            firewallPolicy: { id: this.wafPolicy.id },
            enableHttp2: true,
            sslPolicy: { policyType: "Predefined", policyName: EDGE_TLS_POLICY },
            gatewayIPConfigurations: [{ name: "gateway-ip", subnet: { id: args.subnetId } }],
            frontendIPConfigurations: [{ name: "public", publicIPAddress: { id: this.publicIp.id } }],
            frontendPorts: [{ name: "https", port: 443 }],
            sslCertificates: [{ name: "listener", keyVaultSecretId: args.certificate.keyVaultSecretId }],
            httpListeners: [{
                name: "https",
                protocol: "Https",
                hostName: args.hostName,
                requireServerNameIndication: true,
                frontendIPConfiguration: sub("frontendIPConfigurations", "public"),
                frontendPort: sub("frontendPorts", "https"),
                sslCertificate: sub("sslCertificates", "listener"),
            }],
            backendAddressPools: [{ name: "apim", backendAddresses: [{ fqdn: args.apimHostName }] }],
            probes: [{
                name: "apim-status",
                protocol: "Https",
                host: args.apimHostName,
                path: APIM_HEALTH_PATH,
                interval: 30,
                timeout: 30,
                unhealthyThreshold: 3,
                match: { statusCodes: ["200-399"] },
            }],
            backendHttpSettingsCollection: [{
                name: "apim-https",
                port: 443,
                protocol: "Https",
                // APIM answers for its own host name only; its certificate is publicly trusted (*.azure-api.net).
                hostName: args.apimHostName,
                pickHostNameFromBackendAddress: false,
                cookieBasedAffinity: "Disabled",
                requestTimeout: 120,
                probe: sub("probes", "apim-status"),
            }],
            requestRoutingRules: [{
                name: "https-to-apim",
                ruleType: "Basic",
                priority: 100,
                httpListener: sub("httpListeners", "https"),
                backendAddressPool: sub("backendAddressPools", "apim"),
                backendHttpSettings: sub("backendHttpSettingsCollection", "apim-https"),
            }],
        }, { parent: this, dependsOn: [certGrantPropagated], customTimeouts: { create: "60m", update: "60m" } });

        // Access log (who called what, status, WAF result) and firewall log (which rule matched) to Log Analytics.
        args.monitoring.diagnostics(`${name}-gateway`, this.gateway.id, {}, { parent: this });
        args.monitoring.diagnostics(`${name}-pip`, this.publicIp.id, {}, { parent: this });

        this.registerOutputs({ gatewayId: this.gateway.id, publicIp: this.publicIp.ipAddress });
    }
}
