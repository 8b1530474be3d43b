/**
 * The one logger every ingest module uses. It is PHI-safe by construction: callers can only pass an
 * allow-listed set of fields, every value is checked against a narrow pattern, and free text (error
 * messages, payloads, OperationOutcome diagnostics) has no field to go into. A value that fails its
 * pattern is replaced by a short hash so lines stay correlatable without echoing the input.
 */
import { createHash } from 'node:crypto';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Receives one finished JSON line. In Azure this is the InvocationContext's log method. */
export type LogSink = (level: LogLevel, line: string) => void;

/** Why a message was rejected, parked or retried. A closed set so no free text can leak. */
export type LogReason =
  | 'unsupported-media-type'
  | 'payload-too-large'
  | 'bad-charset'
  | 'empty-body'
  | 'parse-error'
  | 'unsupported-message'
  | 'validation-error'
  | 'conversion-error'
  | 'missing-control-id'
  | 'duplicate'
  | 'duplicate-conflict'
  | 'in-flight'
  | 'takeover'
  | 'storage-error'
  | 'fhir-rejected'
  | 'fhir-transient'
  | 'token-error'
  | 'network-error'
  | 'timeout'
  | 'retries-exhausted'
  | 'invalid-envelope'
  | 'payload-missing'
  | 'internal-error'
  | 'startup-error'
  | 'config-error'
  | 'unauthorized'
  | 'forbidden'
  | 'facility-not-permitted';

export interface LogFields {
  /** MSH-10. Sender-controlled, so it is always written as a short hash (compute the same hash to search). */
  controlId?: string;
  /** MSH-9.1 / MSH-9.2, e.g. ADT / A01. */
  messageType?: string;
  triggerEvent?: string;
  ackCode?: string;
  hl7ErrorCode?: number;
  reason?: LogReason;
  /** HTTP status (ours or the FHIR server's). */
  status?: number;
  attempt?: number;
  dequeueCount?: number;
  count?: number;
  resources?: number;
  bytes?: number;
  durationMs?: number;
  delayMs?: number;
  /** Error constructor name or Node error code; never the message. */
  errorClass?: string;
  errorCode?: string;
  invocationId?: string;
  check?: string;
  ok?: boolean;
}

const CODE = /^[A-Za-z0-9_]{1,16}$/;
/** HL7 table 0076 message types: MSH-9.1 is logged only when it is one of these, else hashed. */
const MESSAGE_TYPES = new Set(['ACK', 'ADR', 'ADT', 'BAR', 'DFT', 'MDM', 'MFN', 'OML', 'ORL', 'ORM', 'ORR', 'ORU', 'QBP', 'QRY', 'RDE', 'RSP', 'SIU', 'VXU']);
const TRIGGER_EVENT = /^[A-Z][0-9]{2}$/;
const IDENT = /^[A-Za-z][A-Za-z0-9_]{0,47}$/;
const UUIDISH = /^[A-Za-z0-9-]{1,64}$/;
const EVENT = /^[a-z][a-z0-9_.-]{0,63}$/;

function shortHash(value: string): string {
  return '#' + createHash('sha256').update(value).digest('hex').slice(0, 12);
}

function pick(value: string, pattern: RegExp): string {
  return pattern.test(value) ? value : shortHash(value);
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? Math.round(value * 1000) / 1000 : undefined;
}

/** Builds the JSON line for an event; exported for tests. Unknown keys and non-conforming values are dropped or hashed. */
export function formatLogLine(event: string, fields: LogFields = {}): string {
  const out: Record<string, string | number | boolean> = { event: EVENT.test(event) ? event : 'invalid-event' };
  const f = fields as Record<string, unknown>;
  for (const key of Object.keys(f)) {
    const v = f[key];
    if (v === undefined || v === null) continue;
    switch (key) {
      case 'controlId':
        // Senders put anything in MSH-10 (MRNs, names and dates have been seen): never written as is.
        if (typeof v === 'string') out.controlId = shortHash(v);
        break;
      case 'messageType':
        if (typeof v === 'string') out.messageType = MESSAGE_TYPES.has(v) ? v : shortHash(v);
        break;
      case 'triggerEvent':
        if (typeof v === 'string') out.triggerEvent = pick(v, TRIGGER_EVENT);
        break;
      case 'ackCode':
        if (typeof v === 'string') out[key] = pick(v, CODE);
        break;
      case 'reason':
      case 'check':
        if (typeof v === 'string') out[key] = pick(v, EVENT);
        break;
      case 'errorClass':
      case 'errorCode':
        if (typeof v === 'string') out[key] = pick(v, IDENT);
        break;
      case 'invocationId':
        if (typeof v === 'string') out.invocationId = pick(v, UUIDISH);
        break;
      case 'ok':
        if (typeof v === 'boolean') out.ok = v;
        break;
      case 'hl7ErrorCode':
      case 'status':
      case 'attempt':
      case 'dequeueCount':
      case 'count':
      case 'resources':
      case 'bytes':
      case 'durationMs':
      case 'delayMs': {
        const n = num(v);
        if (n !== undefined) out[key] = n;
        break;
      }
      default:
        // Not on the allow-list: dropped on purpose.
        break;
    }
  }
  return JSON.stringify(out);
}

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A logger that adds the given fields (e.g. invocationId) to every line. */
  child(fields: LogFields): Logger;
}

export function createLogger(sink: LogSink, base: LogFields = {}): Logger {
  const emit = (level: LogLevel, event: string, fields?: LogFields): void => {
    try {
      sink(level, formatLogLine(event, { ...base, ...fields }));
    } catch {
      // Logging must never break message handling.
    }
  };
  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
    child: (fields) => createLogger(sink, { ...base, ...fields }),
  };
}

/** Sink writing to an Azure Functions InvocationContext (or anything with the same methods). */
export function contextSink(ctx: {
  debug(...a: unknown[]): void;
  info(...a: unknown[]): void;
  warn(...a: unknown[]): void;
  error(...a: unknown[]): void;
}): LogSink {
  return (level, line) => ctx[level](line);
}

/** Sink for CLIs and the demo: stderr, so stdout stays machine-readable. */
export const stderrSink: LogSink = (level, line) => {
  process.stderr.write(`${level} ${line}\n`);
};

/** Error class / code only, for the errorClass and errorCode fields. */
export function errorFields(err: unknown): Pick<LogFields, 'errorClass' | 'errorCode'> {
  if (!(err instanceof Error)) return { errorClass: typeof err };
  const code = (err as { code?: unknown }).code ?? (err.cause as { code?: unknown } | undefined)?.code;
  return { errorClass: err.name || err.constructor?.name, errorCode: typeof code === 'string' ? code : undefined };
}
