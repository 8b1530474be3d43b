/**
 * POST /api/hl7 as a plain function with injected dependencies (the v4 registration lives in
 * app/src/functions). HL7 over HTTP: one message per request, answered with an HL7 ACK whose segments
 * end in CR. Status codes: 200 with AA/CA on accept (also for an acknowledged duplicate); 400 with
 * AR/AE + ERR for bad input; 503 with AR when storage is unavailable (the sender should resend);
 * 413 / 415 without an ACK when the body is too large or not HL7 text (documented in app/INGEST.md).
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { acceptOnce, dedupeIdentity, dedupeKey, type AcceptDeps } from './accept';
import type { EntraCallerValidator } from './caller-auth';
import type { IdStrategy } from './config';
import { toTransaction, type Converter } from './pipeline';
import { ackText, classifyError, headerOf, parseMessage, validateForIngest, type AckError, type Hl7Message } from './hl7-bridge';
import { contextSink, createLogger, errorFields, type Logger } from './logger';

export const ACCEPTED_MEDIA_TYPES = ['application/hl7-v2', 'x-application/hl7-v2+er7', 'application/hl7-v2+er7', 'text/plain'] as const;

export interface HttpIngestDeps extends AcceptDeps {
  maxBodyBytes: number;
  idStrategy: IdStrategy;
  /** Messages whose transaction would exceed this many entries get an AE (default 500, the AHDS limit). */
  maxBundleEntries?: number;
  /** Replaces the converter (tests: a converter defect must still end in an error ACK, never AA). */
  convert?: Converter;
  /** Entra caller validation and the sender -> facility map; absent only with INGEST_AUTH_MODE=none. */
  auth?: EntraCallerValidator;
  /** Receives the accept-time convert + validate duration in ms (benchmark). */
  onConverted?: (ms: number) => void;
}

interface MediaType {
  type: string;
  charset?: string;
}

export function parseContentType(header: string | null): MediaType | undefined {
  if (!header) return undefined;
  const [typePart, ...params] = header.split(';');
  const type = typePart.trim().toLowerCase();
  let charset: string | undefined;
  for (const p of params) {
    const m = /^\s*charset\s*=\s*"?([^";\s]+)"?\s*$/i.exec(p);
    if (m) charset = m[1].toLowerCase();
  }
  return { type, charset };
}

/** Decoder for the declared charset (UTF-8 by default); undefined when Node does not know it. */
function decoderFor(charset: string | undefined): InstanceType<typeof TextDecoder> | undefined {
  try {
    // fatal: invalid byte sequences become an AR instead of silently turning into U+FFFD.
    return new TextDecoder(charset ?? 'utf-8', { fatal: true, ignoreBOM: false });
  } catch {
    return undefined;
  }
}

const PLAIN = { 'content-type': 'text/plain; charset=utf-8' };

export async function handleHl7Post(request: HttpRequest, context: InvocationContext, deps: HttpIngestDeps): Promise<HttpResponseInit> {
  const started = Date.now();
  const log = createLogger(contextSink(context)).child({ invocationId: context.invocationId });
  try {
    return await ingest(request, deps, log, started);
  } catch (err) {
    // Last line of defence: still answer with an ACK so the sender knows to resend.
    log.error('hl7.failed', { reason: 'internal-error', ...errorFields(err), durationMs: Date.now() - started });
    return ackResponse(undefined, 'AR', 500, 'text/plain', { code: 207, text: 'Application internal error' });
  }
}

function ackResponse(msg: Hl7Message | undefined, code: 'AA' | 'CA' | 'AE' | 'AR', status: number, mediaType: string, error?: AckError, extra: Record<string, string> = {}): HttpResponseInit {
  let body: string;
  try {
    body = ackText(msg, code, error);
  } catch {
    // A message that parsed but whose header cannot be mirrored: answer with a header-less ACK.
    body = ackText(undefined, code, error);
  }
  return { status, body, headers: { 'content-type': `${mediaType}; charset=utf-8`, ...extra } };
}

