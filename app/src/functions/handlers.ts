/**
 * The function entry points, wired to a lazily created Runtime. Kept apart from the app.* registration
 * (index.ts) so tests can call exactly what the host calls, including the start-up failure paths.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { handleQueueMessage } from '../ingest/deliver';
import { handleHealth } from '../ingest/health';
import { ackText } from '../ingest/hl7-bridge';
import { handleHl7Post } from '../ingest/http-ingest';
import { contextSink, createLogger, errorFields } from '../ingest/logger';
import { deliverDepsOf, httpIngestDepsOf, type Runtime } from '../ingest/runtime';

/**
 * Memoises start-up. A failed start-up is logged (class and code only) and retried on a later
 * invocation rather than cached, so a transient Key Vault or storage outage heals itself.
 */
export type LogTarget = Pick<InvocationContext, 'debug' | 'info' | 'warn' | 'error'>;

export function memoisedRuntime(create: () => Promise<Runtime>): (context: LogTarget) => Promise<Runtime> {
  let pending: Promise<Runtime> | undefined;
  return (context) => {
    pending ??= create().catch((err: unknown) => {
      pending = undefined;
      createLogger(contextSink(context)).error('startup.failed', { reason: 'startup-error', ...errorFields(err) });
      throw err;
    });
    return pending;
  };
}

export interface FunctionHandlers {
  hl7(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit>;
  deliver(queueItem: unknown, context: InvocationContext): Promise<void>;
  health(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit>;
}

export function createFunctionHandlers(getRuntime: (context: LogTarget) => Promise<Runtime>): FunctionHandlers {
  return {
    async hl7(request, context) {
      let rt: Runtime;
      try {
        rt = await getRuntime(context);
      } catch {
        // Still an HL7 answer, so the sender's engine treats it as "resend later".
        return {
          status: 503,
          body: ackText(undefined, 'AR', { code: 207, text: 'Service temporarily unavailable; resend later' }),
          headers: { 'content-type': 'x-application/hl7-v2+er7; charset=utf-8', 'retry-after': '30' },
        };
      }
      return handleHl7Post(request, context, httpIngestDepsOf(rt));
    },

    async deliver(queueItem, context) {
      const rt = await getRuntime(context); // a throw here is retried by the host like any transient failure
      await handleQueueMessage(queueItem, context, deliverDepsOf(rt));
    },

    async health(request, context) {
      let deps: Runtime | Error;
      try {
        deps = await getRuntime(context);
      } catch (err) {
        deps = err instanceof Error ? err : new Error('startup failed');
      }
      return handleHealth(request, context, deps);
    },
  };
}
