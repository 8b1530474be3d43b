/**
 * Azure Functions v4 registrations only. The entry points live in handlers.ts and the logic in
 * app/src/ingest; dependencies are built once per worker process on first use.
 */
import { app } from '@azure/functions';
import { createRuntime } from '../ingest/runtime';
import { createFunctionHandlers, memoisedRuntime } from './handlers';

const handlers = createFunctionHandlers(memoisedRuntime(() => createRuntime()));

app.http('hl7', {
  route: 'hl7',
  methods: ['POST'],
  authLevel: 'function',
  handler: handlers.hl7,
});

app.storageQueue('hl7-deliver', {
  // %NAME% is resolved from app settings by the host.
  queueName: '%INGEST_QUEUE_NAME%',
  connection: 'AzureWebJobsStorage',
  handler: handlers.deliver,
});

app.http('health', {
  route: 'health',
  methods: ['GET'],
  // Anonymous so platform health probes can call it; the body holds no secrets or PHI.
  authLevel: 'anonymous',
  handler: handlers.health,
});
