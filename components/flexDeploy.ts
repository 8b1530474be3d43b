import { createHash } from "node:crypto";
import * as fs from "node:fs";

/**
 * Code deployment for Flex Consumption from `pulumi up`.
 *
 * Flex apps take code through "one deploy": POST the zip to the app's SCM endpoint `/api/publish` with
 * `RemoteBuild=false` and an Entra token for Azure Resource Manager (basic-auth publishing is off). The platform then
 * stores the package in the `functionAppConfig.deployment.storage` container and restarts the app. This is what
 * Microsoft's own deployers do for Flex: Azure/functions-action `OneDeployFlex` → `deployUsingOneDeployFlex`
 * (`remoteBuild=…&deployer=…`) and the Azure Pipelines AzureFunctionApp task (`oneDeployFlex`).
 *
 * `pulumi up` runs this through a `command:local:Command` (tools/deploy-function.ts) on the deploy runner, which sits in
 * a VNet peered with the platform's (deployerAccess.ts): the SCM endpoint is private.
 *
 * Why not ARM `Microsoft.Web/sites/extensions/onedeploy` with a `packageUri`: the package would have to sit in a blob
 * the platform can fetch, and azure-native's `storage.Blob` needs shared-key access (pulumi/pulumi-azure-native#2015),
 * which the platform's storage policy forbids (st-no-shared-key, st-network-default-deny).
 */

export interface PublishRequest {
    /** `https://<app>.scm.azurewebsites.net/api/publish?...` */
    publishUrl: string;
    zipPath: string;
    /** Expected SHA-256 of the zip: refuses to ship a different build than the one planned. */
    sha256: string;
    /** Entra access token for https://management.azure.com. */
    token: string;
    /** Give up polling the deployment after this long (default 15 min). */
    timeoutMs?: number;
    /** Poll interval for asynchronous deployments (default 5 s). */
    pollMs?: number;
}

export interface PublishResult {
    status: number;
    deploymentId?: string;
}

/** The Flex one-deploy endpoint of a site's SCM host. */
export function publishUrlFor(scmHostName: string): string {
    if (!/^[a-z0-9-]+\.scm\.[a-z0-9.-]+$/i.test(scmHostName)) throw new Error(`"${scmHostName}" is not an SCM host name`);
    return `https://${scmHostName}/api/publish?RemoteBuild=false&Deployer=pulumi`;
}

/** Reads the zip and refuses it unless it is the build the plan deploys (same SHA-256). */
export function readPlannedZip(zipPath: string, sha256: string): Buffer {
    const body = fs.readFileSync(zipPath);
    const actual = createHash("sha256").update(body).digest("hex");
    if (actual !== sha256) {
        throw new Error(`${zipPath} changed since the plan (sha256 ${actual.slice(0, 12)}… ≠ ${sha256.slice(0, 12)}…): rebuild and re-run pulumi up`);
    }
    return body;
}

/** Uploads the zip and waits until the platform reports the deployment finished. */
export async function publishZip(req: PublishRequest): Promise<PublishResult> {
    const body = readPlannedZip(req.zipPath, req.sha256);
    const headers = { Authorization: `Bearer ${req.token}` };
    const res = await fetch(req.publishUrl, { method: "POST", headers: { ...headers, "Content-Type": "application/zip" }, body });
    if (res.status !== 200 && res.status !== 202) {
        const text = (await res.text()).slice(0, 300);
        throw new Error(`one deploy to ${new URL(req.publishUrl).host} failed: HTTP ${res.status} ${text}`);
    }
    const location = res.headers.get("location");
    if (res.status === 200 || !location) return { status: res.status, deploymentId: res.headers.get("scm-deployment-id") ?? undefined };

    // 202: Kudu deployment record; status 4 = success, 3 = failed (Kudu DeployStatus).
    const deadline = Date.now() + (req.timeoutMs ?? 15 * 60_000);
    const statusUrl = new URL(location, req.publishUrl).toString();
    for (;;) {
        await new Promise((r) => setTimeout(r, req.pollMs ?? 5000));
        const poll = await fetch(statusUrl, { headers });
        if (poll.status === 200) {
            const record = (await poll.json()) as { id?: string; status?: number; complete?: boolean; status_text?: string };
            if (record.status === 3) throw new Error(`one deploy ${record.id ?? ""} failed: ${record.status_text ?? "see the app's deployment log"}`);
            if (record.complete || record.status === 4) return { status: 200, deploymentId: record.id };
        } else if (poll.status !== 202) {
            throw new Error(`one deploy status check returned HTTP ${poll.status}`);
        }
        if (Date.now() > deadline) throw new Error(`one deploy did not finish within ${(req.timeoutMs ?? 900_000) / 60_000} min`);
    }
}
