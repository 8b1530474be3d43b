import { cidrContains, cidrOverlaps, Ipv4Cidr, isPrivateRange } from "../components/cidr";
import { AZURE_FIREWALL_SUBNET_MAX_PREFIX } from "../components/egressFirewallRules";
import { drsRuleGroup } from "../components/wafRules";
import type { ExternalFhirConfig } from "./configFields";
import { Raw, Reader } from "./configReader";

/** How the platform is reached from outside and how its subnets reach out: the public edge, DDoS and egress. */
export interface EdgeConfig {
    /** The host name partners call (a DNS name you own; CNAME or A record to the gateway's public IP). */
    hostName: string;
    /** The listener's certificate, referenced from Key Vault (never uploaded through the program). */
    certificate: {
        /** Versionless secret URI (`https://<vault>.vault.azure.net/secrets/<name>`): the gateway follows rotations. */
        keyVaultSecretId: string;
        /** ARM id of that vault (the gateway's identity is granted Secrets User on the certificate's secret there). */
        keyVaultId: string;
    };
    /** Source ranges admitted on 443 (CIDRs, or `Internet` outside prod). */
    allowedClientRanges: string[];
    /** Autoscale bounds of the WAF_v2 gateway. */
    minCapacity: number;
    maxCapacity: number;
    waf: {
        /** Largest request body the WAF accepts (KB): at least the largest HL7 message the Function accepts. */
        maxRequestBodySizeKb: number;
        /** Managed rules switched off, each with the reason seen in the WAF log (none by default). */
        disabledRules: { ruleId: string; reason: string }[];
    };
    /** DDoS protection: per-IP on the gateway's public IP, or a network plan on the VNet (existing or new). */
    ddos: { mode: "off" | "ipProtection" | "networkPlan"; planId?: string };
    /**
     * How the app subnets reach out: `nat` (default) through the NAT gateway, narrowed by NSG service tags; `firewall`
     * through an Azure Firewall (`subnetPrefix` for AzureFirewallSubnet, /26 or larger; `sku` Standard or Premium) with
     * an FQDN / service-tag allow-list and threat intelligence in Deny mode.
     */
    egress: { mode: "nat" } | { mode: "firewall"; subnetPrefix: string; sku: "Standard" | "Premium" };
}

/** What the edge reader checks egress against: the VNet plan and third-party FHIR mode. */
export interface EdgeEgressContext {
    /** `network.addressSpace`, when it parsed. */
    addressSpace?: Ipv4Cidr;
    /** The platform subnets that parsed, by config name. */
    subnets?: [string, Ipv4Cidr][];
    /** `fhir.external`, when configured. */
    externalFhir?: ExternalFhirConfig;
}

const FQDN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const SECRET_ID = /^https:\/\/([a-z0-9-]{3,24})\.vault\.azure\.net\/secrets\/([A-Za-z0-9-]{1,127})\/?$/;
const VAULT_ID = /^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/vaults\/([a-z0-9-]{3,24})$/i;
const DDOS_PLAN_ID = /^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/ddosProtectionPlans\/[^/]+$/i;

/** Reads `fhir-platform:edge`; `maxMessageBytes` is the Function's limit, which the WAF must not undercut. */
export function readEdgeConfig(r: Reader, value: unknown, ctx: { isProd: boolean; maxMessageBytes: number } & EdgeEgressContext): EdgeConfig {
    const edge = r.object(value, "edge", ["hostName", "certificate", "allowedClientRanges", "minCapacity", "maxCapacity", "waf", "ddos", "egress"]);
    const hostName = r.string(edge.hostName, "edge.hostName", FQDN, "is not a lowercase DNS name");

    const cert = r.object(edge.certificate, "edge.certificate", ["keyVaultSecretId", "keyVaultId"]);
    const secretId = r.string(cert.keyVaultSecretId, "edge.certificate.keyVaultSecretId", SECRET_ID, "must be a versionless Key Vault secret URI https://<vault>.vault.azure.net/secrets/<name> (the gateway then follows rotations)");
    const vaultId = r.string(cert.keyVaultId, "edge.certificate.keyVaultId", VAULT_ID, "is not a Key Vault resource id");
    const secretVault = SECRET_ID.exec(secretId)?.[1];
    const idVault = VAULT_ID.exec(vaultId)?.[1]?.toLowerCase();
    if (secretVault && idVault && secretVault !== idVault) {
        r.problem("edge.certificate.keyVaultId", `names vault "${idVault}" but keyVaultSecretId is in "${secretVault}"`);
    }

    const allowedClientRanges = r.stringList(edge.allowedClientRanges, "edge.allowedClientRanges", (range, key) => {
        if (range === "Internet") {
            if (ctx.isProd) r.problem(key, "\"Internet\" is not allowed in prod: list the partners' egress ranges");
            return;
        }
        const cidr = r.cidr(range, key);
        if (!cidr) return;
        if (cidr.prefix === 0) r.problem(key, `"${range}" admits every address; write "Internet" (dev only) if that is meant`);
        else if (isPrivateRange(cidr)) r.problem(key, `"${range}" is a private range: the listener is public, partners reach it from their public egress addresses`);
    });
    if (allowedClientRanges.length === 0) r.problem("edge.allowedClientRanges", "lists nobody: name at least one source range");

    const minCapacity = r.integer(edge.minCapacity ?? (ctx.isProd ? 2 : 0), "edge.minCapacity", 0, 125);
    if (ctx.isProd && minCapacity < 2) r.problem("edge.minCapacity", `${minCapacity} leaves prod on one instance: at least 2 (one per zone)`);
    const maxCapacity = r.integer(edge.maxCapacity ?? 10, "edge.maxCapacity", 2, 125);
    if (maxCapacity < minCapacity) r.problem("edge.maxCapacity", `${maxCapacity} is below edge.minCapacity (${minCapacity})`);

    const waf = r.object(edge.waf ?? {}, "edge.waf", ["maxRequestBodySizeKb", "disabledRules"]);
    const neededKb = Math.ceil(ctx.maxMessageBytes / 1024);
    // WAF_v2 with request body enforcement accepts up to 2 MB on CRS 3.2 / DRS 2.1 (Learn, "Application Gateway WAF
    // request size limits").
    const maxRequestBodySizeKb = r.integer(waf.maxRequestBodySizeKb ?? Math.max(neededKb, 128), "edge.waf.maxRequestBodySizeKb", 8, 2000);
    if (maxRequestBodySizeKb < neededKb) {
        r.problem("edge.waf.maxRequestBodySizeKb", `${maxRequestBodySizeKb} KB is below functionApp.maxMessageBytes (${neededKb} KB): the WAF would refuse messages the Function accepts`);
    }
    const disabledRules = readDisabledRules(r, waf.disabledRules);

    const ddosRaw = r.object(edge.ddos ?? { mode: "off" }, "edge.ddos", ["mode", "planId"]);
    const mode = r.oneOf(ddosRaw.mode, "edge.ddos.mode", ["off", "ipProtection", "networkPlan"] as const);
    if (ctx.isProd && mode === "off") r.problem("edge.ddos.mode", "prod needs DDoS protection: ipProtection (the gateway's IP) or networkPlan");
    let planId: string | undefined;
    if (ddosRaw.planId !== undefined) {
        planId = r.string(ddosRaw.planId, "edge.ddos.planId", DDOS_PLAN_ID, "is not a DDoS protection plan id");
        if (mode !== "networkPlan") r.problem("edge.ddos.planId", "is only used with mode networkPlan");
    }

    const egress = readEgress(r, edge.egress, ctx);

    return {
        hostName,
        certificate: { keyVaultSecretId: secretId.replace(/\/$/, ""), keyVaultId: vaultId },
        allowedClientRanges,
        minCapacity,
        maxCapacity,
        waf: { maxRequestBodySizeKb, disabledRules },
        ddos: { mode, ...(planId ? { planId } : {}) },
        egress,
    };
}

