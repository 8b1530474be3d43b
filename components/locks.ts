import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";

/** One name for every lock the platform sets, so runbooks and the policy pack can find them. */
export const DELETE_LOCK_NAME = "platform-cannot-delete";

/**
 * A CanNotDelete lock on one resource. Creating it needs `Microsoft.Authorization/locks/*`, which among built-in roles
 * only Owner and User Access Administrator hold (Learn, "Lock your resources"); the bootstrap gives the deploying
 * identity a custom role with exactly that instead.
 */
export function deleteLock(name: string, scope: pulumi.Input<string>, notes: string, opts: pulumi.CustomResourceOptions): authorization.ManagementLockByScope {
    return new authorization.ManagementLockByScope(name, {
        lockName: DELETE_LOCK_NAME,
        scope,
        level: "CanNotDelete",
        notes,
    }, opts);
}
