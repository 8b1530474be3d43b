import type { FhirResource, Reference } from "fhir/r4";
import type { Hl7Message, Hl7Segment } from "../hl7";
import type { MapContext } from "./datatypes";
import { toFhirDateTime, type FieldRef } from "./datetime";
import type { EventRule, SegmentId } from "./events";
import type { IdStrategy } from "./ids";

/** Collects bundle entries keyed by `Type/id`; the first writer of an id wins (same seed ⇒ same content). */
export class EntrySet {
  readonly entries = new Map<string, FhirResource>();
  // Callers pass type and id read at their own (monomorphic) call site; reading them here would be megamorphic.
  add(type: string, id: string | undefined, r: FhirResource): Reference {
    const key = `${type}/${id as string}`;
    if (!this.entries.has(key)) this.entries.set(key, r);
    return { reference: key };
  }
}

/** State of one conversion, shared by the segment mappers. */
export class Conv {
  readonly out = new EntrySet();
  readonly msh: Hl7Segment;
  /** FHIR-Converter's output where it is valid FHIR ("convert-data"), or the fixed mapping ("stable"). */
  readonly convertData: boolean;
  /** Patient the message is about: its id is the base id of most other ids, even when no Patient is written. */
  patientId = "";
  patientRef: Reference = { reference: "" };
  accountId: string | undefined;
  /** MessageHeader.focus, in the order resources were made. */
  readonly focus: Reference[] = [];

  constructor(
    readonly msg: Hl7Message,
    readonly event: string,
    readonly rule: EventRule,
    readonly ids: IdStrategy,
    readonly ctx: MapContext,
  ) {
    this.msh = msg.segments[0];
    this.convertData = ids === "convert-data";
  }

  /** Segments of a repeating kind the event's template reads (none when it does not read them). */
  segments(name: SegmentId): readonly Hl7Segment[] {
    return this.rule.segments.includes(name) ? this.msg.segmentsNamed(name) : [];
  }

  dateTime(value: string, at: FieldRef): string {
    return toFhirDateTime(value, at, this.ctx.defaultOffset);
  }

  add(r: FhirResource): Reference {
    return this.out.add(r.resourceType, r.id, r);
  }
}

export function idOf(ref: Reference): string {
  const r = ref.reference as string;
  return r.slice(r.indexOf("/") + 1);
}

export function isDefined<T>(x: T | undefined): x is T {
  return x !== undefined;
}
