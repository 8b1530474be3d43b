// npm run policy -- --plan <plan.json> [--plan <plan.json> ...] [--config <cfg.json>] [--sarif <file>] [--markdown <file>]
// Evaluates the CrossGuard pack in-process against offline plans. Exit 0: no mandatory violation; 1: a mandatory
// violation, or a plan/config that cannot be read or is malformed (the message says which); 2: a usage error.
import * as fs from "fs";
import * as path from "path";
import { parseArgs as parseCli } from "util";
import { catalogue } from "../policy/policies";
import { toMarkdown, toText } from "./policy/markdown";
import { loadPlan, loadPolicyConfig, runPolicyPackOnPlan, PolicyRunResult } from "./policy/run";
import { toSarif } from "./policy/sarif";

export interface Args {
    plans: string[];
    config?: string;
    sarif?: string;
    markdown?: string;
}

export const USAGE = "usage: npm run policy -- --plan <plan.json> [--plan <plan.json> ...] [--config <cfg.json>] [--sarif <file>] [--markdown <file>]";

/** "help" for --help; throws a TypeError (a usage error, exit 2) on anything else it cannot accept. */
export function parseArgs(argv: string[]): Args | "help" {
    const { values, positionals } = parseCli({
        args: argv,
        allowPositionals: true,
        options: {
            plan: { type: "string", multiple: true },
            config: { type: "string" },
            sarif: { type: "string" },
            markdown: { type: "string" },
            help: { type: "boolean", short: "h" },
        },
    });
    if (values.help) return "help";
    if (positionals.length) throw new TypeError(`unexpected argument '${positionals[0]}' (plans are passed with --plan)`);
    for (const [flag, v] of Object.entries(values)) {
        for (const s of [v].flat()) if (typeof s === "string" && (s === "" || s.startsWith("--"))) throw new TypeError(`--${flag} needs a file argument`);
    }
    if (!values.plan?.length) throw new TypeError("--plan <plan.json> is required");
    return { plans: values.plan, config: values.config, sarif: values.sarif, markdown: values.markdown };
}

function write(file: string, content: string): void {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, content);
}

async function main(): Promise<number> {
    let args: Args | "help";
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (e) {
        console.error(`policy: ${(e as Error).message}\n${USAGE}`);
        return 2;
    }
    if (args === "help") {
        console.log(USAGE);
        return 0;
    }
    const results: PolicyRunResult[] = [];
    try {
        const config = args.config ? loadPolicyConfig(args.config) : {};
        for (const p of args.plans) results.push(await runPolicyPackOnPlan(loadPlan(p), config));
    } catch (e) {
        console.error(`policy: ${(e as Error).message}`);
        return 1;
    }
    for (const r of results) console.log(toText(r));
    if (args.sarif) write(args.sarif, JSON.stringify(toSarif(results, catalogue), null, 2));
    if (args.markdown) write(args.markdown, toMarkdown(results));
    return results.some(r => r.mandatory.length > 0) ? 1 : 0;
}

if (require.main === module) {
    main().then(code => process.exit(code));
}
