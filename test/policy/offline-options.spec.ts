import { strict as assert } from "node:assert";
import type { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { durationSeconds, runPolicyPackOnPlan } from "../../tools/policy/run";

describe("offline policy run: resource options", () => {
    it("converts recorded custom timeouts to seconds", () => {
        assert.equal(durationSeconds("120m"), 7200);
        assert.equal(durationSeconds("1h30m"), 5400);
        assert.equal(durationSeconds("45s"), 45);
        assert.equal(durationSeconds(undefined), 0);
    });

    it("passes the plan's recorded options to policies as the CLI would", async () => {
        const seen: ResourceValidationArgs[] = [];
        const probe: ResourceValidationPolicy = {
            name: "probe-options",
            description: "records what it is given",
            enforcementLevel: "advisory",
            validateResource: (args) => {
                seen.push(args);
            },
        };
        await runPolicyPackOnPlan({
            project: "p",
            stack: "s",
            resources: [{
                urn: "urn:pulumi:s::p::azure-native:apimanagement:ApiManagementService::gw",
                type: "azure-native:apimanagement:ApiManagementService",
                name: "gw",
                custom: true,
                parent: null,
                provider: null,
                inputs: { sku: { name: "Premium", capacity: 3 } },
                options: { protect: true, ignoreChanges: ["publicNetworkAccess"], customTimeouts: { create: "120m", update: "2h" } },
            }],
        }, {}, { policies: [probe] });
        assert.equal(seen.length, 1);
        assert.equal(seen[0].opts.protect, true);
        assert.deepEqual(seen[0].opts.ignoreChanges, ["publicNetworkAccess"]);
        assert.deepEqual(seen[0].opts.customTimeouts, { createSeconds: 7200, updateSeconds: 7200, deleteSeconds: 0 });
        assert.equal(seen[0].props.sku.capacity, 3);
    });
});
