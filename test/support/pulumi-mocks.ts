// Loaded by mocha before any spec (.mocharc.json): installs the same mock runtime the offline plan uses, so
// component tests see ARM-shaped outputs and can read each registration's inputs and dependency edges.
import * as pulumi from "@pulumi/pulumi";
import { armMocks } from "../../tools/offline/arm-mocks";
import { installRecordingMonitor, PlannedResource, RecordingMonitor } from "../../tools/offline/recording-monitor";

export const TEST_PROJECT = "fhir-platform";
export const TEST_STACK = "test";

const monitor: RecordingMonitor = installRecordingMonitor(armMocks, TEST_PROJECT, TEST_STACK);

/** Resolves once every resource registration started so far (and any it triggered) has completed. */
export async function settle(): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
    await settings.waitForRPCs();
}

/** Every resource registered so far in this test process. */
export function registered(): PlannedResource[] {
    return monitor.plannedResources();
}

/** The registered resource of `type` whose Pulumi name is `name`; fails the test when absent. */
export function findRegistered(type: string, name: string): PlannedResource {
    const found = registered().find((r) => r.type === type && r.name === name);
    if (!found) {
        const sameType = registered().filter((r) => r.type === type).map((r) => r.name);
        throw new Error(`no ${type} named ${name} was registered (registered of that type: ${sameType.join(", ") || "none"})`);
    }
    return found;
}

/** Registered resources of a type whose name starts with a prefix (a component instance's children). */
export function registeredUnder(prefix: string, type?: string): PlannedResource[] {
    return registered().filter((r) => r.name.startsWith(prefix) && (!type || r.type === type));
}

/** The value an Output resolves to. */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}
