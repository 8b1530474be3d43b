/**
 * Minimal FHIR client: POST a transaction Bundle to the base URL and read /metadata. Retries 408, 429,
 * 5xx, network errors and token failures (retryable status set as in microsoft/fhir-loader
 * FHIRUtils.cs); any other 4xx is permanent. A 401 drops the cached token and is retried once.
 */
import type { Bundle } from 'fhir/r4';
import type { Logger } from './logger';
import { errorFields } from './logger';
import { parseRetryAfter, runWithRetry, type AttemptOutcome, type RetryOptions } from './retry';
import { TokenAcquisitionError, type TokenProvider } from './token';

export interface FhirClientOptions {
  baseUrl: string;
  tokens: TokenProvider;
  retry: RetryOptions;
  requestTimeoutMs: number;
  fetchImpl?: typeof fetch;
}

export type DeliveryResult =
  | { ok: true; status: number; entries: number; attempts: number; elapsedMs: number }
  | { ok: false; permanent: boolean; status?: number; failure: string; attempts: number; elapsedMs: number };

export type FhirReply =
  | { ok: true; status: number; body: unknown; etag?: string; attempts: number; elapsedMs: number }
  | { ok: false; permanent: boolean; status?: number; failure: string; attempts: number; elapsedMs: number };

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE.has(status) || status >= 500;
}

export class FhirClient {
  private readonly base: string;
  private readonly doFetch: typeof fetch;

  constructor(private readonly o: FhirClientOptions) {
    this.base = o.baseUrl.replace(/\/+$/, '');
    this.doFetch = o.fetchImpl ?? fetch;
  }

  private async headers(): Promise<Record<string, string>> {
    const token = await this.o.tokens.getToken();
    const h: Record<string, string> = { accept: 'application/fhir+json' };
    if (token) h.authorization = `Bearer ${token}`;
    return h;
  }

  /**
   * One FHIR interaction with the retry policy for transient failures (408/429/5xx, network, token, one
   * 401 refresh). Any other status is returned to the caller with its parsed body (a 412 or 400 is an
   * answer, not a transport failure). Never throws for HTTP or network failures.
   */
  async send(method: 'GET' | 'POST' | 'PUT', path: string, payload?: unknown, log?: Logger, extraHeaders: Record<string, string> = {}): Promise<FhirReply> {
    const body = payload === undefined ? undefined : JSON.stringify(payload);
    const url = path ? `${this.base}/${path.replace(/^\/+/, '')}` : this.base;
    let lastStatus: number | undefined;
    let refreshedAfter401 = false;
    const attempt = async (): Promise<AttemptOutcome<{ status: number; body: unknown; etag?: string }>> => {
      let headers: Record<string, string>;
      try {
        headers = await this.headers();
      } catch (err) {
        const permanent = err instanceof TokenAcquisitionError && err.permanent;
        log?.warn('fhir.token_failed', { reason: 'token-error', ...errorFields(err) });
        return permanent ? { kind: 'fail', failure: 'token-error' } : { kind: 'retry', failure: 'token-error' };
      }
      let res: Response;
      try {
        res = await this.doFetch(url, {
          method,
          headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/fhir+json' } : {}), ...extraHeaders },
          body,
          signal: AbortSignal.timeout(this.o.requestTimeoutMs),
        });
      } catch (err) {
        const timeout = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
        return { kind: 'retry', failure: timeout ? 'timeout' : 'network-error' };
      }
      lastStatus = res.status;
      if (res.status === 401 && !refreshedAfter401) {
        await res.body?.cancel().catch(() => undefined);
        refreshedAfter401 = true;
        this.o.tokens.invalidate();
        return { kind: 'retry', hintMs: 0, failure: 'fhir-401' };
      }
      if (isRetryableStatus(res.status)) {
        const hintMs = parseRetryAfter(res.headers, Date.now());
        await res.body?.cancel().catch(() => undefined);
        return { kind: 'retry', hintMs, failure: `fhir-${res.status}` };
      }
      let parsed: unknown;
      try {
        parsed = await res.json();
      } catch {
        // A 2xx whose body was cut off: the server may or may not have committed. Callers re-read before
        // they write again, so a resend is safe; an error body we cannot read is just an error status.
        if (res.ok) return { kind: 'retry', failure: 'network-error' };
      }
      return { kind: 'done', value: { status: res.status, body: parsed, etag: res.headers.get('etag') ?? undefined } };
    };
    const result = await runWithRetry(attempt, this.o.retry, {
      onRetry: ({ attempt: n, delayMs, failure }) =>
        log?.info('fhir.retry', { attempt: n, delayMs, reason: failureReason(failure), status: statusOf(failure) }),
    });
    if (result.ok && result.value) return { ok: true, ...result.value, attempts: result.attempts, elapsedMs: result.elapsedMs };
    return { ok: false, permanent: result.permanent, status: lastStatus, failure: result.failure ?? 'unknown', attempts: result.attempts, elapsedMs: result.elapsedMs };
  }

  /** Sends a transaction (or batch) bundle as is; per-entry failures of a batch count as failures. */
  async postBundle(bundle: Bundle, log?: Logger): Promise<DeliveryResult> {
    const r = await this.send('POST', '', bundle, log);
    if (!r.ok) return r;
    if (r.status >= 300) return { ok: false, permanent: true, status: r.status, failure: `fhir-${r.status}`, attempts: r.attempts, elapsedMs: r.elapsedMs };
    const statuses = ((r.body as Bundle | undefined)?.entry ?? []).map((e) => parseInt(e.response?.status ?? '0', 10));
    const bad = statuses.filter((s) => !(s >= 200 && s < 300));
    if (bad.length > 0) {
      const transient = bad.some((s) => isRetryableStatus(s));
      return { ok: false, permanent: !transient, status: r.status, failure: transient ? 'fhir-entry-transient' : `fhir-entry-${bad[0]}`, attempts: r.attempts, elapsedMs: r.elapsedMs };
    }
    return { ok: true, status: r.status, entries: statuses.length, attempts: r.attempts, elapsedMs: r.elapsedMs };
  }

  /** GET /metadata; returns the status and the CapabilityStatement's fhirVersion (nothing else is exposed). */
  async metadata(): Promise<{ status: number; resourceType?: string; fhirVersion?: string }> {
    const res = await this.doFetch(`${this.base}/metadata`, {
      headers: await this.headers(),
      signal: AbortSignal.timeout(this.o.requestTimeoutMs),
    });
    const body = (await res.json().catch(() => undefined)) as { resourceType?: unknown; fhirVersion?: unknown } | undefined;
    return {
      status: res.status,
      resourceType: typeof body?.resourceType === 'string' ? body.resourceType : undefined,
      fhirVersion: typeof body?.fhirVersion === 'string' ? body.fhirVersion : undefined,
    };
  }
}

function statusOf(failure: string): number | undefined {
  const m = /^fhir-(?:entry-)?(\d{3})$/.exec(failure);
  return m ? Number(m[1]) : undefined;
}

/** Maps an internal failure code to a log reason. */
export function failureReason(failure: string): 'token-error' | 'network-error' | 'timeout' | 'fhir-transient' | 'fhir-rejected' {
  if (failure === 'token-error') return 'token-error';
  if (failure === 'network-error') return 'network-error';
  if (failure === 'timeout') return 'timeout';
  const s = statusOf(failure);
  if (s === undefined || failure === 'fhir-entry-transient' || failure === 'fhir-401' || isRetryableStatus(s)) return 'fhir-transient';
  return 'fhir-rejected';
}
