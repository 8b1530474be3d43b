import { strict as assert } from "node:assert";
import type { Bundle, Coverage, Encounter, FhirResource, Location } from "fhir/r4";
import { convertAdt, guidFromInput } from "../../app/src/convert";
import { loadFhirConverterSamples } from "../fixtures/hl7";
import { seg } from "../support/hl7-bundle";

/**
 * Id seeds of the `convert-data` strategy, each computed here from the recipe in FHIR-Converter's
 * data/Templates/Hl7v2/ID/_<Type>.liquid: `<Type>_<seed>[_<baseId>]`, SHA-256, .NET Guid order.
 */
function ids(b: Bundle, type: string): string[] {
  return (b.entry ?? []).filter((e) => e.resource?.resourceType === type).map((e) => e.resource?.id as string);
}
function byId<T extends FhirResource>(b: Bundle, id: string): T {
  const r = (b.entry ?? []).find((e) => e.resource?.id === id)?.resource;
  assert.ok(r, `bundle has ${id}`);
  return r as T;
}

const MSH = "MSH|^~\\&|APP|FAC|RCV|RCVFAC|20260101120000+0000||ADT^A01|CTL-1|P|2.5.1";
const EVN = "EVN||20260101120000+0000||01";
const PID = "PID|1||MRN-5^^^HOSP^MR||ZZTEST^Pat||19700101|F";
const PATIENT = guidFromInput("Patient_MRN-5,HOSP");
const cd = (segments: string[], event = "A01"): Bundle =>
  convertAdt([MSH.replace("ADT^A01", `ADT^${event}`), EVN, PID, ...segments].join("\r"), { ids: "convert-data" });

