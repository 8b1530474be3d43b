import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const sourceFiles = (dir: string) =>
    fs.readdirSync(path.join(ROOT, dir)).filter((f) => f.endsWith(".ts")).map((f) => ({ file: `${dir}/${f}`, text: fs.readFileSync(path.join(ROOT, dir, f), "utf8") }));

describe("house rules for the Pulumi program", () => {
    const programFiles = [...sourceFiles("components"), ...sourceFiles("stacks")];
    const componentFiles = programFiles.filter((f) => /extends pulumi\.ComponentResource/.test(f.text));

    it("imports azure-native submodules only, never the package root", () => {
        for (const { file, text } of programFiles) {
            assert.ok(!/from "@pulumi\/azure-native"/.test(text) && !/require\("@pulumi\/azure-native"\)/.test(text), file);
        }
    });

    it("has one component per file, with a <pkg>:<module>:<Type> token, an exported args interface and registerOutputs", () => {
        assert.ok(componentFiles.length >= 4);
        for (const { file, text } of componentFiles) {
            assert.equal((text.match(/extends pulumi\.ComponentResource/g) ?? []).length, 1, `${file}: one component per file`);
            const token = /super\("([^"]+)"/.exec(text)?.[1];
            assert.match(token ?? "", /^fhirplatform:[a-z]+:[A-Z][A-Za-z]+$/, `${file}: token`);
            const className = /export class (\w+) extends pulumi\.ComponentResource/.exec(text)![1];
            assert.equal(token!.split(":")[2], className, `${file}: token type names the class`);
            assert.match(text, new RegExp(`export interface ${className}Args`), `${file}: exported args interface`);
            assert.match(text, /this\.registerOutputs\(/, `${file}: registerOutputs`);
        }
    });

    it("documents every args field with JSDoc or a self-explanatory shared name", () => {
        const shared = new Set(["resourceGroupName", "location", "tags", "naming"]);
        for (const { file, text } of componentFiles) {
            const body = /export interface \w+Args \{([\s\S]*?)\n\}/.exec(text)?.[1] ?? "";
            const lines = body.split("\n");
            lines.forEach((line, i) => {
                const field = /^\s{4}(\w+)\??:/.exec(line)?.[1];
                if (!field || shared.has(field)) return;
                assert.match(lines[i - 1] ?? "", /\*\/\s*$|^\s*\*/, `${file}: ${field} needs a doc comment`);
            });
        }
    });

    it("parents every child resource to its component", () => {
        for (const { file, text } of componentFiles) {
            const constructions = text.match(/new \w+\.\w+\(`\$\{name\}[^`]*`,[\s\S]*?\}, \{[^}]*\}/g) ?? [];
            for (const c of constructions) assert.match(c, /parent: this/, `${file}: ${c.slice(0, 60)}`);
        }
    });
});
