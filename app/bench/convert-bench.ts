/**
 * Parse/convert throughput over the ADT corpus, on one core (single thread, synchronous loops).
 * Run directly: `node -r ./tools/ts-register.js app/bench/convert-bench.ts`; `npm run bench:app` prints it too.
 *
 * Each figure is the median of several timed rounds after a warm-up. A round's rate is measured both per CPU
 * second of this process (`process.cpuUsage`, robust to other processes competing for the cores) and per wall
 * second; on a shared, loaded machine the CPU-time figure is the one to quote, and the best round shows what the
 * code costs when it is not disturbed.
 */
import { loadavg } from "node:os";
import { Hl7Message as MedplumHl7Message } from "@medplum/core";
import { loadAdtCorpus } from "../../test/fixtures/hl7";
import { convertAdt } from "../src/convert";
import { parseHl7, type Hl7Message } from "../src/hl7";

interface Rate {
  /** Median over the rounds of messages per CPU-second of this process. */
  perCpuSecond: number;
  /** Best round, messages per CPU-second. */
  bestPerCpuSecond: number;
  /** Median over the rounds of messages per wall-clock second. */
  perWallSecond: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs `fn` over all `inputs` for `rounds` timed rounds of about `roundMs` each, after a warm-up. */
function throughput(inputs: readonly string[], fn: (text: string) => unknown, roundMs: number, rounds: number): Rate {
  let sink = 0;
  // Warm-up: let the JIT optimise the hot path, as it would be in a long-running Function host.
  const warmUntil = process.hrtime.bigint() + BigInt(Math.max(200, roundMs * 2)) * 1_000_000n;
  while (process.hrtime.bigint() < warmUntil) for (const t of inputs) if (fn(t) !== undefined) sink++;
  const cpuRates: number[] = [];
  const wallRates: number[] = [];
  const budget = BigInt(roundMs) * 1_000_000n;
  for (let r = 0; r < rounds; r++) {
    let count = 0;
    const start = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    let elapsed = 0n;
    while (elapsed < budget) {
      for (let i = 0; i < inputs.length; i++) if (fn(inputs[i]) !== undefined) sink++;
      count += inputs.length;
      elapsed = process.hrtime.bigint() - start;
    }
    const cpu = process.cpuUsage(cpu0);
    cpuRates.push((count * 1e6) / Math.max(1, cpu.user + cpu.system));
    wallRates.push((count * 1e9) / Number(elapsed));
  }
  if (sink < 0) console.log(sink); // keep results observable so the loops are not optimised away
  return {
    perCpuSecond: Math.round(median(cpuRates)),
    bestPerCpuSecond: Math.round(Math.max(...cpuRates)),
    perWallSecond: Math.round(median(wallRates)),
  };
}

/**
 * Reads every leaf value (subcomponent), unescaped, through the public accessors: the cost of a parse that
 * yields every value. MSH-1 and MSH-2 (the delimiters) are not values.
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

export async function runConvertBench(opts: { msPerMetric?: number; rounds?: number } = {}): Promise<Record<string, number | string>> {
  const rounds = opts.rounds ?? 7;
  const roundMs = Math.max(20, Math.round((opts.msPerMetric ?? 1750) / rounds));
  const corpus = loadAdtCorpus();
  const texts = corpus.map((m) => m.text);
  // Medplum's parser rejects a BOM and MLLP framing, so it gets the same messages normalised to CR-terminated text.
  const normalised = texts.map((t) => parseHl7(t).raw);
  const bytes = texts.reduce((a, t) => a + Buffer.byteLength(t), 0);
  let bundleBytes = 0;
  for (const t of texts) bundleBytes += JSON.stringify(convertAdt(t)).length;

  const parseOnly = throughput(texts, (t) => parseHl7(t), roundMs, rounds);
  const parseAll = throughput(texts, (t) => readEveryValue(parseHl7(t)), roundMs, rounds);
  const parseNodes = throughput(texts, (t) => readEveryNode(parseHl7(t)), roundMs, rounds);
  const medplum = throughput(normalised, (t) => MedplumHl7Message.parse(t), roundMs, rounds);
  const convert = throughput(texts, (t) => JSON.stringify(convertAdt(t)), roundMs, rounds);
  await Promise.resolve();
  const ratio = (a: number, b: number): number => Number((a / b).toFixed(2));
  return {
    corpusMessages: corpus.length,
    meanMessageBytes: Math.round(bytes / corpus.length),
    meanBundleBytes: Math.round(bundleBytes / corpus.length),
    timedRounds: `${rounds} x ${roundMs} ms per figure after warm-up; figures are medians (best round in brackets)`,
    parseOnlyMsgPerSec: `${parseOnly.perCpuSecond} (${parseOnly.bestPerCpuSecond})`,
    parseAndUnescapeEveryValueMsgPerSec: `${parseAll.perCpuSecond} (${parseAll.bestPerCpuSecond})`,
    parseAndUnescapeEveryNodeMsgPerSec: `${parseNodes.perCpuSecond} (${parseNodes.bestPerCpuSecond})`,
    medplumParseMsgPerSec: `${medplum.perCpuSecond} (${medplum.bestPerCpuSecond})`,
    parseVsMedplumRatio: ratio(parseOnly.perCpuSecond, medplum.perCpuSecond),
    parseAndUnescapeEveryValueVsMedplumRatio: ratio(parseAll.perCpuSecond, medplum.perCpuSecond),
    parseConvertSerializeMsgPerSec: `${convert.perCpuSecond} (${convert.bestPerCpuSecond})`,
    parseConvertSerializeMsgPerWallSec: convert.perWallSecond,
    parseAndUnescapeEveryValueMsgPerWallSec: parseAll.perWallSecond,
    medplumParseMsgPerWallSec: medplum.perWallSecond,
    rateBasis: "messages per CPU-second of one thread (process.cpuUsage); *PerWallSec = wall clock",
    node: process.version,
    // Other processes compete for the cores: the 1-minute load average tells how far to trust the figures.
    loadAverage1m: Number(loadavg()[0].toFixed(2)),
  };
}

if (require.main === module) {
  runConvertBench()
    .then((r) => {
      for (const [k, val] of Object.entries(r)) console.log(`${k.padEnd(42)} ${val}`);
    })
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exitCode = 1;
    });
}
