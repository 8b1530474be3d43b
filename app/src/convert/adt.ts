import type {
  Account,
  AllergyIntolerance,
  Bundle,
  BundleEntry,
  CodeableConcept,
  Condition,
  ContactPoint,
  Coverage,
  Encounter,
  EncounterLocation,
  EncounterParticipant,
  FhirResource,
  Identifier,
  Location,
  MessageHeader,
  Observation,
  Organization,
  Patient,
  PatientContact,
  Practitioner,
  Provenance,
  Reference,
  RelatedPerson,
} from "fhir/r4";
import { parseHl7, type Hl7Message, type Hl7Node, type Hl7Segment } from "../hl7";
import {
  ALLERGY_CATEGORY,
  ALLERGY_CRITICALITY,
  ENCOUNTER_CLASS,
  ENCOUNTER_STATUS_BY_CLASS,
  GENDER,
  MARITAL_STATUS,
  OBSERVATION_STATUS,
  SUBSCRIBER_RELATIONSHIP,
  type EncounterStatus,
} from "./codes";
import {
  code as codeOf,
  cweToConcept,
  cxToIdentifier,
  hdToSystem,
  v,
  xadToAddress,
  xcnToName,
  xpnToName,
  xtnToContactPoint,
  type MapContext,
} from "./datatypes";
import { checkOffset, checkTimeZone, toFhirDate, toFhirDateTime, toFhirInstant, type FieldRef } from "./datetime";
import { ConversionError } from "./errors";
import { converterValue as cv, makeId, type IdStrategy } from "./ids";
import { validateHl7ForIngest } from "./validate";

export interface ConvertOptions {
  /** Id strategy: "stable" (default, FHIR-Converter's algorithm with two defects fixed) or "convert-data" (exact). */
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

/** Events for which the message describes a person, not a visit: no Encounter is produced. */
const PERSON_ONLY = new Set(["A28", "A31", "A40"]);

/** Collects bundle entries keyed by `Type/id`; the first writer of an id wins (same seed ⇒ same content). */
class EntrySet {
  readonly entries = new Map<string, FhirResource>();
  // Callers pass type and id read at their own (monomorphic) call site; reading them here would be megamorphic.
  add(type: string, id: string | undefined, r: FhirResource): Reference {
    const key = `${type}/${id as string}`;
    if (!this.entries.has(key)) this.entries.set(key, r);
    return { reference: key };
  }
}

class AdtConverter {
  private readonly out = new EntrySet();
  private readonly ctx: MapContext;
  private readonly ids: IdStrategy;
  private readonly event: string;
  private readonly msh: Hl7Segment;
  private accountIdMemo: string | undefined;

  constructor(private readonly msg: Hl7Message, opts: ConvertOptions) {
    this.ids = opts.ids ?? "stable";
    if (this.ids !== "stable" && this.ids !== "convert-data") {
      throw new TypeError(`Invalid ids option "${String(this.ids)}": expected "stable" or "convert-data"`);
    }
    this.ctx = {
      defaultOffset: opts.timeZone !== undefined ? checkTimeZone(opts.timeZone) : checkOffset(opts.defaultOffset ?? "Z"),
      identifierSystemBase: opts.identifierSystemBase ?? DEFAULT_IDENTIFIER_SYSTEM_BASE,
    };
    this.msh = msg.segments[0];
    this.event = msg.triggerEvent ?? "";
  }

  convert(): Bundle {
    const msg = this.msg;
    const sender = this.organizationFromHd(this.msh, 4) ?? this.organizationFromHd(this.msh, 3);
    const receiver = this.organizationFromHd(this.msh, 6);
    const focus: Reference[] = [];

    const pids = msg.segmentsNamed("PID");
    const pid = pids[0];
    const patientRef = this.patient(pid);
    const patientId = idOf(patientRef);
    focus.push(patientRef);

    if (this.event === "A40") {
      const mrgs = msg.segmentsNamed("MRG");
      for (let i = 0; i < mrgs.length; i++) {
        const survivor = i === 0 ? patientRef : this.patient(pids[i] ?? pid);
        focus.push(this.mergedPatient(mrgs[i], survivor));
        if (i > 0) focus.push(survivor);
      }
    }

    const conditions = msg.segmentsNamed("DG1").map((dg1) => ({ dg1, ref: undefined as Reference | undefined }));
    let encounterRef: Reference | undefined;
    const pv1 = msg.segment("PV1");
    if (pv1 !== undefined && !PERSON_ONLY.has(this.event)) {
      encounterRef = this.encounterId(pv1, patientId);
      focus.push(encounterRef);
    }
    for (const c of conditions) c.ref = this.condition(c.dg1, patientRef, patientId, encounterRef);
    if (pv1 !== undefined && encounterRef !== undefined) {
      this.encounter(pv1, idOf(encounterRef), patientRef, patientId, conditions);
    }
    for (const nk1 of msg.segmentsNamed("NK1")) this.relatedPersonFromNk1(nk1, patientRef, patientId);
    for (const al1 of msg.segmentsNamed("AL1")) this.allergy(al1, patientRef, patientId);
    for (const obx of msg.segmentsNamed("OBX")) this.observation(obx, patientRef, patientId, encounterRef);
    for (const in1 of msg.segmentsNamed("IN1")) this.coverage(in1, patientRef, patientId);
    this.account(pid, patientRef, patientId);

    const provenanceTargets = [...this.out.entries.keys()].map((reference) => ({ reference }));
    const header = this.messageHeader(sender, receiver, focus);
    this.provenance(patientId, provenanceTargets, sender);

    const controlId = msg.controlId ?? "";
    const bundle: Bundle = {
      resourceType: "Bundle",
      id: makeId("Bundle", cv(controlId)),
      type: "transaction",
      identifier: { value: controlId },
      timestamp: toFhirInstant(this.msh.get(7, 1, 1) ?? "", { segment: "MSH", field: 7 }, this.ctx.defaultOffset),
      entry: [],
    };
    const entries = bundle.entry as BundleEntry[];
    // The EntrySet keys are the `Type/id` request URLs (already flat strings, shared with the references).
    for (const [url, r] of this.out.entries) if (r === header) entries.push(entry(r, url));
    for (const [url, r] of this.out.entries) if (r !== header) entries.push(entry(r, url));
    return bundle;
  }

