/**
 * The egress firewall's allow-list, routes and log queries as plain data, so they can be unit-tested and reviewed in
 * one place (components/egressFirewall.ts declares them). Everything not listed here is refused by Azure Firewall's
 * implicit deny (Learn, "Azure Firewall rule processing logic": network rules, then application rules, then deny).
 */
import type { input } from "@pulumi/azure-native/types";
import type { SubnetRole } from "./nsgRules";

/** The subnets whose egress the firewall filters (0.0.0.0/0 → firewall). Never the Application Gateway's (below). */
export const FIREWALL_ROUTED_SUBNETS = ["functionIntegration", "apim"] as const satisfies readonly SubnetRole[];
export type FirewallRoutedSubnet = (typeof FIREWALL_ROUTED_SUBNETS)[number];

/** The subnet name Azure requires for the firewall (exactly this; /26 at least; no NSG, no route table to itself). */
export const AZURE_FIREWALL_SUBNET_NAME = "AzureFirewallSubnet";
/** Learn, "Azure Firewall FAQ": AzureFirewallSubnet must be /26 so the service can scale. */
export const AZURE_FIREWALL_SUBNET_MAX_PREFIX = 26;

/** Structured (resource-specific) Azure Firewall logs (Learn, "Azure Firewall structured logs"). */
export const FIREWALL_LOG_CATEGORIES = [
    "AZFWApplicationRule",
    "AZFWNetworkRule",
    "AZFWNatRule",
    "AZFWThreatIntel",
    "AZFWIdpsSignature",
    "AZFWDnsQuery",
    "AZFWFqdnResolveFailure",
    "AZFWApplicationRuleAggregation",
    "AZFWNetworkRuleAggregation",
] as const;

export interface FirewallNetworkRule {
    name: string;
    description: string;
    /** Source subnet prefixes. */
    sources: string[];
    /** Service tags (never `*`, never an FQDN: FQDNs belong in application rules, which need no DNS proxy). */
    serviceTags: string[];
    ports: string[];
}

export interface FirewallApplicationRule {
    name: string;
    description: string;
    sources: string[];
    /** Exact host names (no wildcard). */
    fqdns: string[];
    protocols: { protocolType: "Https" | "Http"; port: number }[];
}

export type FirewallRuleCollection =
    | { kind: "network"; name: string; priority: number; rules: FirewallNetworkRule[] }
    | { kind: "application"; name: string; priority: number; rules: FirewallApplicationRule[] };

export interface EgressAllowListInputs {
    /** Prefixes of the routed subnets. */
    subnets: Record<FirewallRoutedSubnet, string>;
    /** Third-party FHIR mode (`fhir.external`): its base URL and token URL; only their hosts are allowed. */
    externalFhir?: { baseUrl: string; tokenUrl: string };
}

/** Entra ID token authority (FHIR client credentials, the third-party mode's own tokens go to its token URL). */
export const ENTRA_AUTHORITY_HOST = "login.microsoftonline.com";

/**
 * Certificate revocation and chain building for APIM (Learn, APIM "Virtual network configuration reference", TLS
 * functionality): ports 80 and 443 to these hosts.
 */
export const APIM_CERTIFICATE_HOSTS = ["ocsp.msocsp.com", "oneocsp.msocsp.com", "mscrl.microsoft.com", "crl.microsoft.com", "csp.digicert.com"];

/** The host of an https URL, lowercased (throws on anything else: config validation already checked the URLs). */
export function hostOf(url: string): string {
    return new URL(url).hostname.toLowerCase();
}

/**
 * The rule collections of the platform's firewall policy: per subnet, service tags for the Azure services it uses
 * (network rules) and exact FQDNs for the rest (application rules).
 */
