import type { ContactPoint, Identifier, Patient, PatientContact, Reference } from "fhir/r4";
import type { Hl7Node, Hl7Segment } from "../../hl7";
import { GENDER, MARITAL_STATUS, lookup } from "../codes";
import { type Conv, isDefined } from "../context";
import { code as codeOf, cweToConcept, cxToIdentifier, hdToSystem, v, xadToAddress, xpnToName, xtnToContactPoint } from "../datatypes";
import { toFhirDate, type FieldRef } from "../datetime";
import { ConversionError } from "../errors";
import { converterValue as cv, makeId } from "../ids";
import { SEEDS } from "../seeds";
import { organizationFromXon } from "./organization";
import { practitionersOfField } from "./practitioner";
import { applySecurity } from "./security";

const V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203";

/**
 * Patient id from a CX list (PID-3, MRG-1). convert-data: PID-3[0].1,PID-3[0].4 whatever the identifier type
 * (ID/_Patient.liquid, type 'First'; equal bare MRNs collide across facilities, microsoft/FHIR-Converter#243).
 * stable: the MR identifier when there is one, and the sending facility when CX-4 is empty.
 */
export function patientIdFor(c: Conv, reps: readonly Hl7Node[], where: FieldRef): string {
  let seed: string | undefined;
  if (reps.length > 0) {
    if (c.convertData) seed = SEEDS.PatientFirst(reps[0]);
    else {
      const rep = reps.find((r) => r.get(5) === "MR" && v(r.get(1)) !== undefined) ?? reps.find((r) => v(r.get(1)) !== undefined) ?? reps[0];
      seed = `${cv(rep.get(1))},${cv(v(rep.get(4)) ?? `MSH-4:${c.msh.get(4) ?? ""}`)}`;
    }
  }
  const id = makeId("Patient", seed);
  if (id === undefined) {
    throw new ConversionError("required field missing (patient identifier)", { code: "101", ...where });
  }
  return id;
}

