/**
 * Retry policy for calls to the FHIR service: exponential back-off with full jitter (delay drawn
 * uniformly from [0, min(cap, base * 2^n)], per the AWS architecture blog "Exponential Backoff And
 * Jitter"), a server hint (Retry-After in seconds or as an HTTP date, or x-ms-retry-after-ms as used
 * by AHDS and microsoft/fhir-loader) taking precedence, and both an attempt bound and a time budget.
 */

export interface RetryOptions {
  /** Total tries including the first. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Give up once the next wait would end after this many ms from the first try. */
  maxTotalMs: number;
  /** Multiplies every wait, server hints included; tests use a small value to run fast. */
  delayScale?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

export const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Full-jitter exponential delay for retry number `retry` (0 for the first retry). */
export function backoffDelay(retry: number, o: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>): number {
  const ceiling = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.min(retry, 30));
  return Math.floor((o.random ?? Math.random)() * ceiling);
}

/**
 * Reads a server retry hint. `x-ms-retry-after-ms` wins (it is more precise); `Retry-After` is either
 * delay-seconds or an HTTP-date (RFC 9110 section 10.2.3). Returns undefined when absent or unparsable.
 */
export function parseRetryAfter(headers: { get(name: string): string | null }, nowMs: number): number | undefined {
  const ms = headers.get('x-ms-retry-after-ms');
  if (ms !== null && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.ceil(Number(ms));
  const ra = headers.get('retry-after');
  if (ra === null) return undefined;
  const trimmed = ra.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (!Number.isNaN(date)) return Math.max(0, date - nowMs);
  return undefined;
}

/** What one attempt tells the loop to do next. */
export type AttemptOutcome<T> =
  | { kind: 'done'; value: T }
  | { kind: 'retry'; hintMs?: number; failure: string }
  | { kind: 'fail'; failure: string };

export interface RetryResult<T> {
  ok: boolean;
  value?: T;
  attempts: number;
  /** Last failure description when !ok (a closed code, not free text). */
  failure?: string;
  /** True when we stopped on a permanent outcome rather than running out of attempts/time. */
  permanent: boolean;
  elapsedMs: number;
}

export interface RetryHooks {
  onRetry?: (info: { attempt: number; delayMs: number; failure: string }) => void;
}

export async function runWithRetry<T>(
  attempt: (n: number) => Promise<AttemptOutcome<T>>,
  o: RetryOptions,
  hooks: RetryHooks = {},
): Promise<RetryResult<T>> {
  if (!(o.maxAttempts >= 1)) throw new RangeError('retry maxAttempts must be at least 1');
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? defaultSleep;
  const scale = o.delayScale ?? 1;
  const start = now();
  let last = 'none';
  let n = 0;
  for (;;) {
    n++;
    const outcome = await attempt(n);
    if (outcome.kind === 'done') return { ok: true, value: outcome.value, attempts: n, permanent: false, elapsedMs: now() - start };
    last = outcome.failure;
    if (outcome.kind === 'fail') return { ok: false, attempts: n, failure: last, permanent: true, elapsedMs: now() - start };
    if (n >= o.maxAttempts) break;
    const delay = Math.round(
      (outcome.hintMs !== undefined ? Math.min(outcome.hintMs, o.maxTotalMs) : backoffDelay(n - 1, o)) * scale,
    );
    if (now() - start + delay > o.maxTotalMs * scale) break;
    hooks.onRetry?.({ attempt: n, delayMs: delay, failure: last });
    await sleep(delay);
  }
  return { ok: false, attempts: n, failure: last, permanent: false, elapsedMs: now() - start };
}
