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
}

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
  log.info('health.checked', { ok, status: meta.status, durationMs: Date.now() - t0 });
  return { status: ok ? 200 : 503, jsonBody: body, headers: { 'cache-control': 'no-store' } };
}
