import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        execFile(process.execPath, ["-r", "./tools/ts-register.js", "tools/deploy-function.ts", ...args], { cwd: ROOT, env: { ...process.env, ...env } }, (err, stdout, stderr) =>
            resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stdout, stderr }));
    });
}

describe("deploy-function CLI (what pulumi up runs on the deploy runner)", function () {
    this.timeout(60_000);

    it("--help exits 0 with the usage; usage errors exit 2 naming the problem", async () => {
        const [help, none, unknown, badUrl] = await Promise.all([
            run(["--help"]),
            run([], { FUNCTION_PUBLISH_URL: "", FUNCTION_ZIP: "", FUNCTION_ZIP_SHA256: "" }),
            run(["--nope"]),
            run(["--publish-url", "not a url", "--zip", "x.zip", "--sha256", "00"]),
        ]);
        assert.equal(help.code, 0);
        assert.match(help.stdout, /usage: deploy-function --publish-url/);
        assert.equal(none.code, 2);
        assert.match(none.stderr, /--publish-url, --zip and --sha256 are required/);
        assert.equal(unknown.code, 2);
        assert.match(unknown.stderr, /--nope/);
        assert.equal(badUrl.code, 2);
        assert.match(badUrl.stderr, /is not a URL/);
    });

    it("refuses (exit 1) a zip that is not the planned build, before asking for any token", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deploy-fn-"));
        const zip = path.join(dir, "app.zip");
        fs.writeFileSync(zip, "not the planned bytes");
        const r = await run([], { FUNCTION_PUBLISH_URL: "https://func-x.scm.azurewebsites.net/api/publish", FUNCTION_ZIP: zip, FUNCTION_ZIP_SHA256: "0".repeat(64) });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /changed since the plan/);
        assert.doesNotMatch(r.stderr, /credential/i);
        fs.rmSync(dir, { recursive: true, force: true });
    });
});
