/**
 * Generates r4-schema.json, the compact R4 model the accept path validates against, from FHIR.js's
 * compiled R4 StructureDefinitions (`fhir` 4.12, profiles/types.json) and value sets. Run it again when the
 * converter starts emitting another resource type:
 *   node -r ./tools/ts-register.js app/src/ingest/r4/generate-schema.ts
 * Only the resource types below and the data types they reach are kept, and only what the validator
 * reads: element names, type, cardinality (0..1 / 0..* / required) and, for required bindings, the codes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What the ADT converter writes, plus a margin of types it may write (a missing type fails closed: AE). */
export const RESOURCE_TYPES = [
  'Account', 'AllergyIntolerance', 'Linkage', 'Person', 'Condition', 'Coverage', 'Device', 'Encounter', 'EpisodeOfCare', 'Location', 'MessageHeader',
  'Observation', 'Organization', 'Patient', 'Practitioner', 'PractitionerRole', 'Procedure', 'Provenance', 'RelatedPerson', 'ServiceRequest',
];

interface FjsProp { _name: string; _choice?: string; _type: string; _multiple?: boolean; _required?: boolean; _valueSetStrength?: string; _valueSet?: string; _properties?: FjsProp[] }
type Types = Record<string, { _kind: string; _properties: FjsProp[] }>;
type ValueSets = Record<string, { systems?: { uri: string; codes?: { code: string }[] }[] }>;

/**
 * [type (a data type, primitive, or backbone path such as Patient.contact), multiple, required, required value-set
 * index or -1, choice group (value[x] -> "value") when the element is one type of a choice]
 */
export type SchemaProp = [string, 0 | 1, 0 | 1, number, string?];
export interface R4Schema {
  primitives: string[];
  types: Record<string, Record<string, SchemaProp>>;
  /** Required value sets: system -> codes ('' when the value set names codes without a system). */
  valueSets: Record<string, string[]>[];
}

function generate(): R4Schema {
  const dir = join(require.resolve('fhir/package.json'), '..', 'profiles');
  const types = JSON.parse(readFileSync(join(dir, 'types.json'), 'utf8')) as Types;
  const vsAll = JSON.parse(readFileSync(join(dir, 'valuesets.json'), 'utf8')) as ValueSets;
  const out: R4Schema = { primitives: [], types: {}, valueSets: [] };
  const vsIndex = new Map<string, number>();
  const queue = [...RESOURCE_TYPES];
  const need = (t: string) => {
    if (t !== 'Resource' && !out.types[t] && !out.primitives.includes(t) && !queue.includes(t)) queue.push(t);
  };
  const valueSet = (url: string | undefined): number | undefined => {
    const vs = url ? vsAll[url.split('|')[0]] : undefined;
    if (!vs?.systems?.length) return undefined; // not expandable offline (e.g. all MIME types): not checked
    if (!vsIndex.has(url!)) {
      const m: Record<string, string[]> = {};
      for (const s of vs.systems) m[s.uri ?? ''] = (s.codes ?? []).map((c) => c.code);
      vsIndex.set(url!, out.valueSets.push(m) - 1);
    }
    return vsIndex.get(url!);
  };
  // Backbone elements become named types ("Patient.contact"), so contentReferences ("#Observation.referenceRange") resolve.
  const props = (list: FjsProp[], path: string): Record<string, SchemaProp> => {
    const o: Record<string, SchemaProp> = {};
    for (const p of list) {
      const nested = (p._type === 'BackboneElement' || p._type === 'Element') && p._properties?.length;
      let type = p._type;
      if (nested) {
        type = `${path}.${p._name}`;
        out.types[type] = props(p._properties!, type);
      } else if (type.startsWith('#')) type = type.slice(1);
      else need(type);
      const vs = p._valueSetStrength === 'required' ? valueSet(p._valueSet) : undefined;
      o[p._name] = [type, p._multiple ? 1 : 0, p._required ? 1 : 0, vs ?? -1, ...(p._choice ? [p._choice] : [])] as SchemaProp;
    }
    return o;
  };
  while (queue.length > 0) {
    const t = queue.shift()!;
    const def = types[t];
    if (!def) throw new Error(`no definition for ${t}`);
    if (def._kind === 'primitive-type') out.primitives.push(t);
    else out.types[t] = props(def._properties, t);
  }
  return out;
}

if (require.main === module) {
  const schema = generate();
  const target = join(__dirname, 'r4-schema.json');
  writeFileSync(target, JSON.stringify(schema) + '\n');
  process.stdout.write(`${target}: ${Object.keys(schema.types).length} types, ${schema.valueSets.length} value sets\n`);
}
