import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Bundle } from "fhir/r4";
import { parseHl7 } from "../../app/src/hl7";
import { FHIR_CONVERTER_SAMPLES_DIR, loadFhirConverterSamples } from "../fixtures/hl7";

const ROOT = resolve(__dirname, "../..");

describe("npm run hl7-to-fhir -- --ids convert-data on FHIR-Converter's ADT samples", () => {
  it("converts every published ADT sample message, rejecting none (one Bundle per line)", function () {
    this.timeout(120000);
    const files = readdirSync(FHIR_CONVERTER_SAMPLES_DIR).filter((f) => f.endsWith(".hl7")).sort();
    assert.equal(files.length, 57, "the 57 ADT samples of FHIR-Converter v7.0");
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const r = spawnSync(npm, ["run", "--silent", "hl7-to-fhir", "--", "--ids", "convert-data", ...files.map((f) => join(FHIR_CONVERTER_SAMPLES_DIR, f))], {
      cwd: ROOT,
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
      timeout: 110000,
    });
    assert.equal(r.stderr, "");
    assert.equal(r.status, 0);
    const bundles = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as Bundle);
    const samples = loadFhirConverterSamples();
    assert.equal(bundles.length, samples.length);
    bundles.forEach((b, i) => {
      assert.equal(b.identifier?.value, parseHl7(samples[i].text).controlId, samples[i].name);
      assert.ok((b.entry ?? []).some((e) => e.resource?.resourceType === "MessageHeader"), samples[i].name);
    });
  });
});
