import { strict as assert } from "node:assert";
import type { Bundle } from "fhir/r4";
import { ConversionError, convertAdt } from "../../app/src/convert";
import { Hl7ParseError } from "../../app/src/hl7";
import { loadAdtCorpus } from "../fixtures/hl7";
import { fhirProblems } from "../support/fhir-validate";
import { seededRandom } from "../support/seeded-random";


const PIECES = ["|", "^", "~", "&", "\\", "\\F\\", "\\X", '""', "\r", "\rOBX|1|NM|||abc", "\rDG1|1", "\rAL1", "\rIN1|1", "\rGT1|1", "\rNK1", "\rMRG|", "+00", "99999999", "A40", "2.9", " ", "  x ", "0000"];

describe("converter robustness", () => {
  it("mutated corpus messages either convert to a valid, self-contained bundle or fail with a typed error", function () {
    this.timeout(120000);
    const rnd = seededRandom(99);
    const corpus = loadAdtCorpus().map((m) => m.text);
    let converted = 0;
    let rejected = 0;
    for (let i = 0; i < 2500; i++) {
      const chars = corpus[i % corpus.length];
      let text = chars;
      const edits = 1 + Math.floor(rnd() * 4);
      for (let e = 0; e < edits; e++) {
        const pos = Math.floor(rnd() * text.length);
        const op = Math.floor(rnd() * 3);
        if (op === 0) text = text.slice(0, pos) + text.slice(pos + 1 + Math.floor(rnd() * 10));
        else if (op === 1) text = text.slice(0, pos) + PIECES[Math.floor(rnd() * PIECES.length)] + text.slice(pos);
        else text = text.slice(0, pos) + String.fromCharCode(32 + Math.floor(rnd() * 95)) + text.slice(pos + 1);
      }
      let bundle: Bundle;
      try {
        bundle = convertAdt(text);
      } catch (err) {
        assert.ok(err instanceof Hl7ParseError || err instanceof ConversionError, `mutation #${i}: ${(err as Error).stack}`);
        rejected++;
        continue;
      }
      converted++;
      const keys = new Set((bundle.entry ?? []).map((e) => e.request?.url));
      for (const e of bundle.entry ?? []) {
        assert.ok(e.resource?.id, `mutation #${i}: every resource has an id`);
        assert.equal(e.request?.url, `${e.resource.resourceType}/${e.resource.id}`);
      }
      const refs = JSON.stringify(bundle).match(/"reference":"[^"]*"/g) ?? [];
      for (const r of refs) assert.ok(keys.has(r.slice(13, -1)), `mutation #${i}: ${r} resolves`);
      if (converted % 8 === 0) {
        const problems = fhirProblems(bundle);
        assert.deepEqual(problems, [], `mutation #${i} gives an invalid bundle`);
      }
    }
    assert.ok(converted > 100 && rejected > 100, `both outcomes exercised (${converted} converted, ${rejected} rejected)`);
  });
});
