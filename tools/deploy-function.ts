// Publishes the Function bundle to a Flex Consumption app's one-deploy endpoint. `pulumi up` runs it (command:local:
// Command in components/functionApp.ts) on the deploy runner, whose VNet is peered with the platform's; it can also be
// run by hand from there:
//   node -r ./tools/ts-register.js tools/deploy-function.ts --publish-url <url> --zip <path> --sha256 <hex>
// Each flag falls back to the environment variable the program sets (FUNCTION_PUBLISH_URL, FUNCTION_ZIP,
// FUNCTION_ZIP_SHA256). The token is the deployer's own (DefaultAzureCredential: the workflow's Azure CLI login).
import { parseArgs } from "node:util";
import { publishZip, readPlannedZip } from "../components/flexDeploy";

const USAGE = "usage: deploy-function --publish-url <https://<app>.scm.../api/publish?...> --zip <file> --sha256 <hex> [--timeout-minutes n]";

function usage(message: string): never {
    console.error(`deploy-function: ${message}\n${USAGE}`);
    process.exit(2);
}

async function main(): Promise<void> {
    let values;
    try {
        ({ values } = parseArgs({
            options: {
                "publish-url": { type: "string" },
                zip: { type: "string" },
                sha256: { type: "string" },
                "timeout-minutes": { type: "string" },
                help: { type: "boolean", short: "h" },
            },
            strict: true,
        }));
    } catch (err) {
        usage((err as Error).message);
    }
    if (values.help) {
        console.log(USAGE);
        return;
    }
    const publishUrl = values["publish-url"] ?? process.env.FUNCTION_PUBLISH_URL;
    const zipPath = values.zip ?? process.env.FUNCTION_ZIP;
    const sha256 = values.sha256 ?? process.env.FUNCTION_ZIP_SHA256;
    if (!publishUrl || !zipPath || !sha256) usage("--publish-url, --zip and --sha256 are required");
    const timeoutMinutes = Number(values["timeout-minutes"] ?? 15);
    if (!Number.isFinite(timeoutMinutes) || timeoutMinutes <= 0) usage("--timeout-minutes must be a positive number");

    try {
        new URL(publishUrl);
    } catch {
        usage(`--publish-url "${publishUrl}" is not a URL`);
    }
    // Refuse a different build before asking for a token: nothing leaves the machine for a stale zip.
    readPlannedZip(zipPath, sha256);
    // Loaded here so --help and usage errors stay instant.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { DefaultAzureCredential } = require("@azure/identity") as typeof import("@azure/identity");
    const token = await new DefaultAzureCredential().getToken("https://management.azure.com/.default");
    const result = await publishZip({ publishUrl, zipPath, sha256, token: token.token, timeoutMs: timeoutMinutes * 60_000 });
    console.log(`deployed ${sha256.slice(0, 12)}… to ${new URL(publishUrl).host}${result.deploymentId ? ` (deployment ${result.deploymentId})` : ""}`);
}

main().catch((err: unknown) => {
    console.error(`deploy-function failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
});
