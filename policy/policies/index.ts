// The pack's policy list, grouped by service. policy/index.ts builds the PolicyPack from it; the offline runner and the
// tests import it directly (constructing a PolicyPack starts a gRPC server, so tests never do).
import { Policies } from "@pulumi/policy";
import { apimPolicies } from "./apim";
import { auditPolicies } from "./audit";
import { deploymentPolicies } from "./deployment";
import { edgePolicies } from "./edge";
import { entraPolicies } from "./entra";
import { functionAppPolicies } from "./functionapp";
import { generalPolicies } from "./general";
import { healthcarePolicies } from "./healthcare";
import { keyVaultPolicies } from "./keyvault";
import { monitoringPolicies } from "./monitoring";
import { networkPolicies } from "./network";
import { rbacPolicies } from "./rbac";
import { storagePolicies } from "./storage";

export const PACK_NAME = "fhir-platform-security";
/** Used only for policies that do not set a level themselves (all of ours do). */
export const PACK_ENFORCEMENT_LEVEL = "mandatory" as const;

export const policies: Policies = [
    ...healthcarePolicies,
    ...keyVaultPolicies,
    ...functionAppPolicies,
    ...storagePolicies,
    ...apimPolicies,
    ...networkPolicies,
    ...edgePolicies,
    ...monitoringPolicies,
    ...auditPolicies,
    ...rbacPolicies,
    ...deploymentPolicies,
    ...entraPolicies,
    ...generalPolicies,
];

export { catalogue } from "./framework";
