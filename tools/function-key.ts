// Sets (and prunes) the function key API Management presents to the HL7 ingestion Function. `pulumi up` runs it
// (command:local:Command in components/apiManagement.ts) once per rotation period and slot, on the deploy runner; the
// revocation runbook (docs/runbooks/function-keys.md) runs it by hand:
//   node -r ./tools/ts-register.js tools/function-key.ts set --site-id <id> --key-name apim-a --prune default
//   node -r ./tools/ts-register.js tools/function-key.ts delete --site-id <id> --key-name apim-b
// The value is generated here (256+ bits) unless FUNCTION_KEY_VALUE gives one: never argv, which other processes and CI
// logs can see, and never the program's state (it reads the key back through ARM into Key Vault). The token is the
// caller's own (DefaultAzureCredential: the workflow's Azure CLI login) and needs Microsoft.Web/sites/functions/keys/*
// (Website Contributor, in the deployer role).
import { parseArgs } from "node:util";
import {
    assertFunctionKeyValue, deleteFunctionKey, functionKeyUrl, generateFunctionKey, HL7_FUNCTION_NAME, namedValueRefreshUrl, refreshNamedValue,
    setFunctionKey,
} from "../components/functionKeys";

const USAGE = `usage: function-key set --site-id <id> --key-name <name> [--function ${HL7_FUNCTION_NAME}] [--prune <key>]... (value: FUNCTION_KEY_VALUE, else generated)
       function-key delete --site-id <id> --key-name <name> [--function ${HL7_FUNCTION_NAME}]
       function-key refresh --apim-id <id> --named-value <id>   (APIM re-reads the Key Vault copy now)`;

function usage(message: string): never {
    console.error(`function-key: ${message}\n${USAGE}`);
    process.exit(2);
}

async function main(): Promise<void> {
    let parsed;
    try {
        parsed = parseArgs({
            allowPositionals: true,
            options: {
                "site-id": { type: "string" },
                "key-name": { type: "string" },
                "apim-id": { type: "string" },
                "named-value": { type: "string" },
                function: { type: "string" },
                prune: { type: "string", multiple: true },
                "arm-endpoint": { type: "string" },
                help: { type: "boolean", short: "h" },
            },
            strict: true,
        });
    } catch (err) {
        usage((err as Error).message);
    }
    const { values, positionals } = parsed;
    if (values.help) {
        console.log(USAGE);
        return;
    }
    const [action, ...extra] = positionals;
    if (action !== "set" && action !== "delete" && action !== "refresh") usage(action ? `unknown action "${action}"` : "an action (set, delete or refresh) is required");
    if (extra.length) usage(`unexpected argument "${extra[0]}"`);
    const armEndpoint = values["arm-endpoint"] ?? process.env.ARM_ENDPOINT ?? "https://management.azure.com";
    // Token last, so bad input fails without a login; a fixed token only for loopback test stand-ins.
    const token = async () => {
        if (process.env.ARM_TEST_TOKEN && /^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(armEndpoint)) return process.env.ARM_TEST_TOKEN;
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { DefaultAzureCredential } = require("@azure/identity") as typeof import("@azure/identity");
        return (await new DefaultAzureCredential().getToken("https://management.azure.com/.default")).token;
    };
    if (action === "refresh") {
        const apimId = values["apim-id"] ?? process.env.APIM_ID;
        const namedValueId = values["named-value"] ?? process.env.APIM_NAMED_VALUE;
        if (!apimId || !namedValueId) usage("--apim-id and --named-value are required");
        try {
            namedValueRefreshUrl(armEndpoint, apimId, namedValueId);
        } catch (err) {
            console.error(`function-key: ${(err as Error).message}`);
            process.exit(1);
        }
        const status = await refreshNamedValue({ armEndpoint, apimId, namedValueId, token: await token() });
        console.log(`named value ${namedValueId} refresh ${status === 202 ? "accepted" : "done"} on ${apimId.split("/").pop()}`);
        return;
    }
    const siteId = values["site-id"] ?? process.env.FUNCTION_SITE_ID;
    const keyName = values["key-name"] ?? process.env.FUNCTION_KEY_NAME;
    if (!siteId || !keyName) usage("--site-id and --key-name are required");
    const functionName = values.function ?? HL7_FUNCTION_NAME;
    const prune = [...(values.prune ?? []), ...(process.env.FUNCTION_KEY_PRUNE?.split(",").filter(Boolean) ?? [])];
    if (prune.includes(keyName)) usage(`--prune ${keyName} would delete the key being set`);

    const site = siteId.split("/").pop();
    try {
        functionKeyUrl(armEndpoint, siteId, functionName, keyName);
        for (const other of prune) functionKeyUrl(armEndpoint, siteId, functionName, other);
        if (action === "set" && process.env.FUNCTION_KEY_VALUE !== undefined) assertFunctionKeyValue(process.env.FUNCTION_KEY_VALUE);
    } catch (err) {
        console.error(`function-key: ${(err as Error).message}`);
        process.exit(1);
    }
    const request = { armEndpoint, siteId, functionName, keyName, token: await token() };
    if (action === "set") {
        const outcome = await setFunctionKey({ ...request, value: process.env.FUNCTION_KEY_VALUE ?? generateFunctionKey() });
        console.log(`function key ${keyName} ${outcome} on ${site}/${functionName}`);
        for (const other of prune) {
            console.log(`function key ${other} ${await deleteFunctionKey({ ...request, keyName: other })} on ${site}/${functionName}`);
        }
    } else {
        console.log(`function key ${keyName} ${await deleteFunctionKey(request)} on ${site}/${functionName}`);
    }
}

main().catch((err: unknown) => {
    console.error(`function-key failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
});
