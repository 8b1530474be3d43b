/**
 * Code maps, following the ones FHIR-Converter keeps in data/Templates/Hl7v2/CodeSystem/CodeSystem.json where
 * they exist; targets are restricted to codes valid in the FHIR R4 required bindings.
 */

/**
 * A code map without a prototype: codes come straight from the message, so `__proto__`, `constructor` or
 * `toString` must read as "no mapping", never as an inherited Object member (issue 9).
 */
function codeTable<T>(entries: Record<string, T>): Readonly<Record<string, T>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, T>, entries));
}

/** Own-property lookup of a message code in a code map (undefined for a missing or inherited key). */
export function lookup<T>(table: Readonly<Record<string, T>>, key: string | undefined): T | undefined {
  return key !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;
}


export const GENDER: Readonly<Record<string, "male" | "female" | "other" | "unknown">> = codeTable({
  F: "female",
  M: "male",
  U: "unknown",
  A: "other",
  O: "other",
  N: "unknown",
});

export type EncounterStatus = "planned" | "arrived" | "triaged" | "in-progress" | "onleave" | "finished" | "cancelled" | "unknown";

/** PV1-2 patient class → Encounter.status (before per-event overrides). */
export const ENCOUNTER_STATUS_BY_CLASS: Readonly<Record<string, EncounterStatus>> = codeTable({
  I: "in-progress",
  E: "in-progress",
  O: "in-progress",
  R: "in-progress",
  B: "in-progress",
  C: "in-progress",
  P: "planned",
  N: "cancelled",
  U: "unknown",
});

const ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
/** PV1-2 patient class → Encounter.class (v3 ActCode, as FHIR-Converter's EncounterClass map). */
export const ENCOUNTER_CLASS: Readonly<Record<string, { system: string; code: string; display: string }>> = codeTable({
  I: { system: ACT, code: "IMP", display: "inpatient encounter" },
  O: { system: ACT, code: "AMB", display: "ambulatory" },
  E: { system: ACT, code: "EMER", display: "emergency" },
  P: { system: ACT, code: "PRENC", display: "pre-admission" },
  B: { system: ACT, code: "OBSENC", display: "observation encounter" },
  R: { system: "http://terminology.hl7.org/CodeSystem/v2-0004", code: "R", display: "Recurring patient" },
  N: { system: "http://terminology.hl7.org/CodeSystem/v2-0004", code: "N", display: "Not Applicable" },
  C: { system: "http://terminology.hl7.org/CodeSystem/v2-0004", code: "C", display: "Commercial Account" },
  U: { system: "http://terminology.hl7.org/CodeSystem/v2-0004", code: "U", display: "Unknown" },
});

/** XPN-7 name type → HumanName.use. */
export const NAME_USE: Readonly<Record<string, "usual" | "official" | "temp" | "nickname" | "anonymous" | "old" | "maiden">> = codeTable({
  L: "official",
  D: "usual",
  M: "maiden",
  N: "nickname",
  A: "usual",
  S: "anonymous",
  NB: "temp",
  TEMP: "temp",
  BAD: "old",
});

/** XAD-7 address type → Address.use or Address.type. */
export const ADDRESS_USE: Readonly<Record<string, "home" | "work" | "temp" | "old" | "billing">> = codeTable({
  H: "home",
  P: "home",
  B: "work",
  O: "work",
  C: "temp",
  BA: "old",
  BI: "billing",
});
export const ADDRESS_TYPE: Readonly<Record<string, "postal" | "physical" | "both">> = codeTable({ M: "postal", SH: "physical" });

/** XTN-2 telecom use → ContactPoint.use. */
export const TELECOM_USE: Readonly<Record<string, "home" | "work" | "temp" | "old" | "mobile">> = codeTable({
  PRN: "home",
  ORN: "home",
  VHN: "temp",
  WPN: "work",
  PRS: "mobile",
});
/** XTN-3 equipment type → ContactPoint.system. */
export const TELECOM_SYSTEM: Readonly<Record<string, "phone" | "fax" | "email" | "pager" | "url" | "sms" | "other">> = codeTable({
  PH: "phone",
  CP: "phone",
  FX: "fax",
  BP: "pager",
  Internet: "email",
  "X.400": "email",
  MD: "other",
  TDD: "other",
  TTY: "other",
  SAT: "phone",
});

