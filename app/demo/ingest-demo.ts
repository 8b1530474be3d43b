/**
 * npm run demo:ingest — the whole ingest path on this machine: starts Azurite (blob + queue) and a
 * local FHIR R4 server (@medplum/fhir-router in memory), runs the function handlers in-process, sends
 * a few sample ADT messages (plus a duplicate and a broken one), prints the ACKs and the FHIR
 * resources that were created, then stops everything. The samples are the invented test corpus.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { loadAdtCorpus } from '../../test/fixtures/hl7';
import { startAzurite } from '../../test/support/azurite';
import { startLocalFhirServer } from '../../test/support/local-fhir-server';
import { handleQueueMessage } from '../src/ingest/deliver';
import { handleHealth } from '../src/ingest/health';
import { handleHl7Post } from '../src/ingest/http-ingest';
import { drainQueue } from '../src/ingest/local-host';
import { createRuntime, deliverDepsOf, httpIngestDepsOf } from '../src/ingest/runtime';

const SAMPLES = ['adt-a01-v251-full.hl7', 'adt-a08-v25-escapes.hl7', 'adt-a03-v25-discharge.hl7', 'adt-a40-v25-merge.hl7'];

let seq = 0;
function context(name: string): InvocationContext {
  return new InvocationContext({
    invocationId: `demo-${++seq}`,
    functionName: name,
    // The handlers' PHI-safe log lines go to stderr so they can be seen next to the output.
    logHandler: (level, ...args) => process.stderr.write(`  [log ${level}] ${args.join(' ')}\n`),
  });
}

const show = (ack: unknown) => String(ack).replace(/\r/g, '\n    ').trimEnd();

async function main(): Promise<void> {
  process.stdout.write('Starting Azurite and the local FHIR server on 127.0.0.1 ...\n');
  const [azurite, fhir] = await Promise.all([startAzurite(), startLocalFhirServer()]);
  try {
    const rt = await createRuntime({
      FHIR_URL: fhir.url,
      FHIR_AUTH_MODE: 'none',
      INGEST_AUTH_MODE: 'none',
      AzureWebJobsStorage: azurite.connectionString,
      INGEST_QUEUE_NAME: 'demo-ingest',
    });
    process.stdout.write(`  FHIR server ${fhir.url}, Azurite blob :${azurite.blobPort} queue :${azurite.queuePort}\n\n`);

    const health = await handleHealth(new HttpRequest({ method: 'GET', url: 'http://localhost/api/health' }), context('health'), rt);
    process.stdout.write(`GET /api/health -> ${health.status} ${JSON.stringify(health.jsonBody)}\n\n`);

    const corpus = new Map(loadAdtCorpus().map((m) => [m.name, m.text]));
    const sends: [string, string][] = SAMPLES.map((n) => [n, corpus.get(n)!]);
    sends.push(['adt-a01-v251-full.hl7 (sent again)', corpus.get('adt-a01-v251-full.hl7')!]);
    sends.push(['broken message', 'MSH|^~\\&|DEMO|DEMO|||20260101||ADT^A01|BROKEN-1|P|2.5\rPID|1||\r']);
    for (const [name, text] of sends) {
      const res = await handleHl7Post(
        new HttpRequest({ method: 'POST', url: 'http://localhost/api/hl7', body: { string: text }, headers: { 'content-type': 'x-application/hl7-v2+er7' } }),
        context('hl7'),
        httpIngestDepsOf(rt),
      );
      const dup = (res.headers as Record<string, string> | undefined)?.['x-hl7-duplicate'] ? ' (duplicate: not queued again)' : '';
      process.stdout.write(`POST /api/hl7 ${name} -> HTTP ${res.status}${dup}\n    ${show(res.body)}\n\n`);
    }

    process.stdout.write(`Queue ${rt.config.ingestQueueName} holds ${await rt.ingestQueue.depth()} message(s); running the queue trigger ...\n`);
    const stats = await drainQueue({
      queue: rt.ingestQueue,
      hostPoison: rt.poisonQueue,
      handler: (item, ctx) => handleQueueMessage(item, ctx, deliverDepsOf(rt)),
      maxDequeueCount: rt.config.maxDequeueCount,
      idleMs: 500,
      logSink: (level, line) => process.stderr.write(`  [log ${level}] ${line}\n`),
    });
    process.stdout.write(`  ${stats.succeeded} delivered, ${await rt.poisonQueue.depth()} in the poison queue\n\nResources on the FHIR server:\n`);
    for (const [type, ids] of [...fhir.resources()].sort(([x], [y]) => x.localeCompare(y))) {
      process.stdout.write(`  ${type} (${ids.length})\n`);
      for (const id of ids.sort()) process.stdout.write(`    ${type}/${id}  versions: ${fhir.versions(type, id)}\n`);
    }
  } finally {
    await Promise.all([azurite.stop(), fhir.stop()]);
    process.stdout.write('\nStopped Azurite and the FHIR server.\n');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo:ingest failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
