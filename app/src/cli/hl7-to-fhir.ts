/**
 * hl7-to-fhir: converts HL7 v2 ADT messages to FHIR R4 transaction Bundles.
 *
 *   npm run --silent hl7-to-fhir -- [--ids convert-data|stable] [--offset ±hh:mm | --timezone <IANA>] [--out-dir <dir>]
 *                                   <file.hl7>... | -
 *
 * One input: prints the Bundle JSON on stdout. Several: one Bundle per line (JSON Lines), in input order. With
 * --out-dir: writes <dir>/<basename>.json per input.
 * Exit status: 0 success, 1 invalid input (the parser's or converter's PHI-free message on stderr), 2 usage error.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { ConversionError, checkTimeZone, convertAdt, type IdStrategy } from "../convert";
import { Hl7ParseError } from "../hl7";

const USAGE = `Usage: hl7-to-fhir [options] <file.hl7>... | -

Converts HL7 v2 ADT messages (one message per file; "-" reads stdin) to FHIR R4 transaction Bundles.

Options:
  --ids <strategy>   resource id strategy: "stable" (default) or "convert-data"
                     (ids identical to Azure $convert-data / microsoft/FHIR-Converter)
  --offset <±hh:mm>  time-zone offset for HL7 times that carry none (default: Z, i.e. UTC)
  --timezone <name>  IANA time zone of the sender (e.g. America/Chicago) for HL7 times that carry
                     no offset, daylight saving included; overrides --offset
  --out-dir <dir>    write <dir>/<basename>.json for each input instead of printing
                     (several inputs without --out-dir print one Bundle per line, JSON Lines)
  -h, --help         show this help

Exit status: 0 success, 1 invalid input, 2 usage error.
`;

interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  readStdin: () => string;
}

class UsageError extends Error {}

interface Args {
  ids: IdStrategy;
  offset?: string;
  timeZone?: string;
  outDir?: string;
  inputs: string[];
  help: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { ids: "stable", inputs: [], help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`${a} needs a value`);
      return next;
    };
    if (a === "-h" || a === "--help") args.help = true;
    else if (a === "--ids") {
      const ids = value();
      if (ids !== "stable" && ids !== "convert-data") throw new UsageError(`--ids must be "stable" or "convert-data", not "${ids}"`);
      args.ids = ids;
    } else if (a.startsWith("--ids=")) {
      const ids = a.slice(6);
      if (ids !== "stable" && ids !== "convert-data") throw new UsageError(`--ids must be "stable" or "convert-data", not "${ids}"`);
      args.ids = ids;
    } else if (a === "--out-dir") args.outDir = value();
    else if (a.startsWith("--out-dir=")) args.outDir = a.slice(10);
    else if (a === "--timezone") args.timeZone = value();
    else if (a.startsWith("--timezone=")) args.timeZone = a.slice(11);
    else if (a === "--offset") args.offset = value();
    else if (a.startsWith("--offset=")) args.offset = a.slice(9);
    else if (a === "--") args.inputs.push(...argv.slice(i + 1)), (i = argv.length);
    else if (a.startsWith("-") && a !== "-") throw new UsageError(`unknown option ${a}`);
    else args.inputs.push(a);
  }
  if (args.offset !== undefined && !/^(Z|[+-](0\d|1[0-4]):[0-5]\d)$/.test(args.offset)) {
    throw new UsageError(`--offset must be Z or ±hh:mm, not "${args.offset}"`);
  }
  if (args.timeZone !== undefined) {
    try {
      checkTimeZone(args.timeZone);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  return args;
}

/** Runs the command; returns the exit status. `io` is injectable for tests. */
export function main(argv: string[], io: CliIo = defaultIo()): number {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    io.stderr(`hl7-to-fhir: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    io.stdout(USAGE);
    return 0;
  }
  if (args.inputs.length === 0) {
    io.stderr(`hl7-to-fhir: no input given\n\n${USAGE}`);
    return 2;
  }
  if (args.inputs.filter((x) => x === "-").length > 1) {
    io.stderr('hl7-to-fhir: "-" (stdin) can be given only once\n');
    return 2;
  }
  if (args.outDir !== undefined) mkdirSync(args.outDir, { recursive: true });

  let status = 0;
  for (const input of args.inputs) {
    const label = input === "-" ? "stdin" : input;
    let text: string;
    try {
      text = input === "-" ? io.readStdin() : readFileSync(input, "utf8");
    } catch (err) {
      io.stderr(`hl7-to-fhir: ${label}: cannot read (${(err as NodeJS.ErrnoException).code ?? "error"})\n`);
      status = 1;
      continue;
    }
    try {
      const bundle = convertAdt(text, {
        ids: args.ids,
        ...(args.offset !== undefined ? { defaultOffset: args.offset } : {}),
        ...(args.timeZone !== undefined ? { timeZone: args.timeZone } : {}),
      });
      const lines = args.outDir === undefined && args.inputs.length > 1;
      const json = (lines ? JSON.stringify(bundle) : JSON.stringify(bundle, null, 2)) + "\n";
      if (args.outDir === undefined) io.stdout(json);
      else {
        const name = input === "-" ? "stdin" : basename(input, extname(input));
        writeFileSync(join(args.outDir, `${name}.json`), json);
      }
    } catch (err) {
      // Parser and converter messages name positions and fixed reasons only, never field values.
      if (err instanceof Hl7ParseError || err instanceof ConversionError) {
        io.stderr(`hl7-to-fhir: ${label}: ${err.name}: ${err.message}\n`);
      } else {
        io.stderr(`hl7-to-fhir: ${label}: internal error (${(err as Error)?.name ?? "unknown"})\n`);
      }
      status = 1;
    }
  }
  return status;
}

function defaultIo(): CliIo {
  return {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    readStdin: () => readFileSync(0, "utf8"),
  };
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
