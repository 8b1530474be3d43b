import type { Location, Reference } from "fhir/r4";
import type { Hl7Node } from "../../hl7";
import type { Conv } from "../context";
import { v } from "../datatypes";
import { makeSharedId } from "../ids";
import { SEEDS } from "../seeds";

const PHYSICAL = "http://terminology.hl7.org/CodeSystem/location-physical-type";

/**
 * PL components that become Locations (Resource/_PLLocation.liquid), from the narrowest, with the physical type
 * of each. A Location is `partOf` the next wider one present, so bed → room → point of care → floor → building
 * → facility.
 */
const PL_PARTS: readonly { k: number; code: string; display: string }[] = [
  { k: 3, code: "bd", display: "Bed" },
  { k: 2, code: "ro", display: "Room" },
  { k: 1, code: "wa", display: "Ward" },
  { k: 8, code: "lvl", display: "Level" },
  { k: 7, code: "bu", display: "Building" },
  { k: 4, code: "si", display: "Site" },
];
/** The component an Encounter.location points at: the first present in the template's order 1,2,3,4,7,8. */
const REFERENCE_ORDER = [1, 2, 3, 4, 7, 8];

/** One Location per populated PL component; returns the one the template references, or undefined. */
export function plLocation(c: Conv, pl: Hl7Node | undefined): Reference | undefined {
  if (pl === undefined) return undefined;
  const refs = new Map<number, Reference>();
  let wider: Reference | undefined;
  for (let i = PL_PARTS.length - 1; i >= 0; i--) {
    const { k, code, display } = PL_PARTS[i];
    const id = makeSharedId("Location", SEEDS.LocationPl(pl, k));
    if (id === undefined) continue;
    // PL components are HD/IS: the first subcomponent (an HD's namespace) names the place.
    const name = v(pl.get(k, 1)) ?? (pl.get(k) as string);
    const loc: Location = {
      resourceType: "Location",
      id,
      name,
      mode: "instance",
      physicalType: { coding: [{ system: PHYSICAL, code, display }] },
    };
    const description = v(pl.get(9));
    if (description !== undefined) loc.description = description;
    if (wider !== undefined) loc.partOf = wider;
    wider = c.add(loc);
    refs.set(k, wider);
  }
  for (const k of REFERENCE_ORDER) {
    const r = refs.get(k);
    if (r !== undefined) return r;
  }
  return undefined;
}

/** HD (EVN-7) → Location named by HD-1. */
export function hdLocation(c: Conv, hd: Hl7Node | undefined): Reference | undefined {
  if (hd === undefined) return undefined;
  const id = makeSharedId("Location", SEEDS.LocationHd(hd));
  if (id === undefined) return undefined;
  return c.add({ resourceType: "Location", id, name: v(hd.get(1)) ?? hd.value, mode: "instance" });
}
