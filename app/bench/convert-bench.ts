/**
 * Parse/convert throughput on one core (single thread, synchronous loops).
 * Run directly: `node -r ./tools/ts-register.js app/bench/convert-bench.ts` (it re-runs itself with
 * `--single-threaded-gc`); `npm run bench:app` prints it too. With `--parity <dir>` it reports the `$convert-data`
 * id parity on FHIR-Converter's samples instead (see idParity).
 *
 * One core, honestly: the quoted rate is messages per CPU-second of the main thread (/proc/thread-self/schedstat),
 * and the process runs with --single-threaded-gc, so neither V8's GC helpers nor its background compilers are
 * counted as free capacity. Each figure is the median of timed rounds after a warm-up that waits for the JIT.
 * The parser and converter are measured as deployed: bundled by esbuild (app/build.ts does the same), because
 * the test-time TypeScript hook compiles every cross-module call into a getter the bundle does not have.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { Hl7Message as MedplumHl7Message } from "@medplum/core";
import { loadAdtCorpus, loadFhirConverterSamples } from "../../test/fixtures/hl7";
import type * as Convert from "../src/convert";
import type * as Hl7 from "../src/hl7";
import type { Hl7Message } from "../src/hl7";

interface Rate {
  /** Median over the rounds of messages per CPU-second of this process (all its threads). */
  perCpuSecond: number;
  /** Best round, messages per CPU-second of this process. */
  bestPerCpuSecond: number;
  /** Median over the rounds of messages per CPU-second of the main thread alone (Linux; 0 elsewhere). */
  perMainThreadCpuSecond: number;
  /** Median over the rounds of messages per wall-clock second. */
  perWallSecond: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** CPU time of the calling (main) thread in microseconds, from /proc/thread-self/schedstat; undefined elsewhere. */
function mainThreadCpuMicros(): number | undefined {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]) / 1000;
  } catch {
    return undefined;
  }
}

function processCpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * Warm-up: runs `work` in 250 ms slices until V8 has finished optimising the hot path. Optimising compiles run
 * on background threads and, on a slow or loaded machine, take 10-20 ms each for the converter's large
 * functions, so for the first seconds the process burns far more CPU than the main thread: timing then would
 * measure the compiler. The warm-up ends when the other threads use less than 15% of the main thread's CPU
 * time in a slice (at least `minMs`, at most `maxMs`; just `minMs` where thread CPU time cannot be read).
 */
function warmUp(work: () => void, minMs: number, maxMs: number): void {
  const start = Date.now();
  for (;;) {
    const p0 = processCpuMicros();
    const m0 = mainThreadCpuMicros();
    const sliceEnd = Date.now() + 250;
    while (Date.now() < sliceEnd) work();
    const elapsed = Date.now() - start;
    const m1 = mainThreadCpuMicros();
    if (elapsed >= maxMs) return;
    if (elapsed < minMs) continue;
    if (m0 === undefined || m1 === undefined) return;
    const main = m1 - m0;
    if (processCpuMicros() - p0 - main < 0.15 * main) return;
  }
}

/** Runs `fn` over all `inputs` for `rounds` timed rounds of about `roundMs` each, after a warm-up. */
export function throughput<T>(inputs: readonly T[], fn: (input: T) => unknown, roundMs: number, rounds: number): Rate {
  let sink = 0;
  warmUp(() => {
    for (const t of inputs) if (fn(t) !== undefined) sink++;
  }, 500, 8000);
  const cpuRates: number[] = [];
  const mainRates: number[] = [];
  const wallRates: number[] = [];
  const budget = BigInt(roundMs) * 1_000_000n;
  for (let r = 0; r < rounds; r++) {
    let count = 0;
    const start = process.hrtime.bigint();
    const cpu0 = processCpuMicros();
    const main0 = mainThreadCpuMicros();
    let elapsed = 0n;
    while (elapsed < budget) {
      for (let i = 0; i < inputs.length; i++) if (fn(inputs[i]) !== undefined) sink++;
      count += inputs.length;
      elapsed = process.hrtime.bigint() - start;
    }
    const cpu = processCpuMicros() - cpu0;
    const main1 = mainThreadCpuMicros();
    cpuRates.push((count * 1e6) / Math.max(1, cpu));
    if (main0 !== undefined && main1 !== undefined) mainRates.push((count * 1e6) / Math.max(1, main1 - main0));
    wallRates.push((count * 1e9) / Number(elapsed));
  }
  if (sink < 0) console.log(sink); // keep results observable so the loops are not optimised away
  return {
    perCpuSecond: Math.round(median(cpuRates)),
    bestPerCpuSecond: Math.round(Math.max(...cpuRates)),
    perMainThreadCpuSecond: mainRates.length > 0 ? Math.round(median(mainRates)) : 0,
    perWallSecond: Math.round(median(wallRates)),
  };
}

