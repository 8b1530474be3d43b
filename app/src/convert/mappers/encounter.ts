import type { Encounter, EncounterLocation, EncounterParticipant, EpisodeOfCare, Reference } from "fhir/r4";
import type { Hl7Segment } from "../../hl7";
import { ENCOUNTER_CLASS, ENCOUNTER_STATUS_BY_CLASS, lookup, type EncounterStatus } from "../codes";
import type { Conv } from "../context";
import { cweToConcept, cxToIdentifier, v } from "../datatypes";
import type { FieldRef } from "../datetime";
import { converterValue as cv, makeId, makeSharedId } from "../ids";
import { SEEDS } from "../seeds";
import { plLocation } from "./location";
import { organizationFromHd } from "./organization";
import { practitionersOfField } from "./practitioner";
import { applySecurity } from "./security";

const V3_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";

/**
 * Encounter id, base Patient. convert-data: ID/_Encounter.liquid (PV1-19.1,PV1-19.4, else the whole PV1, so any
 * PV1 change makes a new Encounter: microsoft/FHIR-Converter#207). stable: the visit number with or without its
 * authority, else the alternate visit id (PV1-50), else the admit time, else the PV1 text.
 */
export function encounterId(c: Conv, pv1: Hl7Segment): string {
  const visit = v(pv1.get(19, 1, 1));
  let seed: string;
  if (c.convertData) seed = SEEDS.Encounter(pv1);
  else if (visit !== undefined) seed = `${cv(visit)},${cv(v(pv1.get(19, 1, 4)))}`;
  else {
    const alt = v(pv1.get(50, 1, 1));
    const admit = v(pv1.get(44, 1, 1));
    seed = alt !== undefined ? `PV1-50:${cv(alt)}` : admit !== undefined ? `PV1-44:${cv(admit)}` : cv(pv1.raw);
  }
  return makeId("Encounter", seed, c.patientId) as string;
}

function status(c: Conv, pv1: Hl7Segment): EncounterStatus {
  if (c.rule.status !== undefined) return c.rule.status;
  if (v(pv1.get(45, 1, 1)) !== undefined) return "finished";
  return lookup(ENCOUNTER_STATUS_BY_CLASS, pv1.get(2, 1, 1)) ?? "unknown";
}

function period(c: Conv, pv1: Hl7Segment, pv2: Hl7Segment | undefined): Encounter["period"] {
  const at = (seg: string, field: number): FieldRef => ({ segment: seg, field });
  let start = v(pv1.get(44, 1, 1));
  let startAt = at("PV1", 44);
  let end = c.rule.endFromPv1 ? v(pv1.get(45, 1, 1)) : undefined;
  let endAt = at("PV1", 45);
  // Later keys win in the template, but empty ones are dropped first: PV2 overrides only when it is sent.
  const p8 = v(pv2?.get(8, 1, 1));
  const p9 = v(pv2?.get(9, 1, 1));
  if (c.rule.pv2Period === "start-end" && p8 !== undefined) [start, startAt] = [p8, at("PV2", 8)];
  if (c.rule.pv2Period !== undefined && p9 !== undefined) [end, endAt] = [p9, at("PV2", 9)];
  if (start === undefined && end === undefined) return undefined;
  const p: NonNullable<Encounter["period"]> = {};
  if (start !== undefined) p.start = c.dateTime(start, startAt);
  if (end !== undefined) p.end = c.dateTime(end, endAt);
  // per-1: an expected discharge before the admission would make the period invalid; keep the start.
  if (p.start !== undefined && p.end !== undefined && Date.parse(p.end) < Date.parse(p.start)) delete p.end;
  return p;
}

function locations(c: Conv, pv1: Hl7Segment, pv2: Hl7Segment | undefined): EncounterLocation[] {
  const out: EncounterLocation[] = [];
  const add = (seg: Hl7Segment | undefined, field: number, st: EncounterLocation["status"] | "none", listed = true): void => {
    const ref = plLocation(c, seg?.repetitions(field)[0]);
    if (ref === undefined || !listed || out.some((l) => l.location.reference === ref.reference)) return;
    out.push(st === "none" ? { location: ref } : { location: ref, status: st });
  };
  const rule = c.rule.location;
  const cancelled = rule === "none";
  add(pv1, 3, rule === "by-class" ? (pv1.get(2, 1, 1) === "P" ? "planned" : "active") : rule);
  if (c.rule.priorLocation) add(pv1, 6, cancelled ? "none" : "completed");
  add(pv1, 11, cancelled ? "none" : "active"); // temporary location
  // The Locations are written either way; A26 (cancel pending transfer) does not list the pending ones.
  const pending = c.rule.pendingLocations;
  add(pv1, 42, cancelled ? "none" : "planned", pending); // pending location
  add(pv1, 43, cancelled ? "none" : "completed"); // prior temporary location
  add(pv2, 1, cancelled ? "none" : "planned", pending); // prior pending location
  return out;
}

export interface DiagnosisRef {
  dg1: Hl7Segment;
  ref: Reference;
}

