/**
 * Builds the live dependencies from app settings once per process. Start-up validation happens here
 * (configuration, and for the client-credentials mode the Key Vault secret plus a first token), so a
 * misconfigured app fails on its first invocation and in /api/health with a named reason.
 */
import type { TokenCredential } from '@azure/identity';
import { EntraCallerValidator } from './caller-auth';
import { TokenErrorReplayer } from './replay';
import { loadConfig, requireCallerAuth, type IngestConfig, type StorageConfig } from './config';
import type { DeliverDeps } from './deliver';
import { FhirClient } from './fhir-client';
import type { HttpIngestDeps } from './http-ingest';
import { loadAzureSdk } from './load-sdk';
import { BlobMessageStore, StorageQueue, type MessageQueue, type MessageStore } from './storage';
import {
  clientCredentialsProvider,
  credentialTokenProvider,
  keyVaultSecretReader,
  noAuthProvider,
  scopeForAudience,
  type SecretReader,
  type TokenProvider,
} from './token';

export interface Runtime {
  config: IngestConfig;
  store: MessageStore;
  ingestQueue: MessageQueue;
  poisonQueue: MessageQueue;
  tokens: TokenProvider;
  fhir: FhirClient;
  /** Validates POST /api/hl7 callers (Entra); absent only with INGEST_AUTH_MODE=none. */
  callers?: EntraCallerValidator;
  tokenReplay?: TokenErrorReplayer;
}

/** What the HTTP trigger needs from the runtime: the same wiring for the host, the demo and the benchmark. */
export function httpIngestDepsOf(rt: Runtime): HttpIngestDeps {
  return {
    store: rt.store,
    queue: rt.ingestQueue,
    takeoverAfterMs: rt.config.takeoverAfterMs,
    maxBodyBytes: rt.config.maxBodyBytes,
    maxBundleEntries: rt.config.maxBundleEntries,
    idStrategy: rt.config.idStrategy,
    auth: rt.callers,
  };
}

/** What the queue trigger needs from the runtime. */
export function deliverDepsOf(rt: Runtime): DeliverDeps {
  return {
    store: rt.store,
    poison: rt.poisonQueue,
    fhir: rt.fhir,
    idStrategy: rt.config.idStrategy,
    maxDequeueCount: rt.config.maxDequeueCount,
    tokenReplay: rt.tokenReplay,
  };
}

export interface RuntimeOverrides {
  /** Replaces the Key Vault reader (tests: there is no Key Vault emulator). */
  secrets?: SecretReader;
  credential?: TokenCredential;
  tokens?: TokenProvider;
  fetchImpl?: typeof fetch;
}

async function azureCredential(clientId: string | undefined, mode: 'managed-identity' | 'default-credential'): Promise<TokenCredential> {
  const identity = loadAzureSdk();
  if (mode === 'managed-identity') {
    return clientId ? new identity.ManagedIdentityCredential({ clientId }) : new identity.ManagedIdentityCredential();
  }
  return new identity.DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
}

export async function openStorage(config: StorageConfig): Promise<Pick<Runtime, 'store' | 'ingestQueue' | 'poisonQueue'>> {
  const { BlobServiceClient, QueueServiceClient } = loadAzureSdk();
  const s = config.storage;
  let blobs, queues;
  if (s.connectionString) {
    blobs = BlobServiceClient.fromConnectionString(s.connectionString);
    queues = QueueServiceClient.fromConnectionString(s.connectionString);
  } else {
    // Same identity and settings the host uses for AzureWebJobsStorage__* (identity-based connection).
    const cred = await azureCredential(s.clientId, 'managed-identity');
    blobs = new BlobServiceClient(s.blobServiceUri!, cred);
    queues = new QueueServiceClient(s.queueServiceUri!, cred);
  }
  const [store, ingestQueue, poisonQueue] = await Promise.all([
    BlobMessageStore.open(blobs, config.messageContainerName),
    StorageQueue.open(queues, config.ingestQueueName),
    StorageQueue.open(queues, config.poisonQueueName),
  ]);
  return { store, ingestQueue, poisonQueue };
}

export async function tokenProviderFor(config: IngestConfig, o: RuntimeOverrides = {}): Promise<TokenProvider> {
  if (o.tokens) return o.tokens;
  switch (config.authMode) {
    case 'none':
      return noAuthProvider;
    case 'managed-identity':
    case 'default-credential':
      return credentialTokenProvider(o.credential ?? (await azureCredential(config.azureClientId, config.authMode)), scopeForAudience(config.fhirAudience));
    case 'client-credentials': {
      const oauth = config.oauth!;
      const secrets = o.secrets ?? (await keyVaultSecretReader(oauth.vaultUrl, o.credential ?? (await azureCredential(config.azureClientId, 'managed-identity'))));
      return clientCredentialsProvider({
        tokenUrl: oauth.tokenUrl,
        clientId: oauth.clientId,
        scope: oauth.scope,
        secrets,
        secretName: oauth.secretName,
        fetchImpl: o.fetchImpl,
      });
    }
  }
}

export async function createRuntime(env: Record<string, string | undefined> = process.env, o: RuntimeOverrides = {}): Promise<Runtime> {
  const config = loadConfig(env);
  const callerAuth = requireCallerAuth(config);
  const [storage, tokens] = await Promise.all([openStorage(config), tokenProviderFor(config, o)]);
  const fhir = new FhirClient({ baseUrl: config.fhirUrl, tokens, retry: config.retry, requestTimeoutMs: config.requestTimeoutMs, fetchImpl: o.fetchImpl });
  const callers = callerAuth ? new EntraCallerValidator(callerAuth, o.fetchImpl) : undefined;
  return { config, ...storage, tokens, fhir, callers, tokenReplay: new TokenErrorReplayer(storage.poisonQueue, storage.ingestQueue) };
}
