/**
 * The local FHIR server is as strict as AHDS: R4 validation (400 + OperationOutcome), integer versions with
 * ETags, If-Match (412), and all-or-nothing transactions. The old server accepted all of these writes.
 */
import assert from 'node:assert/strict';
import { startLocalFhirServer, type LocalFhirServer } from '../support/local-fhir-server';

const patient = (id: string, extra: Record<string, unknown> = {}) => ({ resourceType: 'Patient', id, active: true, ...extra });
const tx = (entries: { resource: Record<string, unknown>; ifMatch?: string }[]) => ({
  resourceType: 'Bundle',
  type: 'transaction',
  entry: entries.map(({ resource, ifMatch }) => ({
    fullUrl: `urn:uuid:${resource.id}`,
    resource,
    request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}`, ...(ifMatch ? { ifMatch } : {}) },
  })),
});

describe('local FHIR server (AHDS-strict)', function () {
  this.timeout(60_000);
  let fhir: LocalFhirServer;
  before(async () => {
    fhir = await startLocalFhirServer();
  });
  after(() => fhir.stop());

  const post = async (body: unknown) => {
    const res = await fetch(fhir.url, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it('rejects invalid R4 resources with 400 + OperationOutcome and writes nothing of the transaction', async () => {
    const cases: Record<string, unknown>[] = [
      patient('bad-gender', { gender: {} }),
      patient('bad-element', { colour: 'blue' }),
      patient('bad-date', { birthDate: '2001-13-45' }),
      patient('bad-code', { gender: 'robot' }),
      { resourceType: 'Encounter', id: 'no-class', status: 'in-progress' },
    ];
    for (const bad of cases) {
      const r = await post(tx([{ resource: patient('good-1') }, { resource: bad }]));
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(r.body.resourceType, 'OperationOutcome');
      assert.ok(r.body.issue.length > 0);
    }
    assert.equal(fhir.resources().get('Patient'), undefined, 'a failed transaction applies nothing');
    assert.equal(fhir.rejected.length, cases.length);
  });

  it('versions as 1, 2, … with ETags and refuses a stale If-Match with 412', async () => {
    const r1 = await post(tx([{ resource: patient('v-1') }]));
    assert.equal(r1.status, 200);
    assert.equal(r1.body.entry[0].response.status, '201 Created');
    assert.equal(r1.body.entry[0].response.etag, 'W/"1"');
    const r2 = await post(tx([{ resource: patient('v-1', { gender: 'female' }), ifMatch: 'W/"1"' }]));
    assert.equal(r2.body.entry[0].response.status, '200 OK');
    assert.equal(r2.body.entry[0].response.etag, 'W/"2"');
    const stale = await post(tx([{ resource: patient('v-2') }, { resource: patient('v-1', { gender: 'male' }), ifMatch: 'W/"1"' }]));
    assert.equal(stale.status, 412);
    assert.equal(fhir.resources().get('Patient')?.includes('v-2'), false, 'the 412 transaction applied nothing');
    const ifMatchMissing = await post(tx([{ resource: patient('never'), ifMatch: 'W/"1"' }]));
    assert.equal(ifMatchMissing.status, 412);

    const get = await fetch(`${fhir.url}/Patient/v-1`);
    assert.equal(get.headers.get('etag'), 'W/"2"');
    assert.equal(((await get.json()) as { gender: string }).gender, 'female');
    const put = await fetch(`${fhir.url}/Patient/v-1`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json', 'if-match': 'W/"1"' }, body: JSON.stringify(patient('v-1')) });
    assert.equal(put.status, 412);
    const put2 = await fetch(`${fhir.url}/Patient/v-1`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json', 'if-match': 'W/"2"' }, body: JSON.stringify(patient('v-1')) });
    assert.equal(put2.status, 200);
    assert.equal(put2.headers.get('etag'), 'W/"3"');
    assert.equal(fhir.versions('Patient', 'v-1'), 3);
  });

  it('answers batch reads with the resource and its ETag, and 404 for a missing one', async () => {
    const r = await post({ resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient/v-1' } }, { request: { method: 'GET', url: 'Patient/nope' } }] });
    assert.equal(r.status, 200);
    assert.equal(r.body.entry[0].response.status, '200');
    assert.equal(r.body.entry[0].response.etag, 'W/"3"');
    assert.equal(r.body.entry[0].resource.id, 'v-1');
    assert.equal(r.body.entry[1].response.status, '404');
  });
});
