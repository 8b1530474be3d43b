import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import * as privatedns from "@pulumi/azure-native/privatedns";
import type { input } from "@pulumi/azure-native/types";
import { EgressFirewall, EgressFirewallArgs } from "./egressFirewall";
import { FIREWALL_ROUTED_SUBNETS, FirewallRoutedSubnet } from "./egressFirewallRules";
import { NamingContext, resourceName } from "./naming";
import { NsgRule, NsgRuleOptions, nsgRulesFor, SubnetRole } from "./nsgRules";

/** Private DNS zones the platform's private endpoints register in (Azure "private endpoint DNS" reference). */
export const PRIVATE_DNS_ZONES = {
    /** AHDS workspace endpoint (groupId `healthcareworkspace`): FHIR and workspace records. */
    healthcareApis: "privatelink.azurehealthcareapis.com",
    /** AHDS workspace endpoint: DICOM records; the portal and Microsoft's sample put both zones in one group. */
    healthcareDicom: "privatelink.dicom.azurehealthcareapis.com",
    /** Key Vault (groupId `vault`). */
    keyVault: "privatelink.vaultcore.azure.net",
    /** Function App (groupId `sites`); also answers the `scm` name. */
    webApps: "privatelink.azurewebsites.net",
    storageBlob: "privatelink.blob.core.windows.net",
    storageQueue: "privatelink.queue.core.windows.net",
    storageTable: "privatelink.table.core.windows.net",
} as const;

export type PrivateDnsZoneKey = keyof typeof PRIVATE_DNS_ZONES;

export interface PlatformNetworkArgs {
    /** Naming prefix and environment. */
    naming: NamingContext;
    /** Resource group every network resource goes into. */
    resourceGroupName: pulumi.Input<string>;
    /** Azure region of the VNet and NSGs (private DNS zones are global). */
    location: pulumi.Input<string>;
    /** VNet address space (validated CIDR). */
    addressSpace: string;
    /** Subnet prefixes (validated: inside the address space, no overlap, large enough). */
    subnets: Record<SubnetRole, string>;
    /** What the NSGs admit from outside the VNet: the deploy runner, the gateway's clients. */
    ruleOptions?: NsgRuleOptions;
    /**
     * DDoS Network Protection on the VNet (edge.ddos mode networkPlan): the organisation's plan when `planId` is set
     * (one plan covers up to 100 public IPs across subscriptions), else a plan of this stack's own.
     */
    ddosNetworkPlan?: { planId?: string };
    /**
     * `edge.egress.mode: firewall`: the app subnets leave through an Azure Firewall (egressFirewall.ts) instead of the
     * NAT gateway, which is then not created.
     */
    egressFirewall?: Omit<EgressFirewallArgs, "naming" | "resourceGroupName" | "location" | "tags" | "vnetName" | "after">;
    /** Tags for every resource. */
    tags: Record<string, string>;
}

/**
 * The platform's VNet: one subnet per role, each behind its own NSG with explicit rules, and the private DNS zones
 * every private endpoint registers in, all linked to the VNet.
 */
export class PlatformNetwork extends pulumi.ComponentResource {
    public readonly vnet: network.VirtualNetwork;
    public readonly subnets: Record<SubnetRole, network.Subnet>;
    public readonly nsgs: Record<SubnetRole, network.NetworkSecurityGroup>;
    public readonly dnsZones: Record<PrivateDnsZoneKey, privatedns.PrivateZone>;
    /** Zone resource ids, for private DNS zone groups. */
    public readonly dnsZoneIds: Record<PrivateDnsZoneKey, pulumi.Output<string>>;
    /** The app subnets' only way out in NAT mode (no default outbound access anywhere). */
    public readonly natGateway?: network.NatGateway;
    public readonly natPublicIp?: network.PublicIPAddress;
    /** Their only way out in firewall mode. */
    public readonly egressFirewall?: EgressFirewall;
    /** The address the app subnets' internet egress comes from (NAT gateway's or firewall's). */
    public readonly egressPublicIp: network.PublicIPAddress;
    /** The plan this stack created (networkPlan mode without an existing plan). */
    public readonly ddosPlan?: network.DdosProtectionPlan;

