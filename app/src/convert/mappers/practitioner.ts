import type { Practitioner, Reference } from "fhir/r4";
import type { Hl7Node, Hl7Segment } from "../../hl7";
import type { Conv } from "../context";
import { hdToSystem, v, xcnToName } from "../datatypes";
import { makeSharedId } from "../ids";
import { SEEDS } from "../seeds";

/** Practitioner from one XCN repetition, with the id from `seedNode` (the repetition, or the whole field). */
function practitionerFrom(c: Conv, xcn: Hl7Node, seedNode: Hl7Node, keepEmpty: boolean): Reference | undefined {
  const id = makeSharedId("Practitioner", SEEDS.Practitioner(seedNode));
  if (id === undefined) return undefined;
  const p: Practitioner = { resourceType: "Practitioner", id };
  const idValue = v(xcn.get(1));
  if (idValue !== undefined) {
    const system = hdToSystem(v(xcn.get(9, 1)), v(xcn.get(9, 2)), v(xcn.get(9, 3)), c.ctx);
    p.identifier = [{ value: idValue, ...(system !== undefined ? { system } : {}) }];
  }
  const name = xcnToName(xcn);
  if (name !== undefined) p.name = [name];
  if (!keepEmpty && p.identifier === undefined && p.name === undefined) return undefined;
  return c.add(p);
}

/** Practitioner from one XCN value (EVN-5, ROL-4 repetitions, OBX-16 repetitions): stable skips empty ones. */
export function practitioner(c: Conv, xcn: Hl7Node): Reference | undefined {
  return practitionerFrom(c, xcn, xcn, c.convertData);
}

/**
 * Practitioners named in an XCN field (PV1-7/8/9/17/52, PV2-13, PD1-4, PR1-8/11/12). The templates pass the
 * whole field, so convert-data makes one Practitioner keyed on the field text, repetitions and all, even when
 * every component is empty (ID/_Practitioner.liquid); stable makes one per non-empty repetition.
 */
export function practitionersOfField(c: Conv, seg: Hl7Segment, field: number): Reference[] {
  const f = seg.field(field);
  if (f === undefined) return [];
  if (c.convertData) {
    const first = seg.repetitions(field)[0] ?? f;
    const ref = practitionerFrom(c, first, f, true);
    return ref !== undefined ? [ref] : [];
  }
  const out: Reference[] = [];
  for (const rep of seg.repetitions(field)) {
    const ref = practitionerFrom(c, rep, rep, false);
    if (ref !== undefined) out.push(ref);
  }
  return out;
}