  // ---- Patient ------------------------------------------------------------------------------------------

  /** The PID-3 repetition the Patient id is keyed on, and the authority text used in the seed. */
  private patientKey(reps: readonly Hl7Node[]): { rep: Hl7Node; authority: string } | undefined {
    if (reps.length === 0) return undefined;
    if (this.ids === "convert-data") {
      // FHIR-Converter: PID-3[0].1,PID-3[0].4, whatever the identifier type (microsoft/FHIR-Converter#243).
      return { rep: reps[0], authority: cv(reps[0].get(4)) };
    }
    // Stable: prefer the medical record number, and always key on an authority; without CX-4 fall back to
    // the sending facility, so equal MRNs from different facilities do not collide.
    const rep = reps.find((r) => r.get(5) === "MR" && v(r.get(1)) !== undefined) ?? reps.find((r) => v(r.get(1)) !== undefined) ?? reps[0];
    const authority = v(rep.get(4)) ?? `MSH-4:${this.msh.get(4) ?? ""}`;
    return { rep, authority: cv(authority) };
  }

  private patientIdFor(reps: readonly Hl7Node[], where: FieldRef): string {
    const key = this.patientKey(reps);
    const id = key === undefined ? undefined : makeId("Patient", `${cv(key.rep.get(1))},${key.authority}`);
    if (id === undefined) {
      throw new ConversionError("required field missing (patient identifier)", { code: "101", ...where });
    }
    return id;
  }

