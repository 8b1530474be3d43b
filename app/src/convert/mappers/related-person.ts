import type { Reference, RelatedPerson } from "fhir/r4";
import type { Hl7Segment } from "../../hl7";
import { GENDER, lookup } from "../codes";
import { type Conv, isDefined } from "../context";
import { cweToConcept, cxToIdentifier, v, xadToAddress, xpnToName, xtnToContactPoint } from "../datatypes";
import { toFhirDate } from "../datetime";
import { makeId } from "../ids";
import { SEEDS } from "../seeds";
import { nk1Telecom } from "./patient";

function related(c: Conv, seed: string | undefined): RelatedPerson | undefined {
  const id = makeId("RelatedPerson", seed, c.patientId);
  return id === undefined ? undefined : { resourceType: "RelatedPerson", id, patient: c.patientRef };
}

/** NK1 → RelatedPerson (the Patient.contact copy is made by the Patient mapper). */
export function relatedPersonFromNk1(c: Conv, nk1: Hl7Segment): void {
  const rp = related(c, SEEDS.RelatedPersonNk1(nk1));
  if (rp === undefined) return;
  const identifiers = [...nk1.repetitions(33), ...nk1.repetitions(12)]
    .map((x) => cxToIdentifier(x, { segment: "NK1", field: 33 }, c.ctx))
    .filter(isDefined);
  if (identifiers.length > 0) rp.identifier = identifiers;
  const rel = [nk1.repetitions(3)[0], nk1.repetitions(7)[0]].map((x) => (x !== undefined ? cweToConcept(x) : undefined)).filter(isDefined);
  if (rel.length > 0) rp.relationship = rel;
  const names = nk1.repetitions(2).map(xpnToName).filter(isDefined);
  if (names.length > 0) rp.name = names;
  const telecom = nk1Telecom(c, nk1);
  if (telecom.length > 0) rp.telecom = telecom;
  const addresses = nk1.repetitions(4).map(xadToAddress).filter(isDefined);
  if (addresses.length > 0) rp.address = addresses;
  const gender = lookup(GENDER, nk1.get(15, 1, 1));
  if (gender !== undefined) rp.gender = gender;
  const dob = v(nk1.get(16, 1, 1));
  if (dob !== undefined) rp.birthDate = toFhirDate(dob, { segment: "NK1", field: 16 }).date;
  c.add(rp);
}

/**
 * PID-21 (mother's identifier) → RelatedPerson, only when the message has no NK1 (ADT_A01.liquid); the
 * relationship is the mother's (v3 RoleCode MTH).
 */
export function relatedPersonFromPid21(c: Conv, pid: Hl7Segment): void {
  const rep = pid.repetitions(21)[0];
  if (rep === undefined || c.segments("NK1").length > 0) return;
  const rp = related(c, SEEDS.RelatedPersonPid(pid));
  if (rp === undefined) return;
  const ident = cxToIdentifier(rep, { segment: "PID", field: 21 }, c.ctx);
  if (ident !== undefined) rp.identifier = [ident];
  rp.relationship = [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/v3-RoleCode", code: "MTH", display: "mother" }] }];
  const maiden = pid.repetitions(6).map(xpnToName).find(isDefined);
  if (maiden !== undefined) rp.name = [{ ...maiden, use: "maiden" }];
  c.add(rp);
}

/** GT1 → the guarantor: the Patient itself when GT1-11 is SEL, else a RelatedPerson. */
export function guarantor(c: Conv, gt1: Hl7Segment): Reference | undefined {
  if (gt1.get(11, 1, 1) === "SEL") return c.patientRef;
  const rp = related(c, SEEDS.RelatedPersonGt1(gt1));
  if (rp === undefined) return undefined;
  const ids = gt1.repetitions(2).map((x) => cxToIdentifier(x, { segment: "GT1", field: 2 }, c.ctx)).filter(isDefined);
  if (ids.length > 0) rp.identifier = ids;
  const rel = gt1.repetitions(11)[0];
  const relCc = rel !== undefined ? cweToConcept(rel) : undefined;
  if (relCc !== undefined) rp.relationship = [relCc];
  const names = gt1.repetitions(3).map(xpnToName).filter(isDefined);
  if (names.length > 0) rp.name = names;
  const addresses = gt1.repetitions(5).map(xadToAddress).filter(isDefined);
  if (addresses.length > 0) rp.address = addresses;
  const telecom = gt1.repetitions(6).map((x) => xtnToContactPoint(x, "home", c.convertData)).filter(isDefined);
  if (telecom.length > 0) rp.telecom = telecom;
  return c.add(rp);
}

/**
 * IN1 → the insured as a RelatedPerson. The template skips it only for IN1-17 = SEL or an IN1-17 that is sent
 * empty, so an IN1 shorter than 17 fields still yields one (convert-data); stable needs a relationship.
 */
export function insured(c: Conv, in1: Hl7Segment): Reference | undefined {
  const rel = v(in1.get(17, 1, 1));
  if (rel === "SEL") return c.patientRef;
  if (rel === undefined && !(c.convertData && in1.fieldCount < 17)) return undefined;
  const rp = related(c, SEEDS.RelatedPersonIn1(in1));
  if (rp === undefined) return undefined;
  const rc = in1.repetitions(17)[0];
  const relCc = rc !== undefined ? cweToConcept(rc) : undefined;
  if (relCc !== undefined) rp.relationship = [relCc];
  const names = in1.repetitions(16).map(xpnToName).filter(isDefined);
  if (names.length > 0) rp.name = names;
  const addresses = in1.repetitions(19).map(xadToAddress).filter(isDefined);
  if (addresses.length > 0) rp.address = addresses;
  return c.add(rp);
}
