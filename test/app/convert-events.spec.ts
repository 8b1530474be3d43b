import { strict as assert } from "node:assert";
import type { AllergyIntolerance, Encounter, Linkage, Patient } from "fhir/r4";
import { SUPPORTED_EVENTS, convertAdt, guidFromInput } from "../../app/src/convert";
import { parseHl7 } from "../../app/src/hl7";
import { loadFhirConverterSamples } from "../fixtures/hl7";
import { fhirProblems } from "../support/fhir-validate";
import { all, one, seg } from "../support/hl7-bundle";

const PID3 = "MRN-5^^^HOSP^MR";
/** Patient id by ID/_Patient.liquid: PID-3[0].1,PID-3[0].4. */
const PATIENT_ID = guidFromInput("Patient_MRN-5,HOSP");

function message(event: string, extra: string[], pid3 = PID3): string {
  return [
    `MSH|^~\\&|APP|FAC|RCV|RCVFAC|20260101120000+0000||ADT^${event}|CTL-${event}|P|2.5.1`,
    "EVN||20260101120000+0000",
    `PID|1||${pid3}||ZZTEST^Pat||19700101|F`,
    ...extra,
  ].join("\r");
}

const PV1 = seg("PV1", { 1: "1", 2: "I", 3: "4N^401^B^HOSP", 19: "V1^^^HOSP", 44: "20260101080000+0000", 45: "20260105100000+0000" });
const PV2 = seg("PV2", { 8: "20260102090000+0000", 9: "20260104170000+0000" });

