import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import {
    AZURE_FIREWALL_SUBNET_NAME, EgressAllowListInputs, egressRoutes, egressRuleCollections, FIREWALL_LOG_CATEGORIES,
    FIREWALL_ROUTED_SUBNETS, FirewallRoutedSubnet, toRuleCollectionArgs,
} from "./egressFirewallRules";
import type { Monitoring } from "./monitoring";
import { NamingContext, resourceName } from "./naming";

export interface EgressFirewallArgs {
    /** Naming prefix and environment. */
    naming: NamingContext;
    /** Resource group of the firewall, its policy, public IP and route tables. */
    resourceGroupName: pulumi.Input<string>;
    /** Azure region (the VNet's). */
    location: pulumi.Input<string>;
    /** Tags for every resource. */
    tags: Record<string, string>;
    /** The platform VNet the `AzureFirewallSubnet` is added to. */
    vnetName: pulumi.Input<string>;
    /** Prefix of `AzureFirewallSubnet` (validated: /26 or larger, inside the address space, no overlap). */
    subnetPrefix: string;
    /** Firewall and policy tier: Standard (FQDN filtering, threat intelligence) or Premium (adds IDPS). */
    sku: "Standard" | "Premium";
    /** Availability zones of the firewall and its public IP (prod: all three; empty for regional). */
    zones: string[];
    /** What may leave: the routed subnets' prefixes and, in third-party FHIR mode, that server's URLs. */
    allowList: EgressAllowListInputs;
    /** Structured firewall logs go to its workspace. */
    monitoring: Monitoring;
    /** Resources the firewall subnet is created after (ARM refuses concurrent writes to one VNet's subnets). */
    after?: pulumi.Resource[];
}

/**
 * Azure Firewall as the app subnets' only way out (the `edge.egress.mode: firewall` option): `AzureFirewallSubnet`, a
 * Standard static public IP, a Firewall Policy in threat-intelligence Deny mode with an explicit allow-list (service
 * tags for Azure services, exact FQDNs for the rest, implicit deny for everything else), one route table per routed
 * subnet (0.0.0.0/0 → the firewall's private IP) and structured logs in Log Analytics. Built as Learn's "Deploy and
 * configure Azure Firewall and policy" and the AVM `network/azure-firewall` module do.
 */
export class EgressFirewall extends pulumi.ComponentResource {
    public readonly subnet: network.Subnet;
    public readonly publicIp: network.PublicIPAddress;
    public readonly policy: network.FirewallPolicy;
    public readonly ruleCollectionGroup: network.FirewallPolicyRuleCollectionGroup;
    public readonly firewall: network.AzureFirewall;
    /** The address every routed subnet's default route points at. */
    public readonly privateIp: pulumi.Output<string>;
    /** One table per routed subnet (APIM's also keeps its management endpoint on the Internet next hop). */
    public readonly routeTables: Record<FirewallRoutedSubnet, network.RouteTable>;

    constructor(name: string, args: EgressFirewallArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:network:EgressFirewall", name, {}, opts);
        const { naming, resourceGroupName, location, tags } = args;
        const zonal = args.zones.length > 0 ? { zones: args.zones } : {};

        // Learn, "Azure Firewall FAQ": the subnet is named AzureFirewallSubnet, at least /26, and takes no NSG (the
        // service is hardened and an NSG there is refused). No default outbound: the firewall leaves by its own IP.
        this.subnet = new network.Subnet(`${name}-snet`, {
            subnetName: AZURE_FIREWALL_SUBNET_NAME,
            virtualNetworkName: args.vnetName,
            resourceGroupName,
            addressPrefix: args.subnetPrefix,
            defaultOutboundAccess: false,
        }, { parent: this, dependsOn: args.after ?? [] });

        // Azure Firewall takes Standard static IPv4 only; zone-redundant when the firewall spans zones.
        this.publicIp = new network.PublicIPAddress(`${name}-pip`, {
            publicIpAddressName: resourceName(naming, "pip", "afw"),
            resourceGroupName,
            location,
            sku: { name: "Standard", tier: "Regional" },
            publicIPAllocationMethod: "Static",
            publicIPAddressVersion: "IPv4",
            ...zonal,
            tags,
        }, { parent: this });

        this.policy = new network.FirewallPolicy(`${name}-policy`, {
            firewallPolicyName: resourceName(naming, "afwp"),
            resourceGroupName,
            location,
            sku: { tier: args.sku },
            // Known-malicious addresses and domains are refused and logged (AZFWThreatIntel), not just alerted.
            threatIntelMode: "Deny",
            // No FQDNs in network rules (they are service tags only), so no DNS proxy is needed (Learn, "Azure
            // Firewall DNS settings": the proxy is required for FQDN filtering in network rules).
            dnsSettings: { enableProxy: false },
            ...(args.sku === "Premium" ? { intrusionDetection: { mode: "Deny" } } : {}),
            tags,
        }, { parent: this });

        this.ruleCollectionGroup = new network.FirewallPolicyRuleCollectionGroup(`${name}-rules`, {
            firewallPolicyName: this.policy.name,
            resourceGroupName,
            ruleCollectionGroupName: "platform-egress",
            priority: 200,
            ruleCollections: toRuleCollectionArgs(egressRuleCollections(args.allowList)),
        }, { parent: this });

        this.firewall = new network.AzureFirewall(`${name}-afw`, {
            azureFirewallName: resourceName(naming, "afw"),
            resourceGroupName,
            location,
            sku: { name: "AZFW_VNet", tier: args.sku },
            firewallPolicy: { id: this.policy.id },
            ipConfigurations: [{ name: "egress", subnet: { id: this.subnet.id }, publicIPAddress: { id: this.publicIp.id } }],
            ...zonal,
            tags,
        }, { parent: this, dependsOn: [this.ruleCollectionGroup] });
        this.privateIp = this.firewall.ipConfigurations.apply((configs) => configs?.[0]?.privateIPAddress ?? "");

        const tables = {} as Record<FirewallRoutedSubnet, network.RouteTable>;
        for (const subnet of FIREWALL_ROUTED_SUBNETS) {
            tables[subnet] = new network.RouteTable(`${name}-rt-${subnet}`, {
                routeTableName: resourceName(naming, "rt", subnet === "apim" ? "apim" : "func"),
                resourceGroupName,
                location,
                // Only these routes: nothing learned over BGP may bypass the firewall.
                disableBgpRoutePropagation: true,
                routes: this.privateIp.apply((ip) => egressRoutes(subnet, ip)),
                tags,
            }, { parent: this });
        }
        this.routeTables = tables;

        args.monitoring.diagnostics(`${name}-afw`, this.firewall.id, { logs: { categories: [...FIREWALL_LOG_CATEGORIES] } }, { parent: this });

        this.registerOutputs({ firewallId: this.firewall.id, policyId: this.policy.id, privateIp: this.privateIp });
    }
}