describe("convert-data id seeds (ID/*.liquid)", () => {
  const pv1 = seg("PV1", { 1: "1", 2: "I", 19: "V1^^^HOSP" });

  it("Observation: OBX-3,OBX-14 with the Patient as base, else the whole OBX", () => {
    const withTime = seg("OBX", { 1: "1", 2: "NM", 3: "8302-2^Height^LN", 5: "170", 11: "F", 14: "20260101" });
    const noTime = seg("OBX", { 1: "2", 2: "ST", 3: "X-1^Note", 5: "text", 11: "F" });
    const b = cd([pv1, withTime, noTime]);
    assert.deepEqual(ids(b, "Observation"), [
      guidFromInput(`Observation_8302-2^Height^LN,20260101_${PATIENT}`),
      guidFromInput(`Observation_${noTime}_${PATIENT}`),
    ]);
  });

  it("Observation: two OBX with the same code and time collide in convert-data; stable keeps both", () => {
    const a = seg("OBX", { 1: "1", 2: "NM", 3: "8867-4^Pulse^LN", 4: "1", 5: "72", 11: "F", 14: "20260101" });
    const b2 = seg("OBX", { 1: "2", 2: "NM", 3: "8867-4^Pulse^LN", 4: "2", 5: "75", 11: "F", 14: "20260101" });
    assert.equal(ids(cd([pv1, a, b2]), "Observation").length, 1);
    const stable = convertAdt([MSH, EVN, PID, pv1, a, b2].join("\r"));
    assert.deepEqual(ids(stable, "Observation"), [
      guidFromInput(`Observation_8867-4^Pulse^LN,20260101_${PATIENT}`),
      guidFromInput(`Observation_${b2}_${PATIENT}`),
    ]);
  });

  it("Provenance: two, from MSH-3 and from the whole EVN, both with the Patient as base", () => {
    const b = cd([pv1]);
    assert.deepEqual(ids(b, "Provenance").sort(), [guidFromInput(`Provenance_APP_${PATIENT}`), guidFromInput(`Provenance_${EVN}_${PATIENT}`)].sort());
  });

  it("Location: one per populated PL component (1,2,3,4,7,8), seeded with PL-10 or the PL text minus PL-5/PL-9", () => {
    const pl = "4N^401^B^HOSP^OCC^^MAIN^F2^North wing";
    const rest = "4N^401^B^HOSP^^^MAIN^F2^"; // PL-5 "OCC" and PL-9 "North wing" removed
    const b = cd([seg("PV1", { 1: "1", 2: "I", 3: pl, 19: "V1^^^HOSP" })]);
    const want = ["4N", "401", "B", "HOSP", "MAIN", "F2"].map((part) => guidFromInput(`Location_${part},${rest}`));
    assert.deepEqual(ids(b, "Location").sort(), [...want].sort());
    // The Encounter points at PL-1, the first component in the template's order, and the bed is part of the room.
    const enc = byId<Encounter>(b, ids(b, "Encounter")[0]);
    assert.equal(enc.location?.[0]?.location.reference, `Location/${want[0]}`);
    assert.equal(byId<Location>(b, want[2]).partOf?.reference, `Location/${want[1]}`);
    const with10 = cd([seg("PV1", { 1: "1", 2: "I", 3: "4N^401^^^^^^^^LOC-10", 19: "V1^^^HOSP" })]);
    assert.deepEqual(ids(with10, "Location").sort(), [guidFromInput("Location_4N,LOC-10"), guidFromInput("Location_401,LOC-10")].sort());
  });

  it("Practitioner: the whole XCN field the template passes (repetitions included; an all-empty XCN still counts)", () => {
    const twoReps = "D1^Doe^Jon~D2^Roe^Ann";
    const b = cd([seg("PV1", { 1: "1", 2: "I", 7: twoReps, 8: "^^^", 19: "V1^^^HOSP" })]);
    assert.deepEqual(ids(b, "Practitioner").sort(), [guidFromInput(`Practitioner_${twoReps}`), guidFromInput("Practitioner_^^^")].sort());
    // stable: one per non-empty repetition, keyed on each.
    const stable = convertAdt([MSH, EVN, PID, seg("PV1", { 1: "1", 2: "I", 7: twoReps, 8: "^^^", 19: "V1^^^HOSP" })].join("\r"));
    assert.deepEqual(ids(stable, "Practitioner").sort(), [guidFromInput("Practitioner_D1^Doe^Jon"), guidFromInput("Practitioner_D2^Roe^Ann")].sort());
    // With XCN-9 the seed is XCN-1,XCN-9.
    const auth = cd([seg("PV1", { 1: "1", 2: "I", 7: "D1^Doe^Jon^^^^^^NPI&1.2.3&ISO", 19: "V1^^^HOSP" })]);
    assert.ok(ids(auth, "Practitioner").includes(guidFromInput("Practitioner_D1,NPI&1.2.3&ISO")));
  });

  it("AllergyIntolerance: AL1-2..5 only when all four are present, else the whole AL1", () => {
    const full = seg("AL1", { 1: "1", 2: "DA", 3: "70618^Penicillin^RXNORM", 4: "SV", 5: "Hives" });
    const partial = seg("AL1", { 1: "2", 2: "FA", 3: "256349002^Peanut^SCT" });
    const b = cd([pv1, full, partial]);
    assert.deepEqual(ids(b, "AllergyIntolerance"), [
      guidFromInput(`AllergyIntolerance_DA,70618^Penicillin^RXNORM,SV,Hives_${PATIENT}`),
      guidFromInput(`AllergyIntolerance_${partial}_${PATIENT}`),
    ]);
  });

  it("RelatedPerson from an IN1 that ends before IN1-17 (the template only skips SEL or an empty IN1-17)", () => {
    const in1 = seg("IN1", { 1: "1", 2: "PLAN-1", 3: "INS-1", 4: "Acme Insurance" });
    const b = cd([pv1, in1]);
    const rp = guidFromInput(`RelatedPerson_${in1}_${PATIENT}`);
    assert.deepEqual(ids(b, "RelatedPerson"), [rp]);
    const cov = byId<Coverage>(b, guidFromInput(`Coverage_${in1}`));
    assert.equal(cov.subscriber?.reference, `RelatedPerson/${rp}`);
    // stable only writes a subscriber it knows the relationship of.
    assert.deepEqual(ids(convertAdt([MSH, EVN, PID, pv1, in1].join("\r")), "RelatedPerson"), []);
  });

  it("Account: PID-18 with the Patient as base; ADT_A03.liquid passes PID-3 and no base id (reproduced)", () => {
    const pid = seg("PID", { 1: "1", 3: "MRN-5^^^HOSP^MR", 5: "ZZTEST^Pat", 18: "ACC-1" });
    const a01 = convertAdt([MSH, EVN, pid, pv1].join("\r"), { ids: "convert-data" });
    assert.deepEqual(ids(a01, "Account"), [guidFromInput(`Account_ACC-1_${PATIENT}`)]);
    const a03 = convertAdt([MSH.replace("ADT^A01", "ADT^A03"), EVN, pid, pv1].join("\r"), { ids: "convert-data" });
    // CX.1,CX.4 of PID-3, without the Patient base id.
    assert.deepEqual(ids(a03, "Account"), [guidFromInput("Account_MRN-5,HOSP")]);
    const a03Stable = convertAdt([MSH.replace("ADT^A01", "ADT^A03"), EVN, pid, pv1].join("\r"));
    assert.deepEqual(ids(a03Stable, "Account"), ids(a01, "Account"));
  });

  it("Organization for an assigning authority with all three HD parts: HD.1,HD.2", () => {
    const pid = seg("PID", { 1: "1", 3: "MRN-5^^^HOSP&1.2.3&ISO^MR", 5: "ZZTEST^Pat" });
    const b = convertAdt([MSH, EVN, pid, pv1].join("\r"), { ids: "convert-data" });
    assert.ok(ids(b, "Organization").includes(guidFromInput("Organization_HOSP,1.2.3")));
  });

  it("EpisodeOfCare (PV1-54), Procedure (PR1-3.1,3.3,PR1-5), PractitionerRole (ROL-3,XCN-1,XCN-9), Device (SFT-2)", () => {
    const b = cd([
      "SFT|Acme|1.2.3|AcmeADT",
      seg("PV1", { 1: "1", 2: "I", 19: "V1^^^HOSP", 54: "EP-1^^^HOSP" }),
      seg("ROL", { 1: "1", 2: "AD", 3: "PP^Primary care^HL70443", 4: "D9^Doe^Ann^^^^^^NPI&1.2&ISO" }),
      seg("PR1", { 1: "1", 3: "76164006^Biopsy^SCT", 5: "20260101" }),
    ]);
    assert.deepEqual(ids(b, "EpisodeOfCare"), [guidFromInput("EpisodeOfCare_EP-1,HOSP")]);
    assert.deepEqual(ids(b, "Procedure"), [guidFromInput(`Procedure_76164006,SCT,20260101_${PATIENT}`)]);
    assert.deepEqual(ids(b, "PractitionerRole"), [guidFromInput("PractitionerRole_PP^Primary care^HL70443,D9,NPI&1.2&ISO")]);
    assert.deepEqual(ids(b, "Device"), [guidFromInput("Device_1.2.3")]);
  });

  it("PDA: cause Conditions, certification and autopsy Procedures and Observations, coroner Observation", () => {
    const pda = seg("PDA", { 1: "I21^AMI^I10", 2: "ICU^1", 3: "Y", 4: "20260101", 5: "DOC1^Cert^Carl", 6: "Y", 7: "20260102^20260103", 8: "DOC2^Path^Pat", 9: "N" });
    const b = cd([seg("PV1", { 1: "1", 2: "I", 3: "4N", 19: "V1^^^HOSP" }), pda]);
    // ID/_Condition.liquid (PDA-1 repetition, base Patient); ID/_Procedure.liquid (PID-3[0],PDA-4,PDA-5.1 and
    // PID-3[0],PDA-7,PDA-8.1, base Patient); ID/_Observation.liquid (PDA_death/autopsy/coroner, no base id).
    assert.ok(ids(b, "Condition").includes(guidFromInput(`Condition_I21^AMI^I10_${PATIENT}`)));
    assert.deepEqual(ids(b, "Procedure").sort(), [
      guidFromInput(`Procedure_MRN-5^^^HOSP^MR,20260101,DOC1_${PATIENT}`),
      guidFromInput(`Procedure_MRN-5^^^HOSP^MR,20260102^20260103,DOC2_${PATIENT}`),
    ].sort());
    assert.deepEqual(ids(b, "Observation").sort(), [
      guidFromInput("Observation_Y,20260101,DOC1"),
      guidFromInput("Observation_Y,20260102^20260103,DOC2"),
      guidFromInput("Observation_N"),
    ].sort());
    const enc = byId<Encounter>(b, ids(b, "Encounter")[0]);
    assert.equal(enc.location?.[0]?.status, "completed", "the place of death is listed first");
    assert.equal(enc.location?.[0]?.location.reference, `Location/${guidFromInput("Location_ICU,ICU^1")}`);
  });

  it("ACC: an injury Observation keyed on ACC-13 (else ACC-1,2,3,11), at a Location keyed on ACC-11 (else ACC-3)", () => {
    const acc = seg("ACC", { 1: "20260101", 3: "Main St crossing", 5: "Y", 6: "N", 7: "DOC3^Entry^Ed", 8: "fell off bike", 11: "Main St&Springfield^IL", 13: "ACC-77" });
    const b = cd([seg("PV1", { 1: "1", 2: "E", 19: "V1^^^HOSP" }), acc]);
    const obs = byId<FhirResource & { component?: unknown[]; valueString?: string }>(b, guidFromInput(`Observation_ACC-77_${PATIENT}`));
    assert.equal(obs.valueString, "fell off bike");
    assert.equal(obs.component?.length, 2);
    assert.ok(ids(b, "Location").includes(guidFromInput("Location_Main St&Springfield^IL")));
    const noId = cd([seg("PV1", { 1: "1", 2: "E", 19: "V1^^^HOSP" }), seg("ACC", { 1: "20260101", 3: "Yard" })]);
    assert.ok(ids(noId, "Observation").includes(guidFromInput(`Observation_ACC|20260101||Yard_${PATIENT}`)));
    assert.ok(ids(noId, "Location").includes(guidFromInput("Location_Yard")));
  });

  it("DG1-22 parent diagnosis and PR1-25 parent procedure become resources of their own", () => {
    const dg1 = seg("DG1", { 1: "1", 3: "R07.9^Chest pain^I10", 20: "DX-1^^1.2.3^ISO", 22: "^^1.2.3^ISO" });
    const pr1 = seg("PR1", { 1: "1", 3: "76164006^Biopsy^SCT", 4: "Biopsy", 19: "PR-9", 25: "PR-PARENT" });
    const b = cd([seg("PV1", { 1: "1", 2: "I", 19: "V1^^^HOSP" }), dg1, pr1]);
    // ID/_Condition.liquid on the DG1-22 field (no .5/.19: its text), base Patient.
    assert.ok(ids(b, "Condition").includes(guidFromInput(`Condition_^^1.2.3^ISO_${PATIENT}`)));
    // ID/_Procedure.liquid on the PR1-25 field, with the base the template passes: "Patient/<id>".
    const parent = guidFromInput(`Procedure_PR-PARENT_Patient/${PATIENT}`);
    assert.ok(ids(b, "Procedure").includes(parent));
    // The procedure itself: PR1-19 (its identifier) is the seed.
    const child = byId<FhirResource & { partOf?: { reference?: string }[] }>(b, guidFromInput(`Procedure_PR-9_${PATIENT}`));
    assert.equal(child.partOf?.[0]?.reference, `Procedure/${parent}`);
  });

  it("matches ids published in FHIR-Converter's expected bundles for its A40 and A47 samples", () => {
    // src/Microsoft.Health.Fhir.Liquid.Converter.FunctionalTests/TestData/Expected/Hl7v2/ADT_A40/ADT-A40-01-expected.json
    // and ADT_A47/ADT-A47-01-expected.json (v7.0).
    const sample = (name: string) => convertAdt(loadFhirConverterSamples().find((m) => m.name === name)?.text as string, { ids: "convert-data" });
    const a40 = sample("ADT-A40-01.hl7");
    assert.deepEqual(ids(a40, "Linkage"), ["5954c994-f412-af04-3361-90ef6d96f005"]);
    assert.ok(ids(a40, "Provenance").includes("17de3c50-3288-08bc-469e-be7ec466eac8"));
    const a47 = sample("ADT-A47-01.hl7");
    assert.deepEqual(ids(a47, "Linkage"), ["b6df7006-a5f9-b044-4853-23608582656d"]);
    assert.deepEqual(ids(a47, "Provenance").sort(), ["23c00b65-828b-feeb-5045-f059c5968e5e", "d72b1c69-6660-8f54-eab7-81ef5515b7ea"].sort());
    // ADT_A03/ADT-A03-01-expected.json: the A03 Account keyed on PID-3 without a base id.
    assert.deepEqual(ids(sample("ADT-A03-01.hl7"), "Account"), ["78295402-9b84-4829-b945-502ab3402de5"]);
    // ADT_A01/ADT-A01-01-expected.json: the PDA death-certificate Observation and Procedure.
    const a01 = sample("ADT-A01-01.hl7");
    assert.ok(ids(a01, "Observation").includes("6b890de2-7da4-c603-b6eb-671dbf53ae5a"));
    assert.ok(ids(a01, "Procedure").includes("6fb50710-b922-603a-1ad2-56cd531acc7c"));
    // ... and its ACC injury Observation.
    assert.ok(ids(a01, "Observation").includes("5d59332f-c5da-1745-9ec9-50b105e6bc30"));
  });
});
