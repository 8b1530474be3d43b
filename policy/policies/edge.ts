// The public edge and egress (issue 11): Application Gateway WAF_v2 in Prevention mode with current managed rules,
// HTTPS-only listeners on a modern TLS policy with Key Vault certificates, VNet flow logs, DDoS protection in prod.
import * as network from "@pulumi/azure-native/network";
import { PolicyResource, validateResourceOfType } from "@pulumi/policy";
import { asArray, eqi, has, linksTo, peek, resourcePolicy, stackPolicy } from "./framework";

const AGW = "azure-native:network:ApplicationGateway";
const WAF = "azure-native:network:WebApplicationFirewallPolicy";
const VNET = "azure-native:network:VirtualNetwork";
const FLOW_LOG = "azure-native:network:FlowLog";
const PIP = "azure-native:network:PublicIPAddress";
const AFW = "azure-native:network:AzureFirewall";
const AFW_POLICY = "azure-native:network:FirewallPolicy";
const AFW_RULES = "azure-native:network:FirewallPolicyRuleCollectionGroup";
const SUBNET = "azure-native:network:Subnet";
const ROUTE_TABLE = "azure-native:network:RouteTable";

/** Managed rule sets at least as current as these (Learn, "DRS and CRS rule groups and rules"). */
const CURRENT_RULE_SETS: Record<string, number> = { Microsoft_DefaultRuleSet: 2.1, OWASP: 3.2 };

function wafOf(agw: PolicyResource, resources: PolicyResource[]): PolicyResource | undefined {
    const linked = (agw.propertyDependencies.firewallPolicy ?? []).find(r => r.type === WAF);
    if (linked) return linked;
    const id = peek(peek(agw.props, "firewallPolicy"), "id");
    return resources.find(r => r.type === WAF && typeof id === "string" && peek(r.props, "id") === id);
}

export const agwWafPrevention = stackPolicy(
    {
        name: "agw-waf-v2-prevention",
        description:
            "Application Gateways must be WAF_v2 with a firewallPolicy (WebApplicationFirewallPolicy) that is Enabled, in " +
            "Prevention mode, inspects request bodies, and runs Microsoft_DefaultRuleSet ≥ 2.1 or OWASP ≥ 3.2.",
        enforcementLevel: "mandatory",
        severity: "critical",
        resourceTypes: [AGW, WAF],
        anchor: { derivedFrom: "Azure Policy built-ins 'WAF should be enabled for Application Gateway' and '…use the specified mode'; HIPAA-ready Functions guidance (WAF in front of HTTP endpoints)" },
    },
    (args, report) => {
        for (const agw of args.resources.filter(r => r.type === AGW)) {
            if (!eqi(peek(peek(agw.props, "sku"), "tier"), "WAF_v2")) report(`'${agw.name}' is not the WAF_v2 tier.`, agw.urn);
            const waf = wafOf(agw, args.resources);
            if (!waf) {
                report(`'${agw.name}' has no firewallPolicy.`, agw.urn);
                continue;
            }
            const settings = peek(waf.props, "policySettings");
            if (!eqi(peek(settings, "state"), "Enabled")) report(`WAF policy '${waf.name}' is not Enabled.`, waf.urn);
            if (!eqi(peek(settings, "mode"), "Prevention")) report(`WAF policy '${waf.name}' is in ${String(peek(settings, "mode"))} mode, not Prevention.`, waf.urn);
            if (peek(settings, "requestBodyCheck") !== true) report(`WAF policy '${waf.name}' does not inspect request bodies.`, waf.urn);
            const sets = asArray<any>(peek(peek(waf.props, "managedRules"), "managedRuleSets") as any[]);
            const current = sets.some(s => {
                const min = CURRENT_RULE_SETS[String(s.ruleSetType)];
                return min !== undefined && Number.parseFloat(String(s.ruleSetVersion)) >= min;
            });
            if (!current) report(`WAF policy '${waf.name}' runs no current managed rule set (DefaultRuleSet ≥ 2.1 or OWASP ≥ 3.2).`, waf.urn);
        }
    },
);

const MODERN_PREDEFINED = ["AppGwSslPolicy20220101", "AppGwSslPolicy20220101S"];