/** Reads every leaf value (subcomponent), unescaped, with `forEachValue`: the cost of a parse that yields every value. */
export function visitEveryValue(msg: Hl7Message): number {
  let n = 0;
  const visit = (value: string): void => {
    n += value.length;
  };
  for (const seg of msg.segments) seg.forEachValue(visit);
  return n;
}

/**
 * The same values read one by one through `get(field, rep, comp, sub)` and the count accessors, as a caller that
 * addresses values by position would. MSH-1 and MSH-2 (the delimiters) are not values.
 */
export function readEveryValue(msg: Hl7Message): number {
  let n = 0;
  for (const seg of msg.segments) {
    const count = seg.fieldCount;
    for (let f = seg.name === "MSH" ? 3 : 1; f <= count; f++) {
      const reps = seg.repetitionCount(f);
      for (let r = 1; r <= reps; r++) {
        const comps = seg.componentCount(f, r);
        for (let c = 1; c <= comps; c++) {
          const subs = seg.subcomponentCount(f, r, c);
          for (let s = 1; s <= subs; s++) n += seg.get(f, r, c, s)?.length ?? 0;
        }
      }
    }
  }
  return n;
}

/** The same walk through the node objects (`field → children → children → children → value`). */
function readEveryNode(msg: Hl7Message): number {
  let n = 0;
  for (const seg of msg.segments) {
    for (let f = seg.name === "MSH" ? 3 : 1; f <= seg.fieldCount; f++) {
      const field = seg.field(f);
      if (field === undefined) continue;
      for (const rep of field.children) for (const comp of rep.children) for (const sub of comp.children) n += sub.value.length;
    }
  }
  return n;
}

