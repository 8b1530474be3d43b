/**
 * Secrets, tokens, logs and health: a rotated client secret is re-read from Key Vault on a 400/401 from
 * the token endpoint; token-error parkings go back on the queue once tokens work again; MSH-9/MSH-10 never
 * reach a log line raw; GET /api/health probes FHIR at most once per cache period.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleQueueMessage } from '../../app/src/ingest/deliver';
import { makeEnvelope } from '../../app/src/ingest/envelope';
import { FhirClient } from '../../app/src/ingest/fhir-client';
import { handleHealth } from '../../app/src/ingest/health';
import { handleHl7Post, type HttpIngestDeps } from '../../app/src/ingest/http-ingest';
import { TokenErrorReplayer } from '../../app/src/ingest/replay';
import { MemoryMessageStore, MemoryQueue } from '../../app/src/ingest/storage';
import { clientCredentialsProvider, noAuthProvider } from '../../app/src/ingest/token';
import { loadAdtCorpus } from '../fixtures/hl7';
import { startLocalFhirServer, type LocalFhirServer } from '../support/local-fhir-server';
import { LogCapture } from '../support/log-capture';

const a01 = loadAdtCorpus().find((m) => m.name === 'adt-a01-v251-full.hl7')!.text;
const withMsh = (text: string, field: number, value: string) =>
  text.replace(/^(\ufeff)?MSH[^\r\n]*/m, (line) => line.split('|').map((f, k) => (k === field - 1 ? value : f)).join('|'));
const fast = { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5, maxTotalMs: 5000 };

