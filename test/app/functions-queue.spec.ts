import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { convertAdt } from '../../app/src/convert';
import { parseHl7 } from '../../app/src/hl7';
import { loadConfig, ConfigError } from '../../app/src/ingest/config';
import { handleQueueMessage, TransientDeliveryError, type DeliverDeps } from '../../app/src/ingest/deliver';
import { makeEnvelope, type PoisonRecord } from '../../app/src/ingest/envelope';
import { FhirClient } from '../../app/src/ingest/fhir-client';
import { handleHealth } from '../../app/src/ingest/health';
import { formatLogLine } from '../../app/src/ingest/logger';
import { backoffDelay, parseRetryAfter, runWithRetry, type RetryOptions } from '../../app/src/ingest/retry';
import { drainQueue } from '../../app/src/ingest/local-host';
import { replayPoison } from '../../app/src/ingest/replay';
import { MemoryMessageStore, MemoryQueue } from '../../app/src/ingest/storage';
import { CachedTokenProvider, clientCredentialsProvider, TokenAcquisitionError, noAuthProvider, type TokenProvider } from '../../app/src/ingest/token';
import { HttpRequest } from '@azure/functions';
import { loadAdtCorpus } from '../fixtures/hl7';
import { startLocalFhirServer, type LocalFhirServer } from '../support/local-fhir-server';
import { LogCapture, phiNeedles } from '../support/log-capture';

const corpus = loadAdtCorpus();
const a01 = corpus.find((m) => m.name === 'adt-a01-v251-full.hl7')!.text;
const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n.toLowerCase()] ?? null });

describe('retry policy', () => {
  it('reads x-ms-retry-after-ms, Retry-After seconds and Retry-After HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter(headers({ 'x-ms-retry-after-ms': '250' }), now), 250);
    assert.equal(parseRetryAfter(headers({ 'retry-after': '3' }), now), 3000);
    assert.equal(parseRetryAfter(headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now), 5000);
    assert.equal(parseRetryAfter(headers({ 'retry-after': 'Wed, 31 Dec 2025 00:00:05 GMT' }), now), 0, 'a past date means now');
    assert.equal(parseRetryAfter(headers({ 'x-ms-retry-after-ms': '100', 'retry-after': '9' }), now), 100, 'ms header wins');
    assert.equal(parseRetryAfter(headers({ 'retry-after': 'soon' }), now), undefined);
    assert.equal(parseRetryAfter(headers({}), now), undefined);
  });

  it('draws full-jitter delays within [0, min(cap, base*2^n)]', () => {
    const o = { baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(backoffDelay(0, { ...o, random: () => 0.999999 }), 99);
    assert.equal(backoffDelay(3, { ...o, random: () => 0.5 }), 400);
    assert.equal(backoffDelay(10, { ...o, random: () => 0.999999 }), 999, 'capped');
    assert.equal(backoffDelay(2, { ...o, random: () => 0 }), 0);
  });

  it('honours server hints, stops at maxAttempts, and stops at once on a permanent outcome', async () => {
    const sleeps: number[] = [];
    const o: RetryOptions = { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 100, maxTotalMs: 60_000, sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 };
    const r = await runWithRetry(async (n) => (n === 1 ? { kind: 'retry', hintMs: 1500, failure: 'fhir-429' } : { kind: 'retry', failure: 'fhir-503' }), o);
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 4);
    assert.equal(r.permanent, false);
    assert.deepEqual(sleeps, [1500, 10, 20]);
    const p = await runWithRetry(async () => ({ kind: 'fail', failure: 'fhir-400' }), o);
    assert.equal(p.attempts, 1);
    assert.equal(p.permanent, true);
  });

  it('gives up when the next wait would exceed the time budget', async () => {
    let clock = 0;
    const o: RetryOptions = { maxAttempts: 50, baseDelayMs: 1000, maxDelayMs: 1000, maxTotalMs: 2500, now: () => clock, sleep: async (ms) => void (clock += ms), random: () => 0.999 };
    const r = await runWithRetry(async () => ({ kind: 'retry', failure: 'network-error' }), o);
    assert.ok(r.attempts <= 4 && r.attempts >= 2, `attempts ${r.attempts}`);
    assert.ok(clock <= 2500);
  });
});

