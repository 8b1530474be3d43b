import * as pulumi from "@pulumi/pulumi";
import * as time from "@pulumiverse/time";

/**
 * Azure RBAC changes take minutes to reach the data planes: Learn "Troubleshoot Azure RBAC" says up to 10 minutes,
 * Q&A threads report longer for some services, and AVM's Terraform Key Vault module sleeps between its grant and its
 * first key operation (`time_sleep.wait_for_rbac_before_key_operations`). Two minutes covers the common case; the
 * stack config can raise it.
 */
export const DEFAULT_RBAC_PROPAGATION_SECONDS = 120;
/** Below this a wait is a formality: the policy pack refuses it (rbac-propagation-wait). */
export const MIN_RBAC_PROPAGATION_SECONDS = 60;

/** `"120s"`: the duration format the time provider's Sleep takes. */
export function sleepDuration(seconds: number): string {
    if (!Number.isInteger(seconds) || seconds < MIN_RBAC_PROPAGATION_SECONDS) {
        throw new Error(`an RBAC propagation wait must be a whole number of seconds ≥ ${MIN_RBAC_PROPAGATION_SECONDS}, got ${seconds}`);
    }
    return `${seconds}s`;
}

export interface PropagationWaitArgs {
    /** The role assignments the next resource needs; the wait starts when all of them exist. */
    grants: pulumi.CustomResource[];
    /** Seconds to wait after the last grant is created. */
    seconds: number;
    /** What waits for it, shown in the plan and in `pulumi up` output. */
    reason: string;
}

/**
 * A `time:Sleep` between role assignments and their first data-plane use. Its triggers are the assignment ids, so a
 * replaced grant (new principal, new scope) waits again; an unchanged one never sleeps on later runs. Give the
 * returned resource to the user's `dependsOn`.
 */
export function rbacPropagationWait(name: string, args: PropagationWaitArgs, opts: pulumi.CustomResourceOptions): time.Sleep {
    if (args.grants.length === 0) throw new Error(`${name}: a propagation wait needs at least one grant to wait for`);
    const triggers: Record<string, pulumi.Input<string>> = { reason: args.reason };
    args.grants.forEach((grant, i) => (triggers[`grant${i}`] = grant.id));
    return new time.Sleep(name, {
        createDuration: sleepDuration(args.seconds),
        triggers,
    }, { ...opts, dependsOn: args.grants });
}
