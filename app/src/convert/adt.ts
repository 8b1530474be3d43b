import type { Bundle, BundleEntry, FhirResource, Reference } from "fhir/r4";
import { parseHl7, type Hl7Message, type Hl7Segment } from "../hl7";
import { Conv } from "./context";
import { checkOffset, checkTimeZone, toFhirInstant } from "./datetime";
import { ConversionError } from "./errors";
import { eventRule } from "./events";
import { makeId, type IdStrategy } from "./ids";
import { allergy, allergyFromIam, condition } from "./mappers/clinical";
import { encounter, encounterId, type DiagnosisRef } from "./mappers/encounter";
import { account, accountId, coverage } from "./mappers/financial";
import { linkage, mergedPatient, mrgAfter } from "./mappers/linkage";
import { accident } from "./mappers/accident";
import { deathAndAutopsy } from "./mappers/death";
import { devices, messageHeader, provenances } from "./mappers/message";
import { observation } from "./mappers/observation";
import { authorityOrganizations, organizationFromHd, organizationFromXon, xonOrganizations } from "./mappers/organization";
import { patient, patientIdFor } from "./mappers/patient";
import { procedure } from "./mappers/procedure";
import { referral } from "./mappers/referral";
import { relatedPersonFromNk1, relatedPersonFromPid21 } from "./mappers/related-person";
import { roles } from "./mappers/role";
import { SEEDS } from "./seeds";
import { validateHl7ForIngest } from "./validate";

export interface ConvertOptions {
  /**
   * "stable" (default): FHIR-Converter's ids and mapping with its known defects fixed. "convert-data": the ids
   * and resource set `$convert-data` produces, its defects included wherever the result is still valid FHIR
   * (the reproduced and the fixed defects are listed in app/src/convert/README.md).
   */
  ids?: IdStrategy;
  /** Offset applied to HL7 times that carry none: "Z" (default) or ±hh:mm for the sending facility. */
  defaultOffset?: string;
  /**
   * IANA time zone of the sending facility (e.g. "America/Chicago"), applied to HL7 times without an offset with
   * daylight saving taken into account. Takes precedence over `defaultOffset`.
   */
  timeZone?: string;
  /** Base URI for identifier systems built from a local assigning authority name. */
  identifierSystemBase?: string;
}

/** FHIR-Converter's base for identifier systems without a universal id (kept for `$convert-data` parity). */
export const DEFAULT_IDENTIFIER_SYSTEM_BASE = "http://example.com/v2-to-fhir-converter/Identifier/";

/** ADT_A40.liquid writes assigning-authority Organizations for PID-3, MRG-1 and EVN-5 only. */
const LINKAGE_AUTHORITIES: ReadonlySet<string> = new Set(["PID", "MRG", "EVN"]);

/** Types an A29 (delete person) removes in stable mode: the person's own records, not shared ones. */
const PERSON_OWNED = new Set([
  "Patient", "Encounter", "EpisodeOfCare", "Account", "RelatedPerson", "AllergyIntolerance", "Condition", "Observation", "Procedure", "Coverage",
]);

/** The visit events, A28/A31/A29 (person) and A60 (allergies): Patient, its visit and what hangs off them. */
function visitEvent(c: Conv, pid: Hl7Segment): void {
  c.focus.push(patient(c, pid, c.patientId, true));
  c.accountId = accountId(c, pid);
  const pv1 = c.msg.segment("PV1");
  const encId = pv1 !== undefined ? encounterId(c, pv1) : undefined;
  const encRef: Reference | undefined = encId !== undefined ? { reference: `Encounter/${encId}` } : undefined;
  if (encRef !== undefined) c.focus.push(encRef);
  const diagnoses: DiagnosisRef[] = c.segments("DG1").map((dg1) => ({ dg1, ref: condition(c, dg1, encRef) }));
  const pda = c.segments("PDA")[0];
  const deathPlace = pda !== undefined ? deathAndAutopsy(c, pda, pid) : undefined;
  if (pv1 !== undefined && encId !== undefined) encounter(c, pv1, encId, diagnoses, deathPlace);
  for (const nk1 of c.segments("NK1")) relatedPersonFromNk1(c, nk1);
  relatedPersonFromPid21(c, pid);
  for (const al1 of c.segments("AL1")) allergy(c, al1);
  // ADT_A60.liquid reads the first IAM only (convert-data); stable maps every allergy the message updates.
  const iams = c.segments("IAM");
  for (const iam of c.convertData ? iams.slice(0, 1) : iams) allergyFromIam(c, iam);
  for (const obx of c.segments("OBX")) observation(c, obx, encRef);
  for (const pr1 of c.segments("PR1")) procedure(c, pr1, encRef);
  for (const rf1 of c.segments("RF1")) referral(c, rf1, encId);
  const acc = c.segments("ACC")[0];
  if (acc !== undefined) accident(c, acc);
  for (const in1 of c.segments("IN1")) coverage(c, in1);
  roles(c, encId);
  account(c, pid);
}

/**
 * A40/A41/A47: a Linkage from PID-3 to MRG-1. convert-data writes no Patient (ADT_A40.liquid); stable also
 * writes the surviving Patient and, for A40/A47, the retired one `replaced-by` it.
 */
function linkageEvent(c: Conv, pids: readonly Hl7Segment[]): void {
  if (!c.convertData) {
    const survivor = patient(c, pids[0], c.patientId, false);
    c.focus.push(survivor);
    if (c.rule.mergesPatients === true) {
      pids.forEach((pid, i) => {
        const mrg = mrgAfter(c, pid) ?? (i === 0 ? c.msg.segment("MRG") : undefined);
        if (mrg === undefined) return;
        const surv = i === 0 ? survivor : patient(c, pid, patientIdFor(c, pid.repetitions(3), { segment: "PID", field: 3 }), false);
        c.focus.push(mergedPatient(c, mrg, surv));
        if (i > 0) c.focus.push(surv);
      });
    }
  }
  const l = linkage(c);
  if (l !== undefined) c.focus.push(l);
}

