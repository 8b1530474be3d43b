import type { Location, Observation, ObservationComponent } from "fhir/r4";
import type { Hl7Segment } from "../../hl7";
import type { Conv } from "../context";
import { v, xadToAddress } from "../datatypes";
import { makeId, makeSharedId } from "../ids";
import { SEEDS } from "../seeds";
import { practitionersOfField } from "./practitioner";

// FHIR-Converter's own code systems (Resource/_Observation.liquid, ACC branch).
const OBS_CODE = "http://example.com/v2-to-fhir-converter/CodeSystem/observation-code";
const INDICATOR = "http://example.com/v2-to-fhir-converter/CodeSystem/accident-indicator";
const YES_NO = "http://terminology.hl7.org/CodeSystem/v2-0136";
const FLAGS: readonly [number, string, string][] = [
  [5, "AJRI", "Accident Job Related Indicator"],
  [6, "ADI", "Accident Death Indicator"],
  [10, "PNI", "Police Notified Indicator"],
];

/**
 * ACC (accident) → an injury-incident Observation (ID/_Observation.liquid: ACC-13[0], else ACC-1,2,3,11, else
 * the whole ACC; base Patient) entered by ACC-7, at a Location from ACC-11 or ACC-3 (ID/_Location.liquid).
 */
export function accident(c: Conv, acc: Hl7Segment): void {
  const f = (n: number) => acc.field(n);
  const e13 = acc.repetitions(13)[0];
  const id = makeId("Observation", SEEDS.ObservationAcc(acc), c.patientId);
  if (id === undefined) return;
  const o: Observation = {
    resourceType: "Observation",
    id,
    status: "final",
    code: { coding: [{ system: OBS_CODE, code: "injury-incident", display: "Injury Incident Description Narrative" }] },
    subject: c.patientRef,
  };
  const ident = v(e13?.get(1));
  if (ident !== undefined) o.identifier = [{ value: ident }];
  const when = v(acc.get(1, 1, 1));
  if (when !== undefined) o.effectiveDateTime = c.dateTime(when, { segment: "ACC", field: 1 });
  const text = v(acc.get(8));
  if (text !== undefined) o.valueString = text;
  const components: ObservationComponent[] = [];
  for (const [field, code, display] of FLAGS) {
    const flag = v(acc.get(field, 1, 1));
    if (flag !== "Y" && flag !== "N") continue;
    components.push({
      code: { coding: [{ system: INDICATOR, code, display }] },
      valueCodeableConcept: { coding: [{ system: YES_NO, code: flag, display: flag === "Y" ? "Yes" : "No" }] },
    });
  }
  if (components.length > 0) o.component = components;
  const by = practitionersOfField(c, acc, 7);
  if (by.length > 0) o.performer = by;
  const placeField = f(11) ?? f(3);
  const placeId = makeSharedId("Location", SEEDS.LocationAcc(acc));
  if (placeField !== undefined && placeId !== undefined) {
    const loc: Location = { resourceType: "Location", id: placeId };
    const name = v(acc.get(3));
    if (name !== undefined) loc.name = name;
    const address = f(11) !== undefined ? xadToAddress(acc.repetitions(11)[0]) : undefined;
    if (address !== undefined) loc.address = address;
    if (loc.name === undefined && loc.address === undefined) loc.name = placeField.value;
    const where = c.add(loc);
    o.extension = [{ url: "http://hl7.org/fhir/us/vrdr/StructureDefinition/Observation-Location", valueReference: where }];
  }
  c.add(o);
}