/** CX-5 identifier type displays (v2-0203). */
export const ID_TYPE_DISPLAY: Readonly<Record<string, string>> = codeTable({
  MR: "Medical record number",
  PI: "Patient internal identifier",
  PT: "Patient external identifier",
  SS: "Social Security number",
  SB: "Social Beneficiary Identifier",
  DL: "Driver's license number",
  AN: "Account number",
  VN: "Visit number",
  PN: "Person number",
  NI: "National unique individual identifier",
  MB: "Member Number",
  MC: "Patient's Medicare number",
  MA: "Patient Medicaid number",
  PPN: "Passport number",
  NPI: "National provider identifier",
});

/** CWE-3 coding system names → FHIR system URIs. */
export const CODE_SYSTEM: Readonly<Record<string, string>> = codeTable({
  LN: "http://loinc.org",
  SCT: "http://snomed.info/sct",
  SNM: "http://snomed.info/sct",
  I9: "http://hl7.org/fhir/sid/icd-9-cm",
  I9C: "http://hl7.org/fhir/sid/icd-9-cm",
  I10: "http://hl7.org/fhir/sid/icd-10-cm",
  I10C: "http://hl7.org/fhir/sid/icd-10-cm",
  ICD10: "http://hl7.org/fhir/sid/icd-10",
  RXNORM: "http://www.nlm.nih.gov/research/umls/rxnorm",
  RXN: "http://www.nlm.nih.gov/research/umls/rxnorm",
  CPT: "http://www.ama-assn.org/go/cpt",
  C4: "http://www.ama-assn.org/go/cpt",
  NDC: "http://hl7.org/fhir/sid/ndc",
  CVX: "http://hl7.org/fhir/sid/cvx",
  UCUM: "http://unitsofmeasure.org",
  ISO639: "urn:ietf:bcp:47",
  CDCREC: "urn:oid:2.16.840.1.113883.6.238",
});

/** AL1-2 allergen type → AllergyIntolerance.category. */
export const ALLERGY_CATEGORY: Readonly<Record<string, "food" | "medication" | "environment" | "biologic">> = codeTable({
  DA: "medication",
  MA: "medication",
  MC: "medication",
  FA: "food",
  EA: "environment",
  AA: "environment",
  PA: "environment",
  LA: "environment",
});
/** AL1-4 severity → AllergyIntolerance.criticality. */
export const ALLERGY_CRITICALITY: Readonly<Record<string, "low" | "high" | "unable-to-assess">> = codeTable({
  SV: "high",
  MO: "low",
  MI: "low",
  U: "unable-to-assess",
});

export type ObservationStatus = "registered" | "preliminary" | "final" | "amended" | "corrected" | "cancelled" | "entered-in-error" | "unknown";
/** OBX-11 result status → Observation.status (FHIR-Converter maps S to unknown). */
export const OBSERVATION_STATUS: Readonly<Record<string, ObservationStatus>> = codeTable({
  F: "final",
  P: "preliminary",
  R: "preliminary",
  S: "unknown",
  I: "registered",
  C: "corrected",
  A: "amended",
  D: "entered-in-error",
  W: "entered-in-error",
  X: "cancelled",
  U: "final",
});

/** PID-16 marital status (v2-0002) → v3 MaritalStatus. */
export const MARITAL_STATUS: Readonly<Record<string, string>> = codeTable({
  A: "L",
  D: "D",
  E: "L",
  I: "I",
  M: "M",
  N: "A",
  P: "T",
  R: "T",
  S: "S",
  W: "W",
  C: "C",
  B: "U",
  U: "UNK",
});

/** IN1-17 insured's relationship (v2-0063) → subscriber-relationship code. */
export const SUBSCRIBER_RELATIONSHIP: Readonly<Record<string, string>> = codeTable({
  SEL: "self",
  SPO: "spouse",
  DOM: "common",
  CHD: "child",
  FTH: "parent",
  MTH: "parent",
  PAR: "parent",
  EME: "injured",
  OTH: "other",
});
