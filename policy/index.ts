// Entry point for `pulumi preview|up --policy-pack policy`: builds the pack and nothing else.
import { PolicyPack } from "@pulumi/policy";
import { PACK_ENFORCEMENT_LEVEL, PACK_NAME, policies } from "./policies";

new PolicyPack(PACK_NAME, {
    policies,
    enforcementLevel: PACK_ENFORCEMENT_LEVEL,
    description: "Rejects insecure configurations of the FHIR data platform (AHDS, Key Vault, Functions, APIM, Storage, network, RBAC, Entra).",
});
