/**
 * Parse/convert throughput over the ADT corpus, on one core (single thread, synchronous loops).
 * Run directly: `npx ts-node --transpile-only app/bench/convert-bench.ts`; `npm run bench:app` prints it too.
 */
import { loadavg } from "node:os";
import { Hl7Message as MedplumHl7Message } from "@medplum/core";
import { loadAdtCorpus } from "../../test/fixtures/hl7";
import { convertAdt } from "../src/convert";
import { parseHl7, type Hl7Message } from "../src/hl7";

interface Rate {
  /** Messages per second of CPU time used by this process: the single-core rate, robust to other load. */
  perCpuSecond: number;
  /** Messages per second of wall-clock time (lower when other processes compete for the cores). */
  perWallSecond: number;
}

/** Runs `fn` over all `inputs` repeatedly for about `ms` milliseconds of wall time. */
function throughput(inputs: readonly string[], fn: (text: string) => unknown, ms: number): Rate {
  // Warm-up: let the JIT optimise the hot path, as it would be in a long-running Function host.
  const warmUntil = process.hrtime.bigint() + BigInt(Math.min(ms, 1000)) * 1_000_000n;
  for (let w = 0; process.hrtime.bigint() < warmUntil; w++) fn(inputs[w % inputs.length]);
  let count = 0;
  let sink = 0;
  const start = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const budget = BigInt(ms) * 1_000_000n;
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < inputs.length; i++) {
      const r = fn(inputs[i]);
      if (r !== undefined) sink++;
    }
    count += inputs.length;
    elapsed = process.hrtime.bigint() - start;
  }
  const cpu = process.cpuUsage(cpu0);
  if (sink < 0) console.log(sink); // keep results observable so the loop is not optimised away
  return {
    perCpuSecond: Math.round((count * 1e6) / (cpu.user + cpu.system)),
    perWallSecond: Math.round((count * 1e9) / Number(elapsed)),
  };
}

/** Reads every leaf value (unescaped) of a parsed message, as a converter touching all data would. */
function touchAll(msg: Hl7Message): number {
  let n = 0;
  for (const seg of msg.segments) {
    for (let f = 1; f <= seg.fieldCount; f++) {
      const field = seg.field(f);
      if (field === undefined) continue;
      if (seg.name === "MSH" && f <= 2) continue;
      for (const rep of field.children) for (const comp of rep.children) for (const sub of comp.children) n += sub.value.length;
    }
  }
  return n;
}

export async function runConvertBench(opts: { msPerMetric?: number } = {}): Promise<Record<string, number | string>> {
  const ms = opts.msPerMetric ?? 1500;
  const corpus = loadAdtCorpus();
  const texts = corpus.map((m) => m.text);
  // Medplum's parser rejects a BOM and MLLP framing, so it gets the same messages normalised to CR-terminated text.
  const normalised = texts.map((t) => parseHl7(t).raw);
  const bytes = texts.reduce((a, t) => a + Buffer.byteLength(t), 0);

  const parseOnly = throughput(texts, (t) => parseHl7(t), ms);
  const parseAll = throughput(texts, (t) => touchAll(parseHl7(t)), ms);
  let bundleBytes = 0;
  for (const t of texts) bundleBytes += JSON.stringify(convertAdt(t)).length;
  const convert = throughput(texts, (t) => JSON.stringify(convertAdt(t)), ms);
  const medplum = throughput(normalised, (t) => MedplumHl7Message.parse(t), ms);
  await Promise.resolve();
  return {
    corpusMessages: corpus.length,
    meanMessageBytes: Math.round(bytes / corpus.length),
    meanBundleBytes: Math.round(bundleBytes / corpus.length),
    parseOnlyMsgPerSec: parseOnly.perCpuSecond,
    parseAndUnescapeEveryLeafMsgPerSec: parseAll.perCpuSecond,
    parseConvertSerializeMsgPerSec: convert.perCpuSecond,
    medplumParseMsgPerSec: medplum.perCpuSecond,
    parseVsMedplumRatio: Number((parseOnly.perCpuSecond / medplum.perCpuSecond).toFixed(2)),
    parseAndUnescapeEveryLeafVsMedplumRatio: Number((parseAll.perCpuSecond / medplum.perCpuSecond).toFixed(2)),
    parseConvertSerializeMsgPerWallSec: convert.perWallSecond,
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
