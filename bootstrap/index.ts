// The bootstrap program: run once per subscription by an Owner (plus an Entra Privileged Role Administrator for the
// Graph grants) before the platform's first `pulumi up`. It validates its config first (nothing is declared if it is
// invalid), then declares the state backend, the secrets provider, the runner networks and the two GitHub identities
// per environment. Module exports are the stack outputs: identifiers and URLs only, never a secret.
import * as azuread from "@pulumi/azuread";
import * as authorization from "@pulumi/azure-native/authorization";
import * as resources from "@pulumi/azure-native/resources";
import * as random from "@pulumi/random";
import { BOOTSTRAP_ROLES, DEPLOYER_GRAPH_PERMISSIONS, MICROSOFT_GRAPH_APP_ID, PREVIEW_GRAPH_PERMISSIONS } from "./access";
import { assignRole } from "./assign";
import { BootstrapAudit } from "./audit";
import { loadBootstrapConfig } from "./config";
import { CustomRoles } from "./customRoles";
import { RunnerFlowLogs } from "./flowLogs";
import { EnvironmentIdentities } from "./identities";
import { RunnerNetwork } from "./runnerNetwork";
import { SecretsProvider } from "./secretsProvider";
import { StateStore } from "./stateStore";

const config = loadBootstrapConfig();
const client = authorization.getClientConfigOutput();
const { location, namePrefix, tags } = config;

const group = new resources.ResourceGroup("bootstrap-rg", {
    resourceGroupName: `rg-${namePrefix}-bootstrap-${location}`,
    location,
    tags,
}, { protect: true });
const resourceGroupName = group.name;

// State account and vault names are global; the suffix lives in this stack's state, so it is stable.
const globalSuffix = new random.RandomString("bootstrap-suffix", { length: 5, lower: true, upper: false, numeric: true, special: false }).result;

const audit = new BootstrapAudit("audit", { namePrefix, resourceGroupName, location, tags });

const runners = Object.fromEntries(config.environments.map((env) => [env.name, new RunnerNetwork(`runners-${env.name}`, {
    environment: env.name, namePrefix, resourceGroupName, location, tags,
    addressSpace: env.runnerAddressSpace,
    githubDatabaseId: config.githubDatabaseId,
    audit,
})]));

new RunnerFlowLogs("flowlogs", {
    namePrefix, globalSuffix, resourceGroupName, location, tags, audit,
    subscriptionId: client.subscriptionId,
    vnets: Object.fromEntries(Object.entries(runners).map(([env, r]) => [env, r.vnet])),
    rbacPropagationSeconds: config.rbacPropagationSeconds,
});

const placement = {
    namePrefix, globalSuffix, resourceGroupName, location, tags, audit,
    environments: config.environments.map((e) => e.name),
    allowedIpRanges: config.allowedIpRanges,
    runnerSubnetIds: Object.values(runners).map((r) => r.subnet.id),
};
// With Pulumi Cloud as the backend there is no state account (bootstrap/README.md); the secrets provider stays.
const state = config.stateBackend === "azureBlob" ? new StateStore("state", { ...placement, retentionDays: config.stateRetentionDays }) : undefined;
const secrets = new SecretsProvider("secrets", {
    ...placement,
    tenantId: client.tenantId,
    subscriptionId: client.subscriptionId,
    // The bootstrap runs as a person (Owner); a pipeline running it would set ARM_CLIENT_ID and be a service principal.
    operator: { objectId: client.objectId, principalType: process.env.ARM_CLIENT_ID ? "ServicePrincipal" : "User" },
    rbacPropagationSeconds: config.rbacPropagationSeconds,
    // Midnight UTC: plans made the same day agree on the keys' expiry.
    now: new Date(new Date().setUTCHours(0, 0, 0, 0)),
});

/** The subscription each environment's platform stack deploys to (the bootstrap's own unless configured). */
const targetSubscription = (env: { subscriptionId?: string }) => env.subscriptionId ?? client.subscriptionId;

const customRoles = new CustomRoles("roles", {
    subscriptionId: client.subscriptionId,
    namePrefix,
    assignableSubscriptionIds: [client.subscriptionId, ...config.environments.map(targetSubscription)],
});

// Microsoft Graph's service principal in this tenant: the resource its application permissions are assigned on.
const graph = config.grantGraphPermissions ? azuread.getServicePrincipalOutput({ clientId: MICROSOFT_GRAPH_APP_ID }) : undefined;

