import * as pulumi from "@pulumi/pulumi";
import { cidrOverlaps, Ipv4Cidr, isPrivateRange, parseCidr } from "../components/cidr";
import { ConfigValidationError } from "../stacks/config";

/** The bootstrap's Pulumi project name; its stack config keys are `fhir-platform-bootstrap:<key>`. */
export const BOOTSTRAP_PROJECT = "fhir-platform-bootstrap";

export interface BootstrapEnvironment {
    /** `dev`, `prod`: must match the platform stack's `fhir-platform:environment` and the GitHub environment name. */
    name: string;
    /** Address space of the environment's runner VNet (RFC 1918, /28–/16, no overlap with the other environments). */
    runnerAddressSpace: string;
    /**
     * Subscription the environment's platform stack deploys to, when it is not the bootstrap's own: the identities'
     * subscription-wide roles then sit there, and the bootstrap's state, keys and runners stay out of their reach.
     */
    subscriptionId?: string;
}

export interface BootstrapConfig {
    location: string;
    /** Short lowercase prefix of every resource name (same as the platform's `namePrefix`). */
    namePrefix: string;
    tags: Record<string, string>;
    /** `<owner>/<repo>` on GitHub whose workflows deploy the platform. */
    githubRepository: string;
    /**
     * GitHub organisation/enterprise `databaseId` for GitHub-hosted runners with Azure private networking; when set, the
     * bootstrap declares the `GitHub.Network/networkSettings` resource on each runner subnet.
     */
    githubDatabaseId?: string;
    environments: BootstrapEnvironment[];
    /** Public operator egress addresses admitted by the state account and vault firewalls (besides the runner subnets); at least one. */
    allowedIpRanges: string[];
    /** Entra group whose members may run the platform stacks by hand (state read/write, secrets provider). */
    operatorGroupObjectId?: string;
    /** Seconds between the bootstrap operator's Key Vault grant and the key creation that needs it. */
    rbacPropagationSeconds: number;
    /** Days deleted or overwritten state blobs stay recoverable (blob soft delete and versions). */
    stateRetentionDays: number;
    /** Grant the Graph application permissions (needs a Privileged Role Administrator); false prints them instead. */
    grantGraphPermissions: boolean;
    /**
     * Where the platform stacks keep state: `azureBlob` (this bootstrap's storage account) or `pulumiCloud` (no account;
     * the Key Vault secrets provider is declared either way).
     */
    stateBackend: "azureBlob" | "pulumiCloud";
}

type Raw = Record<string, unknown>;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME = /^[a-z][a-z0-9]{1,7}$/;
// GitHub owner: alphanumerics and single hyphens; repository: alphanumerics, '-', '_', '.'.
const REPOSITORY = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
const TOP_LEVEL = [
    "location", "namePrefix", "tags", "githubRepository", "githubDatabaseId", "environments", "allowedIpRanges",
    "operatorGroupObjectId", "rbacPropagationSeconds", "stateRetentionDays", "grantGraphPermissions", "stateBackend",
];

/**
 * Validates the bootstrap stack's config and returns it typed. Throws one ConfigValidationError listing every bad key;
 * the program declares nothing before this returns.
 */