export function egressRuleCollections(inputs: EgressAllowListInputs): FirewallRuleCollection[] {
    const func = [inputs.subnets.functionIntegration];
    const apim = [inputs.subnets.apim];
    const externalHosts = inputs.externalFhir
        ? [...new Set([hostOf(inputs.externalFhir.baseUrl), hostOf(inputs.externalFhir.tokenUrl)])]
        : [];
    return [
        {
            kind: "network", name: "function-azure-services", priority: 100, rules: [
                { name: "azure-monitor", description: "Application Insights telemetry (Entra-authenticated ingestion).", sources: func, serviceTags: ["AzureMonitor"], ports: ["443"] },
            ],
        },
        {
            // APIM Internal mode, stv2 (Learn, APIM "Virtual network configuration reference": required outbound).
            kind: "network", name: "apim-azure-services", priority: 110, rules: [
                { name: "storage", description: "Required: APIM's configuration and log storage.", sources: apim, serviceTags: ["Storage"], ports: ["443"] },
                { name: "sql", description: "Required: APIM's configuration database.", sources: apim, serviceTags: ["Sql"], ports: ["1433"] },
                { name: "key-vault", description: "Required on stv2: certificates and named values from Key Vault.", sources: apim, serviceTags: ["AzureKeyVault"], ports: ["443"] },
                { name: "azure-monitor", description: "Diagnostics logs, metrics and Application Insights.", sources: apim, serviceTags: ["AzureMonitor"], ports: ["1886", "443"] },
                { name: "entra-id", description: "validate-jwt signing keys; managed identity tokens for FHIR.", sources: apim, serviceTags: ["AzureActiveDirectory"], ports: ["443"] },
            ],
        },
        {
            kind: "application", name: "function-fqdns", priority: 200, rules: [
                { name: "entra-authority", description: "Entra ID token endpoint (FHIR client-credentials mode, token authority).", sources: func, fqdns: [ENTRA_AUTHORITY_HOST], protocols: [{ protocolType: "Https", port: 443 }] },
                ...(externalHosts.length > 0
                    ? [{ name: "external-fhir", description: "Third-party FHIR server and its token endpoint (fhir.external baseUrl and tokenUrl hosts), nothing else.", sources: func, fqdns: externalHosts, protocols: [{ protocolType: "Https" as const, port: 443 }] }]
                    : []),
            ],
        },
        {
            kind: "application", name: "apim-fqdns", priority: 210, rules: [
                { name: "certificate-revocation", description: "Required: TLS certificate chain building and revocation checks.", sources: apim, fqdns: APIM_CERTIFICATE_HOSTS, protocols: [{ protocolType: "Http", port: 80 }, { protocolType: "Https", port: 443 }] },
            ],
        },
    ];
}

/** The azure-native shape of the rule collections (FirewallPolicyRuleCollectionGroup.ruleCollections). */
export function toRuleCollectionArgs(collections: FirewallRuleCollection[]): input.network.FirewallPolicyFilterRuleCollectionArgs[] {
    return collections.map((c) => ({
        ruleCollectionType: "FirewallPolicyFilterRuleCollection",
        name: c.name,
        priority: c.priority,
        action: { type: "Allow" },
        rules: c.kind === "network"
            ? c.rules.map((r): input.network.NetworkRuleArgs => ({
                ruleType: "NetworkRule", name: r.name, description: r.description,
                sourceAddresses: r.sources, destinationAddresses: r.serviceTags, destinationPorts: r.ports, ipProtocols: ["TCP"],
            }))
            : c.rules.map((r): input.network.ApplicationRuleArgs => ({
                ruleType: "ApplicationRule", name: r.name, description: r.description,
                sourceAddresses: r.sources, targetFqdns: r.fqdns, protocols: r.protocols,
            })),
    }));
}

export interface EgressRoute {
    name: string;
    addressPrefix: string;
    nextHopType: "VirtualAppliance" | "Internet";
    nextHopIpAddress?: string;
}

/**
 * The routes of a routed subnet's table. Everything leaves through the firewall; APIM's management endpoint stays on
 * the Internet next hop (Learn, APIM "Virtual network configuration reference", force tunnel traffic: the
 * `ApiManagement` service tag must route to Internet, or control-plane replies return asymmetrically and drop).
 * VNet-internal traffic (private endpoints) keeps the more specific system route.
 */
export function egressRoutes(subnet: FirewallRoutedSubnet, firewallPrivateIp: string): EgressRoute[] {
    return [
        { name: "default-via-firewall", addressPrefix: "0.0.0.0/0", nextHopType: "VirtualAppliance", nextHopIpAddress: firewallPrivateIp },
        ...(subnet === "apim" ? [{ name: "apim-management", addressPrefix: "ApiManagement", nextHopType: "Internet" as const }] : []),
    ];
}

/** Firewall-mode alert thresholds. */
export const FIREWALL_ALERT_THRESHOLDS = {
    /** Denied egress attempts (rule or threat intelligence) in an hour: the platform's callers are fixed, so any is unusual. */
    deniedEgress: 0,
} as const;

/**
 * Egress the firewall refused: application or network rule denies, and every threat-intelligence hit (resource-specific
 * tables AZFWApplicationRule, AZFWNetworkRule, AZFWThreatIntel; Learn, "Azure Firewall structured logs").
 */
export function deniedEgressQuery(firewallId: string): string {
    return [
        "union isfuzzy=true",
        "  (AZFWApplicationRule | where Action == \"Deny\" | extend Destination = Fqdn, Kind = \"application\"),",
        "  (AZFWNetworkRule | where Action == \"Deny\" | extend Destination = DestinationIp, Kind = \"network\"),",
        "  (AZFWThreatIntel | extend Destination = coalesce(Fqdn, DestinationIp), Kind = \"threat-intel\")",
        `| where _ResourceId =~ "${firewallId}"`,
        "| project TimeGenerated, Kind, SourceIp, Destination, DestinationPort, Action",
    ].join("\n");
}
