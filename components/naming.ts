/**
 * Resource naming. Names follow the Cloud Adoption Framework abbreviations (`kv-`, `vnet-`, `snet-` ...) and each
 * service's own length and character rules; globally unique names take a stable random suffix so a soft-deleted
 * vault or a name taken in another tenant never blocks a deployment.
 */

export interface NamingContext {
    /** Short lowercase product prefix, e.g. `fhirp`. */
    readonly prefix: string;
    /** Environment name, e.g. `dev` or `prod`. */
    readonly environment: string;
}

/** `<abbr>-<prefix>-<env>[-<qualifier>]`, for names that only need to be unique in their resource group. */
export function resourceName(ctx: NamingContext, abbreviation: string, qualifier?: string): string {
    return [abbreviation, ctx.prefix, ctx.environment, qualifier].filter(Boolean).join("-");
}

/**
 * A globally unique name with only lowercase letters and digits (storage accounts, AHDS workspaces), truncated so
 * the random suffix always survives: `<abbr><prefix><env><suffix>` cut to `maxLength`.
 */
export function compactGlobalName(ctx: NamingContext, abbreviation: string, suffix: string, maxLength = 24): string {
    const head = `${abbreviation}${ctx.prefix}${ctx.environment}`.replace(/[^a-z0-9]/g, "");
    return head.slice(0, Math.max(0, maxLength - suffix.length)) + suffix;
}

/** Key Vault names: 3–24 characters, letters, digits and hyphens, starting with a letter, no double hyphen. */
export function keyVaultName(ctx: NamingContext, suffix: string): string {
    const head = `kv-${ctx.prefix}-${ctx.environment}-`;
    return head.slice(0, 24 - suffix.length) + suffix;
}

/** Length of the random suffix shared by every globally unique name of a stack. */
export const GLOBAL_SUFFIX_LENGTH = 5;
