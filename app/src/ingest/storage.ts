/**
 * Durable storage behind the ingest path:
 *  - MessageStore: one blob per message, named by the dedupe key and created with If-None-Match: *, so
 *    of two concurrent duplicates exactly one create succeeds. Its metadata tracks the hand-off state
 *    (`pending` until the queue write succeeded, then `queued`).
 *  - MessageQueue: Storage queue send/receive/delete. Text is base64-encoded because the Functions
 *    queue trigger decodes base64 by default (host.json extensions.queues.messageEncoding).
 * Azure implementations use the SDK clients; the memory ones serve unit tests and local tools.
 */
import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import type { QueueClient, QueueServiceClient } from '@azure/storage-queue';

export type MessageState = 'pending' | 'queued';

export interface StoredInfo {
  state: MessageState;
  etag: string;
  contentHash: string;
  /** When the current owner claimed the hand-off (ms since epoch). */
  claimedAt: number;
}

export interface MessageStore {
  /** Creates the blob only if absent; returns its etag, or undefined when it already existed. */
  create(key: string, raw: string, info: { contentHash: string; claimedAt: number }): Promise<string | undefined>;
  info(key: string): Promise<StoredInfo | undefined>;
  /**
   * Conditional metadata update (the whole metadata set is replaced, so the content hash is passed
   * again); returns the new etag or undefined when the etag no longer matches.
   */
  setState(key: string, state: MessageState, claimedAt: number, ifMatch: string, contentHash: string): Promise<string | undefined>;
  read(key: string): Promise<string | undefined>;
  /** Conditional delete (best effort); false when the etag no longer matches or the blob is gone. */
  remove(key: string, ifMatch: string): Promise<boolean>;
}

export interface ReceivedMessage {
  id: string;
  popReceipt: string;
  text: string;
  dequeueCount: number;
}

export interface MessageQueue {
  readonly name: string;
  send(text: string): Promise<void>;
  receive(max: number, visibilityTimeoutSec: number): Promise<ReceivedMessage[]>;
  remove(id: string, popReceipt: string): Promise<void>;
  /** Makes a received message visible again after `visibilityTimeoutSec` (what the host does after a failed run). */
  release(id: string, popReceipt: string, visibilityTimeoutSec: number): Promise<void>;
  /** Approximate depth, for tools and tests. */
  depth(): Promise<number>;
}

const enc = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const dec = (s: string): string => {
  // The host accepts plain text too when it is not valid base64; mirror that.
  if (/^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0) return Buffer.from(s, 'base64').toString('utf8');
  return s;
};

function statusCode(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown })?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

export class BlobMessageStore implements MessageStore {
  constructor(private readonly container: ContainerClient) {}

  static async open(service: BlobServiceClient, containerName: string): Promise<BlobMessageStore> {
    const container = service.getContainerClient(containerName);
    await container.createIfNotExists();
    return new BlobMessageStore(container);
  }

  private blob(key: string) {
    return this.container.getBlockBlobClient(`${key}.hl7`);
  }

  async create(key: string, raw: string, info: { contentHash: string; claimedAt: number }): Promise<string | undefined> {
    const data = Buffer.from(raw, 'utf8');
    try {
      const r = await this.blob(key).upload(data, data.length, {
        conditions: { ifNoneMatch: '*' },
        metadata: { state: 'pending', contenthash: info.contentHash, claimedat: String(info.claimedAt) },
        blobHTTPHeaders: { blobContentType: 'x-application/hl7-v2+er7; charset=utf-8' },
      });
      return r.etag;
    } catch (err) {
      const s = statusCode(err);
      if (s === 409 || s === 412) return undefined;
      throw err;
    }
  }

