import type { ApiConsumer } from "../components/apimSettings";
import type { DeployerNetwork } from "../components/deployerNetwork";
import type { SenderFacility } from "../components/functionApp";
import type { EdgeConfig } from "./configEdge";
import type { ExternalFhirConfig } from "./configFields";

/** The validated stack configuration (stacks/config.ts reads and checks it; the program receives only this shape). */

export interface NetworkConfig {
    /** VNet address space, an RFC 1918 block. */
    addressSpace: string;
    subnets: {
        /** Private endpoints of FHIR, Key Vault, storage and the Function App. */
        privateEndpoints: string;
        /** Flex Consumption VNet integration, delegated to Microsoft.App/environments. */
        functionIntegration: string;
        /** API Management VNet injection (Internal mode). */
        apim: string;
        /** Application Gateway WAF_v2 (the only public entry); nothing else may share it. */
        appGateway: string;
    };
}

export interface PlatformConfig {
    /** Environment name used in resource names and tags (`dev`, `prod`). */
    environment: string;
    /** Azure region of every resource. */
    location: string;
    /** Short lowercase prefix of every resource name. */
    namePrefix: string;
    /** Tags applied to every taggable resource. */
    tags: Record<string, string>;
    /** Zone-redundant SKUs where the service offers them (storage, APIM). */
    zoneRedundant: boolean;
    /** Seconds every role assignment gets to propagate before its first data-plane use in the same run. */
    rbacPropagationSeconds: number;
    /** Who runs `pulumi up` and from where (the bootstrap's outputs). */
    deployer: DeployerNetwork & {
        /** How the deployer's key role is assigned: ServicePrincipal for the workflow's managed identity, User by hand. */
        principalType: "ServicePrincipal" | "User";
    };
    network: NetworkConfig;
    /** Public ingress (Application Gateway WAF_v2) and DDoS protection. */
    edge: EdgeConfig;
    monitoring: {
        /** Microsoft Sentinel on the platform's workspace with its analytics rules (required in prod). */
        sentinel: boolean;
        /**
         * The tenant exports Entra service-principal and managed-identity sign-in logs to this workspace (a tenant
         * admin's Entra diagnostic setting): alert on the platform identities' failed sign-ins.
         */
        entraSignInLogs: boolean;
        /** Log Analytics retention, 30–730 days. */
        logRetentionDays: number;
        /** Log Analytics daily ingestion cap in GB; 0 means no cap. */
        dailyQuotaGb: number;
        /**
         * WORM copy of the FHIR audit log, Key Vault audit events and the Activity Log in a storage account with its own
         * CMK (required in prod); blobs stay immutable for `logRetentionDays`. `locked` locks the immutability policy
         * (irreversible; Azure creates it unlocked, so set it on a later deploy).
         */
        auditArchive: { enabled: boolean; locked: boolean };
    };
    keyVault: {
        /** `premium` keeps keys in HSM-backed storage. */
        sku: "standard" | "premium";
        /** Soft-delete retention, 7–90 days; purge protection keeps it. */
        softDeleteRetentionDays: number;
        /** CMK size in bits; FHIR accepts 2048 or 3072. */
        cmkKeySize: 2048 | 3072;
        /** Days from creation until the CMK version expires. */
        cmkExpiryDays: number;
        /** The rotation policy creates a new version this many days before expiry. */
        cmkRotateBeforeExpiryDays: number;
        /** Put a CanNotDelete lock on the vault (pitfall: a deleted CMK makes FHIR data unreadable). */
        deleteLock: boolean;
    };
    fhir: {
        /** Browser origins allowed to call the FHIR API (answered by the gateway); explicit https origins only. */
        corsOrigins: string[];
        /** How long browsers may cache a CORS preflight. */
        corsMaxAgeSeconds: number;
        /** `protect` the AHDS workspace and FHIR service and lock them against deletion (PHI). */
        deleteLock: boolean;
        /** Third-party FHIR mode: the Function writes to this server instead of the platform's AHDS FHIR. */
        external?: ExternalFhirConfig;
    };
    apim: {
        /** Classic tiers that support VNet injection in Internal mode. */
        sku: "Developer" | "Premium";
        /** Scale units. */
        capacity: number;
        /** Availability zones (Premium only). */
        zones: string[];
        publisherName: string;
        publisherEmail: string;
        /** Calls per minute allowed per caller (token subject) on each API. */
        rateLimitPerMinute: number;
        /** Also require an APIM subscription key next to the Entra token (defaults to false). */
        subscriptionRequired: boolean;
        /** Bump to reissue both slots of the gateway's function key on the next deploy (revocation runbook). */
        functionKeyGeneration: number;
        /** Callers issued a product subscription; their keys go to Key Vault. */
        consumers: ApiConsumer[];
    };
    functionApp: {
        /** Flex Consumption instance memory. */
        instanceMemoryMB: 512 | 2048 | 4096;
        /** Flex Consumption scale-out ceiling. */
        maximumInstanceCount: number;
        /** How the Function authenticates to FHIR: its managed identity, or client credentials from Key Vault. */
        fhirAuthMode: "managedIdentity" | "clientCredentials";
        /** Largest HL7 message accepted, in bytes. */
        maxMessageBytes: number;
    };
    storage: {
        /** Replication of the Function's storage account. */
        sku: "Standard_LRS" | "Standard_ZRS" | "Standard_GZRS";
        /** Raw HL7 messages (PHI, and the dedupe marks) are deleted this many days after arrival. */
        messageRetentionDays: number;
        /** `protect` the storage account holding raw HL7 and lock it against deletion. */
        deleteLock: boolean;
        /** Encrypt that account with its own customer-managed key in the platform vault (required in prod). */
        customerManagedKey: boolean;
    };
    identity: {
        /** The HL7 sender's client secret is replaced after this many days. */
        hl7SenderSecretRotationDays: number;
        /** Redirect URIs of the public (SPA/mobile) client. */
        spaRedirectUris: string[];
        /** Entra group object ids given the FHIR.Read app role at the gateway. */
        fhirReaderGroupObjectIds: string[];
        /** Sending facilities (MSH-4, optionally with MSH-3) the platform's HL7 sender client may name. */
        hl7SenderFacilities: SenderFacility[];
    };
    alerts: {
        /** Receives every platform alert. */
        email: string;
    };
}
