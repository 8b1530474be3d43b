import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import {
    deleteFunctionKey, functionKeyRotation, functionKeyUrl, generateFunctionKey, namedValueRefreshUrl, refreshNamedValue, setFunctionKey,
} from "../../components/functionKeys";
import { SCHEDULED_DEPLOY_INTERVAL_DAYS } from "../../components/secretRotation";

const ROOT = path.resolve(__dirname, "..", "..");
const DAY = 86_400_000;
const SITE = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-fhir-dev/providers/Microsoft.Web/sites/func-fhir-dev";
const APIM = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-fhir-dev/providers/Microsoft.ApiManagement/service/apim-fhir-dev";

interface Seen { method: string; url: string; auth?: string; body: string }

/** A stand-in for ARM's function-secret and named-value endpoints, holding keys per function like the host does. */
async function fakeArm(): Promise<{ url: string; seen: Seen[]; keys: Map<string, string>; close(): Promise<void>; failNext?: number }> {
    const seen: Seen[] = [];
    const keys = new Map<string, string>([["default", "runtime-generated-default-key-000000000000000000000000"]]);
    const state: { failNext?: number } = {};
    const server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
            seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
            if (req.headers.authorization !== "Bearer test-token") return void res.writeHead(401).end();
            if (state.failNext) {
                const status = state.failNext;
                state.failNext = undefined;
                return void res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify({ error: { code: "Conflict", message: "busy" } }));
            }
            const key = /\/functions\/hl7\/keys\/([^?]+)\?api-version=/.exec(req.url!)?.[1];
            if (key && req.method === "PUT") {
                const { name, value } = JSON.parse(body) as { name: string; value: string };
                const existed = keys.has(key);
                keys.set(key, value);
                return void res.writeHead(existed ? 200 : 201, { "Content-Type": "application/json" }).end(JSON.stringify({ name, value }));
            }
            if (key && req.method === "DELETE") return void res.writeHead(keys.delete(key) ? 204 : 404).end();
            if (req.method === "POST" && /\/namedValues\/hl7-function-key\/refreshSecret\?api-version=/.test(req.url!)) return void res.writeHead(202).end();
            res.writeHead(400).end();
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const arm = {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        seen,
        keys,
        close: () => new Promise<void>((r) => server.close(() => r())),
        set failNext(v: number | undefined) { state.failNext = v; },
    };
    return arm;
}

function run(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        execFile(process.execPath, ["-r", "./tools/ts-register.js", "tools/function-key.ts", ...args], { cwd: ROOT, env: { ...process.env, FUNCTION_KEY_VALUE: undefined, ...env } as NodeJS.ProcessEnv },
            (err, stdout, stderr) => resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stdout, stderr }));
    });
}

