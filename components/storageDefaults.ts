/**
 * The settings every storage account of the platform shares (the policy pack's st-* rules): Entra-only access with
 * shared keys off, no public blobs, no cross-tenant replication, HTTPS with TLS 1.2. Each account adds its SKU, network
 * rules and encryption scope.
 */
export const KEYLESS_STORAGE_ACCOUNT = {
    kind: "StorageV2",
    allowSharedKeyAccess: false,
    defaultToOAuthAuthentication: true,
    allowBlobPublicAccess: false,
    allowCrossTenantReplication: false,
    minimumTlsVersion: "TLS1_2",
    enableHttpsTrafficOnly: true,
} as const;
