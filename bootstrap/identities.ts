import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import {
    BOOTSTRAP_ROLES, DEPLOYER_GRAPH_PERMISSIONS, GITHUB_OIDC_ISSUER, githubSubjects, platformAssignableRoleGuids,
    PREVIEW_GRAPH_PERMISSIONS, roleAssignmentCondition, TOKEN_EXCHANGE_AUDIENCE,
} from "./access";
import { assignRole } from "./assign";
import { CustomRoles } from "./customRoles";

export interface EnvironmentIdentitiesArgs {
    environment: string;
    namePrefix: string;
    resourceGroupName: pulumi.Input<string>;
    location: string;
    tags: Record<string, string>;
    /** The bootstrap's subscription (state, keys, runner VNet). */
    subscriptionId: pulumi.Input<string>;
    /** The subscription this environment's platform stack deploys to. */
    targetSubscriptionId: pulumi.Input<string>;
    githubRepository: string;
    customRoles: CustomRoles;
    /** This environment's state container (absent with Pulumi Cloud state) and secrets-provider key. */
    stateContainerId?: pulumi.Input<string>;
    secretsKeyId: pulumi.Input<string>;
    /** This environment's runner VNet, which the platform peers with. */
    runnerVnetId: pulumi.Input<string>;
    /** Microsoft Graph's service principal in this tenant; undefined when Graph grants are left to an administrator. */
    graph?: pulumi.Output<azuread.GetServicePrincipalResult>;
}

/**
 * The two GitHub identities of one environment, as user-assigned managed identities with federated credentials (no
 * client secret exists to leak or rotate):
 * - deploy: `pulumi up` from jobs bound to the GitHub environment (required reviewers on prod);
 * - preview: `pulumi preview` from pull requests, read-only everywhere.
 * Subscription-wide roles because the platform's resource group does not exist before its first `pulumi up`.
 */
export class EnvironmentIdentities extends pulumi.ComponentResource {
    public readonly deploy: managedidentity.UserAssignedIdentity;
    public readonly preview: managedidentity.UserAssignedIdentity;
    public readonly subjects: { deploy: string; preview: string; releasePreview: string };