describe('token providers', () => {
  it('caches a token until 5 minutes before expiry, shares one acquisition, and does not cache failures', async () => {
    let clock = 1_000_000;
    let calls = 0;
    let fail = false;
    const p = new CachedTokenProvider(
      async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 5));
        if (fail) throw new Error('imds down');
        return { token: `t${calls}`, expiresOnTimestamp: clock + 60 * 60_000 };
      },
      { now: () => clock },
    );
    const [a, b] = await Promise.all([p.getToken(), p.getToken()]);
    assert.equal(a, 't1');
    assert.equal(b, 't1');
    clock += 54 * 60_000;
    assert.equal(await p.getToken(), 't1', 'still valid for 6 more minutes');
    clock += 2 * 60_000;
    fail = true;
    await assert.rejects(p.getToken(), TokenAcquisitionError);
    fail = false;
    assert.equal(await p.getToken(), 't3', 'refreshed after the failure');
    p.invalidate();
    assert.equal(await p.getToken(), 't4');
  });

  describe('OAuth client credentials with the secret from Key Vault', () => {
    let server: Server;
    let tokenUrl: string;
    const SECRET = 'sUp3r-S3cret-Value-42';
    let seen = 0;
    before(async () => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          seen++;
          const form = new URLSearchParams(body);
          const ok = form.get('grant_type') === 'client_credentials' && form.get('client_id') === 'ingest-app' && form.get('client_secret') === SECRET;
          res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
          res.end(JSON.stringify(ok ? { access_token: 'cc-token', token_type: 'Bearer', expires_in: 3600 } : { error: 'invalid_client' }));
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    const secrets = (map: Record<string, string | undefined>) => ({ getSecret: async (name: string) => map[name] });

    it('reads the secret, gets a token and caches it', async () => {
      seen = 0;
      const p = await clientCredentialsProvider({ tokenUrl, clientId: 'ingest-app', secrets: secrets({ 'fhir-client-secret': SECRET }), secretName: 'fhir-client-secret' });
      assert.equal(await p.getToken(), 'cc-token');
      assert.equal(await p.getToken(), 'cc-token');
      assert.equal(seen, 1, 'validated at start-up, then served from cache');
    });

    it('fails fast at start-up on a missing secret or a wrong one, never echoing the value', async () => {
      await assert.rejects(
        clientCredentialsProvider({ tokenUrl, clientId: 'ingest-app', secrets: secrets({}), secretName: 'fhir-client-secret' }),
        (err: Error) => err instanceof TokenAcquisitionError && /fhir-client-secret.*missing/.test(err.message),
      );
      await assert.rejects(
        clientCredentialsProvider({ tokenUrl, clientId: 'ingest-app', secrets: secrets({ s: 'wrong-secret-value' }), secretName: 's' }),
        (err: Error) => err instanceof TokenAcquisitionError && (err as TokenAcquisitionError).permanent && /401/.test(err.message) && !err.message.includes('wrong-secret-value'),
      );
      await assert.rejects(
        clientCredentialsProvider({ tokenUrl, clientId: 'ingest-app', secrets: { getSecret: async () => { throw Object.assign(new Error(`forbidden ${SECRET}`), { name: 'RestError' }); } }, secretName: 's' }),
        (err: Error) => /cannot read Key Vault secret 's' \(RestError\)/.test(err.message) && !err.message.includes(SECRET),
      );
    });
  });
});

