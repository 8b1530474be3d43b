/**
 * Message -> the transaction the delivery writes: convert, stamp every resource with the message's event
 * time, validate against R4. The HTTP function runs this before it acknowledges (so AA means the message
 * will land as valid FHIR) and the delivery runs it again from the stored text; both get the same bundle.
 */
import type { Bundle } from 'fhir/r4';
import type { IdStrategy } from './config';
import { messageEventTime, stampBundle } from './event-time';
import { convertMessage, type Hl7Message } from './hl7-bridge';
import { bundleProblems } from './r4/validate';

export type Converter = (msg: Hl7Message, ids: IdStrategy) => Bundle;

/** The converter produced something that is not valid FHIR R4. Carries counts, never paths or values. */
export class InvalidFhirError extends Error {
  constructor(readonly problemCount: number) {
    super(`conversion produced invalid FHIR R4 (${problemCount} problems)`);
    this.name = 'InvalidFhirError';
  }
}

export interface PipelineOptions {
  ids: IdStrategy;
  /** Dedupe key of the message: the tie-breaker between messages with the same event time. */
  key: string;
  maxEntries?: number;
  /** Replaces the converter (tests: a converter defect must still end in an error ACK). */
  convert?: Converter;
}

export function toTransaction(msg: Hl7Message, o: PipelineOptions): Bundle {
  const bundle = (o.convert ?? convertMessage)(msg, o.ids);
  stampBundle(bundle, { eventTime: messageEventTime(msg), key: o.key });
  const problems = bundleProblems(bundle, Number.POSITIVE_INFINITY);
  if (problems.length > 0) throw new InvalidFhirError(problems.length);
  return bundle;
}
