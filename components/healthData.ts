import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as healthcareapis from "@pulumi/azure-native/healthcareapis";
import * as keyvault from "@pulumi/azure-native/keyvault";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
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
    /** The customer-managed key; FHIR is pinned to its current version. */
    cmkKey: keyvault.Key;
    /** FHIR is created after this role assignment, or creation fails on key access. */
    cmkRoleAssignment: authorization.RoleAssignment;
    /** Browser origins allowed to call FHIR (explicit, https). Empty: no CORS. */
    corsOrigins: string[];
    /** Preflight cache time in seconds. */
    corsMaxAgeSeconds: number;
    /** Private endpoints subnet. */
    privateEndpointSubnetId: pulumi.Input<string>;
    /** `privatelink.azurehealthcareapis.com` and `privatelink.dicom.azurehealthcareapis.com` zone ids. */
    healthcareDnsZoneIds: pulumi.Input<string>[];
    /** Where FHIR audit logs go. */
    monitoring: Monitoring;
    tags: Record<string, string>;
}

/** Headers a browser FHIR client sends; everything else is refused at preflight. */
export const FHIR_CORS_HEADERS = [
    "Authorization", "Content-Type", "Accept", "Prefer", "If-Match", "If-None-Match", "If-None-Exist",
    "X-Requested-With", "x-ms-correlation-request-id",
];

/** `https://<workspace>-<fhir>.fhir.azurehealthcareapis.com`: the FHIR base URL and its token audience. */
export function fhirServiceUrl(workspaceName: string, fhirServiceName: string): string {
    return `https://${workspaceName}-${fhirServiceName}.fhir.azurehealthcareapis.com`;
}

/**
 * Azure Health Data Services workspace with a FHIR R4 service encrypted by the customer-managed key, reachable only
 * through the workspace private endpoint.
 */
export class HealthDataServices extends pulumi.ComponentResource {
    public readonly workspace: healthcareapis.Workspace;
    public readonly fhirService: healthcareapis.FhirService;
    /** FHIR base URL, also the audience of its tokens. */
    public readonly fhirUrl: pulumi.Output<string>;

    constructor(name: string, args: HealthDataServicesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:health:HealthDataServices", name, {}, opts);
        const { naming, resourceGroupName, location, tags } = args;

        // Workspace names allow only lowercase letters and digits in practice (3–24).
        this.workspace = new healthcareapis.Workspace(`${name}-workspace`, {
            workspaceName: pulumi.output(args.globalSuffix).apply((suffix) => compactGlobalName(naming, "ahds", suffix)),
            resourceGroupName,
            location,
            tags,
        }, { parent: this });

        const fhirServiceName = "fhir";
        this.fhirUrl = this.workspace.name.apply((ws) => fhirServiceUrl(ws, fhirServiceName));

        this.fhirService = new healthcareapis.FhirService(`${name}-fhir`, {
            fhirServiceName,
            workspaceName: this.workspace.name,
            resourceGroupName,
            location,
            kind: "fhir-R4",
            // FHIR accepts one identity only, and CMK at creation needs it to be user-assigned.
            identity: { type: "UserAssigned", userAssignedIdentities: [args.fhirIdentity.id] },
            encryption: { customerManagedKeyEncryption: { keyEncryptionKeyUrl: args.cmkKey.keyUriWithVersion } },
            authenticationConfiguration: {
                authority: pulumi.interpolate`https://login.microsoftonline.com/${args.tenantId}`,
                audience: this.fhirUrl,
                smartProxyEnabled: false,
            },
            ...(args.corsOrigins.length > 0
                ? {
                    corsConfiguration: {
                        origins: args.corsOrigins,
                        headers: FHIR_CORS_HEADERS,
                        methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                        maxAge: args.corsMaxAgeSeconds,
                        // Bearer tokens, never cookies.
                        allowCredentials: false,
                    },
                }
                : {}),
            // Keep every version: the history is part of the medical record.
            resourceVersionPolicyConfiguration: { default: "versioned" },
            importConfiguration: { enabled: false, initialImportMode: false },
            tags,
        }, {
            parent: this,
            // The identity must already hold the key role, or FHIR fails creation on key access (AHDS CMK article).
            dependsOn: [args.cmkRoleAssignment],
        });

        args.monitoring.diagnostics(`${name}-fhir`, this.fhirService.id, { logs: { categories: ["AuditLogs"] } }, { parent: this });

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
