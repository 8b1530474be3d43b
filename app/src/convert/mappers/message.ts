import type { CodeableConcept, Device, MessageHeader, Provenance, Reference } from "fhir/r4";
import type { Conv } from "../context";
import { code as codeOf, cweToConcept, hdToSystem, v } from "../datatypes";
import { toFhirInstant, type FieldRef } from "../datetime";
import { converterValue as cv, makeId, makeSharedId } from "../ids";
import { SEEDS } from "../seeds";
import { hdLocation } from "./location";
import { practitionersOfField } from "./practitioner";

/** MSH-3 (when MSH-24 names its vendor) and each SFT → Device (ID/_Device.liquid). */
export function devices(c: Conv): Reference[] {
  const out: Reference[] = [];
  const msh = c.msh;
  const app = msh.repetitions(3)[0];
  if (app !== undefined && msh.field(24) !== undefined) {
    const id = makeSharedId("Device", SEEDS.DeviceHd(app));
    if (id !== undefined) {
      const d: Device = { resourceType: "Device", id, deviceName: [{ name: v(app.get(1)) ?? app.value, type: "user-friendly-name" }] };
      const vendor = v(msh.get(24, 1, 1));
      if (vendor !== undefined) d.manufacturer = vendor;
      out.push(c.add(d));
    }
  }
  for (const sft of c.segments("SFT")) {
    const id = makeSharedId("Device", SEEDS.DeviceSft(sft));
    if (id === undefined) continue;
    const d: Device = { resourceType: "Device", id };
    const vendor = v(sft.get(1, 1, 1));
    if (vendor !== undefined) d.manufacturer = vendor;
    const name = v(sft.get(3));
    if (name !== undefined) d.deviceName = [{ name, type: "model-name" }];
    const version = v(sft.get(2));
    if (version !== undefined) d.version = [{ value: version }];
    out.push(c.add(d));
  }
  return out;
}

export function messageHeader(c: Conv, sender: Reference | undefined, receiver: Reference | undefined): MessageHeader {
  const msh = c.msh;
  const h: MessageHeader = {
    resourceType: "MessageHeader",
    id: makeId("MessageHeader", SEEDS.MessageHeader(msh)) as string,
    eventCoding: { system: "http://terminology.hl7.org/CodeSystem/v2-0003", code: c.event },
    source: endpointOf(c, 3, v(msh.get(3, 1, 1))) as MessageHeader["source"],
  };
  const processing = codeOf(msh.get(11, 1, 1));
  if (processing !== undefined) h.meta = { tag: [{ system: "http://terminology.hl7.org/CodeSystem/v2-0103", code: processing }] };
  if (v(msh.get(5, 1, 1)) !== undefined || receiver !== undefined) {
    const dest = endpointOf(c, 5, v(msh.get(5, 1, 1))) as NonNullable<MessageHeader["destination"]>[number];
    if (receiver !== undefined) dest.receiver = receiver;
    h.destination = [dest];
  }
  if (sender !== undefined) h.sender = sender;
  if (c.focus.length > 0) h.focus = c.focus;
  c.add(h);
  return h;
}

/**
 * MessageHeader.source/destination (endpoint is 1..1): name from HD-1; endpoint from an ISO/UUID universal id,
 * else a deterministic urn:uuid derived from the HD text. FHIR-Converter leaves the endpoint absent with a
 * data-absent-reason, which FHIR.js rejects as a missing required element, so neither mode copies that.
 */
function endpointOf(c: Conv, field: number, name: string | undefined): { name?: string; endpoint: string } {
  const uid = v(c.msh.get(field, 1, 2));
  const system = uid !== undefined ? hdToSystem(undefined, uid, v(c.msh.get(field, 1, 3)), c.ctx) : undefined;
  const endpoint = system !== undefined && system.startsWith("urn:") ? system : `urn:uuid:${makeSharedId("Endpoint", cv(c.msh.field(field)?.value) || "unknown") as string}`;
  return name !== undefined ? { name, endpoint } : { endpoint };
}

const agentType = (code: string, display: string): CodeableConcept => ({
  coding: [{ system: "http://terminology.hl7.org/CodeSystem/provenance-participant-type", code, display }],
});

/**
 * Two Provenances, as every ADT template writes: one for the message (MSH: recorded at MSH-7, authored by the
 * sender, targeting every resource written) and one for the event (EVN: recorded at EVN-2, reason EVN-4, entered
 * by EVN-5, at EVN-7, targeting the message's focus), both with
 * the Patient as base id (ID/_Provenance.liquid). FHIR-Converter's MSH Provenance has no agent when MSH-4 is
 * empty (microsoft/FHIR-Converter#516); agent is 1..*, so both modes fall back to the sending Device, then to
 * the Patient as informant.
 */
export function provenances(c: Conv, targets: Reference[], sender: Reference | undefined, device: Reference | undefined): void {
  const msh = c.msh;
  const activity = { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v2-0003", code: c.event }] };
  const fallback = (): Provenance["agent"][number] =>
    device !== undefined ? { type: agentType("author", "Author"), who: device } : { type: agentType("informant", "Informant"), who: c.patientRef };
  const mshAt: FieldRef = { segment: "MSH", field: 7 };
  const recordedMsh = toFhirInstant(v(msh.get(7, 1, 1)) ?? "", mshAt, c.ctx.defaultOffset);
  const m: Provenance = {
    resourceType: "Provenance",
    id: makeId("Provenance", SEEDS.ProvenanceMsh(msh), c.patientId) as string,
    target: targets,
    recorded: recordedMsh,
    activity,
    agent: [sender !== undefined ? { type: agentType("author", "Author"), who: sender } : fallback()],
  };
  c.add(m);
  const evn = c.msg.segment("EVN");
  if (evn === undefined) return;
  const at = (field: number): FieldRef => ({ segment: "EVN", field });
  const recorded = v(evn.get(2, 1, 1));
  const p: Provenance = {
    resourceType: "Provenance",
    id: makeId("Provenance", SEEDS.ProvenanceEvn(evn), c.patientId) as string,
    // The event is about the message's focus (Patient, Encounter, Linkage); the MSH Provenance lists everything.
    target: c.focus.length > 0 ? c.focus : targets,
    recorded: recorded !== undefined ? toFhirInstant(recorded, at(2), c.ctx.defaultOffset) : recordedMsh,
    activity,
    agent: [],
  };
  const occurred = v(evn.get(6, 1, 1));
  if (occurred !== undefined) p.occurredDateTime = c.dateTime(occurred, at(6));
  const reason = evn.repetitions(4)[0];
  const reasonCc = reason !== undefined ? cweToConcept(reason, "HL70062") : undefined;
  if (reasonCc !== undefined) p.reason = [reasonCc];
  if (sender !== undefined) p.agent.push({ type: agentType("author", "Author"), who: sender });
  const op = practitionersOfField(c, evn, 5)[0];
  if (op !== undefined) p.agent.push({ type: agentType("enterer", "Enterer"), who: op });
  if (p.agent.length === 0) p.agent.push(fallback());
  const where = hdLocation(c, evn.repetitions(7)[0]);
  if (where !== undefined) p.location = where;
  c.add(p);
}
