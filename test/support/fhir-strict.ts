/**
 * The parts of the local FHIR server that make it as strict as Azure Health Data Services:
 * - every resource written is validated against the R4 StructureDefinitions (medplum: structure,
 *   cardinality, formats, unknown elements) and the required bindings (FHIR.js); a failure is a 400 with
 *   an OperationOutcome and nothing is written (AHDS rejects invalid resources the same way:
 *   https://learn.microsoft.com/azure/healthcare-apis/fhir/validation-against-profiles);
 * - versions are integers ("1", "2", ...) and ETags are W/"<versionId>", and an update carrying
 *   If-Match (HTTP header, or Bundle.entry.request.ifMatch) whose version is not current fails with 412
 *   (https://learn.microsoft.com/azure/healthcare-apis/fhir/fhir-versioning-policy-and-history-management
 *   and the "Conditional update / If-Match" row of .../fhir/fhir-features-supported);
 * - a transaction is all or nothing: one failing entry fails the whole bundle with that entry's status
 *   (https://learn.microsoft.com/azure/healthcare-apis/fhir/fhir-features-supported, "Transactions").
 * MemoryRepository has no rollback, so every write runs under one lock and all checks happen before the
 * first entry is applied.
 */
import type { MemoryRepository } from '@medplum/fhir-router';
import type { Resource } from 'fhir/r4';
import { fhirProblems } from './fhir-validate';

export class FhirHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly problems: string[],
  ) {
    super(`${status} ${code}`);
  }
}

export function outcomeOf(code: string, texts: string[]): Record<string, unknown> {
  return { resourceType: 'OperationOutcome', issue: texts.map((t) => ({ severity: 'error', code, diagnostics: t })) };
}

/** `W/"3"`, `"3"` or `3` -> `3`. */
export function versionFromEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** A tiny FIFO mutex: MemoryRepository is not transactional, so writes are serialised. */
export class Lock {
  private tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

interface Internals {
  resources: Map<string, Map<string, Resource>>;
}

export class StrictStore {
  /** Invalid-resource rejections seen (the tests assert on this to prove output was valid). */
  readonly rejected: { resourceType: string; problems: string[] }[] = [];
  private readonly validationCache = new Map<string, string[]>();

  constructor(private readonly repo: MemoryRepository) {}

  current(type: string, id: string): Resource | undefined {
    return (this.repo as unknown as Internals).resources.get(type)?.get(id);
  }

  validate(resource: unknown, type: string, id: string): void {
    if (!resource || typeof resource !== 'object') throw new FhirHttpError(400, 'structure', ['entry has no resource']);
    const r = resource as Resource;
    if (r.resourceType !== type) throw new FhirHttpError(400, 'invalid', ['resourceType does not match the URL']);
    if (r.id !== id) throw new FhirHttpError(400, 'invalid', ['resource id does not match the URL']);
    const key = JSON.stringify(r);
    let problems = this.validationCache.get(key);
    if (problems === undefined) {
      problems = fhirProblems(r);
      if (this.validationCache.size > 50_000) this.validationCache.clear();
      this.validationCache.set(key, problems);
    }
    if (problems.length > 0) {
      this.rejected.push({ resourceType: type, problems });
      throw new FhirHttpError(400, 'invalid', problems);
    }
  }

  checkIfMatch(type: string, id: string, ifMatch: string | undefined): void {
    if (ifMatch === undefined) return;
    const cur = this.current(type, id);
    if (!cur || cur.meta?.versionId !== versionFromEtag(ifMatch)) throw new FhirHttpError(412, 'conflict', ['version conflict']);
  }

  /** Applies one checked PUT; returns the stored resource and whether it was created. */
  async put(resource: Resource): Promise<{ stored: Resource; created: boolean }> {
    const cur = this.current(resource.resourceType, resource.id!);
    const history = (this.repo as unknown as { history: Map<string, Map<string, unknown[]>> }).history.get(resource.resourceType)?.get(resource.id!)?.length ?? 0;
    // Numbering continues after a delete, as AHDS's does.
    const versionId = String(cur ? Number(cur.meta?.versionId ?? '0') + 1 : history + 1);
    const copy = JSON.parse(JSON.stringify(resource)) as Resource;
    copy.meta = { ...(copy.meta ?? {}), versionId, lastUpdated: new Date().toISOString() };
    const stored = (await this.repo.createResource(copy as never)) as unknown as Resource;
    return { stored, created: !cur };
  }

  /** Deletes the current version (MemoryRepository keeps the history, as AHDS does). */
  async remove(type: string, id: string): Promise<boolean> {
    if (!this.current(type, id)) return false;
    await this.repo.deleteResource(type, id);
    return true;
  }

  /** A transaction of PUT / DELETE entries: validates and checks every entry, then applies them all. */
  async transaction(bundle: { entry?: { resource?: unknown; request?: { method?: string; url?: string; ifMatch?: string } }[] }): Promise<Record<string, unknown>> {
    const entries = bundle.entry ?? [];
    if (entries.length === 0) throw new FhirHttpError(400, 'invalid', ['transaction has no entries']);
    if (entries.length > 500) throw new FhirHttpError(400, 'too-costly', ['more than 500 entries']);
    const plan: { resource?: Resource; del?: [string, string]; ifMatch?: string }[] = [];
    const seen = new Set<string>();
    for (const e of entries) {
      const m = /^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(e.request?.url ?? '');
      const method = e.request?.method;
      if ((method !== 'PUT' && method !== 'DELETE') || !m) throw new FhirHttpError(400, 'not-supported', ['only PUT and DELETE <Type>/<id> entries are supported here']);
      if (seen.has(m[0])) throw new FhirHttpError(400, 'duplicate', ['the same resource appears twice in one transaction']);
      seen.add(m[0]);
      if (method === 'PUT') this.validate(e.resource, m[1], m[2]);
      this.checkIfMatch(m[1], m[2], e.request?.ifMatch);
      plan.push(method === 'PUT' ? { resource: e.resource as Resource, ifMatch: e.request?.ifMatch } : { del: [m[1], m[2]], ifMatch: e.request?.ifMatch });
    }
    const out = [];
    for (const p of plan) {
      if (p.del) {
        // AHDS answers 204 whether or not the resource existed.
        await this.remove(p.del[0], p.del[1]);
        out.push({ response: { status: '204 No Content' } });
        continue;
      }
      const { stored, created } = await this.put(p.resource!);
      out.push({
        response: {
          status: created ? '201 Created' : '200 OK',
          location: `${stored.resourceType}/${stored.id}/_history/${stored.meta?.versionId}`,
          etag: `W/"${stored.meta?.versionId}"`,
          lastModified: stored.meta?.lastUpdated,
        },
      });
    }
    return { resourceType: 'Bundle', type: 'transaction-response', entry: out };
  }
}
