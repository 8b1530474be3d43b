/**
 * GET /api/health: can we get a token, and does the FHIR service answer /metadata with an R4
 * CapabilityStatement? 200 when both pass, 503 otherwise. The body only holds check names, booleans,
 * timings, the HTTP status and fhirVersion; errors are reported by class, never by message or value.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { FhirClient } from './fhir-client';
import { contextSink, createLogger, errorFields } from './logger';
import type { TokenProvider } from './token';

export interface HealthDeps {
  tokens: TokenProvider;
  fhir: FhirClient;
  /** How long one probe answers every caller (the endpoint is anonymous); default 30 s. */
  healthCacheMs?: number;
  now?: () => number;
  /** A working token is the signal to replay token-error parkings, even when no message is flowing. */
  tokenReplay?: { afterSuccess(): Promise<number> };
}

/**
 * The probe result per runtime. /api/health is anonymous, so without this every caller could make the
 * Function fetch a token and call FHIR /metadata; concurrent callers also share one in-flight probe.
 */
const probes = new WeakMap<HealthDeps, { at: number; result: Promise<{ ok: boolean; body: HealthBody }> }>();

export interface HealthBody {
  status: 'ok' | 'unhealthy';
  checks: {
    token: { ok: boolean; durationMs: number; error?: string };
    fhirMetadata: { ok: boolean; durationMs: number; status?: number; fhirVersion?: string; error?: string };
  };
}

export async function handleHealth(_request: HttpRequest, context: InvocationContext, deps: HealthDeps | Error): Promise<HttpResponseInit> {
  const log = createLogger(contextSink(context)).child({ invocationId: context.invocationId });
  if (deps instanceof Error) {
    // Start-up failed (configuration or Key Vault secret): report which kind, not the details.
    log.error('health.checked', { ok: false, reason: 'startup-error', ...errorFields(deps) });
    return { status: 503, jsonBody: { status: 'unhealthy', startup: { ok: false, error: deps.name } } };
  }
  const now = deps.now ?? Date.now;
  const cached = probes.get(deps);
  const fresh = cached && now() - cached.at < (deps.healthCacheMs ?? 30_000);
  const entry = fresh ? cached : { at: now(), result: probe(deps) };
  if (!fresh) probes.set(deps, entry);
  const { ok, body } = await entry.result;
  if (body.checks.token.ok) void deps.tokenReplay?.afterSuccess();
  log.info('health.checked', { ok, status: body.checks.fhirMetadata.status, check: fresh ? 'cached' : 'probed' });
  const ageSec = Math.floor((now() - entry.at) / 1000);
  return { status: ok ? 200 : 503, jsonBody: body, headers: { 'cache-control': 'no-store', age: String(ageSec) } };
}

async function probe(deps: HealthDeps): Promise<{ ok: boolean; body: HealthBody }> {
  const t0 = Date.now();
  const token: HealthBody['checks']['token'] = { ok: false, durationMs: 0 };
  try {
    await deps.tokens.getToken();
    token.ok = true;
  } catch (err) {
    token.error = err instanceof Error ? err.name : 'Error';
  }
  token.durationMs = Date.now() - t0;

  const t1 = Date.now();
  const meta: HealthBody['checks']['fhirMetadata'] = { ok: false, durationMs: 0 };
  if (token.ok) {
    try {
      const m = await deps.fhir.metadata();
      meta.status = m.status;
      meta.fhirVersion = m.fhirVersion && /^[0-9.]{1,12}$/.test(m.fhirVersion) ? m.fhirVersion : undefined;
      meta.ok = m.status === 200 && m.resourceType === 'CapabilityStatement' && (meta.fhirVersion ?? '').startsWith('4.0');
      if (!meta.ok) meta.error = m.resourceType === 'CapabilityStatement' ? 'UnexpectedFhirVersion' : 'NotACapabilityStatement';
    } catch (err) {
      meta.error = err instanceof Error ? err.name : 'Error';
    }
  } else {
    meta.error = 'SkippedNoToken';
  }
  meta.durationMs = Date.now() - t1;
  const ok = token.ok && meta.ok;
  const body: HealthBody = { status: ok ? 'ok' : 'unhealthy', checks: { token, fhirMetadata: meta } };
  return { ok, body };
}