const identities = Object.fromEntries(config.environments.map((env) => [env.name, new EnvironmentIdentities(`github-${env.name}`, {
    environment: env.name, namePrefix, resourceGroupName, location, tags,
    subscriptionId: client.subscriptionId,
    targetSubscriptionId: targetSubscription(env),
    githubRepository: config.githubRepository,
    customRoles,
    stateContainerId: state?.containers[env.name].id,
    secretsKeyId: secrets.keys[env.name].id,
    runnerVnetId: runners[env.name].vnet.id,
    graph,
})]));

// People who run the platform stacks by hand (first `pulumi stack init`, break-glass): state and secrets only.
if (config.operatorGroupObjectId) {
    for (const env of config.environments) {
        const principal = { principalId: config.operatorGroupObjectId, principalType: "Group" as const, subscriptionId: client.subscriptionId };
        if (state) assignRole(`operators-state-${env.name}`, { ...principal, scope: state.containers[env.name].id, roleGuid: BOOTSTRAP_ROLES.storageBlobDataContributor, description: `Operators: ${env.name} state` }, {});
        assignRole(`operators-secrets-${env.name}`, { ...principal, scope: secrets.keys[env.name].id, roleGuid: BOOTSTRAP_ROLES.keyVaultCryptoUser, description: `Operators: ${env.name} secrets provider` }, {});
    }
}

/**
 * What the workflows and README ask for, under the variable names to set. Deploy jobs are bound to the GitHub
 * environment `<env>`, whose variables override repository variables of the same name; PR preview jobs have no
 * environment (their OIDC subject is `:pull_request`), so their per-stack values are repository variables with an
 * `_<ENV>` suffix.
 */
export const tenantId = client.tenantId;
export const subscriptionId = client.subscriptionId;
export const stateBackend = config.stateBackend;
export const stateStorageAccount = state?.account.name;
export const secretsVaultUri = secrets.vault.properties.vaultUri;
const environmentVariables = (env: (typeof config.environments)[number], kind: "deploy" | "preview") => ({
    AZURE_CLIENT_ID: identities[env.name][kind].clientId,
    AZURE_TENANT_ID: client.tenantId,
    AZURE_SUBSCRIPTION_ID: targetSubscription(env),
    // With Pulumi Cloud the workflows keep their default backend (PULUMI_ACCESS_TOKEN or Pulumi OIDC).
    ...(state ? { PULUMI_BACKEND_URL: state.backendUrl(env.name) } : {}),
    PULUMI_SECRETS_PROVIDER: secrets.url(env.name),
});
/** Per GitHub environment: `<env>` (the deploying identity) and `<env>-preview` (the release preview, read-only). */
export const githubEnvironmentVariables = Object.fromEntries(config.environments.flatMap((env) => [
    [env.name, environmentVariables(env, "deploy")],
    [`${env.name}-preview`, environmentVariables(env, "preview")],
]));
export const githubRepositoryVariables = Object.fromEntries([
    ["AZURE_TENANT_ID", client.tenantId],
    ...config.environments.flatMap((env) => {
        const suffix = env.name.toUpperCase();
        return [
            [`AZURE_PREVIEW_CLIENT_ID_${suffix}`, identities[env.name].preview.clientId],
            [`AZURE_SUBSCRIPTION_ID_${suffix}`, targetSubscription(env)],
            ...(state ? [[`PULUMI_BACKEND_URL_${suffix}`, state.backendUrl(env.name)]] : []),
        ];
    }),
]);
/** The subjects the federated credentials trust: the workflows' jobs must produce exactly these. */
export const federatedSubjects = Object.fromEntries(config.environments.map((env) => [env.name, identities[env.name].subjects]));
/** Each platform stack's `deployer` settings (components/deployerAccess.ts peers with this VNet). */
export const runnerNetworks = Object.fromEntries(config.environments.map((env) => [env.name, {
    virtualNetworkId: runners[env.name].vnet.id,
    addressPrefix: env.runnerAddressSpace,
    subnetId: runners[env.name].subnet.id,
    ...(runners[env.name].networkSettingsId ? { githubNetworkSettingsId: runners[env.name].networkSettingsId } : {}),
}]));
/** Graph application permissions; when not granted here, a Privileged Role Administrator grants exactly these. */
export const graphPermissions = {
    granted: config.grantGraphPermissions,
    deploy: [...DEPLOYER_GRAPH_PERMISSIONS],
    preview: [...PREVIEW_GRAPH_PERMISSIONS],
};
export const customRoleIds = {
    deployer: customRoles.deployer.definition.id,
    locks: customRoles.locks.definition.id,
    secretsDecrypt: customRoles.secretsDecrypt.definition.id,
    previewInvokes: customRoles.previewInvokes.definition.id,
};
