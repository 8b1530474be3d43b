/**
 * npm run bench:app — prints measured figures (not a test):
 *  - part A's parse / convert throughput and the @medplum/core ratio (app/bench/convert-bench.ts);
 *  - size of the minified bundle and its load time (median of N fresh `node` processes each
 *    requiring dist/main.js, timed inside the process around the require);
 *  - accept-path latency p50/p99: the old pre-ACK work next to today's (with conversion, event-time stamp
 *    and R4 validation), and the whole handler;
 *  - end-to-end messages/s: HTTP handler -> Azurite blob + queue -> queue handler -> local FHIR server.
 * Options: --load-runs N (default 15), --messages N (default 500), --quick.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAdtCorpus } from '../../test/fixtures/hl7';
import { startAzurite } from '../../test/support/azurite';
import { startLocalFhirServer } from '../../test/support/local-fhir-server';
import { buildApp, MAX_BUNDLE_BYTES } from '../build';
import { withIds } from '../demo/messages';
import { handleQueueMessage } from '../src/ingest/deliver';
import { convertMessage, parseMessage, validateForIngest } from '../src/ingest/hl7-bridge';
import { handleHl7Post } from '../src/ingest/http-ingest';
import { toTransaction } from '../src/ingest/pipeline';
import { MemoryMessageStore, MemoryQueue } from '../src/ingest/storage';
import { drainQueue } from '../src/ingest/local-host';
import { createRuntime, deliverDepsOf, httpIngestDepsOf } from '../src/ingest/runtime';
import { runConvertBench } from './convert-bench';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const quick = process.argv.includes('--quick');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function bundleLoad(bundlePath: string, runs: number, withSdk = false): { median: number; min: number; max: number; processMedian: number } {
  const inProcess: number[] = [];
  const whole: number[] = [];
  const sdk = JSON.stringify(join(bundlePath, '..', 'azure-sdk.js'));
  const code = withSdk
    ? `const t=process.hrtime.bigint();require(${JSON.stringify(bundlePath)});require(${sdk});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`
    : `const t=process.hrtime.bigint();require(${JSON.stringify(bundlePath)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    whole.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error(`bundle failed to load: ${r.stderr}`);
    inProcess.push(Number(r.stdout));
  }
  return { median: median(inProcess), min: Math.min(...inProcess), max: Math.max(...inProcess), processMedian: median(whole) };
}

async function endToEnd(n: number): Promise<{ httpPerSec: number; deliverPerSec: number; e2ePerSec: number; resources: number }> {
  const [azurite, fhir] = await Promise.all([startAzurite(), startLocalFhirServer()]);
  try {
    const rt = await createRuntime({ FHIR_URL: fhir.url, FHIR_AUTH_MODE: 'none', INGEST_AUTH_MODE: 'none', AzureWebJobsStorage: azurite.connectionString, INGEST_QUEUE_NAME: 'bench-ingest' });
    const corpus = loadAdtCorpus();
    const msgs = Array.from({ length: n }, (_, i) => withIds(corpus[i % corpus.length].text, `BENCH-${i}`, `-${i}`));
    const ctx = () => new InvocationContext({ functionName: 'hl7', logHandler: () => undefined });
    const deps = httpIngestDepsOf(rt);
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < msgs.length) {
          const text = msgs[next++];
          const res = await handleHl7Post(new HttpRequest({ method: 'POST', url: 'http://localhost/api/hl7', body: { string: text }, headers: { 'content-type': 'x-application/hl7-v2+er7' } }), ctx(), deps);
          if (res.status !== 200) throw new Error(`ingest answered ${res.status}`);
        }
      }),
    );
    const t1 = Date.now();
    const stats = await drainQueue({
      queue: rt.ingestQueue,
      hostPoison: rt.poisonQueue,
      handler: (item, c) => handleQueueMessage(item, c, deliverDepsOf(rt)),
      maxDequeueCount: rt.config.maxDequeueCount,
      concurrency: 16,
      idleMs: 300,
    });
    const t2 = Date.now() - 300; // the drain ends after an idle period that is not work
    if (stats.succeeded !== n) throw new Error(`delivered ${stats.succeeded} of ${n}`);
    const resources = [...fhir.resources().values()].reduce((a, ids) => a + ids.length, 0);
    return { httpPerSec: (n * 1000) / (t1 - t0), deliverPerSec: (n * 1000) / (t2 - t1), e2ePerSec: (n * 1000) / (t2 - t0), resources };
  } finally {
    await Promise.all([azurite.stop(), fhir.stop()]);
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/**
 * Accept-path latency per message, in-process on one thread (memory store and queue, so storage round
 * trips do not hide the CPU cost): the work before the ACK as it was (parse, header checks, convert) and
 * as it is now (the same, plus the event-time stamp and the R4 validation), and the whole handler.
 */
