import { HttpRequest } from '@azure/functions';
import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawnSync } from 'node:child_process';
import { controlIdHash, parseReplayArgs, UsageError } from '../../app/src/cli/replay-poison';
import { createFunctionHandlers, memoisedRuntime } from '../../app/src/functions/handlers';
import { parseHl7 } from '../../app/src/hl7';
import { loadConfig } from '../../app/src/ingest/config';
import { FhirClient } from '../../app/src/ingest/fhir-client';
import { createRuntime, tokenProviderFor, type Runtime } from '../../app/src/ingest/runtime';
import { MemoryMessageStore, MemoryQueue } from '../../app/src/ingest/storage';
import { noAuthProvider } from '../../app/src/ingest/token';
import { loadAdtCorpus } from '../fixtures/hl7';
import { startLocalFhirServer, type LocalFhirServer } from '../support/local-fhir-server';
import { LogCapture } from '../support/log-capture';

const a01 = loadAdtCorpus().find((m) => m.name === 'adt-a01-v251-full.hl7')!.text;
const postA01 = () => new HttpRequest({ method: 'POST', url: 'http://localhost/api/hl7', body: { string: a01 }, headers: { 'content-type': 'x-application/hl7-v2+er7' } });
const getHealth = () => new HttpRequest({ method: 'GET', url: 'http://localhost/api/health' });

describe('function entry points (what the host calls)', () => {
  const logs = new LogCapture();

  it('answers an AR ACK / 503 and an unhealthy health check when start-up fails, and retries start-up later', async () => {
    let attempts = 0;
    const handlers = createFunctionHandlers(
      memoisedRuntime(async () => {
        attempts++;
        return createRuntime({}); // no FHIR_URL: ConfigError
      }),
    );
    const res = await handlers.hl7(postA01(), logs.context());
    assert.equal(res.status, 503);
    assert.equal(parseHl7(res.body as string).get('MSA-1'), 'AR');
    const health = await handlers.health(getHealth(), logs.context('health'));
    assert.equal(health.status, 503);
    assert.deepEqual(health.jsonBody, { status: 'unhealthy', startup: { ok: false, error: 'ConfigError' } });
    await assert.rejects(handlers.deliver({}, logs.context('hl7-deliver')), /FHIR_URL is required/);
    assert.equal(attempts, 3, 'a failed start-up is not cached');
    const failed = logs.eventsNamed('startup.failed');
    assert.equal(failed.length, 3);
    assert.equal(failed[0].errorClass, 'ConfigError');
  });

  describe('with a working runtime', () => {
    let fhir: LocalFhirServer;
    before(async () => {
      fhir = await startLocalFhirServer();
    });
    after(() => fhir.stop());

    it('ingests over HTTP, delivers from the queue and reports healthy, building the runtime once', async () => {
      let builds = 0;
      const queue = new MemoryQueue('hl7-ingest');
      const rt: Runtime = {
        config: loadConfig({ FHIR_URL: fhir.url, FHIR_AUTH_MODE: 'none', INGEST_AUTH_MODE: 'none', AzureWebJobsStorage: 'UseDevelopmentStorage=true' }),
        store: new MemoryMessageStore(),
        ingestQueue: queue,
        poisonQueue: new MemoryQueue('hl7-ingest-poison'),
        tokens: noAuthProvider,
        fhir: new FhirClient({ baseUrl: fhir.url, tokens: noAuthProvider, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, maxTotalMs: 1000 }, requestTimeoutMs: 5000 }),
      };
      const handlers = createFunctionHandlers(memoisedRuntime(async () => (builds++, rt)));
      const res = await handlers.hl7(postA01(), logs.context());
      assert.equal(res.status, 200);
      assert.equal(queue.items.length, 1);
      // The host hands the trigger the JSON-decoded message.
      await handlers.deliver(JSON.parse(queue.items[0].text), logs.context('hl7-deliver', { dequeueCount: 1 }));
      assert.ok((fhir.resources().get('Patient') ?? []).length >= 1);
      const health = await handlers.health(getHealth(), logs.context('health'));
      assert.equal(health.status, 200);
      assert.equal(builds, 1);
    });
  });

  describe('client-credentials start-up (Key Vault faked: there is no emulator)', () => {
    let server: Server;
    let tokenUrl: string;
    before(async () => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          const ok = new URLSearchParams(body).get('client_secret') === 'kv-secret-value';
          res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
          res.end(JSON.stringify(ok ? { access_token: 'third-party-token', expires_in: 600 } : { error: 'invalid_client' }));
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    const config = () =>
      loadConfig({
        FHIR_URL: 'https://fhir.partner.example.org/r4',
        FHIR_AUTH_MODE: 'client-credentials',
        FHIR_OAUTH_TOKEN_URL: tokenUrl,
        FHIR_OAUTH_CLIENT_ID: 'ingest',
        FHIR_OAUTH_SECRET_VAULT_URL: 'https://kv-ingest.vault.azure.net',
        FHIR_OAUTH_SECRET_NAME: 'partner-fhir-secret',
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      });

    it('reads the named secret from the vault and validates it with a first token request', async () => {
      const asked: string[] = [];
      const tokens = await tokenProviderFor(config(), { secrets: { getSecret: async (n) => (asked.push(n), 'kv-secret-value') } });
      assert.deepEqual(asked, ['partner-fhir-secret']);
      assert.equal(await tokens.getToken(), 'third-party-token');
    });

    it('fails start-up on a wrong secret without revealing it', async () => {
      await assert.rejects(
        tokenProviderFor(config(), { secrets: { getSecret: async () => 'stale-secret-value' } }),
        (err: Error) => err.name === 'TokenAcquisitionError' && !err.message.includes('stale-secret-value'),
      );
    });
  });

  describe('replay:poison arguments', () => {
    it('parses with node:util parseArgs; --help exits 0, usage errors exit 2 and echo nothing of the value', () => {
      assert.deepEqual(parseReplayArgs([]), { dryRun: false, help: false });
      assert.deepEqual(parseReplayArgs(['--max', '10', '--dry-run']), { max: 10, dryRun: true, help: false });
      assert.deepEqual(parseReplayArgs(['--max=3']), { max: 3, dryRun: false, help: false });
      assert.equal(parseReplayArgs(['--help']).help, true);
      assert.throws(() => parseReplayArgs(['--max', 'ten']), (e: Error) => e instanceof UsageError && /--max needs a positive whole number/.test(e.message) && !e.message.includes('ten'));
      assert.throws(() => parseReplayArgs(['--max', '0']), UsageError);
      assert.throws(() => parseReplayArgs(['--all']), UsageError);
      const run = (args: string[]) => spawnSync(process.execPath, ['-r', './tools/ts-register.js', 'app/src/cli/replay-poison.ts', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });
      assert.equal(run(['--help']).status, 0);
      assert.equal(run(['--bogus']).status, 2);
    });
    it('prints MSH-10 only as the logs\' hash', () => {
      assert.match(controlIdHash('DOE^JOHN-19800101'), /^#[0-9a-f]{12}$/);
      assert.equal(controlIdHash(undefined), '-');
    });
  });
});
