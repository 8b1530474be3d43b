/**
 * Who is calling POST /api/hl7: the Function validates the caller's Entra access token itself (APIM
 * forwards the `Authorization` header), rather than trusting the network or a header set upstream. The
 * checks follow Microsoft identity platform guidance for protected web APIs
 * (https://learn.microsoft.com/entra/identity-platform/scenario-protected-web-api-app-configuration and
 * .../access-tokens#validate-tokens): RS256 signature against the tenant's published JWKS (keys picked by
 * `kid`, refreshed when an unknown `kid` appears), exact `iss`, `aud`, `exp`/`nbf` with a small clock skew,
 * and an app role (`roles` claim, `HL7.Send`) since senders are daemon apps using client credentials.
 * The sender's identity is its client id (`azp`, v2 tokens; `appid`, v1), which scopes the dedupe key and
 * selects the facilities it may send for. Done with node:crypto only: no token library in the bundle.
 */
import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';

export interface CallerAuthConfig {
  issuer: string;
  /** Accepted `aud` values: v2 access tokens carry the API's client id, v1 tokens its identifier URI. */
  audiences: string[];
  jwksUrl: string;
  role: string;
  /** Sender client id -> the sending facilities it may name. */
  senders: Map<string, FacilityGrant[]>;
  clockSkewSec?: number;
}

/** MSH-4 (and optionally MSH-3) a sender may use; each matches the HD's namespace id or the whole HD. */
export interface FacilityGrant {
  facility: string;
  application?: string;
}

export type AuthResult =
  | { ok: true; sender: string }
  | { ok: false; status: 401 | 403; error: 'invalid_token' | 'insufficient_scope'; why: AuthFailure };

export type AuthFailure = 'no-token' | 'malformed' | 'bad-signature' | 'unknown-key' | 'wrong-issuer' | 'wrong-audience' | 'expired' | 'not-yet-valid' | 'missing-role' | 'no-client-id' | 'jwks-unavailable' | 'unknown-sender';

const b64url = (s: string) => Buffer.from(s, 'base64url');

function parseJson(buf: Buffer): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(buf.toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export class EntraCallerValidator {
  private keys = new Map<string, KeyObject>();
  private lastFetch = 0;
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly cfg: CallerAuthConfig,
    private readonly fetchImpl: typeof fetch = fetch,
    private readonly now: () => number = Date.now,
  ) {}

  private async refreshKeys(force: boolean): Promise<void> {
    // At most one refresh per 30 s even under a flood of unknown `kid`s (a cheap DoS otherwise).
    if (!force && this.keys.size > 0) return;
    if (this.now() - this.lastFetch < 30_000 && this.keys.size > 0) return;
    this.inflight ??= (async () => {
      try {
        const res = await this.fetchImpl(this.cfg.jwksUrl, { signal: AbortSignal.timeout(5000) });
        if (!res.ok) throw new Error(`JWKS HTTP ${res.status}`);
        const body = (await res.json()) as { keys?: (JsonWebKey & { kid?: string; use?: string })[] };
        const next = new Map<string, KeyObject>();
        for (const k of body.keys ?? []) {
          if (k.kty !== 'RSA' || !k.kid || (k.use && k.use !== 'sig')) continue;
          next.set(k.kid, createPublicKey({ key: { kty: k.kty, n: k.n, e: k.e }, format: 'jwk' }));
        }
        this.keys = next;
        this.lastFetch = this.now();
      } finally {
        this.inflight = undefined;
      }
    })();
    await this.inflight;
  }

  async validate(authorization: string | null): Promise<AuthResult> {
    const fail = (why: AuthFailure, status: 401 | 403 = 401): AuthResult => ({ ok: false, status, error: status === 401 ? 'invalid_token' : 'insufficient_scope', why });
    const m = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(authorization ?? '');
    if (!m) return fail(authorization ? 'malformed' : 'no-token');
    const header = parseJson(b64url(m[1]));
    const claims = parseJson(b64url(m[2]));
    if (!header || !claims || header.alg !== 'RS256' || typeof header.kid !== 'string') return fail('malformed');
    let key = this.keys.get(header.kid);
    if (!key) {
      try {
        await this.refreshKeys(true);
      } catch {
        return fail('jwks-unavailable');
      }
      key = this.keys.get(header.kid);
      if (!key) return fail('unknown-key');
    }
    if (!verify('sha256', Buffer.from(`${m[1]}.${m[2]}`), key, b64url(m[3]))) return fail('bad-signature');

    const skew = (this.cfg.clockSkewSec ?? 120) * 1000;
    const t = this.now();
    if (claims.iss !== this.cfg.issuer) return fail('wrong-issuer');
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.some((a) => typeof a === 'string' && this.cfg.audiences.includes(a))) return fail('wrong-audience');
    if (typeof claims.exp !== 'number' || claims.exp * 1000 + skew <= t) return fail('expired');
    if (typeof claims.nbf === 'number' && claims.nbf * 1000 - skew > t) return fail('not-yet-valid');
    const roles = Array.isArray(claims.roles) ? claims.roles : [];
    if (!roles.includes(this.cfg.role)) return fail('missing-role', 403);
    const sender = typeof claims.azp === 'string' ? claims.azp : typeof claims.appid === 'string' ? claims.appid : undefined;
    if (!sender) return fail('no-client-id', 403);
    if (!this.cfg.senders.has(sender)) return fail('unknown-sender', 403);
    return { ok: true, sender };
  }

  /** Whether the sender may name this MSH-4 (and MSH-3), given their raw HD texts and component separator. */
  facilityAllowed(sender: string, msh3Raw: string, msh4Raw: string, componentSep: string): boolean {
    const matches = (grant: string, raw: string) => grant === raw || grant === raw.split(componentSep)[0];
    return (this.cfg.senders.get(sender) ?? []).some((g) => matches(g.facility, msh4Raw) && (g.application === undefined || matches(g.application, msh3Raw)));
  }
}

/** Parses INGEST_SENDERS: {"<client id>": ["FACILITY", {"facility": "F", "application": "APP"}], ...}. */
export function parseSenders(text: string): Map<string, FacilityGrant[]> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const out = new Map<string, FacilityGrant[]>();
  for (const [id, grants] of Object.entries(v as Record<string, unknown>)) {
    if (!/^[0-9a-f-]{36}$/i.test(id) || !Array.isArray(grants) || grants.length === 0) return undefined;
    const list: FacilityGrant[] = [];
    for (const g of grants) {
      if (typeof g === 'string' && g.trim()) list.push({ facility: g });
      else if (g && typeof g === 'object' && typeof (g as FacilityGrant).facility === 'string') {
        const { facility, application } = g as FacilityGrant;
        if (application !== undefined && typeof application !== 'string') return undefined;
        list.push({ facility, ...(application ? { application } : {}) });
      } else return undefined;
    }
    out.set(id, list);
  }
  return out;
}
