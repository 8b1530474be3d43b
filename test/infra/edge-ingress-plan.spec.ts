// Issue 11 on the shipped stacks: the only public entry is the WAF in front of APIM, egress is explicit and logged,
// and prod is DDoS-protected (offline plans of dev and prod, child processes).
import { strict as assert } from "node:assert";
import type { OfflinePlan, PlanResource } from "../../tools/offline/plan-runner";
import { stackPlan } from "../support/stack-plans";

const get = (plan: OfflinePlan, name: string): PlanResource => {
    const r = plan.resources.find((x) => x.name === name);
    if (!r) throw new Error(`${plan.stack}: no resource ${name}`);
    return r;
};
const inputs = (plan: OfflinePlan, name: string) => get(plan, name).inputs as any;

describe("public ingress, DDoS and egress in the offline plans (dev and prod)", function () {
    this.timeout(180000);
    let plans: OfflinePlan[];
    before(async () => {
        plans = (await Promise.all([stackPlan("dev"), stackPlan("prod")])).map((p) => p.plan);
    });

    it("has exactly one public entry, the WAF_v2 gateway, in front of APIM's private gateway", () => {
        for (const plan of plans) {
            const gateways = plan.resources.filter((r) => r.type === "azure-native:network:ApplicationGateway");
            assert.equal(gateways.length, 1);
            const agw = inputs(plan, "edge-gateway");
            assert.equal(agw.sku.tier, "WAF_v2");
            const apimHost = new URL(get(plan, "gateway-service").outputs.gatewayUrl as string).hostname;
            assert.deepEqual(agw.backendAddressPools[0].backendAddresses, [{ fqdn: apimHost }]);
            assert.equal(inputs(plan, "gateway-service").virtualNetworkType, "Internal", "APIM stays internal");
            assert.equal(inputs(plan, "edge-waf").policySettings.mode, "Prevention");
            assert.equal(agw.gatewayIPConfigurations[0].subnet.id, get(plan, "network-snet-appGateway").outputs.id);
            // Public IPs: the gateway's (clients), the NAT's (egress) and APIM's management IP (stv2 requirement).
            const pips = plan.resources.filter((r) => r.type === "azure-native:network:PublicIPAddress").map((r) => r.name).sort();
            assert.deepEqual(pips, ["edge-pip", "gateway-pip", "network-nat-pip"]);
        }
    });

    it("scales prod across zones with at least two instances and protects its public IP against DDoS; dev neither", () => {
        const [dev, prod] = plans;
        assert.deepEqual(inputs(prod, "edge-gateway").zones, ["1", "2", "3"]);
        assert.ok(inputs(prod, "edge-gateway").autoscaleConfiguration.minCapacity >= 2);
        assert.deepEqual(inputs(prod, "edge-pip").ddosSettings, { protectionMode: "Enabled" });
        assert.equal(inputs(dev, "edge-pip").ddosSettings, undefined);
        assert.equal(inputs(dev, "edge-gateway").zones, undefined);
    });

    it("admits only the configured client ranges on 443 at the gateway subnet", () => {
        const expected: Record<string, string[]> = { dev: ["Internet"], prod: ["198.51.100.0/24", "203.0.113.0/24"] };
        for (const plan of plans) {
            const rules = inputs(plan, "network-nsg-appGateway").securityRules as any[];
            const clients = rules.filter((r) => r.name.startsWith("allow-clients-https"));
            assert.deepEqual(clients.map((r) => r.sourceAddressPrefix), expected[plan.stack]);
            assert.ok(clients.every((r) => r.destinationPortRange === "443"));
            assert.ok(rules.some((r) => r.sourceAddressPrefix === "GatewayManager" && r.destinationPortRange === "65200-65535"));
        }
    });

    it("gives no subnet default outbound access and sends the app subnets' egress through the NAT gateway", () => {
        for (const plan of plans) {
            const nat = get(plan, "network-nat");
            for (const subnet of plan.resources.filter((r) => r.type === "azure-native:network:Subnet")) {
                assert.equal((subnet.inputs as any).defaultOutboundAccess, false, `${plan.stack}: ${subnet.name}`);
            }
            for (const role of ["functionIntegration", "apim"]) assert.equal(inputs(plan, `network-snet-${role}`).natGateway.id, nat.outputs.id);
        }
    });

    it("logs every flow of the VNet with traffic analytics and alerts on unusual egress and WAF blocks", () => {
        for (const plan of plans) {
            const log = inputs(plan, "flowlogs-vnet");
            assert.equal(log.targetResourceId, get(plan, "network-vnet").outputs.id);
            assert.equal(log.flowAnalyticsConfiguration.networkWatcherFlowAnalyticsConfiguration.workspaceResourceId, get(plan, "monitoring-law").outputs.id);
            for (const alert of ["alerts-unusual-egress", "alerts-waf-blocks"]) assert.equal(get(plan, alert).type, "azure-native:monitor:ScheduledQueryRule");
        }
    });

    it("tells partners where to point their DNS (stack outputs), without secrets", () => {
        for (const plan of plans) {
            const outputs = plan.resources.find((r) => r.type === "pulumi:pulumi:Stack")!.outputs as Record<string, unknown>;
            assert.equal(outputs.edgeHostName, inputs(plan, "edge-gateway").httpListeners[0].hostName);
            assert.ok("edgePublicIp" in outputs && "egressPublicIp" in outputs);
        }
    });
});
