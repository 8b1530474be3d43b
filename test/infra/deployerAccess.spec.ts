import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { DeployerNetworkAccess } from "../../components/deployerAccess";
import { rbacPropagationWait } from "../../components/propagation";
import { MOCK_SUBSCRIPTION_ID } from "../../tools/offline/arm-mocks";
import { findRegistered, settle } from "../support/pulumi-mocks";

const RUNNER_VNET = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/rg-fhirp-bootstrap/providers/Microsoft.Network/virtualNetworks/vnet-fhirp-deployer-da`;
const PLATFORM_VNET = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/rg-da/providers/Microsoft.Network/virtualNetworks/vnet-unit-da`;

class GrantStandIn extends pulumi.CustomResource {
    constructor(name: string) {
        super("azure-native:authorization:RoleAssignment", name, { scope: "/x", roleAssignmentName: "00000000-0000-5000-8000-000000000000" });
    }
}

describe("DeployerNetworkAccess (under mocks)", () => {
    before(async () => {
        new DeployerNetworkAccess("da", {
            naming: { prefix: "unit", environment: "da" },
            resourceGroupName: "rg-da",
            platformVnet: { id: PLATFORM_VNET, name: "vnet-unit-da" },
            deployer: { virtualNetworkId: RUNNER_VNET, addressPrefix: "10.60.0.0/27" },
            webAppsZoneName: "privatelink.azurewebsites.net",
            tags: { environment: "da" },
        });
        await settle();
    });

    it("peers the platform VNet and the runner VNet both ways, sharing address space only", () => {
        const to = findRegistered("azure-native:network:VirtualNetworkPeering", "da-peer-to-runner").inputs as any;
        const from = findRegistered("azure-native:network:VirtualNetworkPeering", "da-peer-from-runner").inputs as any;
        assert.equal(to.virtualNetworkName, "vnet-unit-da");
        assert.equal(to.resourceGroupName, "rg-da");
        assert.equal(to.remoteVirtualNetwork.id, RUNNER_VNET);
        // The runner half lives on the bootstrap's VNet, in the bootstrap's resource group.
        assert.equal(from.virtualNetworkName, "vnet-fhirp-deployer-da");
        assert.equal(from.resourceGroupName, "rg-fhirp-bootstrap");
        assert.equal(from.remoteVirtualNetwork.id, PLATFORM_VNET);
        for (const p of [to, from]) {
            assert.equal(p.allowVirtualNetworkAccess, true);
            assert.equal(p.allowForwardedTraffic, false);
            assert.equal(p.allowGatewayTransit, false);
            assert.equal(p.useRemoteGateways, false);
        }
    });

    it("lets the runner resolve the Function's SCM host privately: the web apps zone is linked to its VNet", () => {
        const link = findRegistered("azure-native:privatedns:VirtualNetworkLink", "da-dns-webapps-link").inputs as any;
        assert.equal(link.privateZoneName, "privatelink.azurewebsites.net");
        assert.equal(link.virtualNetwork.id, RUNNER_VNET);
        assert.equal(link.registrationEnabled, false);
    });

    it("refuses a runner network that is not a VNet id before declaring anything", () => {
        assert.throws(() => new DeployerNetworkAccess("da-bad", {
            naming: { prefix: "unit", environment: "da" },
            resourceGroupName: "rg-da",
            platformVnet: { id: PLATFORM_VNET, name: "vnet-unit-da" },
            deployer: { virtualNetworkId: "vnet-deployer", addressPrefix: "10.60.0.0/27" },
            webAppsZoneName: "privatelink.azurewebsites.net",
            tags: {},
        }), /deployer\.virtualNetworkId "vnet-deployer" is not a virtual network id/);
    });
});

describe("rbacPropagationWait (under mocks)", () => {
    it("waits after every grant it guards and re-waits when one is replaced (its id is a trigger)", async () => {
        const a = new GrantStandIn("pw-grant-a");
        const b = new GrantStandIn("pw-grant-b");
        rbacPropagationWait("pw-wait", { grants: [a, b], seconds: 90, reason: "unit test" }, {});
        await settle();
        const wait = findRegistered("time:index/sleep:Sleep", "pw-wait");
        assert.equal(wait.inputs.createDuration, "90s");
        const grants = [findRegistered("azure-native:authorization:RoleAssignment", "pw-grant-a"), findRegistered("azure-native:authorization:RoleAssignment", "pw-grant-b")];
        for (const g of grants) assert.ok(wait.dependencies.includes(g.urn));
        assert.deepEqual(wait.inputs.triggers, { reason: "unit test", grant0: grants[0].outputs.id, grant1: grants[1].outputs.id });
    });

    it("refuses a wait with nothing to wait for", () => {
        assert.throws(() => rbacPropagationWait("pw-empty", { grants: [], seconds: 90, reason: "x" }, {}), /at least one grant/);
    });
});
