// Exemptions in the per-stack policy config: active ones waive (and are reported as waived), expired ones no longer
// apply and are reported, malformed ones are an error; config validation mirrors what the engine rejects.
import * as assert from "assert";
import { PolicyConfigError, exemptionActive, parseExemptions } from "../../policy/policies/framework";
import { PolicyPackConfigFile, runPolicyPackOnPlan } from "../../tools/policy/run";
import { goldenPlan, mutate, urnOf, TYPES } from "./fixtures";

const TODAY = new Date("2026-11-22T12:00:00Z");
// A vault that violates kv-network-deny (public network enabled).
const publicVault = () => mutate(goldenPlan(), "vault", i => (i.properties.publicNetworkAccess = "enabled"));
const exempt = (resource: string, expires: string, reason = "Temporary access for the data migration (CHG-2231)"): PolicyPackConfigFile => ({
    "kv-network-deny": { exemptions: [{ policy: "kv-network-deny", resource, reason, expires }] },
});

describe("policy exemptions", () => {
    it("an active exemption by name pattern waives the violation and reports the waiver", async () => {
        const r = await runPolicyPackOnPlan(publicVault(), exempt("vau*", "2026-12-31"), { now: TODAY });
        assert.ok(!r.violations.some(v => v.policy === "kv-network-deny"));
        assert.strictEqual(r.waived.length, 1);
        assert.strictEqual(r.waived[0].resourceName, "vault");
        assert.match(r.waived[0].message, /publicNetworkAccess/);
    });

    it("an active exemption by URN waives only that resource", async () => {
        const r = await runPolicyPackOnPlan(publicVault(), exempt(urnOf(TYPES.vault, "vault"), "2026-11-22"), { now: TODAY });
        assert.strictEqual(r.mandatory.length, 0, "the last day is still inside the exemption");
        const other = await runPolicyPackOnPlan(publicVault(), exempt(urnOf(TYPES.vault, "other-vault"), "2026-12-31"), { now: TODAY });
        assert.ok(other.mandatory.some(v => v.policy === "kv-network-deny"));
        assert.strictEqual(other.waived.length, 0);
    });

    it("an expired exemption no longer applies: the violation is mandatory again and the expiry is reported", async () => {
        const r = await runPolicyPackOnPlan(publicVault(), exempt("vault", "2026-11-21"), { now: TODAY });
        const v = r.mandatory.find(x => x.policy === "kv-network-deny");
        assert.ok(v, "the violation must come back");
        assert.match(v!.message, /exemption expired on 2026-11-21/);
        assert.strictEqual(r.expiredExemptions.length, 1);
        assert.strictEqual(r.waived.length, 0);
    });

    it("an exemption does not hide a different policy's violation on the same resource", async () => {
        const plan = mutate(publicVault(), "vault", i => (i.properties.enablePurgeProtection = false));
        const r = await runPolicyPackOnPlan(plan, exempt("vault", "2026-12-31"), { now: TODAY });
        assert.deepStrictEqual(r.mandatory.map(v => v.policy), ["kv-purge-protection"]);
    });

    it("reports exemptions that match no resource in the plan as unused", async () => {
        const r = await runPolicyPackOnPlan(publicVault(), exempt("decommissioned-*", "2026-12-31"), { now: TODAY });
        assert.deepStrictEqual(r.unusedExemptions.map(e => e.resource), ["decommissioned-*"]);
        assert.ok(r.mandatory.some(v => v.policy === "kv-network-deny"));
    });

    it("rejects malformed exemptions with one error naming every problem", async () => {
        const bad: PolicyPackConfigFile = {
            "kv-network-deny": {
                exemptions: [
                    { policy: "kv-network-deny", resource: "vault", reason: "short", expires: "2026-02-30" },
                    { policy: "kv-rbac-authorization", resource: "", reason: "Because the migration needs it", expires: "soon", approver: "me" },
                ],
            },
        };
        await assert.rejects(runPolicyPackOnPlan(publicVault(), bad, { now: TODAY }), (e: Error) => {
            assert.ok(e instanceof PolicyConfigError);
            assert.match(e.message, /exemption #1: "reason" must explain the waiver.*"expires" must be a real date YYYY-MM-DD \(got "2026-02-30"\)/);
            assert.match(e.message, /exemption #2: "policy" must be 'kv-network-deny'.*"resource" must be a URN or name pattern.*unknown field\(s\) approver/);
            return true;
        });
    });

    it("fails inside the policy too (what the CLI would hit) when the config bypasses the runner's validation", () => {
        assert.throws(() => parseExemptions("kv-network-deny", { policy: "x" }), /"exemptions" must be an array/);
        assert.throws(() => parseExemptions("kv-network-deny", [null]), /exemption #1 is not an object/);
    });

    it("uses the last day inclusively in UTC", () => {
        const e = { policy: "p", resource: "r", reason: "0123456789", expires: "2026-11-22" };
        assert.strictEqual(exemptionActive(e, new Date("2026-11-22T23:59:59Z")), true);
        assert.strictEqual(exemptionActive(e, new Date("2026-11-23T00:00:00Z")), false);
    });

    it("validates the rest of the config like the engine: unknown policies, levels and settings", async () => {
        const plan = goldenPlan();
        await assert.rejects(runPolicyPackOnPlan(plan, { "no-such-policy": "mandatory" }), /unknown policy 'no-such-policy'/);
        await assert.rejects(runPolicyPackOnPlan(plan, { all: "strict" as never }), /"all" must be one of/);
        await assert.rejects(runPolicyPackOnPlan(plan, { "kv-key-expiry": { maxValidity: 10 } }), /'kv-key-expiry' has no setting 'maxValidity'/);
    });
});
