import type { EncounterStatus } from "./codes";

/**
 * The ADT events this converter handles, as data. Each row follows the FHIR-Converter template named in
 * `template` (microsoft/FHIR-Converter:data/Templates/Hl7v2/ADT_<event>.liquid, v7.0); A12 has no template
 * there and is mapped like the A02 it cancels. A newcomer adding an event adds a row here and, at most, a mapper.
 */

/** Repeating segments a template reads (beyond MSH, EVN, PID, PD1, PV1, PV2, which every visit event reads). */
export type SegmentId =
  | "NK1" | "DB1" | "OBX" | "AL1" | "DG1" | "PR1" | "GT1" | "IN1" | "IN2" | "ROL" | "ARV" | "SFT" | "IAM" | "NTE" | "RF1" | "PDA" | "ACC";

/** PV1-3 Encounter.location status: from PV1-2 (P → planned, else active), a fixed status, or none. */
export type LocationRule = "by-class" | "active" | "completed" | "planned" | "none";

export interface EventRule {
  /** What the message is about: a visit of the PID patient, a person without a visit, a merge, a visit move. */
  readonly kind: "visit" | "person" | "linkage" | "move-visit" | "allergy";
  /** Encounter.status the template forces; undefined: PV1-45 → finished, else from PV1-2 (_Encounter.liquid). */
  readonly status?: EncounterStatus;
  /** PV1-45 gives period.end (A13/A25 reopen the visit, so no end). */
  readonly endFromPv1: boolean;
  /** PV2-8/PV2-9 (expected admit/discharge) override the period: both ends, only the end (A16), or not at all. */
  readonly pv2Period?: "start-end" | "end";
  /** Status of the PV1-3 location. */
  readonly location: LocationRule;
  /** Whether PV1-6 (prior location) is listed as completed; A12 cancels the move away from it. */
  readonly priorLocation: boolean;
  /** PV1-42/PV2-1 (pending locations) are listed on the Encounter; A26 cancels the pending transfer. */
  readonly pendingLocations: boolean;
  /** Repeating segments mapped. */
  readonly segments: readonly SegmentId[];
  /** Segment the HL7 abstract message structure requires besides MSH/EVN/PID. */
  readonly requires?: "PV1" | "MRG" | "IAM";
  /** A40/A47 retire the patient named by MRG-1, which must therefore be sent. */
  readonly mergesPatients?: boolean;
  /** A41 links account numbers too (PID-18 source, MRG-3 historical). */
  readonly linkAccounts?: boolean;
  /** A29 deletes the person: every entry becomes a DELETE (convert-data) or the person's own (stable). */
  readonly delete?: boolean;
}

const FULL: readonly SegmentId[] = ["SFT", "ARV", "NK1", "DB1", "OBX", "AL1", "DG1", "PR1", "GT1", "IN1", "IN2", "ROL", "RF1", "ACC"];
/** A01/A03/A04/A08/A13 also read PDA (death and autopsy). */
const FULL_PDA: readonly SegmentId[] = [...FULL, "PDA"];
/** A06/A07 read everything but RF1 (and AUT, which nothing maps). */
const CLASS_CHANGE: readonly SegmentId[] = FULL.filter((s) => s !== "RF1");
const TRACK: readonly SegmentId[] = ["SFT", "DB1", "OBX"];
const MERGE: readonly SegmentId[] = ["SFT"];

const visit = (r: Partial<EventRule>): EventRule => ({
  kind: "visit",
  endFromPv1: true,
  location: "by-class",
  priorLocation: true,
  pendingLocations: true,
  segments: FULL,
  requires: "PV1",
  ...r,
});

export const EVENTS: Readonly<Record<string, EventRule>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, EventRule>, {
    A01: visit({ status: "in-progress", location: "active", segments: FULL_PDA }),
    A02: visit({ status: "in-progress", location: "active", segments: ["SFT", "ARV", "DB1", "OBX", "ROL", "PDA"] }),
    A03: visit({ status: "finished", location: "completed", segments: FULL_PDA }),
    A04: visit({ status: "in-progress", location: "active", pv2Period: "start-end", segments: FULL_PDA }),
    A05: visit({ status: "planned", location: "planned", pv2Period: "start-end" }),
    A06: visit({ segments: CLASS_CHANGE }),
    A07: visit({ segments: CLASS_CHANGE }),
    A08: visit({ segments: FULL_PDA }),
    A09: visit({ location: "active", segments: TRACK }),
    A10: visit({ location: "active", segments: TRACK }),
    A11: visit({ status: "cancelled", location: "none", pv2Period: "start-end", segments: TRACK }),
    A12: visit({ status: "in-progress", location: "active", priorLocation: false, segments: ["SFT", "DB1", "OBX", "DG1"] }),
    A13: visit({ status: "in-progress", location: "active", endFromPv1: false, segments: FULL_PDA }),
    A14: visit({ status: "planned", location: "planned", pv2Period: "start-end" }),
    A15: visit({ status: "in-progress", location: "active", segments: ["SFT", "ARV", "DB1", "OBX"] }),
    A16: visit({ status: "in-progress", location: "active", pv2Period: "end" }),
    A25: visit({ status: "in-progress", location: "active", endFromPv1: false, segments: TRACK }),
    A26: visit({ status: "in-progress", location: "active", pendingLocations: false, segments: TRACK }),
    A27: visit({ status: "cancelled", location: "none", pv2Period: "start-end", segments: TRACK }),
    // A28/A31 (ADT_A05 structure) still build the Encounter from a PV1 when one is sent.
    A28: visit({ kind: "person", requires: undefined }),
    A29: visit({ kind: "person", requires: undefined, segments: TRACK, delete: true }),
    A31: visit({ kind: "person", requires: undefined }),
    A40: visit({ kind: "linkage", requires: "MRG", segments: MERGE, mergesPatients: true }),
    A41: visit({ kind: "linkage", requires: "MRG", segments: MERGE, linkAccounts: true }),
    A45: visit({ kind: "move-visit", requires: "MRG", segments: MERGE }),
    A47: visit({ kind: "linkage", requires: "MRG", segments: ["SFT", "ARV"], mergesPatients: true }),
    A60: visit({ kind: "allergy", requires: "IAM", segments: ["SFT", "ARV", "IAM", "NTE"] }),
  }),
);

/** Own-property lookup of an event row (MSH-9.2 is message text). */
export function eventRule(event: string | undefined): EventRule | undefined {
  return event !== undefined && Object.hasOwn(EVENTS, event) ? EVENTS[event] : undefined;
}
