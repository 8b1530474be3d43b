import type { Hl7Delimiters } from "./types";

/**
 * HL7 v2 escape handling (v2.5.1 chapter 2.7). The rule this project follows, also stated in app/README.md:
 *
 * - `\F\ \S\ \T\ \R\ \E\` become the message's own field, component, subcomponent, repetition and escape
 *   characters, and `\P\` the v2.7 truncation character when MSH-2 declares one (where `\` stands for the
 *   message's escape character, whatever it is).
 * - `\Xhh…\` (an even, non-zero number of hex digits) becomes those bytes, read as UTF-8 when they form valid
 *   UTF-8 and as ISO-8859-1 otherwise.
 * - `\.br\` becomes a real line feed (`\n`). FHIR-Converter turns it into the two characters `\n`; we do not,
 *   because a line break is what the sender meant.
 * - `\H\` and `\N\` (start and end of highlighting) are removed: FHIR has no place for highlighting.
 * - Anything else that starts with the escape character (`\Zxx\`, `\C..\`, `\M..\`, `\.sp\`, a lone escape
 *   character, or an escape that is never closed before the end of the value) is kept literally: the escape
 *   character is copied and scanning resumes right after it, so a later well-formed escape still decodes.
 *
 * Unescaping happens on leaves after splitting, so an escaped delimiter never splits a value.
 */
export function unescapeHl7(raw: string, d: Hl7Delimiters): string {
  const esc = d.escape;
  let i = raw.indexOf(esc);
  if (i < 0) return raw;
  let out = "";
  let last = 0;
  while (i >= 0) {
    const end = raw.indexOf(esc, i + 1);
    if (end < 0) break; // unterminated: the rest stays literal
    const rep = decodeEscape(raw, i + 1, end, d);
    if (rep === undefined) {
      // Unknown sequence: keep the escape character and rescan from the next character.
      i = raw.indexOf(esc, i + 1);
      continue;
    }
    out += raw.slice(last, i) + rep;
    last = end + 1;
    i = raw.indexOf(esc, last);
  }
  return last === 0 ? raw : out + raw.slice(last);
}

function decodeEscape(raw: string, start: number, end: number, d: Hl7Delimiters): string | undefined {
  const len = end - start;
  if (len === 1) {
    switch (raw.charCodeAt(start)) {
      case 70: return d.field; // F
      case 83: return d.component; // S
      case 84: return d.subcomponent; // T
      case 82: return d.repetition; // R
      case 69: return d.escape; // E
      case 72: // H
      case 78: // N
        return "";
      case 80: return d.truncation; // P (undefined when MSH-2 has no truncation character)
      default: return undefined;
    }
  }
  if (len === 3 && raw.startsWith(".br", start)) return "\n";
  if (raw.charCodeAt(start) === 88 /* X */ && len >= 3 && (len - 1) % 2 === 0) return decodeHex(raw, start + 1, end);
  return undefined;
}

function decodeHex(raw: string, start: number, end: number): string | undefined {
  const bytes = new Uint8Array((end - start) / 2);
  let ascii = true;
  for (let k = 0, p = start; p < end; k++, p += 2) {
    const hi = hexVal(raw.charCodeAt(p));
    const lo = hexVal(raw.charCodeAt(p + 1));
    if (hi < 0 || lo < 0) return undefined;
    const b = (hi << 4) | lo;
    if (b > 0x7f) ascii = false;
    bytes[k] = b;
  }
  // Decoded by Buffer, not String.fromCharCode(...bytes): spreading passes every byte as a call argument
  // and overflows the stack at around 125 KB. latin1 is ISO-8859-1 (byte = code point), also right for ASCII.
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  return ascii || !isUtf8(bytes) ? buf.toString("latin1") : buf.toString("utf8");
}

/** Strict UTF-8 check (no overlongs, no surrogates), without the cost of a throwing decoder. */
function isUtf8(b: Uint8Array): boolean {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    let n: number;
    let min: number;
    if (c < 0x80) { i++; continue; }
    if (c >= 0xc2 && c <= 0xdf) { n = 1; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; min = 0x10000; }
    else return false;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Escapes a plain value so it can be placed in a field of a message using delimiters `d`.
 * CR and LF are written as `\X0D\` and `\X0A\` because a raw line break would end the segment.
 * `unescapeHl7(escapeHl7(v, d), d) === v` for every string `v`.
 */
export function escapeHl7(value: string, d: Hl7Delimiters): string {
  let out = "";
  let last = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    let rep: string | undefined;
    if (ch === d.escape) rep = "E";
    else if (ch === d.field) rep = "F";
    else if (ch === d.component) rep = "S";
    else if (ch === d.subcomponent) rep = "T";
    else if (ch === d.repetition) rep = "R";
    else if (d.truncation !== undefined && ch === d.truncation) rep = "P";
    else if (ch === "\r") rep = "X0D";
    else if (ch === "\n") rep = "X0A";
    if (rep !== undefined) {
      out += value.slice(last, i) + d.escape + rep + d.escape;
      last = i + 1;
    }
  }
  return last === 0 ? value : out + value.slice(last);
}
