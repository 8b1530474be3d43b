import type { ServiceRequest } from "fhir/r4";
import type { Hl7Segment } from "../../hl7";
import type { Conv } from "../context";
import { cweToConcept, v } from "../datatypes";
import { makeId } from "../ids";
import { SEEDS } from "../seeds";
import { organizationFromXon } from "./organization";
import { practitionersOfField } from "./practitioner";

/** RF1-1 referral status (v2 table 0283) → ServiceRequest.status. */
const STATUS: Readonly<Record<string, ServiceRequest["status"]>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, ServiceRequest["status"]>, { A: "active", P: "draft", R: "revoked", E: "completed" }),
);
/** RF1-2 referral priority (v2 table 0280) → ServiceRequest.priority. */
const PRIORITY: Readonly<Record<string, ServiceRequest["priority"]>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, ServiceRequest["priority"]>, { S: "stat", A: "asap", R: "routine" }),
);

/**
 * RF1 (referral) → ServiceRequest, keyed on the whole RF1 with the Patient as base (ID/_ServiceRequest.liquid);
 * RF1-19 referred-to provider (XON) and RF1-20 referred-to practitioner (XCN) are its performers.
 */
export function referral(c: Conv, rf1: Hl7Segment, encounter: string | undefined): void {
  const id = makeId("ServiceRequest", SEEDS.ServiceRequestRf1(rf1), c.patientId);
  if (id === undefined) return;
  const code = v(rf1.get(1, 1, 1));
  const sr: ServiceRequest = {
    resourceType: "ServiceRequest",
    id,
    status: (code !== undefined && Object.hasOwn(STATUS, code) ? STATUS[code] : undefined) ?? "unknown",
    intent: "order",
    subject: c.patientRef,
  };
  const prio = v(rf1.get(2, 1, 1));
  const priority = prio !== undefined && Object.hasOwn(PRIORITY, prio) ? PRIORITY[prio] : undefined;
  if (priority !== undefined) sr.priority = priority;
  const type = rf1.repetitions(3)[0];
  const typeCc = type !== undefined ? cweToConcept(type, "HL70281") : undefined;
  if (typeCc !== undefined) sr.category = [typeCc];
  const ref = v(rf1.get(6, 1, 1));
  if (ref !== undefined) sr.identifier = [{ value: ref }];
  const authored = v(rf1.get(9, 1, 1));
  if (authored !== undefined) sr.authoredOn = c.dateTime(authored, { segment: "RF1", field: 9 });
  const start = v(rf1.get(7, 1, 1));
  const end = v(rf1.get(8, 1, 1));
  if (start !== undefined || end !== undefined) {
    sr.occurrencePeriod = {};
    if (start !== undefined) sr.occurrencePeriod.start = c.dateTime(start, { segment: "RF1", field: 7 });
    if (end !== undefined) sr.occurrencePeriod.end = c.dateTime(end, { segment: "RF1", field: 8 });
  }
  const reasons = rf1.repetitions(10).map((x) => cweToConcept(x, "HL70336")).filter((x) => x !== undefined);
  if (reasons.length > 0) sr.reasonCode = reasons;
  const performers = [organizationFromXon(c, rf1.repetitions(19)[0]), ...practitionersOfField(c, rf1, 20)].filter((x) => x !== undefined);
  if (performers.length > 0) sr.performer = performers;
  if (encounter !== undefined) sr.encounter = { reference: `Encounter/${encounter}` };
  c.add(sr);
}
