/**
 * Queue-triggered delivery as a plain function: envelope -> raw message -> FHIR transaction stamped with
 * the message's event time -> written newest-wins (newest-wins.ts: read, compare, If-Match, retry on 412).
 *
 * Failure handling, and how it meets the Functions host's own poison behaviour:
 *  - Permanent failures (bad envelope, missing payload, conversion error, a 4xx from FHIR other than
 *    408/429) are written to the poison queue with a reason and the message id, and the function
 *    returns normally so the host deletes the original: nothing is dropped silently.
 *  - Transient failures (408/429/5xx, network, token) are retried in-process with back-off (bounded by
 *    RETRY_MAX_ATTEMPTS / RETRY_MAX_TOTAL_MS). If they persist the function throws, the message becomes
 *    visible again after the host's visibilityTimeout and is re-run, up to host.json maxDequeueCount.
 *  - On the last allowed dequeue (dequeueCount >= MAX_DEQUEUE_COUNT, which must equal host.json's
 *    maxDequeueCount) we park the message ourselves with reason `retries-exhausted` instead of throwing,
 *    so the record carries a reason. If the function crashes or times out on that last run, the host
 *    moves the bare envelope to `<queue>-poison` itself; POISON_QUEUE_NAME defaults to that same queue
 *    and the replay command understands both shapes.
 */
import type { InvocationContext } from '@azure/functions';
import type { IdStrategy } from './config';
import { EnvelopeError, parseEnvelope, type IngestEnvelope, type PoisonRecord } from './envelope';
import { failureReason, type FhirClient } from './fhir-client';
import { classifyError, parseMessage } from './hl7-bridge';
import { toTransaction } from './pipeline';
import type { TokenErrorReplayer } from './replay';
import { writeNewestWins, type NewestWinsOptions } from './newest-wins';
import { contextSink, createLogger, errorFields, type LogReason } from './logger';
import type { MessageQueue, MessageStore } from './storage';

export interface DeliverDeps {
  store: MessageStore;
  poison: MessageQueue;
  fhir: FhirClient;
  idStrategy: IdStrategy;
  maxDequeueCount: number;
  newestWins?: NewestWinsOptions;
  /** Replays token-error parkings once a write succeeds again. */
  tokenReplay?: TokenErrorReplayer;
}

/** Thrown to make the host retry the message later. Carries no message content. */
export class TransientDeliveryError extends Error {
  constructor(readonly failure: string) {
    super(`delivery failed transiently (${failure}); the host will retry`);
    this.name = 'TransientDeliveryError';
  }
}

export type DeliverOutcome = 'delivered' | 'poisoned';

export function dequeueCountOf(context: InvocationContext): number {
  const n = Number((context.triggerMetadata as { dequeueCount?: unknown } | undefined)?.dequeueCount ?? 1);
  return Number.isFinite(n) && n >= 1 ? n : 1;
}

export async function handleQueueMessage(queueItem: unknown, context: InvocationContext, deps: DeliverDeps): Promise<DeliverOutcome> {
  const started = Date.now();
  const dequeueCount = dequeueCountOf(context);
  let log = createLogger(contextSink(context)).child({ invocationId: context.invocationId, dequeueCount });

  const park = async (envelope: IngestEnvelope | null, reason: LogReason, extra: { status?: number; hl7ErrorCode?: number } = {}, original?: string): Promise<DeliverOutcome> => {
    const record: PoisonRecord = {
      v: 1,
      poison: { reason, ...extra, failedAt: new Date().toISOString(), dequeueCount },
      envelope,
      ...(envelope ? {} : { original }),
    };
    // If this write fails we throw: the host retries and ultimately poisons the original itself.
    await deps.poison.send(JSON.stringify(record));
    if (reason === 'token-error') deps.tokenReplay?.parked();
    log.warn('deliver.poisoned', { reason, status: extra.status, hl7ErrorCode: extra.hl7ErrorCode, durationMs: Date.now() - started });
    return 'poisoned';
  };

  let env: IngestEnvelope;
  try {
    env = parseEnvelope(queueItem);
  } catch (err) {
    const original = typeof queueItem === 'string' ? queueItem : JSON.stringify(queueItem ?? null);
    return park(null, err instanceof EnvelopeError ? 'invalid-envelope' : 'internal-error', {}, original);
  }
  const [messageType, triggerEvent] = env.type.split('^');
  log = log.child({ controlId: env.id, messageType, triggerEvent });

  let raw = env.hl7;
  if (raw === undefined) {
    try {
      raw = await deps.store.read(env.key);
    } catch (err) {
      log.warn('deliver.storage_error', { reason: 'storage-error', ...errorFields(err) });
      return retryOrPark(env, 'storage-error');
    }
    if (raw === undefined) return park(env, 'payload-missing');
  }

  let bundle;
  try {
    bundle = toTransaction(parseMessage(raw), { ids: deps.idStrategy, key: env.key });
  } catch (err) {
    // Parked, not retried: the same input would fail the same way (a code defect shows as internal-error).
    const c = classifyError(err);
    return park(env, c.reason === 'internal-error' || c.reason === 'validation-error' ? c.reason : 'conversion-error', { hl7ErrorCode: c.error.code });
  }

  // Newest message wins per resource, whatever order the queue hands messages to concurrent consumers.
  const result = await writeNewestWins(bundle, deps.fhir, log, deps.newestWins);
  if (result.ok) {
    log.info('deliver.done', { status: result.status, resources: result.written, count: result.skipped, attempt: result.attempts, durationMs: Date.now() - started });
    // Tokens work again: anything parked for token-error goes back on the ingest queue (not awaited).
    void deps.tokenReplay?.afterSuccess().then((n) => n > 0 && log.info('deliver.token_replay', { count: n }));
    return 'delivered';
  }
  if (result.permanent) return park(env, failureReason(result.failure) === 'token-error' ? 'token-error' : 'fhir-rejected', { status: result.status });
  return retryOrPark(env, result.failure, result.status);

  async function retryOrPark(e: IngestEnvelope, failure: string, status?: number): Promise<DeliverOutcome> {
    if (dequeueCount >= deps.maxDequeueCount) return park(e, 'retries-exhausted', { status });
    log.warn('deliver.retry_later', { reason: failureReason(failure), status, durationMs: Date.now() - started });
    throw new TransientDeliveryError(failure);
  }
}
