import { strict as assert } from "node:assert";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

// Runbooks are read during incidents, when a renamed script or resource costs the most. These checks tie every
// name a runbook relies on to something that exists in this repository.
const root = join(__dirname, "..", "..");
const runbookDir = join(root, "docs", "runbooks");
const runbooks = readdirSync(runbookDir).filter((f) => f.endsWith(".md"));
const text = (f: string) => readFileSync(join(runbookDir, f), "utf8");
const codeTokens = (s: string) => [...s.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);

function sourceCorpus(): string {
    const dirs = ["components", "stacks", "app/src", "tools", "bootstrap", ".github/workflows"];
    const parts: string[] = [];
    const walk = (dir: string) => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
            if (entry.name === "node_modules" || entry.name.startsWith("out")) continue;
            const path = join(dir, entry.name);
            if (entry.isDirectory()) walk(path);
            else if (/\.(ts|ya?ml|xml|json)$/.test(entry.name)) parts.push(readFileSync(path, "utf8"));
        }
    };
    for (const d of dirs) if (existsSync(join(root, d))) walk(join(root, d));
    return parts.join("\n");
}

describe("runbooks (docs/runbooks)", () => {
    const scripts = Object.keys(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts);
    const corpus = sourceCorpus();

    it("are all listed in the runbook index, which the README links", () => {
        const index = text("README.md");
        for (const f of runbooks.filter((r) => r !== "README.md")) assert.ok(index.includes(`](${f})`), `${f} missing from index`);
        assert.ok(readFileSync(join(root, "README.md"), "utf8").includes("docs/runbooks/README.md"));
    });

    function problemsIn(f: string, body: string): string[] {
        const problems: string[] = [];
        for (const m of body.matchAll(/npm run ([a-z][a-z0-9:-]*)/g)) {
            if (!scripts.includes(m[1])) problems.push(`${f}: npm run ${m[1]} is not a script`);
        }
        for (const token of codeTokens(body)) {
            if (/[<>]/.test(token) || /\s/.test(token)) continue; // placeholders and commands
            if (/^[\w.-]+\/[\w./-]+\.(ts|md|ya?ml|json)$/.test(token)) {
                if (!existsSync(join(root, token))) problems.push(`${f}: file ${token}`);
            } else if (/^[a-z0-9]+(-[a-z0-9]+)+$/.test(token)) {
                if (!corpus.includes(token)) problems.push(`${f}: resource name ${token}`); // alerts, secrets, keys, queues
            } else if (/^[a-z][A-Za-z]*\.[a-z][A-Za-z]*$/.test(token)) {
                if (!corpus.includes(token.split(".")[1])) problems.push(`${f}: config key ${token}`);
            } else if (/^[A-Z][a-z]+([A-Z][a-z]+)+$/.test(token)) {
                if (!corpus.includes(token)) problems.push(`${f}: name ${token}`); // saved searches, Key Vault events
            }
        }
        return problems;
    }

    it("name only npm scripts, repository files, resources and config keys that exist", () => {
        assert.deepEqual(runbooks.flatMap((f) => problemsIn(f, text(f))), []);
    });

    it("would flag a renamed script, a moved file, a renamed secret and a dropped config key", () => {
        const stale = "Run `npm run rotate-now`, see `components/gone.ts`, reissue `hl7-function-key-v0` and set `keyVault.purgeMe`.";
        assert.deepEqual(problemsIn("stale.md", stale).length, 4, problemsIn("stale.md", stale).join("\n"));
    });
});
