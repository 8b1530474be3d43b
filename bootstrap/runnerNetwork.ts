import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import * as resources from "@pulumi/azure-native/resources";
import { BootstrapAudit } from "./audit";

export interface RunnerNetworkArgs {
    environment: string;
    namePrefix: string;
    resourceGroupName: pulumi.Input<string>;
    location: string;
    tags: Record<string, string>;
    /** The VNet's address space; the runner subnet takes all of it. */
    addressSpace: string;
    /** GitHub organisation/enterprise databaseId: declares the `GitHub.Network/networkSettings` resource when set. */
    githubDatabaseId?: string;
    audit: BootstrapAudit;
}

/**
 * Where an environment's deploy jobs run: the platform's Function publishes code to a private SCM endpoint, so
 * `pulumi up` must come from a network the platform peers with (components/deployerAccess.ts peers with this VNet,
 * links its DNS zone and admits this prefix on 443).
 *
 * The subnet is delegated to `GitHub.Network/networkSettings` for GitHub-hosted runners with Azure private networking
 * (GitHub docs, "About Azure private networking for GitHub-hosted runners"); a self-hosted runner VM can use the same
 * subnet after removing the delegation. Egress goes through a NAT gateway: new VNets get no default outbound access
 * (Learn, "Default outbound access in Azure"), and runners need GitHub, npm and Azure endpoints. Service endpoints let
 * the state account's and vault's firewalls admit the subnet without opening them to the runners' public addresses.
 */
export class RunnerNetwork extends pulumi.ComponentResource {
    public readonly vnet: network.VirtualNetwork;
    public readonly subnet: network.Subnet;
    public readonly networkSettingsId?: pulumi.Output<string>;

    constructor(name: string, args: RunnerNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:bootstrap:RunnerNetwork", name, {}, opts);
        const { resourceGroupName, location } = args;
        const tags = { ...args.tags, environment: args.environment };
        const base = `${args.namePrefix}-${args.environment}-runners`;

        const ip = new network.PublicIPAddress(`${name}-nat-ip`, {
            publicIpAddressName: `pip-${base}`,
            resourceGroupName, location, tags,
            sku: { name: "Standard", tier: "Regional" },
            publicIPAllocationMethod: "Static",
            publicIPAddressVersion: "IPv4",
        }, { parent: this });
        const nat = new network.NatGateway(`${name}-nat`, {
            natGatewayName: `ng-${base}`,
            resourceGroupName, location, tags,
            sku: { name: "Standard" },
            publicIpAddresses: [{ id: ip.id }],
            idleTimeoutInMinutes: 4,
        }, { parent: this });
        this.vnet = new network.VirtualNetwork(`${name}-vnet`, {
            virtualNetworkName: `vnet-${base}`,
            resourceGroupName, location, tags,
            addressSpace: { addressPrefixes: [args.addressSpace] },
        }, { parent: this, ignoreChanges: ["subnets"] });
        // Azure's default rules (no inbound from the internet, outbound allowed) are what runners need; GitHub's
        // private-networking guide adds outbound restrictions per organisation, which belong in this NSG when adopted.
        const nsg = new network.NetworkSecurityGroup(`${name}-nsg`, {
            networkSecurityGroupName: `nsg-${base}`,
            resourceGroupName, location, tags,
        }, { parent: this });
        args.audit.diagnostics(`${name}-nsg`, nsg.id, {}, { parent: this });
        this.subnet = new network.Subnet(`${name}-subnet`, {
            subnetName: "snet-runners",
            virtualNetworkName: this.vnet.name,
            resourceGroupName,
            addressPrefix: args.addressSpace,
            natGateway: { id: nat.id },
            networkSecurityGroup: { id: nsg.id },
            serviceEndpoints: [{ service: "Microsoft.Storage" }, { service: "Microsoft.KeyVault" }],
            delegations: [{ name: "github-network-settings", serviceName: "GitHub.Network/networkSettings" }],
            defaultOutboundAccess: false,
        }, { parent: this });

        if (args.githubDatabaseId) {
            // Not in azure-native's typed SDK; the generic resource at the API version GitHub's setup script uses.
            const settings = new resources.Resource(`${name}-github-settings`, {
                resourceGroupName,
                resourceProviderNamespace: "GitHub.Network",
                resourceType: "networkSettings",
                parentResourcePath: "",
                resourceName: `ns-${base}`,
                apiVersion: "2024-04-02",
                location,
                tags,
                properties: { businessId: args.githubDatabaseId, subnetId: this.subnet.id },
            }, { parent: this });
            this.networkSettingsId = settings.id;
        }
        this.registerOutputs({ vnetId: this.vnet.id, subnetId: this.subnet.id });
    }
}
