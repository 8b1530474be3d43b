/**
 * Queue message formats. The ingest queue carries an envelope with the MSH-10 message id, the dedupe
 * key (= blob name of the stored raw message), the ingest time and, when it fits the 64 KiB Storage
 * queue limit after base64, the raw message inline so delivery needs no blob read. The poison queue
 * carries either our own record (envelope + reason) or, when the Functions host poisoned it after
 * maxDequeueCount failed runs, the bare envelope.
 */

export interface IngestEnvelope {
  v: 1;
  /** MSH-10. */
  id: string;
  /** Dedupe key; the raw message is stored as blob `<key>.hl7`. */
  key: string;
  /** MSH-9.1^MSH-9.2, e.g. ADT^A01. */
  type: string;
  /** ISO-8601 UTC time the HTTP function accepted the message. */
  receivedAt: string;
  /** The raw message, when small enough to inline. */
  hl7?: string;
}

export interface PoisonRecord {
  v: 1;
  poison: {
    reason: string;
    status?: number;
    hl7ErrorCode?: number;
    failedAt: string;
    dequeueCount?: number;
  };
  envelope: IngestEnvelope | null;
  /** The undecodable original text, kept only when no envelope could be read. */
  original?: string;
}

/** 64 KiB queue limit; base64 grows text by 4/3, so keep the JSON under 48 KiB. */
export const MAX_QUEUE_JSON_BYTES = 48 * 1024;

export class EnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

export function makeEnvelope(e: Omit<IngestEnvelope, 'v' | 'hl7'>, raw: string): string {
  const base: IngestEnvelope = { v: 1, ...e };
  const inline = JSON.stringify({ ...base, hl7: raw });
  return Buffer.byteLength(inline, 'utf8') <= MAX_QUEUE_JSON_BYTES ? inline : JSON.stringify(base);
}

function asObject(value: unknown): Record<string, unknown> {
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw new EnvelopeError('queue message is not JSON');
    }
  } else if (value instanceof Uint8Array) {
    return asObject(Buffer.from(value).toString('utf8'));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new EnvelopeError('queue message is not an object');
  return value as Record<string, unknown>;
}

/** Accepts what the queue trigger hands over: a parsed object (the host JSON-parses) or the text. */
export function parseEnvelope(value: unknown): IngestEnvelope {
  const o = asObject(value);
  if (o.v !== 1) throw new EnvelopeError('queue message has an unknown version');
  for (const k of ['id', 'key', 'type', 'receivedAt'] as const) {
    if (typeof o[k] !== 'string' || (o[k] as string).length === 0) throw new EnvelopeError(`queue message field ${k} is missing`);
  }
  if (!/^[0-9a-f]{64}$/.test(o.key as string)) throw new EnvelopeError('queue message key is malformed');
  if (o.hl7 !== undefined && typeof o.hl7 !== 'string') throw new EnvelopeError('queue message field hl7 is not text');
  return {
    v: 1,
    id: o.id as string,
    key: o.key as string,
    type: o.type as string,
    receivedAt: o.receivedAt as string,
    hl7: o.hl7 as string | undefined,
  };
}

/** For replay: the envelope inside a poison-queue message of either origin, or undefined. */
export function envelopeFromPoison(text: string): IngestEnvelope | undefined {
  let o: Record<string, unknown>;
  try {
    o = asObject(text);
  } catch {
    return undefined;
  }
  try {
    return parseEnvelope('poison' in o ? o.envelope : o);
  } catch {
    return undefined;
  }
}
