import { strict as assert } from "node:assert";
import { ConversionError, convertAdt } from "../../app/src/convert";
import { Hl7ParseError, buildAck, parseHl7 } from "../../app/src/hl7";

const NOW = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 67));

const MSG = [
  "MSH|^~\\&|SENDAPP|SENDFAC^1.2.3^ISO|RECVAPP|RECVFAC|20260101120000+0100||ADT^A01^ADT_A01|CTRL-42|T|2.5.1",
  "PID|1||SECRET-MRN^^^HOSP^MR||PHINAME^Private||19700101|F",
].join("\r");

function segments(ack: string): string[][] {
  assert.ok(ack.endsWith("\r"), "segments end with CR");
  assert.ok(!ack.includes("\n"), "no LF in an ACK");
  return ack.slice(0, -1).split("\r").map((s) => s.split(s[3] === "|" ? "|" : s[3]));
}

describe("HL7 ACK builder", () => {
  it("acknowledges with sender and receiver swapped, the message's version and processing id, and MSA echoing MSH-10", () => {
    const ack = buildAck(parseHl7(MSG), "AA", { now: NOW, controlId: "ACK-1" });
    const [msh, msa, ...rest] = segments(ack);
    assert.deepEqual(msh, ["MSH", "^~\\&", "RECVAPP", "RECVFAC", "SENDAPP", "SENDFAC^1.2.3^ISO", "20260102030405.067+0000", "", "ACK^A01^ACK", "ACK-1", "T", "2.5.1"]);
    assert.deepEqual(msa, ["MSA", "AA", "CTRL-42"]);
    assert.equal(rest.length, 0, "no ERR without an error");
    // The ACK parses as HL7 and says what it is.
    const parsed = parseHl7(ack);
    assert.equal(parsed.messageType, "ACK");
    assert.equal(parsed.triggerEvent, "A01");
    assert.equal(parsed.get("MSA-2"), "CTRL-42");
  });

  it("generates its own 20-character control id by default", () => {
    const a = parseHl7(buildAck(parseHl7(MSG), "CA"));
    const b = parseHl7(buildAck(parseHl7(MSG), "CA"));
    assert.match(a.controlId ?? "", /^[0-9a-f]{20}$/);
    assert.notEqual(a.controlId, b.controlId);
    assert.match(a.get("MSH-7") ?? "", /^\d{14}\.\d{3}\+0000$/);
  });

  it("adds an ERR segment in the v2.5 layout with an escaped, fixed reason", () => {
    const ack = buildAck(parseHl7(MSG), "AE", {
      now: NOW,
      error: { code: "101", text: "PID-3 missing | see spec ^ & ~ \\", segment: "PID", field: 3 },
    });
    const msg = parseHl7(ack);
    const err = msg.segment("ERR");
    assert.ok(err);
    assert.equal(err.get(1), undefined, "ERR-1 (ELD) is empty from v2.5 on");
    assert.equal(msg.get("ERR-2"), "PID^1^3");
    assert.equal(msg.get("ERR-3.1"), "101");
    assert.equal(msg.get("ERR-3.2"), "Required field missing");
    assert.equal(msg.get("ERR-3.3"), "HL70357");
    assert.equal(msg.get("ERR-4"), "E");
    assert.equal(msg.get("ERR-8"), "PID-3 missing | see spec ^ & ~ \\");
    assert.equal(msg.get("MSA-1"), "AE");
  });

  it("also fills ERR-1 for receivers older than v2.5", () => {
    const old = MSG.replace("|2.5.1", "|2.3");
    const msg = parseHl7(buildAck(parseHl7(old), "AR", { error: { code: "200", text: "unsupported message type", segment: "MSH", field: 9 } }));
    assert.equal(msg.version, "2.3");
    assert.equal(msg.get("ERR-1.1"), "MSH");
    assert.equal(msg.get("ERR-1.3"), "9");
    assert.equal(msg.get("ERR-1.4.1"), "200");
  });

  it("uses the message's own delimiters", () => {
    const custom = "MSH#$*!@#APP#FAC#RAPP#RFAC#20260101##ADT$A08#C-7#P#2.3.1\rPID#1##X1";
    const ack = buildAck(parseHl7(custom), "AE", { error: { code: "207", text: "a#b$c" } });
    assert.ok(ack.startsWith("MSH#$*!@#RAPP#RFAC#APP#FAC#"));
    const msg = parseHl7(ack);
    assert.equal(msg.get("MSA-2"), "C-7");
    assert.equal(msg.get("MSH-9"), "ACK$A08$ACK");
    assert.equal(msg.get("ERR-8"), "a#b$c");
    assert.equal(msg.get("ERR-3.1"), "207");
  });

  it("keeps the v2.7 truncation character in MSH-2", () => {
    const ack = buildAck(parseHl7("MSH|^~\\&#|A|B|C|D|20260101||ADT^A06|T-1|P|2.7\rPID|||1"), "AA");
    assert.equal(parseHl7(ack).get("MSH-2"), "^~\\&#");
  });

  it("acknowledges unparsable input with default delimiters and an empty echoed control id", () => {
    let parseError: Hl7ParseError | undefined;
    try {
      parseHl7("garbage PHINAME");
    } catch (e) {
      parseError = e as Hl7ParseError;
    }
    assert.ok(parseError);
    const ack = buildAck(undefined, "AR", {
      now: NOW,
      error: { code: parseError.hl7ErrorCode, text: parseError.message, segment: parseError.segment, field: parseError.field },
    });
    const [msh, msa, err] = segments(ack);
    assert.deepEqual(msh.slice(0, 2), ["MSH", "^~\\&"]);
    assert.equal(msh[8], "ACK");
    assert.equal(msh[11], "2.5.1");
    assert.deepEqual(msa, ["MSA", "AR", ""]);
    assert.equal(err[0], "ERR");
    assert.ok(!ack.includes("PHINAME"));
  });

  it("never puts PHI from the message into the ACK of a conversion error", () => {
    const bad = MSG.replace("19700101", "19701301") + "\rPV1|1|I";
    let error: ConversionError | undefined;
    try {
      convertAdt(bad);
    } catch (e) {
      error = e as ConversionError;
    }
    assert.ok(error instanceof ConversionError);
    const ack = buildAck(parseHl7(bad), error.ackCode, {
      error: { code: error.hl7ErrorCode, text: error.message, segment: error.segment, field: error.field },
    });
    for (const phi of ["PHINAME", "Private", "SECRET-MRN", "19701301"]) assert.ok(!ack.includes(phi), `ACK leaks ${phi}`);
    assert.equal(parseHl7(ack).get("ERR-2"), "PID^1^7");
  });

  it("ignores malformed error locations and codes instead of emitting them", () => {
    const msg = parseHl7(buildAck(parseHl7(MSG), "AE", { error: { code: "x|y", text: "t", segment: "not a segment", field: -1 } }));
    assert.equal(msg.get("ERR-2"), undefined);
    assert.equal(msg.get("ERR-3.1"), "207");
  });
});
