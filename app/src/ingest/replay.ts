/**
 * Moves poison-queue messages back onto the ingest queue. Understands both poison shapes (our record
 * with a reason, and the host's bare envelope). Unreadable messages stay in the poison queue.
 * The send happens before the delete, so a crash in between replays a message twice at worst, which
 * delivery tolerates (idempotent PUTs); it never loses one.
 */
import { envelopeFromPoison } from './envelope';
import type { MessageQueue } from './storage';

export interface ReplayOptions {
  poison: MessageQueue;
  ingest: MessageQueue;
  max?: number;
  dryRun?: boolean;
  /** Only messages whose poison reason passes this are moved (the others stay parked). */
  only?: (reason: string | undefined) => boolean;
  /** Called per message with PHI-free facts (MSH-10, type, reason). */
  onMessage?: (m: { id?: string; type?: string; reason?: string; action: 'replayed' | 'would-replay' | 'unreadable' }) => void;
}

export interface ReplayResult {
  replayed: number;
  unreadable: number;
  seen: number;
}

function reasonOf(text: string): string | undefined {
  try {
    const o = JSON.parse(text) as { poison?: { reason?: unknown } };
    return typeof o.poison?.reason === 'string' ? o.poison.reason : 'host-dequeue-limit';
  } catch {
    return undefined;
  }
}

export async function replayPoison(o: ReplayOptions): Promise<ReplayResult> {
  const max = o.max ?? Number.POSITIVE_INFINITY;
  const result: ReplayResult = { replayed: 0, unreadable: 0, seen: 0 };
  // Messages we looked at stay invisible for this run, so the loop ends even in dry-run mode.
  const holdSec = 300;
  const held: { id: string; pop: string }[] = [];
  while (result.seen < max) {
    const batch = await o.poison.receive(Math.min(32, max - result.seen), holdSec);
    if (batch.length === 0) break;
    for (const m of batch) {
      if (result.seen >= max) {
        held.push({ id: m.id, pop: m.popReceipt });
        continue;
      }
      result.seen++;
      const env = envelopeFromPoison(m.text);
      if (!env) {
        result.unreadable++;
        o.onMessage?.({ action: 'unreadable' });
        held.push({ id: m.id, pop: m.popReceipt });
        continue;
      }
      if (o.only && !o.only(reasonOf(m.text))) {
        held.push({ id: m.id, pop: m.popReceipt });
        continue;
      }
      if (o.dryRun) {
        o.onMessage?.({ id: env.id, type: env.type, reason: reasonOf(m.text), action: 'would-replay' });
        held.push({ id: m.id, pop: m.popReceipt });
        continue;
      }
      await o.ingest.send(JSON.stringify(env));
      await o.poison.remove(m.id, m.popReceipt);
      result.replayed++;
      o.onMessage?.({ id: env.id, type: env.type, reason: reasonOf(m.text), action: 'replayed' });
    }
  }
  // Make what we only looked at visible again right away.
  await Promise.all(held.map((h) => o.poison.release(h.id, h.pop, 0).catch(() => undefined)));
  return result;
}

/**
 * Replays messages parked for `token-error` once tokens work again: the delivery calls `afterSuccess()`
 * whenever a FHIR write succeeded. It sweeps the poison queue at most once per `intervalMs`, and only
 * when this instance has not swept since it started or has parked a token error since its last sweep
 * (another instance's parked messages are picked up by that instance, or by the first sweep after a
 * restart), so a healthy app does not scan the poison queue.
 */
export class TokenErrorReplayer {
  private lastSweep = Number.NEGATIVE_INFINITY;
  private pending = true;
  private running: Promise<number> | undefined;

  constructor(
    private readonly poison: MessageQueue,
    private readonly ingest: MessageQueue,
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  parked(): void {
    this.pending = true;
  }

  /** Starts a sweep when one is due; resolves with the number replayed (0 when none was due). */
  afterSuccess(): Promise<number> {
    if (this.running || !this.pending || this.now() - this.lastSweep < this.intervalMs) return this.running ?? Promise.resolve(0);
    this.lastSweep = this.now();
    this.pending = false;
    this.running = replayPoison({ poison: this.poison, ingest: this.ingest, max: 64, only: (r) => r === 'token-error' })
      .then((r) => r.replayed)
      .catch(() => {
        this.pending = true;
        return 0;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }
}
