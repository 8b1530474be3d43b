// Issue 11, egress option: Azure Firewall instead of the NAT gateway (edge.egress.mode firewall). Pure rule tables,
// config validation, NSG rules, and the prod plan with the firewall (offline plan in a child process, policy gate on).
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import {
    APIM_CERTIFICATE_HOSTS, deniedEgressQuery, egressRoutes, egressRuleCollections, FIREWALL_LOG_CATEGORIES, toRuleCollectionArgs,
} from "../../components/egressFirewallRules";
import { nsgRulesFor } from "../../components/nsgRules";
import { ConfigValidationError, rawPlatformConfig, validatePlatformConfig } from "../../stacks/config";
import type { OfflinePlan, PlanResource } from "../../tools/offline/plan-runner";
import { readStackConfig } from "../../tools/offline/plan-runner";
import { loadPolicyConfig, runPolicyPackOnPlan } from "../../tools/policy/run";
import { runPlanCli } from "../support/stack-plans";

const ROOT = path.resolve(__dirname, "..", "..");
const SUBNETS = { privateEndpoints: "10.50.0.0/26", functionIntegration: "10.50.1.0/25", apim: "10.50.2.0/26", appGateway: "10.50.3.0/24" };
const EXTERNAL = { baseUrl: "https://fhir.partner.example.com/r4", tokenUrl: "https://auth.partner.example.com/oauth2/token", clientId: "platform", secretName: "partner-fhir-secret" };

function problemsOf(raw: Record<string, any>, stack: "dev" | "prod"): string[] {
    try {
        validatePlatformConfig(raw, stack);
    } catch (err) {
        assert.ok(err instanceof ConfigValidationError);
        return [...err.problems];
    }
    return [];
}
const prodRaw = () => JSON.parse(JSON.stringify(rawPlatformConfig(readStackConfig("prod")))) as Record<string, any>;

