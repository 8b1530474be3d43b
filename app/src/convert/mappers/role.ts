import type { Encounter, Patient, PractitionerRole } from "fhir/r4";
import type { Conv } from "../context";
import { cweToConcept } from "../datatypes";
import { makeSharedId } from "../ids";
import { SEEDS } from "../seeds";
import { plLocation } from "./location";
import { organizationFromXon } from "./organization";
import { practitioner } from "./practitioner";

/**
 * ROL → PractitionerRole (ID/_PractitionerRole.liquid: ROL-3 with ROL-4[0]) with its Practitioner, ROL-13
 * Location and ROL-14 Organization. A ROL before the PV1 is about the patient (Patient.generalPractitioner),
 * one after it about the visit (Encounter.participant); ROL-2 DE (delete) and UN (unlink) are skipped.
 */
export function roles(c: Conv, encounterId: string | undefined): void {
  if (!c.rule.segments.includes("ROL")) return;
  const pv1 = c.msg.segment("PV1");
  for (const rol of c.msg.segmentsNamed("ROL")) {
    const action = rol.get(2, 1, 1);
    if (action === "DE" || action === "UN") continue;
    const xcn = rol.repetitions(4)[0];
    const id = makeSharedId("PractitionerRole", SEEDS.PractitionerRoleRol(rol.field(3), xcn));
    if (id === undefined || xcn === undefined) continue;
    const role: PractitionerRole = { resourceType: "PractitionerRole", id };
    const who = practitioner(c, xcn);
    if (who !== undefined) role.practitioner = who;
    const code = rol.repetitions(3)[0];
    const cc = code !== undefined ? cweToConcept(code, "HL70443") : undefined;
    if (cc !== undefined) role.code = [cc];
    const where = plLocation(c, rol.repetitions(13)[0]);
    if (where !== undefined) role.location = [where];
    const org = organizationFromXon(c, rol.repetitions(14)[0]);
    if (org !== undefined) role.organization = org;
    const ref = c.add(role);
    const aboutVisit = pv1 !== undefined && encounterId !== undefined && rol.ordinal > pv1.ordinal;
    if (aboutVisit) {
      const e = c.out.entries.get(`Encounter/${encounterId}`) as Encounter | undefined;
      if (e !== undefined) (e.participant ??= []).push({ ...(cc !== undefined ? { type: [cc] } : {}), individual: ref });
    } else {
      const p = c.out.entries.get(c.patientRef.reference as string) as Patient | undefined;
      if (p !== undefined) (p.generalPractitioner ??= []).push(ref);
    }
  }
}