describe('configuration', () => {
  const base = {
    FHIR_URL: 'https://ws-fhir.fhir.azurehealthcareapis.com',
    AzureWebJobsStorage__queueServiceUri: 'https://st.queue.core.windows.net',
    AzureWebJobsStorage__blobServiceUri: 'https://st.blob.core.windows.net',
    AzureWebJobsStorage__credential: 'managedidentity',
    AzureWebJobsStorage__clientId: '00000000-0000-0000-0000-000000000001',
    INGEST_QUEUE_NAME: 'hl7-ingest',
  };
  it('loads the identity-based settings with defaults', () => {
    const c = loadConfig(base);
    assert.equal(c.fhirAudience, 'https://ws-fhir.fhir.azurehealthcareapis.com');
    assert.equal(c.authMode, 'managed-identity');
    assert.equal(c.poisonQueueName, 'hl7-ingest-poison', 'same queue the host poisons into');
    assert.equal(c.maxDequeueCount, 5);
    assert.equal(c.storage.connectionString, undefined);
  });
  it('names the bad setting', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ FHIR_URL: '' }, /FHIR_URL is required/],
      [{ FHIR_URL: 'http://fhir.example.org' }, /FHIR_URL must be an https URL/],
      [{ FHIR_AUTH_MODE: 'none' }, /only allowed for a loopback/],
      [{ FHIR_AUTH_MODE: 'magic' }, /FHIR_AUTH_MODE must be one of/],
      [{ MAX_BODY_BYTES: '12abc' }, /MAX_BODY_BYTES must be a whole number/],
      [{ INGEST_QUEUE_NAME: 'Bad_Name' }, /INGEST_QUEUE_NAME is not a valid/],
      [{ AzureWebJobsStorage__queueServiceUri: '' }, /identity-based/],
      [{ AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=abc' }, /only accepted for Azurite/],
      [{ FHIR_AUTH_MODE: 'client-credentials' }, /FHIR_OAUTH_TOKEN_URL is required/],
    ];
    for (const [over, re] of bad) assert.throws(() => loadConfig({ ...base, ...over }), (e: Error) => e instanceof ConfigError && re.test(e.message), JSON.stringify(over));
  });
  it('refuses a client secret placed in app settings without echoing it', () => {
    const env = {
      ...base,
      FHIR_AUTH_MODE: 'client-credentials',
      FHIR_OAUTH_TOKEN_URL: 'https://login.example.org/token',
      FHIR_OAUTH_CLIENT_ID: 'x',
      FHIR_OAUTH_SECRET_VAULT_URL: 'https://kv.vault.azure.net',
      FHIR_OAUTH_SECRET_NAME: 'fhir-secret',
      FHIR_OAUTH_CLIENT_SECRET: 'leaky-value-123',
    };
    assert.throws(() => loadConfig(env), (e: Error) => /read from Key Vault/.test(e.message) && !e.message.includes('leaky-value-123'));
  });
});