describe("egress firewall: allow-list, routes and log query (pure)", () => {
    const allFqdns = (c: ReturnType<typeof egressRuleCollections>) => c.flatMap((x) => (x.kind === "application" ? x.rules.flatMap((r) => r.fqdns) : []));

    it("allows the Function Entra's authority and the APIM subnet its documented service tags, from their own subnets only", () => {
        const collections = egressRuleCollections({ subnets: SUBNETS });
        const net = collections.filter((c) => c.kind === "network").flatMap((c) => c.rules as any[]);
        const tagsFrom = (src: string) => net.filter((r) => r.sources.includes(src)).flatMap((r) => r.serviceTags).sort();
        assert.deepEqual(tagsFrom(SUBNETS.functionIntegration), ["AzureMonitor"]);
        assert.deepEqual(tagsFrom(SUBNETS.apim), ["AzureActiveDirectory", "AzureKeyVault", "AzureMonitor", "Sql", "Storage"]);
        assert.deepEqual(allFqdns(collections).sort(), ["login.microsoftonline.com", ...APIM_CERTIFICATE_HOSTS].sort());
        for (const c of collections) for (const r of c.rules as any[]) {
            assert.ok(r.sources.every((s: string) => s === SUBNETS.functionIntegration || s === SUBNETS.apim), r.name);
            assert.ok(!(r.fqdns ?? []).some((f: string) => f.includes("*")), `${r.name}: wildcard FQDN`);
            assert.ok(!(r.serviceTags ?? []).some((t: string) => ["*", "Internet", "0.0.0.0/0"].includes(t)), `${r.name}: allow-all`);
        }
        // Unique priorities (Azure refuses duplicates within a group).
        assert.equal(new Set(collections.map((c) => c.priority)).size, collections.length);
    });

    it("adds exactly the third-party FHIR base and token hosts (once each) in fhir.external mode", () => {
        const rules = egressRuleCollections({ subnets: SUBNETS, externalFhir: EXTERNAL }).find((c) => c.name === "function-fqdns")!.rules as any[];
        const ext = rules.find((r) => r.name === "external-fhir");
        assert.deepEqual(ext.fqdns, ["fhir.partner.example.com", "auth.partner.example.com"]);
        assert.deepEqual(ext.protocols, [{ protocolType: "Https", port: 443 }]);
        const same = egressRuleCollections({ subnets: SUBNETS, externalFhir: { baseUrl: "https://x.example.com/fhir", tokenUrl: "https://X.example.com/token" } });
        assert.deepEqual((same.find((c) => c.name === "function-fqdns")!.rules as any[]).find((r) => r.name === "external-fhir").fqdns, ["x.example.com"]);
    });

    it("maps to azure-native rule collections (Allow filter collections, TCP network rules, application protocols)", () => {
        const args = toRuleCollectionArgs(egressRuleCollections({ subnets: SUBNETS })) as any[];
        assert.ok(args.every((c) => c.ruleCollectionType === "FirewallPolicyFilterRuleCollection" && c.action.type === "Allow"));
        const kv = args.find((c) => c.name === "apim-azure-services").rules.find((r: any) => r.name === "key-vault");
        assert.deepEqual(kv, { ruleType: "NetworkRule", name: "key-vault", description: kv.description, sourceAddresses: [SUBNETS.apim], destinationAddresses: ["AzureKeyVault"], destinationPorts: ["443"], ipProtocols: ["TCP"] });
        const entra = args.find((c) => c.name === "function-fqdns").rules[0];
        assert.equal(entra.ruleType, "ApplicationRule");
        assert.deepEqual(entra.targetFqdns, ["login.microsoftonline.com"]);
    });

    it("routes everything to the firewall, keeping APIM's management endpoint on the Internet next hop", () => {
        assert.deepEqual(egressRoutes("functionIntegration", "10.50.0.68"), [{ name: "default-via-firewall", addressPrefix: "0.0.0.0/0", nextHopType: "VirtualAppliance", nextHopIpAddress: "10.50.0.68" }]);
        const apim = egressRoutes("apim", "10.50.0.68");
        assert.deepEqual(apim.map((r) => [r.addressPrefix, r.nextHopType]), [["0.0.0.0/0", "VirtualAppliance"], ["ApiManagement", "Internet"]]);
    });

    it("alerts on denies and threat-intelligence hits from the structured firewall tables", () => {
        const q = deniedEgressQuery("/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/azureFirewalls/afw");
        for (const table of ["AZFWApplicationRule", "AZFWNetworkRule", "AZFWThreatIntel"]) {
            assert.match(q, new RegExp(table));
            assert.ok((FIREWALL_LOG_CATEGORIES as readonly string[]).includes(table));
        }
        assert.match(q, /_ResourceId =~ "\/subscriptions\/x\/.*azureFirewalls\/afw"/);
    });

    it("lets the Function send 443 to the internet only in firewall mode with a third-party server and no ranges", () => {
        const names = (o: Parameters<typeof nsgRulesFor>[2]) => nsgRulesFor("functionIntegration", SUBNETS, o).map((r) => r.name);
        assert.ok(!names({}).includes("allow-external-fhir-via-firewall"));
        assert.ok(names({ externalFhirViaFirewall: true }).includes("allow-external-fhir-via-firewall"));
        // Ranges given: the NSG stays exact, the firewall adds FQDN precision.
        const exact = names({ externalFhirViaFirewall: true, externalFhirPrefixes: ["203.0.113.0/24"] });
        assert.ok(exact.includes("allow-external-fhir-1") && !exact.includes("allow-external-fhir-via-firewall"));
        assert.ok(names({ externalFhirViaFirewall: true }).includes("deny-internet-outbound"));
    });
});

