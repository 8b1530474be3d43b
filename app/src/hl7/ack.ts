import { randomBytes } from "node:crypto";
import { escapeHl7 } from "./escape";
import type { Hl7Message } from "./parser";
import { DEFAULT_DELIMITERS, encodingCharacters, type Hl7Delimiters } from "./types";

export type AckCode = "AA" | "AE" | "AR" | "CA" | "CE" | "CR";

export interface AckError {
  /** HL7 table 0357 code, e.g. "101" required field missing, "207" application internal error. */
  code: string;
  /**
   * Fixed, PHI-free reason (e.g. "PID-3: required field missing"). Callers must never pass field values here;
   * the text is escaped and placed in ERR-8 (user message).
   */
  text: string;
  /** Segment id of the error location, e.g. "PID". */
  segment?: string;
  /** 1-based field number of the error location. */
  field?: number;
}

export interface AckOptions {
  error?: AckError;
  now?: Date;
  /** MSH-10 of the ACK itself; a random 20-character id by default. */
  controlId?: string;
}

// HL7 table 0357 descriptions (v2.5.1), used for ERR-3.2.
const TABLE_0357: Record<string, string> = {
  "0": "Message accepted",
  "100": "Segment sequence error",
  "101": "Required field missing",
  "102": "Data type error",
  "103": "Table value not found",
  "104": "Value too long",
  "200": "Unsupported message type",
  "201": "Unsupported event code",
  "202": "Unsupported processing id",
  "203": "Unsupported version id",
  "204": "Unknown key identifier",
  "205": "Duplicate key identifier",
  "206": "Application record locked",
  "207": "Application internal error",
};

const SEGMENT_ID_RE = /^[A-Z][A-Z0-9]{2}$/;
const CODE_RE = /^\d{1,4}$/;

/**
 * Builds an HL7 acknowledgement for `message` (or for input that could not be parsed, when undefined):
 * sender and receiver swapped, the message's own delimiters and version, MSA echoing MSH-10, and an ERR
 * segment in the v2.5+ layout when `opts.error` is given. Segments end with CR.
 */
export function buildAck(message: Hl7Message | undefined, code: AckCode, opts: AckOptions = {}): string {
  const d: Hl7Delimiters = message?.delimiters ?? DEFAULT_DELIMITERS;
  const f = d.field;
  const msh = message?.segment("MSH");
  const raw = (n: number): string => msh?.fieldRaw(n) ?? "";
  const event = message?.triggerEvent;
  const version = raw(12) || "2.5.1";
  const controlId = opts.controlId !== undefined ? escapeHl7(opts.controlId, d) : randomBytes(10).toString("hex");
  const mshOut = [
    "MSH",
    encodingCharacters(d),
    raw(5), // sending application = their receiving application
    raw(6),
    raw(3),
    raw(4),
    hl7Timestamp(opts.now ?? new Date()),
    "",
    event !== undefined ? ["ACK", escapeHl7(event, d), "ACK"].join(d.component) : "ACK",
    controlId,
    raw(11) || "P",
    version,
  ].join(f);
  const msa = ["MSA", code, raw(10)].join(f);
  const segments = [mshOut, msa];
  if (opts.error !== undefined) segments.push(errSegment(opts.error, d, version));
  return segments.join("\r") + "\r";
}

function errSegment(e: AckError, d: Hl7Delimiters, version: string): string {
  const code = CODE_RE.test(e.code) ? e.code : "207";
  const seg = e.segment !== undefined && SEGMENT_ID_RE.test(e.segment) ? e.segment : "";
  const field = e.field !== undefined && Number.isInteger(e.field) && e.field > 0 ? String(e.field) : "";
  const c = d.component;
  const desc = TABLE_0357[code] ?? "";
  // ERR-2 error location (ERL): segment id ^ segment sequence ^ field position.
  const location = seg !== "" ? [seg, "1", field].join(c).replace(new RegExp(`${escapeRe(c)}+$`), "") : "";
  // ERR-3 HL7 error code (CWE): code ^ text ^ HL70357.
  const hl7Code = [code, escapeHl7(desc, d), "HL70357"].join(c);
  // Before v2.5 the location and code lived in ERR-1 (ELD); fill it too for older receivers.
  const legacy = isBefore25(version)
    ? [seg, seg !== "" ? "1" : "", field, [code, escapeHl7(desc, d), "HL70357"].join(d.subcomponent)].join(c)
    : "";
  return ["ERR", legacy, location, hl7Code, "E", "", "", "", escapeHl7(e.text, d)].join(d.field);
}

function isBefore25(version: string): boolean {
  const m = /^2\.(\d)/.exec(version);
  return m !== null && Number(m[1]) < 5;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** HL7 DTM in UTC with milliseconds and an explicit offset, e.g. 20260102030405.123+0000. */
export function hl7Timestamp(date: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, "0");
  return (
    `${p(date.getUTCFullYear(), 4)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}` +
    `${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}.${p(date.getUTCMilliseconds(), 3)}+0000`
  );
}
