/**
 * App settings read by the ingest Function. Every name here is documented in app/INGEST.md and
 * set by the infrastructure on the Function App; keep the names stable. Loading is strict: a bad or
 * missing value throws ConfigError naming the setting (never echoing a secret).
 */
import { parseSenders, type CallerAuthConfig } from './caller-auth';
import type { RetryOptions } from './retry';

export type FhirAuthMode = 'managed-identity' | 'default-credential' | 'client-credentials' | 'none';
export type IdStrategy = 'stable' | 'convert-data';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface StorageSettings {
  /** Local dev / tests: a connection string (Azurite). Never used in Azure. */
  connectionString?: string;
  queueServiceUri?: string;
  blobServiceUri?: string;
  /** Client id of the user-assigned identity for storage; system-assigned when absent. */
  clientId?: string;
}

export interface IngestConfig extends StorageConfig {
  fhirUrl: string;
  fhirAudience: string;
  authMode: FhirAuthMode;
  azureClientId?: string;
  oauth?: { tokenUrl: string; clientId: string; scope?: string; vaultUrl: string; secretName: string };
  maxBodyBytes: number;
  /** Largest transaction accepted; AHDS refuses bundles over 500 entries (shared reference, section 6). */
  maxBundleEntries: number;
  maxDequeueCount: number;
  /** How long a duplicate waits for an in-flight first copy before taking over its hand-off. */
  takeoverAfterMs: number;
  idStrategy: IdStrategy;
  requestTimeoutMs: number;
  retry: RetryOptions;
  /** Entra validation of POST /api/hl7 callers (see requireCallerAuth). */
  callerAuth?: CallerAuthConfig;
  callerAuthMode: 'entra' | 'none';
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function req(env: Env, name: string): string {
  const v = str(env, name);
  if (v === undefined) throw new ConfigError(`app setting ${name} is required`);
  return v;
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const v = str(env, name);
  if (v === undefined) return def;
  // Errors name the setting and the rule, never the value (a mistyped secret could land in any setting).
  if (!/^\d+$/.test(v)) throw new ConfigError(`app setting ${name} must be a whole number`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(`app setting ${name} must be between ${min} and ${max}`);
  return n;
}

function url(name: string, value: string, allowHttpLoopback = true): URL {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new ConfigError(`app setting ${name} is not a valid URL`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  if (u.protocol !== 'https:' && !(allowHttpLoopback && loopback && u.protocol === 'http:')) {
    // Bearer tokens only over TLS (loopback excepted), as the AHDS toolkit's BearerTokenHandler enforces.
    throw new ConfigError(`app setting ${name} must be an https URL`);
  }
  return u;
}

function isLoopback(u: URL): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}

const QUEUE_NAME = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;
const CONTAINER_NAME = QUEUE_NAME;

export interface StorageConfig {
  ingestQueueName: string;
  poisonQueueName: string;
  messageContainerName: string;
  storage: StorageSettings;
}

/** The storage part of the settings alone (used by the replay command, which needs no FHIR settings). */
export function loadStorageConfig(env: Env = process.env): StorageConfig {
  const ingestQueueName = str(env, 'INGEST_QUEUE_NAME') ?? 'hl7-ingest';
  const poisonQueueName = str(env, 'POISON_QUEUE_NAME') ?? `${ingestQueueName}-poison`;
  for (const [n, v] of [
    ['INGEST_QUEUE_NAME', ingestQueueName],
    ['POISON_QUEUE_NAME', poisonQueueName],
  ] as const) {
    if (!QUEUE_NAME.test(v)) throw new ConfigError(`app setting ${n} is not a valid Storage queue name`);
  }
  if (poisonQueueName === ingestQueueName) throw new ConfigError('POISON_QUEUE_NAME must differ from INGEST_QUEUE_NAME');
  const messageContainerName = str(env, 'MESSAGE_CONTAINER_NAME') ?? 'hl7-messages';
  if (!CONTAINER_NAME.test(messageContainerName)) throw new ConfigError('app setting MESSAGE_CONTAINER_NAME is not a valid container name');

  const storage: StorageSettings = {
    connectionString: str(env, 'AzureWebJobsStorage'),
    queueServiceUri: str(env, 'AzureWebJobsStorage__queueServiceUri'),
    blobServiceUri: str(env, 'AzureWebJobsStorage__blobServiceUri'),
    clientId: str(env, 'AzureWebJobsStorage__clientId'),
  };
  if (!storage.connectionString) {
    if (!storage.queueServiceUri || !storage.blobServiceUri) {
      throw new ConfigError(
        'set AzureWebJobsStorage__queueServiceUri and AzureWebJobsStorage__blobServiceUri (identity-based), or AzureWebJobsStorage for local development',
      );
    }
    url('AzureWebJobsStorage__queueServiceUri', storage.queueServiceUri, false);
    url('AzureWebJobsStorage__blobServiceUri', storage.blobServiceUri, false);
    const cred = str(env, 'AzureWebJobsStorage__credential');
    if (cred !== undefined && cred !== 'managedidentity') {
      throw new ConfigError('app setting AzureWebJobsStorage__credential must be managedidentity');
    }
  } else if (/AccountKey=/i.test(storage.connectionString) && !/devstoreaccount1/.test(storage.connectionString)) {
    // Shared keys are for the Azurite dev account only; Azure uses the identity-based settings.
    throw new ConfigError('AzureWebJobsStorage with an account key is only accepted for Azurite; use identity-based settings');
  }

  return { ingestQueueName, poisonQueueName, messageContainerName, storage };
}

export function loadConfig(env: Env = process.env): IngestConfig {
  const fhir = url('FHIR_URL', req(env, 'FHIR_URL'));
  const fhirUrl = fhir.toString().replace(/\/+$/, '');
  const fhirAudience = (str(env, 'FHIR_AUDIENCE') ?? fhir.origin).replace(/\/+$/, '');
  url('FHIR_AUDIENCE', fhirAudience);

  const modeRaw = str(env, 'FHIR_AUTH_MODE') ?? 'managed-identity';
  const modes: FhirAuthMode[] = ['managed-identity', 'default-credential', 'client-credentials', 'none'];
  if (!modes.includes(modeRaw as FhirAuthMode)) {
    throw new ConfigError(`app setting FHIR_AUTH_MODE must be one of ${modes.join(', ')}`);
  }
  const authMode = modeRaw as FhirAuthMode;
  if (authMode === 'none' && !isLoopback(fhir)) {
    throw new ConfigError('FHIR_AUTH_MODE=none is only allowed for a loopback FHIR_URL (local tests and demo)');
  }
  let oauth: IngestConfig['oauth'];
  if (authMode === 'client-credentials') {
    const tokenUrl = req(env, 'FHIR_OAUTH_TOKEN_URL');
    url('FHIR_OAUTH_TOKEN_URL', tokenUrl);
    const vaultUrl = req(env, 'FHIR_OAUTH_SECRET_VAULT_URL');
    url('FHIR_OAUTH_SECRET_VAULT_URL', vaultUrl, false);
    oauth = {
      tokenUrl,
      clientId: req(env, 'FHIR_OAUTH_CLIENT_ID'),
      scope: str(env, 'FHIR_OAUTH_SCOPE'),
      vaultUrl,
      secretName: req(env, 'FHIR_OAUTH_SECRET_NAME'),
    };
    if (str(env, 'FHIR_OAUTH_CLIENT_SECRET')) {
      throw new ConfigError('FHIR_OAUTH_CLIENT_SECRET must not be set: the secret is read from Key Vault');
    }
  }

  const idStrategy = (str(env, 'FHIR_ID_STRATEGY') ?? 'stable') as IdStrategy;
  if (idStrategy !== 'stable' && idStrategy !== 'convert-data') {
    throw new ConfigError('app setting FHIR_ID_STRATEGY must be stable or convert-data');
  }

  const storageConfig = loadStorageConfig(env);

  const retry: RetryOptions = {
    maxAttempts: int(env, 'RETRY_MAX_ATTEMPTS', 6, 1, 20),
    baseDelayMs: int(env, 'RETRY_BASE_DELAY_MS', 500, 1, 60_000),
    maxDelayMs: int(env, 'RETRY_MAX_DELAY_MS', 30_000, 1, 300_000),
    maxTotalMs: int(env, 'RETRY_MAX_TOTAL_MS', 120_000, 100, 600_000),
  };

  return {
    ...loadCallerAuth(env, isLoopback(fhir)),
    fhirUrl,
    fhirAudience,
    authMode,
    azureClientId: str(env, 'AZURE_CLIENT_ID'),
    oauth,
    ...storageConfig,
    maxBodyBytes: int(env, 'MAX_BODY_BYTES', 1_048_576, 1024, 100 * 1_048_576),
    maxBundleEntries: int(env, 'MAX_BUNDLE_ENTRIES', 500, 1, 100_000),
    maxDequeueCount: int(env, 'MAX_DEQUEUE_COUNT', 5, 1, 100),
    takeoverAfterMs: int(env, 'DEDUPE_TAKEOVER_MS', 15_000, 10, 600_000),
    idStrategy,
    requestTimeoutMs: int(env, 'FHIR_REQUEST_TIMEOUT_MS', 30_000, 100, 230_000),
    retry,
  };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Caller authentication for POST /api/hl7. Mandatory wherever FHIR is not on loopback, i.e. in every real
 * deployment; INGEST_AUTH_MODE=none exists only for local tests and the demo, like FHIR_AUTH_MODE=none.
 */
function loadCallerAuth(env: Env, loopbackFhir: boolean): Pick<IngestConfig, 'callerAuth' | 'callerAuthMode'> {
  const mode = str(env, 'INGEST_AUTH_MODE') ?? 'entra';
  if (mode !== 'entra' && mode !== 'none') throw new ConfigError('app setting INGEST_AUTH_MODE must be entra or none');
  if (mode === 'none') {
    if (!loopbackFhir) throw new ConfigError('INGEST_AUTH_MODE=none is only allowed with a loopback FHIR_URL (local tests and demo)');
    return { callerAuthMode: 'none' };
  }
  const names = ['INGEST_AUTH_TENANT_ID', 'INGEST_AUTH_ISSUER', 'INGEST_AUTH_JWKS_URL', 'INGEST_AUTH_AUDIENCE', 'INGEST_SENDERS'];
  // Absent altogether: the settings are parsed as far as they go and the runtime refuses to start
  // (requireCallerAuth), so tools that only read the other settings keep working.
  if (names.every((n) => str(env, n) === undefined)) return { callerAuthMode: 'entra' };
  const tenant = str(env, 'INGEST_AUTH_TENANT_ID');
  if (tenant !== undefined && !GUID.test(tenant)) throw new ConfigError('app setting INGEST_AUTH_TENANT_ID must be a tenant GUID');
  const issuer = str(env, 'INGEST_AUTH_ISSUER') ?? (tenant ? `https://login.microsoftonline.com/${tenant}/v2.0` : undefined);
  const jwksUrl = str(env, 'INGEST_AUTH_JWKS_URL') ?? (tenant ? `https://login.microsoftonline.com/${tenant}/discovery/v2.0/keys` : undefined);
  if (!issuer || !jwksUrl) throw new ConfigError('app setting INGEST_AUTH_TENANT_ID is required (or INGEST_AUTH_ISSUER and INGEST_AUTH_JWKS_URL)');
  url('INGEST_AUTH_JWKS_URL', jwksUrl);
  const sendersText = req(env, 'INGEST_SENDERS');
  const senders = parseSenders(sendersText);
  if (!senders || senders.size === 0) {
    throw new ConfigError('app setting INGEST_SENDERS must be a JSON object mapping sender client ids to a non-empty list of facilities');
  }
  const audiences = req(env, 'INGEST_AUTH_AUDIENCE').split(',').map((a) => a.trim()).filter((a) => a.length > 0);
  return { callerAuthMode: 'entra', callerAuth: { issuer, jwksUrl, audiences, role: str(env, 'INGEST_AUTH_ROLE') ?? 'HL7.Send', senders } };
}

/** The Function never serves POST /api/hl7 without caller validation unless INGEST_AUTH_MODE=none (loopback only). */
export function requireCallerAuth(config: IngestConfig): CallerAuthConfig | undefined {
  if (config.callerAuthMode === 'none') return undefined;
  if (!config.callerAuth) throw new ConfigError('app setting INGEST_AUTH_TENANT_ID is required (with INGEST_AUTH_AUDIENCE and INGEST_SENDERS)');
  return config.callerAuth;
}
