/**
 * Accept time: AA means the message will land as valid FHIR R4. A message whose conversion is not valid
 * R4 gets AE + ERR and a 400 at once (before: AA, then a 400 from FHIR and a poison message), `\X…\`
 * escapes of any length decode (before: RangeError at ~125 KB), and the accept path stays fast.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle } from 'fhir/r4';
import { convertAdt } from '../../app/src/convert';
import { parseHl7 } from '../../app/src/hl7';
import { unescapeHl7 } from '../../app/src/hl7/escape';
import { toTransaction } from '../../app/src/ingest/pipeline';
import { handleHl7Post, type HttpIngestDeps } from '../../app/src/ingest/http-ingest';
import { bundleProblems, r4Problems } from '../../app/src/ingest/r4/validate';
import { MemoryMessageStore, MemoryQueue } from '../../app/src/ingest/storage';
import { loadAdtCorpus } from '../fixtures/hl7';
import { fhirProblems } from '../support/fhir-validate';

const D = { field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' } as const;
const a01 = loadAdtCorpus().find((m) => m.name === 'adt-a01-v251-full.hl7')!.text;

function deps(o: Partial<HttpIngestDeps> = {}): HttpIngestDeps & { queue: MemoryQueue } {
  return { store: new MemoryMessageStore(), queue: new MemoryQueue(), takeoverAfterMs: 15_000, waitMs: 50, pollMs: 5, maxBodyBytes: 4 * 1024 * 1024, idStrategy: 'stable', ...o } as HttpIngestDeps & { queue: MemoryQueue };
}
const post = (text: string, d: HttpIngestDeps) =>
  handleHl7Post(new HttpRequest({ method: 'POST', url: 'http://localhost/api/hl7', body: { string: text }, headers: { 'content-type': 'x-application/hl7-v2+er7' } }), new InvocationContext({ invocationId: 't', functionName: 'hl7', logHandler: () => undefined }), d);

describe('ingest: accept-time conversion and R4 validation', () => {
  it('the in-app validator flags what AHDS would refuse, and passes every corpus bundle', () => {
    for (const bad of [
      { resourceType: 'Patient', id: 'x', gender: {} },
      { resourceType: 'Patient', id: 'x', gender: 'robot' },
      { resourceType: 'Patient', id: 'x', colour: 'blue' },
      { resourceType: 'Patient', id: 'x', toString: 'a' },
      { resourceType: 'Patient', id: 'x', birthDate: '2001-02-30' },
      { resourceType: 'Patient', id: 'x', name: [{}] },
      { resourceType: 'Encounter', id: 'x', status: 'in-progress' },
      { resourceType: 'Patient', id: 'x', deceasedBoolean: true, deceasedDateTime: '2001' },
      { resourceType: 'Patient', id: 'x', contact: [{ gender: 'male' }] },
      { resourceType: 'Linkage', id: 'x', item: [{ type: 'source', resource: { reference: 'Patient/a' } }] },
      { resourceType: 'Encounter', id: 'x', status: 'finished', class: { code: 'IMP' }, period: { start: '2020-01-02', end: '2020-01-01' } },
    ]) assert.ok(r4Problems(bad).length > 0, JSON.stringify(bad));
    for (const m of loadAdtCorpus()) {
      const b = convertAdt(m.text) as Bundle;
      assert.deepEqual(bundleProblems(b), [], m.name);
    }
  });

  it('agrees with the full validators on all 57 FHIR-Converter ADT samples (no false refusal, no miss)', () => {
    const dir = join(__dirname, '..', 'fixtures', 'hl7', 'fhir-converter');
    const disagreements: string[] = [];
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.hl7'))) {
      const b = convertAdt(readFileSync(join(dir, f), 'utf8')) as Bundle;
      const mine = bundleProblems(b).length > 0;
      const full = b.entry!.some((e) => e.request?.method === 'PUT' && fhirProblems(e.resource!).length > 0);
      if (mine !== full) disagreements.push(`${f}: in-app ${mine ? 'refuses' : 'accepts'}, full validators ${full ? 'refuse' : 'accept'}`);
    }
    assert.deepEqual(disagreements, []);
  });

  it('answers AE + ERR with 400 and queues nothing when the conversion is not valid R4', async () => {
    // A converter defect (like the prototype lookups that gave `gender: {}` under AA) must end in an error ACK.
    const defective = (text: unknown) => {
      const b = convertAdt(text as string) as Bundle;
      const p = b.entry!.find((e) => e.resource!.resourceType === 'Patient')!.resource as unknown as Record<string, unknown>;
      p.gender = {};
      return b;
    };
    const d = deps({ convert: (msg) => defective(msg) });
    const res = await post(a01, d);
    assert.equal(res.status, 400);
    const ack = parseHl7(res.body as string);
    assert.equal(ack.get('MSA-1'), 'AE');
    assert.equal(ack.get('ERR-3.1'), '207');
    assert.equal(await d.queue.depth(), 0);
    const ok = deps();
    assert.equal((await post(a01, ok)).status, 200);
    assert.equal(await ok.queue.depth(), 1);
  });

  it('decodes a 1 MB \\X…\\ escape (ASCII, ISO-8859-1 and UTF-8) without overflowing the stack', async () => {
    const n = 512 * 1024; // 1 MiB of hex digits
    assert.equal(unescapeHl7(`\\X${'41'.repeat(n)}\\`, D), 'A'.repeat(n));
    assert.equal(unescapeHl7(`a\\X${'E9'.repeat(n)}\\b`, D), `a${'\u00e9'.repeat(n)}b`);
    assert.equal(unescapeHl7(`\\X${'C3A9'.repeat(n / 2)}\\`, D), '\u00e9'.repeat(n / 2));
    const big = a01.replace(/^(PID(?:\|[^|\r\n]*){4}\|)[^^|]*/m, `$1\\X${'4142'.repeat(n / 2)}\\`);
    assert.notEqual(big, a01);
    const res = await post(big, deps());
    assert.equal(res.status, 200, res.body as string);
  });

  it('every bundle accepted under AA is valid for the full validators (medplum + FHIR.js)', async () => {
    const d = deps();
    for (const m of loadAdtCorpus()) assert.equal((await post(m.text, d)).status, 200, m.name);
    const msgs = await d.queue.receive(100, 30);
    assert.equal(msgs.length, loadAdtCorpus().length);
    for (const q of msgs) {
      const env = JSON.parse(q.text) as { hl7: string; key: string };
      // Exactly what the delivery writes: converted, stamped with the event time.
      for (const e of toTransaction(parseHl7(env.hl7), { ids: 'stable', key: env.key }).entry!) assert.deepEqual(fhirProblems(e.resource!), [], e.request!.url);
    }
  });
});
