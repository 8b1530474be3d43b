import * as pulumi from "@pulumi/pulumi";
import { cidrContains, cidrOverlaps, Ipv4Cidr, isPrivateRange } from "../components/cidr";
import { parseVnetId } from "../components/deployerNetwork";
import { DEFAULT_RBAC_PROPAGATION_SECONDS, MIN_RBAC_PROPAGATION_SECONDS } from "../components/propagation";
import { SCHEDULED_DEPLOY_INTERVAL_DAYS } from "../components/secretRotation";
import { readEdgeConfig } from "./configEdge";
import { checkOrigin, readConsumers, readExternalFhir, readSenderFacilities } from "./configFields";
import { EMAIL, GUID, PROJECT_NAME, Raw, Reader } from "./configReader";
import type { NetworkConfig, PlatformConfig } from "./configTypes";

export { PROJECT_NAME };
export type { NetworkConfig, PlatformConfig } from "./configTypes";

/**
 * Regions that offer Azure Health Data Services FHIR (Microsoft "Products available by region", Health Data
 * Services row, read 2026-11). A FHIR service with CMK also needs its Key Vault in the same region.
 */
export const AHDS_REGIONS: readonly string[] = [
    "australiaeast", "brazilsouth", "canadacentral", "centralindia", "centralus", "eastus", "eastus2",
    "francecentral", "germanywestcentral", "japaneast", "koreacentral", "northcentralus", "northeurope",
    "norwayeast", "qatarcentral", "southafricanorth", "southcentralus", "southeastasia", "swedencentral",
    "switzerlandnorth", "uaenorth", "uksouth", "ukwest", "westcentralus", "westeurope", "westus2", "westus3",
];

/** FHIR accepts only RSA 2048 or 3072 keys for customer-managed encryption (AHDS CMK article). */
export const FHIR_CMK_KEY_SIZES = [2048, 3072] as const;

