import type { AllergyIntolerance, AllergyIntoleranceReaction, CodeableConcept, Condition, Identifier, Reference, RelatedPerson } from "fhir/r4";
import type { Hl7Node, Hl7Segment } from "../../hl7";
import { ALLERGY_CATEGORY, ALLERGY_CRITICALITY, lookup } from "../codes";
import { type Conv, isDefined } from "../context";
import { cweToConcept, hdToSystem, v, xpnToName } from "../datatypes";
import { ConversionError } from "../errors";
import { makeId, makeSharedId } from "../ids";
import { SEEDS } from "../seeds";
import { practitioner, practitionersOfField } from "./practitioner";

const CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";

function allergyBase(c: Conv, seed: string): AllergyIntolerance {
  return {
    resourceType: "AllergyIntolerance",
    id: makeId("AllergyIntolerance", seed, c.patientId) as string,
    clinicalStatus: { coding: [{ system: CLINICAL, code: "active", display: "Active" }] },
    patient: c.patientRef,
  };
}

export function allergy(c: Conv, al1: Hl7Segment): void {
  const a = allergyBase(c, SEEDS.AllergyAl1(al1));
  const category = lookup(ALLERGY_CATEGORY, al1.get(2, 1, 1));
  if (category !== undefined) a.category = [category];
  const allergen = al1.repetitions(3)[0];
  const code = allergen !== undefined ? cweToConcept(allergen) : undefined;
  if (code !== undefined) a.code = code;
  const criticality = lookup(ALLERGY_CRITICALITY, al1.get(4, 1, 1));
  if (criticality !== undefined) a.criticality = criticality;
  const manifestations = al1.repetitions(5).map((x) => v(x.value)).filter(isDefined).map((text): CodeableConcept => ({ text }));
  const onset = v(al1.get(6, 1, 1));
  const onsetDt = onset !== undefined ? c.dateTime(onset, { segment: "AL1", field: 6 }) : undefined;
  if (manifestations.length > 0) a.reaction = [{ manifestation: manifestations, ...(onsetDt !== undefined ? { onset: onsetDt } : {}) }];
  else if (onsetDt !== undefined) a.onsetDateTime = onsetDt;
  c.add(a);
}

/** IAR segments after an IAM, up to the next IAM (the template's related-segment list). */
function reactionsOf(c: Conv, iam: Hl7Segment): Hl7Segment[] {
  const out: Hl7Segment[] = [];
  const segs = c.msg.segments;
  for (let i = iam.ordinal; i < segs.length; i++) {
    const s = segs[i];
    if (s.name === "IAM") break;
    if (s.name === "IAR") out.push(s);
  }
  return out;
}

const IAM_CLINICAL: Readonly<Record<string, string>> = Object.freeze(Object.assign(Object.create(null) as Record<string, string>, { A: "active", I: "inactive", R: "resolved" }));

/** A60 IAM (with its IAR reactions) → AllergyIntolerance (ADT_A60.liquid). */
export function allergyFromIam(c: Conv, iam: Hl7Segment): void {
  const a = allergyBase(c, SEEDS.AllergyIam(iam));
  const category = lookup(ALLERGY_CATEGORY, iam.get(2, 1, 1));
  if (category !== undefined) a.category = [category];
  const allergen = iam.repetitions(3)[0];
  const code = allergen !== undefined ? cweToConcept(allergen) : undefined;
  if (code !== undefined) a.code = code;
  const criticality = lookup(ALLERGY_CRITICALITY, iam.get(4, 1, 1));
  if (criticality !== undefined) a.criticality = criticality;
  const status = lookup(IAM_CLINICAL, iam.get(17, 1, 1));
  if (status !== undefined) a.clinicalStatus = { coding: [{ system: CLINICAL, code: status }] };
  const onset = v(iam.get(11, 1, 1));
  if (onset !== undefined) a.onsetDateTime = c.dateTime(onset, { segment: "IAM", field: 11 });
  const reported = v(iam.get(13, 1, 1));
  if (reported !== undefined) a.recordedDate = c.dateTime(reported, { segment: "IAM", field: 13 });
  const reactions: AllergyIntoleranceReaction[] = [];
  const direct = iam.repetitions(5).map((x) => cweToConcept(x)).filter(isDefined);
  if (direct.length > 0) reactions.push({ manifestation: direct });
  for (const iar of reactionsOf(c, iam)) {
    const m = iar.repetitions(1).map((x) => cweToConcept(x)).filter(isDefined);
    if (m.length === 0) continue;
    const r: AllergyIntoleranceReaction = { manifestation: m };
    const sev = iar.get(2, 1, 1);
    const severity = sev === "SV" ? "severe" : sev === "MO" ? "moderate" : sev === "MI" ? "mild" : undefined;
    if (severity !== undefined) r.severity = severity;
    reactions.push(r);
  }
  if (reactions.length > 0) a.reaction = reactions;
  const notes = c.segments("NTE").map((n) => v(n.get(3))).filter(isDefined);
  if (notes.length > 0) a.note = notes.map((text) => ({ text }));
  const recorder = practitionersOfField(c, iam, 23)[0];
  if (recorder !== undefined) a.recorder = recorder;
  const reporter = iamReporter(c, iam);
  if (reporter !== undefined) a.asserter = reporter;
  c.add(a);
}

