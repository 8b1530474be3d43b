import type { Procedure, Reference } from "fhir/r4";
import type { Hl7Segment } from "../../hl7";
import type { Conv } from "../context";
import { cweToConcept, v } from "../datatypes";
import { makeId } from "../ids";
import { SEEDS } from "../seeds";
import { eiIdentifier } from "./clinical";
import { plLocation } from "./location";
import { practitionersOfField } from "./practitioner";

const PERFORMER_FUNCTION: readonly [number, string, string][] = [
  [8, "PPRF", "primary performer"], // anesthesiologist is PR1-8 in v2.3; the template maps it as a performer
  [11, "SPRF", "secondary performer"], // surgeon
  [12, "PPRF", "primary performer"], // procedure practitioner
];

/** PR1 → Procedure (ID/_Procedure.liquid, base Patient) with its practitioners and location (PR1-23). */
export function procedure(c: Conv, pr1: Hl7Segment, encounter: Reference | undefined): void {
  const id = makeId("Procedure", SEEDS.Procedure(pr1), c.patientId);
  if (id === undefined) return;
  const p: Procedure = { resourceType: "Procedure", id, status: "completed", subject: c.patientRef };
  const codeRep = pr1.repetitions(3)[0];
  const code = codeRep !== undefined ? cweToConcept(codeRep) : undefined;
  const text = v(pr1.get(4));
  if (code !== undefined || text !== undefined) p.code = { ...(code ?? {}), ...(code?.text === undefined && text !== undefined ? { text } : {}) };
  const ident = eiIdentifier(c, pr1.repetitions(19)[0]);
  if (ident !== undefined) p.identifier = [ident];
  const when = v(pr1.get(5, 1, 1));
  if (when !== undefined) p.performedDateTime = c.dateTime(when, { segment: "PR1", field: 5 });
  if (encounter !== undefined) p.encounter = encounter;
  const performers: NonNullable<Procedure["performer"]> = [];
  for (const [field, fn, display] of PERFORMER_FUNCTION) {
    for (const actor of practitionersOfField(c, pr1, field)) {
      performers.push({ function: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", code: fn, display }] }, actor });
    }
  }
  if (performers.length > 0) p.performer = performers;
  const where = plLocation(c, pr1.repetitions(23)[0]);
  if (where !== undefined) p.location = where;
  // PR1-25 (v2.7+ procedure identifier): ADT_A01.liquid writes a Procedure known by it alone, keyed with the
  // base "Patient/<id>" (it passes the full reference); ours is the one this procedure is part of.
  const f25 = pr1.field(25);
  const idValue = v(pr1.get(25, 1, 1));
  const parentId = f25 !== undefined ? makeId("Procedure", SEEDS.ProcedureParent(f25), `Patient/${c.patientId}`) : undefined;
  if (parentId !== undefined && idValue !== undefined) {
    p.partOf = [c.add({ resourceType: "Procedure", id: parentId, status: "unknown", identifier: [{ value: idValue }], subject: c.patientRef })];
  }
  c.add(p);
}