describe("egress firewall: config (edge.egress)", () => {
    it("defaults to the NAT gateway on both shipped stacks", () => {
        for (const stack of ["dev", "prod"] as const) {
            assert.deepEqual(validatePlatformConfig(rawPlatformConfig(readStackConfig(stack)), stack).edge.egress, { mode: "nat" });
        }
    });

    it("reads the firewall mode, Standard by default", () => {
        const raw = prodRaw();
        raw.edge.egress = { mode: "firewall", subnetPrefix: "10.50.0.64/26" };
        assert.deepEqual(validatePlatformConfig(raw, "prod").edge.egress, { mode: "firewall", subnetPrefix: "10.50.0.64/26", sku: "Standard" });
        raw.edge.egress.sku = "Premium";
        assert.equal((validatePlatformConfig(raw, "prod").edge.egress as any).sku, "Premium");
    });

    it("names every bad egress key at once", () => {
        const raw = prodRaw();
        raw.edge.egress = { mode: "firewall", subnetPrefix: "10.50.2.0/27", sku: "Basic", extra: 1 };
        const problems = problemsOf(raw, "prod");
        const expect: [string, RegExp][] = [
            ["edge.egress.extra", /not a known setting/],
            ["edge.egress.sku", /not allowed/],
            ["edge.egress.subnetPrefix", /too small: AzureFirewallSubnet must be \/26/],
            ["edge.egress.subnetPrefix", /overlaps network.subnets.apim/],
        ];
        for (const [key, re] of expect) assert.ok(problems.some((p) => p.startsWith(`fhir-platform:${key}:`) && re.test(p)), `${key} ${re}: ${problems.join("\n")}`);
        raw.edge.egress = { mode: "firewall", subnetPrefix: "10.60.0.0/26" };
        assert.ok(problemsOf(raw, "prod").some((p) => /edge.egress.subnetPrefix: "10.60.0.0\/26" is outside the address space/.test(p)));
        raw.edge.egress = { mode: "firewall" };
        assert.ok(problemsOf(raw, "prod").some((p) => p.startsWith("fhir-platform:edge.egress.subnetPrefix: is required")));
        raw.edge.egress = { mode: "proxy", subnetPrefix: "10.50.0.64/26" };
        const nat = problemsOf(raw, "prod");
        assert.ok(nat.some((p) => p.startsWith("fhir-platform:edge.egress.mode:")));
        assert.ok(nat.some((p) => p.startsWith("fhir-platform:edge.egress.subnetPrefix: is only used with mode firewall")));
    });

    it("needs the third-party server's ranges with NAT egress, not with the firewall (FQDN rules)", () => {
        const raw = prodRaw();
        raw.fhir.external = { ...EXTERNAL };
        assert.ok(problemsOf(raw, "prod").some((p) => p.startsWith("fhir-platform:fhir.external.egressAddressPrefixes:") && /no other internet egress/.test(p)));
        raw.edge.egress = { mode: "firewall", subnetPrefix: "10.50.0.64/26" };
        assert.deepEqual(problemsOf(raw, "prod"), []);
    });
});