describe("gateway function key rotation (components/functionKeys.ts, tools/function-key.ts)", function () {
    this.timeout(60_000);

    it("reissues the two slots on alternate periods; a new generation reissues both", () => {
        const now = new Date("2026-11-29T00:00:00Z");
        const r = functionKeyRotation(now, 30, 0);
        const next = functionKeyRotation(new Date(now.getTime() + 30 * DAY), 30, 0);
        assert.deepEqual([r.slots.a.keyName, r.slots.b.keyName], ["apim-a", "apim-b"]);
        assert.notEqual(r.current, next.current, "the current slot alternates");
        assert.notEqual(r.slots[next.current].keeper, next.slots[next.current].keeper, "the next period reissues the other slot");
        assert.equal(r.slots[r.current].keeper, next.slots[r.current].keeper, "the slot in use is not touched by the next period");
        const revoked = functionKeyRotation(now, 30, 1);
        assert.notEqual(revoked.slots.a.keeper, r.slots.a.keeper);
        assert.notEqual(revoked.slots.b.keeper, r.slots.b.keeper);
        assert.throws(() => functionKeyRotation(now, 30, -1), /generation/);
    });

    it("on the weekly schedule, never overwrites the key APIM is using, and the Key Vault copy outlives the next run", () => {
        for (const period of [SCHEDULED_DEPLOY_INTERVAL_DAYS, 30, 90, 180]) {
            for (let offset = 0; offset < SCHEDULED_DEPLOY_INTERVAL_DAYS; offset++) {
                for (let day = offset + SCHEDULED_DEPLOY_INTERVAL_DAYS; day < 3 * 365; day += SCHEDULED_DEPLOY_INTERVAL_DAYS) {
                    const runAt = new Date(Date.UTC(2026, 0, 1) + day * DAY);
                    const prevAt = new Date(runAt.getTime() - SCHEDULED_DEPLOY_INTERVAL_DAYS * DAY);
                    const previous = functionKeyRotation(prevAt, period, 0);
                    const now = functionKeyRotation(runAt, period, 0);
                    const inUse = previous.slots[previous.current];
                    // The slot Key Vault (and so APIM) holds keeps its value through this run.
                    assert.equal(now.slots[previous.current].keeper, inUse.keeper, `period ${period}, day ${day}: the key in use was reissued`);
                    // The copy this run writes is still valid when the next scheduled run comes.
                    const nextRun = runAt.getTime() + SCHEDULED_DEPLOY_INTERVAL_DAYS * DAY;
                    assert.ok(now.slots[now.current].expires.getTime() > nextRun, `period ${period}, day ${day}: copy expires before the next run`);
                }
            }
        }
    });

    it("builds only ARM URLs for a site, a function and a key it can name, over https (loopback http for stand-ins)", () => {
        assert.equal(functionKeyUrl("https://management.azure.com", SITE, "hl7", "apim-a"),
            `https://management.azure.com${SITE}/functions/hl7/keys/apim-a?api-version=2024-04-01`);
        assert.throws(() => functionKeyUrl("https://management.azure.com", "/subscriptions/x/resourceGroups/y", "hl7", "apim-a"), /not a Microsoft.Web\/sites resource id/);
        assert.throws(() => functionKeyUrl("https://management.azure.com", SITE, "hl7", "../host/default"), /not a valid key name/);
        assert.throws(() => functionKeyUrl("http://management.azure.com", SITE, "hl7", "apim-a"), /must be https/);
        assert.match(namedValueRefreshUrl("https://management.azure.com", APIM, "hl7-function-key"), /\/namedValues\/hl7-function-key\/refreshSecret\?api-version=2022-08-01$/);
        assert.throws(() => namedValueRefreshUrl("https://management.azure.com", SITE, "hl7-function-key"), /ApiManagement/);
        const key = generateFunctionKey();
        assert.match(key, /^[A-Za-z0-9_-]{56}$/);
        assert.notEqual(key, generateFunctionKey());
    });

    it("sets, deletes and refreshes through ARM with the caller's token, and names ARM's error code without the value", async () => {
        const arm = await fakeArm();
        try {
            const req = { armEndpoint: arm.url, siteId: SITE, functionName: "hl7", keyName: "apim-a", token: "test-token" };
            const value = generateFunctionKey();
            assert.equal(await setFunctionKey({ ...req, value }), "created");
            assert.equal(await setFunctionKey({ ...req, value }), "updated");
            assert.equal(arm.keys.get("apim-a"), value);
            assert.deepEqual(JSON.parse(arm.seen[0].body), { name: "apim-a", value });
            assert.equal(await deleteFunctionKey({ ...req, keyName: "default" }), "deleted");
            assert.equal(await deleteFunctionKey({ ...req, keyName: "default" }), "absent");
            assert.equal(await refreshNamedValue({ armEndpoint: arm.url, apimId: APIM, namedValueId: "hl7-function-key", token: "test-token" }), 202);
            // A host still indexing its functions after the deployment: waited out, then set.
            arm.failNext = 404;
            const waits: number[] = [];
            assert.equal(await setFunctionKey({ ...req, value, sleep: async (ms) => void waits.push(ms) }), "updated");
            assert.deepEqual(waits, [5_000]);
            arm.failNext = 409;
            await assert.rejects(setFunctionKey({ ...req, value, attempts: 1 }), (err: Error) => /after 1 attempt\(s\): 409 Conflict/.test(err.message) && !err.message.includes(value));
            arm.failNext = 403;
            await assert.rejects(setFunctionKey({ ...req, value, sleep: async () => assert.fail("a 403 is not retried") }), /403 Conflict/);
            await assert.rejects(setFunctionKey({ ...req, value: "short" }), /32–128 characters/);
            await assert.rejects(setFunctionKey({ ...req, token: "wrong", value }), /401/);
        } finally {
            await arm.close();
        }
    });

    it("CLI: sets a generated key and prunes the runtime's default without printing the value; --help 0, usage 2, bad input 1", async () => {
        const arm = await fakeArm();
        try {
            const env = { ARM_ENDPOINT: arm.url, ARM_TEST_TOKEN: "test-token" };
            const set = await run(["set", "--site-id", SITE, "--key-name", "apim-b", "--prune", "default"], env);
            assert.equal(set.code, 0, set.stderr);
            const value = arm.keys.get("apim-b")!;
            assert.match(value, /^[A-Za-z0-9_-]{56}$/);
            assert.ok(!arm.keys.has("default"), "the runtime's default key is gone");
            assert.ok(!set.stdout.includes(value) && !set.stderr.includes(value), "the value is never printed");
            assert.match(set.stdout, /function key apim-b created on func-fhir-dev\/hl7/);
            const refresh = await run(["refresh", "--apim-id", APIM, "--named-value", "hl7-function-key"], env);
            assert.equal(refresh.code, 0, refresh.stderr);
            assert.match(refresh.stdout, /refresh accepted/);
            const del = await run(["delete", "--site-id", SITE, "--key-name", "apim-b"], env);
            assert.equal(del.code, 0, del.stderr);
            assert.ok(!arm.keys.has("apim-b"));

            const [help, none, unknownAction, selfPrune, badSite, badValue] = await Promise.all([
                run(["--help"], {}),
                run([], {}),
                run(["rotate"], {}),
                run(["set", "--site-id", SITE, "--key-name", "apim-a", "--prune", "apim-a"], env),
                run(["set", "--site-id", "/subscriptions/x", "--key-name", "apim-a"], env),
                run(["set", "--site-id", SITE, "--key-name", "apim-a"], { ...env, FUNCTION_KEY_VALUE: "too-short" }),
            ]);
            assert.equal(help.code, 0);
            assert.match(help.stdout, /usage: function-key set/);
            assert.equal(none.code, 2);
            assert.equal(unknownAction.code, 2);
            assert.match(unknownAction.stderr, /unknown action "rotate"/);
            assert.equal(selfPrune.code, 2);
            assert.equal(badSite.code, 1);
            assert.match(badSite.stderr, /not a Microsoft.Web\/sites resource id/);
            assert.equal(badValue.code, 1);
            assert.ok(!badValue.stderr.includes("too-short"));
            assert.ok(arm.seen.every((s) => !/apim-a/.test(s.url)), "bad input never reaches ARM");
        } finally {
            await arm.close();
        }
    });
});
