import { createHash, hash } from "node:crypto";

/**
 * Deterministic resource ids.
 *
 * FHIR-Converter (microsoft/FHIR-Converter, the engine behind AHDS `$convert-data`) builds the id input as
 * `<Type>_<seed.Trim()>` plus `_<baseId>` when a base id is passed (GeneralFilters.generate_id_input), hashes
 * it with SHA-256 and formats the first 16 bytes with .NET `new Guid(bytes)`, which prints bytes 3,2,1,0 -
 * 5,4 - 7,6 - 8,9 - 10..15 (GeneralFilters.generate_uuid). Checked against the ids in its published
 * expected bundles (see test/app/convert-ids.spec.ts).
 */
export type IdStrategy = "stable" | "convert-data";

export function idInput(type: string, seed: string | undefined, baseId?: string): string | undefined {
  if (seed === undefined) return undefined;
  const s = seed.trim();
  if (s.length === 0) return undefined;
  return baseId === undefined ? `${type}_${s}` : `${type}_${s}_${baseId}`;
}

// crypto.hash (Node >= 20.12) is a one-shot digest, about twice as fast as createHash for short inputs.
const oneShot: ((input: string) => string) | undefined =
  typeof hash === "function" ? (input) => hash("sha256", input, "hex") : undefined;

let recordInput: ((input: string) => void) | undefined;
/** Benchmark hook: called with every hashed id input (undefined turns it off). */
export function setIdInputRecorder(fn: ((input: string) => void) | undefined): void {
  recordInput = fn;
}

/** SHA-256 of the UTF-8 input, first 16 bytes in .NET Guid text order. */
export function guidFromInput(input: string): string {
  if (recordInput !== undefined) recordInput(input);
  const h = oneShot !== undefined ? oneShot(input) : createHash("sha256").update(input, "utf8").digest("hex");
  // One flat string built from the hex digits in Guid order: about twice as fast as joining eleven slices, which
  // leaves a rope that V8 must flatten again when the id is hashed or serialised.
  const c = (i: number): number => h.charCodeAt(i);
  return String.fromCharCode(
    c(6), c(7), c(4), c(5), c(2), c(3), c(0), c(1), 45,
    c(10), c(11), c(8), c(9), 45,
    c(14), c(15), c(12), c(13), 45,
    c(16), c(17), c(18), c(19), 45,
    c(20), c(21), c(22), c(23), c(24), c(25), c(26), c(27), c(28), c(29), c(30), c(31),
  );
}

/** Id for `type` from `seed` (and `baseId`), or undefined for a blank seed. */
export function makeId(type: string, seed: string | undefined, baseId?: string): string | undefined {
  const input = idInput(type, seed, baseId);
  return input === undefined ? undefined : guidFromInput(input);
}

/**
 * FHIR-Converter's `.Value` of a node: the unescaped text with lower-level delimiters kept, then JSON-escaped
 * by its parser's NormalizeText (`\` → `\\`, `"` → `\"`). The escaping is confirmed by the MessageHeader id of
 * its ADT04-251 sample, whose seed is the MSH line with `^~\\&` (test/app/convert-ids.spec.ts).
 */
export function converterValue(unescaped: string | undefined): string {
  if (unescaped === undefined) return "";
  if (unescaped.indexOf("\\") < 0 && unescaped.indexOf('"') < 0) return unescaped;
  return unescaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
}

/**
 * Ids of reference data (Organization, Location, Practitioner, PractitionerRole, Device, MessageHeader
 * endpoints) are memoised: every message from an interface names the same facilities, wards and clinicians, so
 * the SHA-256 is paid once per distinct seed. Bounded (cleared when full), never used for patient data.
 */
const SHARED = new Map<string, string>();
const SHARED_MAX = 4096;
let sharedOn = true;

/** Turns the reference-data id memo on or off (benchmarks measure both); clears it either way. */
export function setSharedIdCache(on: boolean): void {
  sharedOn = on;
  SHARED.clear();
}

/** makeId for reference data (no base id), through the memo. */
export function makeSharedId(type: string, seed: string | undefined): string | undefined {
  const input = idInput(type, seed);
  if (input === undefined) return undefined;
  if (!sharedOn) return guidFromInput(input);
  let id = SHARED.get(input);
  if (id === undefined) {
    if (SHARED.size >= SHARED_MAX) SHARED.clear();
    id = guidFromInput(input);
    SHARED.set(input, id);
  }
  return id;
}
