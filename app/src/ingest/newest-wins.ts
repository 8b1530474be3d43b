/**
 * Writes a stamped transaction so that, per resource, the newest message wins whatever the arrival order,
 * and A40 merges stay final.
 *
 * Each round: read the current version of every resource (one batch of GETs), decide per resource, then
 * POST one transaction in which every update carries `If-Match: W/"<version read>"`. AHDS answers 412
 * when any of those versions moved meanwhile, and a transaction is all or nothing, so a round either
 * lands exactly on what it compared against or changes nothing; a 412 starts a new round (re-read,
 * re-decide). Concurrent writers therefore converge on the newest stamp.
 * (Optimistic concurrency with If-Match: https://learn.microsoft.com/azure/healthcare-apis/fhir/fhir-features-supported)
 *
 * Per resource:
 * - absent: create it (PUT without If-Match; R4 has no "create only" PUT). If the reply shows an update
 *   (200, not 201), another writer created it between our read and our write and we replaced that version
 *   unseen; we then read that version back and re-apply it through the same rules if it was newer;
 * - stored stamp older: replace it (If-Match);
 * - stored stamp newer or the same message: keep it, unless a merge fact must be added (below).
 * Merges are final: Patient.link entries are never dropped (the union of stored and incoming), and a
 * Patient with a `replaced-by` link stays `active: false`, whatever message comes later.
 * Deletes (A29) follow the same rule: a stored resource is deleted (If-Match) only when it is older than the
 * deleting message; a newer one, or none, is left alone. A message older than the delete that arrives
 * after it re-creates the resource: the server keeps no event time for a deleted resource (a known gap).
 */
import type { Bundle, BundleEntry, Patient, Resource } from 'fhir/r4';
import { compareStamps, stampOf } from './event-time';
import type { FhirClient } from './fhir-client';
import type { Logger } from './logger';
import { defaultSleep } from './retry';

