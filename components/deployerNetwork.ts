import * as os from "node:os";
import { cidrContains, parseCidr } from "./cidr";

// Pure helpers of the deploy path (deployerAccess.ts): config parsing and the fail-fast location check.

export interface DeployerNetwork {
    /** ARM id of the runner VNet (from the bootstrap's outputs). */
    virtualNetworkId: string;
    /** The runner subnet's prefix: the only source the platform admits on 443 from outside its own subnets. */
    addressPrefix: string;
}

const VNET_ID = /^\/subscriptions\/([0-9a-f-]{36})\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/virtualNetworks\/([^/]+)$/i;

/** The parts of a VNet's ARM id, or an error message naming what is wrong. */
export function parseVnetId(id: string): { subscriptionId: string; resourceGroupName: string; name: string } | string {
    const match = VNET_ID.exec(id);
    if (!match) return `"${id}" is not a virtual network id (/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<name>)`;
    return { subscriptionId: match[1], resourceGroupName: match[2], name: match[3] };
}

/** IPv4 addresses of this machine's interfaces (what a runner in the deployer subnet would have). */
export function machineIpv4Addresses(interfaces = os.networkInterfaces()): string[] {
    return Object.values(interfaces).flatMap((list) => (list ?? []).filter((i) => i.family === "IPv4" && !i.internal).map((i) => i.address));
}

/**
 * Fails fast, before any resource is declared, when `pulumi up` runs outside the deployer subnet: there the code
 * deployment would time out against the private SCM endpoint an hour into the run (after APIM's creation).
 */
export function assertOnDeployerNetwork(deployer: DeployerNetwork, addresses: string[]): void {
    const subnet = parseCidr(deployer.addressPrefix);
    if (typeof subnet === "string") throw new Error(`deployer.addressPrefix: ${subnet}`);
    const inside = addresses.some((address) => {
        const host = parseCidr(`${address}/32`);
        return typeof host !== "string" && cidrContains(subnet, host);
    });
    if (!inside) {
        throw new Error(
            `pulumi up must run inside the deployer network ${deployer.addressPrefix} (this machine has ${addresses.join(", ") || "no IPv4 address"}): ` +
            "the Function's code is published to its private SCM endpoint. Run the deploy workflow on the runner group bound to " +
            "the bootstrap's runner network, or use `pulumi preview` here (previews deploy nothing).",
        );
    }
}