/**
 * IAM-14 (reported by, XPN) with IAM-15 (relationship): a caregiver (CGV) is a Practitioner keyed on the name
 * (ID/_Practitioner.liquid, XPN), the patient (SEL) is the Patient, anyone else a RelatedPerson keyed on IAM-14
 * (ID/_RelatedPerson.liquid, IAM) with the Patient as base (ADT_A60.liquid).
 */
function iamReporter(c: Conv, iam: Hl7Segment): Reference | undefined {
  const who = iam.field(14);
  if (who === undefined) return undefined;
  const rel = v(iam.get(15, 1, 1));
  const name = iam.repetitions(14).map(xpnToName).find(isDefined);
  if (rel === "SEL") return c.patientRef;
  if (rel === "CGV") {
    const id = makeSharedId("Practitioner", SEEDS.PractitionerXpn(who));
    return id === undefined ? undefined : c.add({ resourceType: "Practitioner", id, ...(name !== undefined ? { name: [name] } : {}) });
  }
  const id = makeId("RelatedPerson", SEEDS.RelatedPersonIam(who), c.patientId);
  if (id === undefined) return undefined;
  const rp: RelatedPerson = { resourceType: "RelatedPerson", id, patient: c.patientRef };
  if (name !== undefined) rp.name = [name];
  const relationship = iam.repetitions(15)[0];
  const relCc = relationship !== undefined ? cweToConcept(relationship, "HL70063") : undefined;
  if (relCc !== undefined) rp.relationship = [relCc];
  return c.add(rp);
}

export function condition(c: Conv, dg1: Hl7Segment, encounter: Reference | undefined): Reference {
  const cond: Condition = {
    resourceType: "Condition",
    id: makeId("Condition", SEEDS.Condition(dg1), c.patientId) as string,
    category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/condition-category", code: "encounter-diagnosis", display: "Encounter Diagnosis" }] }],
    subject: c.patientRef,
  };
  const rep = dg1.repetitions(3)[0];
  const cc = rep !== undefined ? cweToConcept(rep) : undefined;
  const text = v(dg1.get(4));
  if (cc !== undefined || text !== undefined) cond.code = { ...(cc ?? {}), ...(cc?.text === undefined && text !== undefined ? { text } : {}) };
  if (encounter !== undefined) cond.encounter = encounter;
  const onset = v(dg1.get(5, 1, 1));
  if (onset !== undefined) cond.onsetDateTime = c.dateTime(onset, { segment: "DG1", field: 5 });
  const recorded = v(dg1.get(19, 1, 1));
  if (recorded !== undefined) cond.recordedDate = c.dateTime(recorded, { segment: "DG1", field: 19 });
  const diagId = eiIdentifier(c, dg1.repetitions(20)[0]);
  if (diagId !== undefined) cond.identifier = [diagId];
  // DG1-22 parent diagnosis: a Condition of its own, known by its identifier only (ADT_A01.liquid).
  const parent = dg1.field(22);
  const parentId = parent !== undefined ? makeId("Condition", SEEDS.ConditionParent(parent), c.patientId) : undefined;
  const parentIdent = eiIdentifier(c, parent);
  if (parentId !== undefined && parentIdent !== undefined) {
    c.add({ resourceType: "Condition", id: parentId, identifier: [parentIdent], subject: c.patientRef });
  }
  // DG1-16 diagnosing clinician (ADT_A01.liquid passes its first repetition).
  const clinician = dg1.repetitions(16)[0];
  const asserter = clinician !== undefined ? practitioner(c, clinician) : undefined;
  if (asserter !== undefined) cond.asserter = asserter;
  return c.add(cond);
}

/** EI (entity id ^ namespace ^ universal id ^ type) → Identifier; undefined without an id or an issuer. */
export function eiIdentifier(c: Conv, ei: Hl7Node | undefined): Identifier | undefined {
  if (ei === undefined) return undefined;
  const value = v(ei.get(1));
  const system = hdToSystem(v(ei.get(2)), v(ei.get(3)), v(ei.get(4)), c.ctx);
  if (value === undefined && system === undefined) return undefined;
  const id: Identifier = {};
  if (value !== undefined) id.value = value;
  if (system !== undefined) id.system = system;
  const type = v(ei.get(4));
  if (type !== undefined) id.type = { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v2-0301", code: type }] };
  return id;
}

export function requireObservationCode(obx: Hl7Segment): CodeableConcept {
  const codeRep = obx.repetitions(3)[0];
  const code = codeRep !== undefined ? cweToConcept(codeRep) : undefined;
  if (code === undefined) throw new ConversionError("required field missing (observation identifier)", { code: "101", segment: "OBX", field: 3 });
  return code;
}