/** Thrown when stack config is invalid; lists every problem, one per line, each naming its key. */
export class ConfigValidationError extends Error {
    constructor(public readonly problems: readonly string[]) {
        super(
            `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigValidationError";
    }
}

const SUBNET_MIN_PREFIX: Record<keyof NetworkConfig["subnets"], { prefix: number; why: string }> = {
    // One IP per private endpoint; /28 leaves 11 usable after Azure's 5 reserved addresses.
    privateEndpoints: { prefix: 28, why: "private endpoints need at least a /28" },
    // Flex Consumption takes one IP per instance; Microsoft asks for at least /27 (Flex networking docs).
    functionIntegration: { prefix: 27, why: "Flex Consumption VNet integration needs at least a /27" },
    // APIM stv2 injection needs room for scale units and upgrades; Microsoft recommends /27 or larger.
    apim: { prefix: 27, why: "API Management VNet injection needs at least a /27" },
    // v2 gateways autoscale into their subnet; Learn ("Application Gateway infrastructure configuration") recommends
    // a /24 and the gateway must be alone in it.
    appGateway: { prefix: 26, why: "Application Gateway v2 needs at least a /26 (a /24 is recommended)" },
};

/**
 * Validates raw stack config (top-level keys without the project prefix) and returns it typed. Throws one
 * ConfigValidationError listing every bad key; nothing is declared before this returns.
 */
export function validatePlatformConfig(raw: Raw, stackName?: string): PlatformConfig {
    const r = new Reader();
    const topLevel = [
        "environment", "location", "namePrefix", "tags", "zoneRedundant", "rbacPropagationSeconds", "deployer", "network",
        "edge", "monitoring", "keyVault", "fhir", "apim", "functionApp", "storage", "identity", "alerts",
    ];
    for (const k of Object.keys(raw)) {
        if (!topLevel.includes(k)) r.problem(k, "is not a known setting");
    }

    const environment = r.string(raw.environment, "environment", /^[a-z][a-z0-9]{1,7}$/, "must be 2–8 lowercase letters/digits");
    // The stack name decides which environment a run touches; a copied file must not point prod at dev settings.
    if (stackName !== undefined && environment && stackName !== environment && !stackName.startsWith(`${environment}-`)) {
        r.problem("environment", `"${environment}" does not match the stack "${stackName}" (name the stack ${environment} or ${environment}-<suffix>)`);
    }
    const isProd = environment === "prod" || stackName === "prod" || (stackName ?? "").startsWith("prod-");
    const location = r.string(raw.location, "location");
    if (location && !AHDS_REGIONS.includes(location)) {
        r.problem("location", `"${location}" is not a known Azure region offering Health Data Services (known: ${AHDS_REGIONS.join(", ")})`);
    }
    const namePrefix = r.string(raw.namePrefix, "namePrefix", /^[a-z][a-z0-9]{1,7}$/, "must be 2–8 lowercase letters/digits starting with a letter");

    const tagsRaw = r.object(raw.tags, "tags", Object.keys((raw.tags as Raw | undefined) ?? {}));
    const tags: Record<string, string> = {};
    for (const [k, v] of Object.entries(tagsRaw)) {
        if (typeof v !== "string") r.problem(`tags.${k}`, "must be a string");
        else if (/[<>%&\\?/]/.test(k) || k.length > 512 || v.length > 256) r.problem(`tags.${k}`, "is not a valid Azure tag");
        else tags[k] = v;
    }
    const zoneRedundant = r.boolean(raw.zoneRedundant, "zoneRedundant");
    if (isProd && !zoneRedundant) r.problem("zoneRedundant", "must be true for prod");

    const rbacPropagationSeconds = r.integer(raw.rbacPropagationSeconds ?? DEFAULT_RBAC_PROPAGATION_SECONDS, "rbacPropagationSeconds", MIN_RBAC_PROPAGATION_SECONDS, 1800);

    // Deployer: the runner network the bootstrap made, peered so the code deployment reaches the private SCM endpoint.
    const dep = r.object(raw.deployer, "deployer", ["virtualNetworkId", "addressPrefix", "principalType"]);
    const deployerVnetId = r.string(dep.virtualNetworkId, "deployer.virtualNetworkId");
    if (deployerVnetId) {
        const parsed = parseVnetId(deployerVnetId);
        if (typeof parsed === "string") r.problem("deployer.virtualNetworkId", parsed);
    }
    const deployerPrefix = r.cidr(dep.addressPrefix, "deployer.addressPrefix");
    if (deployerPrefix && !isPrivateRange(deployerPrefix)) r.problem("deployer.addressPrefix", `"${deployerPrefix.text}" is not inside an RFC 1918 private range`);
    const deployerPrincipalType = r.oneOf(dep.principalType ?? "ServicePrincipal", "deployer.principalType", ["ServicePrincipal", "User"] as const);

    // Network
    const net = r.object(raw.network, "network", ["addressSpace", "subnets"]);
    const subnetsRaw = r.object(net.subnets, "network.subnets", Object.keys(SUBNET_MIN_PREFIX));
    const space = r.cidr(net.addressSpace, "network.addressSpace");
    if (space && !isPrivateRange(space)) r.problem("network.addressSpace", `"${space.text}" is not inside an RFC 1918 private range`);
    // Peered VNets must not overlap (Learn, "Virtual network peering": address spaces can't overlap).
    if (space && deployerPrefix && cidrOverlaps(space, deployerPrefix)) {
        r.problem("deployer.addressPrefix", `"${deployerPrefix.text}" overlaps network.addressSpace ${space.text}; the runner VNet is peered with it`);
    }
    const subnetCidrs: [string, Ipv4Cidr][] = [];
    for (const [name, rule] of Object.entries(SUBNET_MIN_PREFIX)) {
        const key = `network.subnets.${name}`;
        const cidr = r.cidr(subnetsRaw[name], key);
        if (!cidr) continue;
        if (space && !cidrContains(space, cidr)) r.problem(key, `"${cidr.text}" is outside the address space ${space.text}`);
        if (cidr.prefix > rule.prefix) r.problem(key, `"${cidr.text}" is too small: ${rule.why}`);
        for (const [otherName, other] of subnetCidrs) {
            if (cidrOverlaps(cidr, other)) r.problem(key, `"${cidr.text}" overlaps network.subnets.${otherName} (${other.text})`);
        }
        subnetCidrs.push([name, cidr]);
    }

    // Monitoring
    const mon = r.object(raw.monitoring, "monitoring", ["logRetentionDays", "dailyQuotaGb", "sentinel", "auditArchive", "entraSignInLogs"]);
    const sentinel = r.boolean(mon.sentinel ?? false, "monitoring.sentinel");
    const entraSignInLogs = r.boolean(mon.entraSignInLogs ?? false, "monitoring.entraSignInLogs");
    if (isProd && !sentinel) r.problem("monitoring.sentinel", "must be true for prod (the SOC's analytics rules run in Sentinel)");
    const logRetentionDays = r.integer(mon.logRetentionDays, "monitoring.logRetentionDays", 30, 730);
    if (isProd && logRetentionDays < 365) r.problem("monitoring.logRetentionDays", `${logRetentionDays} is below the prod minimum of 365 days (audit trail of PHI access)`);
    const dailyQuotaGb = r.integer(mon.dailyQuotaGb ?? 0, "monitoring.dailyQuotaGb", 0, 10000);
    const archiveRaw = r.object(mon.auditArchive ?? {}, "monitoring.auditArchive", ["enabled", "locked"]);
    const auditArchive = {
        enabled: r.boolean(archiveRaw.enabled ?? false, "monitoring.auditArchive.enabled"),
        locked: r.boolean(archiveRaw.locked ?? false, "monitoring.auditArchive.locked"),
    };
    if (isProd && !auditArchive.enabled) r.problem("monitoring.auditArchive.enabled", "must be true for prod (WORM copy of the FHIR, Key Vault and Activity Log audit trail)");
    if (auditArchive.locked && !auditArchive.enabled) r.problem("monitoring.auditArchive.locked", "needs monitoring.auditArchive.enabled");

    // Key Vault and CMK
    const kv = r.object(raw.keyVault, "keyVault", ["sku", "softDeleteRetentionDays", "cmkKeySize", "cmkExpiryDays", "cmkRotateBeforeExpiryDays", "deleteLock"]);
    const kvSku = r.oneOf(kv.sku, "keyVault.sku", ["standard", "premium"] as const);
    if (isProd && kvSku !== "premium") r.problem("keyVault.sku", "prod keeps its CMK in HSM-backed storage: use premium");
    const softDeleteRetentionDays = r.integer(kv.softDeleteRetentionDays, "keyVault.softDeleteRetentionDays", 7, 90);
    const cmkKeySize = r.oneOf(kv.cmkKeySize, "keyVault.cmkKeySize", FHIR_CMK_KEY_SIZES, "FHIR customer-managed keys must be RSA 2048 or 3072 bits");
    const cmkExpiryDays = r.integer(kv.cmkExpiryDays, "keyVault.cmkExpiryDays", 30, 730);
    const cmkRotateBeforeExpiryDays = r.integer(kv.cmkRotateBeforeExpiryDays, "keyVault.cmkRotateBeforeExpiryDays", 7, 365);
    if (cmkRotateBeforeExpiryDays >= cmkExpiryDays) r.problem("keyVault.cmkRotateBeforeExpiryDays", `must be shorter than keyVault.cmkExpiryDays (${cmkExpiryDays})`);
    const deleteLock = r.boolean(kv.deleteLock, "keyVault.deleteLock");
    if (isProd && !deleteLock) r.problem("keyVault.deleteLock", "must be true for prod");

    // FHIR
    const fhir = r.object(raw.fhir, "fhir", ["corsOrigins", "corsMaxAgeSeconds", "deleteLock", "external"]);
    const corsOrigins = r.stringList(fhir.corsOrigins, "fhir.corsOrigins", (o, k) => checkOrigin(r, o, k, !isProd));
    const corsMaxAgeSeconds = r.integer(fhir.corsMaxAgeSeconds ?? 600, "fhir.corsMaxAgeSeconds", 0, 99999);
    const fhirDeleteLock = r.boolean(fhir.deleteLock, "fhir.deleteLock");
    if (isProd && !fhirDeleteLock) r.problem("fhir.deleteLock", "must be true for prod (the FHIR service holds PHI)");
    const externalFhir = readExternalFhir(r, fhir.external);

    // APIM
    const apim = r.object(raw.apim, "apim", ["sku", "capacity", "zones", "publisherName", "publisherEmail", "rateLimitPerMinute", "subscriptionRequired", "consumers", "functionKeyGeneration"]);
    const apimSku = r.oneOf(apim.sku, "apim.sku", ["Developer", "Premium"] as const, "Internal VNet injection needs the classic Developer or Premium tier");
    if (isProd && apimSku !== "Premium") r.problem("apim.sku", "prod needs Premium (Developer has no SLA)");
    const capacity = r.integer(apim.capacity ?? 1, "apim.capacity", 1, 12);
    const zones = r.stringList(apim.zones, "apim.zones", (z, k) => {
        if (!["1", "2", "3"].includes(z)) r.problem(k, `"${z}" is not an availability zone (1, 2 or 3)`);
    });
    if (zones.length > 0 && apimSku !== "Premium") r.problem("apim.zones", "availability zones need the Premium tier");
    if (zones.length > 0 && capacity % zones.length !== 0) r.problem("apim.capacity", `${capacity} units cannot be spread evenly over ${zones.length} zones`);
    if (isProd && zoneRedundant && zones.length < 2) r.problem("apim.zones", "prod with zoneRedundant needs at least two zones");
    const publisherName = r.string(apim.publisherName, "apim.publisherName");
    const publisherEmail = r.string(apim.publisherEmail, "apim.publisherEmail", EMAIL, "is not an e-mail address");
    const rateLimitPerMinute = r.integer(apim.rateLimitPerMinute ?? 600, "apim.rateLimitPerMinute", 1, 100000);
    const subscriptionRequired = r.boolean(apim.subscriptionRequired ?? false, "apim.subscriptionRequired");
    const consumers = readConsumers(r, apim.consumers);
    const functionKeyGeneration = r.integer(apim.functionKeyGeneration ?? 0, "apim.functionKeyGeneration", 0, 1_000_000);

    // Function App
    const fn = r.object(raw.functionApp, "functionApp", ["instanceMemoryMB", "maximumInstanceCount", "fhirAuthMode", "maxMessageBytes"]);
    const instanceMemoryMB = r.oneOf(fn.instanceMemoryMB ?? 2048, "functionApp.instanceMemoryMB", [512, 2048, 4096] as const);
    const maximumInstanceCount = r.integer(fn.maximumInstanceCount ?? 40, "functionApp.maximumInstanceCount", 1, 1000);
    const fhirAuthMode = r.oneOf(fn.fhirAuthMode ?? "managedIdentity", "functionApp.fhirAuthMode", ["managedIdentity", "clientCredentials"] as const);
    if (externalFhir && fhirAuthMode !== "managedIdentity") {
        r.problem("functionApp.fhirAuthMode", "is for the platform's FHIR; fhir.external brings its own client: leave it managedIdentity");
    }
    const maxMessageBytes = r.integer(fn.maxMessageBytes ?? 1048576, "functionApp.maxMessageBytes", 1024, 10485760);
    const edge = readEdgeConfig(r, raw.edge, { isProd, maxMessageBytes, addressSpace: space, subnets: subnetCidrs, externalFhir });

    // Storage
    const st = r.object(raw.storage, "storage", ["sku", "messageRetentionDays", "deleteLock", "customerManagedKey"]);
    const storageSku = r.oneOf(st.sku, "storage.sku", ["Standard_LRS", "Standard_ZRS", "Standard_GZRS"] as const);
    const messageRetentionDays = r.integer(st.messageRetentionDays ?? 30, "storage.messageRetentionDays", 1, 365);
    if (zoneRedundant && storageSku === "Standard_LRS") r.problem("storage.sku", "Standard_LRS is not zone-redundant but zoneRedundant is true");
    const storageDeleteLock = r.boolean(st.deleteLock, "storage.deleteLock");
    if (isProd && !storageDeleteLock) r.problem("storage.deleteLock", "must be true for prod (the account holds raw HL7 messages)");
    const storageCmk = r.boolean(st.customerManagedKey ?? false, "storage.customerManagedKey");
    if (isProd && !storageCmk) r.problem("storage.customerManagedKey", "must be true for prod (raw HL7 is PHI: encrypt it with its own key in the platform vault)");

    // Identity
    const id = r.object(raw.identity, "identity", ["hl7SenderSecretRotationDays", "spaRedirectUris", "fhirReaderGroupObjectIds", "smartUserGroupObjectIds", "hl7SenderFacilities"]);
    // At least the scheduled deploy's interval: then the published secret always outlives the gap to the next run.
    const hl7SenderSecretRotationDays = r.integer(id.hl7SenderSecretRotationDays, "identity.hl7SenderSecretRotationDays", SCHEDULED_DEPLOY_INTERVAL_DAYS, 180);
    if (isProd && hl7SenderSecretRotationDays > 30) r.problem("identity.hl7SenderSecretRotationDays", `${hl7SenderSecretRotationDays} exceeds the prod maximum of 30 days`);
    const spaRedirectUris = r.stringList(id.spaRedirectUris, "identity.spaRedirectUris", (u, k) => {
        let url: URL | undefined;
        try {
            url = new URL(u);
        } catch {
            r.problem(k, `"${u}" is not a URL`);
            return;
        }
        const local = url.protocol === "http:" && url.hostname === "localhost";
        if (url.protocol !== "https:" && !(local && !isProd)) r.problem(k, `"${u}" must use https`);
        if (u.includes("*")) r.problem(k, `"${u}" must not contain a wildcard`);
    });
    const guidCheck = (g: string, k: string) => {
        if (!GUID.test(g)) r.problem(k, `"${g}" is not an Entra object id (GUID)`);
    };
    const fhirReaderGroupObjectIds = r.stringList(id.fhirReaderGroupObjectIds, "identity.fhirReaderGroupObjectIds", guidCheck);
    const smartUserGroupObjectIds = r.stringList(id.smartUserGroupObjectIds, "identity.smartUserGroupObjectIds", guidCheck);
    // SMART scopes are enforced by FHIR only on the caller's own token; the gateway calls FHIR as itself.
    if (smartUserGroupObjectIds.length > 0) {
        r.problem("identity.smartUserGroupObjectIds", "SMART on FHIR groups are not supported: the gateway calls FHIR as its own identity (README, \"Audit attribution\"); leave it empty");
    }
    const hl7SenderFacilities = readSenderFacilities(r, id.hl7SenderFacilities);

    // Alerts
    const al = r.object(raw.alerts, "alerts", ["email"]);
    const alertEmail = r.string(al.email, "alerts.email", EMAIL, "is not an e-mail address");

    if (r.problems.length > 0) throw new ConfigValidationError(r.problems);

    return {
        environment,
        location,
        namePrefix,
        tags: { ...tags, environment },
        zoneRedundant,
        rbacPropagationSeconds,
        deployer: { virtualNetworkId: deployerVnetId, addressPrefix: deployerPrefix?.text ?? "", principalType: deployerPrincipalType },
        network: {
            addressSpace: space!.text,
            subnets: {
                privateEndpoints: subnetsRaw.privateEndpoints as string,
                functionIntegration: subnetsRaw.functionIntegration as string,
                apim: subnetsRaw.apim as string,
                appGateway: subnetsRaw.appGateway as string,
            },
        },
        edge,
        monitoring: { logRetentionDays, dailyQuotaGb, sentinel, auditArchive, entraSignInLogs },
        keyVault: { sku: kvSku, softDeleteRetentionDays, cmkKeySize, cmkExpiryDays, cmkRotateBeforeExpiryDays, deleteLock },
        fhir: { corsOrigins, corsMaxAgeSeconds, deleteLock: fhirDeleteLock, ...(externalFhir ? { external: externalFhir } : {}) },
        apim: { sku: apimSku, capacity, zones, publisherName, publisherEmail, rateLimitPerMinute, subscriptionRequired, consumers, functionKeyGeneration },
        functionApp: { instanceMemoryMB, maximumInstanceCount, fhirAuthMode, maxMessageBytes },
        storage: { sku: storageSku, messageRetentionDays, deleteLock: storageDeleteLock, customerManagedKey: storageCmk },
        identity: { hl7SenderSecretRotationDays, spaRedirectUris, fhirReaderGroupObjectIds, hl7SenderFacilities },
        alerts: { email: alertEmail },
    };
}

/**
 * Turns the flat `<namespace>:<key>` → text map the Pulumi CLI hands a program into this project's raw config tree:
 * other namespaces dropped, maps and lists (passed as JSON text) parsed.
 */
export function rawPlatformConfig(flat: Record<string, string>): Record<string, unknown> {
    const prefix = `${PROJECT_NAME}:`;
    const raw: Raw = {};
    for (const [key, value] of Object.entries(flat)) {
        if (!key.startsWith(prefix)) continue;
        raw[key.slice(prefix.length)] = /^\s*[[{]/.test(value) ? parseJsonOr(value) : value;
    }
    return raw;
}

/** Reads and validates every `fhir-platform:*` key of the current stack. */
export function loadPlatformConfig(): PlatformConfig {
    return validatePlatformConfig(rawPlatformConfig(pulumi.runtime.allConfig()), pulumi.getStack());
}

function parseJsonOr(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}
