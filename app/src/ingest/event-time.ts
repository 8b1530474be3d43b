/**
 * The event time each resource carries, so that a write never replaces data from a newer message.
 *
 * Every resource of a delivered bundle gets two extensions on `meta.extension`:
 * - `EVENT_TIME_URL` (valueInstant): EVN-2 (recorded date/time of the event), else MSH-7, with its
 *   offset; a time without an offset is read as UTC, like the converter does by default;
 * - `MESSAGE_KEY_URL` (valueString): the message's dedupe key (a SHA-256 hex, no PHI), which breaks ties
 *   between two messages with the same event time so that concurrent writers agree on one winner.
 * `meta` is used, not the resource body, because it describes where this version came from, and every
 * R4 resource has it. A resource written before this existed carries no event time and counts as older
 * than any message.
 */
import type { Bundle, Resource } from 'fhir/r4';
import { toFhirInstant } from '../convert';
import type { Hl7Message } from './hl7-bridge';

export const EVENT_TIME_URL = 'https://fhir-platform.example.org/fhir/StructureDefinition/hl7v2-event-time';
export const MESSAGE_KEY_URL = 'https://fhir-platform.example.org/fhir/StructureDefinition/hl7v2-message-key';

export interface Stamp {
  /** FHIR instant with offset. */
  eventTime: string;
  /** Tie-breaker: the message's dedupe key. */
  key: string;
}

/** EVN-2, else MSH-7, as a FHIR instant. Throws the converter's ConversionError (102) for a bad value. */
export function messageEventTime(msg: Hl7Message): string {
  const evn = msg.segment('EVN') ? msg.get('EVN-2.1') : undefined;
  if (evn !== undefined && evn !== '' && evn !== '""') return toFhirInstant(evn, { segment: 'EVN', field: 2 }, 'Z');
  return toFhirInstant(msg.get('MSH-7.1') ?? '', { segment: 'MSH', field: 7 }, 'Z');
}

/** Records the stamp on every resource of the bundle (in place) and returns the bundle. */
export function stampBundle(bundle: Bundle, stamp: Stamp): Bundle {
  for (const e of bundle.entry ?? []) if (e.resource) setStamp(e.resource, stamp);
  return bundle;
}

export function setStamp(resource: Resource, stamp: Stamp): void {
  const others = (resource.meta?.extension ?? []).filter((x) => x.url !== EVENT_TIME_URL && x.url !== MESSAGE_KEY_URL);
  resource.meta = {
    ...(resource.meta ?? {}),
    extension: [...others, { url: EVENT_TIME_URL, valueInstant: stamp.eventTime }, { url: MESSAGE_KEY_URL, valueString: stamp.key }],
  };
}

export function stampOf(resource: Resource | undefined): Stamp | undefined {
  const ext = resource?.meta?.extension ?? [];
  const eventTime = ext.find((x) => x.url === EVENT_TIME_URL)?.valueInstant;
  if (!eventTime) return undefined;
  return { eventTime, key: ext.find((x) => x.url === MESSAGE_KEY_URL)?.valueString ?? '' };
}

function instantMs(t: string): number {
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? ms : Number.NEGATIVE_INFINITY;
}

/** > 0 when `a` is newer than `b`; 0 only for the same message. A missing stamp is the oldest. */
export function compareStamps(a: Stamp | undefined, b: Stamp | undefined): number {
  if (!a || !b) return a ? 1 : b ? -1 : 0;
  const d = instantMs(a.eventTime) - instantMs(b.eventTime);
  if (d !== 0) return d;
  // Sub-millisecond digits, then the key: any total order works as long as every writer uses the same one.
  const frac = (t: string) => /\.(\d+)/.exec(t)?.[1].padEnd(9, '0') ?? '000000000';
  const f = frac(a.eventTime).localeCompare(frac(b.eventTime));
  return f !== 0 ? f : a.key.localeCompare(b.key);
}