  async info(key: string): Promise<StoredInfo | undefined> {
    try {
      const p = await this.blob(key).getProperties();
      const md = p.metadata ?? {};
      return {
        state: md.state === 'queued' ? 'queued' : 'pending',
        etag: p.etag ?? '',
        contentHash: md.contenthash ?? '',
        claimedAt: Number(md.claimedat ?? 0),
      };
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  async setState(key: string, state: MessageState, claimedAt: number, ifMatch: string, contentHash: string): Promise<string | undefined> {
    try {
      const r = await this.blob(key).setMetadata(
        { state, contenthash: contentHash, claimedat: String(claimedAt) },
        { conditions: { ifMatch } },
      );
      return r.etag;
    } catch (err) {
      const s = statusCode(err);
      if (s === 412 || s === 404) return undefined;
      throw err;
    }
  }

  async read(key: string): Promise<string | undefined> {
    try {
      const buf = await this.blob(key).downloadToBuffer();
      return buf.toString('utf8');
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  async remove(key: string, ifMatch: string): Promise<boolean> {
    try {
      await this.blob(key).delete({ conditions: { ifMatch } });
      return true;
    } catch (err) {
      const s = statusCode(err);
      if (s === 412 || s === 404) return false;
      throw err;
    }
  }
}

export class StorageQueue implements MessageQueue {
  constructor(private readonly client: QueueClient) {}

  static async open(service: QueueServiceClient, name: string): Promise<StorageQueue> {
    const client = service.getQueueClient(name);
    await client.createIfNotExists();
    return new StorageQueue(client);
  }

  get name(): string {
    return this.client.name;
  }

  async send(text: string): Promise<void> {
    await this.client.sendMessage(enc(text));
  }

  async receive(max: number, visibilityTimeoutSec: number): Promise<ReceivedMessage[]> {
    const r = await this.client.receiveMessages({ numberOfMessages: Math.min(32, Math.max(1, max)), visibilityTimeout: visibilityTimeoutSec });
    return r.receivedMessageItems.map((m) => ({
      id: m.messageId,
      popReceipt: m.popReceipt,
      text: dec(m.messageText),
      dequeueCount: m.dequeueCount,
    }));
  }

  async remove(id: string, popReceipt: string): Promise<void> {
    await this.client.deleteMessage(id, popReceipt);
  }

  async release(id: string, popReceipt: string, visibilityTimeoutSec: number): Promise<void> {
    await this.client.updateMessage(id, popReceipt, undefined, visibilityTimeoutSec);
  }

  async depth(): Promise<number> {
    const p = await this.client.getProperties();
    return p.approximateMessagesCount ?? 0;
  }
}

/** In-process store with the same conditional semantics; for unit tests and fuzzing. */
export class MemoryMessageStore implements MessageStore {
  private readonly blobs = new Map<string, { raw: string; info: StoredInfo }>();
  private seq = 0;
  private nextEtag = (): string => `"m${++this.seq}"`;

  get size(): number {
    return this.blobs.size;
  }

  async create(key: string, raw: string, info: { contentHash: string; claimedAt: number }): Promise<string | undefined> {
    if (this.blobs.has(key)) return undefined;
    const etag = this.nextEtag();
    this.blobs.set(key, { raw, info: { state: 'pending', etag, contentHash: info.contentHash, claimedAt: info.claimedAt } });
    return etag;
  }
  async info(key: string): Promise<StoredInfo | undefined> {
    const b = this.blobs.get(key);
    return b ? { ...b.info } : undefined;
  }
  async setState(key: string, state: MessageState, claimedAt: number, ifMatch: string, contentHash: string): Promise<string | undefined> {
    const b = this.blobs.get(key);
    if (!b || b.info.etag !== ifMatch) return undefined;
    b.info = { ...b.info, state, claimedAt, contentHash, etag: this.nextEtag() };
    return b.info.etag;
  }
  async read(key: string): Promise<string | undefined> {
    return this.blobs.get(key)?.raw;
  }
  async remove(key: string, ifMatch: string): Promise<boolean> {
    const b = this.blobs.get(key);
    if (!b || b.info.etag !== ifMatch) return false;
    this.blobs.delete(key);
    return true;
  }
}

export class MemoryQueue implements MessageQueue {
  readonly items: { id: string; text: string; dequeueCount: number; invisibleUntil: number; pop: string }[] = [];
  private seq = 0;
  constructor(readonly name = 'memory') {}
  async send(text: string): Promise<void> {
    this.items.push({ id: String(++this.seq), text, dequeueCount: 0, invisibleUntil: 0, pop: '' });
  }
  async receive(max: number, visibilityTimeoutSec: number): Promise<ReceivedMessage[]> {
    const now = Date.now();
    const out: ReceivedMessage[] = [];
    for (const it of this.items) {
      if (out.length >= max) break;
      if (it.invisibleUntil > now) continue;
      it.dequeueCount++;
      it.invisibleUntil = now + visibilityTimeoutSec * 1000;
      it.pop = `p${++this.seq}`;
      out.push({ id: it.id, popReceipt: it.pop, text: it.text, dequeueCount: it.dequeueCount });
    }
    return out;
  }
  async remove(id: string, popReceipt: string): Promise<void> {
    const i = this.items.findIndex((x) => x.id === id && x.pop === popReceipt);
    if (i >= 0) this.items.splice(i, 1);
  }
  async release(id: string, popReceipt: string, visibilityTimeoutSec: number): Promise<void> {
    const it = this.items.find((x) => x.id === id && x.pop === popReceipt);
    if (it) it.invisibleUntil = Date.now() + visibilityTimeoutSec * 1000;
  }
  async depth(): Promise<number> {
    return this.items.length;
  }
}
