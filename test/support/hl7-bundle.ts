import { strict as assert } from "node:assert";
import type { Bundle, FhirResource } from "fhir/r4";

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
