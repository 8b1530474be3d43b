/**
 * App settings of the ingestion Function, built from plain values so the rules (identity-based storage, Entra-only
 * telemetry, no secret values) can be unit-tested without Pulumi. Names match what the app reads
 * (app/src/ingest/config.ts) and what the Functions host reads for identity-based connections.
 */

export type FhirAuthMode = "managedIdentity" | "clientCredentials";

export interface IngestAppSettingsInput {
    /** Client id of the Function's user-assigned identity. */
    identityClientId: string;
    /** Primary endpoints of the Function's storage account (`https://<account>.blob.core.windows.net/` ...). */
    blobEndpoint: string;
    queueEndpoint: string;
    tableEndpoint: string;
    /** Application Insights connection string (an ingestion address, not a credential once local auth is off). */
    appInsightsConnectionString: string;
    fhirUrl: string;
    /** Token audience of FHIR (its base URL). */
    fhirAudience: string;
    fhirAuthMode: FhirAuthMode;
    ingestQueueName: string;
    poisonQueueName: string;
    messageContainerName: string;
    maxMessageBytes: number;
    /**
     * Entra validation of POST /api/hl7 callers (app/src/ingest/config.ts: INGEST_AUTH_*, INGEST_SENDERS). The app
     * refuses to start without it wherever FHIR is not on loopback. `audience`: the accepted `aud` values, comma-separated
     * (the platform API's client id for v2 tokens, its identifier URI for v1);
     * `senders` maps each sender client id to the MSH-4 facilities (optionally with MSH-3) it may send for.
     */
    callerAuth?: {
        tenantId: string;
        audience: string;
        senders: Record<string, (string | { facility: string; application?: string })[]>;
    };
    /** Only in clientCredentials mode: where the app finds its client secret (it reads it with its identity). */
    clientCredentials?: {
        tenantId: string;
        clientId: string;
        vaultUri: string;
        secretName: string;
        /** A third-party server's token endpoint (default: the tenant's Entra v2 endpoint). */
        tokenUrl?: string;
        /** The scope to request (default: `<FHIR audience>/.default`; empty: none). */
        scope?: string;
    };
}

/** Setting names the Flex Consumption plan rejects or ignores (Flex "deprecated settings" list; pitfall 12). */
export const FLEX_FORBIDDEN_SETTINGS = [
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_NODE_DEFAULT_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTSHARE",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "AzureWebJobsStorage",
] as const;

const trimSlash = (url: string) => url.replace(/\/+$/, "");

/** Builds the settings map; throws when a value would put a credential into the site configuration. */
export function ingestAppSettings(input: IngestAppSettingsInput): Record<string, string> {
    const settings: Record<string, string> = {
        // Host storage through the user-assigned identity: no account key anywhere (shared keys are disabled).
        AzureWebJobsStorage__credential: "managedidentity",
        AzureWebJobsStorage__clientId: input.identityClientId,
        AzureWebJobsStorage__blobServiceUri: trimSlash(input.blobEndpoint),
        AzureWebJobsStorage__queueServiceUri: trimSlash(input.queueEndpoint),
        AzureWebJobsStorage__tableServiceUri: trimSlash(input.tableEndpoint),
        // Telemetry with an Entra token (App Insights has local auth disabled); needs Monitoring Metrics Publisher.
        APPLICATIONINSIGHTS_CONNECTION_STRING: input.appInsightsConnectionString,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `ClientId=${input.identityClientId};Authorization=AAD`,
        // DefaultAzureCredential / ManagedIdentityCredential pick the user-assigned identity from this.
        AZURE_CLIENT_ID: input.identityClientId,
        FHIR_URL: trimSlash(input.fhirUrl),
        FHIR_AUDIENCE: trimSlash(input.fhirAudience),
        FHIR_AUTH_MODE: input.fhirAuthMode === "clientCredentials" ? "client-credentials" : "managed-identity",
        INGEST_QUEUE_NAME: input.ingestQueueName,
        POISON_QUEUE_NAME: input.poisonQueueName,
        MESSAGE_CONTAINER_NAME: input.messageContainerName,
        MAX_BODY_BYTES: String(input.maxMessageBytes),
    };
    if (input.callerAuth) {
        Object.assign(settings, {
            INGEST_AUTH_TENANT_ID: input.callerAuth.tenantId,
            INGEST_AUTH_AUDIENCE: input.callerAuth.audience,
            INGEST_SENDERS: JSON.stringify(input.callerAuth.senders),
        });
    }
    if (input.fhirAuthMode === "clientCredentials") {
        const cc = input.clientCredentials;
        if (!cc) throw new Error("fhirAuthMode clientCredentials needs clientCredentials (tenant, client id, vault, secret name)");
        Object.assign(settings, {
            FHIR_OAUTH_TOKEN_URL: cc.tokenUrl ?? `https://login.microsoftonline.com/${cc.tenantId}/oauth2/v2.0/token`,
            FHIR_OAUTH_CLIENT_ID: cc.clientId,
            ...(cc.scope === "" ? {} : { FHIR_OAUTH_SCOPE: cc.scope ?? `${trimSlash(input.fhirAudience)}/.default` }),
            // The app fetches the secret itself with its identity (Key Vault Secrets User), so no value is stored here.
            FHIR_OAUTH_SECRET_VAULT_URL: trimSlash(cc.vaultUri),
            FHIR_OAUTH_SECRET_NAME: cc.secretName,
        });
    }
    const problems = findSecretLikeSettings(settings);
    if (problems.length > 0) throw new Error(`Function app settings must not carry secrets: ${problems.join("; ")}`);
    for (const name of FLEX_FORBIDDEN_SETTINGS) {
        if (name in settings) throw new Error(`${name} must not be set on a Flex Consumption app`);
    }
    return settings;
}