/** The parser and converter as one esbuild bundle (what the Function runs), loaded from a temporary file. */
function loadBundled(): { convert: typeof Convert; hl7: typeof Hl7 } {
  const esbuild = require("esbuild") as typeof import("esbuild");
  const dir = mkdtempSync(join(tmpdir(), "convert-bench-"));
  try {
    const file = join(dir, "bench-entry.js");
    esbuild.buildSync({
      stdin: { contents: 'module.exports = { convert: require("./app/src/convert"), hl7: require("./app/src/hl7") };', resolveDir: join(__dirname, "..", ".."), loader: "js" },
      bundle: true, platform: "node", format: "cjs", target: "node20", outfile: file, logLevel: "silent",
    });
    return require(file) as { convert: typeof Convert; hl7: typeof Hl7 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const perMsgMicros = (rate: Rate): number => 1e6 / rate.perMainThreadCpuSecond;

export async function runConvertBench(opts: { msPerMetric?: number; rounds?: number } = {}): Promise<Record<string, number | string>> {
  const rounds = opts.rounds ?? 7;
  const roundMs = Math.max(20, Math.round((opts.msPerMetric ?? 1750) / rounds));
  const { convert, hl7 } = loadBundled();
  const { convertAdt, guidFromInput, setIdInputRecorder, setSharedIdCache } = convert;
  const parseHl7 = hl7.parseHl7;
  const corpus = loadAdtCorpus();
  const texts = corpus.map((m) => m.text);
  const samples = loadFhirConverterSamples().map((m) => m.text);
  // Medplum's parser rejects a BOM and MLLP framing, so it gets the same messages normalised to CR-terminated text.
  const normalised = texts.map((t) => parseHl7(t).raw);
  const bytes = texts.reduce((a, t) => a + Buffer.byteLength(t), 0);
  const bundles = texts.map((t) => convertAdt(t));
  const bundleBytes = bundles.reduce((a, b) => a + JSON.stringify(b).length, 0);
  const entries = bundles.reduce((a, b) => a + (b.entry?.length ?? 0), 0);
  // Every id input one pass hashes, with the reference-data memo off (so each is really hashed).
  const inputs: string[] = [];
  setSharedIdCache(false);
  setIdInputRecorder((s) => inputs.push(s));
  for (const t of texts) convertAdt(t);
  setIdInputRecorder(undefined);
  setSharedIdCache(true);

  const parseOnly = throughput(texts, (t) => parseHl7(t), roundMs, rounds);
  const parseAll = throughput(texts, (t) => visitEveryValue(parseHl7(t)), roundMs, rounds);
  const parseGet = throughput(texts, (t) => readEveryValue(parseHl7(t)), roundMs, rounds);
  const parseNodes = throughput(texts, (t) => readEveryNode(parseHl7(t)), roundMs, rounds);
  const medplum = throughput(normalised, (t) => MedplumHl7Message.parse(t), roundMs, rounds);
  const convertOnly = throughput(texts, (t) => convertAdt(t), roundMs, rounds);
  const full = throughput(texts, (t) => JSON.stringify(convertAdt(t)), roundMs, rounds);
  const fullSamples = throughput(samples, (t) => JSON.stringify(convertAdt(t)), roundMs, rounds);
  setSharedIdCache(false);
  const fullNoMemo = throughput(texts, (t) => JSON.stringify(convertAdt(t)), roundMs, rounds);
  setSharedIdCache(true);
  const stringify = throughput(bundles, (b) => JSON.stringify(b), roundMs, rounds);
  const hashing = throughput(inputs, (s) => guidFromInput(s), roundMs, rounds);
  await Promise.resolve();
  const ratio = (a: number, b: number): number => Number((a / b).toFixed(2));
  const fmt = (r: Rate): string => `${r.perMainThreadCpuSecond} (process ${r.perCpuSecond}; best ${r.bestPerCpuSecond}; wall ${r.perWallSecond})`;
  const us = (x: number): string => `${x.toFixed(1)} us`;
  const n = texts.length;
  // Per-message costs (main-thread CPU): hashing = hashes per message x cost per hash (memo off, the worst case);
  // mapping = convert - parse-only - hashing (parse-only defers the segment scans, which mapping triggers).
  const hashPerMsg = (inputs.length / n) * perMsgMicros(hashing);
  const stringifyPerMsg = perMsgMicros(stringify);
  const mappingPerMsg = perMsgMicros(convertOnly) - perMsgMicros(parseOnly) - hashPerMsg;
  return {
    corpusMessages: n,
    meanMessageBytes: Math.round(bytes / n),
    meanBundleEntries: Number((entries / n).toFixed(1)),
    meanBundleBytes: Math.round(bundleBytes / n),
    timedRounds: `${rounds} x ${roundMs} ms per figure after a warm-up that waits for the JIT; medians of the rounds`,
    rateBasis: `messages per CPU-second of the main thread (/proc/thread-self/schedstat)${process.execArgv.includes("--single-threaded-gc") ? ", node --single-threaded-gc" : " (GC helper threads not counted: run convert-bench.ts directly for --single-threaded-gc)"}`,
    parseOnlyMsgPerSec: fmt(parseOnly),
    parseAndUnescapeEveryValueMsgPerSec: fmt(parseAll),
    parseAndGetEveryValueMsgPerSec: fmt(parseGet),
    parseAndUnescapeEveryNodeMsgPerSec: fmt(parseNodes),
    medplumParseMsgPerSec: fmt(medplum),
    parseVsMedplumRatio: ratio(parseOnly.perMainThreadCpuSecond, medplum.perMainThreadCpuSecond),
    parseAndUnescapeEveryValueVsMedplumRatio: ratio(parseAll.perMainThreadCpuSecond, medplum.perMainThreadCpuSecond),
    parseAndGetEveryValueVsMedplumRatio: ratio(parseGet.perMainThreadCpuSecond, medplum.perMainThreadCpuSecond),
    parseAndUnescapeEveryNodeVsMedplumRatio: ratio(parseNodes.perMainThreadCpuSecond, medplum.perMainThreadCpuSecond),
    parseConvertSerializeMsgPerSec: fmt(full),
    parseConvertSerializeNoIdMemoMsgPerSec: fmt(fullNoMemo),
    parseConvertSerializeFhirConverterSamplesMsgPerSec: `${fmt(fullSamples)} (${samples.length} larger messages, all segments)`,
    perMessageParseMicros: us(perMsgMicros(parseOnly)),
    perMessageMappingMicros: us(mappingPerMsg),
    perMessageIdHashingMicros: `${us(hashPerMsg)} (${(inputs.length / n).toFixed(1)} SHA-256 per message, ${us(perMsgMicros(hashing) * 1000)} per 1000)`,
    perMessageJsonStringifyMicros: us(stringifyPerMsg),
    node: process.version,
    // Other processes compete for the cores: the 1-minute load average tells how far to trust the figures.
    loadAverage1m: Number(loadavg()[0].toFixed(2)),
  };
}

/**
 * `$convert-data` id parity: for each FHIR-Converter ADT sample, the share of the resource ids in its published
 * expected bundle that convertAdt(…, { ids: "convert-data" }) also produces. `dir` holds the `*-expected.json`
 * files of a microsoft/FHIR-Converter checkout (src/Microsoft.Health.Fhir.Liquid.Converter.FunctionalTests/
 * TestData/Expected/Hl7v2/ADT_*), flattened or not.
 */
export function idParity(dir: string): { matched: number; expected: number; missingByType: Record<string, number> } {
  const { convertAdt } = require("../src/convert") as typeof Convert;
  const files = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith("-expected.json")) files.set(e.name.replace("-expected.json", ".hl7"), join(d, e.name));
    }
  };
  walk(dir);
  let matched = 0;
  let expected = 0;
  const missingByType: Record<string, number> = {};
  for (const m of loadFhirConverterSamples()) {
    const file = files.get(m.name);
    if (file === undefined) continue;
    const want = (JSON.parse(readFileSync(file, "utf8")) as { entry: { resource: { resourceType: string; id: string } }[] }).entry.map((e) => e.resource);
    const got = new Set((convertAdt(m.text, { ids: "convert-data" }).entry ?? []).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`));
    for (const r of want) {
      expected++;
      if (got.has(`${r.resourceType}/${r.id}`)) matched++;
      else missingByType[r.resourceType] = (missingByType[r.resourceType] ?? 0) + 1;
    }
  }
  return { matched, expected, missingByType };
}

if (require.main === module && process.argv[2] === "--parity") {
  const r = idParity(process.argv[3] ?? ".");
  console.log(`ids matched ${r.matched}/${r.expected}; missing by type ${JSON.stringify(r.missingByType)}`);
} else if (require.main === module) {
  if (!process.execArgv.includes("--single-threaded-gc")) {
    // One core means one thread: re-run with V8's GC on the main thread (its helpers would otherwise be free CPU).
    const r = spawnSync(process.execPath, ["--single-threaded-gc", ...process.execArgv, __filename, ...process.argv.slice(2)], { stdio: "inherit" });
    process.exitCode = r.status ?? 1;
  } else {
    runConvertBench()
      .then((r) => {
        for (const [k, val] of Object.entries(r)) console.log(`${k.padEnd(52)} ${val}`);
      })
      .catch((err: unknown) => {
        console.error(err instanceof Error ? err.message : String(err));
        process.exitCode = 1;
      });
  }
}
