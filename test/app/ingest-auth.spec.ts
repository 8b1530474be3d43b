/**
 * The Function knows who is calling: it validates the Entra token itself (issuer, audience, expiry,
 * signature, HL7.Send role), binds each sender to the facilities it may name, and scopes the dedupe key
 * to the sender. Tokens come from a locally generated RSA key served as a JWKS on 127.0.0.1. Before this,
 * any caller holding the function key could post for any facility.
 */
import { HttpRequest } from '@azure/functions';
import { strict as assert } from 'node:assert';
import { parseHl7 } from '../../app/src/hl7';
import { EntraCallerValidator } from '../../app/src/ingest/caller-auth';
import { ConfigError, loadConfig, requireCallerAuth } from '../../app/src/ingest/config';
import { handleHl7Post, type HttpIngestDeps } from '../../app/src/ingest/http-ingest';
import { createRuntime } from '../../app/src/ingest/runtime';
import { MemoryMessageStore, MemoryQueue } from '../../app/src/ingest/storage';
import { startTestIssuer, type TestIssuer } from '../support/entra-test-issuer';
import { LogCapture } from '../support/log-capture';

const WEST = 'aaaaaaaa-0000-0000-0000-000000000001';
const EAST = 'bbbbbbbb-0000-0000-0000-000000000002';
const msg = (facility: string, controlId: string, family = 'DOE') =>
  [`MSH|^~\\&|ADT1|${facility}^2.16.840.1.113883.19.5^ISO|FHIRINGEST|CLOUDHOSP|20260101120000+0000||ADT^A08|${controlId}|P|2.5`, 'EVN|A08|20260101120000+0000', `PID|1||MRN1^^^${facility}^MR||${family}^Jane||19800101|F`, 'PV1|1|I|W^1^1'].join('\r');