  private patient(pid: Hl7Segment): Reference {
    const at = (field: number): FieldRef => ({ segment: "PID", field });
    const id = this.patientIdFor(pid.repetitions(3), at(3));
    const p: Patient = { resourceType: "Patient", id };
    const identifiers: Identifier[] = [];
    for (const f of [2, 3, 4]) {
      for (const rep of pid.repetitions(f)) {
        const ident = cxToIdentifier(rep, at(f), this.ctx);
        if (ident !== undefined) identifiers.push(ident);
      }
    }
    const ssn = v(pid.get(19));
    if (ssn !== undefined) {
      identifiers.push({
        system: "http://hl7.org/fhir/sid/us-ssn",
        value: ssn,
        type: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v2-0203", code: "SB", display: "Social Beneficiary Identifier" }] },
      });
    }
    const dl = pid.repetitions(20)[0];
    if (dl !== undefined && v(dl.get(1)) !== undefined) {
      const system = hdToSystem(v(dl.get(2)), undefined, undefined, this.ctx);
      identifiers.push({
        value: dl.get(1) as string,
        ...(system !== undefined ? { system } : {}),
        type: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v2-0203", code: "DL", display: "Driver's license number" }] },
      });
    }
    if (identifiers.length > 0) p.identifier = identifiers;
    const names = [...pid.repetitions(5), ...pid.repetitions(9)].map(xpnToName).filter(isDefined);
    if (names.length > 0) p.name = names;
    const telecom = [
      ...pid.repetitions(13).map((x) => xtnToContactPoint(x, "home")),
      ...pid.repetitions(14).map((x) => xtnToContactPoint(x, "work")),
    ].filter(isDefined);
    if (telecom.length > 0) p.telecom = telecom;
    const gender = GENDER[pid.get(8, 1, 1) ?? ""];
    if (gender !== undefined) p.gender = gender;
    const dob = v(pid.get(7, 1, 1));
    if (dob !== undefined) {
      const { date, hasTime } = toFhirDate(dob, at(7));
      p.birthDate = date;
      if (hasTime) {
        p._birthDate = {
          extension: [
            {
              url: "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
              valueDateTime: toFhirDateTime(dob, at(7), this.ctx.defaultOffset),
            },
          ],
        };
      }
    }
    const county = v(pid.get(12));
    const addresses = pid.repetitions(11).map(xadToAddress).filter(isDefined);
    if (county !== undefined) for (const a of addresses) a.district ??= county;
    if (addresses.length > 0) p.address = addresses;
    const marital = codeOf(pid.get(16, 1, 1));
    if (marital !== undefined) {
      const code = MARITAL_STATUS[marital];
      p.maritalStatus =
        code !== undefined
          ? { coding: [{ system: code === "UNK" ? "http://terminology.hl7.org/CodeSystem/v3-NullFlavor" : "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", code }] }
          : { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v2-0002", code: marital }] };
    }
    const language = pid.repetitions(15)[0];
    if (language !== undefined) {
      const cc = cweToConcept(language, "ISO639");
      if (cc !== undefined) p.communication = [{ language: cc }];
    }
    const multiple = v(pid.get(24));
    const order = v(pid.get(25));
    if (order !== undefined && /^[1-9]\d{0,3}$/.test(order)) p.multipleBirthInteger = Number(order);
    else if (multiple === "Y" || multiple === "N") p.multipleBirthBoolean = multiple === "Y";
    const deathTime = v(pid.get(29, 1, 1));
    const deceased = v(pid.get(30));
    if (deathTime !== undefined) p.deceasedDateTime = toFhirDateTime(deathTime, at(29), this.ctx.defaultOffset);
    else if (deceased === "Y" || deceased === "N") p.deceasedBoolean = deceased === "Y";
    // NK1 contacts are merged into the Patient, as FHIR-Converter does.
    const contacts = this.msg.segmentsNamed("NK1").map((nk1) => this.patientContact(nk1)).filter(isDefined);
    if (contacts.length > 0 && pid === this.msg.segment("PID")) p.contact = contacts;
    return this.out.add(p.resourceType, p.id, p);
  }

  /** A40: the Patient named in MRG-1 is marked inactive and linked to the survivor (and vice versa). */
  private mergedPatient(mrg: Hl7Segment, survivor: Reference): Reference {
    const reps = mrg.repetitions(1);
    const id = this.patientIdFor(reps, { segment: "MRG", field: 1 });
    if (`Patient/${id}` === survivor.reference) {
      throw new ConversionError("prior patient identifier is the surviving patient's identifier", { code: "205", segment: "MRG", field: 1 });
    }
    const old: Patient = { resourceType: "Patient", id, active: false, link: [{ other: survivor, type: "replaced-by" }] };
    const identifiers = reps.map((r) => cxToIdentifier(r, { segment: "MRG", field: 1 }, this.ctx)).filter(isDefined);
    if (identifiers.length > 0) old.identifier = identifiers;
    const ref = this.out.add(old.resourceType, old.id, old);
    const surv = this.out.entries.get(survivor.reference as string) as Patient;
    (surv.link ??= []).push({ other: ref, type: "replaces" });
    return ref;
  }

  private patientContact(nk1: Hl7Segment): PatientContact | undefined {
    const c: PatientContact = {};
    const name = nk1.repetitions(2).map(xpnToName).find(isDefined);
    if (name !== undefined) c.name = name;
    const telecom = this.nk1Telecom(nk1);
    if (telecom.length > 0) c.telecom = telecom;
    const address = nk1.repetitions(4).map(xadToAddress).find(isDefined);
    if (address !== undefined) c.address = address;
    if (Object.keys(c).length === 0) return undefined; // pat-1: a contact needs details
    const rel = [nk1.repetitions(7)[0], nk1.repetitions(3)[0]].map((x) => (x !== undefined ? cweToConcept(x) : undefined)).filter(isDefined);
    if (rel.length > 0) c.relationship = rel;
    return c;
  }

  private nk1Telecom(nk1: Hl7Segment): ContactPoint[] {
    return [
      ...nk1.repetitions(5).map((x) => xtnToContactPoint(x, "home")),
      ...nk1.repetitions(6).map((x) => xtnToContactPoint(x, "work")),
    ].filter(isDefined);
  }

  // ---- Encounter ----------------------------------------------------------------------------------------

  private encounterId(pv1: Hl7Segment, patientId: string): Reference {
    const visit = v(pv1.get(19, 1, 1));
    const visitAuth = v(pv1.get(19, 1, 4));
    let seed: string;
    if (this.ids === "convert-data") {
      // FHIR-Converter: PV1-19.1,PV1-19.4 only when both are present, else the whole PV1 text
      // (so any PV1 change gives a new Encounter: microsoft/FHIR-Converter#207).
      seed = visit !== undefined && visitAuth !== undefined ? `${cv(visit)},${cv(visitAuth)}` : cv(pv1.raw);
    } else if (visit !== undefined) {
      seed = `${cv(visit)},${cv(visitAuth)}`;
    } else {
      // No visit number: the alternate visit id, else the admit time, else (last resort) the PV1 text.
      const alt = v(pv1.get(50, 1, 1));
      const admit = v(pv1.get(44, 1, 1));
      seed = alt !== undefined ? `PV1-50:${cv(alt)}` : admit !== undefined ? `PV1-44:${cv(admit)}` : cv(pv1.raw);
    }
    return { reference: `Encounter/${makeId("Encounter", seed, patientId) as string}` };
  }

  private encounterStatus(pv1: Hl7Segment): EncounterStatus {
    switch (this.event) {
      case "A01":
      case "A02":
      case "A04":
      case "A12":
      case "A13":
        return "in-progress";
      case "A03":
        return "finished";
      case "A05":
        return "planned";
      case "A11":
        return "cancelled";
      default:
        if (v(pv1.get(45, 1, 1)) !== undefined) return "finished";
        return ENCOUNTER_STATUS_BY_CLASS[pv1.get(2, 1, 1) ?? ""] ?? "unknown";
    }
  }

  private encounter(
    pv1: Hl7Segment,
    id: string,
    patient: Reference,
    patientId: string,
    conditions: { dg1: Hl7Segment; ref: Reference | undefined }[],
  ): void {
    const at = (field: number): FieldRef => ({ segment: "PV1", field });
    const cls = ENCOUNTER_CLASS[pv1.get(2, 1, 1) ?? ""];
    const e: Encounter = {
      resourceType: "Encounter",
      id,
      status: this.encounterStatus(pv1),
      class: cls ?? { system: "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", code: "UNK", display: "unknown" },
      subject: patient,
    };
    const visit = pv1.repetitions(19)[0];
    if (visit !== undefined) {
      const ident = cxToIdentifier(visit, at(19), this.ctx);
      if (ident !== undefined) {
        ident.type ??= { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v2-0203", code: "VN", display: "Visit number" }] };
        e.identifier = [ident];
      }
    }
    const start = v(pv1.get(44, 1, 1));
    const end = this.event === "A13" ? undefined : v(pv1.get(45, 1, 1));
    if (start !== undefined || end !== undefined) {
      e.period = {};
      if (start !== undefined) e.period.start = toFhirDateTime(start, at(44), this.ctx.defaultOffset);
      if (end !== undefined) e.period.end = toFhirDateTime(end, at(45), this.ctx.defaultOffset);
    }
    const participants: EncounterParticipant[] = [];
    for (const [field, code, display] of [
      [7, "ATND", "attender"],
      [8, "REF", "referrer"],
      [9, "CON", "consultant"],
      [17, "ADM", "admitter"],
    ] as const) {
      for (const xcn of pv1.repetitions(field)) {
        const who = this.practitioner(xcn);
        if (who === undefined) continue;
        participants.push({
          type: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", code, display }] }],
          individual: who,
        });
      }
    }
    if (participants.length > 0) e.participant = participants;
    const locations: EncounterLocation[] = [];
    const addLocation = (field: number, status: EncounterLocation["status"]): void => {
      const ref = this.location(pv1, field);
      if (ref !== undefined && !locations.some((l) => l.location.reference === ref.reference)) locations.push({ location: ref, status });
    };
    addLocation(3, "active");
    // A12 cancels the transfer away from PV1-6's location, so that stay never ended.
    if (this.event !== "A12") addLocation(6, "completed");
    addLocation(42, "planned");
    if (locations.length > 0) e.location = locations;
    const admitSource = pv1.repetitions(14)[0];
    const discharge = pv1.repetitions(36)[0];
    const hosp: NonNullable<Encounter["hospitalization"]> = {};
    const src = admitSource !== undefined ? cweToConcept(admitSource, "HL70023") : undefined;
    if (src !== undefined) hosp.admitSource = src;
    const dis = discharge !== undefined ? cweToConcept(discharge, "HL70112") : undefined;
    if (dis !== undefined) hosp.dischargeDisposition = dis;
    if (Object.keys(hosp).length > 0) e.hospitalization = hosp;
    const pv2 = this.msg.segment("PV2");
    const reason = pv2?.repetitions(3)[0];
    const reasonCc = reason !== undefined ? cweToConcept(reason) : undefined;
    if (reasonCc !== undefined) e.reasonCode = [reasonCc];
    const facility = v(pv1.get(39, 1, 1));
    if (facility !== undefined) {
      const org: Organization = { resourceType: "Organization", id: makeId("Organization", cv(facility)) as string, name: facility };
      e.serviceProvider = this.out.add(org.resourceType, org.id, org);
    }
    const diagnoses = conditions
      .filter((c) => c.ref !== undefined)
      .map((c) => {
        const d: NonNullable<Encounter["diagnosis"]>[number] = { condition: c.ref as Reference };
        const rank = v(c.dg1.get(15));
        if (rank !== undefined && /^[1-9]\d{0,8}$/.test(rank)) d.rank = Number(rank);
        const type = c.dg1.get(6, 1, 1);
        const use = type === "A" ? "AD" : type === "F" ? "DD" : undefined;
        if (use !== undefined) d.use = { coding: [{ system: "http://terminology.hl7.org/CodeSystem/diagnosis-role", code: use }] };
        return d;
      });
    if (diagnoses.length > 0) e.diagnosis = diagnoses;
    const pid = this.msg.segment("PID");
    if (pid !== undefined && v(pid.get(18, 1, 1)) !== undefined) e.account = [{ reference: `Account/${this.accountId(pid, patientId)}` }];
    this.out.add(e.resourceType, e.id, e);
  }

  // ---- Practitioner, Location, Organization ---------------------------------------------------------

  private practitioner(xcn: Hl7Node): Reference | undefined {
    const idValue = v(xcn.get(1));
    const auth = v(xcn.get(9));
    const seed = idValue !== undefined && auth !== undefined ? `${cv(idValue)},${cv(auth)}` : cv(xcn.value);
    const id = makeId("Practitioner", seed);
    if (id === undefined) return undefined;
    const p: Practitioner = { resourceType: "Practitioner", id };
    if (idValue !== undefined) {
      const system = hdToSystem(v(xcn.get(9, 1)), v(xcn.get(9, 2)), v(xcn.get(9, 3)), this.ctx);
      p.identifier = [{ value: idValue, ...(system !== undefined ? { system } : {}) }];
    }
    const name = xcnToName(xcn);
    if (name !== undefined) p.name = [name];
    if (p.identifier === undefined && p.name === undefined) return undefined;
    return this.out.add(p.resourceType, p.id, p);
  }

  private location(seg: Hl7Segment, field: number): Reference | undefined {
    const pl = seg.repetitions(field)[0];
    if (pl === undefined) return undefined;
    const seed = v(pl.get(10)) !== undefined ? cv(pl.get(10)) : cv(pl.value);
    const id = makeId("Location", seed);
    if (id === undefined) return undefined;
    const parts = [pl.get(1), pl.get(2), pl.get(3)].map(v).filter(isDefined);
    const facility = v(pl.get(4, 1));
    const loc: Location = { resourceType: "Location", id, mode: "instance", status: "active" };
    loc.name = parts.length > 0 ? parts.join(" ") : (facility ?? cv(pl.value));
    const bed = v(pl.get(3));
    const room = v(pl.get(2));
    const physical = bed !== undefined ? ["bd", "Bed"] : room !== undefined ? ["ro", "Room"] : parts.length > 0 ? ["wa", "Ward"] : undefined;
    if (physical !== undefined) {
      loc.physicalType = { coding: [{ system: "http://terminology.hl7.org/CodeSystem/location-physical-type", code: physical[0], display: physical[1] }] };
    }
    if (facility !== undefined) {
      const org: Organization = { resourceType: "Organization", id: makeId("Organization", cv(pl.get(4))) as string, name: facility };
      loc.managingOrganization = this.out.add(org.resourceType, org.id, org);
    }
    return this.out.add(loc.resourceType, loc.id, loc);
  }

  /** HD field (MSH-3/4/6) → Organization; seed HD.1,HD.2 when both, else the HD text. */
  private organizationFromHd(seg: Hl7Segment, field: number): Reference | undefined {
    const hd = seg.repetitions(field)[0];
    if (hd === undefined) return undefined;
    const ns = v(hd.get(1));
    const uid = v(hd.get(2));
    const seed = ns !== undefined && uid !== undefined ? `${cv(ns)},${cv(uid)}` : cv(hd.value);
    const id = makeId("Organization", seed);
    if (id === undefined) return undefined;
    const org: Organization = { resourceType: "Organization", id };
    if (ns !== undefined) org.name = ns;
    const system = uid !== undefined ? hdToSystem(undefined, uid, v(hd.get(3)), this.ctx) : undefined;
    if (system !== undefined) org.identifier = [{ system: "urn:ietf:rfc:3986", value: system }];
    if (org.name === undefined && org.identifier === undefined) org.name = hd.value;
    return this.out.add(org.resourceType, org.id, org);
  }

  /** XON (IN1-4) plus the insurer id (IN1-3) → Organization; seed as FHIR-Converter's XON rules. */
  private payor(in1: Hl7Segment): Reference | undefined {
    const xon = in1.repetitions(4)[0];
    const idRep = in1.repetitions(3)[0];
    let seed: string | undefined;
    if (xon !== undefined) {
      const x10 = v(xon.get(10));
      const x3 = v(xon.get(3));
      seed = x10 !== undefined ? `${cv(x10)},${cv(xon.get(6))}` : x3 !== undefined ? `${cv(x3)},${cv(xon.get(6))}` : cv(xon.value);
    } else if (idRep !== undefined) {
      seed = `${cv(idRep.get(1))},${cv(idRep.get(4))}`;
    }
    const id = makeId("Organization", seed);
    if (id === undefined) return undefined;
    const org: Organization = { resourceType: "Organization", id };
    const name = xon !== undefined ? v(xon.get(1)) : undefined;
    if (name !== undefined) org.name = name;
    const ident = idRep !== undefined ? cxToIdentifier(idRep, { segment: "IN1", field: 3 }, this.ctx) : undefined;
    if (ident !== undefined) org.identifier = [ident];
    if (org.name === undefined && org.identifier === undefined) return undefined;
    return this.out.add(org.resourceType, org.id, org);
  }

  // ---- Related people, clinical data, financial ---------------------------------------------------

  private relatedPersonFromNk1(nk1: Hl7Segment, patient: Reference, patientId: string): void {
    const k33 = v(nk1.get(33, 1, 1));
    const k33a = v(nk1.get(33, 1, 4));
    const k12 = v(nk1.get(12, 1, 1));
    const k12a = v(nk1.get(12, 1, 4));
    const seed =
      k33 !== undefined && k33a !== undefined ? `${cv(k33)},${cv(k33a)}` : k12 !== undefined && k12a !== undefined ? `${cv(k12)},${cv(k12a)}` : cv(nk1.raw);
    const rp: RelatedPerson = { resourceType: "RelatedPerson", id: makeId("RelatedPerson", seed, patientId) as string, patient };
    const identifiers = [...nk1.repetitions(33), ...nk1.repetitions(12)]
      .map((x) => cxToIdentifier(x, { segment: "NK1", field: 33 }, this.ctx))
      .filter(isDefined);
    if (identifiers.length > 0) rp.identifier = identifiers;
    const rel = [nk1.repetitions(3)[0], nk1.repetitions(7)[0]].map((x) => (x !== undefined ? cweToConcept(x) : undefined)).filter(isDefined);
    if (rel.length > 0) rp.relationship = rel;
    const names = nk1.repetitions(2).map(xpnToName).filter(isDefined);
    if (names.length > 0) rp.name = names;
    const telecom = this.nk1Telecom(nk1);
    if (telecom.length > 0) rp.telecom = telecom;
    const addresses = nk1.repetitions(4).map(xadToAddress).filter(isDefined);
    if (addresses.length > 0) rp.address = addresses;
    const gender = GENDER[nk1.get(15, 1, 1) ?? ""];
    if (gender !== undefined) rp.gender = gender;
    const dob = v(nk1.get(16, 1, 1));
    if (dob !== undefined) rp.birthDate = toFhirDate(dob, { segment: "NK1", field: 16 }).date;
    this.out.add(rp.resourceType, rp.id, rp);
  }

  private allergy(al1: Hl7Segment, patient: Reference, patientId: string): void {
    const seed = [2, 3, 4, 5].map((f) => cv(al1.get(f))).join(",");
    const a: AllergyIntolerance = {
      resourceType: "AllergyIntolerance",
      id: makeId("AllergyIntolerance", seed, patientId) as string,
      clinicalStatus: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", code: "active", display: "Active" }] },
      patient,
    };
    const type = al1.get(2, 1, 1);
    const category = type !== undefined ? ALLERGY_CATEGORY[type] : undefined;
    if (category !== undefined) a.category = [category];
    const allergen = al1.repetitions(3)[0];
    const code = allergen !== undefined ? cweToConcept(allergen) : undefined;
    if (code !== undefined) a.code = code;
    const criticality = ALLERGY_CRITICALITY[al1.get(4, 1, 1) ?? ""];
    if (criticality !== undefined) a.criticality = criticality;
    const manifestations = al1.repetitions(5).map((x) => v(x.value)).filter(isDefined).map((text): CodeableConcept => ({ text }));
    const onset = v(al1.get(6, 1, 1));
    const onsetDt = onset !== undefined ? toFhirDateTime(onset, { segment: "AL1", field: 6 }, this.ctx.defaultOffset) : undefined;
    if (manifestations.length > 0) {
      a.reaction = [{ manifestation: manifestations, ...(onsetDt !== undefined ? { onset: onsetDt } : {}) }];
    } else if (onsetDt !== undefined) {
      a.onsetDateTime = onsetDt;
    }
    this.out.add(a.resourceType, a.id, a);
  }

  private condition(dg1: Hl7Segment, patient: Reference, patientId: string, encounter: Reference | undefined): Reference {
    const code = dg1.field(3);
    const d5 = dg1.field(5);
    const d19 = dg1.field(19);
    const seed =
      code !== undefined && d5 !== undefined ? `${cv(code.value)},${cv(d5.value)}`
      : code !== undefined && d19 !== undefined ? `${cv(code.value)},${cv(d19.value)}`
      : cv(dg1.raw);
    const c: Condition = {
      resourceType: "Condition",
      id: makeId("Condition", seed, patientId) as string,
      category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/condition-category", code: "encounter-diagnosis", display: "Encounter Diagnosis" }] }],
      subject: patient,
    };
    const rep = dg1.repetitions(3)[0];
    const cc = rep !== undefined ? cweToConcept(rep) : undefined;
    const text = v(dg1.get(4));
    if (cc !== undefined || text !== undefined) c.code = { ...(cc ?? {}), ...(cc?.text === undefined && text !== undefined ? { text } : {}) };
    if (encounter !== undefined) c.encounter = encounter;
    const onset = v(dg1.get(5, 1, 1));
    if (onset !== undefined) c.onsetDateTime = toFhirDateTime(onset, { segment: "DG1", field: 5 }, this.ctx.defaultOffset);
    const recorded = v(dg1.get(19, 1, 1));
    if (recorded !== undefined) c.recordedDate = toFhirDateTime(recorded, { segment: "DG1", field: 19 }, this.ctx.defaultOffset);
    return this.out.add(c.resourceType, c.id, c);
  }

  private observation(obx: Hl7Segment, patient: Reference, patientId: string, encounter: Reference | undefined): void {
    const f21 = obx.field(21);
    const a = v(obx.get(21, 1, 1));
    const b = v(obx.get(21, 1, 2));
    const c3 = v(obx.get(21, 1, 3));
    const seed =
      a !== undefined && b !== undefined ? `${cv(a)},${cv(b)}`
      : a !== undefined && c3 !== undefined ? `${cv(a)},${cv(c3)}`
      : f21 !== undefined ? cv(f21.value)
      : cv(obx.raw);
    const codeRep = obx.repetitions(3)[0];
    const code = codeRep !== undefined ? cweToConcept(codeRep) : undefined;
    if (code === undefined) throw new ConversionError("required field missing (observation identifier)", { code: "101", segment: "OBX", field: 3 });
    const o: Observation = {
      resourceType: "Observation",
      id: makeId("Observation", seed, patientId) as string,
      status: OBSERVATION_STATUS[obx.get(11, 1, 1) ?? ""] ?? "unknown",
      code,
      subject: patient,
    };
    if (encounter !== undefined) o.encounter = encounter;
    this.observationValue(obx, o);
    const range = v(obx.get(7));
    if (range !== undefined) o.referenceRange = [{ text: range }];
    const interp = obx.repetitions(8).map((x) => codeOf(x.get(1))).filter(isDefined);
    if (interp.length > 0) {
      o.interpretation = interp.map((c) => ({ coding: [{ system: "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", code: c }] }));
    }
    const eff = v(obx.get(14, 1, 1));
    if (eff !== undefined) o.effectiveDateTime = toFhirDateTime(eff, { segment: "OBX", field: 14 }, this.ctx.defaultOffset);
    this.out.add(o.resourceType, o.id, o);
  }

  private observationValue(obx: Hl7Segment, o: Observation): void {
    const rep = obx.repetitions(5)[0];
    if (rep === undefined) return;
    const type = obx.get(2, 1, 1);
    switch (type) {
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
        if (d !== undefined) o.valueDateTime = toFhirDateTime(d, { segment: "OBX", field: 5 }, this.ctx.defaultOffset);
        return;
      }
      default:
        break;
    }
    const text = obx.repetitions(5).map((r) => v(r.value)).filter(isDefined).join("\n");
    if (text.length > 0) o.valueString = text;
  }

  private coverage(in1: Hl7Segment, patient: Reference, patientId: string): void {
    const m1 = v(in1.get(49, 1, 1));
    const m4 = v(in1.get(49, 1, 4));
    const seed = m1 !== undefined && m4 !== undefined ? `${cv(m1)},${cv(m4)}` : cv(in1.raw);
    const payor = this.payor(in1) ?? patient;
    const cov: Coverage = {
      resourceType: "Coverage",
      id: makeId("Coverage", seed) as string,
      status: "active",
      beneficiary: patient,
      payor: [payor],
    };
    const policy = v(in1.get(36, 1, 1));
    if (policy !== undefined) cov.identifier = [{ value: policy }];
    const member = m1 ?? policy;
    if (member !== undefined) cov.subscriberId = member;
    const rel = v(in1.get(17, 1, 1));
    if (rel !== undefined) {
      const code = SUBSCRIBER_RELATIONSHIP[rel] ?? "other";
      cov.relationship = { coding: [{ system: "http://terminology.hl7.org/CodeSystem/subscriber-relationship", code }] };
      if (rel === "SEL") cov.subscriber = patient;
      else {
        const seedRp = m1 !== undefined ? `${cv(m1)},${cv(m4)}` : cv(in1.raw);
        const rp: RelatedPerson = { resourceType: "RelatedPerson", id: makeId("RelatedPerson", seedRp, patientId) as string, patient };
        const rc = in1.repetitions(17)[0];
        const relCc = rc !== undefined ? cweToConcept(rc) : undefined;
        if (relCc !== undefined) rp.relationship = [relCc];
        const names = in1.repetitions(16).map(xpnToName).filter(isDefined);
        if (names.length > 0) rp.name = names;
        const addresses = in1.repetitions(19).map(xadToAddress).filter(isDefined);
        if (addresses.length > 0) rp.address = addresses;
        cov.subscriber = this.out.add(rp.resourceType, rp.id, rp);
      }
    }
    const group = v(in1.get(8, 1, 1));
    if (group !== undefined) {
      cov.class = [
        {
          type: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/coverage-class", code: "group" }] },
          value: group,
          ...(v(in1.get(9, 1, 1)) !== undefined ? { name: in1.get(9, 1, 1) } : {}),
        },
      ];
    }
    const start = v(in1.get(12, 1, 1));
    const end = v(in1.get(13, 1, 1));
    if (start !== undefined || end !== undefined) {
      cov.period = {};
      if (start !== undefined) cov.period.start = toFhirDateTime(start, { segment: "IN1", field: 12 }, this.ctx.defaultOffset);
      if (end !== undefined) cov.period.end = toFhirDateTime(end, { segment: "IN1", field: 13 }, this.ctx.defaultOffset);
    }
    this.out.add(cov.resourceType, cov.id, cov);
  }

  private accountId(pid: Hl7Segment, patientId: string): string {
    // Asked for by the Encounter and by the Account itself: hash once (every conversion reads the first PID).
    if (this.accountIdMemo !== undefined) return this.accountIdMemo;
    const a1 = v(pid.get(18, 1, 1));
    const a4 = v(pid.get(18, 1, 4));
    const seed = a1 !== undefined && a4 !== undefined ? `${cv(a1)},${cv(a4)}` : cv(pid.field(18)?.value);
    this.accountIdMemo = makeId("Account", seed, patientId) as string;
    return this.accountIdMemo;
  }

  /** PID-18 → Account, with GT1 guarantors. */
  private account(pid: Hl7Segment, patient: Reference, patientId: string): void {
    const rep = pid.repetitions(18)[0];
    const guarantors = this.msg.segmentsNamed("GT1").map((gt1) => this.guarantor(gt1, patient, patientId)).filter(isDefined);
    if (rep === undefined || v(rep.get(1)) === undefined) return;
    const acc: Account = { resourceType: "Account", id: this.accountId(pid, patientId), status: "active", subject: [patient] };
    const ident = cxToIdentifier(rep, { segment: "PID", field: 18 }, this.ctx);
    if (ident !== undefined) acc.identifier = [ident];
    if (guarantors.length > 0) acc.guarantor = guarantors.map((party) => ({ party }));
    this.out.add(acc.resourceType, acc.id, acc);
  }

  /** GT1 → the guarantor: the Patient itself when GT1-11 is SEL, else a RelatedPerson. */
  private guarantor(gt1: Hl7Segment, patient: Reference, patientId: string): Reference | undefined {
    if (gt1.get(11, 1, 1) === "SEL") return patient;
    const g1 = v(gt1.get(2, 1, 1));
    const seed = gt1.field(2) !== undefined ? `${cv(g1)},${cv(gt1.get(2, 1, 4))}` : cv(gt1.raw);
    const rp: RelatedPerson = { resourceType: "RelatedPerson", id: makeId("RelatedPerson", seed, patientId) as string, patient };
    const ids = gt1.repetitions(2).map((x) => cxToIdentifier(x, { segment: "GT1", field: 2 }, this.ctx)).filter(isDefined);
    if (ids.length > 0) rp.identifier = ids;
    const rel = gt1.repetitions(11)[0];
    const relCc = rel !== undefined ? cweToConcept(rel) : undefined;
    if (relCc !== undefined) rp.relationship = [relCc];
    const names = gt1.repetitions(3).map(xpnToName).filter(isDefined);
    if (names.length > 0) rp.name = names;
    const addresses = gt1.repetitions(5).map(xadToAddress).filter(isDefined);
    if (addresses.length > 0) rp.address = addresses;
    const telecom = gt1.repetitions(6).map((x) => xtnToContactPoint(x, "home")).filter(isDefined);
    if (telecom.length > 0) rp.telecom = telecom;
    return this.out.add(rp.resourceType, rp.id, rp);
  }

  // ---- Message-level resources ----------------------------------------------------------------------

  private messageHeader(sender: Reference | undefined, receiver: Reference | undefined, focus: Reference[]): MessageHeader {
    const msh = this.msh;
    const m3 = v(msh.get(3, 1, 1));
    const m10 = v(msh.get(10));
    const seed = msh.field(3) !== undefined && msh.field(4) !== undefined && m10 !== undefined
      ? `${cv(msh.field(3)?.value)},${cv(msh.field(4)?.value)},${cv(m10)}`
      : cv(msh.raw);
    const h: MessageHeader = {
      resourceType: "MessageHeader",
      id: makeId("MessageHeader", seed) as string,
      eventCoding: { system: "http://terminology.hl7.org/CodeSystem/v2-0003", code: this.event },
      source: this.endpointOf(3, m3) as MessageHeader["source"],
    };
    const processing = codeOf(msh.get(11, 1, 1));
    if (processing !== undefined) h.meta = { tag: [{ system: "http://terminology.hl7.org/CodeSystem/v2-0103", code: processing }] };
    if (v(msh.get(5, 1, 1)) !== undefined || receiver !== undefined) {
      const dest = this.endpointOf(5, v(msh.get(5, 1, 1))) as NonNullable<MessageHeader["destination"]>[number];
      if (receiver !== undefined) dest.receiver = receiver;
      h.destination = [dest];
    }
    if (sender !== undefined) h.sender = sender;
    if (focus.length > 0) h.focus = focus;
    this.out.add(h.resourceType, h.id, h);
    return h;
  }

  /**
   * MessageHeader.source/destination (endpoint is 1..1): name from HD-1; endpoint from an ISO/UUID universal
   * id, else a deterministic urn:uuid derived from the HD text. FHIR-Converter leaves the endpoint absent with a
   * data-absent-reason, which FHIR.js rejects as a missing required element.
   */
  private endpointOf(field: number, name: string | undefined): { name?: string; endpoint: string } {
    const uid = v(this.msh.get(field, 1, 2));
    const system = uid !== undefined ? hdToSystem(undefined, uid, v(this.msh.get(field, 1, 3)), this.ctx) : undefined;
    const endpoint = system !== undefined && system.startsWith("urn:")
      ? system
      : `urn:uuid:${makeId("Endpoint", cv(this.msh.field(field)?.value) || "unknown") as string}`;
    return name !== undefined ? { name, endpoint } : { endpoint };
  }

  private provenance(patientId: string, targets: Reference[], sender: Reference | undefined): void {
    const evn = this.msg.segment("EVN");
    const at = (field: number): FieldRef => ({ segment: "EVN", field });
    const recordedRaw = v(evn?.get(2, 1, 1)) ?? v(this.msh.get(7, 1, 1)) ?? "";
    const recordedAt = v(evn?.get(2, 1, 1)) !== undefined ? at(2) : { segment: "MSH", field: 7 };
    const p: Provenance = {
      resourceType: "Provenance",
      id: makeId("Provenance", cv(this.msh.raw), patientId) as string,
      target: targets,
      recorded: toFhirInstant(recordedRaw, recordedAt, this.ctx.defaultOffset),
      activity: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v2-0003", code: this.event }] },
      agent: [],
    };
    const occurred = v(evn?.get(6, 1, 1));
    if (occurred !== undefined) p.occurredDateTime = toFhirDateTime(occurred, at(6), this.ctx.defaultOffset);
    const reason = evn?.repetitions(4)[0];
    const reasonCc = reason !== undefined ? cweToConcept(reason, "HL70062") : undefined;
    if (reasonCc !== undefined) p.reason = [reasonCc];
    const agentType = (code: string, display: string): CodeableConcept => ({
      coding: [{ system: "http://terminology.hl7.org/CodeSystem/provenance-participant-type", code, display }],
    });
    if (sender !== undefined) p.agent.push({ type: agentType("author", "Author"), who: sender });
    const operator = evn?.repetitions(5)[0];
    const op = operator !== undefined ? this.practitioner(operator) : undefined;
    if (op !== undefined) p.agent.push({ type: agentType("enterer", "Enterer"), who: op });
    if (p.agent.length === 0) {
      // agent is 1..*; with neither MSH-3/4 nor EVN-5 the only known party is the patient the message is about.
      p.agent.push({ type: agentType("informant", "Informant"), who: { reference: `Patient/${patientId}` } });
    }
    this.out.add(p.resourceType, p.id, p);
  }
}

function idOf(ref: Reference): string {
  const r = ref.reference as string;
  return r.slice(r.indexOf("/") + 1);
}

function isDefined<T>(x: T | undefined): x is T {
  return x !== undefined;
}

function entry(resource: FhirResource, url: string): BundleEntry {
  return { fullUrl: `urn:uuid:${resource.id as string}`, resource, request: { method: "PUT", url } };
}

/**
 * Converts one HL7 v2 ADT message to a FHIR R4 transaction Bundle of `PUT Type/id` upserts.
 * Throws Hl7ParseError for malformed text, UnsupportedMessageError for messages this converter does not
 * handle, and ConversionError for data it cannot map (both with PHI-free messages and HL7 error codes).
 */
export function convertAdt(input: Hl7Message | string, options: ConvertOptions = {}): Bundle {
  const msg = typeof input === "string" ? parseHl7(input) : input;
  validateHl7ForIngest(msg);
  return new AdtConverter(msg, options).convert();
}
