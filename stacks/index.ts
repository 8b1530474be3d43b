// The Pulumi program: validate the stack's config first (nothing is declared if it is invalid), then declare the
// platform. Module exports are the stack outputs.
import { loadPlatformConfig } from "./config";
import { createPlatform } from "./platform";

const outputs = createPlatform(loadPlatformConfig());

export const resourceGroupName = outputs.resourceGroupName;
export const fhirUrl = outputs.fhirUrl;
export const fhirServiceId = outputs.fhirServiceId;
export const keyVaultUri = outputs.keyVaultUri;
export const cmkKeyUriWithVersion = outputs.cmkKeyUriWithVersion;
export const logAnalyticsWorkspaceId = outputs.logAnalyticsWorkspaceId;
export const vnetId = outputs.vnetId;
