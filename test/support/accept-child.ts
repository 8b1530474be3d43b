/**
 * A real POST /api/hl7 handler process for the crash-window tests: it accepts one message (from the
 * CRASH_MESSAGE environment variable) against the Azurite storage named in the environment, and at the
 * hook point named by argv[2] prints `AT <hook>` and waits, so that the parent can SIGKILL it right there.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { handleHl7Post } from '../../app/src/ingest/http-ingest';
import { createRuntime, httpIngestDepsOf } from '../../app/src/ingest/runtime';

async function main(): Promise<void> {
  const hook = process.argv[2] as 'afterMark' | 'afterEnqueue' | 'afterQueuedMark';
  const rt = await createRuntime({
    FHIR_URL: 'http://127.0.0.1:9',
    FHIR_AUTH_MODE: 'none',
    INGEST_AUTH_MODE: 'none',
    AzureWebJobsStorage: process.env.CRASH_STORAGE,
    INGEST_QUEUE_NAME: process.env.CRASH_QUEUE,
    MESSAGE_CONTAINER_NAME: process.env.CRASH_CONTAINER,
  });
  const deps = {
    ...httpIngestDepsOf(rt),
    hooks: {
      [hook]: async () => {
        process.stdout.write(`AT ${hook}\n`);
        await new Promise(() => undefined); // parked until the parent kills the process
      },
    },
  };
  const text = Buffer.from(process.env.CRASH_MESSAGE ?? '', 'base64').toString('utf8');
  const req = new HttpRequest({ method: 'POST', url: 'http://localhost/api/hl7', body: { string: text }, headers: { 'content-type': 'x-application/hl7-v2+er7' } });
  const res = await handleHl7Post(req, new InvocationContext({ functionName: 'hl7', logHandler: () => undefined }), deps);
  process.stdout.write(`DONE ${res.status}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`accept-child failed: ${(err as Error).name}\n`);
  process.exit(1);
});
