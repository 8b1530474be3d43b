/**
 * End to end on 127.0.0.1: POST /api/hl7 handler -> Azurite (blob dedupe + queue) -> queue handler
 * (run by a host stand-in with the host's dequeue/poison rules) -> local FHIR server with injected
 * 429s (Retry-After in seconds, HTTP date and x-ms-retry-after-ms), 503s, dropped connections before
 * and after commit, and token failures. Back-off delays are scaled down 100x.
 */
import { HttpRequest } from '@azure/functions';
import { strict as assert } from 'node:assert';
import { withIds } from '../../app/demo/messages';
import { convertAdt } from '../../app/src/convert';
import { parseHl7 } from '../../app/src/hl7';
import { dedupeIdentity, dedupeKey } from '../../app/src/ingest/accept';
import { handleQueueMessage, type DeliverDeps } from '../../app/src/ingest/deliver';
import { handleHl7Post, type HttpIngestDeps } from '../../app/src/ingest/http-ingest';
import { drainQueue } from '../../app/src/ingest/local-host';
import { replayPoison } from '../../app/src/ingest/replay';
import { createRuntime, type Runtime } from '../../app/src/ingest/runtime';
import { CachedTokenProvider } from '../../app/src/ingest/token';
import { loadAdtCorpus } from '../fixtures/hl7';
import { startAzurite, type Azurite } from '../support/azurite';
import { randomFaults, seededRandom, startLocalFhirServer, type LocalFhirServer } from '../support/local-fhir-server';
import { LogCapture, phiNeedles } from '../support/log-capture';

const N = 1000;

