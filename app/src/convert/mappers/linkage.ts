import type { Identifier, Linkage, LinkageItem, Patient, Reference } from "fhir/r4";
import type { Hl7Node, Hl7Segment } from "../../hl7";
import { type Conv, isDefined } from "../context";
import { cxToIdentifier } from "../datatypes";
import { ConversionError } from "../errors";
import { makeId } from "../ids";
import { SEEDS } from "../seeds";
import { patientIdFor } from "./patient";

/** The MRG that follows a PID, up to the next PID (the template's get_related_segment_list). */
export function mrgAfter(c: Conv, pid: Hl7Segment): Hl7Segment | undefined {
  const segs = c.msg.segments;
  for (let i = pid.ordinal; i < segs.length; i++) {
    if (segs[i].name === "PID") return undefined;
    if (segs[i].name === "MRG") return segs[i];
  }
  return undefined;
}

function items(c: Conv, reps: readonly Hl7Node[], type: LinkageItem["type"], resource: string, at: { segment: string; field: number }): LinkageItem[] {
  return reps
    .map((r) => cxToIdentifier(r, at, c.ctx))
    .filter(isDefined)
    .map((identifier: Identifier) => ({ type, resource: { type: resource, identifier } }));
}

/**
 * A40/A41/A47 → one Linkage keyed on the first MRG (ID/_Linkage.liquid: MRG-1[0].1,MRG-1[0].4), with every
 * PID-3 as `source` and every MRG-1 as `historical` (logical references); A41 adds PID-18 / MRG-3 Accounts.
 */
export function linkage(c: Conv): Reference | undefined {
  const mrgs = c.msg.segmentsNamed("MRG");
  if (mrgs.length === 0) return undefined;
  const id = makeId("Linkage", SEEDS.Linkage(mrgs[0]));
  if (id === undefined) return undefined;
  const all: LinkageItem[] = [];
  for (const pid of c.msg.segmentsNamed("PID")) {
    const mrg = mrgAfter(c, pid);
    all.push(...items(c, pid.repetitions(3), "source", "Patient", { segment: "PID", field: 3 }));
    if (mrg !== undefined) all.push(...items(c, mrg.repetitions(1), "historical", "Patient", { segment: "MRG", field: 1 }));
    if (c.rule.linkAccounts) {
      all.push(...items(c, pid.repetitions(18).slice(0, 1), "source", "Account", { segment: "PID", field: 18 }));
      if (mrg !== undefined) all.push(...items(c, mrg.repetitions(3).slice(0, 1), "historical", "Account", { segment: "MRG", field: 3 }));
    }
  }
  // lnk-1: a historical item needs a source; the validator guarantees PID-3, so there always is one.
  const l: Linkage = { resourceType: "Linkage", id, item: all };
  return c.add(l);
}

/**
 * stable A40: the Patient named in MRG-1 is written inactive and `replaced-by` the survivor (which `replaces`
 * it), so a FHIR server that never sees the Linkage still retires the duplicate.
 */
export function mergedPatient(c: Conv, mrg: Hl7Segment, survivor: Reference): Reference {
  const reps = mrg.repetitions(1);
  const id = patientIdFor(c, reps, { segment: "MRG", field: 1 });
  if (`Patient/${id}` === survivor.reference) {
    throw new ConversionError("prior patient identifier is the surviving patient's identifier", { code: "205", segment: "MRG", field: 1 });
  }
  const old: Patient = { resourceType: "Patient", id, active: false, link: [{ other: survivor, type: "replaced-by" }] };
  const identifiers = reps.map((r) => cxToIdentifier(r, { segment: "MRG", field: 1 }, c.ctx)).filter(isDefined);
  if (identifiers.length > 0) old.identifier = identifiers;
  const ref = c.add(old);
  const surv = c.out.entries.get(survivor.reference as string) as Patient;
  (surv.link ??= []).push({ other: ref, type: "replaces" });
  return ref;
}
