import type { Device, Observation, PractitionerRole, Reference } from "fhir/r4";
import type { Hl7Node, Hl7Segment } from "../../hl7";
import { OBSERVATION_STATUS, lookup } from "../codes";
import { type Conv, isDefined } from "../context";
import { code as codeOf, cweToConcept, v } from "../datatypes";
import { makeId, makeSharedId } from "../ids";
import { SEEDS } from "../seeds";
import { requireObservationCode } from "./clinical";
import { organizationFromXon } from "./organization";
import { practitioner } from "./practitioner";

/** OBX-16 / OBX-25 (XCN) → Practitioner and a PractitionerRole for it (ID/_PractitionerRole.liquid, XCN only). */
function performerRole(c: Conv, xcn: Hl7Node, org: Reference | undefined): Reference | undefined {
  const who = practitioner(c, xcn);
  const id = makeSharedId("PractitionerRole", SEEDS.PractitionerRoleXcn(xcn));
  if (id === undefined || who === undefined) return who;
  const role: PractitionerRole = { resourceType: "PractitionerRole", id, practitioner: who };
  if (org !== undefined) role.organization = org;
  return c.add(role);
}

/** OBX-18 equipment instance (EI) → Device. */
function equipment(c: Conv, ei: Hl7Node): Reference | undefined {
  const id = makeSharedId("Device", SEEDS.DeviceEi(ei));
  if (id === undefined) return undefined;
  const d: Device = { resourceType: "Device", id };
  const value = v(ei.get(1));
  if (value !== undefined) d.identifier = [{ value }];
  return c.add(d);
}

export function observation(c: Conv, obx: Hl7Segment, encounter: Reference | undefined): void {
  let id = makeId("Observation", SEEDS.Observation(obx), c.patientId) as string;
  // Two OBX with the same code and time (e.g. OBX-4 sub-ids) share the template's seed, and the second would be
  // lost; stable keys such a repeat on its whole segment instead.
  if (!c.convertData && c.out.entries.has(`Observation/${id}`)) id = makeId("Observation", SEEDS.ObservationWhole(obx), c.patientId) as string;
  const o: Observation = {
    resourceType: "Observation",
    id,
    status: lookup(OBSERVATION_STATUS, obx.get(11, 1, 1)) ?? "unknown",
    code: requireObservationCode(obx),
    subject: c.patientRef,
  };
  if (encounter !== undefined) o.encounter = encounter;
  observationValue(c, obx, o);
  const range = v(obx.get(7));
  if (range !== undefined) o.referenceRange = [{ text: range }];
  const interp = obx.repetitions(8).map((x) => codeOf(x.get(1))).filter(isDefined);
  if (interp.length > 0) {
    o.interpretation = interp.map((code) => ({ coding: [{ system: "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", code }] }));
  }
  const eff = v(obx.get(14, 1, 1));
  if (eff !== undefined) o.effectiveDateTime = c.dateTime(eff, { segment: "OBX", field: 14 });
  const lab = organizationFromXon(c, obx.repetitions(23)[0]);
  const performers = [
    ...obx.repetitions(16).map((x) => performerRole(c, x, undefined)),
    ...obx.repetitions(25).map((x) => performerRole(c, x, lab)),
  ].filter(isDefined);
  if (lab !== undefined && !performers.some((p) => p.reference?.startsWith("PractitionerRole/"))) performers.push(lab);
  if (performers.length > 0) o.performer = performers;
  const device = obx.repetitions(18)[0];
  const dev = device !== undefined ? equipment(c, device) : undefined;
  if (dev !== undefined) o.device = dev;
  c.add(o);
}

function observationValue(c: Conv, obx: Hl7Segment, o: Observation): void {
  const rep = obx.repetitions(5)[0];
  if (rep === undefined) return;
  switch (obx.get(2, 1, 1)) {
    case "NM": {
      const n = v(rep.value)?.trim();
      if (n !== undefined && /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(n)) {
        o.valueQuantity = { value: Number(n) };
        const unit = obx.repetitions(6)[0];
        if (unit !== undefined) {
          const code = v(unit.get(1));
          const label = v(unit.get(2)) ?? code;
          if (label !== undefined) o.valueQuantity.unit = label;
          if (code !== undefined && /^UCUM$/i.test(unit.get(3) ?? "")) {
            o.valueQuantity.system = "http://unitsofmeasure.org";
            o.valueQuantity.code = code;
          }
        }
        return;
      }
      break;
    }
    case "CE":
    case "CWE":
    case "CNE": {
      const cc = cweToConcept(rep);
      if (cc !== undefined) o.valueCodeableConcept = cc;
      return;
    }
    case "DT":
    case "TS":
    case "DTM": {
      const d = v(rep.get(1));
      if (d !== undefined) o.valueDateTime = c.dateTime(d, { segment: "OBX", field: 5 });
      return;
    }
    default:
      break;
  }
  const text = obx.repetitions(5).map((r) => v(r.value)).filter(isDefined).join("\n");
  if (text.length > 0) o.valueString = text;
}