describe('ingest: secrets, tokens, logs and health', function () {
  this.timeout(60_000);
  let fhir: LocalFhirServer;
  before(async () => {
    fhir = await startLocalFhirServer();
  });
  after(() => fhir.stop());

  describe('client credentials with a rotated secret', () => {
    let server: Server;
    let tokenUrl: string;
    let accepted = 'secret-v2';
    before(async () => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          const ok = new URLSearchParams(body).get('client_secret') === accepted;
          res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
          res.end(JSON.stringify(ok ? { access_token: `tok-${accepted}`, expires_in: 600 } : { error: 'invalid_client' }));
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    it('re-reads the secret from Key Vault after a 401 and retries, at start-up and later', async () => {
      const vault = ['secret-v1', 'secret-v2']; // rotated between the first and the second read
      let reads = 0;
      const secrets = { getSecret: async () => vault[Math.min(reads++, vault.length - 1)] };
      const tokens = await clientCredentialsProvider({ tokenUrl, clientId: 'ingest', secretName: 's', secrets, rereadAfterMs: 0 });
      assert.equal(await tokens.getToken(), 'tok-secret-v2');
      assert.equal(reads, 2);
      // Rotated again while running: the cached token is dropped (e.g. after a FHIR 401) and the next
      // acquisition's 401 makes the provider read the vault again instead of parking messages.
      vault.push('secret-v3');
      accepted = 'secret-v3';
      tokens.invalidate();
      assert.equal(await tokens.getToken(), 'tok-secret-v3');
      assert.equal(reads, 3);
    });
  });

  it('replays token-error parkings automatically once a delivery succeeds again', async () => {
    const poison = new MemoryQueue();
    const ingest = new MemoryQueue();
    const env = (id: string) => JSON.parse(makeEnvelope({ id, key: createHash('sha256').update(id).digest('hex'), type: 'ADT^A01', receivedAt: new Date().toISOString() }, a01));
    await poison.send(JSON.stringify({ v: 1, poison: { reason: 'token-error', failedAt: '2026-01-01T00:00:00Z', dequeueCount: 1 }, envelope: env('T1') }));
    await poison.send(JSON.stringify({ v: 1, poison: { reason: 'fhir-rejected', status: 422, failedAt: '2026-01-01T00:00:00Z', dequeueCount: 1 }, envelope: env('R1') }));
    const replay = new TokenErrorReplayer(poison, ingest);
    const deps = { store: new MemoryMessageStore(), poison, fhir: new FhirClient({ baseUrl: fhir.url, tokens: noAuthProvider, retry: fast, requestTimeoutMs: 5000 }), idStrategy: 'stable' as const, maxDequeueCount: 5, tokenReplay: replay };
    const ctx = new InvocationContext({ functionName: 'hl7-deliver', triggerMetadata: { dequeueCount: 1 }, logHandler: () => undefined });
    assert.equal(await handleQueueMessage(env('OK-1'), ctx, deps), 'delivered', JSON.stringify(poison.items.slice(2)));
    assert.equal(await replay.afterSuccess(), 1, 'the sweep started by the delivery moved one message');
    assert.equal(ingest.items.length, 1);
    assert.equal(JSON.parse(ingest.items[0].text).id, 'T1');
    assert.equal(poison.items.length, 1, 'other reasons stay parked for a person to look at');
    assert.equal(await replay.afterSuccess(), 0, 'no further sweep until another token error is parked');
  });

  it('never writes MSH-9 or MSH-10 raw to a log line, even when they look like PHI', async () => {
    const logs = new LogCapture();
    const deps: HttpIngestDeps = { store: new MemoryMessageStore(), queue: new MemoryQueue(), takeoverAfterMs: 15_000, waitMs: 50, pollMs: 5, maxBodyBytes: 1 << 20, idStrategy: 'stable' };
    const post = (text: string) => handleHl7Post(new HttpRequest({ method: 'POST', url: 'http://localhost/api/hl7', body: { string: text }, headers: { 'content-type': 'x-application/hl7-v2+er7' } }), logs.context(), deps);
    const needles = ['MRN4411902', 'SMITHJANE19800101', 'SMITHJANE', 'OBRIEN'];
    assert.equal((await post(withMsh(a01, 10, 'MRN4411902'))).status, 200);
    assert.equal((await post(withMsh(a01, 10, 'SMITHJANE19800101'))).status, 200);
    assert.equal((await post(withMsh(withMsh(a01, 9, 'SMITHJANE^OBRIEN'), 10, 'X1'))).status, 400);
    assert.equal((await post(withMsh(a01, 10, 'SMITHJANE19800101').replace('TESTPATIENT^Alpha', 'TESTPATIENT^Alfa'))).status, 400, 'conflict path logs too');
    assert.ok(logs.lines.length >= 4);
    assert.deepEqual(logs.findLeaks(needles), []);
  });

  it('probes FHIR for GET /api/health at most once per cache period, whoever asks', async () => {
    let clock = 1_000_000;
    let replaySweeps = 0;
    const tokenReplay = { afterSuccess: async () => (replaySweeps++, 0) };
    const deps = { tokens: noAuthProvider, fhir: new FhirClient({ baseUrl: fhir.url, tokens: noAuthProvider, retry: fast, requestTimeoutMs: 5000 }), now: () => clock, tokenReplay };
    const ctx = () => new InvocationContext({ functionName: 'health', logHandler: () => undefined });
    const get = () => new HttpRequest({ method: 'GET', url: 'http://localhost/api/health' });
    const before = fhir.stats.requests;
    const res = await Promise.all(Array.from({ length: 20 }, () => handleHealth(get(), ctx(), deps)));
    assert.ok(res.every((r) => r.status === 200));
    assert.equal(fhir.stats.requests - before, 1, 'twenty anonymous calls, one /metadata request');
    clock += 29_000;
    await handleHealth(get(), ctx(), deps);
    assert.equal(fhir.stats.requests - before, 1);
    clock += 2_000;
    await handleHealth(get(), ctx(), deps);
    assert.equal(fhir.stats.requests - before, 2, 'probed again after 30 s');
    assert.ok(replaySweeps > 0, 'a working token also lets token-error parkings be replayed when no message flows');
  });
});