/** Key Vault reference syntax, the only acceptable form for a secret-bearing setting. */
export function keyVaultReference(secretUri: string): string {
    if (!/^https:\/\/[a-z0-9-]+\.vault\.azure\.net\/secrets\/[A-Za-z0-9-]+(\/[0-9a-f]{32})?\/?$/.test(secretUri)) {
        throw new Error(`"${secretUri}" is not a Key Vault secret URI`);
    }
    return `@Microsoft.KeyVault(SecretUri=${secretUri})`;
}

const SECRET_NAME = /(secret|password|pwd|accountkey|sharedaccesskey|sas|token|apikey|api_key|masterkey)$/i;
const SECRET_VALUE: [RegExp, string][] = [
    [/AccountKey=/i, "storage account key"],
    [/SharedAccessKey=/i, "shared access key"],
    [/(^|[?&])sig=/i, "SAS signature"],
    [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "private key"],
    [/^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./, "JWT"],
];

/**
 * Names settings whose value looks like a credential and is not a Key Vault reference. Identifiers (GUIDs, URLs
 * without signatures, the App Insights connection string) are not secrets.
 */
export function findSecretLikeSettings(settings: Record<string, string>): string[] {
    const problems: string[] = [];
    for (const [name, value] of Object.entries(settings)) {
        if (value.startsWith("@Microsoft.KeyVault(")) continue;
        const hit = SECRET_VALUE.find(([re]) => re.test(value));
        if (hit) problems.push(`${name} holds a ${hit[1]}`);
        else if (looksLikeGeneratedSecret(value)) problems.push(`${name} holds a password-like token`);
        else if (SECRET_NAME.test(name) && !/_(NAME|URL|URI)$/i.test(name)) problems.push(`${name} is named like a secret but is not a Key Vault reference`);
    }
    return problems;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A long single token mixing upper case, lower case and digits (Entra client secrets, function keys, account keys),
 * as opposed to identifiers: GUIDs, URLs, names, numbers.
 */
export function looksLikeGeneratedSecret(value: string): boolean {
    if (value.length < 24 || GUID.test(value) || /^https?:\/\//.test(value) || /\s/.test(value)) return false;
    if (!/^[A-Za-z0-9~._\-+/=]+$/.test(value)) return false;
    return /[a-z]/.test(value) && /[A-Z]/.test(value) && /[0-9]/.test(value);
}

/** The `siteConfig.appSettings` list form, sorted so plans diff cleanly. */
export function toNameValueList(settings: Record<string, string>): { name: string; value: string }[] {
    return Object.keys(settings).sort().map((name) => ({ name, value: settings[name] }));
}
