import { strict as assert } from "node:assert";
import type { Bundle } from "fhir/r4";
import { convertAdt, guidFromInput, idInput, makeId } from "../../app/src/convert";
import { seg } from "../support/hl7-bundle";

/**
 * FHIR-Converter's sample ADT04-251 (microsoft/FHIR-Converter:data/SampleData/Hl7v2/ADT04-251.hl7, an invented
 * test message), and ids from its expected bundle
 * (src/Microsoft.Health.Fhir.Liquid.Converter.FunctionalTests/TestData/Expected/Hl7v2/ADT_A01/ADT04-251-expected.json).
 */
const ADT04_251 = [
  "MSH|^~\\&|||||20190502121659.069-0700||ADT^A04^ADT_A01|401|T|2.5.1",
  "PID|||MRN12345^5^M11^^MR^Special Hospital||Doe^Jane||19780101|F||2106-3||||||||123456789",
  "NK1|1|JOHNSON^CONWAY^^^^^L|SPOUS||(130) 724-0433^PRN^PH^^^431^2780404~(330) 274-8214^ORN^PH^^^330^2748214||EMERGENCY",
  "PV1||E|||||12345^Johnson^Peter|||||||||||||||||||||||||||||||||||||201905020700",
].join("\n");

const PUBLISHED = {
  MessageHeader: "55e2d2b6-8c08-6f34-9f2c-ccf2ba785dba",
  Patient: "106decd4-a7b0-34eb-afe9-94e54bdff26f",
  Practitioner: "10ffd4e9-25bf-8239-3d9b-64bef81e192a",
  Encounter: "bd2f287c-f7df-4b1b-7fbf-987cdf51ee4e",
  RelatedPerson: "4e852062-3313-586b-4979-1f4c539eb4d5",
  Provenance: "269e4fbc-35ab-2c46-9c28-f4ab11c3b1f3",
};

function idsByType(b: Bundle): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of b.entry ?? []) {
    const r = e.resource;
    if (r === undefined) continue;
    out.set(r.resourceType, [...(out.get(r.resourceType) ?? []), r.id as string]);
  }
  return out;
}

function firstId(b: Bundle, type: string): string {
  const id = idsByType(b).get(type)?.[0];
  assert.ok(id, `bundle has a ${type}`);
  return id;
}

function adt(event: string, mshFacility: string, pid3: string, pv1: string, controlId = "C1"): string {
  return [
    `MSH|^~\\&|APP|${mshFacility}|RCV|RCVFAC|20260101120000+0000||ADT^${event}|${controlId}|P|2.5.1`,
    "EVN||20260101120000+0000",
    `PID|1||${pid3}||FAKENAME^Test||19700101|F`,
    pv1,
  ].join("\r");
}

