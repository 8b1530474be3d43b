import * as pulumi from "@pulumi/pulumi";
import * as healthcareapis from "@pulumi/azure-native/healthcareapis";
import * as keyvault from "@pulumi/azure-native/keyvault";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as resources from "@pulumi/azure-native/resources";
import { deleteLock } from "./locks";
import { Monitoring } from "./monitoring";
import { compactGlobalName, NamingContext, resourceName } from "./naming";
import { privateEndpointWithDns } from "./privateEndpoint";

export interface HealthDataServicesArgs {
    /** Naming prefix and environment. */
    naming: NamingContext;
    /** Stable random suffix that makes the workspace name (and so the FHIR URL) globally unique. */
    globalSuffix: pulumi.Input<string>;
    resourceGroupName: pulumi.Input<string>;
    /** Same region as the CMK vault. */
    location: pulumi.Input<string>;
    /** Entra tenant whose tokens FHIR accepts. */
    tenantId: pulumi.Input<string>;
    /** The FHIR service's only identity; it must already hold the CMK role. */
    fhirIdentity: managedidentity.UserAssignedIdentity;
    /** The customer-managed key; FHIR is pinned to its current version, read on every deploy. */
    cmkKey: keyvault.Key;
    /** The vault holding it (to read the key's current version). */
    cmkVaultName: pulumi.Input<string>;
    /**
     * FHIR is created after this: the propagation wait that follows its identity's CMK grant (creation fails on key
     * access while the grant has not reached Key Vault).
     */
    cmkGrantPropagated: pulumi.Resource;
    /** Private endpoints subnet. */
    privateEndpointSubnetId: pulumi.Input<string>;
    /** `privatelink.azurehealthcareapis.com` and `privatelink.dicom.azurehealthcareapis.com` zone ids. */
    healthcareDnsZoneIds: pulumi.Input<string>[];
    /** Where FHIR audit logs go. */
    monitoring: Monitoring;
    /** Prod: the WORM audit archive the AuditLogs also go to (auditArchive.ts). */
    auditArchiveStorageAccountId?: pulumi.Input<string>;
    /**
     * PHI lives here: `protect` the workspace and FHIR service and put CanNotDelete locks on them, so neither a rename
     * in code nor `pulumi destroy` nor a portal click deletes the data.
     */
    deleteLock: boolean;
    tags: Record<string, string>;
}

/** Pinned AHDS REST API version of the workspace (as Microsoft's `fhirservice-with-privatelink` sample uses). */
export const AHDS_WORKSPACE_API_VERSION = "2024-03-31";

/** `https://<workspace>-<fhir>.fhir.azurehealthcareapis.com`: the FHIR base URL and its token audience. */
export function fhirServiceUrl(workspaceName: string, fhirServiceName: string): string {
    return `https://${workspaceName}-${fhirServiceName}.fhir.azurehealthcareapis.com`;
}

/**
 * Azure Health Data Services workspace with a FHIR R4 service encrypted by the customer-managed key, reachable only
 * through the workspace private endpoint.
 */
export class HealthDataServices extends pulumi.ComponentResource {
    /** Declared as a generic ARM resource: the typed one cannot set `publicNetworkAccess` (see below). */
    public readonly workspace: resources.Resource;
    public readonly fhirService: healthcareapis.FhirService;
    /** FHIR base URL, also the audience of its tokens. */
    public readonly fhirUrl: pulumi.Output<string>;