async function pool<T>(items: T[], width: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

describe('e2e: HTTP -> Azurite queue -> delivery -> local FHIR server, with faults', function () {
  this.timeout(180_000);
  let azurite: Azurite;
  let fhir: LocalFhirServer;
  let rt: Runtime;
  let http: HttpIngestDeps;
  let deliver: DeliverDeps;
  const logs = new LogCapture();
  let tokenCalls = 0;
  let tokenFailures = 0;

  before(async () => {
    [azurite, fhir] = await Promise.all([startAzurite(), startLocalFhirServer()]);
    const rnd = seededRandom(7);
    // Short-lived tokens so acquisition happens often; 20% of acquisitions fail.
    const tokens = new CachedTokenProvider(
      async () => {
        tokenCalls++;
        if (rnd() < 0.2) {
          tokenFailures++;
          throw new Error('simulated IMDS failure');
        }
        return { token: `tok-${tokenCalls}`, expiresOnTimestamp: Date.now() + 300_200 };
      },
      { refreshBeforeMs: 300_000 },
    );
    rt = await createRuntime(
      {
        FHIR_URL: fhir.url,
        FHIR_AUTH_MODE: 'none',
        INGEST_AUTH_MODE: 'none',
        AzureWebJobsStorage: azurite.connectionString,
        INGEST_QUEUE_NAME: 'e2e-ingest',
        MESSAGE_CONTAINER_NAME: 'e2e-messages',
        RETRY_MAX_ATTEMPTS: '6',
        RETRY_BASE_DELAY_MS: '200',
        RETRY_MAX_DELAY_MS: '2000',
      },
      { tokens },
    );
    rt.config.retry.delayScale = 0.01; // 429 "Retry-After: 1" waits 10 ms here
    http = { store: rt.store, queue: rt.ingestQueue, takeoverAfterMs: rt.config.takeoverAfterMs, waitMs: 3000, pollMs: 20, maxBodyBytes: rt.config.maxBodyBytes, idStrategy: 'stable' };
    deliver = { store: rt.store, poison: rt.poisonQueue, fhir: rt.fhir, idStrategy: 'stable', maxDequeueCount: rt.config.maxDequeueCount };
  });

  after(async () => {
    await Promise.all([azurite?.stop(), fhir?.stop()]);
  });

  const post = (text: string) =>
    handleHl7Post(new HttpRequest({ method: 'POST', url: 'http://localhost/api/hl7', body: { string: text }, headers: { 'content-type': 'x-application/hl7-v2+er7' } }), logs.context(), http);
  const drain = (keepAlive?: () => boolean) =>
    drainQueue({ queue: rt.ingestQueue, hostPoison: rt.poisonQueue, handler: (item, ctx) => handleQueueMessage(item, ctx, deliver), maxDequeueCount: rt.config.maxDequeueCount, concurrency: 16, idleMs: 800, deadlineMs: 150_000, keepAlive });

  it(`delivers ${N} messages (plus duplicates) with every resource present exactly once and nothing lost`, async () => {
    const corpus = loadAdtCorpus();
    // Every tenth message carries a patient identifier in MSH-10 (senders do that): it must never be logged raw.
    const phiControlId = (text: string, i: number) => `${parseHl7(text).get('PID-3.1') ?? 'X'}-${i}`;
    const messages = Array.from({ length: N }, (_, i) => withIds(corpus[i % corpus.length].text, i % 10 === 3 ? phiControlId(corpus[i % corpus.length].text, i) : `E2E-${i}`, `-${i}`));
    const expected = new Set<string>();
    for (const m of messages) for (const e of convertAdt(m).entry!) expected.add(e.request!.url);

    // HTTP ingest and delivery run at the same time, as in Azure. 10% of the messages are sent twice
    // (as sequential resends and as concurrent copies); the queue writes are counted exactly.
    let queueWrites = 0;
    const send = rt.ingestQueue.send.bind(rt.ingestQueue);
    rt.ingestQueue.send = async (text: string) => {
      queueWrites++;
      return send(text);
    };
    fhir.setFaults(randomFaults({ p429: 0.08, p503: 0.06, pDropBefore: 0.03, pDropAfter: 0.03, seed: 11 }));
    const appliedBefore = fhir.stats.bundlesApplied;
    const sends = [...messages, ...messages.filter((_, i) => i % 10 === 0)];
    const statuses: number[] = [];
    let posting = true;
    const t0 = Date.now();
    const ingest = pool(sends, 16, async (text) => {
      const res = await post(text);
      statuses.push(res.status ?? 0);
      const ack = parseHl7(res.body as string);
      assert.equal(ack.get('MSA-2'), parseHl7(text).controlId);
    }).finally(() => {
      posting = false;
    });
    const [, stats] = await Promise.all([ingest, drain(() => posting)]);
    const secs = (Date.now() - t0) / 1000;
    fhir.setFaults(undefined);
    rt.ingestQueue.send = send;
    assert.ok(statuses.every((s) => s === 200), `statuses: ${[...new Set(statuses)]}`);
    assert.equal(queueWrites, N, 'exactly one queue write per distinct message');
    assert.equal(await rt.ingestQueue.depth(), 0, 'ingest queue drained');

    // Anything parked (unlikely with these rates) is replayed and delivered, never lost.
    const parked = await rt.poisonQueue.depth();
    let replayed = 0;
    if (parked > 0) {
      replayed = (await replayPoison({ poison: rt.poisonQueue, ingest: rt.ingestQueue })).replayed;
      await drain();
    }
    assert.equal(await rt.poisonQueue.depth(), 0, 'poison queue empty');

    const stored = fhir.resources();
    const actual = new Set<string>();
    let total = 0;
    for (const [type, ids] of stored) for (const id of ids) {
      actual.add(`${type}/${id}`);
      total++;
    }
    const missing = [...expected].filter((u) => !actual.has(u));
    const extra = [...actual].filter((u) => !expected.has(u));
    assert.deepEqual(missing, [], 'nothing lost');
    assert.deepEqual(extra, [], 'no resource created outside the expected ids');
    assert.equal(total, expected.size, 'each resource exactly once');
    assert.deepEqual(fhir.rejected.slice(0, 3), [], 'the FHIR server (validating like AHDS) refused nothing');

    // Every extra FHIR write is explained by a lost reply (drop-after) or a replay; HTTP duplicates caused none.
    const applied = fhir.stats.bundlesApplied - appliedBefore;
    const lostReplies = fhir.stats.faults['drop-after'] ?? 0;
    assert.ok(applied >= N && applied <= N + lostReplies + replayed, `applied ${applied}, lost replies ${lostReplies}, replayed ${replayed}`);
    assert.ok((fhir.stats.faults['429'] ?? 0) > 20 && (fhir.stats.faults['503'] ?? 0) > 20, JSON.stringify(fhir.stats.faults));
    assert.ok(tokenFailures > 0, 'token failures were injected');
    // Printed for the record (not asserted): throughput under faults.
    console.log(`      e2e: ${sends.length} POSTs and ${N} deliveries in ${secs.toFixed(1)} s (${(N / secs).toFixed(0)} msg/s end to end), faults ${JSON.stringify(fhir.stats.faults)}, token failures ${tokenFailures}, invocations ${stats.invocations}, failed runs ${stats.failedRuns}`);

    // 3. Re-sending already delivered messages creates nothing new.
    const before = fhir.stats.bundlesApplied;
    for (const text of messages.slice(0, 50)) assert.equal((await post(text)).status, 200);
    assert.equal(await rt.ingestQueue.depth(), 0, 'duplicates were not enqueued');
    assert.equal(fhir.stats.bundlesApplied, before);
  });

  it('replays poison messages (both shapes) without creating duplicates', async () => {
    const corpus = loadAdtCorpus();
    const text = withIds(corpus[0].text, 'REPLAY-1', '-r1');
    assert.equal((await post(text)).status, 200);
    // Park the envelope as the host would (bare) and as we would (record), then replay both.
    const [m] = await rt.ingestQueue.receive(1, 30);
    await rt.ingestQueue.remove(m.id, m.popReceipt);
    await rt.poisonQueue.send(m.text);
    await rt.poisonQueue.send(JSON.stringify({ v: 1, poison: { reason: 'fhir-rejected', status: 422, failedAt: new Date().toISOString() }, envelope: JSON.parse(m.text) }));
    await rt.poisonQueue.send('garbage that is not an envelope');
    const before = new Set([...fhir.resources()].flatMap(([t, ids]) => ids.map((id) => `${t}/${id}`)));

    const dry = await replayPoison({ poison: rt.poisonQueue, ingest: rt.ingestQueue, dryRun: true });
    assert.deepEqual(dry, { replayed: 0, unreadable: 1, seen: 3 });
    assert.equal(await rt.ingestQueue.depth(), 0, 'dry run moves nothing');

    const r = await replayPoison({ poison: rt.poisonQueue, ingest: rt.ingestQueue });
    assert.equal(r.replayed, 2);
    assert.equal(await rt.poisonQueue.depth(), 1, 'the unreadable message stays parked');
    await drain();

    const expected = convertAdt(text).entry!.map((e) => e.request!.url);
    const after = new Set([...fhir.resources()].flatMap(([t, ids]) => ids.map((id) => `${t}/${id}`)));
    for (const u of expected) assert.ok(after.has(u), `${u} delivered`);
    const added = [...after].filter((u) => !before.has(u));
    assert.deepEqual(added.sort(), expected.filter((u) => !before.has(u)).sort(), 'two replays of one message add its resources once');
  });

  it('keeps exactly one queue write for concurrent copies, and recovers a crashed hand-off (Azurite conditional writes)', async () => {
    const corpus = loadAdtCorpus();
    const text = withIds(corpus[1].text, 'CONC-1', '-c1');
    const res = await Promise.all(Array.from({ length: 12 }, () => post(text)));
    assert.ok(res.every((r) => r.status === 200), res.map((r) => r.status).join(','));
    assert.equal(await rt.ingestQueue.depth(), 1);

    const crashed = withIds(corpus[2].text, 'CRASH-1', '-k1');
    const msg = parseHl7(crashed);
    const key = dedupeKey(msg.sendingApplicationRaw, msg.sendingFacilityRaw, msg.controlId!);
    await rt.store.create(key, crashed, { contentHash: dedupeIdentity(parseHl7(crashed)), claimedAt: Date.now() - 60_000 });
    assert.equal((await post(crashed)).status, 200);
    assert.equal(await rt.ingestQueue.depth(), 2, 'the resend enqueued the crashed message once');
    assert.equal((await rt.store.info(key))!.state, 'queued');
    await drain();
  });

  it('logged no PHI anywhere in the run', () => {
    assert.ok(logs.lines.length > 1000);
    const corpus = loadAdtCorpus();
    assert.deepEqual(logs.findLeaks(phiNeedles(corpus.map((m) => m.text))), []);
  });
});
