/**
 * Fast R4 validation of the converter's output on the accept path, so that AA means "this lands as valid
 * FHIR". It checks what AHDS rejects on write: unknown elements, cardinality (arrays, required elements,
 * one type per choice), primitive formats (the R4 regular expressions, plus real calendar dates), empty
 * values and objects, and codes of required bindings. It does not evaluate FHIRPath invariants; the
 * tests hold every accepted bundle against the full validators (@medplum/core and FHIR.js) so that gap is
 * measured, not assumed. Problems name element paths only, never values.
 */
import type { Bundle, Resource } from 'fhir/r4';
import schemaJson from './r4-schema.json';
import type { R4Schema, SchemaProp } from './generate-schema';

const schema = schemaJson as unknown as R4Schema;
const PRIMITIVES = new Set(schema.primitives);
/** Per type, its required elements (choice group name for a required choice), computed once. */
const REQUIRED = new Map<Record<string, SchemaProp>, [string, string | undefined][]>(
  Object.values(schema.types).map((props) => [props, Object.entries(props).filter(([, p]) => p[2]).map(([k, p]) => [k, p[4]] as [string, string | undefined])]),
);
const VALUE_SETS = schema.valueSets.map((vs) => new Map(Object.entries(vs).map(([sys, codes]) => [sys, new Set(codes)])));

const YEAR = '([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)';
const TIME = '([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?';
const TZ = '(Z|(\\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))';
const FORMATS: Record<string, RegExp> = {
  date: new RegExp(`^${YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$`),
  dateTime: new RegExp(`^${YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T${TIME}${TZ})?)?)?$`),
  instant: new RegExp(`^${YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T${TIME}${TZ}$`),
  time: new RegExp(`^${TIME}$`),
  code: /^[^\s]+( [^\s]+)*$/,
  id: /^[A-Za-z0-9\-.]{1,64}$/,
  oid: /^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$/,
  uuid: /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  uri: /^\S+$/,
  url: /^\S+$/,
  canonical: /^\S+$/,
  base64Binary: /^(\s*[0-9a-zA-Z+/=]{4}\s*)+$/,
  string: /^[ \r\n\t\S]+$/,
  markdown: /^[ \r\n\t\S]+$/,
  xhtml: /^<div[\s>][\s\S]*<\/div>$/,
};

function validDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!m) return true; // year or year-month precision
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

function primitiveOk(type: string, v: unknown): boolean {
  switch (type) {
    case 'boolean':
      return typeof v === 'boolean';
    case 'integer':
      return Number.isInteger(v) && Math.abs(v as number) <= 2147483647;
    case 'positiveInt':
      return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 2147483647;
    case 'unsignedInt':
      return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 2147483647;
    case 'decimal':
      return typeof v === 'number' && Number.isFinite(v);
    default: {
      if (typeof v !== 'string') return false;
      const re = FORMATS[type] ?? FORMATS.string;
      if (!re.test(v)) return false;
      return type === 'date' || type === 'dateTime' || type === 'instant' ? validDate(v) : true;
    }
  }
}

type Obj = Record<string, unknown>;
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const has = (o: Obj, ...keys: string[]) => keys.some((k) => o[k] !== undefined);
/** Instant of a FHIR date/dateTime for ordering (undefined when it has no time, like per-1 ignores). */
const when = (v: unknown) => (typeof v === 'string' ? Date.parse(v.length <= 10 ? `${v}${'-01-01'.slice(v.length - 4)}` : v) : NaN);

/**
 * The R4 invariants (FHIRPath constraints) that the types this app writes can break; AHDS evaluates them
 * on write. The fuzz test compares with @medplum/core, which evaluates all of them.
 */
