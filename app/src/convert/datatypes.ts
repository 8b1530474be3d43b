import type { Address, CodeableConcept, Coding, ContactPoint, HumanName, Identifier, Period } from "fhir/r4";
import type { Hl7Node } from "../hl7";
import {
  ADDRESS_TYPE,
  ADDRESS_USE,
  CODE_SYSTEM,
  ID_TYPE_DISPLAY,
  NAME_USE,
  TELECOM_SYSTEM,
  TELECOM_USE,
  lookup,
} from "./codes";
import { toFhirDateTime, type FieldRef } from "./datetime";

/** Settings the data-type mappers need. */
export interface MapContext {
  /** Zone for HL7 times without an offset: "Z", ±hh:mm, or an IANA time-zone name. */
  defaultOffset: string;
  /** Base of identifier systems built from a local assigning authority name (FHIR-Converter's default). */
  identifierSystemBase: string;
}

/** HL7 explicit null `""` and empty values both mean "nothing to map". */
export function v(x: string | undefined): string | undefined {
  return x === undefined || x === '""' ? undefined : x;
}

/**
 * A value usable as a FHIR `code` (no leading/trailing whitespace, single inner spaces), or undefined.
 * Codes come straight from HL7 fields, where stray spaces are common.
 */
export function code(x: string | undefined): string | undefined {
  const t = v(x);
  if (t === undefined) return undefined;
  if (!/\s/.test(t)) return t;
  const c = t.trim().replace(/\s+/g, " ");
  return c.length > 0 ? c : undefined;
}

function compact<T>(xs: (T | undefined)[]): T[] {
  const out: T[] = [];
  for (const x of xs) if (x !== undefined) out.push(x);
  return out;
}

/**
 * HD (namespace ^ universal id ^ universal id type) → identifier system, as FHIR-Converter's _HDUri: ISO/CLIA/CLIP
 * → urn:oid, UUID/GUID → urn:uuid, otherwise the namespace under `identifierSystemBase`.
 */
export function hdToSystem(ns: string | undefined, uid: string | undefined, uidType: string | undefined, ctx: MapContext): string | undefined {
  const t = uidType?.toUpperCase();
  // A malformed OID/UUID would make an invalid uri; such an id falls through to the name-based system.
  if (uid !== undefined && (t === "ISO" || t === "CLIA" || t === "CLIP") && OID_RE.test(uid)) return `urn:oid:${uid}`;
  if (uid !== undefined && (t === "UUID" || t === "GUID") && UUID_RE.test(uid)) return `urn:uuid:${uid.toLowerCase()}`;
  const name = ns ?? uidType;
  if (name === undefined || name.trim().length === 0) return undefined;
  return ctx.identifierSystemBase + encodeURIComponent(name.trim().replace(/\s+/g, "-"));
}

const OID_RE = /^[0-2](\.(0|[1-9]\d{0,30})){1,60}$/;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function period(start: string | undefined, end: string | undefined, at: FieldRef, ctx: MapContext): Period | undefined {
  const s = v(start);
  const e = v(end);
  if (s === undefined && e === undefined) return undefined;
  const p: Period = {};
  if (s !== undefined) p.start = toFhirDateTime(s, at, ctx.defaultOffset);
  if (e !== undefined) p.end = toFhirDateTime(e, at, ctx.defaultOffset);
  return p;
}

/** CX repetition → Identifier (undefined without CX-1). */
export function cxToIdentifier(cx: Hl7Node, at: FieldRef, ctx: MapContext): Identifier | undefined {
  const value = v(cx.get(1));
  // A blank id (e.g. "^ ^") identifies nothing, and FHIR strings must hold non-whitespace.
  if (value === undefined || value.trim().length === 0) return undefined;
  const id: Identifier = { value };
  const system = hdToSystem(v(cx.get(4, 1)), v(cx.get(4, 2)), v(cx.get(4, 3)), ctx);
  if (system !== undefined) id.system = system;
  const type = code(cx.get(5));
  if (type !== undefined) {
    const coding: Coding = { system: "http://terminology.hl7.org/CodeSystem/v2-0203", code: type };
    const display = lookup(ID_TYPE_DISPLAY, type);
    if (display !== undefined) coding.display = display;
    id.type = { coding: [coding] };
  }
  const p = period(cx.get(7), cx.get(8), at, ctx);
  if (p !== undefined) id.period = p;
  return id;
}

/**
 * XPN repetition → HumanName (DataType/_XPN.liquid): XPN-15 ("called by") joins the given names when XPN-7 makes
 * the name the usual one, and XPN-14 (professional suffix) the suffixes.
 */
export function xpnToName(x: Hl7Node): HumanName | undefined {
  const family = v(x.get(1, 1));
  const use = lookup(NAME_USE, x.get(7));
  const given = compact([v(x.get(2)), v(x.get(3)), use === "usual" ? v(x.get(15)) : undefined]);
  if (family === undefined && given.length === 0) return undefined;
  const n: HumanName = {};
  if (family !== undefined) n.family = family;
  if (given.length > 0) n.given = given;
  const suffix = compact([v(x.get(4)), v(x.get(6)), v(x.get(14))]);
  if (suffix.length > 0) n.suffix = suffix;
  const prefix = v(x.get(5));
  if (prefix !== undefined) n.prefix = [prefix];
  if (use !== undefined) n.use = use;
  return n;
}

