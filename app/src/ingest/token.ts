/**
 * Access tokens for the FHIR service. Two modes:
 *  - Entra ID via @azure/identity (managed identity in Azure, DefaultAzureCredential for local dev),
 *    scope `<audience>/.default`;
 *  - OAuth 2.0 client credentials (RFC 6749 section 4.4) for third-party FHIR servers, with the client
 *    secret read from Key Vault at start-up.
 * Both sit behind CachedTokenProvider, which reuses a token until shortly before it expires (5 minutes
 * by default, the margin the azure-health-data-services-toolkit BearerTokenHandler uses).
 */
import type { TokenCredential } from '@azure/identity';
import { loadAzureSdk } from './load-sdk';

export interface AccessTokenLike {
  token: string;
  expiresOnTimestamp: number;
}

export interface TokenProvider {
  getToken(): Promise<string>;
  /** Drop the cached token, e.g. after the FHIR server answered 401. */
  invalidate(): void;
}

/** Raised for any failure to obtain a token; the message never contains a secret or token. */
export class TokenAcquisitionError extends Error {
  constructor(
    message: string,
    readonly permanent = false,
  ) {
    super(message);
    this.name = 'TokenAcquisitionError';
  }
}

export class CachedTokenProvider implements TokenProvider {
  private cached?: AccessTokenLike;
  private inflight?: Promise<AccessTokenLike>;
  private readonly refreshBeforeMs: number;
  private readonly now: () => number;

  constructor(
    private readonly acquire: () => Promise<AccessTokenLike>,
    opts: { refreshBeforeMs?: number; now?: () => number } = {},
  ) {
    this.refreshBeforeMs = opts.refreshBeforeMs ?? 5 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  async getToken(): Promise<string> {
    if (this.cached && this.cached.expiresOnTimestamp - this.refreshBeforeMs > this.now()) return this.cached.token;
    // One acquisition at a time; concurrent callers share it.
    this.inflight ??= this.acquire().finally(() => {
      this.inflight = undefined;
    });
    let fresh: AccessTokenLike;
    try {
      fresh = await this.inflight;
    } catch (err) {
      if (err instanceof TokenAcquisitionError) throw err;
      throw new TokenAcquisitionError(`token acquisition failed (${err instanceof Error ? err.name : 'error'})`);
    }
    if (!fresh || typeof fresh.token !== 'string' || fresh.token.length === 0) {
      throw new TokenAcquisitionError('token acquisition returned no token');
    }
    this.cached = fresh;
    return fresh.token;
  }

  invalidate(): void {
    this.cached = undefined;
  }
}

/** `https://x.fhir.azurehealthcareapis.com/` -> `https://x.fhir.azurehealthcareapis.com/.default`. */
export function scopeForAudience(audience: string): string {
  return audience.replace(/\/+$/, '') + '/.default';
}

export function credentialTokenProvider(
  credential: TokenCredential,
  scope: string,
  opts?: { refreshBeforeMs?: number; now?: () => number },
): CachedTokenProvider {
  return new CachedTokenProvider(async () => {
    const t = await credential.getToken(scope);
    if (!t) throw new TokenAcquisitionError('credential returned no token');
    return { token: t.token, expiresOnTimestamp: t.expiresOnTimestamp };
  }, opts);
}

/** Reads secrets; implemented by Key Vault in Azure and by a fake in tests (there is no Key Vault emulator). */
export interface SecretReader {
  getSecret(name: string): Promise<string | undefined>;
}

export async function keyVaultSecretReader(vaultUrl: string, credential: TokenCredential): Promise<SecretReader> {
  const { SecretClient } = loadAzureSdk();
  const client = new SecretClient(vaultUrl, credential);
  return {
    async getSecret(name: string) {
      const s = await client.getSecret(name);
      return s.value;
    },
  };
}

export interface ClientCredentialsOptions {
  tokenUrl: string;
  clientId: string;
  scope?: string;
  secret: string;
  fetchImpl?: typeof fetch;
  timeoutMs?: number;
  now?: () => number;
}

/** Plain OAuth client-credentials grant (form-encoded POST, `access_token` + `expires_in` reply). */
export function clientCredentialsAcquirer(o: ClientCredentialsOptions): () => Promise<AccessTokenLike> {
  const doFetch = o.fetchImpl ?? fetch;
  const now = o.now ?? Date.now;
  return async () => {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: o.clientId, client_secret: o.secret });
    if (o.scope) form.set('scope', o.scope);
    let res: Response;
    try {
      res = await doFetch(o.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        signal: AbortSignal.timeout(o.timeoutMs ?? 15_000),
      });
    } catch (err) {
      throw new TokenAcquisitionError(`token endpoint unreachable (${err instanceof Error ? err.name : 'error'})`);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      // 400/401 mean bad client id or secret: retrying will not help.
      throw new TokenAcquisitionError(`token endpoint answered HTTP ${res.status}`, res.status === 400 || res.status === 401);
    }
    const body = (await res.json().catch(() => undefined)) as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (!body || typeof body.access_token !== 'string' || body.access_token.length === 0) {
      throw new TokenAcquisitionError('token endpoint reply has no access_token');
    }
    const expiresIn = Number(body.expires_in);
    return {
      token: body.access_token,
      expiresOnTimestamp: now() + (Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 300) * 1000,
    };
  };
}

/**
 * Start-up check for the client-credentials mode: the secret must exist in Key Vault and the token
 * endpoint must accept it. Errors name the setting or the step, never the value.
 */
export async function clientCredentialsProvider(
  o: Omit<ClientCredentialsOptions, 'secret'> & { secrets: SecretReader; secretName: string; refreshBeforeMs?: number; rereadAfterMs?: number },
): Promise<CachedTokenProvider> {
  const now = o.now ?? Date.now;
  const readSecret = async (): Promise<string> => {
    let secret: string | undefined;
    try {
      secret = await o.secrets.getSecret(o.secretName);
    } catch (err) {
      throw new TokenAcquisitionError(`cannot read Key Vault secret '${o.secretName}' (${err instanceof Error ? err.name : 'error'})`, true);
    }
    if (typeof secret !== 'string' || secret.trim().length === 0) {
      throw new TokenAcquisitionError(`Key Vault secret '${o.secretName}' is missing or empty`, true);
    }
    return secret;
  };
  let acquire = clientCredentialsAcquirer({ ...o, secret: await readSecret() });
  let rereadAt = Number.NEGATIVE_INFINITY;
  const provider = new CachedTokenProvider(
    async () => {
      try {
        return await acquire();
      } catch (err) {
        // 400/401: the secret may have been rotated in Key Vault since it was read. Read it again (at most
        // once per rereadAfterMs, so a truly wrong secret does not hammer the vault) and retry once.
        if (!(err instanceof TokenAcquisitionError && err.permanent) || now() - rereadAt < (o.rereadAfterMs ?? 30_000)) throw err;
        rereadAt = now();
        acquire = clientCredentialsAcquirer({ ...o, secret: await readSecret() });
        return acquire();
      }
    },
    { refreshBeforeMs: o.refreshBeforeMs ?? 60_000, now: o.now },
  );
  await provider.getToken(); // fail fast on a wrong secret
  return provider;
}

/** For local servers without auth (tests, demo); refused for non-loopback URLs by the config loader. */
export const noAuthProvider: TokenProvider = {
  getToken: async () => '',
  invalidate: () => undefined,
};
