import type { Hl7Message } from "../hl7";
import { ConversionError, UnsupportedMessageError } from "./errors";
import { EVENTS, eventRule } from "./events";

/** ADT trigger events this converter handles (routing uses MSH-9.1 and MSH-9.2, never MSH-9.3). */
export const SUPPORTED_EVENTS: readonly string[] = Object.freeze(Object.keys(EVENTS).sort());

const VERSION_RE = /^2\.[3-9](\.\d{1,2})?$/;

/**
 * Header and structure checks an ingest endpoint makes before queueing a message. Throws
 * UnsupportedMessageError (ACK AR: type 200, event 201, version 203) or ConversionError (required field 101 /
 * missing segment 100), whose messages name positions only.
 */
export function validateHl7ForIngest(msg: Hl7Message): void {
  const type = msg.messageType;
  if (type === undefined) throw new ConversionError("required field missing (message type)", { code: "101", segment: "MSH", field: 9, ackCode: "AR" });
  if (type !== "ADT") throw new UnsupportedMessageError("unsupported message type (only ADT is accepted)", { code: "200" });
  const event = msg.triggerEvent;
  if (event === undefined) throw new ConversionError("required field missing (trigger event)", { code: "101", segment: "MSH", field: 9, ackCode: "AR" });
  const rule = eventRule(event);
  if (rule === undefined) {
    throw new UnsupportedMessageError(`unsupported trigger event (supported: ${SUPPORTED_EVENTS.join(" ")})`, { code: "201" });
  }
  if (msg.controlId === undefined) {
    throw new ConversionError("required field missing (message control id)", { code: "101", segment: "MSH", field: 10, ackCode: "AR" });
  }
  const version = msg.version;
  if (version === undefined) throw new ConversionError("required field missing (version id)", { code: "101", segment: "MSH", field: 12, ackCode: "AR" });
  if (!VERSION_RE.test(version)) throw new UnsupportedMessageError("unsupported version (2.3 to 2.9 are accepted)", { code: "203", field: 12 });
  if (msg.get("MSH-7") === undefined) {
    throw new ConversionError("required field missing (message date/time)", { code: "101", segment: "MSH", field: 7 });
  }
  const pid = msg.segment("PID");
  if (pid === undefined) throw new ConversionError("required segment missing", { code: "100", segment: "PID" });
  if (!pid.repetitions(3).some((r) => r.get(1) !== undefined && r.get(1) !== '""')) {
    throw new ConversionError("required field missing (patient identifier list)", { code: "101", segment: "PID", field: 3 });
  }
  // The segment the event's abstract message structure requires (v2.5.1 chapter 3), from the event table.
  if (rule.requires !== undefined && rule.requires !== "MRG" && msg.segment(rule.requires) === undefined) {
    throw new ConversionError("required segment missing", { code: "100", segment: rule.requires });
  }
  if (rule.requires === "MRG") {
    const mrgs = msg.segmentsNamed("MRG");
    if (mrgs.length === 0) throw new ConversionError("required segment missing", { code: "100", segment: "MRG" });
    for (const mrg of rule.mergesPatients === true ? mrgs : []) {
      if (!mrg.repetitions(1).some((r) => r.get(1) !== undefined && r.get(1) !== '""')) {
        throw new ConversionError("required field missing (prior patient identifier list)", { code: "101", segment: "MRG", field: 1 });
      }
    }
  }
}
