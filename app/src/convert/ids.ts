import { createHash } from "node:crypto";

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

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** SHA-256 of the UTF-8 input, first 16 bytes in .NET Guid text order. */
export function guidFromInput(input: string): string {
  const b = createHash("sha256").update(input, "utf8").digest();
  const h = (i: number): string => HEX[b[i]];
  return (
    h(3) + h(2) + h(1) + h(0) + "-" + h(5) + h(4) + "-" + h(7) + h(6) + "-" + h(8) + h(9) + "-" +
    h(10) + h(11) + h(12) + h(13) + h(14) + h(15)
  );
}

/** Id for `type` from `seed` (and `baseId`), or undefined for a blank seed. */
export function makeId(type: string, seed: string | undefined, baseId?: string): string | undefined {
  const input = idInput(type, seed, baseId);
  return input === undefined ? undefined : guidFromInput(input);
}

/**
 * FHIR-Converter's `.Value` of a node: the unescaped text with lower-level delimiters kept, then JSON-escaped
 * by its parser's NormalizeText (`\` → `\\`, `"` → `\"`). The JSON-escaping step is read from its code and is
 * not covered by a published sample.
 */
export function converterValue(unescaped: string | undefined): string {
  if (unescaped === undefined) return "";
  if (unescaped.indexOf("\\") < 0 && unescaped.indexOf('"') < 0) return unescaped;
  return unescaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
}
