import * as pulumi from "@pulumi/pulumi";
// The mock monitor is what `pulumi.runtime.setMocks` installs; extending it lets the plan see the registration
// requests themselves (dependencies, property dependencies, parent, provider, secrets), which Mocks callbacks do not.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks") as { MockMonitor: new (mocks: pulumi.runtime.Mocks) => any };

/** One resource as the program registered it. */
export interface PlannedResource {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    parent: string | null;
    provider: string | null;
    /** Resolved inputs; secrets replaced by "[secret]". */
    inputs: Record<string, unknown>;
    /** Mocked provider outputs (or registered component outputs); secrets replaced by "[secret]". */
    outputs: Record<string, unknown>;
    /** URNs this resource waits for: explicit dependsOn plus every resource an input Output came from. */
    dependencies: string[];
    /** Input property name → URNs its value came from. */
    propertyDependencies: Record<string, string[]>;
    /** Resource options that matter to reviewers (not part of the engine's inputs). */
    options: { ignoreChanges?: string[]; protect?: boolean; customTimeouts?: Record<string, string>; additionalSecretOutputs?: string[] };
}

export const SECRET_PLACEHOLDER = "[secret]";
const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17";
const ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7";
const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
const OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * Turns the wire form of a property value into plain JSON for the plan: secrets become "[secret]", resource
 * references their URN, assets and archives a small descriptor, unknowns "[unknown]".
 */
export function toPlanValue(value: unknown): unknown {
    if (value === UNKNOWN) return "[unknown]";
    if (Array.isArray(value)) return value.map(toPlanValue);
    if (value === null || typeof value !== "object") return value;
    const obj = value as Record<string, unknown>;
    switch (obj[SIG]) {
        case SECRET_SIG:
            return SECRET_PLACEHOLDER;
        case RESOURCE_SIG:
            return obj.urn;
        case OUTPUT_SIG:
            return obj.secret ? SECRET_PLACEHOLDER : "value" in obj ? toPlanValue(obj.value) : "[unknown]";
        case ASSET_SIG:
            return { asset: obj.path ?? obj.uri ?? "[inline text]" };
        case ARCHIVE_SIG:
            return { archive: obj.path ?? obj.uri ?? Object.fromEntries(Object.entries((obj.assets as Record<string, unknown>) ?? {}).map(([k, v]) => [k, toPlanValue(v)])) };
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, toPlanValue(v)]));
}

function redactKeys(outputs: Record<string, unknown>, secretKeys: readonly string[]): Record<string, unknown> {
    const copy = { ...outputs };
    for (const key of secretKeys) if (key in copy) copy[key] = SECRET_PLACEHOLDER;
    return copy;
}

/** A mock resource monitor that records every registration as a PlannedResource. */
export class RecordingMonitor extends MockMonitor {
    readonly planned = new Map<string, PlannedResource>();

    constructor(mocks: pulumi.runtime.Mocks) {
        super(mocks);
    }

    async registerResource(req: any, callback: (err: any, resp?: any) => void): Promise<void> {
        const secretOutputs: string[] = req.getAdditionalsecretoutputsList();
        const inputs = toPlanValue(req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>;
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
            const urns: string[] = deps.getUrnsList();
            if (urns.length > 0) propertyDependencies[key] = [...urns].sort();
        });
        const timeouts = req.getCustomtimeouts();
        const customTimeouts = timeouts
            ? Object.fromEntries(Object.entries({ create: timeouts.getCreate(), update: timeouts.getUpdate(), delete: timeouts.getDelete() }).filter(([, v]) => v))
            : undefined;
        await super.registerResource(req, (err: any, resp?: any) => {
            if (!err && resp) {
                const urn: string = resp.getUrn();
                const state = (resp.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>;
                this.planned.set(urn, {
                    urn,
                    type: req.getType(),
                    name: req.getName(),
                    custom: req.getCustom(),
                    parent: req.getParent() || null,
                    provider: req.getProvider() || null,
                    inputs,
                    outputs: redactKeys(toPlanValue(state) as Record<string, unknown>, secretOutputs),
                    dependencies: [...new Set<string>(req.getDependenciesList())].sort(),
                    propertyDependencies,
                    options: {
                        ...(req.getIgnorechangesList().length ? { ignoreChanges: req.getIgnorechangesList() } : {}),
                        ...(req.getProtect() ? { protect: true } : {}),
                        ...(customTimeouts && Object.keys(customTimeouts).length ? { customTimeouts } : {}),
                        ...(secretOutputs.length ? { additionalSecretOutputs: secretOutputs } : {}),
                    },
                });
            }
            callback(err, resp);
        });
    }

    registerResourceOutputs(req: any, callback: (err: any, resp?: any) => void): void {
        const entry = this.planned.get(req.getUrn());
        if (entry) entry.outputs = toPlanValue(req.getOutputs()?.toJavaScript() ?? {}) as Record<string, unknown>;
        super.registerResourceOutputs(req, callback);
    }

    /** Planned resources in registration order. */
    plannedResources(): PlannedResource[] {
        return [...this.planned.values()];
    }
}

/**
 * Installs a RecordingMonitor as the process's Pulumi runtime, exactly as `setMocks` would (same feature flags), and
 * returns it.
 */
export function installRecordingMonitor(mocks: pulumi.runtime.Mocks, project: string, stack: string, preview = false): RecordingMonitor {
    const monitor = new RecordingMonitor(mocks);
    pulumi.runtime.setMockOptions(monitor, project, stack, preview);
    // setMockOptions resets the feature flags; set them the way setMocks does (runtime/mocks.js).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const store = require("@pulumi/pulumi/runtime/state").getStore();
    Object.assign(store, {
        supportsSecrets: true,
        supportsResourceReferences: true,
        supportsOutputValues: false,
        supportsDeletedWith: true,
        supportsReplaceWith: true,
        supportsAliasSpecs: true,
        supportsTransforms: false,
        supportsParameterization: true,
        supportsResourceHooks: true,
        supportsErrorHooks: true,
    });
    return monitor;
}
