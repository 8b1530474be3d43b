/**
 * Exactly-once hand-off from the HTTP function to the ingest queue.
 *
 * 1. The raw message is written to blob `<key>.hl7`, key = sha256(MSH-3 | MSH-4 | MSH-10), with
 *    If-None-Match: * and state `pending`. Of any number of concurrent copies exactly one create wins.
 * 2. The winner enqueues the envelope, then flips the state to `queued` (If-Match on its etag) and only
 *    then ACKs. If the enqueue fails it deletes its blob (If-Match) and answers AR so the sender resends.
 * 3. A copy that finds the blob:
 *    - `queued`: duplicate, ACKed without any write;
 *    - `pending`: the first copy is in flight, or crashed between steps 1 and 2. It polls until the state
 *      turns `queued` (then ACKs as duplicate). If the claim is older than `takeoverAfterMs` the first
 *      copy is presumed dead and this copy claims the hand-off with an If-Match metadata write (only one
 *      taker can win), enqueues and marks `queued`. If it cannot decide within `waitMs`, it answers AR
 *      (transient) so the sender resends later: the message is never ACKed without being queued.
 * Crash window: a crash after step 1 leaves a `pending` blob and no ACK, so the sender resends and the
 * takeover path enqueues it. The only possible double write is a first copy that stalls past the
 * takeover time and then still enqueues; delivery is idempotent (deterministic ids + PUT), so that
 * costs a second FHIR write, not a duplicate resource.
 */
import { createHash } from 'node:crypto';
import { makeEnvelope } from './envelope';
import type { Logger } from './logger';
import { defaultSleep } from './retry';
import type { MessageQueue, MessageStore } from './storage';

export type AcceptOutcome =
  | { kind: 'accepted'; recovered: boolean }
  | { kind: 'duplicate' }
  | { kind: 'conflict' }
  | { kind: 'busy' };

export interface AcceptDeps {
  store: MessageStore;
  queue: MessageQueue;
  takeoverAfterMs: number;
  /** Max time a duplicate waits on an in-flight first copy before answering AR. */
  waitMs?: number;
  pollMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Crash-window hook points (tests kill a real process at each); see app/INGEST.md for what each costs. */
  hooks?: Partial<Record<'afterMark' | 'afterEnqueue' | 'afterQueuedMark', () => Promise<void>>>;
}

/**
 * The dedupe key is scoped to the authenticated sender (its Entra client id), so one sender cannot
 * pre-claim another's control ids; within a sender it is MSH-3 | MSH-4 | MSH-10.
 */
export function dedupeKey(sendingApplication: string, sendingFacility: string, controlId: string, sender = ''): string {
  // Unit separators keep ("A|B", "C") and ("A", "B|C") apart.
  return createHash('sha256').update(`${sender}\u001f${sendingApplication}\u001f${sendingFacility}\u001f${controlId}`, 'utf8').digest('hex');
}

export function contentHash(raw: string): string {
  return createHash('sha256').update(raw, 'utf8').digest('hex').slice(0, 32);
}

/**
 * What "the same message" means for duplicate detection: the segments as parsed (so CR / LF / CRLF,
 * MLLP framing, a BOM and blank lines do not count), each without trailing whitespace, and with MSH-7
 * blanked, because interface engines commonly re-stamp MSH-7 when they resend. A resend that differs
 * only there is a duplicate (AA + x-hl7-duplicate); any other difference under the same MSH-10 is AR 205.
 */
export function dedupeIdentity(msg: { segments: readonly { name: string; raw: string }[]; delimiters: { field: string } }): string {
  const lines = msg.segments.map((s) => {
    const raw = s.raw.replace(/\s+$/, '');
    if (s.name !== 'MSH') return raw;
    const f = raw.split(msg.delimiters.field);
    if (f.length > 6) f[6] = ''; // f[0] 'MSH', f[1] MSH-2, f[6] MSH-7
    return f.join(msg.delimiters.field);
  });
  return contentHash(lines.join('\r'));
}

export async function acceptOnce(
  msg: { key: string; controlId: string; type: string; raw: string; /** dedupeIdentity of the message */ identity?: string },
  deps: AcceptDeps,
  log: Logger,
): Promise<AcceptOutcome> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;
  const waitMs = deps.waitMs ?? Math.min(10_000, deps.takeoverAfterMs + 2_000);
  const pollMs = deps.pollMs ?? 100;
  const hash = msg.identity ?? contentHash(msg.raw);
  const deadline = now() + waitMs;

  const handOff = async (etag: string, recovered: boolean): Promise<AcceptOutcome> => {
    await deps.hooks?.afterMark?.();
    try {
      await deps.queue.send(
        makeEnvelope({ id: msg.controlId, key: msg.key, type: msg.type, receivedAt: new Date(now()).toISOString() }, msg.raw),
      );
    } catch (err) {
      // Undo the claim so the sender's resend starts clean; if that fails too the takeover path recovers.
      await deps.store.remove(msg.key, etag).catch(() => false);
      throw err;
    }
    await deps.hooks?.afterEnqueue?.();
    const marked = await deps.store.setState(msg.key, 'queued', now(), etag, hash).catch(() => undefined);
    if (marked === undefined) log.warn('hl7.mark_queued_lost', { reason: 'takeover' });
    await deps.hooks?.afterQueuedMark?.();
    return { kind: 'accepted', recovered };
  };

  // Every way round this loop passes the deadline check, so no path can spin past waitMs.
  for (let round = 0; ; round++) {
    if (round > 0) {
      if (now() >= deadline) return { kind: 'busy' };
      await sleep(pollMs);
    }
    const etag = await deps.store.create(msg.key, msg.raw, { contentHash: hash, claimedAt: now() });
    if (etag !== undefined) return handOff(etag, false);

    const info = await deps.store.info(msg.key);
    if (info === undefined) continue; // the first copy rolled back between our create and read: try again
    if (info.contentHash && info.contentHash !== hash) return { kind: 'conflict' };
    if (info.state === 'queued') return { kind: 'duplicate' };
    if (now() - info.claimedAt >= deps.takeoverAfterMs) {
      const claimed = await deps.store.setState(msg.key, 'pending', now(), info.etag, hash);
      if (claimed !== undefined) {
        log.warn('hl7.takeover', { reason: 'takeover' });
        return handOff(claimed, true);
      }
      continue; // someone else changed it first; re-read
    }
  }
}
