/** IPv4 CIDR maths for validating address plans before any network resource is declared. */

export interface Ipv4Cidr {
    /** The CIDR as written, e.g. `10.40.0.0/24`. */
    readonly text: string;
    /** First address of the block as an unsigned 32-bit integer. */
    readonly network: number;
    /** Prefix length, 0–32. */
    readonly prefix: number;
    /** Number of addresses in the block. */
    readonly size: number;
}

const CIDR_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/**
 * Parses an IPv4 CIDR. Returns an error string instead of throwing so config validation can collect every problem.
 * A block whose host bits are set (`10.0.0.1/24`) is rejected: Azure refuses it and it usually hides a typo.
 */
export function parseCidr(text: string): Ipv4Cidr | string {
    const match = CIDR_PATTERN.exec(text.trim());
    if (!match) {
        return `"${text}" is not an IPv4 CIDR (expected a.b.c.d/n)`;
    }
    const octets = match.slice(1, 5).map(Number);
    if (octets.some((o) => o > 255)) {
        return `"${text}" has an octet above 255`;
    }
    const prefix = Number(match[5]);
    if (prefix > 32) {
        return `"${text}" has a prefix length above 32`;
    }
    const address = ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3];
    const size = 2 ** (32 - prefix);
    const network = Math.floor(address / size) * size;
    if (network !== address) {
        return `"${text}" has host bits set (the block starts at ${formatIpv4(network)}/${prefix})`;
    }
    return { text, network, prefix, size };
}

export function formatIpv4(value: number): string {
    return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join(".");
}

/** True when `inner` lies entirely inside `outer`. */
export function cidrContains(outer: Ipv4Cidr, inner: Ipv4Cidr): boolean {
    return inner.network >= outer.network && inner.network + inner.size <= outer.network + outer.size;
}

/** True when the two blocks share at least one address. */
export function cidrOverlaps(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
    return a.network < b.network + b.size && b.network < a.network + a.size;
}

/** True for blocks inside the RFC 1918 private ranges, the only sensible address space for this platform's VNet. */
export function isPrivateRange(cidr: Ipv4Cidr): boolean {
    return ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].some((range) =>
        cidrContains(parseCidr(range) as Ipv4Cidr, cidr),
    );
}