    constructor(name: string, args: EnvironmentIdentitiesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:bootstrap:EnvironmentIdentities", name, {}, opts);
        const { environment: env, resourceGroupName, location, tags, subscriptionId } = args;
        const roles = args.customRoles;
        const target = args.targetSubscriptionId;
        const subscriptionScope = pulumi.interpolate`/subscriptions/${target}`;
        this.subjects = githubSubjects(args.githubRepository, env);

        const identity = (kind: "deploy" | "preview", subject: string) => {
            const id = new managedidentity.UserAssignedIdentity(`${name}-${kind}`, {
                resourceName: `id-${args.namePrefix}-${env}-github-${kind}`,
                resourceGroupName, location, tags: { ...tags, environment: env },
            }, { parent: this });
            new managedidentity.FederatedIdentityCredential(`${name}-${kind}-github`, {
                resourceName: id.name,
                resourceGroupName,
                federatedIdentityCredentialResourceName: `github-${kind}`,
                issuer: GITHUB_OIDC_ISSUER,
                subject,
                audiences: [TOKEN_EXCHANGE_AUDIENCE],
            }, { parent: this });
            return id;
        };
        this.deploy = identity("deploy", this.subjects.deploy);
        this.preview = identity("preview", this.subjects.preview);
        new managedidentity.FederatedIdentityCredential(`${name}-preview-release-github`, {
            resourceName: this.preview.name,
            resourceGroupName,
            federatedIdentityCredentialResourceName: "github-release-preview",
            issuer: GITHUB_OIDC_ISSUER,
            subject: this.subjects.releasePreview,
            audiences: [TOKEN_EXCHANGE_AUDIENCE],
        }, { parent: this });

        const sp = "ServicePrincipal" as const;
        // A role definition id names the subscription of its assignment's scope: the target one for subscription-wide
        // grants, the bootstrap's for its state, keys and runner VNets.
        const grantOn = (roleSubscription: pulumi.Input<string>) =>
            (key: string, principal: managedidentity.UserAssignedIdentity, scope: pulumi.Input<string>, roleGuid: pulumi.Input<string>, description: string, condition?: string) =>
                assignRole(`${name}-${key}`, {
                    scope, roleGuid, subscriptionId: roleSubscription,
                    principalId: principal.principalId, principalType: sp, description, condition,
                }, { parent: this });
        const grantTarget = grantOn(target);
        const grant = grantOn(subscriptionId);

        // Deploying identity: the platform's resources, its locks, its role assignments (conditioned), its state.
        grantTarget("deploy-resources", this.deploy, subscriptionScope, roles.deployer.guid, `GitHub ${env} deploy: create the platform's resources`);
        grantTarget("deploy-locks", this.deploy, subscriptionScope, roles.locks.guid, `GitHub ${env} deploy: prod deletion locks`);
        grantTarget("deploy-rbac", this.deploy, subscriptionScope, BOOTSTRAP_ROLES.roleBasedAccessControlAdministrator,
            `GitHub ${env} deploy: the platform's role assignments, only of the roles in components/roles.ts`,
            roleAssignmentCondition(platformAssignableRoleGuids()));
        if (args.stateContainerId) grant("deploy-state", this.deploy, args.stateContainerId, BOOTSTRAP_ROLES.storageBlobDataContributor, `GitHub ${env} deploy: read and write ${env} state`);
        grant("deploy-secrets", this.deploy, args.secretsKeyId, BOOTSTRAP_ROLES.keyVaultCryptoUser, `GitHub ${env} deploy: ${env} secrets provider`);
        grant("deploy-runner-network", this.deploy, args.runnerVnetId, BOOTSTRAP_ROLES.networkContributor, `GitHub ${env} deploy: peer the platform with the ${env} runner network`);

        // Preview identity: read-only control plane, key metadata, this environment's state and secrets.
        grantTarget("preview-reader", this.preview, subscriptionScope, BOOTSTRAP_ROLES.reader, `GitHub ${env} preview: read the platform`);
        grantTarget("preview-invokes", this.preview, subscriptionScope, roles.previewInvokes.guid, `GitHub ${env} preview: the platform's list* data sources`);
        grantTarget("preview-kv-reader", this.preview, subscriptionScope, BOOTSTRAP_ROLES.keyVaultReader, `GitHub ${env} preview: refresh Key Vault key metadata`);
        if (args.stateContainerId) grant("preview-state", this.preview, args.stateContainerId, BOOTSTRAP_ROLES.storageBlobDataReader, `GitHub ${env} preview: read ${env} state`);
        grant("preview-secrets", this.preview, args.secretsKeyId, roles.secretsDecrypt.guid, `GitHub ${env} preview: decrypt ${env} stack secrets`);

        if (args.graph) {
            const graph = args.graph;
            const appRole = (kind: string, principal: managedidentity.UserAssignedIdentity, permission: string) =>
                new azuread.AppRoleAssignment(`${name}-${kind}-graph-${permission.replace(/\./g, "-").toLowerCase()}`, {
                    appRoleId: graph.apply((g) => {
                        const id = g.appRoleIds[permission];
                        if (!id) throw new Error(`Microsoft Graph has no application permission ${permission}`);
                        return id;
                    }),
                    principalObjectId: principal.principalId,
                    resourceObjectId: graph.objectId,
                }, { parent: this });
            DEPLOYER_GRAPH_PERMISSIONS.forEach((p) => appRole("deploy", this.deploy, p));
            PREVIEW_GRAPH_PERMISSIONS.forEach((p) => appRole("preview", this.preview, p));
        }

        this.registerOutputs({ deployClientId: this.deploy.clientId, previewClientId: this.preview.clientId });
    }
}