const INVARIANTS: Record<string, [string, (o: Obj) => boolean][]> = {
  Linkage: [['lnk-1', (o) => arr(o.item).length > 1]],
  'Patient.contact': [['pat-1', (o) => has(o, 'name', 'telecom', 'address', 'organization')]],
  Organization: [['org-1', (o) => has(o, 'identifier', 'name')]],
  Period: [['per-1', (o) => !(o.start && o.end) || !(when(o.start) > when(o.end))]],
  Observation: [
    ['obs-6', (o) => !o.dataAbsentReason || !Object.keys(o).some((k) => k.startsWith('value'))],
    ['obs-7', (o) => !o.code || arr(o.component).every((c) => JSON.stringify((c as Obj).code) !== JSON.stringify(o.code) || !Object.keys(o).some((k) => k.startsWith('value')))],
  ],
  AllergyIntolerance: [
    ['ait-1', (o) => has(o, 'clinicalStatus') || JSON.stringify(o.verificationStatus ?? '').includes('"entered-in-error"')],
    ['ait-2', (o) => !has(o, 'clinicalStatus') || !JSON.stringify(o.verificationStatus ?? '').includes('"entered-in-error"')],
  ],
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

class Checker {
  readonly problems: string[] = [];
  private add(path: string, what: string): void {
    if (this.problems.length < 20) this.problems.push(`${path}: ${what}`);
  }

  resource(r: unknown, path: string): void {
    if (!isObject(r) || typeof r.resourceType !== 'string') return this.add(path, 'not a resource');
    const props = schema.types[r.resourceType];
    if (!props || PRIMITIVES.has(r.resourceType) || r.resourceType.includes('.')) return this.add(path, 'resource type not supported');
    this.object(r, props, path, r.resourceType, true);
  }

  private object(o: Record<string, unknown>, props: Record<string, SchemaProp>, path: string, typeName: string, isResource = false): void {
    const keys = Object.keys(o);
    if (keys.length === 0 || (isResource && keys.length === 1)) return this.add(path, 'empty element');
    const choices = new Set<string>();
    for (const k of keys) {
      if (isResource && k === 'resourceType') continue;
      const p = Object.prototype.hasOwnProperty.call(props, k) ? props[k] : undefined;
      if (!p) {
        this.add(`${path}.${k}`, 'unknown element');
        continue;
      }
      const [type, multiple, , vs, choice] = p;
      if (choice) {
        if (choices.has(choice)) this.add(`${path}.${k}`, 'more than one type for a choice element');
        choices.add(choice);
      }
      const v = o[k];
      if (multiple) {
        if (!Array.isArray(v) || v.length === 0) {
          this.add(`${path}.${k}`, 'must be a non-empty array');
          continue;
        }
        // `_given: [null, {…}]` aligns extensions with primitives; only there may items be null.
        v.forEach((item, i) => (item === null && k.startsWith('_') ? undefined : this.value(type, item, vs, `${path}.${k}[${i}]`)));
      } else if (Array.isArray(v)) this.add(`${path}.${k}`, 'must not be an array');
      else this.value(type, v, vs, `${path}.${k}`);
    }
    for (const [k, choice] of REQUIRED.get(props) ?? []) {
      const present = choice ? choices.has(choice) : o[k] !== undefined || o[`_${k}`] !== undefined;
      if (!present) this.add(`${path}.${choice ?? k}`, 'required element missing');
    }
    for (const [key, holds] of INVARIANTS[typeName] ?? []) if (!holds(o)) this.add(path, `constraint ${key} not met`);
  }

  private value(type: string, v: unknown, vs: number, path: string): void {
    if (v === null || v === undefined) return this.add(path, 'null value');
    if (type === 'Resource') return this.resource(v, path);
    if (PRIMITIVES.has(type)) {
      if (!primitiveOk(type, v)) return this.add(path, `invalid ${type}`);
      if (vs >= 0 && type === 'code' && !this.inValueSet(vs, undefined, v as string)) this.add(path, 'code not in the required value set');
      return;
    }
    const props = schema.types[type];
    if (!props) return this.add(path, `type ${type} not supported`);
    if (!isObject(v)) return this.add(path, `expected ${type}`);
    this.object(v, props, path, type);
    if (vs >= 0 && (type === 'Coding' || type === 'CodeableConcept')) {
      const codings = type === 'Coding' ? [v] : Array.isArray(v.coding) ? v.coding : [];
      for (const c of codings as { system?: string; code?: string }[]) {
        if (c.code !== undefined && !this.inValueSet(vs, c.system, c.code)) this.add(path, 'code not in the required value set');
      }
    }
  }

  private inValueSet(vs: number, system: string | undefined, code: string): boolean {
    const sets = VALUE_SETS[vs];
    if (system !== undefined) return sets.get(system)?.has(code) ?? false;
    for (const codes of sets.values()) if (codes.has(code)) return true;
    return false;
  }
}

/** Problems of one resource (empty when valid). */
export function r4Problems(resource: unknown): string[] {
  const c = new Checker();
  c.resource(resource, (resource as Resource | undefined)?.resourceType ?? 'resource');
  return c.problems;
}

/**
 * Problems of a transaction bundle as the delivery writes it: `PUT <Type>/<id>` entries whose resource is
 * valid, and `DELETE <Type>/<id>` entries (A29), whose resource, if any, only carries the stamp and is not sent.
 */
export function bundleProblems(bundle: Bundle, maxEntries = 500): string[] {
  const out: string[] = [];
  const entries = bundle.entry ?? [];
  if (entries.length === 0) out.push('Bundle.entry: no entries');
  if (entries.length > maxEntries) out.push('Bundle.entry: too many entries');
  const seen = new Set<string>();
  entries.forEach((e, i) => {
    const url = e.request?.url ?? '';
    if (e.request?.method === 'DELETE') {
      if (!/^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(url) || !schema.types[url.split('/')[0]]) out.push(`Bundle.entry[${i}].request: not DELETE <Type>/<id>`);
    } else {
      const r = e.resource;
      if (e.request?.method !== 'PUT' || url !== `${r?.resourceType}/${r?.id}`) out.push(`Bundle.entry[${i}].request: not PUT <Type>/<id> of its resource`);
      out.push(...r4Problems(r).map((p) => `Bundle.entry[${i}].resource.${p}`));
    }
    if (seen.has(url)) out.push(`Bundle.entry[${i}]: resource appears twice`);
    seen.add(url);
  });
  return out;
}
