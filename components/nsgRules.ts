/**
 * The NSG rules of each subnet, as plain data so they can be unit-tested and reviewed in one place. Every subnet
 * ends with an explicit deny so nothing depends on Azure's default rules (which allow all VNet-internal traffic).
 */

export type SubnetRole = "privateEndpoints" | "functionIntegration" | "apim" | "appGateway";

/** What the rules admit from outside the VNet. */
export interface NsgRuleOptions {
    /** The peered deploy runner's prefix (code deployment to the private SCM endpoint, see deployerAccess.ts). */
    deployerPrefix?: string;
    /** Sources admitted on 443 at the Application Gateway (CIDRs or the `Internet` tag). */
    clientRanges?: string[];
    /** A third-party FHIR server's public ranges: the only internet destination the Function may reach (443). */
    externalFhirPrefixes?: string[];
    /**
     * Firewall egress mode with a third-party FHIR server and no address ranges: the Function may send 443 to the
     * internet, which its route table sends only to the Azure Firewall, whose FQDN rules admit exactly that server's
     * hosts (egressFirewallRules.ts). NSGs match the original destination address, not the next hop.
     */
    externalFhirViaFirewall?: boolean;
}

export interface NsgRule {
    name: string;
    /** Why the rule exists; shown in the portal. */
    description: string;
    priority: number;
    direction: "Inbound" | "Outbound";
    access: "Allow" | "Deny";
    protocol: "Tcp" | "Udp" | "*";
    /** Address prefix or service tag. */
    source: string;
    /** Address prefix or service tag. */
    destination: string;
    /** Destination ports or ranges. */
    ports: string[];
}

function rule(
    name: string, priority: number, direction: NsgRule["direction"], access: NsgRule["access"], protocol: NsgRule["protocol"],
    source: string, destination: string, ports: string[], description: string,
): NsgRule {
    return { name, priority, direction, access, protocol, source, destination, ports, description };
}

const denyAllInbound = rule("deny-all-inbound", 4096, "Inbound", "Deny", "*", "*", "*", ["*"], "Anything not allowed above is refused.");