/** XCN repetition (person with id) → HumanName of components 2..6. */
export function xcnToName(x: Hl7Node): HumanName | undefined {
  const family = v(x.get(2, 1));
  const given = compact([v(x.get(3)), v(x.get(4))]);
  if (family === undefined && given.length === 0) return undefined;
  const n: HumanName = {};
  if (family !== undefined) n.family = family;
  if (given.length > 0) n.given = given;
  const suffix = compact([v(x.get(5)), v(x.get(7))]); // suffix, then degree (e.g. MD)
  if (suffix.length > 0) n.suffix = suffix;
  const prefix = v(x.get(6));
  if (prefix !== undefined) n.prefix = [prefix];
  return n;
}

/** XAD repetition → Address. Values are not trimmed (FHIR-Converter parity). */
export function xadToAddress(x: Hl7Node): Address | undefined {
  const line = compact([v(x.get(1, 1)), v(x.get(1, 2)), v(x.get(1, 3)), v(x.get(2)), v(x.get(19))]);
  const a: Address = {};
  if (line.length > 0) a.line = line;
  const city = v(x.get(3));
  if (city !== undefined) a.city = city;
  const state = v(x.get(4));
  if (state !== undefined) a.state = state;
  const postal = v(x.get(5));
  if (postal !== undefined) a.postalCode = postal;
  const country = v(x.get(6));
  if (country !== undefined) a.country = country;
  const district = v(x.get(9));
  if (district !== undefined) a.district = district;
  if (Object.keys(a).length === 0) return undefined;
  const t = x.get(7);
  if (t !== undefined) {
    const use = lookup(ADDRESS_USE, t);
    if (use !== undefined) a.use = use;
    const type = lookup(ADDRESS_TYPE, t);
    if (type !== undefined) a.type = type;
  }
  return a;
}

/**
 * XTN repetition → ContactPoint. Value: XTN-12 (unformatted), XTN-4 for e-mail, else XTN-1, else built from
 * XTN-5..8. FHIR-Converter (DataType/_XTN.liquid) takes XTN-1 only when XTN-7 and XTN-12 are both empty, so a
 * v2.5-style number (XTN-6/7 set, XTN-12 empty) loses its XTN-1 text (microsoft/FHIR-Converter#462):
 * `converterDrops` reproduces that (convert-data), otherwise the number is kept.
 */
export function xtnToContactPoint(x: Hl7Node, defaultUse: ContactPoint["use"], converterDrops = false): ContactPoint | undefined {
  const equip = v(x.get(3));
  const email = v(x.get(4));
  let system = equip !== undefined ? lookup(TELECOM_SYSTEM, equip) : undefined;
  let value = v(x.get(12));
  if (value === undefined && email !== undefined && (system === "email" || system === undefined)) {
    value = email;
    system = "email";
  }
  const dropped = converterDrops && value === undefined && v(x.get(7)) !== undefined;
  if (!dropped) value ??= v(x.get(1));
  if (value === undefined && !dropped) {
    const area = v(x.get(6));
    const local = v(x.get(7));
    const ext = v(x.get(8));
    if (local !== undefined) value = `${area !== undefined ? `(${area}) ` : ""}${local}${ext !== undefined ? ` x${ext}` : ""}`;
  }
  if (dropped) {
    // What $convert-data keeps: the use and equipment type, without a number.
    const use = equip === "CP" ? "mobile" : lookup(TELECOM_USE, v(x.get(2)));
    if (system === undefined && use === undefined) return undefined;
    return { ...(system !== undefined ? { system } : {}), ...(use !== undefined ? { use } : {}) };
  }
  if (value === undefined) return undefined;
  const cp: ContactPoint = { system: system ?? "phone", value };
  const useCode = v(x.get(2));
  const use = equip === "CP" ? "mobile" : useCode !== undefined ? lookup(TELECOM_USE, useCode) : undefined;
  if (use !== undefined) cp.use = use;
  else if (defaultUse !== undefined && useCode === undefined) cp.use = defaultUse;
  const rank = v(x.get(18));
  if (rank !== undefined && /^[1-9]\d{0,8}$/.test(rank)) cp.rank = Number(rank);
  return cp;
}

function codeSystem(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const known = lookup(CODE_SYSTEM, name);
  if (known !== undefined) return known;
  const m = /^HL7(\d{4})$/.exec(name);
  return m !== null ? `http://terminology.hl7.org/CodeSystem/v2-${m[1]}` : undefined;
}

function coding(rawCode: string | undefined, display: string | undefined, system: string | undefined): Coding | undefined {
  const c0 = code(rawCode);
  if (c0 === undefined && display === undefined) return undefined;
  const c: Coding = {};
  const sys = codeSystem(system);
  if (sys !== undefined) c.system = sys;
  if (c0 !== undefined) c.code = c0;
  if (display !== undefined) c.display = display;
  return c;
}

/** CWE/CE/CNE repetition → CodeableConcept (primary and alternate coding; CWE-9 original text). */
export function cweToConcept(x: Hl7Node, defaultSystem?: string): CodeableConcept | undefined {
  const primary = coding(v(x.get(1)), v(x.get(2)), v(x.get(3)) ?? defaultSystem);
  const alt = coding(v(x.get(4)), v(x.get(5)), v(x.get(6)));
  const cc: CodeableConcept = {};
  const codings = compact([primary, alt]);
  if (codings.length > 0) cc.coding = codings;
  const text = v(x.get(9));
  if (text !== undefined) cc.text = text;
  return codings.length > 0 || text !== undefined ? cc : undefined;
}
