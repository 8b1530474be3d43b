import { strict as assert } from "node:assert";
import type { Condition, Device, Encounter, EpisodeOfCare, Observation, Patient, PractitionerRole, Procedure, ServiceRequest } from "fhir/r4";
import { convertAdt, guidFromInput } from "../../app/src/convert";
import { fhirProblems } from "../support/fhir-validate";
import { all, one, seg } from "../support/hl7-bundle";

const ref = (type: string, id: string) => `${type}/${id}`;

const MSH = "MSH|^~\\&|APP|FAC|RCV|RCVFAC|20260101120000+0000||ADT^A01|CTL-1|P|2.8";
const EVN = "EVN||20260101120000+0000";
const PATIENT = guidFromInput("Patient_MRN-5,HOSP");

/** One A01 exercising every segment mapper, checked in both modes. */
const pid = seg("PID", { 1: "1", 3: "MRN-5^^^HOSP^MR", 5: "ZZTEST^Pat", 8: "F", 13: "^PRN^PH^^^217^5550100", 40: "^WPN^PH^^^217^5550177~^NET^Internet^pat@example.org" });
const text = [
  MSH,
  EVN,
  pid,
  "ARV|1|A|R^Restricted^HL70717",
  seg("PD1", { 3: "Main Clinic^^CLINIC-9", 4: "GP1^Green^Gail" }),
  seg("DB1", { 1: "1", 2: "PT", 3: "DIS-7^^^SSA", 4: "Y" }),
  seg("PV1", { 1: "1", 2: "I", 3: "4N^401^B^HOSP", 19: "V1^^^HOSP", 50: "ALT-1^^^HOSP", 52: "OT1^Other^Olga", 54: "EP-1^^^HOSP" }),
  seg("PV2", { 11: "3", 13: "RS1^Referrer^Rick", 25: "2^Urgent^HL70217" }),
  "ARV|2|X|V^Very restricted^HL70717",
  seg("ROL", { 1: "1", 2: "AD", 3: "PP^Primary care^HL70443", 4: "D9^Doe^Ann", 13: "CLINIC^^^HOSP", 14: "Good Health" }),
  seg("OBX", { 1: "1", 2: "NM", 3: "8302-2^Height^LN", 5: "170", 6: "cm^cm^UCUM", 11: "F", 14: "20260101", 16: "TECH1^Tech^Tom", 18: "DEV-1^^", 23: "Lab Inc", 25: "DIR1^Director^Dee" }),
  seg("DG1", { 1: "1", 3: "R07.9^Chest pain^I10", 5: "20260101", 16: "DX1^Diag^Dan" }),
  seg("PR1", { 1: "1", 3: "76164006^Biopsy^SCT", 4: "Colon biopsy", 5: "20260101", 11: "SURG1^Cutter^Sam", 23: "OR^1^^HOSP" }),
  seg("RF1", { 1: "A", 2: "S", 3: "MED^Medical^HL70281", 6: "REF-1", 7: "20260102", 9: "20260101", 10: "R^Second opinion^HL70336", 20: "SPEC1^Special^Sue" }),
].join("\r");

