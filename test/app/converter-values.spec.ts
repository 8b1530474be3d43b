import { strict as assert } from "node:assert";
import type { Condition, Encounter, Patient } from "fhir/r4";
import { ConversionError, UnsupportedMessageError, convertAdt, toFhirDateTime, validateHl7ForIngest } from "../../app/src/convert";
import { parseHl7 } from "../../app/src/hl7";
import { loadAdtCorpus } from "../fixtures/hl7";
import { adtMessage as message, corpusText, one, seg } from "../support/hl7-bundle";

describe("ADT → FHIR R4 converter: values, and messages it refuses", () => {
  describe("values", () => {
    it("unescapes HL7 escapes (and a custom escape character) in the output", () => {
      const p = one<Patient>(convertAdt(corpusText("a08-v25-escapes")), "Patient");
      assert.equal(p.name?.[0]?.family, "O^NEIL&SONS");
      assert.deepEqual(p.name?.[0]?.given, ["Renée", "Bold"]);
      assert.equal(p.address?.[0]?.city, "Pipe|City");
      assert.equal(p.gender, undefined, 'PID-8 "" (HL7 null) gives no gender');
      const custom = one<Patient>(convertAdt(corpusText("custom-delimiters")), "Patient");
      assert.equal(custom.name?.[0]?.family, "HASH#TAG");
      assert.deepEqual(custom.name?.[0]?.given, ["Pound$Sign", "!Middle"]);
    });

    it("keeps date precision and offsets; applies defaultOffset only to times without one", () => {
      const minimal = convertAdt(corpusText("a01-v23-minimal"));
      assert.equal(minimal.timestamp, "2005-01-01T00:00:00Z");
      const v23 = convertAdt(corpusText("a04-v23"), { defaultOffset: "-05:00" });
      assert.equal(one<Patient>(v23, "Patient").birthDate, "1978-01");
      assert.equal(one<Encounter>(v23, "Encounter").period?.start, "2009-12-01T10:00:00-05:00");
      assert.equal(v23.timestamp, "2009-12-01T10:30:00-05:00");
      const a03 = convertAdt(corpusText("a03-v25-discharge"), { defaultOffset: "+09:00" });
      assert.equal(one<Patient>(a03, "Patient").birthDate, "2001");
      assert.equal(one<Encounter>(a03, "Encounter").period?.start, "2026-03-18T09:00:00-05:00", "an explicit offset wins");
      assert.equal(one<Condition>(a03, "Condition").onsetDateTime, "2026-03-18");
      assert.throws(() => convertAdt(corpusText("a03-v25"), { defaultOffset: "EST" }), /Invalid defaultOffset "EST"/);
    });

    it("applies a facility IANA time zone, with daylight saving, to times without an offset", () => {
      const at = (ts: string): string | undefined =>
        convertAdt(message("A28", [], { 6: ts }), { timeZone: "America/New_York" }).timestamp;
      assert.equal(at("20260115093000"), "2026-01-15T09:30:00-05:00");
      assert.equal(at("20260715093000"), "2026-07-15T09:30:00-04:00");
      assert.equal(at("20260308013000"), "2026-03-08T01:30:00-05:00", "just before the spring-forward");
      assert.equal(at("20260308033000"), "2026-03-08T03:30:00-04:00", "just after the spring-forward");
      assert.equal(at("20260308023000"), "2026-03-08T02:30:00-04:00", "a skipped wall time gets the DST offset");
      assert.equal(at("20261101013000"), "2026-11-01T01:30:00-04:00", "an ambiguous wall time gets the DST offset");
      assert.equal(at("20260715093000+0200"), "2026-07-15T09:30:00+02:00", "an explicit offset wins");
      assert.equal(
        convertAdt(message("A28", [], { 6: "20260101" }), { timeZone: "Asia/Kolkata" }).timestamp,
        "2026-01-01T00:00:00+05:30",
      );
      assert.throws(() => convertAdt(message("A28"), { timeZone: "Mars/Olympus" }), /Invalid timeZone "Mars\/Olympus"/);
    });

    it("reads exactly the HL7 DTM grammar, keeping precision, fraction and offset", () => {
      const at = { segment: "PV1", field: 44 };
      const table: [string, string][] = [
        ["2026", "2026"],
        ["202602", "2026-02"],
        ["20240229", "2024-02-29"],
        ["2026021509", "2026-02-15T09:00:00Z"],
        ["202602150930", "2026-02-15T09:30:00Z"],
        ["20260215093015.5", "2026-02-15T09:30:15.5Z"],
        ["20260215093015.1234-0500", "2026-02-15T09:30:15.1234-05:00"],
        ["2026021509+0000", "2026-02-15T09:00:00Z"],
        ["2026+0100", "2026"],
      ];
      for (const [hl7, fhir] of table) assert.equal(toFhirDateTime(hl7, at, "Z"), fhir, hl7);
      // Grammar oracle: YYYY[MM[DD[HH[MM[SS[.S{1,4}]]]]]][+/-ZZZZ]; anything else is "not a valid HL7 date/time".
      const grammar = /^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,4})?)?)?)?)?)?([+-]\d{4})?$/;
      const pieces = ["2", "0", "1", "9", "12", "59", ".", "+", "-", "+0100", "x", " ", "\u0663"];
      let seed = 11;
      const rnd = (n: number): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      let valid = 0;
      for (let i = 0; i < 5000; i++) {
        let v = i % 2 === 0 ? "20240229135959" : "";
        for (let e = rnd(6); e >= 0; e--) {
          const p = rnd(v.length + 1);
          v = v.slice(0, p) + pieces[rnd(pieces.length)] + v.slice(p + (rnd(3) === 0 ? 1 : 0));
        }
        let outcome: string;
        try {
          toFhirDateTime(v, at, "Z");
          outcome = "ok";
          valid++;
        } catch (err) {
          assert.ok(err instanceof ConversionError);
          outcome = /not a valid HL7 date\/time/.test(err.message) ? "syntax" : "range";
        }
        const syntaxOk = v.length <= 24 && grammar.test(v);
        assert.equal(outcome === "syntax", !syntaxOk, `${JSON.stringify(v)}: ${outcome}`);
      }
      assert.ok(valid > 50 && valid < 4900, `both outcomes exercised (${valid} of 5000 valid)`);
    });

    it("rejects invalid timestamps with a ConversionError naming the field (never the value)", () => {
      const bad = (dtm: string): string => message("A01", [seg("PV1", { 1: "1", 2: "I", 44: dtm })]);
      for (const dtm of ["20260101120000+00", "20261301", "20260230", "2026010112000", "2026-01-01", "20260101250000"]) {
        assert.throws(
          () => convertAdt(bad(dtm)),
          (err: unknown) => {
            assert.ok(err instanceof ConversionError, String(err));
            assert.equal(err.hl7ErrorCode, "102");
            assert.equal(err.segment, "PV1");
            assert.equal(err.field, 44);
            assert.ok(!err.message.includes(dtm), "message does not echo the value");
            return true;
          },
          dtm,
        );
      }
    });

    it("maps v2.3-style telecom numbers that FHIR-Converter drops", () => {
      const p = one<Patient>(convertAdt(corpusText("a04-v23")), "Patient");
      assert.deepEqual(p.telecom, [{ system: "phone", value: "(130)724-0433", use: "home" }]);
      assert.equal(p.identifier?.find((i) => i.type?.coding?.[0]?.code === "SB")?.system, "http://hl7.org/fhir/sid/us-ssn");
    });
  });

  describe("unsupported and invalid messages", () => {
    const cases: [string, string, string, "AR" | "AE", RegExp][] = [
      ["ORU message", message("A01").replace("ADT^A01", "ORU^R01"), "200", "AR", /unsupported message type/],
      ["unknown ADT event", message("A99"), "201", "AR", /unsupported trigger event/],
      ["A37 (no FHIR-Converter template)", message("A37"), "201", "AR", /unsupported trigger event/],
      ["version 2.2", message("A01", [seg("PV1", { 2: "I" })], { 11: "2.2" }), "203", "AR", /unsupported version/],
      ["missing MSH-9", message("A01", [], { 8: "" }), "101", "AR", /MSH-9: required field missing/],
      ["missing MSH-10", message("A01", [seg("PV1", { 2: "I" })], { 9: "" }), "101", "AR", /MSH-10: required field missing/],
      ["missing MSH-12", message("A01", [seg("PV1", { 2: "I" })], { 11: "" }), "101", "AR", /MSH-12: required field missing/],
      ["missing PV1 on A01", message("A01"), "100", "AE", /PV1: required segment missing/],
      ["missing PID-3", message("A01", [seg("PV1", { 2: "I" })]).replace("MRN-5^^^HOSP&1.2.3&ISO^MR", ""), "101", "AE", /PID-3: required field missing/],
      ["A40 without MRG", message("A40"), "100", "AE", /MRG: required segment missing/],
      ["A40 merging a patient into itself", message("A40", [seg("MRG", { 1: "MRN-5^^^HOSP&1.2.3&ISO^MR" })]), "205", "AE", /MRG-1: prior patient identifier/],
      ["OBX without OBX-3", message("A01", [seg("PV1", { 2: "I" }), seg("OBX", { 1: "1", 2: "ST", 5: "x" })]), "101", "AE", /OBX-3: required field missing/],
    ];
    for (const [name, text, code, ack, pattern] of cases) {
      it(`${name} → ${code} (${ack}) with a PHI-free message`, () => {
        assert.throws(
          () => convertAdt(text),
          (err: unknown) => {
            assert.ok(err instanceof ConversionError, String(err));
            assert.equal(err.hl7ErrorCode, code);
            assert.equal(err.ackCode, ack);
            assert.match(err.message, pattern);
            assert.ok(!/ZZTESTNAME|Secret|MRN-5|19700101/.test(err.message), err.message);
            return true;
          },
        );
      });
    }

    it("flags type/event/version problems as UnsupportedMessageError", () => {
      assert.throws(() => convertAdt(message("A99")), UnsupportedMessageError);
      assert.throws(() => convertAdt(message("A01").replace("ADT^A01", "SIU^S12")), UnsupportedMessageError);
    });

    it("validateHl7ForIngest accepts every corpus message and rejects the same bad headers", () => {
      for (const m of loadAdtCorpus()) validateHl7ForIngest(parseHl7(m.text));
      assert.throws(() => validateHl7ForIngest(parseHl7(message("A99"))), (e: unknown) => e instanceof UnsupportedMessageError && e.hl7ErrorCode === "201");
      assert.throws(() => validateHl7ForIngest(parseHl7(message("A01", [], { 9: "" }))), /MSH-10/);
    });
  });
});