describe("egress firewall: prod plan with edge.egress.mode firewall (offline plan, policy gate)", function () {
    this.timeout(180000);
    let plan: OfflinePlan;
    let diagram: string;
    const get = (name: string): PlanResource => {
        const r = plan.resources.find((x) => x.name === name);
        if (!r) throw new Error(`no resource ${name}`);
        return r;
    };
    const inputs = (name: string) => get(name).inputs as any;

    before(async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-fw-"));
        const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8"));
        doc.config["fhir-platform:edge"].egress = { mode: "firewall", subnetPrefix: "10.50.0.64/26" };
        doc.config["fhir-platform:fhir"].external = { ...EXTERNAL };
        const file = path.join(dir, "Pulumi.prod.yaml");
        fs.writeFileSync(file, YAML.stringify(doc));
        const result = await runPlanCli(["--stack", "prod", "--config", file, "--out", dir]);
        assert.equal(result.code, 0, `plan or policy gate failed:\n${result.stdout}\n${result.stderr}`);
        plan = JSON.parse(fs.readFileSync(path.join(dir, "plan-prod.json"), "utf8"));
        diagram = fs.readFileSync(path.join(dir, "plan-prod.md"), "utf8");
    });

    it("replaces the NAT gateway with a zone-redundant Standard firewall in AzureFirewallSubnet, behind a Deny-mode policy", () => {
        assert.equal(plan.resources.filter((r) => r.type === "azure-native:network:NatGateway").length, 0);
        const fw = inputs("network-fw-afw");
        assert.deepEqual(fw.sku, { name: "AZFW_VNet", tier: "Standard" });
        assert.deepEqual(fw.zones, ["1", "2", "3"]);
        assert.equal(fw.firewallPolicy.id, get("network-fw-policy").outputs.id);
        assert.equal(fw.ipConfigurations[0].subnet.id, get("network-fw-snet").outputs.id);
        assert.equal(fw.ipConfigurations[0].publicIPAddress.id, get("network-fw-pip").outputs.id);
        const snet = inputs("network-fw-snet");
        assert.equal(snet.subnetName, "AzureFirewallSubnet");
        assert.equal(snet.addressPrefix, "10.50.0.64/26");
        assert.equal(snet.networkSecurityGroup, undefined, "no NSG on AzureFirewallSubnet");
        const pip = inputs("network-fw-pip");
        assert.deepEqual([pip.sku.name, pip.publicIPAllocationMethod, pip.zones], ["Standard", "Static", ["1", "2", "3"]]);
        const policy = inputs("network-fw-policy");
        assert.equal(policy.threatIntelMode, "Deny");
        assert.equal(policy.sku.tier, "Standard");
        assert.equal(get("network-fw").type, "fhirplatform:network:EgressFirewall");
        for (const child of ["network-fw-afw", "network-fw-policy", "network-fw-rules", "network-fw-snet", "network-fw-pip", "network-fw-rt-apim", "network-fw-rt-functionIntegration", "network-fw-afw-diag"]) {
            assert.equal(get(child).parent, get("network-fw").urn, `${child} is parented to the component`);
        }
    });

    it("routes only the Function and APIM subnets to the firewall, never the gateway's or the private endpoints'", () => {
        const fwIp = (get("network-fw-afw").outputs as any).ipConfigurations[0].privateIPAddress;
        assert.ok(fwIp);
        for (const [role, table] of [["functionIntegration", "network-fw-rt-functionIntegration"], ["apim", "network-fw-rt-apim"]]) {
            assert.equal(inputs(`network-snet-${role}`).routeTable.id, get(table).outputs.id);
            assert.equal(inputs(`network-snet-${role}`).natGateway, undefined);
            const routes = inputs(table).routes as any[];
            assert.deepEqual(routes[0], { name: "default-via-firewall", addressPrefix: "0.0.0.0/0", nextHopType: "VirtualAppliance", nextHopIpAddress: fwIp });
            assert.equal(inputs(table).disableBgpRoutePropagation, true);
        }
        assert.deepEqual((inputs("network-fw-rt-apim").routes as any[])[1], { name: "apim-management", addressPrefix: "ApiManagement", nextHopType: "Internet" });
        for (const role of ["appGateway", "privateEndpoints"]) assert.equal(inputs(`network-snet-${role}`).routeTable, undefined, role);
        for (const subnet of plan.resources.filter((r) => r.type === "azure-native:network:Subnet")) assert.equal((subnet.inputs as any).defaultOutboundAccess, false, subnet.name);
        // The plan's diagram draws the egress path from the wiring: Function and APIM → firewall.
        assert.match(diagram, /ringestion_site -->\|egress \(0\.0\.0\.0\/0\)\| rnetwork_fw_afw/);
        assert.match(diagram, /rgateway_service -->\|egress \(0\.0\.0\.0\/0\)\| rnetwork_fw_afw/);
        assert.ok(!/NAT gateway/.test(diagram));
    });

    it("allows the documented service tags and exactly the third-party FHIR hosts, nothing else", () => {
        const collections = inputs("network-fw-rules").ruleCollections as any[];
        const fqdns = collections.flatMap((c) => c.rules.flatMap((r: any) => r.targetFqdns ?? []));
        assert.ok(fqdns.includes("fhir.partner.example.com") && fqdns.includes("auth.partner.example.com") && fqdns.includes("login.microsoftonline.com"));
        const ext = collections.find((c) => c.name === "function-fqdns").rules.find((r: any) => r.name === "external-fhir");
        assert.deepEqual([ext.sourceAddresses, ext.targetFqdns], [["10.50.1.0/25"], ["fhir.partner.example.com", "auth.partner.example.com"]]);
        const tags = collections.flatMap((c) => c.rules.flatMap((r: any) => r.destinationAddresses ?? []));
        assert.deepEqual([...new Set(tags)].sort(), ["AzureActiveDirectory", "AzureKeyVault", "AzureMonitor", "Sql", "Storage"]);
        // The Function's NSG lets 443 reach the firewall (NSGs see the original destination); the deny stays last.
        const nsg = inputs("network-nsg-functionIntegration").securityRules as any[];
        const via = nsg.find((r) => r.name === "allow-external-fhir-via-firewall");
        assert.deepEqual([via.destinationAddressPrefix, via.destinationPortRange, via.direction], ["Internet", "443", "Outbound"]);
    });

    it("logs to Log Analytics in resource-specific tables and alerts on denied egress; egressPublicIp is the firewall's", () => {
        const diag = inputs("network-fw-afw-diag");
        assert.equal(diag.resourceUri, get("network-fw-afw").outputs.id);
        assert.equal(diag.workspaceId, get("monitoring-law").outputs.id);
        assert.equal(diag.logAnalyticsDestinationType, "Dedicated");
        assert.deepEqual(diag.logs.map((l: any) => l.category), [...FIREWALL_LOG_CATEGORIES]);
        const alert = inputs("alerts-denied-egress");
        assert.match(alert.criteria.allOf[0].query, /AZFWApplicationRule[\s\S]*AZFWNetworkRule[\s\S]*AZFWThreatIntel/);
        assert.ok(alert.criteria.allOf[0].query.includes(get("network-fw-afw").outputs.id as string));
        assert.equal(get("alerts-unusual-egress").type, "azure-native:monitor:ScheduledQueryRule", "the flow-log alert stays");
        const stack = plan.resources.find((r) => r.type === "pulumi:pulumi:Stack")!.outputs as Record<string, unknown>;
        assert.ok("egressPublicIp" in stack);
    });

    it("is guarded by net-egress-firewall-allowlist (mutations of this plan are refused)", async () => {
        const config = loadPolicyConfig(path.join(ROOT, "policy/config/prod.json"));
        const mutations: [string, (p: OfflinePlan) => void][] = [
            ["threat intelligence Alert", (p) => (edit(p, "network-fw-policy").threatIntelMode = "Alert")],
            ["an allow-all application rule", (p) => edit(p, "network-fw-rules").ruleCollections[2].rules.push({ ruleType: "ApplicationRule", name: "all", sourceAddresses: ["*"], targetFqdns: ["*"], protocols: [{ protocolType: "Https", port: 443 }] })],
            ["a network rule to 0.0.0.0/0", (p) => edit(p, "network-fw-rules").ruleCollections[0].rules.push({ ruleType: "NetworkRule", name: "any", sourceAddresses: ["10.50.1.0/25"], destinationAddresses: ["0.0.0.0/0"], destinationPorts: ["*"], ipProtocols: ["Any"] })],
            ["an FQDN network rule without DNS proxy", (p) => edit(p, "network-fw-rules").ruleCollections[0].rules.push({ ruleType: "NetworkRule", name: "fqdn", sourceAddresses: ["10.50.1.0/25"], destinationFqdns: ["example.org"], destinationPorts: ["443"], ipProtocols: ["TCP"] })],
            ["a firewall without its policy", (p) => delete edit(p, "network-fw-afw").firewallPolicy],
            ["the Application Gateway subnet routed to the firewall", (p) => {
                const table = p.resources.find((x) => x.name === "network-fw-rt-functionIntegration")!;
                const subnet = p.resources.find((x) => x.name === "network-snet-appGateway")!;
                (subnet.inputs as any).routeTable = { id: table.outputs.id };
                subnet.propertyDependencies = { ...subnet.propertyDependencies, routeTable: [table.urn] };
            }],
        ];
        for (const [what, mutate] of mutations) {
            const copy: OfflinePlan = JSON.parse(JSON.stringify(plan));
            mutate(copy);
            // Outputs echo the inputs under mocks: carry the edit over (the policies read both).
            for (const r of copy.resources.filter((x) => x.name.startsWith("network-fw-"))) {
                const outputOnly = Object.fromEntries(Object.entries(r.outputs).filter(([k]) => !(k in (plan.resources.find((o) => o.urn === r.urn)!.inputs))));
                r.outputs = { ...outputOnly, ...JSON.parse(JSON.stringify(r.inputs)) };
            }
            const r = await runPolicyPackOnPlan(copy as any, config);
            assert.ok(r.violations.some((v) => v.policy === "net-egress-firewall-allowlist" && v.level === "mandatory"), what);
        }
    });
});

