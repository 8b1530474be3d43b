/**
 * Newest message wins per resource, with real concurrent queue consumers (Azurite queue, the host
 * stand-in with 8 consumers) against the local FHIR server, which versions resources and honours
 * If-Match like AHDS. Before the fix every bundle was a blind PUT, so arrival order won.
 */
import { strict as assert } from 'node:assert';
import type { Encounter, Patient } from 'fhir/r4';
import { convertAdt } from '../../app/src/convert';
import { parseHl7 } from '../../app/src/hl7';
import { dedupeKey } from '../../app/src/ingest/accept';
import { handleQueueMessage, type DeliverDeps } from '../../app/src/ingest/deliver';
import { makeEnvelope } from '../../app/src/ingest/envelope';
import { EVENT_TIME_URL } from '../../app/src/ingest/event-time';
import { drainQueue } from '../../app/src/ingest/local-host';
import { createRuntime, deliverDepsOf, type Runtime } from '../../app/src/ingest/runtime';
import { startAzurite, type Azurite } from '../support/azurite';
import { seededRandom } from '../support/seeded-random';
import { startLocalFhirServer, type LocalFhirServer } from '../support/local-fhir-server';

let seq = 0;
/** An ADT message for one patient (MRN) and visit, with the given event time (EVN-2) and family name. */
function adt(event: string, o: { mrn: string; visit?: string; evn: string; family: string; mrg?: string; msh7?: string }): string {
  const auth = 'WESTHOSP&2.16.840.1.113883.19.5&ISO';
  const pv1 = `PV1|1|I|W1^101^A|||||||||||||||||${o.visit ?? `V${o.mrn}`}^^^${auth}^VN`;
  return [
    `MSH|^~\\&|ADT1|WESTHOSP|FHIRINGEST|CLOUDHOSP|${o.msh7 ?? '20260101000000+0000'}||ADT^${event}|ORD-${++seq}|P|2.5`,
    `EVN|${event}|${o.evn}`,
    `PID|1||${o.mrn}^^^${auth}^MR||${o.family}^Test||19800101|F`,
    ...(event === 'A40' ? [`MRG|${o.mrg}^^^${auth}^MR`] : [pv1]),
  ].join('\r');
}

const idOf = (text: string, type: string) => convertAdt(text).entry!.find((e) => e.resource!.resourceType === type)!.resource!.id!;