export interface NewestWinsOptions {
  /** Rounds (each a read + a transaction) before giving up as transient. */
  maxRounds?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export type WriteResult =
  | { ok: true; status: number; written: number; skipped: number; rounds: number; conflicts: number; attempts: number }
  | { ok: false; permanent: boolean; status?: number; failure: string; rounds: number; conflicts: number; attempts: number };

interface Current {
  resource?: Resource;
  version?: string;
}

const keyOf = (r: Resource) => `${r.resourceType}/${r.id}`;

function linkKey(l: NonNullable<Patient['link']>[number]): string {
  return `${l.type}|${l.other?.reference ?? ''}`;
}

/** `base` with the merge facts of `other` added: links unioned, inactive when replaced. */
export function withMergeFacts(base: Resource, other: Resource | undefined): Resource {
  if (base.resourceType !== 'Patient') return base;
  const b = base as Patient;
  const seen = new Set((b.link ?? []).map(linkKey));
  const extra = ((other as Patient | undefined)?.link ?? []).filter((l) => !seen.has(linkKey(l)));
  const link = [...(b.link ?? []), ...extra];
  const replaced = link.some((l) => l.type === 'replaced-by');
  if (extra.length === 0 && (!replaced || b.active === false)) return base;
  return { ...b, ...(link.length > 0 ? { link } : {}), ...(replaced ? { active: false } : {}) } as Resource;
}

function sameMergeFacts(a: Resource, b: Resource): boolean {
  if (a.resourceType !== 'Patient') return true;
  const la = ((a as Patient).link ?? []).map(linkKey).sort().join(',');
  const lb = ((b as Patient).link ?? []).map(linkKey).sort().join(',');
  return la === lb && (a as Patient).active === (b as Patient).active;
}

function withoutServerMeta(r: Resource): Resource {
  if (!r.meta) return r;
  const { versionId: _v, lastUpdated: _l, ...meta } = r.meta;
  return { ...r, meta };
}

interface Op {
  resource: Resource;
  method: 'PUT' | 'DELETE';
  ifMatch?: string;
}

/** What to write for one resource given what is stored; undefined = leave the stored version alone. */
export function decide(ours: Resource, cur: Current, method: 'PUT' | 'DELETE' = 'PUT'): Op | undefined {
  const ifMatch = `W/"${cur.version}"`;
  if (method === 'DELETE') {
    return cur.resource && compareStamps(stampOf(ours), stampOf(cur.resource)) > 0 ? { resource: ours, method, ifMatch } : undefined;
  }
  if (!cur.resource) return { resource: ours, method };
  if (compareStamps(stampOf(ours), stampOf(cur.resource)) > 0) return { resource: withMergeFacts(ours, cur.resource), method, ifMatch };
  const kept = withMergeFacts(withoutServerMeta(cur.resource), ours);
  return sameMergeFacts(kept, cur.resource) ? undefined : { resource: kept, method, ifMatch };
}

const statusOf = (e: BundleEntry | undefined) => parseInt(e?.response?.status ?? '0', 10);
const versionOf = (e: BundleEntry | undefined): string | undefined =>
  e?.resource?.meta?.versionId ?? /^W\/"(.+)"$/.exec(e?.response?.etag ?? '')?.[1];

export async function writeNewestWins(bundle: Bundle, fhir: FhirClient, log: Logger, o: NewestWinsOptions = {}): Promise<WriteResult> {
  const maxRounds = o.maxRounds ?? 25;
  const sleep = o.sleep ?? defaultSleep;
  const random = o.random ?? Math.random;
  // Every entry carries the message's stamp on its resource (stampBundle), DELETE entries included.
  let pending: { resource: Resource; method: 'PUT' | 'DELETE' }[] = (bundle.entry ?? [])
    .filter((e) => e.resource !== undefined)
    .map((e) => ({ resource: e.resource!, method: e.request?.method === 'DELETE' ? 'DELETE' : 'PUT' }));
  let conflicts = 0;
  let attempts = 0;
  let written = 0;
  let skipped = 0;
  let lastStatus = 0;
  const fail = (permanent: boolean, failure: string, status: number | undefined, rounds: number): WriteResult => ({ ok: false, permanent, failure, status, rounds, conflicts, attempts });

  for (let round = 1; round <= maxRounds; round++) {
    const read = await fhir.send('POST', '', { resourceType: 'Bundle', type: 'batch', entry: pending.map((p) => ({ request: { method: 'GET', url: keyOf(p.resource) } })) }, log);
    attempts += read.attempts;
    if (!read.ok) return fail(read.permanent, read.failure, read.status, round);
    if (read.status >= 300) return fail(true, `fhir-${read.status}`, read.status, round);
    const replies = (read.body as Bundle | undefined)?.entry ?? [];
    const plan: Op[] = [];
    for (let i = 0; i < pending.length; i++) {
      const s = statusOf(replies[i]);
      if (s !== 200 && s !== 404 && s !== 410) return fail(false, s === 0 ? 'fhir-entry-transient' : `fhir-${s}`, s || undefined, round);
      const d = decide(pending[i].resource, s === 200 ? { resource: replies[i].resource, version: versionOf(replies[i]) } : {}, pending[i].method);
      if (d) plan.push(d);
      else skipped++;
    }
    if (plan.length === 0) return { ok: true, status: lastStatus || 200, written, skipped, rounds: round, conflicts, attempts };

    const tx = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: plan.map((p) => ({
        ...(p.method === 'PUT' ? { fullUrl: `urn:uuid:${p.resource.id}`, resource: p.resource } : {}),
        request: { method: p.method, url: keyOf(p.resource), ...(p.ifMatch ? { ifMatch: p.ifMatch } : {}) },
      })),
    };
    const res = await fhir.send('POST', '', tx, log);
    attempts += res.attempts;
    if (!res.ok) return fail(res.permanent, res.failure, res.status, round);
    if (res.status === 412 || res.status === 409) {
      conflicts++;
      log.info('fhir.conflict', { status: res.status, attempt: round });
      // Spread the competitors out so that one of them wins the next round.
      await sleep(Math.floor(random() * Math.min(200, 10 * 2 ** Math.min(round, 5))));
      continue;
    }
    if (res.status >= 300) return fail(true, `fhir-${res.status}`, res.status, round);
    lastStatus = res.status;
    written += plan.length;
    const out = (res.body as Bundle | undefined)?.entry ?? [];
    // Creates that turned out to be updates replaced a version we never compared against.
    const raced = plan.map((p, i) => ({ p, e: out[i] })).filter(({ p, e }) => p.method === 'PUT' && !p.ifMatch && statusOf(e) === 200);
    pending = [];
    for (const { p, e } of raced) {
      const v = Number(versionOf(e));
      if (!Number.isInteger(v) || v < 2) continue;
      const prev = await fhir.send('GET', `${keyOf(p.resource)}/_history/${v - 1}`, undefined, log);
      attempts += prev.attempts;
      if (!prev.ok) return fail(prev.permanent, prev.failure, prev.status, round);
      const pr = prev.body as Resource | undefined;
      if (prev.status === 200 && pr && compareStamps(stampOf(pr), stampOf(p.resource)) > 0) pending.push({ resource: withoutServerMeta(pr), method: 'PUT' });
    }
    if (pending.length === 0) return { ok: true, status: lastStatus, written, skipped, rounds: round, conflicts, attempts };
    conflicts++;
  }
  return fail(false, 'fhir-412', 412, maxRounds);
}
