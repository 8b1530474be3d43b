import { convertAdt } from '../../app/src/convert';
import { HttpRequest } from '@azure/functions';
import { strict as assert } from 'node:assert';
import { parseHl7 } from '../../app/src/hl7';
import { dedupeIdentity, dedupeKey } from '../../app/src/ingest/accept';
import { parseEnvelope } from '../../app/src/ingest/envelope';
import { handleHl7Post, type HttpIngestDeps } from '../../app/src/ingest/http-ingest';
import { MemoryMessageStore, MemoryQueue } from '../../app/src/ingest/storage';
import { withIds } from '../../app/demo/messages';
import { loadAdtCorpus } from '../fixtures/hl7';
import { LogCapture, phiNeedles } from '../support/log-capture';

const corpus = loadAdtCorpus();
const a01 = corpus.find((m) => m.name === 'adt-a01-v251-full.hl7')!.text;

function post(body: string | Uint8Array, contentType: string | null = 'x-application/hl7-v2+er7', headers: Record<string, string> = {}): HttpRequest {
  return new HttpRequest({
    method: 'POST',
    url: 'http://localhost/api/hl7',
    body: typeof body === 'string' ? { string: body } : { bytes: body },
    headers: { ...(contentType ? { 'content-type': contentType } : {}), ...headers },
  });
}

function ackOf(body: unknown) {
  assert.equal(typeof body, 'string', 'the response body is an HL7 ACK');
  const ack = parseHl7(body as string);
  return { msa1: ack.get('MSA-1'), msa2: ack.get('MSA-2'), err: ack.get('ERR-3.1'), type: ack.get('MSH-9.1'), text: body as string };
}

