import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as keyvault from "@pulumi/azure-native/keyvault";
import * as web from "@pulumi/azure-native/web";
import { functionKeyRotation, HL7_FUNCTION_NAME, RUNTIME_DEFAULT_KEY } from "./functionKeys";
import { Slot } from "./secretRotation";

export const FUNCTION_KEY_TOOL = "node -r ./tools/ts-register.js tools/function-key.ts";

export interface GatewayFunctionKeyArgs {
    /** The ingestion Function App: its resource id, name and resource group. */
    site: { id: pulumi.Input<string>; name: pulumi.Input<string>; resourceGroupName: pulumi.Input<string> };
    /** The platform vault the current key is copied into (APIM reads it from there). */
    keyVault: { name: pulumi.Input<string>; resourceGroupName: pulumi.Input<string> };
    /** Name of the Key Vault secret (the APIM named value points at it, versionless). */
    secretName: string;
    /** Rotation period in days: the HL7 sender secret's, which the weekly scheduled deploy keeps ahead of. */
    rotationDays: number;
    /** Bumped by the revocation runbook to reissue both slots now. */
    generation: number;
    /** Clock for the rotation period (the program's day-granular "now"). */
    now: Date;
    /** The code deployment: the function must exist before it has keys. */
    ready: pulumi.Resource[];
}

/**
 * The function key API Management presents to the HL7 Function, rotated by `pulumi up` in two slots (functionKeys.ts).
 * As whom and from where: the commands and the key read run as the deploying identity (the workflow's Azure CLI login;
 * the bootstrap's deployer role holds `Microsoft.Web/*`, assigned before the platform's first run, so nothing here
 * waits for propagation) on the deploy runner, through ARM. ARM forwards key calls to the Function host, which must
 * have indexed `hl7` after the code deployment: the setter waits out its 404s (FUNCTION_KEY_RETRY_STATUSES).
 * Each slot's value is generated and set on the function by tools/function-key.ts on the deploy runner; the current
 * slot's value is then read back through ARM and copied to Key Vault. Removing the runtime's own `default` key leaves only keys that rotate.
 */
export class GatewayFunctionKey extends pulumi.ComponentResource {
    /** The Key Vault copy of the current slot's key. */
    public readonly secret: keyvault.Secret;
    public readonly currentKeyName: string;

    constructor(name: string, args: GatewayFunctionKeyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:edge:GatewayFunctionKey", name, {}, opts);
        const rotation = functionKeyRotation(args.now, args.rotationDays, args.generation);
        const setters: Partial<Record<Slot, command.local.Command>> = {};
        for (const slot of ["a", "b"] as const) {
            const { keyName, keeper } = rotation.slots[slot];
            // The script generates the value on the runner and sets it through ARM: the credential never passes
            // through the program's inputs or state (policy secret-sources-only-to-keyvault). A new keeper reruns it.
            setters[slot] = new command.local.Command(`${name}-set-${slot}`, {
                create: `${FUNCTION_KEY_TOOL} set`,
                environment: { FUNCTION_SITE_ID: args.site.id, FUNCTION_KEY_NAME: keyName, FUNCTION_KEY_PRUNE: RUNTIME_DEFAULT_KEY },
                triggers: [keeper, args.site.id],
                // Nothing to undo on delete: the keys go with the site; a revoked slot is deleted by the runbook.
            }, { parent: this, dependsOn: args.ready });
        }
        const current = rotation.slots[rotation.current];
        this.currentKeyName = current.keyName;
        // Read back after the current slot was (re)set: only that value is copied to Key Vault.
        const keys = web.listWebAppFunctionKeysOutput(
            { name: args.site.name, resourceGroupName: args.site.resourceGroupName, functionName: HL7_FUNCTION_NAME },
            { parent: this, dependsOn: [setters[rotation.current]!] },
        );
        this.secret = new keyvault.Secret(`${name}-secret`, {
            vaultName: args.keyVault.name,
            resourceGroupName: args.keyVault.resourceGroupName,
            secretName: args.secretName,
            properties: {
                value: pulumi.secret(keys.apply((k) => {
                    const value = k.properties?.[current.keyName];
                    if (!value) throw new Error(`${name}: the ${HL7_FUNCTION_NAME} function has no key ${current.keyName} after it was set`);
                    return value;
                })),
                contentType: `application/x-azure-functions-key; function=${HL7_FUNCTION_NAME}; key=${current.keyName}`,
                // Stays valid one period after the next rotation; an expired copy means scheduled deploys stopped.
                attributes: { enabled: true, expires: Math.floor(current.expires.getTime() / 1000) },
            },
            tags: { rotation: current.keeper },
        }, { parent: this });
        this.registerOutputs({ secretId: this.secret.id, currentKeyName: this.currentKeyName });
    }
}