export function validateBootstrapConfig(raw: Raw): BootstrapConfig {
    const problems: string[] = [];
    const bad = (key: string, message: string) => problems.push(`${key}: ${message}`);
    for (const k of Object.keys(raw)) if (!TOP_LEVEL.includes(k)) bad(k, "is not a known setting");

    const str = (key: string, pattern: RegExp, hint: string, optional = false): string | undefined => {
        const v = raw[key];
        if (v === undefined || v === "") {
            if (!optional) bad(key, "is required");
            return undefined;
        }
        if (typeof v !== "string" || !pattern.test(v)) {
            bad(key, `${JSON.stringify(v)} ${hint}`);
            return undefined;
        }
        return v;
    };
    const int = (key: string, min: number, max: number, fallback: number): number => {
        const v = raw[key];
        if (v === undefined) return fallback;
        const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : NaN;
        if (!Number.isInteger(n) || n < min || n > max) bad(key, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
        return n;
    };

    const location = str("location", /^[a-z][a-z0-9]+$/, "is not an Azure region name (e.g. westeurope)");
    const namePrefix = str("namePrefix", NAME, "must be 2–8 lowercase letters/digits starting with a letter");
    const githubRepository = str("githubRepository", REPOSITORY, "must be <owner>/<repo> as on github.com");
    const githubDatabaseId = str("githubDatabaseId", /^\d+$/, "must be the numeric databaseId GitHub's GraphQL API returns", true);
    const operatorGroupObjectId = str("operatorGroupObjectId", GUID, "is not an Entra group object id (GUID)", true);
    const rbacPropagationSeconds = int("rbacPropagationSeconds", 60, 1800, 120);
    const stateRetentionDays = int("stateRetentionDays", 7, 365, 30);

    let grantGraphPermissions = true;
    if (raw.grantGraphPermissions !== undefined) {
        const v = String(raw.grantGraphPermissions);
        if (v !== "true" && v !== "false") bad("grantGraphPermissions", `must be true or false, got ${JSON.stringify(raw.grantGraphPermissions)}`);
        grantGraphPermissions = v !== "false";
    }

    const stateBackend = (raw.stateBackend ?? "azureBlob") as BootstrapConfig["stateBackend"];
    if (stateBackend !== "azureBlob" && stateBackend !== "pulumiCloud") bad("stateBackend", `must be azureBlob or pulumiCloud, got ${JSON.stringify(raw.stateBackend)}`);

    const tags: Record<string, string> = {};
    if (raw.tags !== undefined) {
        if (!raw.tags || typeof raw.tags !== "object" || Array.isArray(raw.tags)) bad("tags", "must be a map of strings");
        else for (const [k, v] of Object.entries(raw.tags as Raw)) {
            if (typeof v !== "string" || /[<>%&\\?/]/.test(k)) bad(`tags.${k}`, "is not a valid Azure tag");
            else tags[k] = v;
        }
    }

    const environments: BootstrapEnvironment[] = [];
    const envRaw = raw.environments;
    if (!envRaw || typeof envRaw !== "object" || Array.isArray(envRaw) || Object.keys(envRaw).length === 0) {
        bad("environments", "must map at least one environment name (dev, prod) to its settings");
    } else {
        const blocks: [string, Ipv4Cidr][] = [];
        for (const [name, settings] of Object.entries(envRaw as Raw)) {
            const key = `environments.${name}`;
            if (!NAME.test(name)) bad(key, "environment names are 2–8 lowercase letters/digits (they name GitHub environments and stacks)");
            const s = (settings ?? {}) as Raw;
            for (const k of Object.keys(s)) if (k !== "runnerAddressSpace" && k !== "subscriptionId") bad(`${key}.${k}`, "is not a known setting");
            if (s.subscriptionId !== undefined && !(typeof s.subscriptionId === "string" && GUID.test(s.subscriptionId))) {
                bad(`${key}.subscriptionId`, `${JSON.stringify(s.subscriptionId)} is not a subscription id (GUID)`);
            }
            const cidr = typeof s.runnerAddressSpace === "string" ? parseCidr(s.runnerAddressSpace) : `${JSON.stringify(s.runnerAddressSpace)} is required (an RFC 1918 CIDR)`;
            if (typeof cidr === "string") bad(`${key}.runnerAddressSpace`, cidr);
            else if (!isPrivateRange(cidr)) bad(`${key}.runnerAddressSpace`, `"${cidr.text}" is not inside an RFC 1918 private range`);
            else if (cidr.prefix < 16 || cidr.prefix > 28) bad(`${key}.runnerAddressSpace`, `"${cidr.text}" must be between /16 and /28 (GitHub recommends a /24 for runners)`);
            else {
                for (const [other, block] of blocks) {
                    if (cidrOverlaps(block, cidr)) bad(`${key}.runnerAddressSpace`, `"${cidr.text}" overlaps environments.${other} (${block.text})`);
                }
                blocks.push([name, cidr]);
            }
            environments.push({ name, runnerAddressSpace: String(s.runnerAddressSpace), ...(typeof s.subscriptionId === "string" ? { subscriptionId: s.subscriptionId.toLowerCase() } : {}) });
        }
    }

    const allowedIpRanges: string[] = [];
    const ipRaw = raw.allowedIpRanges ?? [];
    if (!Array.isArray(ipRaw)) bad("allowedIpRanges", "must be a list of public IPv4 addresses or CIDRs");
    else ipRaw.forEach((entry, i) => {
        const key = `allowedIpRanges[${i}]`;
        const text = String(entry);
        const cidr = parseCidr(text.includes("/") ? text : `${text}/32`);
        if (typeof cidr === "string") bad(key, cidr);
        else if (isPrivateRange(cidr)) bad(key, `"${text}" is private; storage and Key Vault firewalls take public addresses only (runner subnets are admitted by VNet rules)`);
        // Storage IP rules accept single addresses or prefixes up to /30 (Learn, "Configure Azure Storage firewalls").
        else if (cidr.prefix === 31 || cidr.prefix === 32) allowedIpRanges.push(text.split("/")[0]);
        else allowedIpRanges.push(cidr.text);
    });

    // The bootstrap itself (key creation) and the first `pulumi stack init` run from an operator's machine, before any
    // runner exists: with no address admitted, both firewalls would refuse them.
    if (Array.isArray(ipRaw) && ipRaw.length === 0) bad("allowedIpRanges", "needs at least one public address of the operators who run the bootstrap and the first stack init");

    if (problems.length > 0) throw new ConfigValidationError(problems);
    return {
        location: location!, namePrefix: namePrefix!, tags: { ...tags, purpose: "fhir-platform-bootstrap" },
        githubRepository: githubRepository!, githubDatabaseId, environments, allowedIpRanges, operatorGroupObjectId,
        rbacPropagationSeconds, stateRetentionDays, grantGraphPermissions, stateBackend,
    };
}

/** The flat `<namespace>:<key>` map the Pulumi CLI hands a program, reduced to this project's keys (JSON parsed). */
export function rawBootstrapConfig(flat: Record<string, string>): Raw {
    const raw: Raw = {};
    const prefix = `${BOOTSTRAP_PROJECT}:`;
    for (const [key, value] of Object.entries(flat)) {
        if (!key.startsWith(prefix)) continue;
        let parsed: unknown = value;
        if (/^\s*[[{]/.test(value)) {
            try {
                parsed = JSON.parse(value);
            } catch {
                parsed = value;
            }
        }
        raw[key.slice(prefix.length)] = parsed;
    }
    return raw;
}

export function loadBootstrapConfig(): BootstrapConfig {
    return validateBootstrapConfig(rawBootstrapConfig(pulumi.runtime.allConfig()));
}
