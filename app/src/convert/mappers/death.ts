import type { Condition, Observation, Procedure, Reference } from "fhir/r4";
import type { Hl7Segment } from "../../hl7";
import type { Conv } from "../context";
import { cweToConcept, v } from "../datatypes";
import { makeId } from "../ids";
import { SEEDS } from "../seeds";
import { plLocation } from "./location";
import { practitionersOfField } from "./practitioner";

// FHIR-Converter's own code systems for these facts (Resource/_Observation and _Procedure.liquid, PDA branches).
const OBS_CODE = "http://example.com/v2-to-fhir-converter/CodeSystem/observation-code";
const PROC_CODE = "http://example.com/v2-to-fhir-converter/CodeSystem/procedure-code";
const YES_NO = "http://terminology.hl7.org/CodeSystem/v2-0136";

function yesNo(flag: string | undefined): Observation["valueCodeableConcept"] | undefined {
  return flag === "Y" || flag === "N" ? { coding: [{ system: YES_NO, code: flag, display: flag === "Y" ? "Yes" : "No" }] } : undefined;
}

function fact(c: Conv, seed: string | undefined, code: string, display: string, flag: string | undefined): void {
  const value = yesNo(flag);
  const id = makeId("Observation", seed);
  if (id === undefined || value === undefined) return;
  const o: Observation = { resourceType: "Observation", id, status: "final", code: { coding: [{ system: OBS_CODE, code, display }] }, subject: c.patientRef, valueCodeableConcept: value };
  c.add(o);
}

function proc(c: Conv, seed: string | undefined, code: string, display: string, who: Reference[], role: string): Procedure {
  const p: Procedure = {
    resourceType: "Procedure",
    id: makeId("Procedure", seed, c.patientId) as string,
    status: "completed",
    code: { coding: [{ system: PROC_CODE, code, display }] },
    subject: c.patientRef,
  };
  if (who.length > 0) p.performer = who.map((actor) => ({ function: { text: role }, actor }));
  return p;
}

/**
 * PDA (patient death and autopsy, ADT_A01.liquid): PDA-1 causes → Conditions, PDA-2 → Location, the
 * certification (PDA-3/4/5) and autopsy (PDA-6/7/8) → Procedure and Observation each, the coroner flag (PDA-9)
 * → Observation.
 */
export function deathAndAutopsy(c: Conv, pda: Hl7Segment, pid: Hl7Segment): Reference | undefined {
  const at = (field: number) => ({ segment: "PDA", field });
  for (const cause of pda.repetitions(1)) {
    const id = makeId("Condition", SEEDS.ConditionPda(cause), c.patientId);
    const code = cweToConcept(cause);
    if (id === undefined || code === undefined) continue;
    const cond: Condition = { resourceType: "Condition", id, code, subject: c.patientRef };
    c.add(cond);
  }
  const where = plLocation(c, pda.repetitions(2)[0]);
  const pid3 = pid.repetitions(3)[0];
  const signed = v(pda.get(4, 1, 1));
  const certifier = v(pda.get(5, 1, 1));
  if (signed !== undefined && certifier !== undefined) {
    const p = proc(c, SEEDS.ProcedurePda(pid3, pda, "death"), "death-certification", "Death Certification", practitionersOfField(c, pda, 5), "Death Certified By");
    p.performedDateTime = c.dateTime(signed, at(4));
    c.add(p);
  }
  const autopsy = pda.field(7);
  const pathologist = v(pda.get(8, 1, 1));
  if (autopsy !== undefined && pathologist !== undefined) {
    const p = proc(c, SEEDS.ProcedurePda(pid3, pda, "autopsy"), "autopsy-performed", "Autopsy Performed", practitionersOfField(c, pda, 8), "Autopsy Performed By");
    const start = v(pda.get(7, 1, 1));
    const end = v(pda.get(7, 1, 2));
    if (start !== undefined || end !== undefined) {
      p.performedPeriod = {};
      if (start !== undefined) p.performedPeriod.start = c.dateTime(start, at(7));
      if (end !== undefined) p.performedPeriod.end = c.dateTime(end, at(7));
    }
    c.add(p);
  }
  fact(c, SEEDS.ObservationPda(pda, "death"), "death-certificate", "Death Certificate", v(pda.get(3)));
  fact(c, SEEDS.ObservationPda(pda, "autopsy"), "autopsy", "Autopsy", v(pda.get(6)));
  fact(c, SEEDS.ObservationPda(pda, "coroner"), "coroner", "Coroner", v(pda.get(9)));
  return where;
}
