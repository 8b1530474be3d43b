import { strict as assert } from "node:assert";
import type { Bundle, Encounter, Patient, RelatedPerson } from "fhir/r4";
import { ConversionError, convertAdt } from "../../app/src/convert";
import { fhirProblems } from "../support/fhir-validate";

/**
 * Code maps are keyed by message text, so a code that names an Object.prototype member must read as "no
 * mapping" (issue 9, item 2): never `gender: {}`, a function, or a class lost to `undefined` lookups.
 */
function msg(pid8: string, pv1_2: string, xpn7: string, extra: string[] = []): string {
  return [
    "MSH|^~\\&|APP|FAC|RCV|RCVFAC|20260101120000+0000||ADT^A01|CTL-1|P|2.5.1",
    "EVN||20260101120000+0000",
    `PID|1||MRN-1^^^HOSP^MR||ZZTEST^Pat^^^^^${xpn7}||19700101|${pid8}`,
    `PV1|1|${pv1_2}|4N^401^B^HOSP`,
    ...extra,
  ].join("\r");
}

function first<T>(b: Bundle, type: string): T {
  const r = (b.entry ?? []).find((e) => e.resource?.resourceType === type)?.resource;
  assert.ok(r, type);
  return r as T;
}

describe("code maps look up own properties only", () => {
  for (const key of ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"]) {
    it(`PID-8, PV1-2, XPN-7, NK1-15, AL1-2 = "${key}" give a valid bundle without the mapped element`, () => {
      const text = msg(key, key, key, [`NK1|1|KIN^Ann^^^^^${key}|SPO|||||||||||${key}`, `AL1|1|${key}|X1^Thing|${key}`]);
      for (const ids of ["stable", "convert-data"] as const) {
        let b: Bundle;
        try {
          b = convertAdt(text, { ids });
        } catch (err) {
          assert.ok(err instanceof ConversionError, String(err));
          continue;
        }
        const p = first<Patient>(b, "Patient");
        assert.equal(p.gender, undefined);
        assert.equal(Object.hasOwn(p, "gender"), false);
        assert.equal(p.name?.[0]?.use, undefined);
        const e = first<Encounter>(b, "Encounter");
        assert.equal(e.class.code, "UNK", "unknown PV1-2 → v3 NullFlavor UNK");
        assert.equal(typeof e.status, "string");
        assert.equal(first<RelatedPerson>(b, "RelatedPerson").gender, undefined);
        assert.deepEqual(fhirProblems(b), [], `${key} (${ids})`);
      }
    });
  }

  it("still maps the real codes (the test can fail)", () => {
    const b = convertAdt(msg("F", "I", "L"));
    assert.equal(first<Patient>(b, "Patient").gender, "female");
    assert.equal(first<Patient>(b, "Patient").name?.[0]?.use, "official");
    assert.equal(first<Encounter>(b, "Encounter").class.code, "IMP");
  });
});
