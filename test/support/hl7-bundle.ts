import { strict as assert } from "node:assert";
import type { Bundle, FhirResource } from "fhir/r4";
import { loadAdtCorpus } from "../fixtures/hl7";

/** Every resource of `type` in a bundle, in entry order. */
export function all<T extends FhirResource>(b: Bundle, type: T["resourceType"]): T[] {
  return (b.entry ?? []).map((e) => e.resource).filter((r): r is T => r?.resourceType === type);
}

/** The only resource of `type`; fails the test when there is none or more than one. */
export function one<T extends FhirResource>(b: Bundle, type: T["resourceType"]): T {
  const rs = all<T>(b, type);
  assert.equal(rs.length, 1, `exactly one ${type}`);
  return rs[0];
}

/** An HL7 segment line from a sparse field map: `seg("PV1", { 2: "I", 19: "V1" })`. */
export function seg(name: string, fields: Record<number, string>): string {
  const max = Math.max(0, ...Object.keys(fields).map(Number));
  const parts = [name];
  for (let i = 1; i <= max; i++) parts.push(fields[i] ?? "");
  return parts.join("|");
}

/** The text of the corpus message whose file name contains `fragment`. */
export function corpusText(fragment: string): string {
  const m = loadAdtCorpus().find((x) => x.name.includes(fragment));
  assert.ok(m, `corpus has ${fragment}`);
  return m.text;
}

/** A small ADT message; `msh` keys are split positions, i.e. MSH-n is key n-1 (key 1 holds MSH-2). */
export function adtMessage(event: string, extra: string[] = [], msh: Record<number, string> = {}): string {
  return [
    seg("MSH", { 1: "^~\\&", 2: "APP", 3: "FAC", 4: "RCV", 5: "RCVFAC", 6: "20260101120000+0000", 8: `ADT^${event}`, 9: "CTL-9", 10: "P", 11: "2.5.1", ...msh }),
    "EVN||20260101120000+0000",
    "PID|1||MRN-5^^^HOSP&1.2.3&ISO^MR||ZZTESTNAME^Secret||19700101|M",
    ...extra,
  ].join("\r");
}
