import { Hl7ParseError } from "./errors";
import { escapeHl7, unescapeHl7 } from "./escape";
import { Hl7Node } from "./node";
import { Hl7Segment } from "./segment";
import { encodingCharacters, type Hl7Delimiters } from "./types";

/**
 * Zero-dependency HL7 v2 parser: parseHl7 checks the framing and delimiters and splits the message into
 * segments (segment.ts); each segment is scanned once, on first use (layout.ts); nodes (node.ts) read from it.
 */
export { Hl7Node, Hl7Segment };

interface ParsedPath {
  seg: string;
  occurrence: number;
  field: number;
  rep: number;
  comp: number;
  sub: number;
}

const PATH_RE = /^([A-Z][A-Z0-9]{2})(?:\[(\d{1,4})\])?-(\d{1,4})(?:\[(\d{1,4})\])?(?:\.(\d{1,4})(?:\.(\d{1,4}))?)?$/;
const pathCache = new Map<string, ParsedPath>();

function parsePath(path: string): ParsedPath {
  let p = pathCache.get(path);
  if (p !== undefined) return p;
  const m = PATH_RE.exec(path);
  if (m === null) throw new TypeError(`Invalid HL7 path "${path}": expected e.g. PID-3, PID-3[2].4.2 or OBX[2]-5`);
  p = {
    seg: m[1],
    occurrence: m[2] ? Number(m[2]) : 1,
    field: Number(m[3]),
    rep: m[4] ? Number(m[4]) : 1,
    comp: m[5] ? Number(m[5]) : 0,
    sub: m[6] ? Number(m[6]) : 0,
  };
  if (p.occurrence < 1 || p.field < 1 || p.rep < 1 || (m[5] && p.comp < 1) || (m[6] && p.sub < 1)) {
    throw new TypeError(`Invalid HL7 path "${path}": indexes are 1-based`);
  }
  if (pathCache.size < 1000) pathCache.set(path, p);
  return p;
}

export class Hl7Message {
  private readonly byName = new Map<string, Hl7Segment[]>();

  constructor(
    readonly segments: readonly Hl7Segment[],
    readonly delimiters: Hl7Delimiters,
  ) {
    for (const s of segments) {
      const list = this.byName.get(s.name);
      if (list === undefined) this.byName.set(s.name, [s]);
      else list.push(s);
    }
  }

  /** Normalised message text: the segments joined with CR (the HL7 segment terminator). */
  get raw(): string {
    return this.segments.map((s) => s.raw).join("\r");
  }

  /** First segment with this id. */
  segment(name: string): Hl7Segment | undefined {
    return this.byName.get(name)?.[0];
  }

  segmentsNamed(name: string): readonly Hl7Segment[] {
    return this.byName.get(name) ?? [];
  }

  /**
   * 1-based accessor: `MSH-10`, `PID-3[2].4.2` (field 3, repetition 2, component 4, subcomponent 2),
   * `OBX[2]-5` (second OBX). Returns the unescaped value or undefined when absent or empty.
   */
  get(path: string): string | undefined {
    const p = parsePath(path);
    const seg = this.byName.get(p.seg)?.[p.occurrence - 1];
    return seg === undefined ? undefined : seg.get(p.field, p.rep, p.comp, p.sub);
  }

  private get msh(): Hl7Segment {
    return this.segments[0];
  }

  /** MSH-10 message control id. */
  get controlId(): string | undefined { return this.msh.get(10); }
  /** MSH-9.1 message code, e.g. "ADT". */
  get messageType(): string | undefined { return this.msh.get(9, 1, 1); }
  /** MSH-9.2 trigger event, e.g. "A01". */
  get triggerEvent(): string | undefined { return this.msh.get(9, 1, 2); }
  /** MSH-9.3 message structure, e.g. "ADT_A01" (informative only; routing uses 9.1/9.2). */
  get messageStructure(): string | undefined { return this.msh.get(9, 1, 3); }
  /** MSH-12.1 version id, e.g. "2.5.1". */
  get version(): string | undefined { return this.msh.get(12, 1, 1); }
  /** MSH-11.1 processing id (P, T or D). */
  get processingId(): string | undefined { return this.msh.get(11, 1, 1); }
  /** MSH-7 date/time of message, as sent. */
  get timestamp(): string | undefined { return this.msh.get(7, 1, 1); }
  /** Raw MSH-3 (HD, still escaped in this message's delimiters). */
  get sendingApplicationRaw(): string { return this.msh.fieldRaw(3); }
  get sendingFacilityRaw(): string { return this.msh.fieldRaw(4); }
  get receivingApplicationRaw(): string { return this.msh.fieldRaw(5); }
  get receivingFacilityRaw(): string { return this.msh.fieldRaw(6); }
  /** MSH-3.1 / MSH-4.1 / MSH-5.1 / MSH-6.1, unescaped (system names, not PHI). */
  get sendingApplication(): string | undefined { return this.msh.get(3, 1, 1); }
  get sendingFacility(): string | undefined { return this.msh.get(4, 1, 1); }
  get receivingApplication(): string | undefined { return this.msh.get(5, 1, 1); }
  get receivingFacility(): string | undefined { return this.msh.get(6, 1, 1); }
}