describe('POST /api/hl7 handler (in-process)', () => {
  let store: MemoryMessageStore;
  let queue: MemoryQueue;
  let logs: LogCapture;
  let deps: HttpIngestDeps;

  beforeEach(() => {
    store = new MemoryMessageStore();
    queue = new MemoryQueue('hl7-ingest');
    logs = new LogCapture();
    deps = { store, queue, takeoverAfterMs: 15_000, waitMs: 300, pollMs: 10, maxBodyBytes: 1024 * 1024, idStrategy: 'stable' };
  });

  it('accepts every corpus message: AA/CA echoing MSH-10, one queue envelope each, CR-terminated ACK', async () => {
    for (const m of corpus) {
      const res = await handleHl7Post(post(m.text), logs.context(), deps);
      const expectedId = parseHl7(m.text).controlId;
      assert.equal(res.status, 200, `${m.name}: ${String(res.body)}`);
      const ack = ackOf(res.body);
      assert.equal(ack.type, 'ACK');
      assert.ok(ack.msa1 === 'AA' || ack.msa1 === 'CA', `${m.name}: ${ack.msa1}`);
      assert.equal(ack.msa2, expectedId, `${m.name}: MSA-2 echoes MSH-10`);
      assert.ok(ack.text.endsWith('\r') && !ack.text.includes('\n'), 'ACK segments end in CR');
    }
    assert.equal(queue.items.length, corpus.length);
    const envs = queue.items.map((i) => parseEnvelope(i.text));
    assert.deepEqual(envs.map((e) => e.id).sort(), corpus.map((m) => parseHl7(m.text).controlId!).sort());
    for (const e of envs) {
      assert.ok(!Number.isNaN(Date.parse(e.receivedAt)), 'envelope has an ingest timestamp');
      assert.ok(e.hl7 && e.hl7.includes('MSH'), 'small messages travel inline');
      assert.equal(await store.read(e.key), e.hl7, 'the blob holds the same raw message');
    }
  });

  it('answers CA when the sender asks for enhanced-mode acknowledgements (MSH-15) and AA otherwise', async () => {
    const enhanced = parseHl7(a01).segment('MSH')!.fieldRaw(15);
    assert.ok(enhanced, 'fixture uses MSH-15');
    const res1 = await handleHl7Post(post(a01), logs.context(), deps);
    assert.equal(ackOf(res1.body).msa1, 'CA');
    const original = corpus.find((m) => !parseHl7(m.text).segment('MSH')!.fieldRaw(15))!;
    const res2 = await handleHl7Post(post(original.text), logs.context(), deps);
    assert.equal(ackOf(res2.body).msa1, 'AA');
  });

  for (const ct of ['application/hl7-v2', 'x-application/hl7-v2+er7; charset=utf-8', 'text/plain', 'TEXT/PLAIN; charset="UTF-8"']) {
    it(`accepts content type ${ct}`, async () => {
      const res = await handleHl7Post(post(a01, ct), logs.context(), deps);
      assert.equal(res.status, 200);
      assert.equal(queue.items.length, 1);
    });
  }

  for (const ct of [null, 'application/json', 'application/xml', 'multipart/form-data; boundary=x']) {
    it(`refuses content type ${ct ?? '(none)'} with 415 and writes nothing`, async () => {
      // Bytes, because a string body makes HttpRequest default the type to text/plain.
      const res = await handleHl7Post(post(new Uint8Array(Buffer.from(a01)), ct), logs.context(), deps);
      assert.equal(res.status, 415);
      assert.equal(queue.items.length, 0);
      assert.equal(store.size, 0);
    });
  }

  it('refuses an unknown charset with 415', async () => {
    const res = await handleHl7Post(post(a01, 'text/plain; charset=klingon-8'), logs.context(), deps);
    assert.equal(res.status, 415);
  });

  it('enforces the size cap with 413, from Content-Length and from the body itself', async () => {
    deps.maxBodyBytes = 2048;
    const big = a01 + 'NTE|1||' + 'x'.repeat(4096) + '\r';
    const byHeader = await handleHl7Post(post('MSH|', 'text/plain', { 'content-length': '999999' }), logs.context(), deps);
    assert.equal(byHeader.status, 413);
    const byBody = await handleHl7Post(post(big), logs.context(), deps);
    assert.equal(byBody.status, 413);
    assert.equal(queue.items.length, 0);
  });

  it('decodes the declared charset (ISO-8859-1) before parsing', async () => {
    const text = withIds(a01, 'LATIN-1').replace('TESTPATIENT^Alpha', 'TESTPATIENT^Andr\u00e9');
    const latin1 = Buffer.from(text, 'latin1');
    const res = await handleHl7Post(post(new Uint8Array(latin1), 'x-application/hl7-v2+er7; charset=ISO-8859-1'), logs.context(), deps);
    assert.equal(res.status, 200, String(res.body));
    const env = parseEnvelope(queue.items[0].text);
    assert.ok(env.hl7!.includes('Andr\u00e9'), 'stored as proper text, not mojibake');
    // The same bytes declared as UTF-8 are invalid UTF-8: refused with an AR, not silently mangled.
    const bad = await handleHl7Post(post(new Uint8Array(latin1), 'x-application/hl7-v2+er7; charset=utf-8'), logs.context(), deps);
    assert.equal(bad.status, 400);
    assert.equal(ackOf(bad.body).msa1, 'AR');
  });

  it('answers AR + ERR with HTTP 400 for malformed input, and AR 200/201 for unsupported types', async () => {
    const cases: [string, string, string][] = [
      ['', 'AR', '100'],
      ['hello world', 'AR', ''],
      ['PID|1||X\r', 'AR', ''],
      [a01.replace('ADT^A01^ADT_A01', 'ORU^R01^ORU_R01'), 'AR', '200'],
      [a01.replace('ADT^A01^ADT_A01', 'ADT^Z99'), 'AR', '201'],
    ];
    for (const [body, code, err] of cases) {
      const res = await handleHl7Post(post(body), logs.context(), deps);
      assert.equal(res.status, 400, JSON.stringify(body.slice(0, 20)));
      const ack = ackOf(res.body);
      assert.equal(ack.msa1, code);
      assert.ok(ack.text.includes('\rERR'), 'has an ERR segment');
      if (err) assert.equal(ack.err, err);
    }
    assert.equal(queue.items.length, 0);
  });

  it('rejects a message without MSH-10 with AR 101 (the control id is the idempotency key)', async () => {
    const res = await handleHl7Post(post(withIds(a01, '')), logs.context(), deps);
    assert.equal(res.status, 400);
    const ack = ackOf(res.body);
    assert.equal(ack.msa1, 'AR');
    assert.equal(ack.err, '101');
  });

  it('answers AE when the message would need a transaction larger than the FHIR service accepts', async () => {
    const res = await handleHl7Post(post(a01), logs.context(), { ...deps, maxBundleEntries: 10 });
    assert.equal(res.status, 400);
    const ack = ackOf(res.body);
    assert.equal(ack.msa1, 'AE');
    assert.equal(ack.err, '207');
    assert.equal(queue.items.length, 0);
    const entries = convertAdt(a01).entry!.length;
    assert.equal(logs.eventsNamed('hl7.rejected')[0].count, entries, 'the entry count is logged');
    assert.equal((await handleHl7Post(post(a01), logs.context(), { ...deps, maxBundleEntries: entries })).status, 200);
  });

  it('acknowledges a duplicate MSH-10 without a second queue write', async () => {
    const first = await handleHl7Post(post(a01), logs.context(), deps);
    const second = await handleHl7Post(post(a01), logs.context(), deps);
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    assert.equal(ackOf(second.body).msa2, parseHl7(a01).controlId);
    assert.equal((second.headers as Record<string, string>)['x-hl7-duplicate'], 'true');
    assert.equal(queue.items.length, 1);
  });

  it('produces exactly one queue write for 25 concurrent copies of one message', async () => {
    const results = await Promise.all(Array.from({ length: 25 }, () => handleHl7Post(post(a01), logs.context(), deps)));
    assert.ok(results.every((r) => r.status === 200 || r.status === 503), results.map((r) => r.status).join(','));
    assert.ok(results.some((r) => r.status === 200));
    assert.equal(queue.items.length, 1);
  });

  it('refuses the same MSH-10 with different content (AR 205) instead of dropping it', async () => {
    await handleHl7Post(post(a01), logs.context(), deps);
    const changed = a01.replace('TESTPATIENT^Alpha', 'TESTPATIENT^Alfa');
    const res = await handleHl7Post(post(changed), logs.context(), deps);
    assert.equal(res.status, 400);
    assert.equal(ackOf(res.body).err, '205');
    assert.equal(queue.items.length, 1);
  });

  it('recovers a message whose first copy crashed between the dedupe mark and the enqueue', async () => {
    const msg = parseHl7(a01);
    const key = dedupeKey(msg.sendingApplicationRaw, msg.sendingFacilityRaw, msg.controlId!);
    // The "crashed" first copy: blob written, state pending, never enqueued, never ACKed.
    await store.create(key, a01, { contentHash: dedupeIdentity(parseHl7(a01)), claimedAt: Date.now() - 60_000 });
    const res = await handleHl7Post(post(a01), logs.context(), deps);
    assert.equal(res.status, 200);
    assert.equal(ackOf(res.body).msa1, 'CA');
    assert.equal(queue.items.length, 1, 'the resend took over and enqueued');
    assert.equal((await store.info(key))!.state, 'queued');
    // And a later resend is a plain duplicate.
    await handleHl7Post(post(a01), logs.context(), deps);
    assert.equal(queue.items.length, 1);
  });

  it('answers AR/503 while a first copy is still in flight, without writing', async () => {
    const msg = parseHl7(a01);
    const key = dedupeKey(msg.sendingApplicationRaw, msg.sendingFacilityRaw, msg.controlId!);
    await store.create(key, a01, { contentHash: dedupeIdentity(parseHl7(a01)), claimedAt: Date.now() });
    const res = await handleHl7Post(post(a01), logs.context(), deps);
    assert.equal(res.status, 503);
    assert.equal(ackOf(res.body).msa1, 'AR');
    assert.equal(queue.items.length, 0);
  });

  it('answers AR/503 when the queue is down and rolls back the dedupe mark so a resend succeeds', async () => {
    const broken = Object.create(queue) as MemoryQueue;
    broken.send = async () => {
      throw Object.assign(new Error('queue unavailable'), { statusCode: 503 });
    };
    const res = await handleHl7Post(post(a01), logs.context(), { ...deps, queue: broken });
    assert.equal(res.status, 503);
    assert.equal(ackOf(res.body).msa1, 'AR');
    assert.equal(store.size, 0, 'dedupe mark removed');
    const retry = await handleHl7Post(post(a01), logs.context(), deps);
    assert.equal(retry.status, 200);
    assert.equal(queue.items.length, 1);
  });

  it('logs control ids, types, status and timings but no PHI from the messages', async () => {
    for (const m of corpus) {
      await handleHl7Post(post(m.text), logs.context(), deps);
      await handleHl7Post(post(m.text), logs.context(), deps); // duplicate path too
    }
    const accepted = logs.eventsNamed('hl7.accepted');
    assert.equal(accepted.length, corpus.length);
    for (const e of accepted) {
      assert.equal(typeof e.controlId, 'string');
      assert.equal(e.messageType, 'ADT');
      assert.equal(typeof e.durationMs, 'number');
    }
    const leaks = logs.findLeaks(phiNeedles(corpus.map((m) => m.text)));
    assert.deepEqual(leaks, []);
  });
});
