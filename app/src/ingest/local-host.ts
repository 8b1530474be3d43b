/**
 * A stand-in for the Functions host's queue trigger, for the e2e tests, the demo and the benchmark:
 * receive, JSON-decode, invoke the handler with triggerMetadata.dequeueCount, delete on success; on
 * failure make the message visible again, and once dequeueCount reaches maxDequeueCount move the
 * original text to `<queue>-poison` (the host's documented behaviour, Azure/azure-webjobs-sdk#2624).
 */
import { InvocationContext } from '@azure/functions';
import type { LogSink } from './logger';
import type { MessageQueue, ReceivedMessage } from './storage';

export interface DrainOptions {
  queue: MessageQueue;
  hostPoison: MessageQueue;
  handler: (item: unknown, context: InvocationContext) => Promise<unknown>;
  maxDequeueCount: number;
  concurrency?: number;
  /** Seconds a failed message stays invisible (host.json visibilityTimeout). */
  retryVisibilitySec?: number;
  /** Stop after the queue has looked empty for this long. */
  idleMs?: number;
  /** Hard stop. */
  deadlineMs?: number;
  /** While this returns true the drain does not stop on idle (e.g. while messages are still arriving). */
  keepAlive?: () => boolean;
  logSink?: LogSink;
}

export interface DrainStats {
  invocations: number;
  succeeded: number;
  failedRuns: number;
  hostPoisoned: number;
}

function decode(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function drainQueue(o: DrainOptions): Promise<DrainStats> {
  const stats: DrainStats = { invocations: 0, succeeded: 0, failedRuns: 0, hostPoisoned: 0 };
  const concurrency = o.concurrency ?? 16;
  const idleMs = o.idleMs ?? 1500;
  const stopAt = Date.now() + (o.deadlineMs ?? 120_000);
  let idleSince: number | undefined;
  let seq = 0;

  const runOne = async (m: ReceivedMessage): Promise<void> => {
    stats.invocations++;
    const context = new InvocationContext({
      invocationId: `local-${++seq}`,
      functionName: 'hl7-deliver',
      triggerMetadata: { dequeueCount: m.dequeueCount, id: m.id },
      logHandler: (level, ...args) => o.logSink?.(level === 'information' ? 'info' : level === 'warning' ? 'warn' : level === 'error' || level === 'critical' ? 'error' : 'debug', args.join(' ')),
    });
    try {
      await o.handler(decode(m.text), context);
      await o.queue.remove(m.id, m.popReceipt);
      stats.succeeded++;
    } catch {
      stats.failedRuns++;
      if (m.dequeueCount >= o.maxDequeueCount) {
        await o.hostPoison.send(m.text);
        await o.queue.remove(m.id, m.popReceipt);
        stats.hostPoisoned++;
      } else {
        await o.queue.release(m.id, m.popReceipt, o.retryVisibilitySec ?? 0);
      }
    }
  };

  const inflight = new Set<Promise<void>>();
  while (Date.now() < stopAt) {
    const room = concurrency - inflight.size;
    const batch = room > 0 ? await o.queue.receive(Math.min(32, room), 60) : [];
    for (const m of batch) {
      const p: Promise<void> = runOne(m).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    if (batch.length === 0 && inflight.size === 0) {
      idleSince ??= Date.now();
      if (o.keepAlive?.()) idleSince = Date.now();
      else if (Date.now() - idleSince >= idleMs) break;
      await new Promise((r) => setTimeout(r, 50));
    } else {
      idleSince = undefined;
      if (batch.length === 0 || inflight.size >= concurrency) await Promise.race(inflight);
    }
  }
  await Promise.all(inflight);
  return stats;
}
