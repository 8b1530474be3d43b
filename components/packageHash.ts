import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** Where `npm run build:app` writes the Function bundle (app/build.ts, ZIP_PATH). */
export const DEFAULT_FUNCTION_ZIP = path.resolve(__dirname, "..", "app", "dist", "ingest-function.zip");

/** Environment override for the bundle path (tests and CI that build elsewhere). */
export const FUNCTION_ZIP_ENV = "INGEST_FUNCTION_ZIP";

export interface FunctionPackage {
    /** Absolute path of the zip on the deployer's machine. */
    path: string;
    /** Lowercase hex SHA-256 of the zip bytes. */
    sha256: string;
    /** Size in bytes. */
    bytes: number;
    /** Blob name carrying the hash, so a code change is a new blob (and a new deployment). */
    blobName: string;
}

/** The zip's local path: explicit argument, then `INGEST_FUNCTION_ZIP`, then the build output. */
export function functionZipPath(explicit?: string): string {
    return path.resolve(explicit ?? process.env[FUNCTION_ZIP_ENV] ?? DEFAULT_FUNCTION_ZIP);
}

/**
 * Reads the Function bundle and names its blob after the content hash. Throws a message that names the build command
 * when the zip is missing or empty, because the plan and `pulumi up` cannot deploy code that was never built.
 */
export function readFunctionPackage(zipPath = functionZipPath()): FunctionPackage {
    if (!fs.existsSync(zipPath)) {
        throw new Error(`Function bundle ${zipPath} not found: run \`npm run build:app\` first (it writes app/dist/ingest-function.zip)`);
    }
    const bytes = fs.readFileSync(zipPath);
    // A zip starts with the local file header signature PK\x03\x04; anything else is not a deployable package.
    if (bytes.length < 4 || bytes.readUInt32LE(0) !== 0x04034b50) {
        throw new Error(`Function bundle ${zipPath} is not a zip archive: rebuild it with \`npm run build:app\``);
    }
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    return { path: zipPath, sha256, bytes: bytes.length, blobName: packageBlobName(sha256) };
}

/** `ingest-<first 16 hex of sha256>.zip`: 64 bits of hash is plenty to tell builds apart and keeps names short. */
export function packageBlobName(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`"${sha256}" is not a lowercase hex SHA-256`);
    return `ingest-${sha256.slice(0, 16)}.zip`;
}
