import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Bundle } from "fhir/r4";
import { main } from "../../app/src/cli/hl7-to-fhir";
import { ADT_CORPUS_DIR } from "../fixtures/hl7";

const ROOT = resolve(__dirname, "../..");
const CLI = join(ROOT, "app/src/cli/hl7-to-fhir.ts");
const A01 = join(ADT_CORPUS_DIR, "adt-a01-v251-full.hl7");
const A40 = join(ADT_CORPUS_DIR, "adt-a40-v25-merge.hl7");

function run(argv: string[], stdin = ""): { status: number; out: string; err: string } {
  let out = "";
  let err = "";
  const status = main(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s), readStdin: () => stdin });
  return { status, out, err };
}

describe("hl7-to-fhir command", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "hl7-to-fhir-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("runs as a process: prints the Bundle for one file, exits 1 with the parser's message for invalid input", function () {
    this.timeout(60000);
    const node = (args: string[], input?: string) =>
      spawnSync(process.execPath, ["-r", "./tools/ts-register.js", CLI, ...args], { cwd: ROOT, encoding: "utf8", input, timeout: 50000 });
    const ok = node([A01]);
    assert.equal(ok.status, 0, ok.stderr);
    const bundle = JSON.parse(ok.stdout) as Bundle;
    assert.equal(bundle.type, "transaction");
    assert.equal(bundle.identifier?.value, "A01-0001");
    const bad = node(["-"], "PID|not a message");
    assert.equal(bad.status, 1);
    assert.equal(bad.stdout, "");
    assert.match(bad.stderr, /stdin: Hl7ParseError: MSH: message does not start with an MSH segment/);
  });

  it("selects the id strategy with --ids", () => {
    const stable = JSON.parse(run([A40]).out) as Bundle;
    const compat = JSON.parse(run(["--ids", "convert-data", A40]).out) as Bundle;
    const compat2 = JSON.parse(run(["--ids=convert-data", A40]).out) as Bundle;
    assert.deepEqual(compat, compat2);
    const idsOf = (b: Bundle, type: string) => b.entry?.filter((e) => e.resource?.resourceType === type).map((e) => e.resource?.id);
    // $convert-data answers an A40 with a Linkage and no Patient; stable also retires the merged Patient.
    assert.ok(idsOf(stable, "Patient")?.length === 2 && idsOf(compat, "Patient")?.length === 0);
    assert.deepEqual(idsOf(stable, "Linkage"), idsOf(compat, "Linkage"));
    const plain = run(["--ids", "convert-data", join(ADT_CORPUS_DIR, "adt-a02-v24-transfer.hl7")]);
    const plainStable = run([join(ADT_CORPUS_DIR, "adt-a02-v24-transfer.hl7")]);
    assert.notEqual(plain.out, plainStable.out);
  });

  it("reads stdin with -", () => {
    const r = run(["-"], readFileSync(A01, "utf8"));
    assert.equal(r.status, 0, r.err);
    assert.equal((JSON.parse(r.out) as Bundle).identifier?.value, "A01-0001");
  });

  it("writes <dir>/<basename>.json per input with --out-dir, and keeps going past a bad file", () => {
    const badFile = join(dir, "broken.hl7");
    writeFileSync(badFile, "MSH|^~\\&|A|B|C|D|20260101||ORU^R01|X|P|2.5\rPID|||SECRETID||SECRETNAME");
    const out = join(dir, "out");
    const r = run(["--out-dir", out, A01, badFile, A40]);
    assert.equal(r.status, 1);
    assert.deepEqual(readdirSync(out).sort(), ["adt-a01-v251-full.json", "adt-a40-v25-merge.json"]);
    assert.equal((JSON.parse(readFileSync(join(out, "adt-a40-v25-merge.json"), "utf8")) as Bundle).identifier?.value, "A40-0001");
    assert.match(r.err, /broken\.hl7: UnsupportedMessageError: MSH-9: unsupported message type/);
    assert.ok(!/SECRET/.test(r.err), "no PHI on stderr");
    assert.equal(r.out, "");
  });

  it("applies --offset to times without an offset", () => {
    const f = join(ADT_CORPUS_DIR, "adt-a02-v24-transfer.hl7");
    const b = JSON.parse(run(["--offset", "-08:00", f]).out) as Bundle;
    assert.equal(b.timestamp, "2026-03-16T10:15:00-08:00");
    const tz = JSON.parse(run(["--timezone", "America/Los_Angeles", f]).out) as Bundle;
    assert.equal(tz.timestamp, "2026-03-16T10:15:00-07:00", "PDT on 16 March 2026");
  });

  it("prints help and rejects bad usage with exit 2", () => {
    const help = run(["--help"]);
    assert.equal(help.status, 0);
    assert.match(help.out, /Usage: hl7-to-fhir/);
    assert.match(help.out, /--ids <strategy>/);
    for (const argv of [[], ["--ids", "nope", A01], ["--bogus", A01], ["--offset", "EST", A01], ["--timezone", "Nowhere/Land", A01], ["--out-dir"]]) {
      const r = run(argv);
      assert.equal(r.status, 2, `argv ${JSON.stringify(argv)}`);
      assert.ok(r.err.length > 0);
    }
  });

  it("exits 1 for a missing file", () => {
    const r = run([join(dir, "nope.hl7")]);
    assert.equal(r.status, 1);
    assert.match(r.err, /cannot read \(ENOENT\)/);
  });
});