export const agwHttpsModernTls = resourcePolicy(
    {
        name: "agw-https-listeners-tls",
        description:
            "Application Gateway listeners must be HTTPS (an HTTP listener may only redirect) and the sslPolicy must be a 2022 " +
            "predefined policy (AppGwSslPolicy20220101[S]) or a custom one with minProtocolVersion TLSv1_2 or later.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [AGW],
        anchor: { derivedFrom: "Learn, Application Gateway TLS policy overview (the 2015/2017 policies allow TLS 1.0)" },
    },
    validateResourceOfType(network.ApplicationGateway, (agw, _args, report) => {
        const redirecting = new Set(asArray<any>(agw.requestRoutingRules).filter(r => has(r, "redirectConfiguration")).map(r => String(peek(peek(r, "httpListener"), "id") ?? "").split("/").pop()));
        for (const l of asArray<any>(agw.httpListeners)) {
            if (!eqi(l.protocol, "Https") && !redirecting.has(String(l.name))) report(`listener '${String(l.name)}' serves ${String(l.protocol)} without redirecting to HTTPS.`);
        }
        const ssl = agw.sslPolicy as any;
        if (!ssl) {
            report("sslPolicy is not set (the default policy allows TLS 1.0).");
            return;
        }
        if (eqi(ssl.policyType, "Predefined")) {
            if (!MODERN_PREDEFINED.includes(String(ssl.policyName))) report(`sslPolicy ${String(ssl.policyName)} is not a 2022 predefined policy.`);
        } else if (!["TLSv1_2", "TLSv1_3"].includes(String(ssl.minProtocolVersion))) {
            report(`sslPolicy minProtocolVersion is ${String(ssl.minProtocolVersion)}, not TLSv1_2 or later.`);
        }
    }),
);

export const agwKeyVaultCertificates = resourcePolicy(
    {
        name: "agw-keyvault-certificates",
        description:
            "Application Gateway certificates must be referenced from Key Vault (sslCertificates[].keyVaultSecretId), never " +
            "uploaded as data/password through the program (they would sit in state and rotate by hand).",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [AGW],
        anchor: { derivedFrom: "Learn, TLS termination with Key Vault certificates" },
    },
    validateResourceOfType(network.ApplicationGateway, (agw, _args, report) => {
        for (const c of asArray<any>(agw.sslCertificates)) {
            if (!has(c, "keyVaultSecretId")) report(`certificate '${String(c.name)}' is not a Key Vault reference.`);
            if (has(c, "data") || has(c, "password")) report(`certificate '${String(c.name)}' carries its data or password inline.`);
        }
    }),
);

export const vnetFlowLogs = stackPolicy(
    {
        name: "net-vnet-flow-logs",
        description:
            "Every virtual network needs an enabled VNet flow log (network.FlowLog targeting it) with traffic analytics into a " +
            "Log Analytics workspace, so egress and lateral traffic are on record.",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: [VNET, FLOW_LOG],
        anchor: { derivedFrom: "Learn, VNet flow logs (NSG flow logs retired for new deployments); policy-catalogue NET-FLOWLOGS" },
    },
    (args, report) => {
        const logs = args.resources.filter(r => r.type === FLOW_LOG);
        for (const vnet of args.resources.filter(r => r.type === VNET)) {
            const id = peek(vnet.props, "id");
            const mine = logs.filter(l => linksTo(l, vnet, ["targetResourceId"]) || (typeof id === "string" && peek(l.props, "targetResourceId") === id));
            if (mine.length === 0) {
                report(`virtual network '${vnet.name}' has no flow log.`, vnet.urn);
                continue;
            }
            for (const l of mine) {
                if (peek(l.props, "enabled") !== true) report(`flow log '${l.name}' is not enabled.`, l.urn);
                const ta = peek(peek(l.props, "flowAnalyticsConfiguration"), "networkWatcherFlowAnalyticsConfiguration");
                if (peek(ta, "enabled") !== true || !has(ta, "workspaceResourceId")) report(`flow log '${l.name}' sends no traffic analytics to Log Analytics.`, l.urn);
            }
        }
    },
);

export const ddosProtection = stackPolicy(
    {
        name: "net-ddos-protection",
        description:
            "When config requireDdosProtection is true (prod), the public entry must be DDoS-protected: the VNet has a DDoS " +
            "protection plan with enableDdosProtection, or every Application Gateway frontend public IP has per-IP protection " +
            "(ddosSettings.protectionMode Enabled).",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [VNET, PIP, AGW],
        anchor: { derivedFrom: "Azure Policy built-in 'Azure DDoS Protection should be enabled'; Learn, DDoS IP Protection vs Network Protection" },
        settings: { requireDdosProtection: { type: "boolean", default: false } },
    },
    (args, report) => {
        const { requireDdosProtection } = args.getConfig<{ requireDdosProtection: boolean }>();
        if (!requireDdosProtection) return;
        const vnetProtected = args.resources.some(r => r.type === VNET && peek(r.props, "enableDdosProtection") === true && has(r.props, "ddosProtectionPlan"));
        if (vnetProtected) return;
        for (const agw of args.resources.filter(r => r.type === AGW)) {
            const ips = (agw.propertyDependencies.frontendIPConfigurations ?? []).filter(r => r.type === PIP);
            if (ips.length === 0) report(`'${agw.name}' has no public IP this policy can see; protect the VNet with a DDoS plan.`, agw.urn);
            for (const ip of ips) {
                if (!eqi(peek(peek(ip.props, "ddosSettings"), "protectionMode"), "Enabled")) report(`public IP '${ip.name}' of '${agw.name}' has no DDoS protection and the VNet has no plan.`, ip.urn);
            }
        }
    },
);

/** Destinations that mean "anywhere": an Allow rule with one is no allow-list. */
const ANYWHERE = ["*", "0.0.0.0/0", "internet", "any"];

