// npm run policy -- --plan <plan.json> [--config <cfg.json>] [--sarif <file>] [--markdown <file>]
// Evaluates the CrossGuard pack in-process against an offline plan; exit 1 on any mandatory violation, 2 on bad input.
import * as fs from "fs";
import * as path from "path";
import { catalogue } from "../policy/policies";
import { toMarkdown, toText } from "./policy/markdown";
import { loadPlan, loadPolicyConfig, runPolicyPackOnPlan, PolicyRunResult } from "./policy/run";
import { toSarif } from "./policy/sarif";

interface Args {
    plans: string[];
    config?: string;
    sarif?: string;
    markdown?: string;
}

export function parseArgs(argv: string[]): Args {
    const a: Args = { plans: [] };
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        const value = argv[i + 1];
        const need = () => {
            if (!value || value.startsWith("--")) throw new Error(`${flag} needs a file argument`);
            i++;
            return value;
        };
        if (flag === "--plan") a.plans.push(need());
        else if (flag === "--config") a.config = need();
        else if (flag === "--sarif") a.sarif = need();
        else if (flag === "--markdown") a.markdown = need();
        else throw new Error(`unknown argument '${flag}'`);
    }
    if (!a.plans.length) throw new Error("--plan <plan.json> is required");
    return a;
}

function write(file: string, content: string): void {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, content);
}

async function main(): Promise<number> {
    let args: Args;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (e) {
        console.error(`policy: ${(e as Error).message}\nusage: npm run policy -- --plan <plan.json> [--config <cfg.json>] [--sarif <file>] [--markdown <file>]`);
        return 2;
    }
    const results: PolicyRunResult[] = [];
    try {
        const config = args.config ? loadPolicyConfig(args.config) : {};
        for (const p of args.plans) results.push(await runPolicyPackOnPlan(loadPlan(p), config));
    } catch (e) {
        console.error(`policy: ${(e as Error).message}`);
        return 2;
    }
    for (const r of results) console.log(toText(r));
    if (args.sarif) write(args.sarif, JSON.stringify(toSarif(results, catalogue), null, 2));
    if (args.markdown) write(args.markdown, toMarkdown(results));
    return results.some(r => r.mandatory.length > 0) ? 1 : 0;
}

if (require.main === module) {
    main().then(code => process.exit(code));
}
