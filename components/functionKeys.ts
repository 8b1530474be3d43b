import { randomBytes } from "node:crypto";
import { rotationSchedule, Slot } from "./secretRotation";

/**
 * The function key API Management presents to the HL7 ingestion Function, rotated by `pulumi up` on the same two-slot
 * schedule as the HL7 sender's secret (secretRotation.ts): slot keys `apim-a` and `apim-b` on the `hl7` function only
 * (a function key, not a host key, so it opens nothing else), each reissued on alternate periods. Key Vault holds the
 * newest; the other stays valid one more period, far longer than APIM's 4-hour Key Vault refresh, so a rotation never
 * locks the gateway out. `generation` (config `apim.functionKeyGeneration`) is bumped by the revocation runbook to
 * reissue both slots at once.
 *
 * The keys are set through ARM (Web Apps - Create Or Update Function Secret, PUT
 * `{site}/functions/{function}/keys/{key}`, body `{name, value}`; Learn REST reference for Microsoft.Web) by
 * tools/function-key.ts, as the deployer, from the deploy runner: ARM forwards the call to the Function host, which
 * is private.
 */

/** The ARM API version used for function secrets (Microsoft.Web stable). */
export const FUNCTION_SECRETS_API_VERSION = "2024-04-01";
export const HL7_FUNCTION_NAME = "hl7";
/** The key the runtime creates by itself when a function has none; removed so only rotated keys open the function. */
export const RUNTIME_DEFAULT_KEY = "default";

export interface FunctionKeySlot {
    keyName: string;
    /** Changes exactly when this slot must get a new value. */
    keeper: string;
    /** Expiry stamped on the Key Vault copy when this slot is the current one. */
    expires: Date;
}

export interface FunctionKeyRotation {
    current: Slot;
    slots: Record<Slot, FunctionKeySlot>;
}

export function functionKeyRotation(now: Date, periodDays: number, generation: number): FunctionKeyRotation {
    if (!Number.isInteger(generation) || generation < 0) throw new Error(`function key generation must be a whole number ≥ 0, got ${generation}`);
    const schedule = rotationSchedule(now, periodDays);
    const slot = (s: Slot): FunctionKeySlot => ({
        keyName: `apim-${s}`,
        keeper: `${schedule.slots[s].keeper}-g${generation}`,
        expires: schedule.slots[s].expires,
    });
    return { current: schedule.current, slots: { a: slot("a"), b: slot("b") } };
}

const SITE_ID = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Web\/sites\/[^/]+$/i;
const KEY_OR_FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The ARM URL of one function key. */
export function functionKeyUrl(armEndpoint: string, siteId: string, functionName: string, keyName: string): string {
    if (!SITE_ID.test(siteId)) throw new Error(`"${siteId}" is not a Microsoft.Web/sites resource id`);
    for (const [what, value] of [["function", functionName], ["key", keyName]] as const) {
        if (!KEY_OR_FUNCTION_NAME.test(value)) throw new Error(`"${value}" is not a valid ${what} name`);
    }
    const base = new URL(armEndpoint);
    const loopback = base.hostname === "127.0.0.1" || base.hostname === "localhost";
    if (base.protocol !== "https:" && !loopback) throw new Error(`ARM endpoint ${armEndpoint} must be https`);
    return `${base.origin}${siteId}/functions/${functionName}/keys/${keyName}?api-version=${FUNCTION_SECRETS_API_VERSION}`;
}

/** At least 32 URL-safe characters: the runtime's own keys are 56, and a key travels in a header and a query string. */
export function assertFunctionKeyValue(value: string | undefined): asserts value is string {
    if (!value || !/^[A-Za-z0-9_-]{32,128}$/.test(value)) {
        throw new Error("the key value must be 32–128 characters of A-Z, a-z, 0-9, '_' or '-' (it is not printed)");
    }
}

/** 42 random bytes as base64url: 56 characters, the length of the runtime's own keys. */
export function generateFunctionKey(): string {
    return randomBytes(42).toString("base64url");
}

export interface FunctionKeyRequest {
    armEndpoint: string;
    siteId: string;
    functionName: string;
    keyName: string;
    /** Entra access token for Azure Resource Manager. */
    token: string;
}