describe('PHI-safe logger', () => {
  it('drops fields that are not allow-listed and hashes values that do not look like codes', () => {
    const line = formatLogLine('hl7.accepted', { controlId: 'MSG-1', messageType: 'ADT', status: 200, ...({ patientName: 'TESTPATIENT' } as object) });
    // MSH-10 is sender-controlled, so it is always a hash, even when it looks harmless.
    assert.deepEqual(JSON.parse(line), { event: 'hl7.accepted', controlId: '#' + createHash('sha256').update('MSG-1').digest('hex').slice(0, 12), messageType: 'ADT', status: 200 });
    const phiType = JSON.parse(formatLogLine('x', { messageType: 'SMITH', triggerEvent: '19800101' }));
    assert.match(phiType.messageType, /^#[0-9a-f]{12}$/);
    assert.match(phiType.triggerEvent, /^#[0-9a-f]{12}$/);
    const odd = JSON.parse(formatLogLine('x', { controlId: 'Doe^John 123 Main St', errorClass: 'has spaces in it' }));
    assert.match(odd.controlId, /^#[0-9a-f]{12}$/);
    assert.match(odd.errorClass, /^#[0-9a-f]{12}$/);
  });
});

describe('queue-triggered delivery and health (against the local FHIR server)', () => {
  let fhir: LocalFhirServer;
  let logs: LogCapture;
  let poison: MemoryQueue;
  let store: MemoryMessageStore;
  const fast: RetryOptions = { maxAttempts: 5, baseDelayMs: 5, maxDelayMs: 20, maxTotalMs: 5000, delayScale: 0.01 };

  before(async () => {
    fhir = await startLocalFhirServer();
  });
  after(() => fhir.stop());
  beforeEach(() => {
    fhir.setFaults(undefined);
    fhir.setAuth(undefined);
    logs = new LogCapture();
    poison = new MemoryQueue('hl7-ingest-poison');
    store = new MemoryMessageStore();
  });

  const depsWith = (tokens: TokenProvider = noAuthProvider, retry = fast): DeliverDeps => ({
    store,
    poison,
    fhir: new FhirClient({ baseUrl: fhir.url, tokens, retry, requestTimeoutMs: 5000 }),
    idStrategy: 'stable',
    maxDequeueCount: 5,
  });
  const envelopeFor = (text: string, inline = true) => {
    const m = parseHl7(text);
    const key = 'a'.repeat(63) + String(Math.floor(Math.random() * 10));
    return { key, json: JSON.parse(makeEnvelope({ id: m.controlId!, key, type: 'ADT^A01', receivedAt: new Date().toISOString() }, inline ? text : 'x'.repeat(60_000))) };
  };
  const ctx = (dequeueCount = 1) => logs.context('hl7-deliver', { dequeueCount });

  it('converts and POSTs the transaction: every bundle entry exists on the server afterwards', async () => {
    const { json } = envelopeFor(a01);
    assert.equal(await handleQueueMessage(json, ctx(), depsWith()), 'delivered');
    const bundle = convertAdt(a01);
    const stored = fhir.resources();
    for (const e of bundle.entry!) {
      const [type, id] = e.request!.url.split('/');
      assert.ok(stored.get(type)?.includes(id), `${type}/${id} stored`);
    }
    const done = logs.eventsNamed('deliver.done')[0];
    assert.equal(done.resources, bundle.entry!.length);
    assert.equal(done.status, 200);
  });

  it('reads the raw message from the blob when it was too large to inline', async () => {
    const { key, json } = envelopeFor(a01, false);
    assert.equal(json.hl7, undefined);
    await store.create(key, a01, { contentHash: 'h', claimedAt: 0 });
    assert.equal(await handleQueueMessage(JSON.stringify(json), ctx(), depsWith()), 'delivered');
  });

  it('retries 429 (honouring Retry-After), 503 and dropped connections, then succeeds', async () => {
    const plan = [{ kind: '429', retryAfter: '2' }, { kind: '503' }, { kind: 'drop-before' }, { kind: 'drop-after' }] as const;
    let i = 0;
    fhir.setFaults(({ method }) => (method === 'POST' ? plan[i++] : undefined));
    const sleeps: number[] = [];
    const retry: RetryOptions = { ...fast, maxAttempts: 6, delayScale: 1, sleep: async (ms) => void sleeps.push(ms) };
    const { json } = envelopeFor(a01);
    assert.equal(await handleQueueMessage(json, ctx(), depsWith(noAuthProvider, retry)), 'delivered');
    assert.equal(sleeps[0], 2000, 'waited what Retry-After asked for');
    assert.equal(sleeps.length, 4);
    assert.equal(logs.eventsNamed('fhir.retry').length, 4);
  });

  it('sends a permanent FHIR rejection to the poison queue with the reason, status and message id', async () => {
    fhir.setFaults(() => undefined);
    const bad = new FhirClient({ baseUrl: `${fhir.url}/NoSuchType`, tokens: noAuthProvider, retry: fast, requestTimeoutMs: 5000 });
    const { json } = envelopeFor(a01);
    assert.equal(await handleQueueMessage(json, ctx(), { ...depsWith(), fhir: bad }), 'poisoned');
    const rec = JSON.parse(poison.items[0].text) as PoisonRecord;
    assert.equal(rec.poison.reason, 'fhir-rejected');
    assert.ok(rec.poison.status && rec.poison.status >= 400 && rec.poison.status < 500, String(rec.poison.status));
    assert.equal(rec.envelope!.id, parseHl7(a01).controlId);
  });

  it('poisons conversion failures and unreadable envelopes instead of dropping them', async () => {
    const broken = envelopeFor(a01).json;
    broken.hl7 = 'MSH|^~\\&|A|B|C|D|20260101||ADT^A01|X1|P|2.5\rPID|1||\r';
    assert.equal(await handleQueueMessage(broken, ctx(), depsWith()), 'poisoned');
    assert.equal(await handleQueueMessage('not json at all', ctx(), depsWith()), 'poisoned');
    const reasons = poison.items.map((i) => (JSON.parse(i.text) as PoisonRecord).poison.reason);
    assert.deepEqual(reasons, ['conversion-error', 'invalid-envelope']);
  });

  it('throws for the host to retry on persistent transient failure, and parks it itself on the last dequeue', async () => {
    fhir.setFaults(() => ({ kind: '503' }));
    const { json } = envelopeFor(a01);
    await assert.rejects(handleQueueMessage(json, ctx(1), depsWith()), TransientDeliveryError);
    assert.equal(poison.items.length, 0);
    assert.equal(await handleQueueMessage(json, ctx(5), depsWith()), 'poisoned');
    const rec = JSON.parse(poison.items[0].text) as PoisonRecord;
    assert.equal(rec.poison.reason, 'retries-exhausted');
    assert.equal(rec.poison.status, 503);
    assert.equal(rec.poison.dequeueCount, 5);
  });

  it('treats token failures as transient and refreshes the token after a 401', async () => {
    let n = 0;
    const tokens = new CachedTokenProvider(async () => {
      n++;
      if (n === 1) throw new Error('IMDS timeout');
      return { token: `tok-${n}`, expiresOnTimestamp: Date.now() + 3600_000 };
    });
    // The server only accepts the third token: tok-2 gets a 401, which must trigger a refresh.
    fhir.setAuth((t) => t === 'tok-3');
    const { json } = envelopeFor(a01);
    assert.equal(await handleQueueMessage(json, ctx(), depsWith(tokens)), 'delivered');
    assert.equal(n, 3);
    const reasons = logs.eventsNamed('fhir.retry').map((e) => e.reason);
    assert.deepEqual(reasons, ['token-error', 'fhir-transient']);
    assert.ok(!logs.lines.some((l) => /tok-\d/.test(l.text)), 'tokens never logged');
  });

  it('never logs PHI while delivering the whole corpus', async () => {
    for (const m of corpus) await handleQueueMessage(envelopeFor(m.text).json, ctx(), depsWith());
    assert.equal(logs.eventsNamed('deliver.done').length, corpus.length);
    assert.deepEqual(logs.findLeaks(phiNeedles(corpus.map((m) => m.text))), []);
  });

  it('host stand-in: a handler that keeps crashing is re-run maxDequeueCount times, then the host poisons the bare envelope, which replay recovers', async () => {
    const ingest = new MemoryQueue('hl7-ingest');
    const { json } = envelopeFor(a01);
    await ingest.send(JSON.stringify(json));
    const seen: number[] = [];
    const stats = await drainQueue({
      queue: ingest,
      hostPoison: poison,
      handler: async (_item, c) => {
        seen.push(Number((c.triggerMetadata as { dequeueCount: number }).dequeueCount));
        throw new Error('worker crashed');
      },
      maxDequeueCount: 5,
      idleMs: 50,
    });
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    assert.equal(stats.hostPoisoned, 1);
    assert.equal(ingest.items.length, 0);
    assert.equal(poison.items.length, 1);
    const r = await replayPoison({ poison, ingest });
    assert.equal(r.replayed, 1);
    const again = await drainQueue({ queue: ingest, hostPoison: poison, handler: (item, c) => handleQueueMessage(item, c, depsWith()), maxDequeueCount: 5, idleMs: 50 });
    assert.equal(again.succeeded, 1);
    assert.equal(poison.items.length, 0);
  });

  describe('GET /api/health', () => {
    const get = () => new HttpRequest({ method: 'GET', url: 'http://localhost/api/health' });
    it('is 200 when a token can be acquired and /metadata is an R4 CapabilityStatement', async () => {
      const tokens = new CachedTokenProvider(async () => ({ token: 'secret-token-value', expiresOnTimestamp: Date.now() + 3600_000 }));
      const deps = { tokens, fhir: new FhirClient({ baseUrl: fhir.url, tokens, retry: fast, requestTimeoutMs: 5000 }) };
      const res = await handleHealth(get(), logs.context('health'), deps);
      assert.equal(res.status, 200);
      const body = res.jsonBody as { status: string; checks: { fhirMetadata: { fhirVersion: string } } };
      assert.equal(body.status, 'ok');
      assert.equal(body.checks.fhirMetadata.fhirVersion, '4.0.1');
      assert.ok(!JSON.stringify(body).includes('secret-token-value'));
    });
    it('is 503 naming the failed check when the token cannot be acquired or FHIR is down', async () => {
      const noToken = new CachedTokenProvider(async () => {
        throw new Error('credential unavailable: password=hunter2');
      });
      const r1 = await handleHealth(get(), logs.context('health'), { tokens: noToken, fhir: new FhirClient({ baseUrl: fhir.url, tokens: noToken, retry: fast, requestTimeoutMs: 5000 }) });
      assert.equal(r1.status, 503);
      assert.equal((r1.jsonBody as { checks: { token: { ok: boolean } } }).checks.token.ok, false);
      assert.ok(!JSON.stringify(r1.jsonBody).includes('hunter2'));
      fhir.setFaults(() => ({ kind: '503' }));
      const r2 = await handleHealth(get(), logs.context('health'), { tokens: noAuthProvider, fhir: new FhirClient({ baseUrl: fhir.url, tokens: noAuthProvider, retry: fast, requestTimeoutMs: 5000 }) });
      assert.equal(r2.status, 503);
      assert.equal((r2.jsonBody as { checks: { fhirMetadata: { status: number } } }).checks.fhirMetadata.status, 503);
      const r3 = await handleHealth(get(), logs.context('health'), new ConfigError('app setting FHIR_URL is required'));
      assert.equal(r3.status, 503);
      assert.deepEqual(r3.jsonBody, { status: 'unhealthy', startup: { ok: false, error: 'ConfigError' } });
    });
  });
});
