import type { Organization, Reference } from "fhir/r4";
import type { Hl7Node } from "../../hl7";
import type { Conv } from "../context";
import { hdToSystem, v } from "../datatypes";
import { makeSharedId } from "../ids";
import { SEEDS } from "../seeds";

/** HD (MSH-4, MSH-6, PV1-39 …) → Organization named by HD-1, identified by its universal id. */
export function organizationFromHd(c: Conv, hd: Hl7Node | undefined): Reference | undefined {
  if (hd === undefined) return undefined;
  const id = makeSharedId("Organization", SEEDS.OrganizationHd(hd));
  if (id === undefined) return undefined;
  const org: Organization = { resourceType: "Organization", id };
  const ns = v(hd.get(1));
  const uid = v(hd.get(2));
  if (ns !== undefined) org.name = ns;
  const system = uid !== undefined ? hdToSystem(undefined, uid, v(hd.get(3)), c.ctx) : undefined;
  if (system !== undefined) org.identifier = [{ system: "urn:ietf:rfc:3986", value: system }];
  if (org.name === undefined && org.identifier === undefined) org.name = hd.value;
  return c.add(org);
}

/** XON (PD1-3, IN1-4, ROL-14, OBX-23) → Organization named by XON-1. */
export function organizationFromXon(c: Conv, xon: Hl7Node | undefined, extra?: Partial<Organization>): Reference | undefined {
  if (xon === undefined) return undefined;
  const id = makeSharedId("Organization", SEEDS.OrganizationXon(xon));
  if (id === undefined) return undefined;
  const org: Organization = { resourceType: "Organization", id, ...extra };
  const name = v(xon.get(1));
  if (name !== undefined) org.name = name;
  const x10 = v(xon.get(10)) ?? v(xon.get(3));
  if (x10 !== undefined && org.identifier === undefined) {
    const system = hdToSystem(v(xon.get(6, 1)), v(xon.get(6, 2)), v(xon.get(6, 3)), c.ctx);
    org.identifier = [{ value: x10, ...(system !== undefined ? { system } : {}) }];
  }
  if (org.name === undefined && org.identifier === undefined) org.name = xon.value;
  return c.add(org);
}

/**
 * Assigning authorities and facilities as Organizations: wherever a template finds an HD component (CX-4,
 * XCN-9) with all three of namespace, universal id and its type, it writes an Organization keyed
 * `HD.1,HD.2` (ID/_Organization.liquid, HDORG). Rows: segment, field, HD component, every repetition or the
 * first (ADT_A01.liquid loops over PID-3, PV1-50, NK1-33, DB1-3, IN1-3/10/49, ROL-4 and OBX-16 only).
 */
const AUTHORITIES: readonly [string, number, number, boolean][] = [
  ["PID", 2, 4, false], ["PID", 3, 4, true], ["PID", 4, 4, false], ["PID", 18, 4, false], ["PID", 21, 4, false],
  ["PD1", 4, 9, false],
  ["PV1", 5, 4, false], ["PV1", 19, 4, false], ["PV1", 7, 9, false], ["PV1", 8, 9, false], ["PV1", 9, 9, false],
  ["PV1", 17, 9, false], ["PV1", 50, 4, true], ["PV1", 52, 9, false], ["PV1", 54, 4, false],
  ["PV2", 13, 9, false], ["EVN", 5, 9, false], ["MRG", 1, 4, true],
  ["GT1", 2, 4, false], ["GT1", 19, 4, false], ["GT1", 29, 4, false],
  ["NK1", 12, 4, false], ["NK1", 33, 4, true], ["DB1", 3, 4, true],
  ["IN1", 3, 4, true], ["IN1", 10, 4, true], ["IN1", 49, 4, true], ["IN2", 1, 4, true], ["IN2", 61, 4, false],
  ["ROL", 4, 9, true], ["OBX", 16, 9, true], ["PR1", 8, 9, false], ["PR1", 11, 9, false], ["PR1", 12, 9, false],
];
/** Segments every template reads as "first segments" (the others only when the event reads them). */
const FIRST = new Set(["PID", "PD1", "PV1", "PV2", "EVN", "MRG"]);
/** The rows that apply to an event (by its segment list), computed once per event row. */
const ROWS_BY_SEGMENTS = new WeakMap<readonly string[], typeof AUTHORITIES>();

export function authorityOrganizations(c: Conv, only?: ReadonlySet<string>): void {
  let rows = ROWS_BY_SEGMENTS.get(c.rule.segments);
  if (rows === undefined) {
    rows = AUTHORITIES.filter(([name]) => FIRST.has(name) || c.rule.segments.includes(name as never));
    ROWS_BY_SEGMENTS.set(c.rule.segments, rows);
  }
  for (const [name, field, comp, everyRep] of rows) {
    if (only !== undefined && !only.has(name)) continue;
    const all = c.msg.segmentsNamed(name);
    // PID, PD1, PV1, PV2 and EVN are read as the template's first segments; MRG and the others, every one.
    const count = FIRST.has(name) && name !== "MRG" ? Math.min(all.length, 1) : all.length;
    for (let i = 0; i < count; i++) {
      const seg = all[i];
      if (seg.field(field) === undefined) continue;
      const reps = seg.repetitions(field);
      for (let r = 0; r < (everyRep ? reps.length : Math.min(reps.length, 1)); r++) {
        const rep = reps[r];
        const type = v(rep.get(comp, 3));
        if (type === undefined) continue;
        const ns = v(rep.get(comp, 1));
        const uid = v(rep.get(comp, 2));
        if (ns === undefined || uid === undefined) continue;
        const id = makeSharedId("Organization", SEEDS.OrganizationAuthority(ns, uid)) as string;
        const org: Organization = { resourceType: "Organization", id, name: ns };
        const system = hdToSystem(undefined, uid, type, c.ctx);
        if (system !== undefined) org.identifier = [{ system: "urn:ietf:rfc:3986", value: system }];
        c.add(org);
      }
    }
  }
}

/**
 * Organizations named by XON fields: GT1-21 (guarantor organization), GT1-51 (guarantor's employer), NK1-13
 * (next of kin that is an organization), IN1-11 (insured's group employer), as ADT_A01.liquid writes them.
 */
const XON_FIELDS: readonly [string, number][] = [["GT1", 21], ["GT1", 51], ["NK1", 13], ["IN1", 11]];

export function xonOrganizations(c: Conv): void {
  for (const [name, field] of XON_FIELDS) {
    if (!c.rule.segments.includes(name as never)) continue;
    for (const seg of c.msg.segmentsNamed(name)) organizationFromXon(c, seg.repetitions(field)[0]);
  }
}