    constructor(name: string, args: HealthDataServicesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:health:HealthDataServices", name, {}, opts);
        const { naming, resourceGroupName, location, tags } = args;

        // Workspace names allow only lowercase letters and digits in practice (3–24). azure-native 3.28's typed
        // `healthcareapis.Workspace` has no `properties` input, so public access could not be switched off; the REST
        // API (2023-11-01, 2024-03-31) takes `properties.publicNetworkAccess`, its FHIR services inherit it, and AVM's
        // healthcare-apis/workspace module defaults it to Disabled. Hence the generic resource at the pinned version.
        this.workspace = new resources.Resource(`${name}-workspace`, {
            resourceProviderNamespace: "Microsoft.HealthcareApis",
            parentResourcePath: "",
            resourceType: "workspaces",
            resourceName: pulumi.output(args.globalSuffix).apply((suffix) => compactGlobalName(naming, "ahds", suffix)),
            apiVersion: AHDS_WORKSPACE_API_VERSION,
            resourceGroupName,
            location,
            properties: { publicNetworkAccess: "Disabled" },
            tags,
        }, { parent: this, protect: args.deleteLock });

        const fhirServiceName = "fhir";
        this.fhirUrl = this.workspace.name.apply((ws) => fhirServiceUrl(ws, fhirServiceName));

        // The key's current version, read on every deploy: the rotation policy makes new versions on its own, FHIR is
        // pinned to the version in its URL (AHDS CMK article: rotation reaches FHIR when the service is updated), so the
        // next (scheduled) deploy moves it. The Key resource's own output would keep the version it was created with.
        const currentKeyVersion = pulumi.all([args.cmkKey.keyUriWithVersion, keyvault.getKeyOutput({
            keyName: args.cmkKey.name,
            vaultName: args.cmkVaultName,
            resourceGroupName,
        }, { parent: this, dependsOn: [args.cmkKey] }).keyUriWithVersion]).apply(([created, current]) => current || created);

        this.fhirService = new healthcareapis.FhirService(`${name}-fhir`, {
            fhirServiceName,
            workspaceName: this.workspace.name,
            resourceGroupName,
            location,
            kind: "fhir-R4",
            // FHIR accepts one identity only, and CMK at creation needs it to be user-assigned.
            identity: { type: "UserAssigned", userAssignedIdentities: [args.fhirIdentity.id] },
            encryption: { customerManagedKeyEncryption: { keyEncryptionKeyUrl: currentKeyVersion } },
            authenticationConfiguration: {
                authority: pulumi.interpolate`https://login.microsoftonline.com/${args.tenantId}`,
                audience: this.fhirUrl,
                smartProxyEnabled: false,
            },
            // No CORS here: browsers reach FHIR only through the gateway, which answers CORS (apimPolicies.ts).
            // Keep every version: the history is part of the medical record.
            resourceVersionPolicyConfiguration: { default: "versioned" },
            importConfiguration: { enabled: false, initialImportMode: false },
            tags,
        }, {
            parent: this,
            // The identity's key role must have propagated, or FHIR fails creation on key access (AHDS CMK article).
            dependsOn: [args.cmkGrantPropagated],
            protect: args.deleteLock,
        });
        if (args.deleteLock) {
            deleteLock(`${name}-workspace-lock`, this.workspace.id, "Deleting the AHDS workspace deletes every FHIR resource (PHI) in it.", { parent: this });
            deleteLock(`${name}-fhir-lock`, this.fhirService.id, "Deleting the FHIR service deletes its data (PHI); export first.", { parent: this });
        }

        args.monitoring.diagnostics(`${name}-fhir`, this.fhirService.id, { logs: { categories: ["AuditLogs"] }, archiveStorageAccountId: args.auditArchiveStorageAccountId }, { parent: this });

        // After FHIR exists, so the zone group writes its A record (a service added later needs the group refreshed).
        privateEndpointWithDns(`${name}-workspace`, {
            endpointName: resourceName(naming, "pe", "ahds"),
            resourceGroupName,
            location,
            subnetId: args.privateEndpointSubnetId,
            targetResourceId: this.workspace.id,
            groupId: "healthcareworkspace",
            dnsZoneIds: args.healthcareDnsZoneIds,
            tags,
        }, { parent: this, dependsOn: [this.fhirService] });

        this.registerOutputs({ workspaceId: this.workspace.id, fhirServiceId: this.fhirService.id, fhirUrl: this.fhirUrl });
    }
}