describe('ingest: caller authentication (Entra) and sender -> facility binding', function () {
  this.timeout(60_000);
  let issuer: TestIssuer;
  let deps: HttpIngestDeps;
  const logs = new LogCapture();

  before(async () => {
    issuer = await startTestIssuer();
    const config = loadConfig({
      FHIR_URL: 'http://127.0.0.1:9/fhir',
      FHIR_AUTH_MODE: 'none',
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      INGEST_AUTH_ISSUER: issuer.issuer,
      INGEST_AUTH_JWKS_URL: issuer.jwksUrl,
      INGEST_AUTH_AUDIENCE: `${issuer.audience}, 66666666-7777-8888-9999-000000000000`,
      // Both senders may name SHARED; only WEST may name WESTHOSP (and only as application ADT1).
      INGEST_SENDERS: JSON.stringify({ [WEST]: [{ facility: 'WESTHOSP', application: 'ADT1' }, 'SHARED'], [EAST]: ['EASTHOSP', 'SHARED'] }),
    });
    // The validator exactly as the runtime builds it; storage in memory (this spec is about the caller).
    deps = { store: new MemoryMessageStore(), queue: new MemoryQueue(), takeoverAfterMs: 15_000, waitMs: 50, pollMs: 5, maxBodyBytes: 1 << 20, idStrategy: 'stable', auth: new EntraCallerValidator(requireCallerAuth(config)!) };
  });
  after(() => issuer.stop());

  const post = (text: string, token?: string) =>
    handleHl7Post(
      new HttpRequest({ method: 'POST', url: 'http://localhost/api/hl7', body: { string: text }, headers: { 'content-type': 'x-application/hl7-v2+er7', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) } }),
      logs.context(),
      deps,
    );

  it('accepts a valid token for a facility the sender may use', async () => {
    const res = await post(msg('WESTHOSP', 'AUTH-OK-1'), issuer.token(WEST));
    assert.equal(res.status, 200, String(res.body));
    assert.equal(parseHl7(res.body as string).get('MSA-1'), 'AA');
    // v2 tokens name the API by its client id, v1 tokens by its identifier URI: both are configured.
    assert.equal((await post(msg('WESTHOSP', 'AUTH-OK-2'), issuer.token(WEST, { aud: '66666666-7777-8888-9999-000000000000' }))).status, 200);
  });

  it('refuses no token, a forged signature, the wrong issuer or audience, and an expired token with 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string | undefined][] = [
      ['no token', undefined],
      ['not a JWT', 'abc.def'],
      ['forged', issuer.token(WEST, {}, { key: issuer.otherKey })],
      ['unknown key id', issuer.token(WEST, {}, { kid: 'rotated-away' })],
      ['wrong issuer', issuer.token(WEST, { iss: 'https://sts.windows.net/evil/' })],
      ['wrong audience', issuer.token(WEST, { aud: 'api://someone-else' })],
      ['expired', issuer.token(WEST, { exp: now - 600, nbf: now - 4000 })],
      ['not yet valid', issuer.token(WEST, { nbf: now + 3600 })],
    ];
    for (const [label, token] of cases) {
      const res = await post(msg('WESTHOSP', `AUTH-401-${label}`), token === undefined ? undefined : token);
      assert.equal(res.status, 401, label);
      assert.match(String((res.headers as Record<string, string>)['www-authenticate']), /invalid_token/, label);
    }
  });

  it('refuses a token without the HL7.Send role, or from an unmapped client, with 403', async () => {
    assert.equal((await post(msg('WESTHOSP', 'AUTH-403-1'), issuer.token(WEST, { roles: ['FHIR.Read'] }))).status, 403);
    assert.equal((await post(msg('WESTHOSP', 'AUTH-403-2'), issuer.token('cccccccc-0000-0000-0000-000000000003'))).status, 403);
  });

  it('refuses a valid token naming another facility (or application) with AR, logged without PHI', async () => {
    for (const text of [msg('EASTHOSP', 'AUTH-FAC-1', 'SECRETFAMILY'), msg('WESTHOSP', 'AUTH-FAC-2', 'SECRETFAMILY').replace('|ADT1|', '|OTHERAPP|')]) {
      const res = await post(text, issuer.token(WEST));
      assert.equal(res.status, 403);
      const ack = parseHl7(res.body as string);
      assert.equal(ack.get('MSA-1'), 'AR');
      assert.equal(ack.get('ERR-2.3'), '4', 'ERR points at MSH-4');
    }
    const rejected = logs.events().filter((e) => e.reason === 'facility-not-permitted');
    assert.equal(rejected.length, 2);
    assert.deepEqual(logs.findLeaks(['SECRETFAMILY', 'AUTH-FAC-1', 'AUTH-FAC-2']), []);
  });

  it('scopes the dedupe key to the sender: another sender cannot pre-claim a control id', async () => {
    const east = await post(msg('SHARED', 'CTRL-42', 'EASTDATA'), issuer.token(EAST));
    const west = await post(msg('SHARED', 'CTRL-42', 'WESTDATA'), issuer.token(WEST));
    assert.equal(east.status, 200);
    assert.equal(west.status, 200, 'not AR 205: the same MSH-3/4/10 from another sender is another message');
    assert.equal((west.headers as Record<string, string>)['x-hl7-duplicate'], undefined);
  });

  it('is mandatory wherever FHIR is not on loopback, and config errors name the setting without its value', async () => {
    const azure = { FHIR_URL: 'https://ws-fhir.fhir.azurehealthcareapis.com', AzureWebJobsStorage__queueServiceUri: 'https://st.queue.core.windows.net', AzureWebJobsStorage__blobServiceUri: 'https://st.blob.core.windows.net' };
    await assert.rejects(createRuntime(azure), (e: Error) => e instanceof ConfigError && /INGEST_AUTH_TENANT_ID is required/.test(e.message));
    assert.throws(() => loadConfig({ ...azure, INGEST_AUTH_MODE: 'none' }), /only allowed with a loopback/);
    const leaky = 'hunter2-SECRET-value';
    for (const [k, v] of [['INGEST_SENDERS', leaky], ['INGEST_AUTH_TENANT_ID', leaky], ['MAX_BODY_BYTES', leaky], ['MAX_BODY_BYTES', '999999999999']]) {
      assert.throws(
        () => loadConfig({ ...azure, INGEST_AUTH_TENANT_ID: '11111111-2222-3333-4444-555555555555', INGEST_AUTH_AUDIENCE: 'api://x', INGEST_SENDERS: JSON.stringify({ [WEST]: ['W'] }), [k]: v }),
        (e: Error) => e instanceof ConfigError && e.message.includes(k) && !e.message.includes(v) && !e.message.includes(v.slice(0, 6)),
        k,
      );
    }
  });
});