describe("ADT events (the event table)", () => {
  it("supports every event FHIR-Converter ships a template for, plus A12", () => {
    const templates = ["A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A09", "A10", "A11", "A13", "A14", "A15", "A16", "A25", "A26", "A27", "A28", "A29", "A31", "A40", "A41", "A45", "A47", "A60"];
    assert.deepEqual([...SUPPORTED_EVENTS].sort(), [...templates, "A12"].sort());
  });

  describe("Encounter status and period per event (Resource/_Encounter.liquid)", () => {
    const cases: [string, Encounter["status"], { start?: string; end?: string }][] = [
      ["A01", "in-progress", { start: "2026-01-01T08:00:00Z", end: "2026-01-05T10:00:00Z" }],
      ["A03", "finished", { start: "2026-01-01T08:00:00Z", end: "2026-01-05T10:00:00Z" }],
      // A04/A05/A11/A14/A27: the expected admit and discharge (PV2-8/9) override PV1-44/45.
      ["A04", "in-progress", { start: "2026-01-02T09:00:00Z", end: "2026-01-04T17:00:00Z" }],
      ["A05", "planned", { start: "2026-01-02T09:00:00Z", end: "2026-01-04T17:00:00Z" }],
      ["A14", "planned", { start: "2026-01-02T09:00:00Z", end: "2026-01-04T17:00:00Z" }],
      ["A11", "cancelled", { start: "2026-01-02T09:00:00Z", end: "2026-01-04T17:00:00Z" }],
      ["A27", "cancelled", { start: "2026-01-02T09:00:00Z", end: "2026-01-04T17:00:00Z" }],
      ["A15", "in-progress", { start: "2026-01-01T08:00:00Z", end: "2026-01-05T10:00:00Z" }],
      // A16 (pending discharge): only the end comes from PV2-9.
      ["A16", "in-progress", { start: "2026-01-01T08:00:00Z", end: "2026-01-04T17:00:00Z" }],
      // A13/A25 cancel a discharge: no end.
      ["A13", "in-progress", { start: "2026-01-01T08:00:00Z" }],
      ["A25", "in-progress", { start: "2026-01-01T08:00:00Z" }],
      ["A26", "in-progress", { start: "2026-01-01T08:00:00Z", end: "2026-01-05T10:00:00Z" }],
      // No forced status: PV1-45 makes it finished.
      ["A09", "finished", { start: "2026-01-01T08:00:00Z", end: "2026-01-05T10:00:00Z" }],
      ["A10", "finished", { start: "2026-01-01T08:00:00Z", end: "2026-01-05T10:00:00Z" }],
      ["A28", "finished", { start: "2026-01-01T08:00:00Z", end: "2026-01-05T10:00:00Z" }],
      ["A31", "finished", { start: "2026-01-01T08:00:00Z", end: "2026-01-05T10:00:00Z" }],
    ];
    for (const [event, status, period] of cases) {
      it(`${event}: ${status}, period ${JSON.stringify(period)}`, () => {
        for (const ids of ["stable", "convert-data"] as const) {
          const e = one<Encounter>(convertAdt(message(event, [PV1, PV2]), { ids }), "Encounter");
          assert.equal(e.status, status, ids);
          assert.deepEqual(e.period, period, ids);
        }
      });
    }

    it("without PV2 the PV1 period stands; without PV1-45 A09 takes its status from PV1-2", () => {
      assert.deepEqual(one<Encounter>(convertAdt(message("A04", [PV1])), "Encounter").period, { start: "2026-01-01T08:00:00Z", end: "2026-01-05T10:00:00Z" });
      const noEnd = seg("PV1", { 1: "1", 2: "P", 19: "V1^^^HOSP" });
      assert.equal(one<Encounter>(convertAdt(message("A09", [noEnd])), "Encounter").status, "planned");
    });

    it("A11/A27 list the locations without a status; A03 completes the current one; A05 plans it", () => {
      assert.equal(one<Encounter>(convertAdt(message("A11", [PV1])), "Encounter").location?.[0]?.status, undefined);
      assert.equal(one<Encounter>(convertAdt(message("A03", [PV1])), "Encounter").location?.[0]?.status, "completed");
      assert.equal(one<Encounter>(convertAdt(message("A05", [PV1])), "Encounter").location?.[0]?.status, "planned");
    });
  });

  describe("A29 delete person", () => {
    const text = message("A29", [PV1]);
    it("convert-data turns every entry into a DELETE, as ADT_A29.liquid does", () => {
      const b = convertAdt(text, { ids: "convert-data" });
      assert.ok((b.entry ?? []).length > 3);
      for (const e of b.entry ?? []) assert.equal(e.request?.method, "DELETE", e.request?.url);
    });
    it("stable deletes the person's own records and keeps shared ones (Organization, Location, MessageHeader)", () => {
      const b = convertAdt(text);
      const method = (type: string) => new Set((b.entry ?? []).filter((e) => e.resource?.resourceType === type).map((e) => e.request?.method));
      assert.deepEqual(method("Patient"), new Set(["DELETE"]));
      assert.deepEqual(method("Encounter"), new Set(["DELETE"]));
      assert.deepEqual(method("Location"), new Set(["PUT"]));
      assert.deepEqual(method("MessageHeader"), new Set(["PUT"]));
      assert.equal(one<Patient>(b, "Patient").id, PATIENT_ID);
    });
  });

  describe("A40/A41/A47: Linkage keyed on the first MRG (ID/_Linkage.liquid)", () => {
    const linkageId = guidFromInput("Linkage_OLD-1,HOSP");
    const a40 = message("A40", [seg("MRG", { 1: "OLD-1^^^HOSP^MR" })]);

    it("A40 convert-data: a Linkage from PID-3 (source) to MRG-1 (historical) and no Patient", () => {
      const b = convertAdt(a40, { ids: "convert-data" });
      assert.equal(all(b, "Patient").length, 0);
      const l = one<Linkage>(b, "Linkage");
      assert.equal(l.id, linkageId);
      assert.deepEqual(
        l.item.map((i) => [i.type, i.resource.type, i.resource.identifier?.value]),
        [["source", "Patient", "MRN-5"], ["historical", "Patient", "OLD-1"]],
      );
      // The Provenances still take the PID patient as base id (ID/_Provenance.liquid requires one).
      const provIds = all(b, "Provenance").map((p) => p.id);
      assert.ok(provIds.includes(guidFromInput(`Provenance_APP_${PATIENT_ID}`)));
    });

    it("A40 stable: the same Linkage plus the survivor and the retired Patient", () => {
      const b = convertAdt(a40);
      assert.equal(one<Linkage>(b, "Linkage").id, linkageId);
      const retired = all<Patient>(b, "Patient").find((p) => p.active === false);
      assert.equal(retired?.id, guidFromInput("Patient_OLD-1,HOSP"));
    });

    it("A41 also links the accounts (PID-18 source, MRG-3 historical) and needs no MRG-1", () => {
      const pid = seg("PID", { 1: "1", 3: PID3, 5: "ZZTEST^Pat", 18: "ACC-NEW" });
      const text = message("A41", [seg("MRG", { 3: "ACC-OLD" })]).replace(/PID\|[^\r]*/, pid);
      const l = one<Linkage>(convertAdt(text, { ids: "convert-data" }), "Linkage");
      assert.equal(l.id, guidFromInput("Linkage_,"));
      assert.deepEqual(
        l.item.map((i) => [i.type, i.resource.type, i.resource.identifier?.value]),
        [["source", "Patient", "MRN-5"], ["source", "Account", "ACC-NEW"], ["historical", "Account", "ACC-OLD"]],
      );
    });

    it("A47 convert-data reproduces the template's blank patient seed (Provenance base = Patient_,)", () => {
      const b = convertAdt(message("A47", [seg("MRG", { 1: "OLD-1^^^HOSP^MR" })]), { ids: "convert-data" });
      const blankPatient = guidFromInput("Patient_,");
      assert.ok(all(b, "Provenance").some((p) => p.id === guidFromInput(`Provenance_APP_${blankPatient}`)));
      const stable = convertAdt(message("A47", [seg("MRG", { 1: "OLD-1^^^HOSP^MR" })]));
      assert.ok(all(stable, "Provenance").some((p) => p.id === guidFromInput(`Provenance_APP_${PATIENT_ID}`)));
    });
  });

  describe("A45 move visit", () => {
    const pv1 = seg("PV1", { 1: "1", 2: "O", 19: "V7" });
    const text = message("A45", [seg("MRG", { 1: "OLD-1^^^HOSP^MR", 5: "V7" }), pv1]);
    const pv1Seed = pv1; // no PV1-19.4: ID/_Encounter.liquid hashes the whole PV1

    it("convert-data: the visit after each MRG becomes an Encounter of the PID patient, keyed on it", () => {
      const b = convertAdt(text, { ids: "convert-data" });
      const e = one<Encounter>(b, "Encounter");
      assert.equal(e.subject?.reference, `Patient/${PATIENT_ID}`);
      assert.equal(e.id, guidFromInput(`Encounter_${pv1Seed}_${PATIENT_ID}`));
      assert.equal(all(b, "Patient").length, 0);
    });

    it("stable: the existing Encounter (keyed on the prior patient) is the one moved", () => {
      const e = one<Encounter>(convertAdt(text), "Encounter");
      assert.equal(e.subject?.reference, `Patient/${PATIENT_ID}`);
      assert.equal(e.id, guidFromInput(`Encounter_V7,_${guidFromInput("Patient_OLD-1,HOSP")}`));
    });
  });

  it("A60: IAM → AllergyIntolerance with the IAR reactions and NTE notes", () => {
    const text = message("A60", [
      seg("IAM", { 1: "1", 2: "DA", 3: "70618^Penicillin^RXNORM", 4: "SV", 6: "A", 11: "20200101" }),
      seg("IAR", { 1: "39579001^Anaphylaxis^SCT", 2: "SV" }),
      seg("NTE", { 1: "1", 3: "Reported by patient" }),
    ]);
    for (const ids of ["stable", "convert-data"] as const) {
      const a = one<AllergyIntolerance>(convertAdt(text, { ids }), "AllergyIntolerance");
      // ID/_AllergyIntolerance.liquid: IAM-1,IAM-3,IAM-6 (all present), base Patient.
      assert.equal(a.id, guidFromInput(`AllergyIntolerance_1,70618^Penicillin^RXNORM,A_${PATIENT_ID}`));
      assert.deepEqual(a.category, ["medication"]);
      assert.equal(a.criticality, "high");
      assert.equal(a.reaction?.[0]?.manifestation[0]?.coding?.[0]?.code, "39579001");
      assert.equal(a.reaction?.[0]?.severity, "severe");
      assert.equal(a.note?.[0]?.text, "Reported by patient");
      assert.equal(a.onsetDateTime, "2020-01-01");
    }
  });

  it("A60: IAM-14/15 reporter (caregiver → Practitioner, other → RelatedPerson); convert-data maps the first IAM only", () => {
    const iam1 = seg("IAM", { 1: "1", 2: "FA", 3: "256349002^Peanut^SCT", 6: "A", 14: "KIN^Kim", 15: "MTH^Mother^HL70063" });
    const iam2 = seg("IAM", { 1: "2", 2: "DA", 3: "70618^Penicillin^RXNORM", 6: "A", 14: "NURSE^Nia", 15: "CGV^Caregiver^HL70063" });
    const text = message("A60", [iam1, iam2]);
    const cd = convertAdt(text, { ids: "convert-data" });
    const a = one<AllergyIntolerance>(cd, "AllergyIntolerance");
    assert.equal(a.asserter?.reference, `RelatedPerson/${guidFromInput(`RelatedPerson_KIN^Kim_${PATIENT_ID}`)}`);
    const stable = all<AllergyIntolerance>(convertAdt(text), "AllergyIntolerance");
    assert.equal(stable.length, 2);
    assert.equal(stable[1].asserter?.reference, `Practitioner/${guidFromInput("Practitioner_NURSE^Nia")}`);
  });

  describe("FHIR-Converter's published ADT samples", () => {
    for (const m of loadFhirConverterSamples()) {
      it(`${m.name}: converts in both modes to valid FHIR (medplum + FHIR.js)`, function () {
        this.timeout(30000);
        for (const ids of ["stable", "convert-data"] as const) {
          const b = convertAdt(m.text, { ids });
          assert.equal(one(b, "MessageHeader").resourceType, "MessageHeader");
          assert.equal((b.entry ?? []).length > 3, true);
          const problems = fhirProblems(b);
          assert.deepEqual(problems, [], `${m.name} (${ids}):\n${problems.join("\n")}`);
        }
        const event = parseHl7(m.text).triggerEvent as string;
        const kinds = all(convertAdt(m.text, { ids: "convert-data" }), "Linkage").length;
        assert.equal(kinds > 0, ["A40", "A41", "A47"].includes(event), "Linkage exactly for the merge events");
      });
    }
  });
});
