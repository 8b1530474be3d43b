// Guarantees that make the first `pulumi up` work and keep PHI from being deleted by accident (issue 8): the AHDS
// workspace's public access, deletion protection of PHI stores, deterministic role assignment names, and an RBAC
// propagation wait between a grant and its first use with the customer-managed key.
import * as authorization from "@pulumi/azure-native/authorization";
import { PolicyResource, validateResourceOfType } from "@pulumi/policy";
import { eqi, has, peek, resourcePolicy, stackPolicy } from "./framework";

const GENERIC = "azure-native:resources:Resource";
const TYPED_WORKSPACE = "azure-native:healthcareapis:Workspace";
const FHIR = "azure-native:healthcareapis:FhirService";
const VAULT = "azure-native:keyvault:Vault";
const KEY = "azure-native:keyvault:Key";
const STORAGE = "azure-native:storage:StorageAccount";
const LOCK = "azure-native:authorization:ManagementLockByScope";
const RA = "azure-native:authorization:RoleAssignment";
const SLEEP = "time:index/sleep:Sleep";

/** A Health Data Services workspace, typed or declared through the generic ARM resource. */
export function isAhdsWorkspace(r: PolicyResource): boolean {
    if (r.type === TYPED_WORKSPACE) return true;
    return r.type === GENERIC && eqi(peek(r.props, "resourceProviderNamespace"), "Microsoft.HealthcareApis") && eqi(peek(r.props, "resourceType"), "workspaces");
}

export const ahdsWorkspacePublicAccess = stackPolicy(
    {
        name: "ahds-workspace-public-access-disabled",
        description:
            "Health Data Services workspaces must set properties.publicNetworkAccess 'Disabled' (its FHIR services inherit it). " +
            "azure-native's typed healthcareapis.Workspace cannot set it: declare the workspace with resources.Resource " +
            "(Microsoft.HealthcareApis/workspaces, API 2024-03-31) and properties.publicNetworkAccess 'Disabled'.",
        enforcementLevel: "mandatory",
        severity: "critical",
        resourceTypes: [TYPED_WORKSPACE, GENERIC],
        anchor: { derivedFrom: "AHDS workspace REST API 2024-03-31 properties.publicNetworkAccess; AVM healthcare-apis/workspace (default Disabled)" },
    },
    (args, report) => {
        for (const ws of args.resources.filter(isAhdsWorkspace)) {
            if (ws.type === TYPED_WORKSPACE) {
                report(`workspace '${ws.name}' uses the typed resource, which leaves public network access Enabled.`, ws.urn);
                continue;
            }
            const access = peek(peek(ws.props, "properties"), "publicNetworkAccess");
            if (!eqi(access, "Disabled")) report(`workspace '${ws.name}' has properties.publicNetworkAccess '${String(access)}'.`, ws.urn);
        }
    },
);

/** The resources whose deletion destroys or strands PHI: FHIR data, its workspace, the CMK vault, raw HL7 storage. */
function phiStores(resources: PolicyResource[]): PolicyResource[] {
    return resources.filter(r => r.type === FHIR || r.type === VAULT || r.type === STORAGE || isAhdsWorkspace(r));
}

export const prodDeletionProtection = stackPolicy(
    {
        name: "phi-deletion-protection",
        description:
            "When config requireDeletionProtection is true (prod), every PHI store (AHDS workspace, FHIR service, CMK vault, " +
            "storage accounts) must be declared with `protect: true` and carry a CanNotDelete management lock, so neither a " +
            "rename in code, `pulumi destroy` nor a portal click deletes it.",
        enforcementLevel: "mandatory",
        severity: "critical",
        resourceTypes: [FHIR, VAULT, STORAGE, GENERIC, TYPED_WORKSPACE, LOCK],
        anchor: { derivedFrom: "issue 8 item 7; Learn, Lock your resources to protect your infrastructure" },
        settings: { requireDeletionProtection: { type: "boolean", default: false } },
    },
    (args, report) => {
        const { requireDeletionProtection } = args.getConfig<{ requireDeletionProtection: boolean }>();
        if (!requireDeletionProtection) return;
        const locks = args.resources.filter(r => r.type === LOCK && eqi(peek(r.props, "level"), "CanNotDelete"));
        for (const store of phiStores(args.resources)) {
            if (!store.opts.protect) report(`'${store.name}' is not declared with protect: true.`, store.urn);
            const id = peek(store.props, "id");
            const locked = locks.some(l => (l.propertyDependencies.scope ?? []).some(d => d.urn === store.urn) || (typeof id === "string" && peek(l.props, "scope") === id));
            if (!locked) report(`'${store.name}' has no CanNotDelete lock.`, store.urn);
        }
    },
);

