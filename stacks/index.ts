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
export const apimGatewayUrl = outputs.apimGatewayUrl;
export const apimFhirBaseUrl = outputs.apimFhirBaseUrl;
export const apimHl7Url = outputs.apimHl7Url;
export const apimPrivateIp = outputs.apimPrivateIp;
export const functionAppName = outputs.functionAppName;
export const functionPackageSha256 = outputs.functionPackageSha256;
export const platformApiClientId = outputs.platformApiClientId;
export const platformApiIdentifierUri = outputs.platformApiIdentifierUri;
export const hl7SenderClientId = outputs.hl7SenderClientId;
export const hl7SenderSecretId = outputs.hl7SenderSecretId;
export const publicClientId = outputs.publicClientId;
export const alertActionGroupId = outputs.alertActionGroupId;
export const edgePublicIp = outputs.edgePublicIp;
export const edgeHostName = outputs.edgeHostName;
export const egressPublicIp = outputs.egressPublicIp;
