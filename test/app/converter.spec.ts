import { strict as assert } from "node:assert";
import type {
  Account,
  AllergyIntolerance,
  Condition,
  Coverage,
  Encounter,
  MessageHeader,
  Observation,
  Patient,
  Practitioner,
  Provenance,
  RelatedPerson,
} from "fhir/r4";
import {
  SUPPORTED_EVENTS,
  convertAdt,
} from "../../app/src/convert";
import { parseHl7 } from "../../app/src/hl7";
import { loadAdtCorpus, loadFhirConverterSamples } from "../fixtures/hl7";
import { fhirProblems } from "../support/fhir-validate";
import { adtMessage as message, all, corpusText, one, seg } from "../support/hl7-bundle";

/** Every `reference` string anywhere in a resource. */
function references(x: unknown, out: string[] = []): string[] {
  if (Array.isArray(x)) for (const v of x) references(v, out);
  else if (x !== null && typeof x === "object") {
    for (const [k, v] of Object.entries(x)) {
      if (k === "reference" && typeof v === "string") out.push(v);
      else references(v, out);
    }
  }
  return out;
}

describe("ADT → FHIR R4 converter", () => {
  describe("every corpus message", () => {
    const corpus = loadAdtCorpus();

    it("covers every supported event (with FHIR-Converter's samples) and versions 2.3 to 2.8", () => {
      const events = new Set([...corpus, ...loadFhirConverterSamples()].map((m) => parseHl7(m.text).triggerEvent));
      for (const e of SUPPORTED_EVENTS) assert.ok(events.has(e), `corpus has an ${e}`);
      const versions = new Set(corpus.map((m) => parseHl7(m.text).version));
      for (const v of ["2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.8"]) assert.ok(versions.has(v), `corpus has v${v}`);
    });

    for (const m of corpus) {
      for (const ids of ["stable", "convert-data"] as const) {
        it(`${m.name} (${ids} ids): a transaction of PUT upserts whose references all resolve in the bundle`, () => {
          const b = convertAdt(m.text, { ids });
          assert.equal(b.resourceType, "Bundle");
          assert.equal(b.type, "transaction");
          assert.equal(b.identifier?.value, parseHl7(m.text).controlId);
          const keys = new Set<string>();
          for (const e of b.entry ?? []) {
            const r = e.resource;
            assert.ok(r?.id, "entry has a resource with an id");
            assert.match(r.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
            assert.deepEqual(e.request, { method: "PUT", url: `${r.resourceType}/${r.id}` });
            assert.equal(e.fullUrl, `urn:uuid:${r.id}`);
            assert.ok(!keys.has(e.request.url), `no duplicate entry ${e.request.url}`);
            keys.add(e.request.url);
          }
          assert.equal(one<MessageHeader>(b, "MessageHeader").eventCoding?.code, parseHl7(m.text).triggerEvent);
          // One Provenance for the message (MSH) and one for the event (EVN), as every FHIR-Converter ADT template.
          assert.equal(all(b, "Provenance").length, parseHl7(m.text).segment("EVN") !== undefined ? 2 : 1);
          for (const ref of references(b)) assert.ok(keys.has(ref), `${m.name}: reference ${ref} resolves to an entry`);
        });
      }

      it(`${m.name}: validates with @medplum/core (R4 StructureDefinitions) and FHIR.js (required bindings)`, function () {
        this.timeout(30000);
        for (const ids of ["stable", "convert-data"] as const) {
          const problems = fhirProblems(convertAdt(m.text, { ids }));
          assert.deepEqual(problems, [], `${m.name} (${ids}):\n${problems.join("\n")}`);
        }
      });

      it(`${m.name}: is deterministic`, () => {
        const a = JSON.stringify(convertAdt(m.text));
        const b = JSON.stringify(convertAdt(parseHl7(m.text)));
        assert.equal(a, b);
      });
    }

    it("the validators do reject a broken bundle (the validation test can fail)", () => {
      const b = convertAdt(corpusText("a01-v251-full"));
      const p = one<Patient>(b, "Patient");
      (p as { gender: string }).gender = "F";
      (p as { birthDate: string }).birthDate = "19800412";
      const problems = fhirProblems(b);
      assert.ok(problems.some((x) => x.startsWith("fhir.js:") && x.includes("gender")), problems.join("\n"));
      assert.ok(problems.some((x) => x.startsWith("medplum:") && x.includes("birthDate")), problems.join("\n"));
    });
  });

  describe("field mappings (full A01, v2.5.1)", () => {
    const b = convertAdt(corpusText("a01-v251-full"));
    const patient = one<Patient>(b, "Patient");
    const encounter = one<Encounter>(b, "Encounter");

    it("maps PID-3 repetitions to identifiers with systems from the assigning authority", () => {
      const ids = patient.identifier ?? [];
      const mr = ids.find((i) => i.type?.coding?.[0]?.code === "MR");
      assert.deepEqual(mr?.system, "urn:oid:2.16.840.1.113883.19.5");
      assert.equal(mr?.value, "FAKE0001");
      assert.equal(mr?.type?.coding?.[0]?.system, "http://terminology.hl7.org/CodeSystem/v2-0203");
      const pi = ids.find((i) => i.value === "PI-7788");
      assert.equal(pi?.system, "http://example.com/v2-to-fhir-converter/Identifier/BILLINGSYS");
      assert.equal(ids.find((i) => i.value === "999000001")?.system, "urn:oid:2.16.840.1.113883.4.1");
      assert.deepEqual(ids.map((i) => i.value), ["PI-7788", "FAKE0001", "999000001"]);
    });

    it("maps names, gender, birth date and time, marital status and language", () => {
      assert.deepEqual(patient.name?.[0], { family: "TESTPATIENT", given: ["Alpha", "Quinn"], suffix: ["Jr"], prefix: ["Dr"], use: "official" });
      assert.deepEqual(patient.name?.[1], { family: "TESTY", given: ["Al"], use: "nickname" });
      assert.equal(patient.gender, "female");
      assert.equal(patient.birthDate, "1980-04-12");
      assert.equal(patient._birthDate?.extension?.[0]?.valueDateTime, "1980-04-12T08:30:00Z");
      assert.equal(patient.maritalStatus?.coding?.[0]?.code, "M");
      assert.equal(patient.communication?.[0]?.language.coding?.[0]?.code, "en");
      assert.equal(patient.multipleBirthBoolean, false);
      assert.equal(patient.deceasedBoolean, false);
    });

    it("maps addresses and telecom (phone, e-mail from XTN-4, mobile, work)", () => {
      assert.deepEqual(patient.address?.[0], {
        line: ["100 Example Street", "Apt 4B"],
        city: "Springfield",
        state: "IL",
        postalCode: "62701",
        country: "USA",
        district: "Sangamon",
        use: "home",
      });
      assert.equal(patient.address?.[1]?.type, "postal");
      assert.deepEqual(patient.telecom, [
        { system: "phone", value: "(217) 5550100", use: "home" },
        { system: "email", value: "alpha.testpatient@example.org" },
        { system: "phone", value: "(217) 5550199", use: "mobile" },
        { system: "phone", value: "(217) 5550177 x22", use: "work" },
      ]);
    });

    it("adds NK1 next of kin as RelatedPerson and Patient.contact", () => {
      // Two NK1 next of kin, plus the GT1 guarantor and the IN1 spouse subscriber.
      assert.equal(all(b, "RelatedPerson").length, 4);
      const kin = all<RelatedPerson>(b, "RelatedPerson").filter((r) => r.relationship?.some((c) => c.coding?.[0]?.code === "EC" || c.coding?.[0]?.code === "FTH"));
      assert.equal(kin.length, 2);
      const spouse = kin.find((r) => r.name?.[0]?.given?.[0] === "Beta");
      assert.equal(spouse?.relationship?.[0]?.coding?.[0]?.system, "http://terminology.hl7.org/CodeSystem/v2-0063");
      assert.equal(spouse?.relationship?.[1]?.coding?.[0]?.code, "EC");
      assert.equal(spouse?.patient.reference, `Patient/${patient.id}`);
      assert.equal(patient.contact?.length, 2);
      assert.equal(patient.contact?.[0]?.name?.family, "TESTPATIENT");
    });

    it("maps PV1/PV2 to the Encounter: class, status, period with offset, visit number, participants, location", () => {
      assert.equal(encounter.status, "in-progress");
      assert.deepEqual(encounter.class, { system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: "IMP", display: "inpatient encounter" });
      assert.deepEqual(encounter.period, { start: "2026-03-15T08:00:00+01:00" });
      assert.equal(encounter.identifier?.[0]?.value, "V20260315-01");
      assert.equal(encounter.identifier?.[0]?.type?.coding?.[0]?.code, "VN");
      assert.deepEqual(
        encounter.participant?.map((p) => p.type?.[0]?.coding?.[0]?.code),
        ["ATND", "REF", "CON", "ADM"],
      );
      const attending = encounter.participant?.[0]?.individual?.reference;
      assert.equal(attending, encounter.participant?.[3]?.individual?.reference, "same XCN → same Practitioner");
      const doc = all<Practitioner>(b, "Practitioner").find((p) => `Practitioner/${p.id}` === attending);
      assert.deepEqual(doc?.name?.[0], { family: "Attending", given: ["Ann"], suffix: ["MD"], prefix: ["Dr"] });
      assert.equal(doc?.identifier?.[0]?.system, "urn:oid:2.16.840.1.113883.19.5");
      assert.equal(encounter.location?.[0]?.status, "active");
      assert.equal(encounter.hospitalization?.admitSource?.coding?.[0]?.code, "7");
      assert.equal(encounter.reasonCode?.[0]?.coding?.[0]?.code, "CHEST");
      assert.equal(encounter.diagnosis?.length, 2);
      assert.equal(encounter.diagnosis?.[0]?.rank, 1);
      assert.equal(encounter.diagnosis?.[0]?.use?.coding?.[0]?.code, "AD");
      assert.equal(encounter.subject?.reference, `Patient/${patient.id}`);
    });

    it("maps AL1 to AllergyIntolerance with category, criticality and reactions", () => {
      const [drug, food] = all<AllergyIntolerance>(b, "AllergyIntolerance");
      assert.deepEqual(drug.category, ["medication"]);
      assert.equal(drug.criticality, "high");
      assert.equal(drug.code?.coding?.[0]?.system, "http://www.nlm.nih.gov/research/umls/rxnorm");
      assert.deepEqual(drug.reaction?.[0]?.manifestation.map((m) => m.text), ["Hives", "Wheezing"]);
      assert.equal(drug.reaction?.[0]?.onset, "2010-01-01");
      assert.equal(drug.clinicalStatus?.coding?.[0]?.code, "active");
      assert.deepEqual(food.category, ["food"]);
      assert.equal(food.criticality, "low");
      assert.equal(food.code?.coding?.[0]?.system, "http://snomed.info/sct");
    });

    it("maps DG1 to Condition and OBX to Observation with typed values", () => {
      const [c1] = all<Condition>(b, "Condition");
      assert.equal(c1.code?.coding?.[0]?.code, "R07.9");
      assert.equal(c1.code?.coding?.[0]?.system, "http://hl7.org/fhir/sid/icd-10-cm");
      assert.equal(c1.onsetDateTime, "2026-03-15T08:00:00+01:00");
      const obs = all<Observation>(b, "Observation");
      assert.deepEqual(obs[0].valueQuantity, { value: 172.5, unit: "centimeter", system: "http://unitsofmeasure.org", code: "cm" });
      assert.equal(obs[0].status, "final");
      assert.equal(obs[0].effectiveDateTime, "2026-03-15T08:15:00+01:00");
      assert.equal(obs[1].referenceRange?.[0]?.text, "50-90");
      assert.equal(obs[1].interpretation?.[0]?.coding?.[0]?.code, "N");
      assert.equal(obs[2].valueString, "Patient alert & oriented");
      assert.equal(obs[2].status, "preliminary");
    });

    it("maps IN1 to Coverage (self and spouse subscribers) and PID-18/GT1 to Account", () => {
      const [primary, secondary] = all<Coverage>(b, "Coverage");
      assert.equal(primary.subscriber?.reference, `Patient/${patient.id}`);
      assert.equal(primary.relationship?.coding?.[0]?.code, "self");
      assert.equal(primary.subscriberId, "MBR-777");
      assert.deepEqual(primary.period, { start: "2026-01-01", end: "2026-12-31" });
      assert.equal(primary.class?.[0]?.value, "GRP-42");
      assert.equal(primary.beneficiary.reference, `Patient/${patient.id}`);
      assert.equal(secondary.relationship?.coding?.[0]?.code, "spouse");
      assert.match(secondary.subscriber?.reference ?? "", /^RelatedPerson\//);
      const account = one<Account>(b, "Account");
      assert.equal(account.identifier?.[0]?.value, "ACCT-1001");
      assert.match(account.guarantor?.[0]?.party.reference ?? "", /^RelatedPerson\//);
      assert.deepEqual(encounter.account, [{ reference: `Account/${account.id}` }]);
    });

    it("describes the message in MessageHeader and Provenance", () => {
      const h = one<MessageHeader>(b, "MessageHeader");
      assert.deepEqual(h.eventCoding, { system: "http://terminology.hl7.org/CodeSystem/v2-0003", code: "A01" });
      assert.deepEqual(h.source, { name: "EPICADT", endpoint: "urn:oid:1.2.3.4" });
      assert.equal(h.meta?.tag?.[0]?.code, "P");
      assert.match(h.sender?.reference ?? "", /^Organization\//);
      assert.ok(h.focus?.some((f) => f.reference === `Patient/${patient.id}`));
      const provs = all<Provenance>(b, "Provenance");
      assert.equal(provs.length, 2);
      const msgProv = provs.find((p) => p.occurredDateTime === undefined);
      assert.equal(msgProv?.recorded, b.timestamp, "the message Provenance is recorded at MSH-7");
      assert.deepEqual(msgProv?.agent.map((a) => a.who?.reference), [h.sender?.reference]);
      const prov = provs.find((p) => p.occurredDateTime !== undefined) as Provenance;
      assert.equal(prov.recorded, "2026-03-15T08:30:00+01:00");
      assert.equal(prov.occurredDateTime, "2026-03-15T08:25:00+01:00");
      assert.ok(prov.target.some((t) => t.reference === `Patient/${patient.id}`));
      assert.ok(prov.target.some((t) => t.reference === `Encounter/${encounter.id}`));
      assert.deepEqual(prov.agent.map((a) => a.type?.coding?.[0]?.code), ["author", "enterer"]);
      assert.equal(b.timestamp, "2026-03-15T08:30:15.1234+01:00");
    });
  });

  describe("event semantics", () => {
    it("A03 finishes the Encounter with period.end; A13 (cancel discharge) reopens it without an end", () => {
      const a03 = one<Encounter>(convertAdt(corpusText("a03-v25-discharge")), "Encounter");
      const a13 = one<Encounter>(convertAdt(corpusText("a13-v26")), "Encounter");
      assert.equal(a03.status, "finished");
      assert.equal(a03.period?.end, "2026-03-18T15:00:00-05:00");
      assert.equal(a13.status, "in-progress");
      assert.equal(a13.period?.end, undefined);
      assert.equal(a13.id, a03.id, "same visit, same Encounter");
    });

    it("A11 cancels the admission, A05 plans it, A04 registers it in progress", () => {
      assert.equal(one<Encounter>(convertAdt(corpusText("a11-")), "Encounter").status, "cancelled");
      assert.equal(one<Encounter>(convertAdt(corpusText("a05-")), "Encounter").status, "planned");
      assert.equal(one<Encounter>(convertAdt(corpusText("a04-")), "Encounter").status, "in-progress");
    });

    it("A02 records the new location as active and the prior one as completed; A12 drops the cancelled move", () => {
      const a02 = one<Encounter>(convertAdt(corpusText("a02-")), "Encounter");
      assert.deepEqual(a02.location?.map((l) => l.status), ["active", "completed"]);
      const a12 = one<Encounter>(convertAdt(corpusText("a12-")), "Encounter");
      assert.deepEqual(a12.location?.map((l) => l.status), ["active"]);
      assert.equal(a12.status, "in-progress");
      assert.equal(a12.id, a02.id, "A12 updates the A02 Encounter (same visit number)");
    });

    it("A08 takes the status from PV1-2 (or finished when PV1-45 is set)", () => {
      assert.equal(one<Encounter>(convertAdt(corpusText("a08-v25-escapes")), "Encounter").status, "in-progress");
      const finished = message("A08", [seg("PV1", { 1: "1", 2: "O", 19: "V1", 45: "20260102" })]);
      assert.equal(one<Encounter>(convertAdt(finished), "Encounter").status, "finished");
      const preadmit = message("A08", [seg("PV1", { 1: "1", 2: "P", 19: "V1" })]);
      assert.equal(one<Encounter>(convertAdt(preadmit), "Encounter").status, "planned");
    });

    it("A28/A31 (person events) write the Patient, and an Encounter only when a PV1 is sent", () => {
      for (const f of ["a28-", "a31-"]) {
        const text = corpusText(f);
        const b = convertAdt(text);
        const hasPv1 = parseHl7(text).segment("PV1") !== undefined;
        assert.equal(all(b, "Encounter").length, hasPv1 ? 1 : 0, f);
        assert.equal(all(b, "Patient").length, 1, f);
      }
      const withPv1 = message("A31", [seg("PV1", { 1: "1", 2: "O", 19: "V9" })]);
      const withoutPv1 = message("A31");
      assert.equal(all(convertAdt(withPv1), "Encounter").length, 1);
      assert.equal(all(convertAdt(withoutPv1), "Encounter").length, 0);
    });

    it("A40 merge: the MRG-1 Patient becomes inactive and replaced-by the surviving Patient", () => {
      const b = convertAdt(corpusText("a40-"));
      const patients = all<Patient>(b, "Patient");
      assert.equal(patients.length, 2);
      const old = patients.find((p) => p.active === false);
      const survivor = patients.find((p) => p.active !== false);
      assert.ok(old && survivor);
      assert.equal(old.identifier?.[0]?.value, "DUP0013");
      assert.deepEqual(old.link, [{ other: { reference: `Patient/${survivor.id}` }, type: "replaced-by" }]);
      assert.deepEqual(survivor.link, [{ other: { reference: `Patient/${old.id}` }, type: "replaces" }]);
      // The retired id is the id the duplicate got when it was first registered.
      const dupAdmit = message("A04", [seg("PV1", { 1: "1", 2: "O" })]).replace("MRN-5^^^HOSP&1.2.3&ISO^MR", "DUP0013^^^REGIONMPI&2.16.840.1.113883.19.30&ISO^MR");
      assert.equal(one<Patient>(convertAdt(dupAdmit), "Patient").id, old.id);
      assert.equal(all(b, "Encounter").length, 0);
    });

    it("routes on MSH-9.1/9.2 and ignores the message structure in MSH-9.3", () => {
      const text = message("A03^ADT_A01", [seg("PV1", { 1: "1", 2: "I", 19: "V1", 45: "20260102" })]);
      const b = convertAdt(text);
      assert.equal(one<MessageHeader>(b, "MessageHeader").eventCoding?.code, "A03");
      assert.equal(one<Encounter>(b, "Encounter").status, "finished");
    });
  });
});