/** Builds a segment from field number → value, so tests do not depend on counting pipes. */
describe("deterministic resource ids", () => {
  describe("FHIR-Converter algorithm (SHA-256 → .NET Guid byte order)", () => {
    it("reproduces the ids published with FHIR-Converter's samples", () => {
      // Seeds and ids quoted in ../shared/reference/hl7-fhir-ingestion.md §1.4 and the expected bundle above.
      assert.equal(guidFromInput("Bundle_1270326314"), "a04e38af-61c9-8af1-875d-ea2b4c1ffac6");
      assert.equal(guidFromInput("Patient_MRN12345,"), PUBLISHED.Patient);
      assert.equal(guidFromInput("Practitioner_12345^Johnson^Peter"), PUBLISHED.Practitioner);
      assert.match(guidFromInput("Organization_RDX"), /^6fbc0a9a-/);
      assert.match(guidFromInput(`Account_123456789_${PUBLISHED.Patient}`), /^7b989e2a-/);
    });

    it("builds the id input as <Type>_<trimmed seed>[_<baseId>] and refuses blank seeds", () => {
      assert.equal(idInput("Patient", "  MRN1,  "), "Patient_MRN1,");
      assert.equal(idInput("Encounter", "V1,", "p-1"), "Encounter_V1,_p-1");
      assert.equal(idInput("Patient", "   "), undefined);
      assert.equal(makeId("Patient", ""), undefined);
      assert.equal(makeId("Patient", " MRN12345, "), PUBLISHED.Patient);
    });

    it("gives every resource of ADT04-251 the id $convert-data gives it", () => {
      const b = convertAdt(ADT04_251, { ids: "convert-data" });
      for (const [type, id] of Object.entries(PUBLISHED)) assert.equal(firstId(b, type), id, type);
      // References use the same ids.
      const enc = b.entry?.find((e) => e.resource?.resourceType === "Encounter")?.resource;
      assert.equal((enc as { subject?: { reference?: string } }).subject?.reference, `Patient/${PUBLISHED.Patient}`);
      // Account seed PID-18 without CX-4 → whole CX text, with the Patient id as base id.
      assert.equal(firstId(b, "Account"), guidFromInput(`Account_123456789_${PUBLISHED.Patient}`));
      assert.equal(b.id, guidFromInput("Bundle_401"));
    });
  });

  describe("stable strategy (default) fixes two FHIR-Converter defects", () => {
    const pv1 = "PV1|1|I|4N^401^B^HOSP";

    it("equals convert-data for a Patient whose first identifier has an assigning authority", () => {
      const text = adt("A04", "FAC-A", "MRN-1^^^HOSP-A&1.2.3&ISO^MR", pv1);
      assert.equal(firstId(convertAdt(text), "Patient"), firstId(convertAdt(text, { ids: "convert-data" }), "Patient"));
    });

    it("keys the Patient on the assigning authority: the same bare MRN at two facilities is two patients", () => {
      const a = adt("A04", "FACILITY-A", "MRN-1^^^^MR", pv1);
      const b = adt("A04", "FACILITY-B", "MRN-1^^^^MR", pv1);
      // convert-data collides (microsoft/FHIR-Converter#243) ...
      assert.equal(firstId(convertAdt(a, { ids: "convert-data" }), "Patient"), firstId(convertAdt(b, { ids: "convert-data" }), "Patient"));
      // ... stable does not.
      assert.notEqual(firstId(convertAdt(a), "Patient"), firstId(convertAdt(b), "Patient"));
    });

    it("keys the Patient on the MR identifier even when it is not the first repetition", () => {
      const mrFirst = adt("A04", "F", "MRN-7^^^HOSP^MR~X-1^^^OTHER^PI", pv1);
      const mrSecond = adt("A04", "F", "X-2^^^OTHER^PI~MRN-7^^^HOSP^MR", pv1);
      assert.equal(firstId(convertAdt(mrFirst), "Patient"), firstId(convertAdt(mrSecond), "Patient"));
      assert.notEqual(
        firstId(convertAdt(mrFirst, { ids: "convert-data" }), "Patient"),
        firstId(convertAdt(mrSecond, { ids: "convert-data" }), "Patient"),
      );
    });

    it("keys the Encounter on the visit number, so an A03 updates the A01 Encounter", () => {
      const pid3 = "MRN-9^^^HOSP&1.2.3&ISO^MR";
      const admit = adt("A01", "F", pid3, seg("PV1", { 1: "1", 2: "I", 3: "4N^401^B^HOSP", 7: "DOC1^Doe^Jon", 19: "V-77", 44: "20260101080000+0000" }), "C-A01");
      const discharge = adt(
        "A03", "F", pid3,
        seg("PV1", { 1: "1", 2: "I", 3: "5S^502^A^HOSP", 7: "DOC1^Doe^Jon", 19: "V-77", 44: "20260101080000+0000", 45: "20260103100000+0000" }),
        "C-A03",
      );
      // convert-data hashes the whole PV1 text without PV1-19.4 (microsoft/FHIR-Converter#207).
      assert.notEqual(firstId(convertAdt(admit, { ids: "convert-data" }), "Encounter"), firstId(convertAdt(discharge, { ids: "convert-data" }), "Encounter"));
      assert.equal(firstId(convertAdt(admit), "Encounter"), firstId(convertAdt(discharge), "Encounter"));
    });

    it("matches convert-data for Encounters whose visit number has an authority (PV1-19.1 and 19.4)", () => {
      const text = adt("A01", "F", "MRN-9^^^HOSP&1.2.3&ISO^MR", seg("PV1", { 1: "1", 2: "I", 3: "4N", 19: "V-78^^^HOSP^VN" }));
      assert.equal(firstId(convertAdt(text), "Encounter"), firstId(convertAdt(text, { ids: "convert-data" }), "Encounter"));
    });

    it("keeps the Encounter id across PV1 changes without a visit number by using the admit time", () => {
      const pid3 = "MRN-9^^^HOSP&1.2.3&ISO^MR";
      const a = adt("A01", "F", pid3, seg("PV1", { 1: "1", 2: "I", 3: "4N", 44: "20260101080000+0000" }));
      const b = adt("A08", "F", pid3, seg("PV1", { 1: "1", 2: "I", 3: "6W", 44: "20260101080000+0000" }));
      assert.notEqual(firstId(convertAdt(a, { ids: "convert-data" }), "Encounter"), firstId(convertAdt(b, { ids: "convert-data" }), "Encounter"));
      assert.equal(firstId(convertAdt(a), "Encounter"), firstId(convertAdt(b), "Encounter"));
    });

    it("rejects an unknown id strategy", () => {
      assert.throws(() => convertAdt(ADT04_251, { ids: "random" as never }), /Invalid ids option "random"/);
    });
  });
});