export const rbacDeterministicName = resourcePolicy(
    {
        name: "rbac-deterministic-name",
        description:
            "Role assignments must set roleAssignmentName to a GUID derived from scope, role and principal (components/rbac.ts " +
            "grantRoles): a random name makes every re-create a duplicate (RoleAssignmentExists) and hides grant changes.",
        enforcementLevel: "mandatory",
        severity: "medium",
        resourceTypes: [RA],
        anchor: { derivedFrom: "Bicep guid(scope, principal, role) convention; AVM role assignment modules" },
    },
    validateResourceOfType(authorization.RoleAssignment, (ra, _args, report) => {
        if (!has(ra, "roleAssignmentName")) {
            report("roleAssignmentName is not set.");
            return;
        }
        const n = ra.roleAssignmentName;
        if (typeof n === "string" && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(n)) report(`roleAssignmentName '${n}' is not a GUID.`);
    }),
);

/** Seconds of a time:Sleep's createDuration ("120s", "2m", "1m30s"), or undefined when unreadable. */
export function durationSeconds(text: unknown): number | undefined {
    if (typeof text !== "string") return undefined;
    const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
    if (!m || text.trim() === "") return undefined;
    return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

/** Built-in roles whose grant precedes a CMK use in the same run (components/roles.ts). */
const CMK_ROLES: Record<string, string> = {
    "e147488a-f6f5-4113-8e2d-b22465e65bf6": "Key Vault Crypto Service Encryption User (FHIR's identity)",
    "14b46e9e-c2b7-41b4-b07b-48a6ebf60603": "Key Vault Crypto Officer (the deployer)",
};

export const rbacPropagationWait = stackPolicy(
    {
        name: "rbac-propagation-wait",
        description:
            "Each Key Vault key, each FHIR service with a customer-managed key and each storage account encrypted with one " +
            "(keySource Microsoft.Keyvault) must depend on a time:Sleep (createDuration ≥ minSeconds) that itself depends on " +
            "the key role assignment it needs (Crypto Officer for the deployer's key creation, Crypto Service Encryption User " +
            "for FHIR and storage): role assignments take minutes to reach Key Vault.",
        enforcementLevel: "mandatory",
        severity: "high",
        resourceTypes: [KEY, FHIR, STORAGE, SLEEP, RA],
        anchor: { derivedFrom: "Learn, Troubleshoot Azure RBAC (propagation up to 10 min); AVM key vault time_sleep before key operations" },
        settings: { minSeconds: { type: "number", default: 60 } },
    },
    (args, report) => {
        const { minSeconds } = args.getConfig<{ minSeconds: number }>();
        const waitsFor = (r: PolicyResource): boolean => r.dependencies.some(sleep => {
            if (sleep.type !== SLEEP) return false;
            const seconds = durationSeconds(peek(sleep.props, "createDuration"));
            if (seconds === undefined || seconds < minSeconds) return false;
            return sleep.dependencies.some(g => g.type === RA && String(peek(g.props, "roleDefinitionId") ?? "").toLowerCase().split("/").pop()! in CMK_ROLES);
        });
        for (const r of args.resources) {
            const usesCmk = r.type === KEY || (r.type === FHIR && has(r.props, "encryption"))
                || (r.type === STORAGE && eqi(peek(peek(r.props, "encryption"), "keySource"), "Microsoft.Keyvault"));
            if (usesCmk && !waitsFor(r)) {
                report(`'${r.name}' does not wait (≥ ${minSeconds} s) for the propagation of the key role it needs.`, r.urn);
            }
        }
    },
);

export const deploymentPolicies = [ahdsWorkspacePublicAccess, prodDeletionProtection, rbacDeterministicName, rbacPropagationWait];
