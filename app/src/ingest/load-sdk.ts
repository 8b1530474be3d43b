/**
 * Loads app/src/ingest/azure-sdk on first use. A require() call rather than import(): the esbuild
 * bundle maps it to the separate dist/azure-sdk.js (see app/build.ts), and the project's TypeScript
 * require hook (tools/ts-register.js) leaves import() native, which cannot load a .ts file.
 */
export type AzureSdk = typeof import('./azure-sdk');

let sdk: AzureSdk | undefined;

export function loadAzureSdk(): AzureSdk {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  sdk ??= require('./azure-sdk') as AzureSdk;
  return sdk;
}
