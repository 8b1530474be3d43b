// Stack-wide rules: no plaintext secrets in any input/output, generated secrets flow only into Key Vault, allowed
// locations, strong generated passwords, and a guard for azure-native types the pack does not know.
import { RandomPassword } from "@pulumi/random/randomPassword";
import { PolicyResource, ResourceValidationArgs, ReportViolation, validateResourceOfType } from "@pulumi/policy";
import { peek, resourcePolicy, stackPolicy } from "./framework";

/** Properties a provider marks secret by design; their values are never plaintext in state. */
const SECRET_BY_DESIGN: Record<string, string[]> = {
    "azure-native:keyvault:Secret": ["properties.value"],
    "random:index/randomPassword:RandomPassword": ["result", "bcryptHash"],
    "azuread:index/applicationPassword:ApplicationPassword": ["value"],
    "azuread:index/servicePrincipalPassword:ServicePrincipalPassword": ["value"],
    "azuread:index/application:Application": ["password.value"],
};

const REDACTED = "[secret]"; // what the offline plan writes for a secret value
const SECRET_KEY = /^(password|passwd|pwd|secret|clientsecret|client_secret|accountkey|primarykey|secondarykey|sharedkey|apikey|privatekey|sastoken|primaryconnectionstring|secondaryconnectionstring)$/i;
const SECRET_SETTING_NAME = /(secret|password|passwd|pwd|apikey|api_key|accountkey|sastoken)$/i;
const CREDENTIAL = [
    { what: "a storage/Service Bus key", re: /(AccountKey|SharedAccessKey)=[A-Za-z0-9+/=]{20,}/ },
    { what: "a SAS signature", re: /[?&]sig=[A-Za-z0-9%+/=]{20,}/ },
    { what: "a password in a connection string", re: /(^|;)\s*(Password|Pwd)=[^;]+/i },
    { what: "a private key", re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
    { what: "a client secret", re: /client_secret=[^&\s]{8,}/i },
];
const SAFE_REFERENCE = /^(@Microsoft\.KeyVault\(|\{\{[^}]+\}\}$)/;

/** Finds plaintext secrets under `value`; `path` is the dotted property path used in messages (never the value). */
export function findPlaintextSecrets(type: string, value: unknown, path = ""): string[] {
    const skip = SECRET_BY_DESIGN[type] ?? [];
    const found: string[] = [];
    const walk = (v: unknown, p: string, key: string) => {
        if (skip.includes(p)) return;
        if (typeof v === "string") {
            if (v === REDACTED || SAFE_REFERENCE.test(v)) return;
            const hit = CREDENTIAL.find(c => c.re.test(v));
            if (hit) found.push(`${p || "(value)"} contains ${hit.what}`);
            else if (SECRET_KEY.test(key) && v.length > 0) found.push(`${p} holds a plaintext value for a secret-named property`);
            return;
        }
        // peek: values unknown at preview are skipped (they are checked at `up`) instead of aborting the whole scan.
        if (Array.isArray(v)) {
            for (let i = 0; i < v.length; i++) walk(peek(v, String(i)), `${p}[${i}]`, key);
            return;
        }
        if (v && typeof v === "object") {
            const o = v as Record<string, unknown>;
            // name/value pairs (app settings, env vars): the name says whether the value is a secret.
            const name = peek(o, "name");
            const value = peek(o, "value");
            if (typeof name === "string" && typeof value === "string" && SECRET_SETTING_NAME.test(name)) {
                if (value !== REDACTED && !SAFE_REFERENCE.test(value) && value.length > 0) found.push(`${p} ('${name}') holds a plaintext secret`);
            }
            for (const k of Object.keys(o)) walk(peek(o, k), p ? `${p}.${k}` : k, k);
        }
    };
    walk(value, path, "");
    return found;
}

export const noPlaintextSecrets = stackPolicy(
    {
        name: "no-plaintext-secrets",
        description:
            "No secret may appear unwrapped in any resource input or output: keys, SAS signatures, connection-string passwords, " +
            "private keys or secret-named properties must be Key Vault references, identity-based settings, or Pulumi secrets " +
            "(pulumi.secret / additionalSecretOutputs).",
        enforcementLevel: "mandatory",
        severity: "critical",
        resourceTypes: ["*"],
        anchor: { derivedFrom: "HIPAA 164.312(a)(2)(iv) / Pulumi secrets model; Checkov CKV_SECRET_* family" },
    },
    (args, report) => {
        for (const r of args.resources) {
            for (const f of findPlaintextSecrets(r.type, r.props)) report(`'${r.name}' (${r.type}): ${f}.`, r.urn);
        }
    },
);

const SECRET_SOURCES = ["azuread:index/applicationPassword:ApplicationPassword", "azuread:index/servicePrincipalPassword:ServicePrincipalPassword", "random:index/randomPassword:RandomPassword"];

export const secretSourcesToKeyVault = stackPolicy(
    {
        name: "secret-sources-only-to-keyvault",
        description:
            "Generated credentials (azuread ApplicationPassword, random RandomPassword) may only flow into a Key Vault secret " +
            "(keyvault.Secret properties) or the allowed sinks in config; anything else stores them outside the vault.",
        enforcementLevel: "mandatory",
        severity: "critical",
        resourceTypes: [...SECRET_SOURCES, "azure-native:keyvault:Secret"],
        anchor: { derivedFrom: "issue 4 (client secret written to Key Vault, never a plaintext stack output)" },
        settings: {
            allowedSinks: {
                type: "array",
                items: { type: "string" },
                default: ["azure-native:keyvault:Secret#properties"],
                description: "'<type>#<input property>' pairs that may consume a generated credential.",
            },
        },
    },
    (args, report) => {
        const { allowedSinks } = args.getConfig<{ allowedSinks: string[] }>();
        const sources = new Set(args.resources.filter(r => SECRET_SOURCES.includes(r.type)).map(r => r.urn));
        for (const r of args.resources) {
            for (const [prop, deps] of Object.entries(r.propertyDependencies)) {
                const src = deps.find(d => sources.has(d.urn));
                if (src && !allowedSinks.includes(`${r.type}#${prop}`)) {
                    report(`'${r.name}' input '${prop}' consumes credential '${src.name}' (${src.type}); store it in Key Vault instead.`, r.urn);
                }
            }
        }
    },
);

export const allowedLocations = resourcePolicy(
    {
        name: "allowed-locations",
        description:
            "Resources must be deployed to the stack's allowed regions (config allowedLocations, e.g. the data-residency region " +
            "pair); change location or extend the list deliberately.",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: ["*"],
        anchor: { azurePolicy: ["e56962a6-4747-49cd-b67b-bf8b01975c4c"], derivedFrom: "Azure/azure-policy General/AllowedLocations_Deny.json (also skips global)" },
        settings: {
            allowedLocations: { type: "array", items: { type: "string" }, default: [] },
            ignoreLocations: { type: "array", items: { type: "string" }, default: ["global"] },
        },
    },
    (args: ResourceValidationArgs, report: ReportViolation) => {
        if (!args.type.startsWith("azure-native:")) args.notApplicable("only azure-native resources have an ARM location");
        const { allowedLocations: allowed, ignoreLocations } = args.getConfig<{ allowedLocations: string[]; ignoreLocations: string[] }>();
        if (allowed.length === 0 || !("location" in args.props)) return;
        const norm = (s: string) => s.toLowerCase().replace(/\s+/g, "");
        const loc = args.props.location;
        if (typeof loc !== "string" || ignoreLocations.map(norm).includes(norm(loc))) return;
        if (!allowed.map(norm).includes(norm(loc))) report(`location '${loc}' is not in allowedLocations (${allowed.join(", ")}).`);
    },
);

export const randomPasswordStrength = resourcePolicy(
    {
        name: "random-password-strength",
        description: "Generated passwords must be at least minLength characters (config, default 32) and keep upper, lower and numeric characters enabled.",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: ["random:index/randomPassword:RandomPassword"],
        anchor: { derivedFrom: "NIST SP 800-63B §5.1.1 (length over composition)" },
        settings: { minLength: { type: "integer", minimum: 16, default: 32 } },
    },
    validateResourceOfType(RandomPassword, (pw, args, report) => {
        const { minLength } = args.getConfig<{ minLength: number }>();
        if (typeof pw.length !== "number" || pw.length < minLength) report(`length is ${String(pw.length)}, minimum ${minLength}.`);
        for (const k of ["upper", "lower", "numeric"] as const) if (pw[k] === false) report(`${k} characters are disabled.`);
    }),
);

/** Every azure-native type the pack has rules for or has reviewed (issue 2 + issue 4 resources). */
export const KNOWN_AZURE_TYPES = [
    "resources:ResourceGroup", "resources:Resource",
    "network:VirtualNetwork", "network:Subnet", "network:NetworkSecurityGroup", "network:SecurityRule", "network:PrivateEndpoint", "network:PrivateDnsZoneGroup", "network:PublicIPAddress",
    "privatedns:PrivateZone", "privatedns:VirtualNetworkLink", "privatedns:PrivateRecordSet",
    "operationalinsights:Workspace", "applicationinsights:Component",
    "monitor:DiagnosticSetting", "monitor:ActionGroup", "monitor:MetricAlert", "monitor:ScheduledQueryRule",
    "managedidentity:UserAssignedIdentity",
    "keyvault:Vault", "keyvault:Key", "keyvault:Secret",
    "authorization:RoleAssignment", "authorization:ManagementLockByScope", "authorization:ManagementLockAtResourceGroupLevel",
    "healthcareapis:Workspace", "healthcareapis:FhirService",
    "storage:StorageAccount", "storage:BlobContainer", "storage:Blob", "storage:ManagementPolicy", "storage:Queue", "storage:Table", "storage:BlobServiceProperties", "storage:QueueServiceProperties",
    "web:AppServicePlan", "web:WebApp", "web:WebAppFtpAllowed", "web:WebAppScmAllowed", "web:WebAppApplicationSettings", "web:WebAppSwiftVirtualNetworkConnection",
    "apimanagement:ApiManagementService", "apimanagement:Api", "apimanagement:ApiPolicy", "apimanagement:ApiOperation", "apimanagement:ApiOperationPolicy",
    "apimanagement:Backend", "apimanagement:NamedValue", "apimanagement:Logger", "apimanagement:ApiDiagnostic", "apimanagement:Diagnostic", "apimanagement:Product", "apimanagement:ProductApi",
    "eventgrid:SystemTopic", "eventgrid:SystemTopicEventSubscription",
    // Deploy readiness (issue 8): the runner peering and per-consumer subscriptions.
    "network:VirtualNetworkPeering", "apimanagement:Subscription",
    // Edge and egress (issue 11).
    "network:ApplicationGateway", "network:WebApplicationFirewallPolicy", "network:NatGateway", "network:DdosProtectionPlan", "network:FlowLog",
    // Egress firewall option (net-egress-firewall-allowlist).
    "network:AzureFirewall", "network:FirewallPolicy", "network:FirewallPolicyRuleCollectionGroup", "network:RouteTable",
    // Security operations (issue 12).
    "monitor:SubscriptionDiagnosticSetting", "monitor:ActivityLogAlert", "operationalinsights:SavedSearch",
    "securityinsights:SentinelOnboardingState", "securityinsights:ScheduledAlertRule",
].map(t => `azure-native:${t}`);

export const unreviewedTypes = stackPolicy(
    {
        name: "unreviewed-azure-types",
        description:
            "Flags azure-native resource types this pack has not reviewed (for example a local-package API version with a different " +
            "type token), so a new resource cannot silently bypass the type-keyed rules; add rules or list the type in KNOWN_AZURE_TYPES.",
        enforcementLevel: "advisory",
        levelReason: "A review prompt, not a finding: new types are often harmless and should not block a deployment.",
        severity: "low",
        resourceTypes: ["*"],
        anchor: { derivedFrom: "policy-catalogue §3.3 (guard for local-package type tokens)" },
    },
    (args, report) => {
        const seen = new Set<string>();
        for (const r of args.resources as PolicyResource[]) {
            if (!r.type.startsWith("azure-native:") || KNOWN_AZURE_TYPES.includes(r.type) || seen.has(r.type)) continue;
            seen.add(r.type);
            report(`resource type ${r.type} (first: '${r.name}') has not been reviewed by the policy pack.`, r.urn);
        }
    },
);

export const generalPolicies = [noPlaintextSecrets, secretSourcesToKeyVault, allowedLocations, randomPasswordStrength, unreviewedTypes];
