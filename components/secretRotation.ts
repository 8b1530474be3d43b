import { createHash } from "node:crypto";

/**
 * Time-bucketed rotation for client secrets, driven by `pulumi up` alone (no scheduler): two password slots that
 * renew on alternate periods, so the previous secret stays valid for a full period after a new one is issued and
 * senders can switch over without an outage.
 *
 *   period n:     0      1      2      3      4
 *   slot a:      [new ........][new ........][new
 *   slot b:   ........][new ........][new ........]
 *   current:      a      b      a      b      a
 */

export type Slot = "a" | "b";

export interface SlotSchedule {
    /** Changes exactly when the slot must be replaced; fed to `rotateWhenChanged`. */
    keeper: string;
    /** Start of the period in which this slot was (re)issued. */
    issued: Date;
    /** Password expiry: two periods after issue plus one day of grace. */
    expires: Date;
}

export interface RotationSchedule {
    periodDays: number;
    /** Index of the current period since 1970-01-01. */
    period: number;
    /** The slot issued most recently: its value is the one published to Key Vault. */
    current: Slot;
    slots: Record<Slot, SlotSchedule>;
}

const DAY_MS = 86_400_000;
export const GRACE_DAYS = 1;
/**
 * The longest gap between two `pulumi up` runs: deploy.yml also runs weekly on a schedule. A rotation period at least
 * this long guarantees that the secret published in Key Vault never expires before the next run replaces it: it
 * expires at least one period plus a day after the run that published it (test/infra/entraId.spec.ts proves it).
 */
export const SCHEDULED_DEPLOY_INTERVAL_DAYS = 7;

export function rotationSchedule(now: Date, periodDays: number): RotationSchedule {
    if (!Number.isInteger(periodDays) || periodDays < 1) throw new Error(`rotation period must be a positive whole number of days, got ${periodDays}`);
    if (Number.isNaN(now.getTime())) throw new Error("rotation schedule needs a valid date");
    const day = Math.floor(now.getTime() / DAY_MS);
    const period = Math.floor(day / periodDays);
    // Slot a is issued at even periods, slot b at odd ones.
    const issuedPeriod: Record<Slot, number> = {
        a: period % 2 === 0 ? period : period - 1,
        b: period % 2 === 0 ? period - 1 : period,
    };
    const slot = (s: Slot): SlotSchedule => {
        const issued = new Date(issuedPeriod[s] * periodDays * DAY_MS);
        return {
            keeper: `p${periodDays}d-${issuedPeriod[s]}`,
            issued,
            expires: new Date(issued.getTime() + (2 * periodDays + GRACE_DAYS) * DAY_MS),
        };
    };
    return { periodDays, period, current: period % 2 === 0 ? "a" : "b", slots: { a: slot("a"), b: slot("b") } };
}

/** A stable UUID (v5-shaped) for a name, used for app role and scope ids that must not change between runs. */
export function stableUuid(name: string): string {
    const h = createHash("sha1").update(`fhir-platform/${name}`).digest("hex");
    const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