describe("segment mappers", () => {
  for (const ids of ["stable", "convert-data"] as const) {
    describe(`${ids}`, () => {
      const b = convertAdt(text, { ids });
      const patient = one<Patient>(b, "Patient");
      const enc = one<Encounter>(b, "Encounter");

      it("the bundle is valid FHIR R4", () => {
        assert.deepEqual(fhirProblems(b), []);
      });

      it("PD1-3/PD1-4 → Patient.generalPractitioner; a ROL after the PV1 → PractitionerRole participating in the visit", () => {
        const gp = (patient.generalPractitioner ?? []).map((r) => r.reference?.split("/")[0]);
        assert.deepEqual(gp, ["Organization", "Practitioner"]);
        const enc2 = enc.participant?.map((p) => p.individual?.reference?.split("/")[0]);
        assert.ok(enc2?.includes("PractitionerRole"), "a ROL after the PV1 is a participant of the visit");
        const role = all<PractitionerRole>(b, "PractitionerRole" as never).find((r) => r.code !== undefined) as PractitionerRole;
        assert.equal(role.code?.[0]?.coding?.[0]?.code, "PP");
        assert.match(role.organization?.reference ?? "", /^Organization\//);
        assert.match(role.location?.[0]?.reference ?? "", /^Location\//);
      });

      it("DB1-3 (DB1-2 = PT) and PID-40 telecom reach the Patient", () => {
        assert.ok(patient.identifier?.some((i) => i.value === "DIS-7"));
        assert.ok(patient.telecom?.some((t) => t.system === "email" && t.value === "pat@example.org"));
      });

      it("ARV: an ARV after the PID labels the Patient, one after the PV1 the Encounter", () => {
        assert.deepEqual(patient.meta?.security?.map((s) => s.code), ["LABEL", "R"]);
        assert.deepEqual(enc.meta?.security?.map((s) => s.code), ["PERSISTLABEL", "V"]);
      });

      it("PV1-50 alternate visit id, PV1-52 participant, PV1-54 EpisodeOfCare, PV2-11/13/25", () => {
        assert.deepEqual(enc.identifier?.map((i) => i.value), ["V1", "ALT-1"]);
        const ep = one<EpisodeOfCare>(b, "EpisodeOfCare");
        assert.equal(ep.id, guidFromInput("EpisodeOfCare_EP-1,HOSP"));
        assert.deepEqual(enc.episodeOfCare, [{ reference: ref("EpisodeOfCare", ep.id as string) }]);
        assert.deepEqual(enc.length, { value: 3, unit: "d", system: "http://unitsofmeasure.org", code: "d" });
        assert.equal(enc.priority?.coding?.[0]?.code, "2");
        const codes = enc.participant?.map((p) => p.type?.[0]?.coding?.[0]?.code);
        assert.ok(codes?.includes("PART") && codes.includes("REF"));
      });

      it("OBX-16/25 PractitionerRoles, OBX-18 Device, OBX-23 performing organisation", () => {
        const o = one<Observation>(b, "Observation");
        assert.equal(o.id, guidFromInput(`Observation_8302-2^Height^LN,20260101_${PATIENT}`));
        const kinds = o.performer?.map((p) => p.reference?.split("/")[0]);
        assert.deepEqual(kinds, ["PractitionerRole", "PractitionerRole"]);
        const dev = one<Device>(b, "Device");
        assert.equal(o.device?.reference, ref("Device", dev.id as string));
        assert.equal(dev.identifier?.[0]?.value, "DEV-1");
      });

      it("DG1-16 asserter, PR1 Procedure with performer and location, RF1 ServiceRequest", () => {
        assert.match(one<Condition>(b, "Condition").asserter?.reference ?? "", /^Practitioner\//);
        const p = one<Procedure>(b, "Procedure");
        assert.equal(p.code?.coding?.[0]?.code, "76164006");
        assert.equal(p.performedDateTime, "2026-01-01");
        assert.equal(p.performer?.[0]?.function?.coding?.[0]?.code, "SPRF");
        assert.match(p.location?.reference ?? "", /^Location\//);
        const sr = one<ServiceRequest>(b, "ServiceRequest");
        const rf1 = text.split("\r").find((s) => s.startsWith("RF1")) as string;
        assert.equal(sr.id, guidFromInput(`ServiceRequest_${rf1}_${PATIENT}`));
        assert.equal(sr.status, "active");
        assert.equal(sr.priority, "stat");
        assert.equal(sr.reasonCode?.[0]?.coding?.[0]?.code, "R");
        assert.equal(sr.encounter?.reference, ref("Encounter", enc.id as string));
        assert.match(sr.performer?.[0]?.reference ?? "", /^Practitioner\//);
      });
    });
  }

  it("IN2 identifiers: Medicare/Medicaid/military/member always, employee id and SSN when the patient is the insured", () => {
    const in1 = seg("IN1", { 1: "1", 2: "PLAN", 3: "INS-1", 4: "Acme", 17: "SEL" });
    const in2 = seg("IN2", { 1: "EMP-9^^^ACME", 2: "123-45-6789", 6: "MCR-1", 8: "MCD-2", 10: "MIL-3", 61: "MEM-4^^^ACME" });
    const pv1 = seg("PV1", { 1: "1", 2: "I" });
    const ids = (extra: string[]) =>
      one<Patient>(convertAdt([MSH, EVN, seg("PID", { 1: "1", 3: "MRN-5^^^HOSP^MR" }), pv1, ...extra].join("\r")), "Patient").identifier?.map((i) => i.value);
    assert.deepEqual(ids([in1, in2]), ["MRN-5", "EMP-9", "123-45-6789", "MCR-1", "MCD-2", "MIL-3", "MEM-4"]);
    assert.deepEqual(ids([in1.replace("SEL", "SPO"), in2]), ["MRN-5", "MCR-1", "MCD-2", "MIL-3", "MEM-4"]);
  });

  it("XPN-15 (called by) is a given name of the usual name only; XPN-14 a suffix", () => {
    const names = "DOE^Jonathan^^^^^D^^^^^^^MBA^Jon~DOE^Jonathan^^^^^L^^^^^^^^Jon";
    const msg = [MSH, EVN, seg("PID", { 1: "1", 3: "MRN-5^^^HOSP^MR", 5: names }), seg("PV1", { 1: "1", 2: "I" })].join("\r");
    const p = one<Patient>(convertAdt(msg), "Patient");
    assert.deepEqual(p.name?.[0], { family: "DOE", given: ["Jonathan", "Jon"], suffix: ["MBA"], use: "usual" });
    assert.deepEqual(p.name?.[1], { family: "DOE", given: ["Jonathan"], use: "official" });
  });

  it("A26 (cancel pending transfer) writes the pending Locations but does not list them on the Encounter", () => {
    const pv1 = seg("PV1", { 1: "1", 2: "I", 3: "4N^401", 19: "V1^^^HOSP", 42: "5S^502" });
    const text26 = [MSH.replace("ADT^A01", "ADT^A26"), EVN, seg("PID", { 1: "1", 3: "MRN-5^^^HOSP^MR" }), pv1].join("\r");
    const b = convertAdt(text26, { ids: "convert-data" });
    const pending = guidFromInput("Location_5S,5S^502");
    assert.ok(all(b, "Location").some((l) => l.id === pending));
    assert.ok(!one<Encounter>(b, "Encounter").location?.some((l) => l.location.reference === `Location/${pending}`));
    const a15 = convertAdt(text26.replace("ADT^A26", "ADT^A15"), { ids: "convert-data" });
    assert.equal(one<Encounter>(a15, "Encounter").location?.find((l) => l.location.reference === `Location/${pending}`)?.status, "planned");
  });

  it("XTN without XTN-12: stable keeps the number, convert-data drops it as FHIR-Converter does (#462)", () => {
    const phone = "(217) 555-0100^PRN^PH^^^217^5550100";
    const msg = [MSH, EVN, seg("PID", { 1: "1", 3: "MRN-5^^^HOSP^MR", 5: "ZZTEST^Pat", 13: phone }), seg("PV1", { 1: "1", 2: "I" })].join("\r");
    assert.deepEqual(one<Patient>(convertAdt(msg), "Patient").telecom, [{ system: "phone", value: "(217) 555-0100", use: "home" }]);
    const cd = convertAdt(msg, { ids: "convert-data" });
    assert.deepEqual(one<Patient>(cd, "Patient").telecom, [{ system: "phone", use: "home" }]);
    assert.deepEqual(fhirProblems(cd), []);
  });
});