function edit(plan: OfflinePlan, name: string): any {
    const r = plan.resources.find((x) => x.name === name)!;
    return r.inputs as any;
}

describe("egress firewall: dev plan with a regional Premium firewall (offline plan, policy gate)", function () {
    this.timeout(180000);

    it("plans green with IDPS in Deny and no zones", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-fw-dev-"));
        const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"));
        doc.config["fhir-platform:edge"].egress = { mode: "firewall", subnetPrefix: "10.40.0.64/26", sku: "Premium" };
        const file = path.join(dir, "Pulumi.dev.yaml");
        fs.writeFileSync(file, YAML.stringify(doc));
        const result = await runPlanCli(["--stack", "dev", "--config", file, "--out", dir]);
        assert.equal(result.code, 0, `plan or policy gate failed:\n${result.stdout}\n${result.stderr}`);
        const plan: OfflinePlan = JSON.parse(fs.readFileSync(path.join(dir, "plan-dev.json"), "utf8"));
        const inputsOf = (name: string) => plan.resources.find((r) => r.name === name)!.inputs as any;
        assert.deepEqual(inputsOf("network-fw-afw").sku, { name: "AZFW_VNet", tier: "Premium" });
        assert.equal(inputsOf("network-fw-afw").zones, undefined);
        assert.equal(inputsOf("network-fw-pip").zones, undefined);
        assert.deepEqual(inputsOf("network-fw-policy").intrusionDetection, { mode: "Deny" });
        assert.equal(inputsOf("network-fw-policy").threatIntelMode, "Deny");
        // No third-party server: the Function's NSG keeps its internet deny with no 443 exception.
        assert.ok(!(inputsOf("network-nsg-functionIntegration").securityRules as any[]).some((r) => r.name === "allow-external-fhir-via-firewall"));
    });
});
