import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";

export interface PrivateEndpointWithDnsArgs {
    /** Physical name of the endpoint (the NIC gets `<name>-nic`). */
    endpointName: string;
    resourceGroupName: pulumi.Input<string>;
    location: pulumi.Input<string>;
    /** The private endpoints subnet. */
    subnetId: pulumi.Input<string>;
    /** Resource the endpoint connects to. */
    targetResourceId: pulumi.Input<string>;
    /** Sub-resource (`vault`, `healthcareworkspace`, `sites`, `blob` ...). */
    groupId: string;
    /** Private DNS zones the zone group writes A records into (at most 5 per group). */
    dnsZoneIds: pulumi.Input<string>[];
    tags: Record<string, string>;
}

export interface PrivateEndpointWithDns {
    endpoint: network.PrivateEndpoint;
    zoneGroup: network.PrivateDnsZoneGroup;
}

/**
 * A private endpoint plus the DNS zone group that keeps its A records in the private zones, so nobody hand-writes IP
 * addresses. Used by every component that exposes a service to the VNet.
 */
export function privateEndpointWithDns(
    name: string,
    args: PrivateEndpointWithDnsArgs,
    opts: pulumi.CustomResourceOptions,
): PrivateEndpointWithDns {
    if (args.dnsZoneIds.length === 0 || args.dnsZoneIds.length > 5) {
        throw new Error(`${name}: a private DNS zone group takes 1 to 5 zones, got ${args.dnsZoneIds.length}`);
    }
    const endpoint = new network.PrivateEndpoint(`${name}-pe`, {
        privateEndpointName: args.endpointName,
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        subnet: { id: args.subnetId },
        customNetworkInterfaceName: `${args.endpointName}-nic`,
        privateLinkServiceConnections: [{
            name: `${args.endpointName}-${args.groupId}`,
            privateLinkServiceId: args.targetResourceId,
            groupIds: [args.groupId],
        }],
        tags: args.tags,
    }, opts);
    const zoneGroup = new network.PrivateDnsZoneGroup(`${name}-dns`, {
        privateDnsZoneGroupName: "default",
        privateEndpointName: endpoint.name,
        resourceGroupName: args.resourceGroupName,
        privateDnsZoneConfigs: args.dnsZoneIds.map((privateDnsZoneId, i) => ({
            name: `zone-${i}`,
            privateDnsZoneId,
        })),
    }, { ...opts, dependsOn: undefined });
    return { endpoint, zoneGroup };
}