export const egressFirewallAllowList = stackPolicy(
    {
        name: "net-egress-firewall-allowlist",
        description:
            "Egress firewalls deny by default: every Azure Firewall takes its rules from a Firewall Policy (no classic rule " +
            "collections) of the Standard or Premium tier with threat intelligence in Deny mode; no Allow rule targets every " +
            "FQDN or every address (`*`, 0.0.0.0/0, Internet); network rules with FQDNs need the policy's DNS proxy; and no " +
            "Application Gateway subnet routes 0.0.0.0/0 to a virtual appliance (unsupported for v2).",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [AFW, AFW_POLICY, AFW_RULES, AGW, SUBNET, ROUTE_TABLE],
        anchor: { derivedFrom: "Azure Policy built-ins 'Azure Firewall Policy should enable Threat Intelligence' and '…DNS Proxy'; Learn, Azure Firewall rule processing, DNS settings; Application Gateway infrastructure configuration (UDRs)" },
    },
    (args, report) => {
        const policies = args.resources.filter(r => r.type === AFW_POLICY);
        for (const fw of args.resources.filter(r => r.type === AFW)) {
            if (!has(fw.props, "firewallPolicy")) report(`Azure Firewall '${fw.name}' has no firewallPolicy.`, fw.urn);
            for (const classic of ["applicationRuleCollections", "networkRuleCollections", "natRuleCollections"]) {
                if (asArray(peek(fw.props, classic) as unknown[]).length > 0) report(`Azure Firewall '${fw.name}' carries classic ${classic}: keep rules in its Firewall Policy.`, fw.urn);
            }
        }
        for (const pol of policies) {
            if (!eqi(peek(pol.props, "threatIntelMode"), "Deny")) report(`Firewall Policy '${pol.name}' threat intelligence is ${String(peek(pol.props, "threatIntelMode") ?? "Alert (default)")}, not Deny.`, pol.urn);
            const tier = String(peek(peek(pol.props, "sku"), "tier") ?? "Standard");
            if (!["standard", "premium"].includes(tier.toLowerCase())) report(`Firewall Policy '${pol.name}' is the ${tier} tier: use Standard or Premium (FQDN filtering, threat intelligence Deny).`, pol.urn);
        }
        for (const group of args.resources.filter(r => r.type === AFW_RULES)) {
            const pol = (group.propertyDependencies.firewallPolicyName ?? []).find(r => r.type === AFW_POLICY)
                ?? policies.find(p => peek(p.props, "firewallPolicyName") === peek(group.props, "firewallPolicyName"));
            const dnsProxy = peek(peek(pol?.props, "dnsSettings"), "enableProxy") === true;
            for (const c of asArray<any>(peek(group.props, "ruleCollections") as any[])) {
                if (!eqi(peek(peek(c, "action"), "type"), "Allow")) continue;
                for (const rule of asArray<any>(c.rules)) {
                    const where = `rule '${String(rule.name)}' in collection '${String(c.name)}' of '${group.name}'`;
                    const fqdns = [...asArray<string>(rule.targetFqdns), ...asArray<string>(rule.destinationFqdns)];
                    if (fqdns.includes("*")) report(`${where} allows every FQDN (*).`, group.urn);
                    const addresses = asArray<string>(rule.destinationAddresses).map(a => String(a).toLowerCase());
                    if (addresses.some(a => ANYWHERE.includes(a))) report(`${where} allows every destination address.`, group.urn);
                    if (eqi(rule.ruleType, "NetworkRule") && asArray(rule.destinationFqdns).length > 0 && !dnsProxy) {
                        report(`${where} filters by FQDN in a network rule but the Firewall Policy has no DNS proxy (dnsSettings.enableProxy).`, group.urn);
                    }
                }
            }
        }
        // Application Gateway v2 subnets must keep their Internet next hop (Learn, "Application Gateway infrastructure
        // configuration": a 0.0.0.0/0 route to a virtual appliance is not supported).
        const tables = args.resources.filter(r => r.type === ROUTE_TABLE);
        for (const agw of args.resources.filter(r => r.type === AGW)) {
            for (const subnet of (agw.propertyDependencies.gatewayIPConfigurations ?? []).filter(r => r.type === SUBNET)) {
                const rt = (subnet.propertyDependencies.routeTable ?? []).find(r => r.type === ROUTE_TABLE)
                    ?? tables.find(t => { const id = peek(t.props, "id"); return typeof id === "string" && peek(peek(subnet.props, "routeTable"), "id") === id; });
                const forced = asArray<any>(peek(rt?.props, "routes") as any[]).some(r => r.addressPrefix === "0.0.0.0/0" && eqi(r.nextHopType, "VirtualAppliance"));
                if (forced) report(`subnet '${subnet.name}' of Application Gateway '${agw.name}' routes 0.0.0.0/0 to a virtual appliance (unsupported for v2).`, subnet.urn);
            }
        }
    },
);

export const edgePolicies = [agwWafPrevention, agwHttpsModernTls, agwKeyVaultCertificates, vnetFlowLogs, ddosProtection, egressFirewallAllowList];