// C0 controls other than TAB/CR/LF, and DEL: these never belong in an HL7 message body.
const JUNK_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
const SEGMENT_ID_RE = /^[A-Z][A-Z0-9]{2}$/;

/** Whether a line starts with a segment id (A-Z then two of A-Z/0-9) and has nothing else or a field after it. */
function isSegmentId(line: string): boolean {
  if (line.length < 3) return false;
  const a = line.charCodeAt(0);
  const b = line.charCodeAt(1);
  const c = line.charCodeAt(2);
  const upper = (x: number): boolean => x >= 65 && x <= 90;
  const alnum = (x: number): boolean => upper(x) || (x >= 48 && x <= 57);
  return upper(a) && alnum(b) && alnum(c);
}

/**
 * Parses one HL7 v2 message. Accepts CR, LF or CRLF segment terminators, a UTF-8 BOM, MLLP framing
 * (0x0B … 0x1C 0x0D) and surrounding whitespace. Throws Hl7ParseError (and nothing else) on malformed input.
 */
export function parseHl7(text: string): Hl7Message {
  if (typeof text !== "string") throw new Hl7ParseError("MSH", 0, "input is not text");
  let start = 0;
  let end = text.length;
  // Leading BOM, whitespace and MLLP start block, in any order they commonly appear.
  while (start < end) {
    const c = text.charCodeAt(start);
    if (c === 0xfeff || c === 0x0b || c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) start++;
    else break;
  }
  const framed = start > 0 && text.lastIndexOf("\u000b", start - 1) >= 0;
  const fs = text.indexOf("\u001c", start);
  if (fs >= 0) {
    // MLLP end block: only a CR and whitespace may follow it.
    for (let k = fs + 1; k < end; k++) {
      const c = text.charCodeAt(k);
      if (c !== 0x0d && c !== 0x0a && c !== 0x20 && c !== 0x09) {
        throw new Hl7ParseError("MSH", 0, "data after the MLLP end block (one message per input)");
      }
    }
    end = fs;
  } else if (framed) {
    throw new Hl7ParseError("MSH", 0, "MLLP frame has no end block (truncated message)");
  }
  while (end > start) {
    const c = text.charCodeAt(end - 1);
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) end--;
    else break;
  }
  const body = start === 0 && end === text.length ? text : text.slice(start, end);
  if (body.length === 0) throw new Hl7ParseError("MSH", 0, "empty message");
  if (!body.startsWith("MSH")) throw new Hl7ParseError("MSH", 0, "message does not start with an MSH segment");

  const d = readDelimiters(body);
  const junk = JUNK_RE.exec(body);
  if (junk !== null) throw locate(body, junk.index, d, "contains a control character (binary data?)");

  const lines = body.indexOf("\n") >= 0 ? body.split(/\r\n|\r|\n/) : body.split("\r");
  const segments: Hl7Segment[] = [];
  let offset = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const lineStart = offset;
    // Next line: past this one and its terminator (CR, LF or CRLF).
    offset += line.length + (body.charCodeAt(offset + line.length) === 0x0d && body.charCodeAt(offset + line.length + 1) === 0x0a ? 2 : 1);
    if (line.length === 0) continue;
    const ordinal = segments.length + 1;
    const name = line.length >= 3 ? line.slice(0, 3) : line;
    if (!isSegmentId(line) || (line.length > 3 && line[3] !== d.field)) {
      if (line.trim().length === 0) continue; // a whitespace-only line between segments
      throw new Hl7ParseError(`segment ${ordinal}`, 0, "segment id is missing, truncated or invalid");
    }
    if (name === "MSH" && ordinal > 1) {
      throw new Hl7ParseError(`segment ${ordinal}`, 0, "second MSH segment (one message per input)", "100");
    }
    // Scans read the caller's text (flat when it comes from I/O, while `body` may be a slice of it).
    segments.push(new Hl7Segment(name, line, ordinal, d, text, start + lineStart));
  }
  return new Hl7Message(segments, d);
}

