import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import * as privatedns from "@pulumi/azure-native/privatedns";
import { DeployerNetwork, parseVnetId } from "./deployerNetwork";
import { NamingContext, resourceName } from "./naming";

/**
 * How `pulumi up` reaches the Function's private SCM endpoint to publish code.
 *
 * The site and its SCM host are private (publicNetworkAccess Disabled, one `sites` private endpoint), so the publish
 * must come from a network that (1) routes to the private-endpoint subnet, (2) resolves
 * `<app>.scm.azurewebsites.net` through `privatelink.azurewebsites.net`, and (3) is admitted by that subnet's NSG
 * (`privateEndpointNetworkPolicies: Enabled` makes it apply). The runner network is prepared once per environment by
 * the bootstrap program (a VNet with a subnet for GitHub-hosted runners with Azure private networking, delegated to
 * `GitHub.Network/networkSettings`, or for self-hosted runners); this component peers it with the platform VNet, links
 * the private DNS zone to it, and the platform NSG admits its prefix on 443. All three are declared in the plan and the
 * code deployment depends on them. See also Azure/Azure-Functions#2635 (Flex + VNet integration + private endpoint:
 * the deployment's own call back into the site must also resolve privately, which the zone link to the platform VNet
 * already provides).
 */
export interface DeployerNetworkAccessArgs {
    naming: NamingContext;
    resourceGroupName: pulumi.Input<string>;
    /** The platform VNet (peered with the runner VNet). */
    platformVnet: { id: pulumi.Input<string>; name: pulumi.Input<string> };
    /** Where the runner runs; its VNet must not overlap the platform's (peering refuses overlaps). */
    deployer: DeployerNetwork;
    /** `privatelink.azurewebsites.net` (the Function and its SCM host). */
    webAppsZoneName: pulumi.Input<string>;
    tags: Record<string, string>;
}

/** Peering both ways and the DNS link that let the deployer's runner publish to the private SCM endpoint. */
export class DeployerNetworkAccess extends pulumi.ComponentResource {
    /** The code deployment depends on these: route, name resolution. */
    public readonly ready: pulumi.Resource[];

    constructor(name: string, args: DeployerNetworkAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:network:DeployerNetworkAccess", name, {}, opts);
        const remote = parseVnetId(args.deployer.virtualNetworkId);
        if (typeof remote === "string") throw new Error(`${name}: deployer.virtualNetworkId ${remote}`);
        const { naming, resourceGroupName } = args;

        // Only address space is shared: no gateway transit, no forwarded traffic (the runner cannot reach beyond).
        const peeringFlags = { allowVirtualNetworkAccess: true, allowForwardedTraffic: false, allowGatewayTransit: false, useRemoteGateways: false };
        const toRunner = new network.VirtualNetworkPeering(`${name}-peer-to-runner`, {
            virtualNetworkPeeringName: resourceName(naming, "peer", "to-deployer"),
            virtualNetworkName: args.platformVnet.name,
            resourceGroupName,
            remoteVirtualNetwork: { id: args.deployer.virtualNetworkId },
            ...peeringFlags,
        }, { parent: this });
        // The other half lives on the bootstrap's VNet; the deploying identity holds Network Contributor there.
        const fromRunner = new network.VirtualNetworkPeering(`${name}-peer-from-runner`, {
            virtualNetworkPeeringName: resourceName(naming, "peer", "to-platform"),
            virtualNetworkName: remote.name,
            resourceGroupName: remote.resourceGroupName,
            remoteVirtualNetwork: { id: args.platformVnet.id },
            ...peeringFlags,
        }, { parent: this, dependsOn: [toRunner] });
        const dnsLink = new privatedns.VirtualNetworkLink(`${name}-dns-webapps-link`, {
            privateZoneName: args.webAppsZoneName,
            virtualNetworkLinkName: resourceName(naming, "vnetlink", "deployer-webapps"),
            resourceGroupName,
            location: "global",
            virtualNetwork: { id: args.deployer.virtualNetworkId },
            registrationEnabled: false,
            tags: args.tags,
        }, { parent: this });

        this.ready = [toRunner, fromRunner, dnsLink];
        this.registerOutputs({});
    }
}