/** The rules for one subnet role, given the subnet prefixes of the whole VNet and what is admitted from outside it. */
export function nsgRulesFor(role: SubnetRole, subnets: Record<SubnetRole, string>, options: NsgRuleOptions = {}): NsgRule[] {
    const { deployerPrefix, clientRanges = [], externalFhirPrefixes = [], externalFhirViaFirewall = false } = options;
    switch (role) {
        case "privateEndpoints":
            return [
                rule("allow-apim-https", 100, "Inbound", "Allow", "Tcp", subnets.apim, subnets.privateEndpoints, ["443"],
                    "APIM calls FHIR and the Function App through their private endpoints."),
                rule("allow-function-https", 110, "Inbound", "Allow", "Tcp", subnets.functionIntegration, subnets.privateEndpoints, ["443"],
                    "The Function reaches FHIR, Key Vault and its storage through private endpoints."),
                ...(deployerPrefix
                    ? [rule("allow-deployer-scm-https", 120, "Inbound", "Allow", "Tcp", deployerPrefix, subnets.privateEndpoints, ["443"],
                        "The deploy runner (peered VNet) publishes the Function's code to its private SCM endpoint; it holds no data-plane role elsewhere.")]
                    : []),
                denyAllInbound,
            ];
        case "functionIntegration":
            return [
                // A VNet integration subnet only carries the app's outbound calls; requests arrive via the private endpoint.
                denyAllInbound,
                rule("allow-private-endpoints", 100, "Outbound", "Allow", "Tcp", subnets.functionIntegration, subnets.privateEndpoints, ["443"],
                    "FHIR, Key Vault and storage over their private endpoints."),
                rule("allow-entra-id", 110, "Outbound", "Allow", "Tcp", subnets.functionIntegration, "AzureActiveDirectory", ["443"],
                    "Token requests for client-credentials FHIR mode."),
                rule("allow-azure-monitor", 120, "Outbound", "Allow", "Tcp", subnets.functionIntegration, "AzureMonitor", ["443"],
                    "Application Insights telemetry (Entra-authenticated)."),
                ...externalFhirPrefixes.map((prefix, i) => rule(`allow-external-fhir-${i + 1}`, 130 + i, "Outbound", "Allow", "Tcp", subnets.functionIntegration, prefix, ["443"],
                    "Third-party FHIR server and its token endpoint (fhir.external.egressAddressPrefixes), through the NAT gateway.")),
                ...(externalFhirViaFirewall && externalFhirPrefixes.length === 0
                    ? [rule("allow-external-fhir-via-firewall", 130, "Outbound", "Allow", "Tcp", subnets.functionIntegration, "Internet", ["443"],
                        "Third-party FHIR over 443: routed to the Azure Firewall, whose FQDN rules admit only the fhir.external baseUrl and tokenUrl hosts.")]
                    : []),
                rule("deny-internet-outbound", 4000, "Outbound", "Deny", "*", "*", "Internet", ["*"],
                    "All outbound traffic is routed through the VNet; nothing may leave for the internet (PHI exfiltration)."),
            ];
        case "apim":
            // Internal-mode VNet injection, stv2 (MicrosoftDocs azure-docs: api-management/virtual-network-reference.md).
            return [
                rule("allow-apim-management", 100, "Inbound", "Allow", "Tcp", "ApiManagement", "VirtualNetwork", ["3443"],
                    "Required: Azure's management endpoint for the portal and ARM."),
                rule("allow-load-balancer", 110, "Inbound", "Allow", "Tcp", "AzureLoadBalancer", "VirtualNetwork", ["6390"],
                    "Required: Azure infrastructure load balancer health probes."),
                rule("allow-vnet-https", 120, "Inbound", "Allow", "Tcp", "VirtualNetwork", "VirtualNetwork", ["443"],
                    "Clients inside the VNet (or peered/VPN networks) call the internal gateway."),
                rule("allow-rate-limit-sync", 130, "Inbound", "Allow", "Udp", "VirtualNetwork", "VirtualNetwork", ["4290"],
                    "Rate-limit counters are synchronised between gateway instances."),
                rule("allow-internal-cache", 140, "Inbound", "Allow", "Tcp", "VirtualNetwork", "VirtualNetwork", ["6381-6383"],
                    "Internal cache shared between gateway instances."),
                denyAllInbound,
                rule("allow-storage", 100, "Outbound", "Allow", "Tcp", "VirtualNetwork", "Storage", ["443"],
                    "Required: APIM's own configuration and log storage."),
                rule("allow-sql", 110, "Outbound", "Allow", "Tcp", "VirtualNetwork", "Sql", ["1433"],
                    "Required: APIM's configuration database."),
                rule("allow-key-vault", 120, "Outbound", "Allow", "Tcp", "VirtualNetwork", "AzureKeyVault", ["443"],
                    "Required on stv2: certificates and named values from Key Vault."),
                rule("allow-azure-monitor", 130, "Outbound", "Allow", "Tcp", "VirtualNetwork", "AzureMonitor", ["1886", "443"],
                    "Diagnostics logs, metrics and Application Insights."),
                rule("allow-backends", 140, "Outbound", "Allow", "Tcp", subnets.apim, subnets.privateEndpoints, ["443"],
                    "Backends: FHIR and the Function App through their private endpoints."),
                rule("allow-entra-id", 150, "Outbound", "Allow", "Tcp", "VirtualNetwork", "AzureActiveDirectory", ["443"],
                    "validate-jwt fetches Entra signing keys; managed identity tokens for FHIR."),
            ];
        case "appGateway":
            // Application Gateway v2 requirements (Learn, "Application Gateway infrastructure configuration", NSGs):
            // GatewayManager on 65200-65535 and the Azure load balancer must be admitted, and outbound Internet must
            // not be blocked (the gateway reaches Key Vault for its certificate and reports health). Clients: 443 only.
            return [
                rule("allow-gateway-manager", 100, "Inbound", "Allow", "Tcp", "GatewayManager", "*", ["65200-65535"],
                    "Required: Azure's infrastructure communication with the v2 gateway."),
                rule("allow-load-balancer", 110, "Inbound", "Allow", "*", "AzureLoadBalancer", "*", ["*"],
                    "Required: Azure load balancer health probes."),
                ...clientRanges.map((source, i) => rule(`allow-clients-https-${i + 1}`, 200 + i, "Inbound", "Allow", "Tcp", source, subnets.appGateway, ["443"],
                    "Partners' HTTPS to the WAF listener (edge.allowedClientRanges).")),
                denyAllInbound,
            ];
    }
}