function readDelimiters(body: string): Hl7Delimiters {
  if (body.length < 8) throw new Hl7ParseError("MSH", 2, "MSH segment is truncated before its encoding characters");
  const field = body[3];
  let encEnd = body.indexOf(field, 4);
  const eol = firstLineEnd(body);
  if (encEnd < 0 || encEnd > eol) encEnd = eol;
  const enc = body.slice(4, encEnd);
  if (!isDelimiterChar(field)) throw new Hl7ParseError("MSH", 1, "field separator must be a printable, non-alphanumeric character");
  if (enc.length < 4 || enc.length > 5) {
    throw new Hl7ParseError("MSH", 2, "encoding characters must be 4 characters (5 with the v2.7 truncation character)");
  }
  const all = field + enc;
  for (let i = 0; i < all.length; i++) {
    if (!isDelimiterChar(all[i])) throw new Hl7ParseError("MSH", 2, "encoding characters must be printable, non-alphanumeric characters");
    if (all.indexOf(all[i], i + 1) >= 0) throw new Hl7ParseError("MSH", 2, "delimiters must all be different");
  }
  return {
    field,
    component: enc[0],
    repetition: enc[1],
    escape: enc[2],
    subcomponent: enc[3],
    ...(enc.length === 5 ? { truncation: enc[4] } : {}),
  };
}

function firstLineEnd(s: string): number {
  const cr = s.indexOf("\r");
  const lf = s.indexOf("\n");
  if (cr < 0) return lf < 0 ? s.length : lf;
  return lf < 0 ? cr : Math.min(cr, lf);
}

function isDelimiterChar(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c <= 0x20 || c === 0x7f) return false;
  if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return false;
  return true;
}

/** Builds an error naming the segment and field that contain offset `pos` of `body`. */
function locate(body: string, pos: number, d: Hl7Delimiters, reason: string): Hl7ParseError {
  let lineStart = 0;
  let ordinal = 0;
  let i = 0;
  while (i <= pos) {
    const c = body.charCodeAt(i);
    if (c === 0x0d || c === 0x0a) {
      if (c === 0x0d && body.charCodeAt(i + 1) === 0x0a) i++;
      if (i + 1 - lineStart > 1) ordinal++;
      lineStart = i + 1;
    }
    i++;
  }
  ordinal++;
  const prefix = body.slice(lineStart, pos);
  const name = prefix.slice(0, 3);
  let fieldNo = prefix.split(d.field).length - 1;
  if (name === "MSH") fieldNo++;
  const segName = SEGMENT_ID_RE.test(name) ? name : `segment ${ordinal}`;
  return new Hl7ParseError(segName, fieldNo, reason);
}

/**
 * Re-encodes a parsed message with other delimiters: every leaf is unescaped and re-escaped, so the new text
 * parses to the same values. Used by property tests and fuzzers.
 */
export function reencodeHl7(msg: Hl7Message, to: Hl7Delimiters): string {
  const from = msg.delimiters;
  const lines: string[] = [];
  for (const seg of msg.segments) {
    const fields: string[] = [seg.name];
    const isMsh = seg.name === "MSH";
    const first = isMsh ? 3 : 1;
    if (isMsh) fields.push(encodingCharacters(to));
    for (let f = first; f <= seg.fieldCount; f++) {
      const reps = seg.fieldRaw(f).split(from.repetition);
      fields.push(
        reps
          .map((r) =>
            r
              .split(from.component)
              .map((c) =>
                c
                  .split(from.subcomponent)
                  .map((s) => escapeHl7(unescapeHl7(s, from), to))
                  .join(to.subcomponent),
              )
              .join(to.component),
          )
          .join(to.repetition),
      );
    }
    lines.push(fields.join(to.field));
  }
  return lines.join("\r");
}
