/**
 * Azure Functions v4 registrations only; the handlers are plain functions in app/src/ingest so tests
 * call them in-process. Dependencies are built once per worker process on first use.
 */
import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import { handleQueueMessage } from '../ingest/deliver';
import { handleHealth } from '../ingest/health';
import { handleHl7Post } from '../ingest/http-ingest';
import { contextSink, createLogger, errorFields } from '../ingest/logger';
import { createRuntime, type Runtime } from '../ingest/runtime';

let runtime: Promise<Runtime> | undefined;

/** Memoised start-up; a failed start-up is retried on a later invocation rather than cached forever. */
function getRuntime(context: InvocationContext): Promise<Runtime> {
  runtime ??= createRuntime().catch((err: unknown) => {
    runtime = undefined;
    createLogger(contextSink(context)).error('startup.failed', { reason: 'startup-error', ...errorFields(err) });
    throw err;
  });
  return runtime;
}

app.http('hl7', {
  route: 'hl7',
  methods: ['POST'],
  authLevel: 'function',
  handler: async (request: HttpRequest, context: InvocationContext) => {
    let rt: Runtime;
    try {
      rt = await getRuntime(context);
    } catch {
      return { status: 503, body: 'Service unavailable: the ingest function failed to start\n', headers: { 'retry-after': '30' } };
    }
    return handleHl7Post(request, context, {
      store: rt.store,
      queue: rt.ingestQueue,
      takeoverAfterMs: rt.config.takeoverAfterMs,
      maxBodyBytes: rt.config.maxBodyBytes,
      idStrategy: rt.config.idStrategy,
    });
  },
});

app.storageQueue('hl7-deliver', {
  // %NAME% is resolved from app settings by the host.
  queueName: '%INGEST_QUEUE_NAME%',
  connection: 'AzureWebJobsStorage',
  handler: async (queueItem: unknown, context: InvocationContext) => {
    const rt = await getRuntime(context); // a throw here is retried by the host like any transient failure
    await handleQueueMessage(queueItem, context, {
      store: rt.store,
      poison: rt.poisonQueue,
      fhir: rt.fhir,
      idStrategy: rt.config.idStrategy,
      maxDequeueCount: rt.config.maxDequeueCount,
    });
  },
});

app.http('health', {
  route: 'health',
  methods: ['GET'],
  // Anonymous so platform health probes can call it; the body holds no secrets or PHI.
  authLevel: 'anonymous',
  handler: async (request: HttpRequest, context: InvocationContext) => {
    let deps: Runtime | Error;
    try {
      deps = await getRuntime(context);
    } catch (err) {
      deps = err instanceof Error ? err : new Error('startup failed');
    }
    return handleHealth(request, context, deps);
  },
});
