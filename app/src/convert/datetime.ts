import { ConversionError } from "./errors";

/** Where a value came from, for PHI-free error messages. */
export interface FieldRef {
  segment: string;
  field: number;
}

interface Dtm {
  y: string;
  mo?: string;
  d?: string;
  h?: string;
  mi?: string;
  s?: string;
  frac?: string;
  /** "+hh:mm" / "-hh:mm" / "Z", as given in the message. */
  offset?: string;
}

// HL7 DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]. Fixed-width groups, so no catastrophic backtracking;
// the length is also checked before matching.
const DTM_RE = /^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?)?)?)?)?([+-]\d{4})?$/;

function parseDtm(value: string, at: FieldRef): Dtm {
  const m = value.length <= 24 ? DTM_RE.exec(value) : null;
  if (m === null) throw bad(at, "is not a valid HL7 date/time (YYYY[MM[DD[HH[MM[SS[.SSSS]]]]]][+/-ZZZZ])");
  const [, y, mo, d, h, mi, s, frac, off] = m;
  if (mo !== undefined && (+mo < 1 || +mo > 12)) throw bad(at, "has a month out of range");
  if (d !== undefined && (+d < 1 || +d > daysInMonth(+y, +mo))) throw bad(at, "has a day out of range");
  if (h !== undefined && +h > 23) throw bad(at, "has an hour out of range");
  if (mi !== undefined && +mi > 59) throw bad(at, "has minutes out of range");
  if (s !== undefined && +s > 59) throw bad(at, "has seconds out of range");
  let offset: string | undefined;
  if (off !== undefined) {
    const oh = +off.slice(1, 3);
    const om = +off.slice(3, 5);
    if (oh > 14 || om > 59) throw bad(at, "has a time-zone offset out of range");
    offset = oh === 0 && om === 0 ? "Z" : `${off[0]}${off.slice(1, 3)}:${off.slice(3, 5)}`;
  }
  return { y, mo, d, h, mi, s, frac, offset };
}

function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function bad(at: FieldRef, what: string): ConversionError {
  return new ConversionError(`value ${what}`, { code: "102", segment: at.segment, field: at.field });
}

/**
 * HL7 DTM → FHIR dateTime, keeping the precision (YYYY, YYYY-MM, YYYY-MM-DD) and the offset. FHIR requires
 * seconds and an offset once a time is present, so hour- or minute-precision times are padded to seconds
 * (as FHIR-Converter does) and an offset-less time gets `defaultOffset` (the sending facility's zone; UTC
 * by default, never the converter host's zone).
 */
export function toFhirDateTime(value: string, at: FieldRef, defaultOffset: string): string {
  const t = parseDtm(value, at);
  if (t.mo === undefined) return t.y;
  if (t.d === undefined) return `${t.y}-${t.mo}`;
  const date = `${t.y}-${t.mo}-${t.d}`;
  if (t.h === undefined) return date;
  return `${date}T${t.h}:${t.mi ?? "00"}:${t.s ?? "00"}${t.frac !== undefined ? `.${t.frac}` : ""}${t.offset ?? defaultOffset}`;
}

/** HL7 DTM → FHIR date (at most day precision); also returns whether a time part was present. */
export function toFhirDate(value: string, at: FieldRef): { date: string; hasTime: boolean } {
  const t = parseDtm(value, at);
  const date = t.mo === undefined ? t.y : t.d === undefined ? `${t.y}-${t.mo}` : `${t.y}-${t.mo}-${t.d}`;
  return { date, hasTime: t.h !== undefined };
}

/** HL7 DTM → FHIR instant (always to the second with an offset; missing parts padded). */
export function toFhirInstant(value: string, at: FieldRef, defaultOffset: string): string {
  const t = parseDtm(value, at);
  return (
    `${t.y}-${t.mo ?? "01"}-${t.d ?? "01"}T${t.h ?? "00"}:${t.mi ?? "00"}:${t.s ?? "00"}` +
    `${t.frac !== undefined ? `.${t.frac}` : ""}${t.offset ?? defaultOffset}`
  );
}

/** Checks an offset option such as "Z", "+01:00" or "-05:00". */
export function checkOffset(offset: string): string {
  if (offset === "Z" || /^[+-](0\d|1[0-4]):[0-5]\d$/.test(offset)) return offset;
  throw new TypeError(`Invalid defaultOffset "${offset}": expected "Z" or ±hh:mm`);
}
