/**
 * Sample-message helpers shared by the demo, the e2e tests and the benchmark: derive many distinct,
 * still-valid ADT messages from the invented corpus by giving each a new MSH-10 and a new patient
 * identifier (so each variant lands on its own Patient and Encounter ids).
 */
import { parseHl7 } from '../src/hl7';

/** Strips what precedes "MSH" (BOM, MLLP start block) and what follows the last segment (MLLP end). */
function splitFraming(text: string): { head: string; body: string; tail: string } {
  const start = text.indexOf('MSH');
  if (start < 0) throw new Error('sample message has no MSH segment');
  const end = text.indexOf('\x1c', start);
  return end < 0
    ? { head: text.slice(0, start), body: text.slice(start), tail: '' }
    : { head: text.slice(0, start), body: text.slice(start, end), tail: text.slice(end) };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Returns `text` with MSH-10 set to `controlId` and, when `patientSuffix` is given, every occurrence
 * of the first PID-3 identifier value (and MRG-1's, for merges) suffixed, keeping framing and
 * line endings as they were.
 */
export function withIds(text: string, controlId: string, patientSuffix?: string): string {
  const { head, body, tail } = splitFraming(text);
  const msg = parseHl7(body);
  const d = msg.delimiters;
  const lineEnd = /\r\n|\r|\n/.exec(body)?.[0] ?? '\r';
  const lines = body.split(/\r\n|\r|\n/);
  const msh = lines[0].split(d.field);
  while (msh.length < 10) msh.push('');
  msh[9] = controlId; // index 9 = MSH-10 (MSH-1 is the separator itself)
  lines[0] = msh.join(d.field);
  let out = lines.join(lineEnd);
  if (patientSuffix !== undefined) {
    const values = new Set<string>();
    for (const seg of ['PID', 'MRG']) {
      for (const s of msg.segmentsNamed(seg)) {
        const first = s.fieldRaw(seg === 'PID' ? 3 : 1).split(d.repetition)[0].split(d.component)[0];
        if (first.length >= 3) values.add(first);
      }
    }
    for (const v of values) {
      // Only whole components: the value must be bounded by delimiters or line ends.
      const bound = `[${escapeRe(d.field + d.component + d.repetition + d.subcomponent)}\\r\\n]`;
      out = out.replace(new RegExp(`(^|${bound})${escapeRe(v)}(?=${bound}|$)`, 'gm'), `$1${v}${patientSuffix}`);
    }
  }
  return head + out + tail;
}