async function acceptLatency(rounds: number): Promise<Record<string, string>> {
  const corpus = loadAdtCorpus().map((m) => m.text);
  const old: number[] = [];
  const now: number[] = [];
  const handler: number[] = [];
  const inHandler: number[] = [];
  const deps = { store: new MemoryMessageStore(), queue: new MemoryQueue(), takeoverAfterMs: 15_000, maxBodyBytes: 1 << 20, idStrategy: 'stable' as const, onConverted: (ms: number) => inHandler.push(ms) };
  const ctx = new InvocationContext({ functionName: 'hl7', logHandler: () => undefined });
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < corpus.length; i++) {
      const text = withIds(corpus[i], `LAT-${r}-${i}`);
      let t = performance.now();
      const m1 = parseMessage(text);
      validateForIngest(m1);
      convertMessage(m1, 'stable');
      old.push(performance.now() - t);
      t = performance.now();
      const m2 = parseMessage(text);
      validateForIngest(m2);
      toTransaction(m2, { ids: 'stable', key: 'k' });
      now.push(performance.now() - t);
      t = performance.now();
      const res = await handleHl7Post(new HttpRequest({ method: 'POST', url: 'http://localhost/api/hl7', body: { string: text }, headers: { 'content-type': 'x-application/hl7-v2+er7' } }), ctx, deps);
      handler.push(performance.now() - t);
      if (res.status !== 200) throw new Error(`accept answered ${res.status}`);
    }
  }
  const warm = (xs: number[]) => xs.slice(Math.floor(xs.length / 5)); // the first fifth warms up V8
  const fmt = (xs: number[]) => `p50 ${pct(warm(xs), 50).toFixed(3)} ms, p99 ${pct(warm(xs), 99).toFixed(3)} ms (n=${warm(xs).length})`;
  return {
    'before the ACK, old path (parse + header checks + convert)': fmt(old),
    'before the ACK, now (parse + header checks + convert + event-time stamp + R4 validation)': fmt(now),
    'of which convert + stamp + validate inside the handler': fmt(inHandler),
    'whole POST handler now (memory store and queue)': fmt(handler),
  };
}

async function main(): Promise<void> {
  const out = (s: string) => process.stdout.write(s + '\n');
  out(`bench:app on node ${process.version}, ${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  out('\n== parser and converter (part A, one core) ==');
  const conv = await runConvertBench(quick ? { msPerMetric: 300 } : {});
  for (const [k, v] of Object.entries(conv)) out(`  ${k}: ${v}`);

  out('\n== accept path latency (one thread) ==');
  for (const [k, v] of Object.entries(await acceptLatency(quick ? 10 : 60))) out(`  ${k}: ${v}`);

  out('\n== bundle ==');
  const dir = mkdtempSync(join(tmpdir(), 'bench-build-'));
  try {
    const b = await buildApp({ outDir: dir, quiet: true });
    out(`  bundle: ${b.bundleBytes} bytes (${(b.bundleBytes / 1024 / 1024).toFixed(2)} MiB; budget ${MAX_BUNDLE_BYTES / 1024 / 1024} MiB) = dist/main.js ${b.mainBytes} + dist/azure-sdk.js ${b.bundleBytes - b.mainBytes}`);
    out(`  ingest-function.zip: ${b.zipBytes} bytes, sha256 ${b.sha256}`);
    const runs = arg('--load-runs', quick ? 5 : 15);
    const l = bundleLoad(b.bundlePath, runs);
    out(`  bundle load (require, in a fresh node process): median ${l.median.toFixed(1)} ms over ${runs} runs (min ${l.min.toFixed(1)}, max ${l.max.toFixed(1)}; budget 150 ms)`);
    out(`  whole process incl. node start-up: median ${l.processMedian.toFixed(1)} ms`);
    const f = bundleLoad(b.bundlePath, runs, true);
    out(`  main.js + the lazily loaded azure-sdk.js (cost moved to the first invocation): median ${f.median.toFixed(1)} ms (min ${f.min.toFixed(1)}, max ${f.max.toFixed(1)})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const n = arg('--messages', quick ? 100 : 500);
  out(`\n== end to end (${n} distinct ADT messages, no faults, all on 127.0.0.1) ==`);
  const e = await endToEnd(n);
  out(`  HTTP ingest (parse, convert, R4-validate, blob dedupe, enqueue, ACK): ${e.httpPerSec.toFixed(0)} msg/s`);
  out(`  queue delivery (convert, read current versions, newest-wins transaction with If-Match): ${e.deliverPerSec.toFixed(0)} msg/s`);
  out(`  end to end: ${e.e2ePerSec.toFixed(0)} msg/s; ${e.resources} resources on the FHIR server`);
  out(`  load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:app failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