export function patient(c: Conv, pid: Hl7Segment, id: string, contacts: boolean): Reference {
  const at = (field: number): FieldRef => ({ segment: "PID", field });
  const p: Patient = { resourceType: "Patient", id };
  const identifiers: Identifier[] = [];
  for (const f of [2, 3, 4]) {
    for (const rep of pid.repetitions(f)) {
      const ident = cxToIdentifier(rep, at(f), c.ctx);
      if (ident !== undefined) identifiers.push(ident);
    }
  }
  const ssn = v(pid.get(19));
  if (ssn !== undefined) {
    identifiers.push({ system: "http://hl7.org/fhir/sid/us-ssn", value: ssn, type: { coding: [{ system: V2_0203, code: "SB", display: "Social Beneficiary Identifier" }] } });
  }
  const dl = pid.repetitions(20)[0];
  if (dl !== undefined && v(dl.get(1)) !== undefined) {
    const system = hdToSystem(v(dl.get(2)), undefined, undefined, c.ctx);
    identifiers.push({
      value: dl.get(1) as string,
      ...(system !== undefined ? { system } : {}),
      type: { coding: [{ system: V2_0203, code: "DL", display: "Driver's license number" }] },
    });
  }
  // DB1 (disability) with DB1-2 = PT names the patient: its DB1-3 ids are the patient's (ADT_A01.liquid).
  for (const db1 of c.segments("DB1")) {
    if (db1.get(2, 1, 1) !== "PT") continue;
    for (const rep of db1.repetitions(3)) {
      const ident = cxToIdentifier(rep, { segment: "DB1", field: 3 }, c.ctx);
      if (ident !== undefined) identifiers.push(ident);
    }
  }
  identifiers.push(...insuranceIds(c));
  if (identifiers.length > 0) p.identifier = dedupeIdentifiers(identifiers);
  const names = [...pid.repetitions(5), ...pid.repetitions(9)].map(xpnToName).filter(isDefined);
  if (names.length > 0) p.name = names;
  const telecom = [
    ...pid.repetitions(13).map((x) => xtnToContactPoint(x, "home", c.convertData)),
    ...pid.repetitions(14).map((x) => xtnToContactPoint(x, "work", c.convertData)),
    // v2.7+ moved telecom to PID-40 (PID-13/14 are withdrawn there).
    ...pid.repetitions(40).map((x) => xtnToContactPoint(x, undefined, c.convertData)),
  ].filter(isDefined);
  if (telecom.length > 0) p.telecom = dedupeTelecom(telecom);
  const gender = lookup(GENDER, pid.get(8, 1, 1));
  if (gender !== undefined) p.gender = gender;
  const dob = v(pid.get(7, 1, 1));
  if (dob !== undefined) {
    const { date, hasTime } = toFhirDate(dob, at(7));
    p.birthDate = date;
    if (hasTime) {
      p._birthDate = { extension: [{ url: "http://hl7.org/fhir/StructureDefinition/patient-birthTime", valueDateTime: c.dateTime(dob, at(7)) }] };
    }
  }
  const county = v(pid.get(12));
  const addresses = pid.repetitions(11).map(xadToAddress).filter(isDefined);
  if (county !== undefined) for (const a of addresses) a.district ??= county;
  if (addresses.length > 0) p.address = addresses;
  const marital = codeOf(pid.get(16, 1, 1));
  if (marital !== undefined) {
    const code = lookup(MARITAL_STATUS, marital);
    p.maritalStatus =
      code !== undefined
        ? { coding: [{ system: code === "UNK" ? "http://terminology.hl7.org/CodeSystem/v3-NullFlavor" : "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", code }] }
        : { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v2-0002", code: marital }] };
  }
  const language = pid.repetitions(15)[0];
  const lang = language !== undefined ? cweToConcept(language, "ISO639") : undefined;
  if (lang !== undefined) p.communication = [{ language: lang }];
  const multiple = v(pid.get(24));
  const order = v(pid.get(25));
  if (order !== undefined && /^[1-9]\d{0,3}$/.test(order)) p.multipleBirthInteger = Number(order);
  else if (multiple === "Y" || multiple === "N") p.multipleBirthBoolean = multiple === "Y";
  const deathTime = v(pid.get(29, 1, 1));
  const deceased = v(pid.get(30));
  if (deathTime !== undefined) p.deceasedDateTime = c.dateTime(deathTime, at(29));
  else if (deceased === "Y" || deceased === "N") p.deceasedBoolean = deceased === "Y";
  if (contacts) {
    // NK1 next of kin are merged into the Patient as contacts, as FHIR-Converter does.
    const list = c.segments("NK1").map((nk1) => patientContact(c, nk1)).filter(isDefined);
    if (list.length > 0) p.contact = list;
  }
  primaryCare(c, p);
  applySecurity(c, pid, p);
  return c.add(p);
}

/** PD1-3 (primary facility, XON) and PD1-4 (primary care provider, XCN) → Patient.generalPractitioner. */
function primaryCare(c: Conv, p: Patient): void {
  const pd1 = c.msg.segment("PD1");
  if (pd1 === undefined) return;
  const gp: Reference[] = [];
  const facility = organizationFromXon(c, pd1.repetitions(3)[0]);
  if (facility !== undefined) gp.push(facility);
  gp.push(...practitionersOfField(c, pd1, 4));
  if (gp.length > 0) p.generalPractitioner = gp;
}

const IN2_IDS: readonly [number, string, string, string][] = [
  [6, "MC", "Patient's Medicare number", "http://hl7.org/fhir/sid/us-medicare"],
  [8, "MA", "Patient Medicaid number", "http://example.com/v2-to-fhir-converter/sid/us-medicaid"],
  [10, "MI", "Military ID number", "http://example.com/v2-to-fhir-converter/sid/us-military"],
];

/**
 * IN2 identifiers of the patient (Resource/_Patient.liquid): Medicare (IN2-6), Medicaid (IN2-8), military
 * (IN2-10) and member number (IN2-61) from every IN2; the insured's employee id (IN2-1) and SSN (IN2-2) only
 * when an IN1 says the patient is the insured (IN1-17 = SEL).
 */
function insuranceIds(c: Conv): Identifier[] {
  const in2s = c.segments("IN2");
  if (in2s.length === 0) return [];
  const self = c.segments("IN1").some((in1) => in1.get(17, 1, 1) === "SEL");
  const out: Identifier[] = [];
  for (const in2 of in2s) {
    const at = (field: number): FieldRef => ({ segment: "IN2", field });
    if (self) {
      for (const rep of in2.repetitions(1)) {
        const ident = cxToIdentifier(rep, at(1), c.ctx);
        if (ident !== undefined) out.push(ident);
      }
      const ssn = v(in2.get(2));
      if (ssn !== undefined && ssn.trim().length > 0) {
        out.push({ system: "http://hl7.org/fhir/sid/us-ssn", value: ssn, type: { coding: [{ system: V2_0203, code: "SS", display: "Social Security number" }] } });
      }
    }
    for (const [field, code, display, system] of IN2_IDS) {
      const value = v(in2.get(field));
      if (value !== undefined && value.trim().length > 0) out.push({ system, value, type: { coding: [{ system: V2_0203, code, display }] } });
    }
    const member = in2.repetitions(61)[0];
    const ident = member !== undefined ? cxToIdentifier(member, at(61), c.ctx) : undefined;
    if (ident !== undefined) out.push(ident);
  }
  return out;
}

/** The same identifier sent twice (PID-19 and IN2-2, PID-3 and IN2-1) is listed once. */
function dedupeIdentifiers(list: Identifier[]): Identifier[] {
  const seen = new Set<string>();
  return list.filter((i) => {
    const key = `${i.system ?? ""}|${i.value ?? ""}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The same number sent in PID-13 and PID-40 is one ContactPoint. */
function dedupeTelecom(list: ContactPoint[]): ContactPoint[] {
  const seen = new Set<string>();
  return list.filter((t) => {
    const key = `${t.system}|${t.value}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function nk1Telecom(c: Conv, nk1: Hl7Segment): ContactPoint[] {
  return [
    ...nk1.repetitions(5).map((x) => xtnToContactPoint(x, "home", c.convertData)),
    ...nk1.repetitions(6).map((x) => xtnToContactPoint(x, "work", c.convertData)),
  ].filter(isDefined);
}

function patientContact(c: Conv, nk1: Hl7Segment): PatientContact | undefined {
  const pc: PatientContact = {};
  const name = nk1.repetitions(2).map(xpnToName).find(isDefined);
  if (name !== undefined) pc.name = name;
  const telecom = nk1Telecom(c, nk1);
  if (telecom.length > 0) pc.telecom = telecom;
  const address = nk1.repetitions(4).map(xadToAddress).find(isDefined);
  if (address !== undefined) pc.address = address;
  if (Object.keys(pc).length === 0) return undefined; // pat-1: a contact needs details
  const rel = [nk1.repetitions(7)[0], nk1.repetitions(3)[0]].map((x) => (x !== undefined ? cweToConcept(x) : undefined)).filter(isDefined);
  if (rel.length > 0) pc.relationship = rel;
  return pc;
}