export function encounter(c: Conv, pv1: Hl7Segment, id: string, diagnoses: readonly DiagnosisRef[], deathPlace?: Reference): Reference {
  const pv2 = c.msg.segment("PV2");
  const at = (field: number): FieldRef => ({ segment: "PV1", field });
  const e: Encounter = {
    resourceType: "Encounter",
    id,
    status: status(c, pv1),
    class: lookup(ENCOUNTER_CLASS, pv1.get(2, 1, 1)) ?? { system: "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", code: "UNK", display: "unknown" },
    subject: c.patientRef,
  };
  const ids = [...pv1.repetitions(19), ...pv1.repetitions(50)].map((x) => cxToIdentifier(x, at(19), c.ctx)).filter((x) => x !== undefined);
  if (ids.length > 0) {
    ids[0].type ??= { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v2-0203", code: "VN", display: "Visit number" }] };
    e.identifier = ids;
  }
  const p = period(c, pv1, pv2);
  if (p !== undefined) e.period = p;
  const participants: EncounterParticipant[] = [];
  const roles: [Hl7Segment | undefined, number, string, string][] = [
    [pv1, 7, "ATND", "attender"],
    [pv1, 8, "REF", "referrer"],
    [pv1, 9, "CON", "consultant"],
    [pv1, 17, "ADM", "admitter"],
    [pv1, 52, "PART", "Participation"], // other healthcare provider
    [pv2, 13, "REF", "referrer"], // referral source
  ];
  for (const [seg, field, code, display] of roles) {
    if (seg === undefined) continue;
    for (const who of practitionersOfField(c, seg, field)) {
      participants.push({ type: [{ coding: [{ system: V3_PARTICIPATION, code, display }] }], individual: who });
    }
  }
  if (participants.length > 0) e.participant = participants;
  const locs = locations(c, pv1, pv2);
  // PDA-2, where the patient died, comes first and is over (Resource/_Encounter.liquid).
  if (deathPlace !== undefined && !locs.some((l) => l.location.reference === deathPlace.reference)) locs.unshift({ location: deathPlace, status: "completed" });
  if (locs.length > 0) e.location = locs;
  const hosp: NonNullable<Encounter["hospitalization"]> = {};
  const src = pv1.repetitions(14)[0];
  const admitSource = src !== undefined ? cweToConcept(src, "HL70023") : undefined;
  if (admitSource !== undefined) hosp.admitSource = admitSource;
  const dis = pv1.repetitions(36)[0];
  const disposition = dis !== undefined ? cweToConcept(dis, "HL70112") : undefined;
  if (disposition !== undefined) hosp.dischargeDisposition = disposition;
  const destination = dischargedTo(c, pv1);
  if (destination !== undefined) hosp.destination = destination;
  if (Object.keys(hosp).length > 0) e.hospitalization = hosp;
  const reason = pv2?.repetitions(3)[0];
  const reasonCc = reason !== undefined ? cweToConcept(reason) : undefined;
  if (reasonCc !== undefined) e.reasonCode = [reasonCc];
  const stay = v(pv2?.get(11, 1, 1));
  if (stay !== undefined && /^\d{1,6}$/.test(stay)) e.length = { value: Number(stay), unit: "d", system: "http://unitsofmeasure.org", code: "d" };
  const prio = pv2?.repetitions(25)[0];
  const priority = prio !== undefined ? cweToConcept(prio, "HL70217") : undefined;
  if (priority !== undefined) e.priority = priority;
  const facility = organizationFromHd(c, pv1.repetitions(39)[0]);
  if (facility !== undefined) e.serviceProvider = facility;
  const diagnosis = diagnoses.map(({ dg1, ref }) => {
    const d: NonNullable<Encounter["diagnosis"]>[number] = { condition: ref };
    const rank = v(dg1.get(15));
    if (rank !== undefined && /^[1-9]\d{0,8}$/.test(rank)) d.rank = Number(rank);
    const type = dg1.get(6, 1, 1);
    const use = type === "A" ? "AD" : type === "F" ? "DD" : undefined;
    if (use !== undefined) d.use = { coding: [{ system: "http://terminology.hl7.org/CodeSystem/diagnosis-role", code: use }] };
    return d;
  });
  if (diagnosis.length > 0) e.diagnosis = diagnosis;
  if (c.accountId !== undefined) e.account = [{ reference: `Account/${c.accountId}` }];
  const episode = episodeOfCare(c, pv1);
  if (episode !== undefined) e.episodeOfCare = [episode];
  applySecurity(c, pv1, e);
  return c.add(e);
}

/** PV1-37 discharged-to location (DLD: location ^ effective date) → Location (ID/_Location.liquid, DLD text). */
function dischargedTo(c: Conv, pv1: Hl7Segment): Reference | undefined {
  const dld = pv1.field(37);
  const id = dld !== undefined ? makeSharedId("Location", SEEDS.LocationDld(dld)) : undefined;
  if (dld === undefined || id === undefined) return undefined;
  const name = v(dld.get(1, 2)) ?? v(dld.get(1, 1)) ?? dld.value;
  return c.add({ resourceType: "Location", id, name, physicalType: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/location-physical-type", code: "si", display: "Site" }] } });
}

/** PV1-54 (service episode identifier) → EpisodeOfCare (ID/_EpisodeOfCare.liquid, the template passes PV1-54). */
function episodeOfCare(c: Conv, pv1: Hl7Segment): Reference | undefined {
  const f54 = pv1.field(54);
  if (f54 === undefined) return undefined;
  const id = makeId("EpisodeOfCare", SEEDS.EpisodeOfCare(f54));
  if (id === undefined) return undefined;
  const ep: EpisodeOfCare = { resourceType: "EpisodeOfCare", id, status: "active", patient: c.patientRef };
  const ident = cxToIdentifier(pv1.repetitions(54)[0] ?? f54, { segment: "PV1", field: 54 }, c.ctx);
  if (ident !== undefined) ep.identifier = [ident];
  return c.add(ep);
}