describe('ingest: newest message wins per resource (concurrent consumers, If-Match)', function () {
  this.timeout(120_000);
  let azurite: Azurite;
  let fhir: LocalFhirServer;
  let rt: Runtime;
  let deliver: DeliverDeps;

  before(async () => {
    [azurite, fhir] = await Promise.all([startAzurite(), startLocalFhirServer()]);
    rt = await createRuntime({ FHIR_URL: fhir.url, FHIR_AUTH_MODE: 'none', INGEST_AUTH_MODE: 'none', AzureWebJobsStorage: azurite.connectionString, INGEST_QUEUE_NAME: 'order-ingest', MESSAGE_CONTAINER_NAME: 'order-messages', RETRY_BASE_DELAY_MS: '20' });
    deliver = deliverDepsOf(rt);
  });
  after(async () => {
    await Promise.all([azurite?.stop(), fhir?.stop()]);
  });

  const enqueue = async (texts: string[]) => {
    for (const t of texts) {
      const m = parseHl7(t);
      await rt.ingestQueue.send(makeEnvelope({ id: m.controlId!, key: dedupeKey(m.sendingApplicationRaw, m.sendingFacilityRaw, m.controlId!), type: `ADT^${m.triggerEvent}`, receivedAt: new Date().toISOString() }, t));
    }
  };
  const drain = async (concurrency = 8) => {
    const stats = await drainQueue({ queue: rt.ingestQueue, hostPoison: rt.poisonQueue, handler: (item, ctx) => handleQueueMessage(item, ctx, deliver), maxDequeueCount: 5, concurrency, idleMs: 300 });
    assert.equal(await rt.poisonQueue.depth(), 0, 'nothing parked');
    return stats;
  };
  const read = async <T>(type: string, id: string): Promise<T> => {
    const r = await fetch(`${fhir.url}/${type}/${id}`);
    assert.equal(r.status, 200, `${type}/${id}`);
    return (await r.json()) as T;
  };

  it('A08 before its older A01: the A08 data stays, and every resource records its event time', async () => {
    const a01 = adt('A01', { mrn: 'ORD1', evn: '20260301080000+0100', family: 'OLDER' });
    const a08 = adt('A08', { mrn: 'ORD1', evn: '20260301090000+0100', family: 'NEWER' });
    await enqueue([a08]);
    await drain();
    await enqueue([a01]);
    await drain();
    const p = await read<Patient>('Patient', idOf(a01, 'Patient'));
    assert.equal(p.name?.[0].family, 'NEWER');
    assert.equal(p.meta?.extension?.find((x) => x.url === EVENT_TIME_URL)?.valueInstant, '2026-03-01T09:00:00+01:00');
    assert.equal(fhir.rejected.length, 0, 'every resource written was valid R4');
  });

  it('A03 before its A01: the encounter stays finished', async () => {
    const a01 = adt('A01', { mrn: 'ORD2', evn: '20260302080000+0000', family: 'X' });
    const a03 = adt('A03', { mrn: 'ORD2', evn: '20260303080000+0000', family: 'X' });
    await enqueue([a03]);
    await drain();
    await enqueue([a01]);
    await drain();
    const e = await read<Encounter>('Encounter', idOf(a01, 'Encounter'));
    assert.equal(e.status, 'finished');
  });

  it('a merge is final: a late update neither reactivates the old patient nor drops either link', async () => {
    const survivor = 'ORD3NEW';
    const old = 'ORD3OLD';
    const a01Old = adt('A01', { mrn: old, evn: '20260304080000+0000', family: 'PRE' });
    const a40 = adt('A40', { mrn: survivor, mrg: old, evn: '20260304100000+0000', family: 'MERGED' });
    const lateOlder = adt('A08', { mrn: old, evn: '20260304090000+0000', family: 'STALE' });
    const lateNewer = adt('A08', { mrn: old, evn: '20260304110000+0000', family: 'LATE' });
    const survivorUpdate = adt('A08', { mrn: survivor, evn: '20260304120000+0000', family: 'SURV' });
    await enqueue([a01Old]);
    await drain();
    await enqueue([a40]);
    await drain();
    await enqueue([lateOlder, lateNewer, survivorUpdate]);
    await drain();
    const oldId = idOf(a01Old, 'Patient');
    const survId = idOf(survivorUpdate, 'Patient');
    const o = await read<Patient>('Patient', oldId);
    assert.equal(o.active, false, 'merged-away patient stays inactive');
    assert.deepEqual(o.link?.map((l) => [l.type, l.other.reference]), [['replaced-by', `Patient/${survId}`]]);
    assert.equal(o.name?.[0].family, 'LATE', 'the newer demographics still land');
    const s = await read<Patient>('Patient', survId);
    assert.equal(s.name?.[0].family, 'SURV');
    assert.deepEqual(s.link?.map((l) => [l.type, l.other.reference]), [['replaces', `Patient/${oldId}`]]);
  });

  it('an A29 deletes what is older than it and leaves what is newer', async () => {
    const a01 = adt('A01', { mrn: 'ORD5', evn: '20260307080000+0000', family: 'GONE' });
    const a29 = adt('A29', { mrn: 'ORD5', evn: '20260307090000+0000', family: 'GONE' });
    const a08Newer = adt('A08', { mrn: 'ORD6', evn: '20260307100000+0000', family: 'STAYS' });
    const a29Older = adt('A29', { mrn: 'ORD6', evn: '20260307090000+0000', family: 'STAYS' });
    await enqueue([a01, a08Newer]);
    await drain();
    await enqueue([a29, a29Older]);
    await drain();
    assert.notEqual((await fetch(`${fhir.url}/Patient/${idOf(a01, 'Patient')}`)).status, 200, 'deleted by the newer A29');
    assert.equal((await read<Patient>('Patient', idOf(a08Newer, 'Patient'))).name?.[0].family, 'STAYS');
    assert.equal(fhir.rejected.length, 0);
  });

  it('30 concurrent A08 pairs (older one queued second) and 12 concurrent updates of one patient converge on the newest', async () => {
    const msgs: string[] = [];
    for (let i = 0; i < 30; i++) {
      msgs.push(adt('A08', { mrn: `PAIR${i}`, evn: '20260305100000+0000', family: 'NEWER' }));
      msgs.push(adt('A08', { mrn: `PAIR${i}`, evn: '20260305095959+0000', family: 'OLDER' }));
    }
    const rnd = seededRandom(3);
    const many = Array.from({ length: 12 }, (_, i) => adt('A08', { mrn: 'MANY', evn: `202603061000${String(i).padStart(2, '0')}+0000`, family: `V${String(i).padStart(2, '0')}` }));
    for (let i = many.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [many[i], many[j]] = [many[j], many[i]];
    }
    await enqueue([...msgs, ...many]);
    await drain(8);
    let olderWon = 0;
    for (let i = 0; i < 30; i++) if ((await read<Patient>('Patient', idOf(msgs[2 * i], 'Patient'))).name?.[0].family !== 'NEWER') olderWon++;
    assert.equal(olderWon, 0);
    const p = await read<Patient>('Patient', idOf(many[0], 'Patient'));
    assert.equal(p.name?.[0].family, 'V11');
    assert.equal(fhir.rejected.length, 0);
  });
});
