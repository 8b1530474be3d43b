// Secret scanning, offline: secretlint's recommended rules over every tracked file must find nothing, and a planted
// credential must be caught (the scan is only worth something if it can fail).
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");
const CLI = path.join(ROOT, "node_modules", "secretlint", "bin", "secretlint.js");

function scan(files: string[], cwd = ROOT) {
    return spawnSync(process.execPath, [CLI, "--secretlintrc", path.join(ROOT, ".secretlintrc.json"), "--format", "json", ...files], { cwd, encoding: "utf8", timeout: 60_000 });
}

describe("secret scanning (secretlint, recommended preset)", function () {
    this.timeout(90_000);

    it("finds no credential in any tracked file", () => {
        const tracked = spawnSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" }).stdout.split("\n").filter((f) => f && fs.existsSync(path.join(ROOT, f)));
        assert.ok(tracked.length > 100, "git ls-files listed the repository");
        const r = scan(tracked);
        assert.strictEqual(r.status, 0, `secretlint found something:\n${r.stdout}${r.stderr}`);
    });

    it("catches a planted credential (a private key and a GitHub token in a config file)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secret-scan-"));
        // Assembled at run time so this test file itself stays clean.
        const pem = ["-----BEGIN", "RSA PRIVATE KEY-----"].join(" ") + "\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n" + ["-----END", "RSA PRIVATE KEY-----"].join(" ") + "\n";
        const token = "ghp_" + "wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx";
        fs.writeFileSync(path.join(dir, "leak.pem"), pem);
        fs.writeFileSync(path.join(dir, "settings.json"), JSON.stringify({ githubToken: token }));
        const r = scan(["leak.pem", "settings.json"], dir);
        assert.notStrictEqual(r.status, 0, "the scan must fail");
        const results = JSON.parse(r.stdout) as { filePath: string; messages: { ruleId: string }[] }[];
        const rules = results.flatMap((x) => x.messages.map((m) => `${path.basename(x.filePath)}:${m.ruleId}`));
        assert.ok(rules.some((x) => x.startsWith("leak.pem:") && /privatekey/i.test(x)), rules.join(", "));
        assert.ok(rules.some((x) => x.startsWith("settings.json:") && /github/i.test(x)), rules.join(", "));
        fs.rmSync(dir, { recursive: true, force: true });
    });
});
