import { strict as assert } from "node:assert";
import { cidrContains, cidrOverlaps, formatIpv4, isPrivateRange, parseCidr, Ipv4Cidr } from "../../components/cidr";
import { compactGlobalName, keyVaultName, resourceName } from "../../components/naming";
import { nsgRulesFor, SubnetRole } from "../../components/nsgRules";
import { BUILT_IN_ROLES, FORBIDDEN_ROLES, roleDefinitionId, roleGuidOf } from "../../components/roles";

const cidr = (text: string) => parseCidr(text) as Ipv4Cidr;

describe("CIDR maths", () => {
    it("parses blocks and computes their size", () => {
        assert.deepEqual(parseCidr("10.40.0.0/22"), { text: "10.40.0.0/22", network: (10 << 24) + (40 << 16), prefix: 22, size: 1024 });
        assert.equal(cidr("0.0.0.0/0").size, 2 ** 32);
        assert.equal(formatIpv4(cidr("192.168.1.128/25").network), "192.168.1.128");
    });

    it("explains what is wrong with a bad block", () => {
        assert.match(parseCidr("10.0.0.0") as string, /not an IPv4 CIDR/);
        assert.match(parseCidr("10.0.0.256/24") as string, /octet above 255/);
        assert.match(parseCidr("10.0.0.0/40") as string, /prefix length above 32/);
        assert.match(parseCidr("10.0.0.7/24") as string, /host bits set \(the block starts at 10.0.0.0\/24\)/);
    });

    it("tells containment and overlap apart", () => {
        assert.equal(cidrContains(cidr("10.40.0.0/22"), cidr("10.40.3.0/24")), true);
        assert.equal(cidrContains(cidr("10.40.0.0/22"), cidr("10.40.4.0/24")), false);
        assert.equal(cidrOverlaps(cidr("10.40.0.0/25"), cidr("10.40.0.64/26")), true);
        assert.equal(cidrOverlaps(cidr("10.40.0.0/26"), cidr("10.40.0.64/26")), false);
    });

    it("knows the private ranges", () => {
        assert.equal(isPrivateRange(cidr("172.20.0.0/16")), true);
        assert.equal(isPrivateRange(cidr("172.32.0.0/16")), false);
        assert.equal(isPrivateRange(cidr("192.168.0.0/16")), true);
    });
});

describe("naming", () => {
    const ctx = { prefix: "fhirp", environment: "prod" };

    it("builds readable names per resource group", () => {
        assert.equal(resourceName(ctx, "vnet"), "vnet-fhirp-prod");
        assert.equal(resourceName(ctx, "snet", "pe"), "snet-fhirp-prod-pe");
    });

    it("keeps Key Vault names within 3–24 characters and the suffix intact", () => {
        const name = keyVaultName({ prefix: "longprefx", environment: "staging1" }, "ab12c");
        assert.ok(name.length <= 24, name);
        assert.ok(name.endsWith("ab12c"));
        assert.match(name, /^[a-z][a-z0-9-]{1,22}[a-z0-9]$/);
        assert.ok(!name.includes("--"));
    });

    it("builds lowercase alphanumeric global names of at most 24 characters", () => {
        const name = compactGlobalName({ prefix: "longprefx", environment: "staging1" }, "ahds", "zz9zz");
        assert.ok(name.length <= 24);
        assert.match(name, /^[a-z0-9]+zz9zz$/);
        assert.equal(compactGlobalName(ctx, "st", "ab12c"), "stfhirpprodab12c");
    });
});

describe("role table", () => {
    it("holds each role once, as a GUID", () => {
        const guids = Object.values(BUILT_IN_ROLES);
        assert.equal(new Set(guids).size, guids.length);
        for (const g of guids) assert.match(g, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    });

    it("never lists an over-privileged role as assignable", () => {
        const forbidden = new Set<string>(Object.values(FORBIDDEN_ROLES));
        assert.ok(Object.values(BUILT_IN_ROLES).every((g) => !forbidden.has(g)));
    });

    it("builds and reads full role definition ids", () => {
        const id = roleDefinitionId("sub-1", "fhirDataWriter");
        assert.equal(id, "/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/3f88fce4-5892-4214-ae73-ba5294559913");
        assert.equal(roleGuidOf(id), BUILT_IN_ROLES.fhirDataWriter);
        assert.equal(roleGuidOf("not-a-role"), undefined);
    });
});

describe("NSG rules", () => {
    const subnets: Record<SubnetRole, string> = { privateEndpoints: "10.0.0.0/26", functionIntegration: "10.0.1.0/26", apim: "10.0.2.0/27" };
    const roles: SubnetRole[] = ["privateEndpoints", "functionIntegration", "apim"];

    it("gives every rule a unique priority per direction within Azure's range", () => {
        for (const role of roles) {
            for (const direction of ["Inbound", "Outbound"]) {
                const priorities = nsgRulesFor(role, subnets).filter((r) => r.direction === direction).map((r) => r.priority);
                assert.equal(new Set(priorities).size, priorities.length, `${role} ${direction}`);
                assert.ok(priorities.every((p) => p >= 100 && p <= 4096));
            }
        }
    });

    it("never allows inbound traffic from the internet, and never to management ports", () => {
        for (const role of roles) {
            for (const r of nsgRulesFor(role, subnets).filter((x) => x.direction === "Inbound" && x.access === "Allow")) {
                assert.ok(!["*", "Internet", "0.0.0.0/0"].includes(r.source), `${role}/${r.name}`);
                assert.ok(!r.ports.some((p) => ["22", "3389", "*"].includes(p)), `${role}/${r.name}`);
            }
        }
    });

    it("lets only APIM and the Function reach the private endpoints", () => {
        const allowed = nsgRulesFor("privateEndpoints", subnets).filter((r) => r.direction === "Inbound" && r.access === "Allow");
        assert.deepEqual(allowed.map((r) => r.source).sort(), [subnets.apim, subnets.functionIntegration].sort());
        assert.ok(allowed.every((r) => r.ports.join() === "443"));
    });

    it("blocks the Function's internet egress while allowing its dependencies", () => {
        const rules = nsgRulesFor("functionIntegration", subnets);
        const deny = rules.find((r) => r.direction === "Outbound" && r.destination === "Internet");
        assert.equal(deny?.access, "Deny");
        for (const r of rules.filter((x) => x.direction === "Outbound" && x.access === "Allow")) {
            assert.ok(r.priority < deny!.priority, `${r.name} must win over the internet deny`);
        }
    });
});
