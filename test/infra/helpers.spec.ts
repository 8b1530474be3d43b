import { strict as assert } from "node:assert";
import { cidrContains, cidrOverlaps, formatIpv4, isPrivateRange, parseCidr, Ipv4Cidr } from "../../components/cidr";
import { compactGlobalName, keyVaultName, resourceName } from "../../components/naming";
import { assertOnDeployerNetwork, machineIpv4Addresses, parseVnetId } from "../../components/deployerNetwork";
import { nsgRulesFor, SubnetRole } from "../../components/nsgRules";
import { DEFAULT_RBAC_PROPAGATION_SECONDS, sleepDuration } from "../../components/propagation";
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
    const subnets: Record<SubnetRole, string> = { privateEndpoints: "10.0.0.0/26", functionIntegration: "10.0.1.0/26", apim: "10.0.2.0/27", appGateway: "10.0.3.0/24" };
    const roles: SubnetRole[] = ["privateEndpoints", "functionIntegration", "apim", "appGateway"];

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
                assert.ok(!r.ports.some((p) => ["22", "3389"].includes(p)), `${role}/${r.name}`);
                // Any port only for Azure's load balancer probes, which Application Gateway v2 requires.
                if (r.ports.includes("*")) assert.equal(r.source, "AzureLoadBalancer", `${role}/${r.name}`);
            }
        }
    });

    it("lets only APIM and the Function reach the private endpoints", () => {
        const allowed = nsgRulesFor("privateEndpoints", subnets).filter((r) => r.direction === "Inbound" && r.access === "Allow");
        assert.deepEqual(allowed.map((r) => r.source).sort(), [subnets.apim, subnets.functionIntegration].sort());
        assert.ok(allowed.every((r) => r.ports.join() === "443"));
    });

    it("admits the peered deploy runner on 443 to the private endpoints, and only when one is configured", () => {
        const allowed = nsgRulesFor("privateEndpoints", subnets, { deployerPrefix: "10.60.0.0/27" }).filter((r) => r.direction === "Inbound" && r.access === "Allow");
        const runner = allowed.find((r) => r.source === "10.60.0.0/27");
        assert.ok(runner, "a rule for the runner subnet");
        assert.deepEqual(runner!.ports, ["443"]);
        assert.equal(runner!.protocol, "Tcp");
        assert.equal(runner!.destination, subnets.privateEndpoints);
        const deny = nsgRulesFor("privateEndpoints", subnets, { deployerPrefix: "10.60.0.0/27" }).find((r) => r.name === "deny-all-inbound")!;
        assert.ok(runner!.priority < deny.priority);
        assert.equal(nsgRulesFor("privateEndpoints", subnets).some((r) => r.name === "allow-deployer-scm-https"), false);
    });

    it("admits at the Application Gateway what v2 requires and the configured clients on 443, nothing else", () => {
        const rules = nsgRulesFor("appGateway", subnets, { clientRanges: ["198.51.100.0/24", "203.0.113.0/24"] });
        const inbound = rules.filter((r) => r.direction === "Inbound" && r.access === "Allow");
        const manager = inbound.find((r) => r.source === "GatewayManager")!;
        assert.deepEqual(manager.ports, ["65200-65535"]);
        assert.ok(inbound.some((r) => r.source === "AzureLoadBalancer"));
        const clients = inbound.filter((r) => r.name.startsWith("allow-clients-https"));
        assert.deepEqual(clients.map((r) => [r.source, r.ports.join()]), [["198.51.100.0/24", "443"], ["203.0.113.0/24", "443"]]);
        assert.equal(inbound.length, 4, "nothing else is admitted");
        assert.ok(rules.some((r) => r.name === "deny-all-inbound" && r.priority === 4096));
        // v2 must keep outbound Internet (certificate from Key Vault, health): no outbound deny.
        assert.equal(rules.filter((r) => r.direction === "Outbound").length, 0);
        assert.equal(nsgRulesFor("appGateway", subnets).filter((r) => r.name.startsWith("allow-clients")).length, 0);
    });

    it("lets the Function reach a third-party FHIR server's ranges on 443, before the internet deny, and nothing else new", () => {
        const rules = nsgRulesFor("functionIntegration", subnets, { externalFhirPrefixes: ["203.0.113.0/24"] });
        const ext = rules.filter((r) => r.name.startsWith("allow-external-fhir"));
        assert.deepEqual(ext.map((r) => [r.direction, r.destination, r.ports.join()]), [["Outbound", "203.0.113.0/24", "443"]]);
        const deny = rules.find((r) => r.destination === "Internet" && r.access === "Deny")!;
        assert.ok(ext[0].priority < deny.priority);
        assert.equal(nsgRulesFor("functionIntegration", subnets).some((r) => r.name.startsWith("allow-external-fhir")), false);
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

describe("deploy path helpers", () => {
    const deployer = { virtualNetworkId: "/subscriptions/5b1e2f7a-0000-4000-8000-0000000000aa/resourceGroups/rg-boot/providers/Microsoft.Network/virtualNetworks/vnet-deployer-dev", addressPrefix: "10.60.0.0/27" };

    it("parses a VNet id and explains a bad one", () => {
        assert.deepEqual(parseVnetId(deployer.virtualNetworkId), { subscriptionId: "5b1e2f7a-0000-4000-8000-0000000000aa", resourceGroupName: "rg-boot", name: "vnet-deployer-dev" });
        assert.match(parseVnetId("/subscriptions/x/resourceGroups/y") as string, /is not a virtual network id/);
        assert.match(parseVnetId(`${deployer.virtualNetworkId}/subnets/runners`) as string, /is not a virtual network id/);
    });

    it("lets pulumi up start only on a machine inside the runner subnet, naming both sides when not", () => {
        assert.doesNotThrow(() => assertOnDeployerNetwork(deployer, ["172.17.0.2", "10.60.0.4"]));
        assert.doesNotThrow(() => assertOnDeployerNetwork(deployer, ["10.60.0.31"]));
        assert.throws(() => assertOnDeployerNetwork(deployer, ["10.60.0.32", "192.168.1.5"]), /must run inside the deployer network 10\.60\.0\.0\/27 \(this machine has 10\.60\.0\.32, 192\.168\.1\.5\)/);
        assert.throws(() => assertOnDeployerNetwork(deployer, []), /no IPv4 address/);
    });

    it("reads the machine's external IPv4 addresses only", () => {
        const addresses = machineIpv4Addresses({
            lo: [{ address: "127.0.0.1", family: "IPv4", internal: true, netmask: "255.0.0.0", mac: "00:00:00:00:00:00", cidr: "127.0.0.1/8" }],
            eth0: [
                { address: "10.60.0.4", family: "IPv4", internal: false, netmask: "255.255.255.224", mac: "00:0d:3a:00:00:01", cidr: "10.60.0.4/27" },
                { address: "fe80::1", family: "IPv6", internal: false, netmask: "ffff:ffff:ffff:ffff::", mac: "00:0d:3a:00:00:01", cidr: "fe80::1/64", scopeid: 2 },
            ],
        });
        assert.deepEqual(addresses, ["10.60.0.4"]);
    });

    it("formats RBAC propagation waits and refuses token ones", () => {
        assert.equal(sleepDuration(DEFAULT_RBAC_PROPAGATION_SECONDS), "120s");
        assert.equal(sleepDuration(60), "60s");
        assert.throws(() => sleepDuration(30), /≥ 60/);
        assert.throws(() => sleepDuration(90.5), /whole number/);
    });
});
