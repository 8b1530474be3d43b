/**
 * Duplicates and retries a sender can rely on: the dedupe identity ignores transport noise and MSH-7,
 * MSH-10 null/blank is refused, accept() honours its deadline on every path, and each crash window is
 * exercised by SIGKILLing a real handler process at the hook point, then resending.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { acceptOnce, dedupeIdentity, dedupeKey } from '../../app/src/ingest/accept';
import { handleHl7Post, type HttpIngestDeps } from '../../app/src/ingest/http-ingest';
import { handleQueueMessage } from '../../app/src/ingest/deliver';
import { drainQueue } from '../../app/src/ingest/local-host';
import { createLogger } from '../../app/src/ingest/logger';
import { createRuntime, deliverDepsOf, httpIngestDepsOf, type Runtime } from '../../app/src/ingest/runtime';
import { MemoryMessageStore, MemoryQueue, type MessageStore } from '../../app/src/ingest/storage';
import { parseHl7 } from '../../app/src/hl7';
import { loadAdtCorpus } from '../fixtures/hl7';
import { startAzurite, type Azurite } from '../support/azurite';
import { startLocalFhirServer, type LocalFhirServer } from '../support/local-fhir-server';

const a01 = loadAdtCorpus().find((m) => m.name === 'adt-a01-v251-full.hl7')!.text;
const ctx = () => new InvocationContext({ functionName: 'hl7', logHandler: () => undefined });
const post = (text: string, deps: HttpIngestDeps) =>
  handleHl7Post(new HttpRequest({ method: 'POST', url: 'http://localhost/api/hl7', body: { string: text }, headers: { 'content-type': 'x-application/hl7-v2+er7' } }), ctx(), deps);
const memDeps = (): HttpIngestDeps & { queue: MemoryQueue } =>
  ({ store: new MemoryMessageStore(), queue: new MemoryQueue(), takeoverAfterMs: 15_000, waitMs: 50, pollMs: 5, maxBodyBytes: 1 << 20, idStrategy: 'stable' }) as HttpIngestDeps & { queue: MemoryQueue };
const segs = (t: string) => t.replace(/^\ufeff/, '').split(/\r\n|\r|\n/).filter((l) => l.length > 0);

describe('ingest: duplicates and retries a sender can rely on', function () {
  this.timeout(120_000);

  it('treats a resend that differs only in line ends, trailing whitespace, MLLP framing or MSH-7 as a duplicate', async () => {
    const d = memDeps();
    const base = segs(a01);
    assert.equal((await post(base.join('\r'), d)).status, 200);
    const variants = [
      base.join('\n'),
      base.join('\r\n') + '\r\n',
      base.map((l) => `${l}  `).join('\r'),
      `\x0b${base.join('\r')}\r\x1c\r`,
      base.map((l, i) => (i === 0 ? l.split('|').map((f, k) => (k === 6 ? '20991231235959+0000' : f)).join('|') : l)).join('\r'),
    ];
    for (const v of variants) {
      const res = await post(v, d);
      assert.equal(res.status, 200, String(res.body));
      assert.equal((res.headers as Record<string, string>)['x-hl7-duplicate'], 'true');
    }
    assert.equal(await d.queue.depth(), 1);
    const changed = await post(base.join('\r').replace(/\|F\|/, '|M|'), d);
    assert.equal(changed.status, 400, 'a real content change under the same MSH-10 is still AR 205');
    assert.equal(parseHl7(changed.body as string).get('ERR-3.1'), '205');
  });

  it('refuses MSH-10 that is the HL7 null "" or blank', async () => {
    for (const id of ['""', '   ']) {
      const text = segs(a01).map((l, i) => (i === 0 ? l.split('|').map((f, k) => (k === 9 ? id : f)).join('|') : l)).join('\r');
      const d = memDeps();
      const res = await post(text, d);
      assert.equal(res.status, 400, JSON.stringify(id));
      const ack = parseHl7(res.body as string);
      assert.equal(ack.get('MSA-1'), 'AR');
      assert.equal(ack.get('ERR-3.1'), '101');
      assert.equal(await d.queue.depth(), 0);
    }
  });

  it('honours the deadline even when the blob keeps vanishing between create and read', async function () {
    this.timeout(5000);
    const yieldToTimers = () => new Promise<void>((r) => setImmediate(r));
    // Every create finds a blob, every read finds none: the old `continue` looped here forever.
    const store = { create: async () => (await yieldToTimers(), undefined), info: async () => (await yieldToTimers(), undefined) } as unknown as MessageStore;
    const t0 = Date.now();
    const out = await acceptOnce({ key: 'k', controlId: 'c', type: 'ADT^A01', raw: a01 }, { store, queue: new MemoryQueue(), takeoverAfterMs: 100, waitMs: 300, pollMs: 10 }, createLogger(() => undefined));
    assert.equal(out.kind, 'busy');
    assert.ok(Date.now() - t0 < 2000);
  });

  describe('crash windows: a real handler process killed at each hook point, then the sender resends', () => {
    let azurite: Azurite;
    let fhir: LocalFhirServer;
    let rt: Runtime;
    const env = { CRASH_QUEUE: 'crash-ingest', CRASH_CONTAINER: 'crash-messages' };
    before(async () => {
      [azurite, fhir] = await Promise.all([startAzurite(), startLocalFhirServer()]);
      rt = await createRuntime({ FHIR_URL: fhir.url, FHIR_AUTH_MODE: 'none', INGEST_AUTH_MODE: 'none', AzureWebJobsStorage: azurite.connectionString, INGEST_QUEUE_NAME: env.CRASH_QUEUE, MESSAGE_CONTAINER_NAME: env.CRASH_CONTAINER });
    });
    after(async () => {
      await Promise.all([azurite?.stop(), fhir?.stop()]);
    });

    const crashAt = (hook: string, text: string) =>
      new Promise<void>((resolve, reject) => {
        const root = join(__dirname, '..', '..');
        const child = spawn(process.execPath, ['-r', join(root, 'tools', 'ts-register.js'), join(root, 'test', 'support', 'accept-child.ts'), hook], {
          cwd: root,
          env: { PATH: process.env.PATH, ...env, CRASH_STORAGE: azurite.connectionString, CRASH_MESSAGE: Buffer.from(text).toString('base64') },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          if (out.includes(`AT ${hook}`)) child.kill('SIGKILL');
        });
        child.on('exit', (code, signal) => (signal === 'SIGKILL' && out.includes(`AT ${hook}`) ? resolve() : reject(new Error(`child ended ${code}/${signal}: ${out}`))));
      });
    const resend = (text: string) => post(text, { ...httpIngestDepsOf(rt), takeoverAfterMs: 400, waitMs: 5000, pollMs: 50 });
    const deliverAll = () => drainQueue({ queue: rt.ingestQueue, hostPoison: rt.poisonQueue, handler: (item, c) => handleQueueMessage(item, c, deliverDepsOf(rt)), maxDequeueCount: 5, concurrency: 4, idleMs: 300 });
    const keyOf = (text: string) => {
      const m = parseHl7(text);
      return dedupeKey(m.sendingApplicationRaw, m.sendingFacilityRaw, m.controlId!);
    };
    const variant = (id: string) => segs(a01).map((l, i) => (i === 0 ? l.split('|').map((f, k) => (k === 9 ? id : f)).join('|') : l)).join('\r');

    it('after the mark (pending, nothing queued): the resend takes over after DEDUPE_TAKEOVER_MS and queues it once', async () => {
      const text = variant('CRASH-MARK');
      await crashAt('afterMark', text);
      assert.equal((await rt.store.info(keyOf(text)))?.state, 'pending');
      assert.equal(await rt.ingestQueue.depth(), 0);
      const res = await resend(text);
      assert.equal(res.status, 200);
      assert.equal(await rt.ingestQueue.depth(), 1);
      assert.equal((await rt.store.info(keyOf(text)))?.state, 'queued');
      await deliverAll();
    });

    it('after the enqueue (queued, mark still pending): the resend queues a second copy, which writes nothing new', async () => {
      const text = variant('CRASH-ENQ');
      await crashAt('afterEnqueue', text);
      assert.equal((await rt.store.info(keyOf(text)))?.state, 'pending');
      assert.equal(await rt.ingestQueue.depth(), 1);
      assert.equal((await resend(text)).status, 200);
      assert.equal(await rt.ingestQueue.depth(), 2, 'the documented cost: one extra queue message');
      const before = fhir.stats.bundlesApplied;
      await deliverAll();
      assert.equal(await rt.poisonQueue.depth(), 0);
      assert.equal(fhir.stats.bundlesApplied - before, 1, 'the second copy found every resource already at its event time');
    });

    it('after the queued mark (before the ACK): the resend is acknowledged as a duplicate, nothing more is queued', async () => {
      const text = variant('CRASH-QMARK');
      await crashAt('afterQueuedMark', text);
      assert.equal((await rt.store.info(keyOf(text)))?.state, 'queued');
      const res = await resend(text);
      assert.equal(res.status, 200);
      assert.equal((res.headers as Record<string, string>)['x-hl7-duplicate'], 'true');
      assert.equal(await rt.ingestQueue.depth(), 1);
      await deliverAll();
      assert.equal(dedupeIdentity(parseHl7(text)).length, 32);
    });
  });
});
