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

// HL7 DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ], at most 24 characters. Read with a hand-written scanner
// (no regex match array, no backtracking): 4 to 14 digits in pairs after the year, a fraction of 1 to 4 digits only
// after the seconds, then an optional offset of exactly four digits.
function parseDtm(value: string, at: FieldRef): Dtm {
  const len = value.length;
  let i = 0;
  while (i < len && isDigit(value.charCodeAt(i))) i++;
  const digits = i;
  let fracStart = -1;
  if (digits === 14 && i < len && value.charCodeAt(i) === 46 /* . */) {
    let j = i + 1;
    while (j < len && isDigit(value.charCodeAt(j))) j++;
    const n = j - i - 1;
    if (n >= 1 && n <= 4) {
      fracStart = i + 1;
      i = j;
    }
  }
  const offStart = i;
  if (i < len) {
    const c = value.charCodeAt(i);
    if ((c === 43 || c === 45) && len - i === 5 && isDigit(value.charCodeAt(i + 1)) && isDigit(value.charCodeAt(i + 2)) &&
      isDigit(value.charCodeAt(i + 3)) && isDigit(value.charCodeAt(i + 4))) {
      i = len;
    }
  }
  if (len > 24 || i !== len || digits < 4 || digits > 14 || digits % 2 !== 0) {
    throw bad(at, "is not a valid HL7 date/time (YYYY[MM[DD[HH[MM[SS[.SSSS]]]]]][+/-ZZZZ])");
  }
  const y = value.slice(0, 4);
  const mo = digits >= 6 ? value.slice(4, 6) : undefined;
  const d = digits >= 8 ? value.slice(6, 8) : undefined;
  const h = digits >= 10 ? value.slice(8, 10) : undefined;
  const mi = digits >= 12 ? value.slice(10, 12) : undefined;
  const s = digits >= 14 ? value.slice(12, 14) : undefined;
  const frac = fracStart > 0 ? value.slice(fracStart, offStart) : undefined;
  const off = offStart < len ? value.slice(offStart) : undefined;
  if (y === "0000") throw bad(at, "has a year out of range");
  if (mo !== undefined && (+mo < 1 || +mo > 12)) throw bad(at, "has a month out of range");
  if (d !== undefined && (+d < 1 || +d > daysInMonth(+y, +(mo as string)))) throw bad(at, "has a day out of range");
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

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
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
  const mi = t.mi ?? "00";
  const s = t.s ?? "00";
  return `${date}T${t.h}:${mi}:${s}${t.frac !== undefined ? `.${t.frac}` : ""}${t.offset ?? zoneOffset(defaultOffset, t.y, t.mo, t.d, t.h, mi, s)}`;
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
  const [mo, d, h, mi, s] = [t.mo ?? "01", t.d ?? "01", t.h ?? "00", t.mi ?? "00", t.s ?? "00"];
  return `${t.y}-${mo}-${d}T${h}:${mi}:${s}${t.frac !== undefined ? `.${t.frac}` : ""}${t.offset ?? zoneOffset(defaultOffset, t.y, mo, d, h, mi, s)}`;
}

/** Checks an offset option such as "Z", "+01:00" or "-05:00". */
export function checkOffset(offset: string): string {
  if (offset === "Z" || /^[+-](0\d|1[0-4]):[0-5]\d$/.test(offset)) return offset;
  throw new TypeError(`Invalid defaultOffset "${offset}": expected "Z" or ±hh:mm`);
}

/** Checks an IANA time-zone name such as "America/New_York" (throws a TypeError naming it otherwise). */
export function checkTimeZone(zone: string): string {
  try {
    formatterFor(zone);
  } catch {
    throw new TypeError(`Invalid timeZone "${zone}": expected an IANA time-zone name such as "Europe/Paris"`);
  }
  return zone;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Offset of `zone` (in minutes east of UTC) at the instant `utcMs`. */
function offsetMinutesAt(zone: string, utcMs: number): number {
  const parts = formatterFor(zone).formatToParts(new Date(utcMs));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return Math.round((asUtc - (utcMs - (utcMs % 1000))) / 60000);
}

/**
 * Offset text for a local wall-clock time without one: `zone` is either a fixed offset ("Z", ±hh:mm) or an IANA
 * zone, in which case the offset in force at that local time is used (daylight saving included). A wall time that
 * does not exist (skipped by a spring-forward) or is ambiguous (repeated by a fall-back) gets the larger offset
 * of the two, i.e. the daylight-saving one.
 */
function zoneOffset(zone: string, y: string, mo: string, d: string, h: string, mi: string, s: string): string {
  const c = zone.charCodeAt(0);
  if (c === 90 /* Z */ || c === 43 /* + */ || c === 45 /* - */) return zone;
  const wall = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
  let off = offsetMinutesAt(zone, wall - offsetMinutesAt(zone, wall) * 60000);
  const off2 = offsetMinutesAt(zone, wall - off * 60000);
  if (off2 !== off) off = Math.max(off, off2);
  if (off === 0) return "Z";
  const a = Math.abs(off);
  return `${off < 0 ? "-" : "+"}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
}
