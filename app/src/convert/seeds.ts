import type { Hl7Node, Hl7Segment } from "../hl7";
import { v } from "./datatypes";
import { converterValue as cv } from "./ids";

/**
 * Id seeds, one entry per resource type, as FHIR-Converter's data/Templates/Hl7v2/ID/_<Type>.liquid build them:
 * the first branch whose fields are all present wins, values are `.Value` text (unescaped, lower-level
 * delimiters kept, then JSON-escaped: `cv`), and the last branch is the whole node's text. The hash and the base
 * id are applied by makeId (ids.ts). `undefined` means "no id" (the template renders a blank seed).
 *
 * Only the seeds both strategies share live here; where `stable` deliberately differs (Patient, Encounter,
 * Practitioner per repetition) the mapper says so beside its call.
 */

/** `.Value` of component `c` of a node (field nodes read their first repetition), or undefined when empty. */
function comp(n: Hl7Node | undefined, c: number): string | undefined {
  return n === undefined ? undefined : v(n.get(c));
}

/** `a,b` when both are present (a template's `{% if X and Y %}` branch). */
function pair(a: string | undefined, b: string | undefined): string | undefined {
  return a !== undefined && b !== undefined ? `${cv(a)},${cv(b)}` : undefined;
}

export const SEEDS = {
  /** ID/_Bundle.liquid: MSH-10. */
  Bundle: (msh: Hl7Segment): string => cv(msh.get(10)),

  /** ID/_MessageHeader.liquid: MSH-3,MSH-4,MSH-10, else the whole MSH. */
  MessageHeader(msh: Hl7Segment): string {
    const f3 = msh.field(3);
    const f4 = msh.field(4);
    const m10 = v(msh.get(10));
    return f3 !== undefined && f4 !== undefined && m10 !== undefined ? `${cv(f3.value)},${cv(f4.value)},${cv(m10)}` : cv(msh.raw);
  },

  /** ID/_Patient.liquid (type 'First'): PID-3[0].1,PID-3[0].4, present or not. */
  PatientFirst: (pid3: Hl7Node | undefined): string => `${cv(comp(pid3, 1))},${cv(comp(pid3, 4))}`,

  /** ID/_Provenance.liquid with MSH: MSH-3, else MSH-22, else the whole MSH (base: Patient, required). */
  ProvenanceMsh(msh: Hl7Segment): string {
    const f3 = msh.field(3);
    if (f3 !== undefined) return cv(f3.value);
    const f22 = msh.field(22);
    return f22 !== undefined ? cv(f22.value) : cv(msh.raw);
  },
  /** ID/_Provenance.liquid with EVN: the whole EVN segment. */
  ProvenanceEvn: (evn: Hl7Segment): string => cv(evn.raw),

  /** ID/_Encounter.liquid: PV1-19.1,PV1-19.4, else the whole PV1 (base: Patient). */
  Encounter: (pv1: Hl7Segment): string => pair(v(pv1.get(19, 1, 1)), v(pv1.get(19, 1, 4))) ?? cv(pv1.raw),

  /** ID/_Practitioner.liquid (XCN): XCN.1,XCN.9, else the XCN text (a field: all its repetitions). */
  Practitioner: (xcn: Hl7Node): string => pair(comp(xcn, 1), comp(xcn, 9)) ?? cv(xcn.value),

  /** ID/_Practitioner.liquid (XPN, e.g. IAM-14 for a caregiver): the XPN text. */
  PractitionerXpn: (xpn: Hl7Node): string => cv(xpn.value),

  /** ID/_Organization.liquid (HD): HD.1,HD.2, else the HD text. */
  OrganizationHd: (hd: Hl7Node): string => pair(comp(hd, 1), comp(hd, 2)) ?? cv(hd.value),
  /** ID/_Organization.liquid (XON): XON.10,XON.6, else XON.3,XON.6, else the XON text. */
  OrganizationXon(xon: Hl7Node): string {
    const x6 = cv(comp(xon, 6));
    const x10 = comp(xon, 10);
    if (x10 !== undefined) return `${cv(x10)},${x6}`;
    const x3 = comp(xon, 3);
    return x3 !== undefined ? `${cv(x3)},${x6}` : cv(xon.value);
  },

  /**
   * ID/_Location.liquid via Resource/_PLLocation.liquid, for PL component `k` (1,2,3,4,7,8): PL.k,PL.10 when
   * PL-10 is present, else PL.k and the PL text with PL-5 and PL-9 removed (Liquid `remove`: every occurrence).
   */
  LocationPl(pl: Hl7Node, k: number): string | undefined {
    const part = comp(pl, k);
    if (part === undefined) return undefined;
    const p10 = comp(pl, 10);
    if (p10 !== undefined) return `${cv(part)},${cv(p10)}`;
    let rest = cv(pl.value);
    for (const c of [5, 9]) {
      const x = comp(pl, c);
      if (x !== undefined) rest = rest.split(cv(x)).join("");
    }
    return `${cv(part)},${rest}`;
  },
  /** ID/_Location.liquid (HD, e.g. EVN-7): HD.1,HD.2, else the HD text. */
  LocationHd: (hd: Hl7Node): string => pair(comp(hd, 1), comp(hd, 2)) ?? cv(hd.value),

  /** ID/_RelatedPerson.liquid: NK1-33.1,NK1-33.4 / NK1-12.1,NK1-12.4 / the whole NK1 (base: Patient). */
  RelatedPersonNk1: (nk1: Hl7Segment): string =>
    pair(v(nk1.get(33, 1, 1)), v(nk1.get(33, 1, 4))) ?? pair(v(nk1.get(12, 1, 1)), v(nk1.get(12, 1, 4))) ?? cv(nk1.raw),
  /** ID/_RelatedPerson.liquid with PID: PID-21.1,PID-21.5, else PID-6 (the template never reaches PID-21 alone). */
  RelatedPersonPid: (pid: Hl7Segment): string | undefined =>
    pair(v(pid.get(21, 1, 1)), v(pid.get(21, 1, 5))) ?? (pid.field(6) !== undefined ? cv(pid.field(6)?.value) : undefined),
  /** ID/_RelatedPerson.liquid with GT1: GT1-2[0].1,GT1-2[0].4 when GT1-2 is present, else the whole GT1. */
  RelatedPersonGt1: (gt1: Hl7Segment): string =>
    gt1.field(2) !== undefined ? `${cv(v(gt1.get(2, 1, 1)))},${cv(v(gt1.get(2, 1, 4)))}` : cv(gt1.raw),
  /** ID/_RelatedPerson.liquid with IN1: IN1-49[0].1,IN1-49[0].4 when IN1-49 is present, else the whole IN1. */
  RelatedPersonIn1: (in1: Hl7Segment): string =>
    in1.field(49) !== undefined ? `${cv(v(in1.get(49, 1, 1)))},${cv(v(in1.get(49, 1, 4)))}` : cv(in1.raw),

  /** ID/_RelatedPerson.liquid with IAM (the template passes IAM-14): its text (base: Patient). */
  RelatedPersonIam: (iam14: Hl7Node): string => cv(iam14.value),

  /** ID/_AllergyIntolerance.liquid: AL1-2,AL1-3,AL1-4,AL1-5 when all four are present, else the whole AL1. */
  AllergyAl1(al1: Hl7Segment): string {
    const fs = [2, 3, 4, 5].map((f) => al1.field(f));
    return fs.every((f) => f !== undefined) ? fs.map((f) => cv(f?.value)).join(",") : cv(al1.raw);
  },
  /** ID/_AllergyIntolerance.liquid with IAM: IAM-1,IAM-3,IAM-6 when all are present, else the whole IAM. */
  AllergyIam(iam: Hl7Segment): string {
    const fs = [1, 3, 6].map((f) => iam.field(f));
    return fs.every((f) => f !== undefined) ? fs.map((f) => cv(f?.value)).join(",") : cv(iam.raw);
  },

  /** ID/_Condition.liquid: DG1-3,DG1-5 / DG1-3,DG1-19 / the whole DG1 (base: Patient). */
  Condition(dg1: Hl7Segment): string {
    const code = dg1.field(3);
    const d5 = dg1.field(5);
    const d19 = dg1.field(19);
    if (code !== undefined && d5 !== undefined) return `${cv(code.value)},${cv(d5.value)}`;
    if (code !== undefined && d19 !== undefined) return `${cv(code.value)},${cv(d19.value)}`;
    return cv(dg1.raw);
  },

  /** ID/_Condition.liquid as ADT_A01.liquid calls it for DG1-22 (the parent diagnosis EI field): its .3,.5 / .3,.19 / text. */
  ConditionParent: (f22: Hl7Node): string => pair(comp(f22, 3), comp(f22, 5)) ?? pair(comp(f22, 3), comp(f22, 19)) ?? cv(f22.value),
  /** ID/_Procedure.liquid as ADT_A01.liquid calls it for PR1-25 (a field, base "Patient/<id>"): .19 / .3.1,.3.3,.5 / text. */
  ProcedureParent(f25: Hl7Node): string {
    const c19 = comp(f25, 19);
    if (c19 !== undefined) return cv(c19);
    const c3 = comp(f25, 3);
    const c5 = comp(f25, 5);
    return c3 !== undefined && c5 !== undefined ? `${cv(v(f25.get(3, 1)))},${cv(v(f25.get(3, 3)))},${cv(c5)}` : cv(f25.value);
  },

  /** ID/_Observation.liquid: OBX-3,OBX-14 when both are present, else the whole OBX (base: Patient). */
  Observation(obx: Hl7Segment): string {
    const f3 = obx.field(3);
    const f14 = obx.field(14);
    return f3 !== undefined && f14 !== undefined ? `${cv(f3.value)},${cv(f14.value)}` : cv(obx.raw);
  },

  /** ID/_Observation.liquid's last branch: the whole OBX (base: Patient). */
  ObservationWhole: (obx: Hl7Segment): string => cv(obx.raw),

  /** ID/_Coverage.liquid: IN1-49.1,IN1-49.4, else the whole IN1. */
  Coverage: (in1: Hl7Segment): string => pair(v(in1.get(49, 1, 1)), v(in1.get(49, 1, 4))) ?? cv(in1.raw),

  /** ID/_Account.liquid (CX = PID-18): CX.1,CX.4, else the CX text (base: Patient). */
  AccountCx: (cx: Hl7Node): string => pair(comp(cx, 1), comp(cx, 4)) ?? cv(cx.value),
  /** ID/_Account.liquid (GT1_Account, no PID-18): GT1-2, else GT1-3. */
  AccountGt1: (gt1: Hl7Segment): string | undefined =>
    gt1.field(2) !== undefined ? cv(gt1.field(2)?.value) : gt1.field(3) !== undefined ? cv(gt1.field(3)?.value) : undefined,

  /** ID/_Linkage.liquid: MRG-1[0].1,MRG-1[0].4 (no base id). */
  Linkage: (mrg: Hl7Segment): string => `${cv(v(mrg.get(1, 1, 1)))},${cv(v(mrg.get(1, 1, 4)))}`,

  /** ID/_EpisodeOfCare.liquid: PV1.1,PV1.4 of the PV1-54 field the template passes, else its text. */
  EpisodeOfCare: (pv1_54: Hl7Node): string => pair(comp(pv1_54, 1), comp(pv1_54, 4)) ?? cv(pv1_54.value),

  /** ID/_Device.liquid (HD = MSH-3): HD.1,HD.2, else the HD text. */
  DeviceHd: (hd: Hl7Node): string => pair(comp(hd, 1), comp(hd, 2)) ?? cv(hd.value),
  /** ID/_Device.liquid (SFT): SFT-2, else the whole SFT. */
  DeviceSft: (sft: Hl7Segment): string => (sft.field(2) !== undefined ? cv(sft.field(2)?.value) : cv(sft.raw)),
  /** ID/_Device.liquid (EI = OBX-18[0]): the EI text. */
  DeviceEi: (ei: Hl7Node): string => cv(ei.value),

  /** ID/_PractitionerRole.liquid: ROL,XCN.1,XCN.9 / ROL,XCN (the template passes ROL-3 as `ROL`). */
  PractitionerRoleRol(rol3: Hl7Node | undefined, xcn: Hl7Node | undefined): string | undefined {
    if (xcn === undefined) return undefined;
    if (rol3 !== undefined) return `${cv(rol3.value)},${pair(comp(xcn, 1), comp(xcn, 9)) ?? cv(xcn.value)}`;
    return pair(comp(xcn, 1), comp(xcn, 9)) ?? cv(xcn.value);
  },
  /** ID/_PractitionerRole.liquid with only an XCN (OBX-16, OBX-25): XCN.1,XCN.9, else the XCN text. */
  PractitionerRoleXcn: (xcn: Hl7Node): string => pair(comp(xcn, 1), comp(xcn, 9)) ?? cv(xcn.value),

  /** ID/_Procedure.liquid with PDA (base: Patient): PID-3[0],PDA-4,PDA-5.1 (death) or PID-3[0],PDA-7,PDA-8.1 (autopsy). */
  ProcedurePda(pid3: Hl7Node | undefined, pda: Hl7Segment, kind: "death" | "autopsy"): string | undefined {
    const [when, by] = kind === "death" ? [pda.field(4), v(pda.get(5, 1, 1))] : [pda.field(7), v(pda.get(8, 1, 1))];
    return when !== undefined && by !== undefined ? `${cv(pid3?.value)},${cv(when.value)},${cv(by)}` : undefined;
  },
  /**
   * ID/_Observation.liquid with PDA (no base id): PDA-3,PDA-4,PDA-5.1 (death certificate), PDA-6,PDA-7,PDA-8.1
   * (autopsy), PDA-9 (coroner); undefined unless all are present.
   */
  ObservationPda(pda: Hl7Segment, kind: "death" | "autopsy" | "coroner"): string | undefined {
    const parts =
      kind === "death" ? [pda.field(3)?.value, pda.field(4)?.value, v(pda.get(5, 1, 1))]
      : kind === "autopsy" ? [pda.field(6)?.value, pda.field(7)?.value, v(pda.get(8, 1, 1))]
      : [pda.field(9)?.value];
    return parts.every((x) => x !== undefined) ? parts.map((x) => cv(x)).join(",") : undefined;
  },
  /** ID/_Condition.liquid with PDA: the PDA-1 repetition's text (base: Patient). */
  ConditionPda: (cause: Hl7Node): string => cv(cause.value),

  /** ID/_Observation.liquid with ACC (base: Patient): ACC-13[0], else ACC-1,ACC-2,ACC-3,ACC-11, else the whole ACC. */
  ObservationAcc(acc: Hl7Segment): string {
    const e13 = acc.repetitions(13)[0];
    if (e13 !== undefined) return cv(e13.value);
    const fs = [1, 2, 3, 11].map((n) => acc.field(n));
    return fs.every((x) => x !== undefined) ? fs.map((x) => cv(x?.value)).join(",") : cv(acc.raw);
  },
  /** ID/_Location.liquid with ACC: ACC-11, else ACC-3. */
  LocationAcc: (acc: Hl7Segment): string | undefined => {
    const f = acc.field(11) ?? acc.field(3);
    return f !== undefined ? cv(f.value) : undefined;
  },
  /** ID/_Location.liquid with DLD (PV1-37): the DLD text. */
  LocationDld: (dld: Hl7Node): string => cv(dld.value),
  /** ID/_Organization.liquid with HDORG (an HD component with all three parts): HD.1,HD.2. */
  OrganizationAuthority: (namespace: string, universalId: string): string => `${cv(namespace)},${cv(universalId)}`,
  /**
   * Insurer (IN1-4 XON, else IN1-3 CX): the XON rules of ID/_Organization.liquid, else IN1-3.1,IN1-3.4 (the template
   * writes no Organization without IN1-4; ours keeps the insurer id).
   */
  OrganizationInsurer(in1: Hl7Segment): string | undefined {
    const xon = in1.repetitions(4)[0];
    if (xon !== undefined) return SEEDS.OrganizationXon(xon);
    const cx = in1.repetitions(3)[0];
    return cx !== undefined ? `${cv(cx.get(1))},${cv(cx.get(4))}` : undefined;
  },
  /** ID/_ServiceRequest.liquid with RF1: the whole RF1 (base: Patient). */
  ServiceRequestRf1: (rf1: Hl7Segment): string => cv(rf1.raw),

  /** ID/_Procedure.liquid: PR1-19, else PR1-3.1,PR1-3.3,PR1-5, else the whole PR1 (base: Patient). */
  Procedure(pr1: Hl7Segment): string {
    const f19 = pr1.field(19);
    if (f19 !== undefined) return cv(f19.value);
    if (pr1.field(3) !== undefined && pr1.field(5) !== undefined) {
      return `${cv(v(pr1.get(3, 1, 1)))},${cv(v(pr1.get(3, 1, 3)))},${cv(pr1.field(5)?.value)}`;
    }
    return cv(pr1.raw);
  },
} as const;
