/**
 * A real FHIR R4 endpoint for tests and the demo: @medplum/fhir-router 4.5.x (FhirRouter +
 * MemoryRepository, in memory) behind node:http on 127.0.0.1, with fault injection: 429 with
 * Retry-After / x-ms-retry-after-ms, 503, 401, and connections dropped before or after the
 * transaction is applied (the latter loses the reply of a committed write). Writes are validated against
 * R4, versioned and honour If-Match like AHDS (see fhir-strict.ts).
 * The router wants `{method, url, pathname: undefined, body}` (it throws when pathname is set; see the
 * shared reference hl7-fhir-ingestion.md 4.4). It has no /metadata route, so one is served here.
 */
import { getStatus } from '@medplum/core';
import { FhirRouter, MemoryRepository, type FhirRequest } from '@medplum/fhir-router';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { FhirHttpError, Lock, outcomeOf, StrictStore } from './fhir-strict';
import { seededRandom } from './seeded-random';

export type Fault =
  | { kind: '429'; retryAfter?: string; retryAfterMs?: number }
  | { kind: '503'; retryAfter?: string }
  | { kind: '401' }
  | { kind: 'drop-before' }
  | { kind: 'drop-after' };

export type FaultPicker = (req: { n: number; method: string; path: string }) => Fault | undefined;

export interface FhirServerStats {
  requests: number;
  /** Transactions/batches the repository applied (including ones whose reply was then dropped). */
  bundlesApplied: number;
  faults: Record<string, number>;
}

export interface LocalFhirServer {
  url: string;
  repo: MemoryRepository;
  /** Resources refused as invalid R4 (400), with the validators' problems. */
  rejected: { resourceType: string; problems: string[] }[];
  stats: FhirServerStats;
  setFaults(picker: FaultPicker | undefined): void;
  /** Require `Authorization: Bearer <token>` accepted by this check (401 otherwise). */
  setAuth(check: ((token: string | undefined) => boolean) | undefined): void;
  /** resourceType -> ids currently stored. */
  resources(): Map<string, string[]>;
  /** Number of stored versions of one resource. */
  versions(resourceType: string, id: string): number;
  stop(): Promise<void>;
}

export { seededRandom };

/** Faults for POSTs of bundles with the given probabilities (the rest pass through). */
export function randomFaults(p: { p429?: number; p503?: number; p401?: number; pDropBefore?: number; pDropAfter?: number; seed?: number }): FaultPicker {
  const rnd = seededRandom(p.seed ?? 42);
  let k = 0;
  return ({ method, path }) => {
    if (method !== 'POST' || (path !== '/' && path !== '')) return undefined;
    let r = rnd();
    const take = (q = 0): boolean => {
      if (r < q) return true;
      r -= q;
      return false;
    };
    k++;
    if (take(p.p429)) {
      // Alternate the three hint styles: seconds, HTTP date, AHDS milliseconds.
      const style = k % 3;
      if (style === 0) return { kind: '429', retryAfter: '1' };
      if (style === 1) return { kind: '429', retryAfter: new Date(Date.now() + 1000).toUTCString() };
      return { kind: '429', retryAfterMs: 200 };
    }
    if (take(p.p503)) return { kind: '503' };
    if (take(p.p401)) return { kind: '401' };
    if (take(p.pDropBefore)) return { kind: 'drop-before' };
    if (take(p.pDropAfter)) return { kind: 'drop-after' };
    return undefined;
  };
}

