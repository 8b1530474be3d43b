import type { Organization, Reference } from "fhir/r4";
import type { Hl7Node } from "../../hl7";
import type { Conv } from "../context";
import { hdToSystem, v } from "../datatypes";
import { makeId } from "../ids";
import { SEEDS } from "../seeds";

/** HD (MSH-4, MSH-6, PV1-39 …) → Organization named by HD-1, identified by its universal id. */
export function organizationFromHd(c: Conv, hd: Hl7Node | undefined): Reference | undefined {
  if (hd === undefined) return undefined;
  const id = makeId("Organization", SEEDS.OrganizationHd(hd));
  if (id === undefined) return undefined;
  const org: Organization = { resourceType: "Organization", id };
  const ns = v(hd.get(1));
  const uid = v(hd.get(2));
  if (ns !== undefined) org.name = ns;
  const system = uid !== undefined ? hdToSystem(undefined, uid, v(hd.get(3)), c.ctx) : undefined;
  if (system !== undefined) org.identifier = [{ system: "urn:ietf:rfc:3986", value: system }];
  if (org.name === undefined && org.identifier === undefined) org.name = hd.value;
  return c.add(org);
}

/** XON (PD1-3, IN1-4, ROL-14, OBX-23) → Organization named by XON-1. */
export function organizationFromXon(c: Conv, xon: Hl7Node | undefined, extra?: Partial<Organization>): Reference | undefined {
  if (xon === undefined) return undefined;
  const id = makeId("Organization", SEEDS.OrganizationXon(xon));
  if (id === undefined) return undefined;
  const org: Organization = { resourceType: "Organization", id, ...extra };
  const name = v(xon.get(1));
  if (name !== undefined) org.name = name;
  const x10 = v(xon.get(10)) ?? v(xon.get(3));
  if (x10 !== undefined && org.identifier === undefined) {
    const system = hdToSystem(v(xon.get(6, 1)), v(xon.get(6, 2)), v(xon.get(6, 3)), c.ctx);
    org.identifier = [{ value: x10, ...(system !== undefined ? { system } : {}) }];
  }
  if (org.name === undefined && org.identifier === undefined) org.name = xon.value;
  return c.add(org);
}