/**
 * A45: each MRG names a visit (the PV1 after it) that now belongs to the PID patient. convert-data keys the
 * Encounter on the new patient (ADT_A45.liquid), which makes a second Encounter rather than moving the first;
 * stable keys it on the prior patient (MRG-1), so the existing Encounter is the one updated, and writes the
 * Patient it now points at.
 */
function moveVisits(c: Conv, pid: Hl7Segment): void {
  if (!c.convertData) c.focus.push(patient(c, pid, c.patientId, false));
  c.accountId = c.convertData ? accountId(c, pid) : undefined;
  const segs = c.msg.segments;
  for (const mrg of c.msg.segmentsNamed("MRG")) {
    const pv1 = segs.slice(mrg.ordinal).find((s) => s.name === "PV1" || s.name === "MRG");
    if (pv1 === undefined || pv1.name !== "PV1") continue;
    // Without MRG-1 the prior owner is unknown: the visit is keyed on the patient it now belongs to.
    const prior = mrg.repetitions(1);
    const base = c.convertData || prior.length === 0 ? c.patientId : patientIdFor(c, prior, { segment: "MRG", field: 1 });
    const saved = c.patientId;
    c.patientId = base;
    const id = encounterId(c, pv1);
    c.patientId = saved;
    c.focus.push(encounter(c, pv1, id, []));
  }
}

function entry(resource: FhirResource, url: string, method: "PUT" | "DELETE"): BundleEntry {
  return { fullUrl: `urn:uuid:${resource.id as string}`, resource, request: { method, url } };
}

function run(c: Conv): Bundle {
  const msh = c.msh;
  const sender = organizationFromHd(c, msh.repetitions(4)[0]) ?? organizationFromHd(c, msh.repetitions(3)[0]);
  const receiver = organizationFromHd(c, msh.repetitions(6)[0]);
  const devs = devices(c);
  const pids = c.msg.segmentsNamed("PID");
  const pid = pids[0];
  // ADT_A47.liquid reads no PID into firstSegments, so its patient id is the hash of "," (convert-data only).
  c.patientId = c.convertData && c.event === "A47" ? (makeId("Patient", ",") as string) : patientIdFor(c, pid.repetitions(3), { segment: "PID", field: 3 });
  c.patientRef = { reference: `Patient/${c.patientId}` };
  switch (c.rule.kind) {
    case "linkage":
      linkageEvent(c, pids);
      break;
    case "move-visit":
      moveVisits(c, pid);
      break;
    default:
      visitEvent(c, pid);
  }
  if (c.rule.kind === "linkage") authorityOrganizations(c, LINKAGE_AUTHORITIES);
  else {
    authorityOrganizations(c);
    xonOrganizations(c);
  }
  // MSH-22/MSH-23: the sending and receiving responsible organizations (XON).
  organizationFromXon(c, msh.repetitions(22)[0]);
  organizationFromXon(c, msh.repetitions(23)[0]);
  const targets = [...c.out.entries.keys()].map((reference) => ({ reference }));
  const header = messageHeader(c, sender, receiver);
  provenances(c, targets, sender, devs[0]);

  const controlId = c.msg.controlId ?? "";
  const bundle: Bundle = {
    resourceType: "Bundle",
    id: makeId("Bundle", SEEDS.Bundle(msh)),
    type: "transaction",
    identifier: { value: controlId },
    timestamp: toFhirInstant(msh.get(7, 1, 1) ?? "", { segment: "MSH", field: 7 }, c.ctx.defaultOffset),
    entry: [],
  };
  const entries = bundle.entry as BundleEntry[];
  const del = c.rule.delete === true;
  const method = (r: FhirResource): "PUT" | "DELETE" => (del && (c.convertData || PERSON_OWNED.has(r.resourceType)) ? "DELETE" : "PUT");
  // The EntrySet keys are the `Type/id` request URLs (already flat strings, shared with the references).
  for (const [url, r] of c.out.entries) if (r === header) entries.push(entry(r, url, method(r)));
  for (const [url, r] of c.out.entries) if (r !== header) entries.push(entry(r, url, method(r)));
  return bundle;
}

/**
 * Converts one HL7 v2 ADT message to a FHIR R4 transaction Bundle of `PUT Type/id` upserts (`DELETE` for A29).
 * Throws Hl7ParseError for malformed text, UnsupportedMessageError for messages this converter does not
 * handle, and ConversionError for data it cannot map (both with PHI-free messages and HL7 error codes).
 */
export function convertAdt(input: Hl7Message | string, options: ConvertOptions = {}): Bundle {
  const msg = typeof input === "string" ? parseHl7(input) : input;
  validateHl7ForIngest(msg);
  const ids = options.ids ?? "stable";
  if (ids !== "stable" && ids !== "convert-data") {
    throw new TypeError(`Invalid ids option "${String(ids)}": expected "stable" or "convert-data"`);
  }
  const ctx = {
    defaultOffset: options.timeZone !== undefined ? checkTimeZone(options.timeZone) : checkOffset(options.defaultOffset ?? "Z"),
    identifierSystemBase: options.identifierSystemBase ?? DEFAULT_IDENTIFIER_SYSTEM_BASE,
  };
  const event = msg.triggerEvent as string;
  const rule = eventRule(event);
  if (rule === undefined) throw new ConversionError("unsupported trigger event", { code: "201", segment: "MSH", field: 9, ackCode: "AR" });
  return run(new Conv(msg, event, rule, ids, ctx));
}