function capabilityStatement(): Record<string, unknown> {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-01-01',
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['application/fhir+json'],
    rest: [{ mode: 'server', interaction: [{ code: 'transaction' }, { code: 'batch' }] }],
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startLocalFhirServer(): Promise<LocalFhirServer> {
  const router = new FhirRouter();
  const repo = new MemoryRepository();
  const stats: FhirServerStats = { requests: 0, bundlesApplied: 0, faults: {} };
  let faults: FaultPicker | undefined;
  let auth: ((token: string | undefined) => boolean) | undefined;
  const sockets = new Set<Socket>();
  const lock = new Lock();
  const strict = new StrictStore(repo);

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/fhir+json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  const outcome = (code: string, text: string) => ({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics: text }] });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const n = ++stats.requests;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.replace(/\/+$/, '');
    const method = (req.method ?? 'GET').toUpperCase();
    const bodyText = await readBody(req);
    const fault = faults?.({ n, method, path });
    if (fault) stats.faults[fault.kind] = (stats.faults[fault.kind] ?? 0) + 1;
    if (fault?.kind === 'drop-before') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === '429') {
      const h: Record<string, string> = {};
      if (fault.retryAfter) h['retry-after'] = fault.retryAfter;
      if (fault.retryAfterMs !== undefined) h['x-ms-retry-after-ms'] = String(fault.retryAfterMs);
      return send(res, 429, outcome('throttled', 'Too many requests'), h);
    }
    if (fault?.kind === '503') return send(res, 503, outcome('transient', 'Service unavailable'), fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    const authz = req.headers.authorization;
    const token = authz?.startsWith('Bearer ') ? authz.slice(7) : undefined;
    if (fault?.kind === '401' || (auth && !auth(token))) return send(res, 401, outcome('login', 'Unauthorized'), { 'www-authenticate': 'Bearer' });

    if (method === 'GET' && path === '/metadata') return send(res, 200, capabilityStatement());
    let body: unknown;
    if (bodyText) {
      try {
        body = JSON.parse(bodyText);
      } catch {
        return send(res, 400, outcome('structure', 'Body is not JSON'));
      }
    }
    let status: number;
    let reply: unknown;
    let headers: Record<string, string> = {};
    try {
      ({ status, reply, headers = {} } = await dispatch(method, path, url, body, req.headers['if-match']));
    } catch (err) {
      if (!(err instanceof FhirHttpError)) throw err;
      status = err.status;
      reply = outcomeOf(err.code, err.problems);
    }
    if (method === 'POST' && (path === '' || path === '/') && status < 300 && (body as { type?: string } | undefined)?.type === 'transaction') stats.bundlesApplied++;
    if (fault?.kind === 'drop-after') {
      // The write is committed but the client never sees the reply.
      req.socket.destroy();
      return;
    }
    send(res, status, reply, headers);
  };

  type Reply = { status: number; reply: unknown; headers?: Record<string, string> };
  const etagOf = (r: unknown): Record<string, string> => {
    const v = (r as { meta?: { versionId?: string } } | undefined)?.meta?.versionId;
    return v ? { etag: `W/"${v}"` } : {};
  };
  const routerGet = async (pathAndQuery: string): Promise<Reply> => {
    const u = new URL(pathAndQuery, 'http://127.0.0.1');
    const fhirReq = { method: 'GET', url: `${u.pathname}${u.search}`, pathname: undefined, body: undefined, params: {}, query: Object.fromEntries(u.searchParams) } as unknown as FhirRequest;
    const [oo, resource] = await router.handleRequest(fhirReq, repo);
    const status = getStatus(oo);
    return { status, reply: resource ?? oo, headers: status < 300 ? etagOf(resource) : {} };
  };
  const putOne = (type: string, id: string, resource: unknown, ifMatch: string | undefined): Promise<Reply> =>
    lock.run(async () => {
      strict.validate(resource, type, id);
      strict.checkIfMatch(type, id, ifMatch);
      const { stored, created } = await strict.put(resource as never);
      return { status: created ? 201 : 200, reply: stored, headers: etagOf(stored) };
    });

  const dispatch = async (method: string, path: string, url: URL, body: unknown, ifMatch: string | string[] | undefined): Promise<Reply> => {
    const bundle = body as { resourceType?: string; type?: string; entry?: { resource?: unknown; request?: { method?: string; url?: string; ifMatch?: string } }[] } | undefined;
    if (method === 'POST' && (path === '' || path === '/')) {
      if (bundle?.resourceType !== 'Bundle') throw new FhirHttpError(400, 'invalid', ['expected a Bundle']);
      if (bundle.type === 'transaction') return { status: 200, reply: await lock.run(() => strict.transaction(bundle)) };
      if (bundle.type !== 'batch') throw new FhirHttpError(400, 'invalid', ['expected a transaction or batch']);
      // A batch: every entry on its own (used by the delivery for its reads).
      const out = [];
      for (const e of bundle.entry ?? []) {
        const m = /^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(e.request?.url ?? '');
        let r: Reply;
        try {
          if (e.request?.method === 'GET') r = await routerGet(`/${e.request.url}`);
          else if (e.request?.method === 'PUT' && m) r = await putOne(m[1], m[2], e.resource, e.request.ifMatch);
          else throw new FhirHttpError(400, 'not-supported', ['unsupported batch entry']);
        } catch (err) {
          if (!(err instanceof FhirHttpError)) throw err;
          r = { status: err.status, reply: outcomeOf(err.code, err.problems) };
        }
        const ok = r.status < 300;
        out.push({ ...(ok ? { resource: r.reply } : {}), response: { status: String(r.status), ...(ok ? {} : { outcome: r.reply }), ...(r.headers?.etag ? { etag: r.headers.etag } : {}) } });
      }
      return { status: 200, reply: { resourceType: 'Bundle', type: 'batch-response', entry: out } };
    }
    const m = /^\/([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(path);
    if (method === 'PUT' && m) return putOne(m[1], m[2], body, Array.isArray(ifMatch) ? ifMatch[0] : ifMatch);
    if (method === 'GET') return routerGet(`${path || '/'}${url.search}`);
    // Creates with server-assigned ids, deletes and patches are not used by the app; refusing them keeps
    // every write on the validated path.
    throw new FhirHttpError(405, 'not-supported', ['method not supported by the local server']);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, outcome('exception', 'Internal error'));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  // MemoryRepository keeps resources/history in private maps (resourceType -> id -> resource);
  // read them directly rather than paging searches.
  const internals = repo as unknown as { resources: Map<string, Map<string, unknown>>; history: Map<string, Map<string, unknown[]>> };

  return {
    url: `http://127.0.0.1:${port}`,
    repo,
    rejected: strict.rejected,
    stats,
    setFaults: (p) => {
      faults = p;
    },
    setAuth: (c) => {
      auth = c;
    },
    resources: () => {
      const out = new Map<string, string[]>();
      for (const [type, byId] of internals.resources) out.set(type, [...byId.keys()]);
      return out;
    },
    versions: (type, id) => internals.history.get(type)?.get(id)?.length ?? 0,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
