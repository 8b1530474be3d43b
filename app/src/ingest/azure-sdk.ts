/**
 * The Azure SDK classes the runtime needs, in one module that app/build.ts bundles as a separate file
 * (dist/azure-sdk.js) loaded on first use through load-sdk.ts. Parsing ~1 MB of SDK code at worker start would otherwise
 * cost most of the 150 ms bundle-load budget (measured with --cpu-prof: compile time dominates).
 */
export { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
export { SecretClient } from '@azure/keyvault-secrets';
export { BlobServiceClient } from '@azure/storage-blob';
export { QueueServiceClient } from '@azure/storage-queue';
