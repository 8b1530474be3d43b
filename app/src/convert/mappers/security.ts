import type { Coding, Meta } from "fhir/r4";
import type { Hl7Segment } from "../../hl7";
import type { Conv } from "../context";
import { cweToConcept, v } from "../datatypes";

const ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

/**
 * ARV (access restrictions) → meta.security labels (Resource/_Patient and _Encounter.liquid): ARV-2 action
 * A/U → LABEL, X → PERSISTLABEL; ARV-3 restriction value and ARV-4 reason codings as sent. An ARV after the PID
 * labels the Patient, one after the PV1 the Encounter.
 */
export function securityLabels(c: Conv, owner: Hl7Segment): Coding[] {
  const out: Coding[] = [];
  const segs = c.msg.segments;
  for (let i = owner.ordinal; i < segs.length; i++) {
    const s = segs[i];
    if (s.name !== "ARV") {
      if (s.name === "PV1" || s.name === "PID") break;
      continue;
    }
    const action = v(s.get(2, 1, 1));
    if (action === "A" || action === "U") out.push({ system: ACT_CODE, code: "LABEL", display: "assign security label" });
    else if (action === "X") out.push({ system: ACT_CODE, code: "PERSISTLABEL", display: "persist security label" });
    for (const f of [3, 4]) {
      for (const rep of s.repetitions(f)) for (const coding of cweToConcept(rep)?.coding ?? []) out.push(coding);
    }
  }
  return out;
}

/** Adds the labels to a resource's meta (no-op without ARV segments, or when the event reads none). */
export function applySecurity(c: Conv, owner: Hl7Segment, r: { meta?: Meta }): void {
  if (!c.rule.segments.includes("ARV")) return;
  const labels = securityLabels(c, owner);
  if (labels.length > 0) r.meta = { ...(r.meta ?? {}), security: [...(r.meta?.security ?? []), ...labels] };
}
