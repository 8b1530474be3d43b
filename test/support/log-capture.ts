/**
 * Captures everything handlers log through an InvocationContext, for assertions on content (PHI) and
 * on structured events.
 */
import { InvocationContext } from '@azure/functions';

export interface CapturedLine {
  level: string;
  text: string;
}

export class LogCapture {
  readonly lines: CapturedLine[] = [];
  private seq = 0;

  /** A fresh InvocationContext whose logs land in this capture. */
  context(functionName = 'hl7', triggerMetadata?: Record<string, unknown>): InvocationContext {
    return new InvocationContext({
      invocationId: `test-${++this.seq}`,
      functionName,
      triggerMetadata,
      logHandler: (level, ...args) => {
        this.lines.push({ level, text: args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ') });
      },
    });
  }

  /** Parsed JSON events (lines written by the ingest logger). */
  events(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const l of this.lines) {
      try {
        out.push(JSON.parse(l.text));
      } catch {
        // not a structured line
      }
    }
    return out;
  }

  eventsNamed(name: string): Record<string, unknown>[] {
    return this.events().filter((e) => e.event === name);
  }

  /** Every captured line that contains one of the given strings (case-insensitive), with the match. */
  findLeaks(needles: Iterable<string>): { needle: string; line: string }[] {
    const lowered = this.lines.map((l) => l.text.toLowerCase());
    const hits: { needle: string; line: string }[] = [];
    for (const n of needles) {
      const ln = n.toLowerCase();
      const i = lowered.findIndex((l) => l.includes(ln));
      if (i >= 0) hits.push({ needle: n, line: this.lines[i].text });
    }
    return hits;
  }

  clear(): void {
    this.lines.length = 0;
  }
}

/**
 * PHI needles from a set of HL7 messages: PID/NK1/GT1 names, PID-3 / MRG identifiers, PID-11/NK1-4
 * address lines and cities, phone numbers. Values shorter than `minLength` are skipped because short
 * strings ("F", "1", "IL") also occur in harmless log text.
 */
export function phiNeedles(texts: Iterable<string>, minLength = 4): Set<string> {
  const out = new Set<string>();
  const keep = (t: string) => {
    t = t.trim();
    // Digit-only values need 7+ characters: shorter ones (years, counts) collide with timings and ids.
    if (t.length >= minLength && !(/^\d+$/.test(t) && t.length < 7)) out.add(t);
  };
  let esc = '\\';
  const add = (v: string | undefined) => {
    const t = (v ?? '').trim();
    keep(t);
    // Also the literal pieces around escape sequences (the unescaped value contains them).
    if (t.includes(esc)) t.split(new RegExp(`\\${esc}[^\\${esc}]*\\${esc}`)).forEach(keep);
  };
  for (const text of texts) {
    const lines = text.replace(/^[\s\S]*?(?=MSH)/, '').split(/\r\n|\r|\n/);
    const fieldSep = lines[0]?.[3] ?? '|';
    const enc = lines[0]?.slice(4, 8) ?? '^~\\&';
    const [comp, rep, escape, sub] = [enc[0] ?? '^', enc[1] ?? '~', enc[2] ?? '\\', enc[3] ?? '&'];
    esc = escape;
    for (const line of lines) {
      const f = line.split(fieldSep);
      const seg = f[0];
      const parts = (n: number) => (f[n] ?? '').split(rep).flatMap((r) => r.split(comp)).flatMap((c) => c.split(sub));
      if (seg === 'PID') {
        for (const n of [5, 6, 9]) parts(n).slice(0, 3).forEach(add); // names (family, given, middle)
        (f[3] ?? '').split(rep).forEach((r) => add(r.split(comp)[0])); // identifiers
        (f[11] ?? '').split(rep).forEach((r) => r.split(comp).slice(0, 3).forEach(add)); // street, other, city
        for (const n of [13, 14]) (f[n] ?? '').split(rep).forEach((r) => r.split(comp).slice(6, 7).forEach(add)); // local numbers
        add(f[7]?.split(comp)[0]); // birth date/time
        add(f[19]); // SSN
      } else if (seg === 'NK1' || seg === 'GT1' || seg === 'IN1') {
        parts(2).slice(0, 2).forEach(add);
      } else if (seg === 'MRG') {
        (f[1] ?? '').split(rep).forEach((r) => add(r.split(comp)[0]));
      }
    }
  }
  return out;
}
