/**
 * Bad-input fuzzing of POST /api/hl7: 10,000+ malformed or mutated messages generated from the ADT
 * corpus with a seeded PRNG (truncation, byte flips, delimiter damage, segment damage, binary junk,
 * invalid UTF-8, huge fields, wrong content types). The handler must never throw or leave an
 * unhandled rejection, must always answer with an HL7 ACK (AR/AE + ERR for errors) or the documented
 * 413/415, and must not log any PHI string from the inputs. Every mutant accepted under AA must convert to
 * resources the full R4 validators accept.
 */
import { HttpRequest } from '@azure/functions';
import { strict as assert } from 'node:assert';
import { withIds } from '../../app/demo/messages';
import { parseHl7 } from '../../app/src/hl7';
import { handleHl7Post, type HttpIngestDeps } from '../../app/src/ingest/http-ingest';
import { toTransaction } from '../../app/src/ingest/pipeline';
import { MemoryMessageStore, MemoryQueue } from '../../app/src/ingest/storage';
import { fhirProblems } from '../support/fhir-validate';
import { loadAdtCorpus } from '../fixtures/hl7';
import { seededRandom } from '../support/local-fhir-server';
import { LogCapture, phiNeedles } from '../support/log-capture';

interface Case {
  kind: string;
  body: Uint8Array;
  contentType: string;
  /** Statuses this case may legitimately get. */
  allowed: number[];
}

const HL7_TYPES = ['x-application/hl7-v2+er7', 'application/hl7-v2', 'text/plain; charset=utf-8'];
const WRONG_TYPES = ['application/json', 'text/html', 'application/octet-stream', 'image/png', 'application/x-www-form-urlencoded'];
// A small cap keeps the huge-field cases (some over, most under it) cheap to generate and parse.
const MAX_BODY = 64 * 1024;

