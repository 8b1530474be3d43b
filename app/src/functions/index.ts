/**
 * Azure Functions v4 registrations only. The entry points live in handlers.ts and the logic in
 * app/src/ingest; dependencies are built once per worker process on first use.
 */
import { app } from '@azure/functions';
import { createRuntime } from '../ingest/runtime';
import { createFunctionHandlers, memoisedRuntime } from './handlers';

const getRuntime = memoisedRuntime(() => createRuntime());
const handlers = createFunctionHandlers(getRuntime);

// Inside the Functions host (which sets FUNCTIONS_WORKER_RUNTIME), build the runtime as the worker loads:
// configuration and the Key Vault secret are then validated at start-up and a failure shows in the logs
// at once. Not done elsewhere, so loading the bundle in tests has no side effects.
if (process.env.FUNCTIONS_WORKER_RUNTIME) void getRuntime(console).catch(() => undefined);

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