/** `edge.egress`: `{ mode: nat }` (default) or `{ mode: firewall, subnetPrefix, sku? }`. */
function readEgress(r: Reader, value: unknown, ctx: EdgeEgressContext): EdgeConfig["egress"] {
    const raw = r.object(value ?? { mode: "nat" }, "edge.egress", ["mode", "subnetPrefix", "sku"]);
    const mode = r.oneOf(raw.mode ?? "nat", "edge.egress.mode", ["nat", "firewall"] as const);
    const external = ctx.externalFhir;
    if (mode !== "firewall") {
        for (const key of ["subnetPrefix", "sku"]) if (raw[key] !== undefined) r.problem(`edge.egress.${key}`, "is only used with mode firewall");
        // The NSG is the only filter in NAT mode: it needs the third-party server's addresses.
        if (external && external.egressAddressPrefixes.length === 0) {
            r.problem("fhir.external.egressAddressPrefixes", "must list the server's public address ranges: no other internet egress is allowed (or set edge.egress.mode firewall, which allows its hosts by FQDN)");
        }
        return { mode: "nat" };
    }
    const sku = r.oneOf(raw.sku ?? "Standard", "edge.egress.sku", ["Standard", "Premium"] as const);
    const key = "edge.egress.subnetPrefix";
    const cidr = r.cidr(raw.subnetPrefix, key);
    if (cidr) {
        if (cidr.prefix > AZURE_FIREWALL_SUBNET_MAX_PREFIX) r.problem(key, `"${cidr.text}" is too small: AzureFirewallSubnet must be /${AZURE_FIREWALL_SUBNET_MAX_PREFIX} or larger`);
        if (ctx.addressSpace && !cidrContains(ctx.addressSpace, cidr)) r.problem(key, `"${cidr.text}" is outside the address space ${ctx.addressSpace.text}`);
        for (const [name, other] of ctx.subnets ?? []) {
            if (cidrOverlaps(cidr, other)) r.problem(key, `"${cidr.text}" overlaps network.subnets.${name} (${other.text})`);
        }
    }
    return { mode: "firewall", subnetPrefix: cidr?.text ?? String(raw.subnetPrefix ?? ""), sku };
}

function readDisabledRules(r: Reader, value: unknown): { ruleId: string; reason: string }[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
        r.problem("edge.waf.disabledRules", "must be a list of { ruleId, reason }");
        return [];
    }
    return value.map((item: unknown, i) => {
        const key = `edge.waf.disabledRules[${i}]`;
        const entry: Raw = r.object(item, key, ["ruleId", "reason"]);
        const ruleId = r.string(typeof entry.ruleId === "number" ? String(entry.ruleId) : entry.ruleId, `${key}.ruleId`);
        if (ruleId && !drsRuleGroup(ruleId)) r.problem(`${key}.ruleId`, `"${ruleId}" is not a DefaultRuleSet 2.1 rule id`);
        const reason = r.string(entry.reason, `${key}.reason`);
        if (reason && reason.length < 20) r.problem(`${key}.reason`, "must say which request the rule misfired on (at least 20 characters)");
        return { ruleId, reason };
    });
}