function generate(count: number, seed: number): Case[] {
  const rnd = seededRandom(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const corpus = loadAdtCorpus().map((m) => m.text);
  const enc = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
  const ok = [200, 400, 503];
  const cases: Case[] = [];
  const mutators: [string, (src: Buffer) => Omit<Case, 'kind'>][] = [
    ['truncate', (src) => ({ body: new Uint8Array(src.subarray(0, int(src.length))), contentType: pick(HL7_TYPES), allowed: ok })],
    ['byte-flips', (src) => {
      const b = Buffer.from(src);
      for (let k = 1 + int(12); k > 0; k--) b[int(b.length)] = int(256);
      return { body: new Uint8Array(b), contentType: pick(HL7_TYPES), allowed: ok };
    }],
    ['ascii-flips', (src) => {
      const b = Buffer.from(src);
      for (let k = 1 + int(6); k > 0; k--) b[int(b.length)] = 32 + int(95);
      return { body: new Uint8Array(b), contentType: pick(HL7_TYPES), allowed: ok };
    }],
    ['delimiter-damage', (src) => {
      const s = src.toString('utf8');
      const at = s.indexOf('MSH');
      const chars = s.split('');
      const which = int(5);
      if (which === 0) chars[at + 3] = pick(['^', '~', '\\', '&', 'A', ' ', '\r', '']);
      else if (which === 1) chars[at + 4 + int(4)] = pick(['|', '^', 'X', '', '\n']);
      else if (which === 2) return { body: enc(s.split('|').join(pick(['', '^', '||', '~']))), contentType: pick(HL7_TYPES), allowed: ok };
      else if (which === 3) return { body: enc(s.replace(/\^/g, pick(['|', '~', '']))), contentType: pick(HL7_TYPES), allowed: ok };
      else chars.splice(at + 3, 5, pick(['|^~\\&#', '|', '|^~', '|^^^^', '||||']));
      return { body: enc(chars.join('')), contentType: pick(HL7_TYPES), allowed: ok };
    }],
    ['segment-damage', (src) => {
      const lines = src.toString('utf8').split(/\r\n|\r|\n/);
      const which = int(5);
      if (which === 0) lines.splice(int(lines.length), 1); // drop one (maybe MSH)
      else if (which === 1) lines.sort(() => rnd() - 0.5); // shuffle
      else if (which === 2) lines[int(lines.length)] = pick(['ZZ', 'P1D|1', '|||', 'msh|^~\\&', '\u0000\u0001']);
      else if (which === 3) return { body: enc(lines.join(pick(['', '\u001c', '\u000b', '\t', '\r\r\r']))), contentType: pick(HL7_TYPES), allowed: ok };
      else lines.splice(1 + int(lines.length), 0, lines[int(lines.length)]); // duplicate a segment
      return { body: enc(lines.join('\r')), contentType: pick(HL7_TYPES), allowed: ok };
    }],
    ['binary-junk', () => {
      const n = int(2000);
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = int(256);
      if (rnd() < 0.5 && n > 3) b.write('MSH|^~\\&|', 0, 'latin1');
      return { body: new Uint8Array(b), contentType: pick(HL7_TYPES), allowed: ok };
    }],
    ['invalid-utf8', (src) => {
      const b = Buffer.from(src);
      const at = int(b.length);
      b[at] = pick([0xc3, 0xe2, 0xf0, 0xff, 0x80]);
      return { body: new Uint8Array(b), contentType: pick(HL7_TYPES), allowed: ok };
    }],
    ['huge-field', (src) => {
      const s = src.toString('utf8');
      const size = rnd() < 0.3 ? MAX_BODY + int(MAX_BODY) : int(MAX_BODY - src.length - 10);
      const filler = pick(['x', 'A^', '~', '\\X41\\', '&']).repeat(Math.max(1, Math.floor(size / 2)));
      const at = int(s.length);
      const body = enc(s.slice(0, at) + filler + s.slice(at));
      return { body, contentType: pick(HL7_TYPES), allowed: body.byteLength > MAX_BODY ? [413] : ok };
    }],
    ['wrong-content-type', (src) => ({ body: new Uint8Array(src), contentType: pick(WRONG_TYPES), allowed: [415] })],
    ['bad-charset', (src) => ({ body: new Uint8Array(src), contentType: `x-application/hl7-v2+er7; charset=${pick(['x-unknown', 'utf-9', 'ebcdic-xx'])}`, allowed: [415] })],
    ['latin1-declared', (src) => ({ body: new Uint8Array(src), contentType: 'text/plain; charset=iso-8859-1', allowed: ok })],
    ['empty-ish', () => ({ body: enc(pick(['', ' ', '\r\n', '\u000b\u001c\r', 'MSH', 'MSH|', 'MSH|^~\\&', '\ufeff'])), contentType: pick(HL7_TYPES), allowed: ok })],
    ['mixed', (src) => {
      // Two mutations stacked.
      const first = mutators[int(4)][1](src);
      return { ...mutators[int(4)][1](Buffer.from(first.body)), allowed: ok };
    }],
  ];
  for (let i = 0; i < count; i++) {
    const [kind, make] = mutators[i % mutators.length];
    // A fresh MSH-10 per case, so mutants that stay valid are judged on their own, not as duplicates.
    cases.push({ kind, ...make(Buffer.from(withIds(pick(corpus), `FZ-${i}`), 'utf8')) });
  }
  return cases;
}

describe('fuzz: 10,000+ malformed messages through POST /api/hl7', function () {
  this.timeout(120_000);

  it('never crashes, always answers with an ACK (or 413/415), and never logs PHI', async () => {
    const cases = generate(10_400, 20260315);
    const logs = new LogCapture();
    const deps = { store: new MemoryMessageStore(), queue: new MemoryQueue(), takeoverAfterMs: 15_000, waitMs: 50, pollMs: 5, maxBodyBytes: MAX_BODY, idStrategy: 'stable' } satisfies HttpIngestDeps;
    const unhandled: unknown[] = [];
    const onUnhandled = (r: unknown) => unhandled.push(r);
    process.on('unhandledRejection', onUnhandled);
    const byKind = new Map<string, Map<number, number>>();
    const failures: string[] = [];
    try {
      for (let i = 0; i < cases.length; i++) {
        const c = cases[i];
        const req = new HttpRequest({ method: 'POST', url: 'http://localhost/api/hl7', body: { bytes: c.body }, headers: { 'content-type': c.contentType } });
        let res;
        try {
          res = await handleHl7Post(req, logs.context(), deps);
        } catch (err) {
          failures.push(`#${i} ${c.kind}: handler threw ${(err as Error).name}`);
          continue;
        }
        const status = res.status ?? 0;
        const counts = byKind.get(c.kind) ?? new Map<number, number>();
        counts.set(status, (counts.get(status) ?? 0) + 1);
        byKind.set(c.kind, counts);
        if (!c.allowed.includes(status)) {
          failures.push(`#${i} ${c.kind}: status ${status}`);
          continue;
        }
        if (status === 413 || status === 415) continue;
        let ack;
        try {
          ack = parseHl7(res.body as string);
        } catch {
          failures.push(`#${i} ${c.kind}: response is not a parseable ACK`);
          continue;
        }
        const msa1 = ack.get('MSA-1');
        if (status === 200 && !(msa1 === 'AA' || msa1 === 'CA')) failures.push(`#${i} ${c.kind}: 200 with ${msa1}`);
        if (status !== 200) {
          if (!(msa1 === 'AR' || msa1 === 'AE')) failures.push(`#${i} ${c.kind}: ${status} with ${msa1}`);
          if (!ack.segment('ERR')) failures.push(`#${i} ${c.kind}: error ACK without ERR`);
        }
      }
      await new Promise((r) => setImmediate(r));
    } finally {
      process.removeListener('unhandledRejection', onUnhandled);
    }
    if (process.env.FUZZ_VERBOSE) console.log([...byKind].map(([k, m]) => `${k}: ${JSON.stringify(Object.fromEntries(m))}`).join("\n"));
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failures`);
    assert.equal(unhandled.length, 0, 'no unhandled rejections');
    // The corpus mutations must really exercise the error paths.
    const total = (kind: string, s: number) => byKind.get(kind)?.get(s) ?? 0;
    assert.ok(total('binary-junk', 400) > 700, 'junk is rejected');
    assert.ok(total('huge-field', 413) > 100, 'size cap used');
    assert.equal(total('wrong-content-type', 415), cases.filter((c) => c.kind === 'wrong-content-type').length);
    const errors = [...byKind.values()].reduce((n, m) => n + (m.get(400) ?? 0), 0);
    assert.ok(errors > 5000, `error ACKs: ${errors}`);
    // AA means it lands: every accepted mutant's transaction, exactly as the delivery builds it, passes
    // the full R4 validators (structure, formats, invariants, required bindings).
    const accepted = await deps.queue.receive(100_000, 60);
    assert.ok(accepted.length > 500, `accepted mutants: ${accepted.length}`);
    const invalid: string[] = [];
    const seen = new Set<string>();
    for (const q of accepted) {
      const env = JSON.parse(q.text) as { hl7?: string; key: string };
      const raw = env.hl7 ?? (await deps.store.read(env.key))!; // large messages travel by blob
      for (const e of toTransaction(parseHl7(raw), { ids: 'stable', key: env.key }).entry ?? []) {
        const json = JSON.stringify({ ...e.resource, meta: undefined });
        if (seen.has(json)) continue;
        seen.add(json);
        const problems = fhirProblems(e.resource!);
        if (problems.length > 0) invalid.push(`${e.request?.url}: ${problems.join('; ')}`);
      }
    }
    assert.deepEqual(invalid.slice(0, 5), [], `${invalid.length} invalid resources accepted under AA`);
    const leaks = logs.findLeaks(phiNeedles(loadAdtCorpus().map((m) => m.text)));
    assert.deepEqual(leaks.slice(0, 5), [], `${leaks.length} PHI strings found in logs`);
    assert.ok(logs.lines.length >= cases.length, 'every request logged something');
  });
});
