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
}

export function dedupeKey(sendingApplication: string, sendingFacility: string, controlId: string): string {
  // Unit separators keep ("A|B", "C") and ("A", "B|C") apart.
  return createHash('sha256').update(`${sendingApplication}\u001f${sendingFacility}\u001f${controlId}`, 'utf8').digest('hex');
}

export function contentHash(raw: string): string {
  return createHash('sha256').update(raw, 'utf8').digest('hex').slice(0, 32);
}

export async function acceptOnce(
  msg: { key: string; controlId: string; type: string; raw: string },
  deps: AcceptDeps,
  log: Logger,
): Promise<AcceptOutcome> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;
  const waitMs = deps.waitMs ?? Math.min(10_000, deps.takeoverAfterMs + 2_000);
  const pollMs = deps.pollMs ?? 100;
  const hash = contentHash(msg.raw);
  const deadline = now() + waitMs;

  const handOff = async (etag: string, recovered: boolean): Promise<AcceptOutcome> => {
    try {
      await deps.queue.send(
        makeEnvelope({ id: msg.controlId, key: msg.key, type: msg.type, receivedAt: new Date(now()).toISOString() }, msg.raw),
      );
    } catch (err) {
      // Undo the claim so the sender's resend starts clean; if that fails too the takeover path recovers.
      await deps.store.remove(msg.key, etag).catch(() => false);
      throw err;
    }
    const marked = await deps.store.setState(msg.key, 'queued', now(), etag, hash).catch(() => undefined);
    if (marked === undefined) log.warn('hl7.mark_queued_lost', { reason: 'takeover' });
    return { kind: 'accepted', recovered };
  };

  for (;;) {
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
    if (now() >= deadline) return { kind: 'busy' };
    await sleep(pollMs);
  }
}
