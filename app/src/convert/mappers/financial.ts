import type { Account, Coverage, Organization, Reference } from "fhir/r4";
import type { Hl7Segment } from "../../hl7";
import { SUBSCRIBER_RELATIONSHIP, lookup } from "../codes";
import { type Conv, isDefined } from "../context";
import { cxToIdentifier, v } from "../datatypes";
import { makeId, makeSharedId } from "../ids";
import { SEEDS } from "../seeds";
import { guarantor, insured } from "./related-person";

/** XON (IN1-4) plus the insurer id (IN1-3) → Organization; seed as ID/_Organization.liquid's XON rules. */
function payor(c: Conv, in1: Hl7Segment): Reference | undefined {
  const xon = in1.repetitions(4)[0];
  const idRep = in1.repetitions(3)[0];
  const id = makeSharedId("Organization", SEEDS.OrganizationInsurer(in1));
  if (id === undefined) return undefined;
  const org: Organization = { resourceType: "Organization", id };
  const name = xon !== undefined ? v(xon.get(1)) : undefined;
  if (name !== undefined) org.name = name;
  const ident = idRep !== undefined ? cxToIdentifier(idRep, { segment: "IN1", field: 3 }, c.ctx) : undefined;
  if (ident !== undefined) org.identifier = [ident];
  if (org.name === undefined && org.identifier === undefined) return undefined;
  return c.add(org);
}

export function coverage(c: Conv, in1: Hl7Segment): void {
  const cov: Coverage = {
    resourceType: "Coverage",
    id: makeId("Coverage", SEEDS.Coverage(in1)) as string,
    status: "active",
    beneficiary: c.patientRef,
    payor: [payor(c, in1) ?? c.patientRef],
  };
  const policy = v(in1.get(36, 1, 1));
  if (policy !== undefined) cov.identifier = [{ value: policy }];
  const member = v(in1.get(49, 1, 1)) ?? policy;
  if (member !== undefined) cov.subscriberId = member;
  const rel = v(in1.get(17, 1, 1));
  if (rel !== undefined) {
    const code = lookup(SUBSCRIBER_RELATIONSHIP, rel) ?? "other";
    cov.relationship = { coding: [{ system: "http://terminology.hl7.org/CodeSystem/subscriber-relationship", code }] };
  }
  const subscriber = insured(c, in1);
  if (subscriber !== undefined) cov.subscriber = subscriber;
  const group = v(in1.get(8, 1, 1));
  if (group !== undefined) {
    const name = v(in1.get(9, 1, 1));
    cov.class = [
      { type: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/coverage-class", code: "group" }] }, value: group, ...(name !== undefined ? { name } : {}) },
    ];
  }
  const start = v(in1.get(12, 1, 1));
  const end = v(in1.get(13, 1, 1));
  if (start !== undefined || end !== undefined) {
    cov.period = {};
    if (start !== undefined) cov.period.start = c.dateTime(start, { segment: "IN1", field: 12 });
    if (end !== undefined) cov.period.end = c.dateTime(end, { segment: "IN1", field: 13 });
  }
  c.add(cov);
}

/**
 * Account id, base Patient: PID-18 (ID/_Account.liquid, CX: the field as the template passes it), else the first
 * GT1 (GT1_Account). ADT_A03.liquid passes PID-3 instead and no base id, so an A03 names another Account than
 * the A01 of the same visit: convert-data reproduces that, stable keys every event on PID-18.
 */
export function accountId(c: Conv, pid: Hl7Segment | undefined): string | undefined {
  const f18 = pid?.field(18);
  if (f18 !== undefined && v(f18.get(1)) !== undefined) {
    const f3 = pid?.field(3);
    if (c.convertData && c.event === "A03" && f3 !== undefined) return makeId("Account", SEEDS.AccountCx(f3));
    return makeId("Account", SEEDS.AccountCx(f18), c.patientId);
  }
  const gt1 = c.segments("GT1")[0];
  return gt1 !== undefined ? makeId("Account", SEEDS.AccountGt1(gt1), c.patientId) : undefined;
}

/** PID-18 (else the GT1s) → Account, with the GT1 guarantors. */
export function account(c: Conv, pid: Hl7Segment): void {
  const guarantors = c.segments("GT1").map((gt1) => guarantor(c, gt1)).filter(isDefined);
  if (c.accountId === undefined) return;
  const acc: Account = { resourceType: "Account", id: c.accountId, status: "active", subject: [c.patientRef] };
  const rep = pid.repetitions(18)[0];
  const ident = rep !== undefined ? cxToIdentifier(rep, { segment: "PID", field: 18 }, c.ctx) : undefined;
  if (ident !== undefined) acc.identifier = [ident];
  if (guarantors.length > 0) acc.guarantor = guarantors.map((party) => ({ party }));
  c.add(acc);
}
