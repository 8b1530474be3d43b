import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import { deployerRoleActions, LOCK_ROLE_ACTIONS, nameUuid, PLATFORM_INVOKE_ACTIONS, SECRETS_DECRYPT_DATA_ACTIONS } from "./access";

export interface CustomRolesArgs {
    /** Where the definitions live (the bootstrap's subscription). */
    subscriptionId: pulumi.Input<string>;
    /** Every subscription the roles are assigned in: the bootstrap's and each environment's. */
    assignableSubscriptionIds: pulumi.Input<string>[];
    namePrefix: string;
}

export interface CustomRole {
    definition: authorization.RoleDefinition;
    /** The role definition's GUID (its ARM name): deterministic, so assignments get deterministic names. */
    guid: pulumi.Output<string>;
}

/**
 * The three custom roles the bootstrap needs because no built-in role is narrow enough, assignable only in this
 * subscription. Names and GUIDs include the subscription: custom role names are unique per tenant.
 */
export class CustomRoles extends pulumi.ComponentResource {
    /** Create the platform's resources: its resource providers only (see PLATFORM_RESOURCE_PROVIDERS). */
    public readonly deployer: CustomRole;
    /** Create and delete management locks (prod's vault, FHIR and storage locks). */
    public readonly locks: CustomRole;
    /** Read and decrypt with a secrets-provider key (the preview identity). */
    public readonly secretsDecrypt: CustomRole;
    /** The POST actions of the invokes a preview runs (Reader has none). */
    public readonly previewInvokes: CustomRole;

    constructor(name: string, args: CustomRolesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:bootstrap:CustomRoles", name, {}, opts);
        const scope = pulumi.interpolate`/subscriptions/${args.subscriptionId}`;
        // Creating them needs roleDefinitions/write on every assignable scope: the operator is Owner of each subscription.
        const assignableScopes = pulumi.all(args.assignableSubscriptionIds).apply((subs) => [...new Set(subs.map((s) => s.toLowerCase()))].map((s) => `/subscriptions/${s}`));
        const role = (key: string, title: string, description: string, permission: { actions?: string[]; dataActions?: string[] }): CustomRole => {
            const guid = pulumi.output(args.subscriptionId).apply((sub) => nameUuid("fhir-platform-bootstrap", args.namePrefix, key, sub));
            const definition = new authorization.RoleDefinition(`${name}-${key}`, {
                roleDefinitionId: guid,
                scope,
                roleName: pulumi.interpolate`${title} (${args.namePrefix}, ${args.subscriptionId})`,
                description,
                roleType: "CustomRole",
                permissions: [{ actions: permission.actions ?? [], notActions: [], dataActions: permission.dataActions ?? [], notDataActions: [] }],
                assignableScopes,
            }, { parent: this });
            // The definition's own output, so every assignment of the role waits for it to exist.
            return { definition, guid: definition.name };
        };

        this.deployer = role("deployer", "FHIR platform deployer",
            "Creates the FHIR platform's resources (its resource providers only). Role assignments and locks are separate, narrower grants.",
            { actions: deployerRoleActions() });
        this.locks = role("locks", "FHIR platform lock operator",
            "Creates and removes management locks; among built-ins only Owner and User Access Administrator can.",
            { actions: [...LOCK_ROLE_ACTIONS] });
        this.secretsDecrypt = role("secrets-decrypt", "FHIR platform secrets-provider reader",
            "Reads a Pulumi secrets-provider key and decrypts with it; cannot encrypt, sign or manage keys.",
            { actions: ["Microsoft.KeyVault/vaults/read"], dataActions: [...SECRETS_DECRYPT_DATA_ACTIONS] });

        this.previewInvokes = role("preview-invokes", "FHIR platform preview invokes",
            "The list* actions the platform program's data sources call during pulumi preview; Reader covers the rest.",
            { actions: [...new Set(Object.values(PLATFORM_INVOKE_ACTIONS))].sort() });

        this.registerOutputs({ deployerRoleId: this.deployer.definition.id, lockRoleId: this.locks.definition.id });
    }
}