    constructor(name: string, args: PlatformNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:network:PlatformNetwork", name, {}, opts);
        const { naming, resourceGroupName, location, tags } = args;

        let ddosPlanId: pulumi.Input<string> | undefined = args.ddosNetworkPlan?.planId;
        if (args.ddosNetworkPlan && !ddosPlanId) {
            this.ddosPlan = new network.DdosProtectionPlan(`${name}-ddos`, {
                ddosProtectionPlanName: resourceName(naming, "ddos"), resourceGroupName, location, tags,
            }, { parent: this });
            ddosPlanId = this.ddosPlan.id;
        }
        this.vnet = new network.VirtualNetwork(`${name}-vnet`, {
            virtualNetworkName: resourceName(naming, "vnet"),
            resourceGroupName,
            location,
            addressSpace: { addressPrefixes: [args.addressSpace] },
            ...(ddosPlanId ? { ddosProtectionPlan: { id: ddosPlanId }, enableDdosProtection: true } : {}),
            // Subnets are separate resources below; keep them out of the VNet body so updates never drop them.
            tags,
        }, { parent: this, ignoreChanges: ["subnets"] });

        // Explicit egress: the Function and APIM subnets leave through one NAT gateway (or, in firewall mode, an Azure
        // Firewall) with a known address, which partners can allow-list; default outbound access is off on every subnet
        // (Learn, "Default outbound access in Azure": new subnets should be private). What may leave is narrowed by each
        // subnet's NSG (service tags) and, in firewall mode, by the firewall's FQDN / service-tag allow-list.
        // A Standard NAT gateway is zonal or regional, not zone-redundant; it is regional here.
        if (args.egressFirewall) {
            this.egressFirewall = new EgressFirewall(`${name}-fw`, {
                ...args.egressFirewall, naming, resourceGroupName, location, tags, vnetName: this.vnet.name,
            }, { parent: this });
            this.egressPublicIp = this.egressFirewall.publicIp;
        } else {
            this.natPublicIp = new network.PublicIPAddress(`${name}-nat-pip`, {
                publicIpAddressName: resourceName(naming, "pip", "nat"),
                resourceGroupName,
                location,
                sku: { name: "Standard", tier: "Regional" },
                publicIPAllocationMethod: "Static",
                publicIPAddressVersion: "IPv4",
                tags,
            }, { parent: this });
            this.natGateway = new network.NatGateway(`${name}-nat`, {
                natGatewayName: resourceName(naming, "ng"),
                resourceGroupName,
                location,
                sku: { name: "Standard" },
                publicIpAddresses: [{ id: this.natPublicIp.id }],
                idleTimeoutInMinutes: 4,
                tags,
            }, { parent: this });
            this.egressPublicIp = this.natPublicIp;
        }

        const roles: SubnetRole[] = ["privateEndpoints", "functionIntegration", "apim", "appGateway"];
        const nsgs = {} as Record<SubnetRole, network.NetworkSecurityGroup>;
        const subnets = {} as Record<SubnetRole, network.Subnet>;
        for (const role of roles) {
            nsgs[role] = new network.NetworkSecurityGroup(`${name}-nsg-${role}`, {
                networkSecurityGroupName: resourceName(naming, "nsg", SUBNET_SHORT_NAMES[role]),
                resourceGroupName,
                location,
                securityRules: nsgRulesFor(role, args.subnets, args.ruleOptions).map(toSecurityRule),
                tags,
            }, { parent: this });
        }
        // Subnets are created one after another: ARM rejects concurrent writes to the same VNet.
        let previous: network.Subnet | undefined = this.egressFirewall?.subnet;
        for (const role of roles) {
            previous = subnets[role] = new network.Subnet(`${name}-snet-${role}`, {
                subnetName: resourceName(naming, "snet", SUBNET_SHORT_NAMES[role]),
                virtualNetworkName: this.vnet.name,
                resourceGroupName,
                addressPrefix: args.subnets[role],
                networkSecurityGroup: { id: nsgs[role].id },
                // No subnet gets Azure's implicit outbound IP; egress is explicit (NAT) or the service's own.
                defaultOutboundAccess: false,
                ...(this.natGateway && EGRESS_THROUGH_NAT.includes(role) ? { natGateway: { id: this.natGateway.id } } : {}),
                // Firewall mode: 0.0.0.0/0 → the firewall on the app subnets only. Never on the Application Gateway's
                // subnet (Learn, "Application Gateway infrastructure configuration": v2 does not support a default
                // route to a virtual appliance) nor the private endpoints' (they never initiate).
                ...(this.egressFirewall && (FIREWALL_ROUTED_SUBNETS as readonly SubnetRole[]).includes(role)
                    ? { routeTable: { id: this.egressFirewall.routeTables[role as FirewallRoutedSubnet].id } }
                    : {}),
                ...SUBNET_SETTINGS[role],
            }, { parent: this, dependsOn: previous ? [previous] : [] });
        }
        this.nsgs = nsgs;
        this.subnets = subnets;

        const zones = {} as Record<PrivateDnsZoneKey, privatedns.PrivateZone>;
        const zoneIds = {} as Record<PrivateDnsZoneKey, pulumi.Output<string>>;
        for (const [key, zoneName] of Object.entries(PRIVATE_DNS_ZONES) as [PrivateDnsZoneKey, string][]) {
            const zone = new privatedns.PrivateZone(`${name}-dns-${key}`, {
                privateZoneName: zoneName,
                resourceGroupName,
                location: "global",
                tags,
            }, { parent: this });
            new privatedns.VirtualNetworkLink(`${name}-dns-${key}-link`, {
                privateZoneName: zone.name,
                virtualNetworkLinkName: resourceName(naming, "vnetlink", key.toLowerCase()),
                resourceGroupName,
                location: "global",
                virtualNetwork: { id: this.vnet.id },
                // Records come from private endpoint zone groups, never from VM auto-registration.
                registrationEnabled: false,
                tags,
            }, { parent: this });
            zones[key] = zone;
            zoneIds[key] = zone.id;
        }
        this.dnsZones = zones;
        this.dnsZoneIds = zoneIds;

        this.registerOutputs({
            vnetId: this.vnet.id,
            subnetIds: Object.fromEntries(roles.map((r) => [r, subnets[r].id])),
            dnsZoneIds: zoneIds,
        });
    }
}

