import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

/**
 * Mock provider answers shaped like Azure's: ARM resource ids, versioned key URIs, identity principal ids, storage
 * endpoints. They are deterministic (derived from the resource's name), so two plans of the same program are equal
 * and the wiring between resources (which id flows into which input) is visible in the plan.
 */

/** Clearly fake tenant and subscription used by every offline plan. */
export const MOCK_TENANT_ID = "72f988bf-0000-4000-8000-00000000f00d";
export const MOCK_SUBSCRIPTION_ID = "5b1e2f7a-0000-4000-8000-0000000000aa";
export const MOCK_DEPLOYER_OBJECT_ID = "0d3b9a1e-0000-4000-8000-0000000000de";

export function mockGuid(seed: string): string {
    const h = createHash("sha256").update(seed).digest("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function hex(seed: string, length: number): string {
    return createHash("sha256").update(seed).digest("hex").slice(0, length);
}

type Inputs = Record<string, any>;

/** Microsoft Graph's application id, the same in every tenant. */
const MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";

/**
 * Published ids of the Graph application permissions (app roles) the programs look up by name; the same in every
 * tenant (Microsoft Graph permissions reference).
 */
const GRAPH_APP_ROLE_IDS: Record<string, string> = {
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    "Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    "Application.ReadWrite.OwnedBy": "18a4783c-866b-4cc7-a460-3d5e5662c884",
    "AppRoleAssignment.ReadWrite.All": "06b708a9-e830-4db3-a914-8e69da51d44f",
    "DelegatedPermissionGrant.ReadWrite.All": "8e8e4742-1d95-4f68-9d56-6ee75648c72a",
    "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
};

/**
 * ARM id templates per resource token. `{key}` is replaced by that input; the last segment falls back to the
 * Pulumi resource name when the input is absent (azure-native auto-naming).
 */
const ARM_PATHS: Record<string, string> = {
    "azure-native:network:VirtualNetwork": "Microsoft.Network/virtualNetworks/{virtualNetworkName}",
    "azure-native:network:Subnet": "Microsoft.Network/virtualNetworks/{virtualNetworkName}/subnets/{subnetName}",
    "azure-native:network:NetworkSecurityGroup": "Microsoft.Network/networkSecurityGroups/{networkSecurityGroupName}",
    "azure-native:network:PrivateEndpoint": "Microsoft.Network/privateEndpoints/{privateEndpointName}",
    "azure-native:network:PrivateDnsZoneGroup": "Microsoft.Network/privateEndpoints/{privateEndpointName}/privateDnsZoneGroups/{privateDnsZoneGroupName}",
    "azure-native:network:PublicIPAddress": "Microsoft.Network/publicIPAddresses/{publicIpAddressName}",
    "azure-native:network:RouteTable": "Microsoft.Network/routeTables/{routeTableName}",
    "azure-native:privatedns:PrivateZone": "Microsoft.Network/privateDnsZones/{privateZoneName}",
    "azure-native:privatedns:VirtualNetworkLink": "Microsoft.Network/privateDnsZones/{privateZoneName}/virtualNetworkLinks/{virtualNetworkLinkName}",
    "azure-native:privatedns:PrivateRecordSet": "Microsoft.Network/privateDnsZones/{privateZoneName}/{recordType}/{relativeRecordSetName}",
    "azure-native:operationalinsights:Workspace": "Microsoft.OperationalInsights/workspaces/{workspaceName}",
    "azure-native:applicationinsights:Component": "Microsoft.Insights/components/{resourceName}",
    "azure-native:monitor:ActionGroup": "Microsoft.Insights/actionGroups/{actionGroupName}",
    "azure-native:monitor:MetricAlert": "Microsoft.Insights/metricAlerts/{ruleName}",
    "azure-native:monitor:ScheduledQueryRule": "Microsoft.Insights/scheduledQueryRules/{ruleName}",
    "azure-native:managedidentity:UserAssignedIdentity": "Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}",
    "azure-native:managedidentity:FederatedIdentityCredential": "Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}/federatedIdentityCredentials/{federatedIdentityCredentialResourceName}",
    "azure-native:network:NatGateway": "Microsoft.Network/natGateways/{natGatewayName}",
    "azure-native:network:ApplicationGateway": "Microsoft.Network/applicationGateways/{applicationGatewayName}",
    "azure-native:network:WebApplicationFirewallPolicy": "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/{policyName}",
    "azure-native:network:DdosProtectionPlan": "Microsoft.Network/ddosProtectionPlans/{ddosProtectionPlanName}",
    "azure-native:network:FlowLog": "Microsoft.Network/networkWatchers/{networkWatcherName}/flowLogs/{flowLogName}",
    "azure-native:network:AzureFirewall": "Microsoft.Network/azureFirewalls/{azureFirewallName}",
    "azure-native:network:FirewallPolicy": "Microsoft.Network/firewallPolicies/{firewallPolicyName}",
    "azure-native:network:FirewallPolicyRuleCollectionGroup": "Microsoft.Network/firewallPolicies/{firewallPolicyName}/ruleCollectionGroups/{ruleCollectionGroupName}",
    "azure-native:storage:BlobServiceProperties": "Microsoft.Storage/storageAccounts/{accountName}/blobServices/{blobServicesName}",
    "azure-native:keyvault:Vault": "Microsoft.KeyVault/vaults/{vaultName}",
    "azure-native:keyvault:Key": "Microsoft.KeyVault/vaults/{vaultName}/keys/{keyName}",
    "azure-native:keyvault:Secret": "Microsoft.KeyVault/vaults/{vaultName}/secrets/{secretName}",
    "azure-native:healthcareapis:Workspace": "Microsoft.HealthcareApis/workspaces/{workspaceName}",
    "azure-native:healthcareapis:FhirService": "Microsoft.HealthcareApis/workspaces/{workspaceName}/fhirservices/{fhirServiceName}",
    "azure-native:storage:StorageAccount": "Microsoft.Storage/storageAccounts/{accountName}",
    "azure-native:storage:BlobContainer": "Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{containerName}",
    "azure-native:storage:ManagementPolicy": "Microsoft.Storage/storageAccounts/{accountName}/managementPolicies/{managementPolicyName}",
    "azure-native:storage:Queue": "Microsoft.Storage/storageAccounts/{accountName}/queueServices/default/queues/{queueName}",
    "azure-native:storage:Blob": "Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{containerName}/blobs/{blobName}",
    "azure-native:web:AppServicePlan": "Microsoft.Web/serverfarms/{name}",
    "azure-native:web:WebApp": "Microsoft.Web/sites/{name}",
    "azure-native:web:WebAppFtpAllowed": "Microsoft.Web/sites/{name}/basicPublishingCredentialsPolicies/ftp",
    "azure-native:web:WebAppScmAllowed": "Microsoft.Web/sites/{name}/basicPublishingCredentialsPolicies/scm",
    "azure-native:apimanagement:ApiManagementService": "Microsoft.ApiManagement/service/{serviceName}",
    "azure-native:apimanagement:Api": "Microsoft.ApiManagement/service/{serviceName}/apis/{apiId}",
    "azure-native:apimanagement:ApiPolicy": "Microsoft.ApiManagement/service/{serviceName}/apis/{apiId}/policies/{policyId}",
    "azure-native:apimanagement:ApiOperation": "Microsoft.ApiManagement/service/{serviceName}/apis/{apiId}/operations/{operationId}",
    "azure-native:apimanagement:ApiOperationPolicy": "Microsoft.ApiManagement/service/{serviceName}/apis/{apiId}/operations/{operationId}/policies/{policyId}",
    "azure-native:apimanagement:Backend": "Microsoft.ApiManagement/service/{serviceName}/backends/{backendId}",
    "azure-native:apimanagement:NamedValue": "Microsoft.ApiManagement/service/{serviceName}/namedValues/{namedValueId}",
    "azure-native:apimanagement:Logger": "Microsoft.ApiManagement/service/{serviceName}/loggers/{loggerId}",
    "azure-native:apimanagement:ApiDiagnostic": "Microsoft.ApiManagement/service/{serviceName}/apis/{apiId}/diagnostics/{diagnosticId}",
    "azure-native:apimanagement:Diagnostic": "Microsoft.ApiManagement/service/{serviceName}/diagnostics/{diagnosticId}",
    "azure-native:apimanagement:Product": "Microsoft.ApiManagement/service/{serviceName}/products/{productId}",
    "azure-native:apimanagement:ProductApi": "Microsoft.ApiManagement/service/{serviceName}/products/{productId}/apis/{apiId}",
    "azure-native:apimanagement:Subscription": "Microsoft.ApiManagement/service/{serviceName}/subscriptions/{sid}",
    "azure-native:network:VirtualNetworkPeering": "Microsoft.Network/virtualNetworks/{virtualNetworkName}/virtualNetworkPeerings/{virtualNetworkPeeringName}",
    "azure-native:eventgrid:SystemTopic": "Microsoft.EventGrid/systemTopics/{systemTopicName}",
    "azure-native:eventgrid:SystemTopicEventSubscription": "Microsoft.EventGrid/systemTopics/{systemTopicName}/eventSubscriptions/{eventSubscriptionName}",
};

/** Resources whose id hangs off another resource's id (`scope` / `resourceUri`) rather than a resource group. */
const SCOPED_PATHS: Record<string, { scopeKey: string; path: string; nameKey: string }> = {
    "azure-native:monitor:DiagnosticSetting": { scopeKey: "resourceUri", path: "providers/Microsoft.Insights/diagnosticSettings", nameKey: "name" },
    "azure-native:authorization:RoleAssignment": { scopeKey: "scope", path: "providers/Microsoft.Authorization/roleAssignments", nameKey: "roleAssignmentName" },
    "azure-native:authorization:ManagementLockByScope": { scopeKey: "scope", path: "providers/Microsoft.Authorization/locks", nameKey: "lockName" },
    "azure-native:authorization:RoleDefinition": { scopeKey: "scope", path: "providers/Microsoft.Authorization/roleDefinitions", nameKey: "roleDefinitionId" },
};

export function armId(type: string, name: string, inputs: Inputs): string {
    if (type === "azure-native:resources:ResourceGroup") {
        return `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${inputs.resourceGroupName ?? name}`;
    }
    const scoped = SCOPED_PATHS[type];
    if (scoped) {
        const leaf = inputs[scoped.nameKey] ?? (type.endsWith("RoleAssignment") ? mockGuid(name) : name);
        return `${inputs[scoped.scopeKey]}/${scoped.path}/${leaf}`;
    }
    const rg = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${inputs.resourceGroupName ?? "unknown-rg"}`;
    if (type === "azure-native:resources:Resource") {
        // Generic ARM resource (e.g. the Flex `onedeploy` site extension): the id comes from its path parts.
        const parent = inputs.parentResourcePath ? `${inputs.parentResourcePath}/` : "";
        return `${rg}/providers/${inputs.resourceProviderNamespace}/${parent}${inputs.resourceType}/${inputs.resourceName ?? name}`;
    }
    const template = ARM_PATHS[type];
    if (!template) {
        const [, module, kind] = type.split(":");
        return `${rg}/providers/Mock.${module}/${kind}/${name}`;
    }
    const keys = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    const last = keys[keys.length - 1];
    const path = template.replace(/\{(\w+)\}/g, (_, key: string) => String(inputs[key] ?? (key === last ? name : `missing-${key}`)));
    return `${rg}/providers/${path}`;
}

const SECRET_ENVELOPE_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** The plain value inside a deserialized secret envelope (`{<sig>: <secret sig>, value}`), or the value itself. */
function unwrapSecret(value: any): any {
    return value && typeof value === "object" && value["4dabf18193072939515e22adb298388d"] === SECRET_ENVELOPE_SIG ? value.value : value;
}

/** The ARM name of a resource: the last segment of its id. */
function leafName(id: string): string {
    return id.slice(id.lastIndexOf("/") + 1);
}

function randomText(seed: string, length: number, alphabet: string): string {
    const bytes = createHash("sha256").update(seed).digest();
    let out = "";
    for (let i = 0; i < length; i++) out += alphabet[bytes[i % bytes.length] % alphabet.length];
    return out;
}

/** Computed outputs Azure (or Entra, or the random provider) would return for each resource type. */
function computedOutputs(type: string, name: string, inputs: Inputs, id: string): Inputs {
    const armName = leafName(id);
    const location = inputs.location ?? "westeurope";
    switch (type) {
        case "azure-native:managedidentity:UserAssignedIdentity":
            return { principalId: mockGuid(`principal:${id}`), clientId: mockGuid(`client:${id}`), tenantId: MOCK_TENANT_ID };
        case "azure-native:keyvault:Vault":
            return { properties: { ...inputs.properties, vaultUri: `https://${armName}.vault.azure.net/` } };
        case "azure-native:keyvault:Key": {
            const keyUri = `https://${inputs.vaultName}.vault.azure.net/keys/${armName}`;
            return { keyUri, keyUriWithVersion: `${keyUri}/${hex(`version:${id}`, 32)}` };
        }
        case "azure-native:keyvault:Secret": {
            const secretUri = `https://${inputs.vaultName}.vault.azure.net/secrets/${armName}`;
            // `properties` arrives as a secret envelope when it carries the value; answer with a plain object (the
            // SDK keeps the secret flag on the Output) so computed fields like secretUri are visible.
            // ARM never returns a secret's value, so it is dropped from the answer.
            const { value: _value, ...rest } = unwrapSecret(inputs.properties) ?? {};
            return { properties: { ...rest, secretUri, secretUriWithVersion: `${secretUri}/${hex(`version:${id}`, 32)}` } };
        }
        case "azure-native:storage:StorageAccount":
            return {
                primaryEndpoints: Object.fromEntries(
                    ["blob", "queue", "table", "file", "dfs", "web"].map((s) => [s, `https://${armName}.${s}.core.windows.net/`]),
                ),
            };
        case "azure-native:storage:Blob":
            return { url: `https://${inputs.accountName}.blob.core.windows.net/${inputs.containerName}/${armName}` };
        case "azure-native:operationalinsights:Workspace":
            return { customerId: mockGuid(`customer:${id}`) };
        case "azure-native:applicationinsights:Component": {
            const key = mockGuid(`ikey:${id}`);
            return {
                appId: mockGuid(`app:${id}`),
                instrumentationKey: key,
                connectionString: `InstrumentationKey=${key};IngestionEndpoint=https://${location}-0.in.applicationinsights.azure.com/;LiveEndpoint=https://${location}.livediagnostics.monitor.azure.com/`,
            };
        }
        case "azure-native:apimanagement:ApiManagementService":
            return {
                gatewayUrl: `https://${armName}.azure-api.net`,
                privateIPAddresses: ["10.0.0.4"],
                publicIPAddresses: ["20.0.0.4"],
                identity: { ...inputs.identity, principalId: mockGuid(`principal:${id}`), tenantId: MOCK_TENANT_ID },
            };
        case "azure-native:network:AzureFirewall":
            // Azure gives the firewall the first usable address of AzureFirewallSubnet; the mock cannot see the prefix.
            return { ipConfigurations: (inputs.ipConfigurations ?? []).map((c: Inputs, i: number) => ({ ...c, privateIPAddress: `10.0.0.${4 + i}` })) };
        case "azure-native:web:WebApp":
            return {
                defaultHostName: `${armName}.azurewebsites.net`,
                identity: { ...inputs.identity, principalId: inputs.identity?.type?.includes("SystemAssigned") ? mockGuid(`principal:${id}`) : undefined, tenantId: MOCK_TENANT_ID },
            };
        case "azuread:index/application:Application": {
            const objectId = mockGuid(`app-object:${name}`);
            return { clientId: mockGuid(`app-client:${name}`), objectId, id: `/applications/${objectId}` };
        }
        case "azuread:index/servicePrincipal:ServicePrincipal":
            return { objectId: mockGuid(`sp-object:${name}`), applicationTenantId: MOCK_TENANT_ID };
        case "azuread:index/applicationPassword:ApplicationPassword":
            return { keyId: mockGuid(`key:${name}`), value: randomText(`password:${name}`, 40, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789~._-") };
        case "random:index/randomString:RandomString": {
            const alphabet = `${inputs.lower === false ? "" : "abcdefghijklmnopqrstuvwxyz"}${inputs.upper === false ? "" : "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}${inputs.numeric === false ? "" : "0123456789"}`;
            return { result: randomText(`string:${name}`, inputs.length ?? 8, alphabet || "abcdefghijklmnopqrstuvwxyz") };
        }
        case "random:index/randomPassword:RandomPassword":
            return { result: randomText(`password:${name}`, inputs.length ?? 32, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#%*-_") };
        case "random:index/randomUuid:RandomUuid":
            return { result: mockGuid(`uuid:${name}`) };
        default:
            return {};
    }
}

/** The Pulumi mocks used by both the offline plan and the unit tests. */
export const armMocks: pulumi.runtime.Mocks = {
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, any> } {
        if (!args.type.startsWith("azure-native:")) {
            // azuread, random and time resources have provider-specific ids.
            const state = { ...args.inputs, ...computedOutputs(args.type, args.name, args.inputs, args.name) };
            // Applications keep their `/applications/<object id>` id (what ApplicationPassword & co. expect).
            return { id: state.id ?? state.objectId ?? mockGuid(`${args.type}:${args.name}`), state };
        }
        const id = armId(args.type, args.name, args.inputs);
        const state = { ...args.inputs, name: leafName(id), ...computedOutputs(args.type, args.name, args.inputs, id) };
        return { id, state: { ...state, id } };
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        switch (args.token) {
            case "azure-native:authorization:getClientConfig":
                return { clientId: mockGuid("deployer-client"), objectId: MOCK_DEPLOYER_OBJECT_ID, subscriptionId: MOCK_SUBSCRIPTION_ID, tenantId: MOCK_TENANT_ID };
            case "azure-native:web:listWebAppFunctionKeys": {
                // The keys tools/function-key.ts sets on the HL7 function (slots apim-a and apim-b).
                const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
                const properties: Record<string, string> = {};
                for (const key of ["apim-a", "apim-b"]) properties[key] = randomText(`fnkey:${args.inputs.name}:${args.inputs.functionName}:${key}`, 56, alphabet);
                return { id: `${args.inputs.name}/functions/${args.inputs.functionName}/keys`, name: args.inputs.functionName, type: "Microsoft.Web/sites/functions/keys", properties };
            }
            case "azuread:index/getServicePrincipal:getServicePrincipal":
                // Only Microsoft Graph is looked up (the bootstrap's application permissions are app roles on it).
                if (args.inputs.clientId !== MICROSOFT_GRAPH_APP_ID) throw new Error(`offline plan: no mock service principal for ${JSON.stringify(args.inputs)}`);
                return { clientId: MICROSOFT_GRAPH_APP_ID, objectId: mockGuid("msgraph-sp"), displayName: "Microsoft Graph", appRoleIds: GRAPH_APP_ROLE_IDS };
            case "azure-native:keyvault:getKey": {
                // The key as the Key resource mock describes it (same id, same version): no rotation has happened.
                const id = armId("azure-native:keyvault:Key", String(args.inputs.keyName), args.inputs);
                const keyUri = `https://${args.inputs.vaultName}.vault.azure.net/keys/${args.inputs.keyName}`;
                return { id, keyUri, keyUriWithVersion: `${keyUri}/${hex(`version:${id}`, 32)}` };
            }
            case "azure-native:apimanagement:listSubscriptionSecrets":
                return { primaryKey: randomText(`apim-sub-primary:${args.inputs.sid}`, 32, "abcdef0123456789"), secondaryKey: randomText(`apim-sub-secondary:${args.inputs.sid}`, 32, "abcdef0123456789") };
            case "azuread:index/getClientConfig:getClientConfig":
                return { clientId: mockGuid("deployer-client"), objectId: MOCK_DEPLOYER_OBJECT_ID, tenantId: MOCK_TENANT_ID };
            default:
                // An unanswered invoke would silently resolve to undefined and hide a wiring bug.
                throw new Error(`offline plan: no mock for invoke ${args.token}`);
        }
    },
};