async function armError(res: Response): Promise<string> {
    const text = await res.text().catch(() => "");
    try {
        const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
        if (body.error?.code) return `${res.status} ${body.error.code}`;
    } catch {
        /* not JSON */
    }
    return `${res.status} ${res.statusText}`;
}

/**
 * Statuses worth waiting out when setting a key: right after a code deployment the host restarts and indexes its
 * functions, and until then ARM answers 404 (function not found) or 409/5xx for `functions/{name}/keys`; 429 is
 * ARM throttling.
 */
export const FUNCTION_KEY_RETRY_STATUSES: readonly number[] = [404, 409, 429, 500, 502, 503, 504];

/** Sets a function key to `value`, waiting out a host that is still starting; never echoes the value. */
export async function setFunctionKey(
    req: FunctionKeyRequest & { value: string; attempts?: number; retryDelayMs?: number; sleep?: (ms: number) => Promise<void> },
): Promise<"created" | "updated"> {
    assertFunctionKeyValue(req.value);
    const url = functionKeyUrl(req.armEndpoint, req.siteId, req.functionName, req.keyName);
    const attempts = req.attempts ?? 12;
    const sleep = req.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    for (let attempt = 1; ; attempt++) {
        const res = await fetch(url, {
            method: "PUT",
            headers: { Authorization: `Bearer ${req.token}`, "Content-Type": "application/json" },
            body: JSON.stringify({ name: req.keyName, value: req.value }),
        });
        if (res.status === 200 || res.status === 201) {
            await res.body?.cancel();
            return res.status === 201 ? "created" : "updated";
        }
        const error = await armError(res);
        if (!FUNCTION_KEY_RETRY_STATUSES.includes(res.status) || attempt >= attempts) {
            throw new Error(`setting function key ${req.keyName} failed after ${attempt} attempt(s): ${error}`);
        }
        // About three minutes in all by default: a Flex app restarts in well under that.
        await sleep(Math.min(req.retryDelayMs ?? 5_000 * attempt, 30_000));
    }
}

/** Deletes a function key; a key that is already gone is fine. */
export async function deleteFunctionKey(req: FunctionKeyRequest): Promise<"deleted" | "absent"> {
    const url = functionKeyUrl(req.armEndpoint, req.siteId, req.functionName, req.keyName);
    const res = await fetch(url, { method: "DELETE", headers: { Authorization: `Bearer ${req.token}` } });
    if (res.status === 404) return "absent";
    if (res.status !== 200 && res.status !== 204) throw new Error(`deleting function key ${req.keyName} failed: ${await armError(res)}`);
    await res.body?.cancel();
    return "deleted";
}

/** APIM API version for refreshing a Key Vault named value (Named Value - Refresh Secret, 2021-08-01 and later). */
export const APIM_NAMED_VALUE_API_VERSION = "2022-08-01";
const APIM_ID = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ApiManagement\/service\/[^/]+$/i;

/** The ARM URL that makes APIM re-read a Key Vault named value now instead of within its 4-hour refresh. */
export function namedValueRefreshUrl(armEndpoint: string, apimId: string, namedValueId: string): string {
    if (!APIM_ID.test(apimId)) throw new Error(`"${apimId}" is not a Microsoft.ApiManagement/service resource id`);
    if (!KEY_OR_FUNCTION_NAME.test(namedValueId)) throw new Error(`"${namedValueId}" is not a valid named value id`);
    const base = new URL(functionKeyUrl(armEndpoint, "/subscriptions/x/resourceGroups/x/providers/Microsoft.Web/sites/x", "x", "x"));
    return `${base.origin}${apimId}/namedValues/${namedValueId}/refreshSecret?api-version=${APIM_NAMED_VALUE_API_VERSION}`;
}

/** Asks APIM to re-read a Key Vault named value; 202 means accepted (APIM finishes within seconds). */
export async function refreshNamedValue(req: { armEndpoint: string; apimId: string; namedValueId: string; token: string }): Promise<number> {
    const url = namedValueRefreshUrl(req.armEndpoint, req.apimId, req.namedValueId);
    const res = await fetch(url, { method: "POST", headers: { Authorization: `Bearer ${req.token}` } });
    if (res.status !== 200 && res.status !== 202) throw new Error(`refreshing named value ${req.namedValueId} failed: ${await armError(res)}`);
    await res.body?.cancel();
    return res.status;
}