const SUBNET_SHORT_NAMES: Record<SubnetRole, string> = {
    privateEndpoints: "pe",
    functionIntegration: "func",
    apim: "apim",
    appGateway: "agw",
};

/**
 * Subnets whose outbound traffic leaves through the NAT gateway. Private endpoints never initiate; the Application
 * Gateway's outbound uses its own public frontend IP.
 */
export const EGRESS_THROUGH_NAT: readonly SubnetRole[] = ["functionIntegration", "apim"];

const SUBNET_SETTINGS: Record<SubnetRole, Partial<network.SubnetArgs>> = {
    privateEndpoints: {
        // "Enabled" makes the subnet's NSG rules apply to private endpoint traffic too.
        privateEndpointNetworkPolicies: "Enabled",
    },
    functionIntegration: {
        // Flex Consumption integrates through Microsoft.App/environments (Flex Consumption networking docs).
        delegations: [{ name: "flex-consumption", serviceName: "Microsoft.App/environments" }],
        privateEndpointNetworkPolicies: "Enabled",
    },
    apim: {
        privateEndpointNetworkPolicies: "Enabled",
    },
    // The gateway must be alone in its subnet, with no delegation (Learn, Application Gateway infrastructure).
    appGateway: {},
};

function toSecurityRule(rule: NsgRule): input.network.SecurityRuleArgs {
    return {
        name: rule.name,
        description: rule.description,
        priority: rule.priority,
        direction: rule.direction,
        access: rule.access,
        protocol: rule.protocol,
        sourceAddressPrefix: rule.source,
        sourcePortRange: "*",
        destinationAddressPrefix: rule.destination,
        ...(rule.ports.length === 1 ? { destinationPortRange: rule.ports[0] } : { destinationPortRanges: rule.ports }),
    };
}
