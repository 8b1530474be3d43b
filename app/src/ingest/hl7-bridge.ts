/**
 * The only place the ingest code touches the parser/converter modules (app/src/hl7, app/src/convert),
 * so their contract is adapted here once. Also maps their errors to ACK codes with PHI-free texts.
 */
import type { Bundle } from 'fhir/r4';
import { buildAck, Hl7ParseError, parseHl7, type Hl7Message } from '../hl7';
import { ConversionError, convertAdt, UnsupportedMessageError, validateHl7ForIngest } from '../convert';
import type { IdStrategy } from './config';
import type { LogReason } from './logger';

export type { Hl7Message };

export interface Header {
  controlId: string;
  messageType: string;
  triggerEvent: string;
  sendingApplication: string;
  sendingFacility: string;
  /** MSH-15; when present the sender uses enhanced acknowledgement mode (commit ACK = CA). */
  acceptAckType: string;
}

export function parseMessage(text: string): Hl7Message {
  return parseHl7(text);
}

export function headerOf(msg: Hl7Message): Header {
  const msh = msg.segment('MSH');
  return {
    controlId: msg.controlId ?? '',
    messageType: msg.messageType ?? '',
    triggerEvent: msg.triggerEvent ?? '',
    // Raw (escaped) MSH-3/4 so the dedupe key covers every component of the HD.
    sendingApplication: msg.sendingApplicationRaw,
    sendingFacility: msg.sendingFacilityRaw,
    acceptAckType: msh?.fieldRaw(15) ?? '',
  };
}

/** Throws UnsupportedMessageError / ConversionError for messages the pipeline cannot take. */
export function validateForIngest(msg: Hl7Message): void {
  validateHl7ForIngest(msg);
}

export function convertMessage(msg: Hl7Message, ids: IdStrategy): Bundle {
  return convertAdt(msg, { ids }) as Bundle;
}

export interface AckError {
  /** HL7 table 0357 code. */
  code: number;
  /** Fixed, PHI-free text. */
  text: string;
  segment?: string;
  field?: number;
}

export function ackText(msg: Hl7Message | undefined, ackCode: 'AA' | 'CA' | 'AE' | 'AR', error?: AckError): string {
  return buildAck(msg, ackCode, error ? { error: { code: String(error.code), text: error.text, segment: error.segment, field: error.field } } : {});
}

export interface Classified {
  ackCode: 'AE' | 'AR';
  error: AckError;
  reason: LogReason;
}

function codeOf(err: unknown, fallback: number): number {
  const c = Number((err as { hl7ErrorCode?: unknown; code?: unknown })?.hl7ErrorCode ?? (err as { code?: unknown })?.code);
  return Number.isInteger(c) && c >= 0 && c < 1000 ? c : fallback;
}

/**
 * AR for messages we refuse to take (malformed, unsupported type/event/version): the sender must not
 * resend as is. AE for messages that parse but whose content cannot be processed. Texts are fixed so an
 * ERR segment never quotes message content.
 */
export function classifyError(err: unknown): Classified {
  if (err instanceof Hl7ParseError) {
    return {
      ackCode: 'AR',
      reason: 'parse-error',
      error: { code: codeOf(err, 102), text: 'Message could not be parsed', segment: err.segment, field: err.field || undefined },
    };
  }
  if (err instanceof UnsupportedMessageError) {
    return {
      ackCode: 'AR',
      reason: 'unsupported-message',
      error: { code: codeOf(err, 200), text: 'Unsupported message type, event or version', segment: 'MSH', field: err.field },
    };
  }
  if ((err as Error | undefined)?.name === 'InvalidFhirError') {
    // The message is well-formed but its content cannot become valid FHIR: the sender must fix the data.
    return { ackCode: 'AE', reason: 'validation-error', error: { code: 207, text: 'Message content cannot be represented as valid FHIR R4' } };
  }
  if (err instanceof ConversionError) {
    return {
      ackCode: err.ackCode,
      reason: 'conversion-error',
      error: { code: codeOf(err, 207), text: 'Message content could not be converted', segment: err.segment, field: err.field },
    };
  }
  return { ackCode: 'AE', reason: 'internal-error', error: { code: 207, text: 'Application internal error' } };
}