async function ingest(request: HttpRequest, deps: HttpIngestDeps, log: Logger, started: number): Promise<HttpResponseInit> {
  const elapsed = () => Date.now() - started;
  // The caller first: nothing of an unauthenticated body is read, parsed or stored.
  let sender = '';
  if (deps.auth) {
    const a = await deps.auth.validate(request.headers.get('authorization'));
    if (!a.ok) {
      log.warn('hl7.rejected', { reason: a.status === 401 ? 'unauthorized' : 'forbidden', check: a.why, status: a.status, durationMs: elapsed() });
      return { status: a.status, body: a.status === 401 ? 'Unauthorized\n' : 'Forbidden\n', headers: { ...PLAIN, 'www-authenticate': `Bearer error="${a.error}"` } };
    }
    sender = a.sender;
  }
  const media = parseContentType(request.headers.get('content-type'));
  if (!media || !(ACCEPTED_MEDIA_TYPES as readonly string[]).includes(media.type)) {
    log.warn('hl7.rejected', { reason: 'unsupported-media-type', status: 415, durationMs: elapsed() });
    return {
      status: 415,
      body: `Unsupported Media Type: send one HL7 v2 message as ${ACCEPTED_MEDIA_TYPES.join(', ')}\n`,
      headers: PLAIN,
    };
  }
  const replyType = media.type === 'text/plain' ? 'text/plain' : media.type;
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (Number.isFinite(declared) && declared > deps.maxBodyBytes) {
    log.warn('hl7.rejected', { reason: 'payload-too-large', status: 413, bytes: declared, durationMs: elapsed() });
    return { status: 413, body: `Payload Too Large: the limit is ${deps.maxBodyBytes} bytes\n`, headers: PLAIN };
  }
  const decoder = decoderFor(media.charset);
  if (!decoder) {
    log.warn('hl7.rejected', { reason: 'bad-charset', status: 415, durationMs: elapsed() });
    return { status: 415, body: 'Unsupported Media Type: unknown charset\n', headers: PLAIN };
  }
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > deps.maxBodyBytes) {
    log.warn('hl7.rejected', { reason: 'payload-too-large', status: 413, bytes: bytes.byteLength, durationMs: elapsed() });
    return { status: 413, body: `Payload Too Large: the limit is ${deps.maxBodyBytes} bytes\n`, headers: PLAIN };
  }

  const reject = (msg: Hl7Message | undefined, ackCode: 'AE' | 'AR', error: AckError, reason: Parameters<Logger['warn']>[1] & object, status = 400) => {
    log.warn('hl7.rejected', { ...reason, ackCode, hl7ErrorCode: error.code, status, bytes: bytes.byteLength, durationMs: elapsed() });
    return ackResponse(msg, ackCode, status, replyType, error);
  };

  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return reject(undefined, 'AR', { code: 102, text: 'Body is not valid text in the declared charset' }, { reason: 'bad-charset' });
  }
  if (text.trim().length === 0) {
    return reject(undefined, 'AR', { code: 100, text: 'Empty message' }, { reason: 'empty-body' });
  }

  let msg: Hl7Message;
  try {
    // Spaces and tabs before a segment end are transport padding (some engines add them on resend); they
    // would otherwise end up in the segment's last value and turn a resend into a different message.
    text = text.replace(/[ \t]+(?=\r\n|\r|\n|\x1c|$)/g, '');
    msg = parseMessage(text);
  } catch (err) {
    const c = classifyError(err);
    return reject(undefined, c.ackCode, c.error, { reason: c.reason });
  }
  const h = headerOf(msg);
  // MSH-10 is logged only once the message has validated; until then only codes and sizes are.
  // MSH-10 is the idempotency key: blank or the HL7 null "" would make unrelated messages duplicates.
  if (!h.controlId || h.controlId.trim() === '' || h.controlId.trim() === '""') {
    return reject(msg, 'AR', { code: 101, text: 'Required field missing', segment: 'MSH', field: 10 }, { reason: 'missing-control-id' });
  }
  if (deps.auth && !deps.auth.facilityAllowed(sender, h.sendingApplication, h.sendingFacility, msg.delimiters.component)) {
    return reject(msg, 'AR', { code: 207, text: 'Sending facility not permitted for this sender', segment: 'MSH', field: 4 }, { reason: 'facility-not-permitted', messageType: h.messageType, triggerEvent: h.triggerEvent }, 403);
  }
  const key = dedupeKey(h.sendingApplication, h.sendingFacility, h.controlId, sender);
  let entries: number;
  const convertStarted = performance.now();
  try {
    validateForIngest(msg);
    // Converting and validating here (well under a millisecond; see npm run bench:app) turns content that
    // cannot become valid FHIR into an AE now instead of a poison message after an AA.
    entries = toTransaction(msg, { ids: deps.idStrategy, key, convert: deps.convert }).entry?.length ?? 0;
  } catch (err) {
    const c = classifyError(err);
    return reject(msg, c.ackCode, c.error, { reason: c.reason, messageType: h.messageType, triggerEvent: h.triggerEvent });
  }
  deps.onConverted?.(performance.now() - convertStarted);
  if (entries > (deps.maxBundleEntries ?? 500)) {
    // A transaction must stay atomic, so it is not split; the sender has to send smaller messages.
    return reject(msg, 'AE', { code: 207, text: 'Message yields more FHIR resources than one transaction may hold' }, { reason: 'validation-error', count: entries, messageType: h.messageType, triggerEvent: h.triggerEvent });
  }

  const ids = { controlId: h.controlId, messageType: h.messageType, triggerEvent: h.triggerEvent };
  const okCode = h.acceptAckType ? 'CA' : 'AA';
  let outcome;
  try {
    outcome = await acceptOnce(
      { key, controlId: h.controlId, type: `${h.messageType}^${h.triggerEvent}`, raw: text, identity: dedupeIdentity(msg) },
      deps,
      log.child(ids),
    );
  } catch (err) {
    log.error('hl7.rejected', { ...ids, reason: 'storage-error', ackCode: 'AR', status: 503, ...errorFields(err), durationMs: elapsed() });
    return ackResponse(msg, 'AR', 503, replyType, { code: 207, text: 'Temporarily unable to accept the message; resend later' }, { 'retry-after': '5' });
  }
  switch (outcome.kind) {
    case 'accepted':
      log.info('hl7.accepted', { ...ids, ackCode: okCode, status: 200, bytes: bytes.byteLength, durationMs: elapsed(), reason: outcome.recovered ? 'takeover' : undefined });
      return ackResponse(msg, okCode, 200, replyType);
    case 'duplicate':
      log.info('hl7.duplicate', { ...ids, ackCode: okCode, status: 200, reason: 'duplicate', durationMs: elapsed() });
      return ackResponse(msg, okCode, 200, replyType, undefined, { 'x-hl7-duplicate': 'true' });
    case 'conflict':
      return reject(msg, 'AR', { code: 205, text: 'Duplicate message control id with different content' }, { ...ids, reason: 'duplicate-conflict' });
    case 'busy':
      log.warn('hl7.rejected', { ...ids, reason: 'in-flight', ackCode: 'AR', status: 503, durationMs: elapsed() });
      return ackResponse(msg, 'AR', 503, replyType, { code: 207, text: 'The same message is being processed; resend later' }, { 'retry-after': '5' });
  }
}
