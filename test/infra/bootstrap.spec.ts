import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    actionAllowed, armWriteAction, BOOTSTRAP_ROLES, deployerRoleActions, PLATFORM_INVOKE_ACTIONS, platformAssignableRoleGuids, roleAssignmentCondition,
} from "../../bootstrap/access";
import { BUILT_IN_ROLES, FORBIDDEN_ROLES, roleGuidOf } from "../../components/roles";
import type { OfflinePlan } from "../../tools/offline/plan-runner";
import { ENVS, GRAPH_IDS, grantsOf, named, ofType, RA, REPO, ROOT, stackOutputs } from "../support/bootstrap-plan";
import { stackPlan } from "../support/stack-plans";

describe("bootstrap plan", function () {
    this.timeout(180000);
    let plan: OfflinePlan;
    let stdout: string;
    let subscription: string;
    const customRole = (key: string) => named(plan, `roles-${key}`);

    before(async () => {
        ({ plan, stdout } = await stackPlan("bootstrap"));
        subscription = `/subscriptions/${stackOutputs(plan).subscriptionId}`;
    });

    it("plans the bootstrap project and passes the policy gate with its documented exemptions", () => {
        assert.equal(plan.project, "fhir-platform-bootstrap");
        assert.equal(plan.stack, "bootstrap");
        assert.match(stdout, /\n0 mandatory, \d+ advisory, \d+ waived/);
        // Nothing from the platform program leaks in.
        assert.equal(ofType(plan, "azure-native:healthcareapis:FhirService").length, 0);
    });

    it("federates each identity with exactly the subject of its GitHub job", () => {
        const fics = ofType(plan, "azure-native:managedidentity:FederatedIdentityCredential");
        assert.equal(fics.length, ENVS.length * 3);
        for (const env of ENVS) {
            for (const [kind, subject] of [["deploy", `repo:${REPO}:environment:${env}`], ["preview", `repo:${REPO}:pull_request`]]) {
                const fic = named(plan, `github-${env}-${kind}-github`);
                const identity = named(plan, `github-${env}-${kind}`);
                assert.equal(fic.inputs.subject, subject);
                assert.equal(fic.inputs.issuer, "https://token.actions.githubusercontent.com");
                assert.deepEqual(fic.inputs.audiences, ["api://AzureADTokenExchange"]);
                assert.equal(fic.inputs.resourceName, identity.outputs.name, `${env} ${kind} credential is on its own identity`);
            }
            // The release preview (deploy.yml, environment <env>-preview) signs in as the read-only identity too.
            const release = named(plan, `github-${env}-preview-release-github`);
            assert.equal(release.inputs.subject, `repo:${REPO}:environment:${env}-preview`);
            assert.equal(release.inputs.resourceName, named(plan, `github-${env}-preview`).outputs.name);
            assert.equal(stackOutputs(plan).githubEnvironmentVariables[`${env}-preview`].AZURE_CLIENT_ID, named(plan, `github-${env}-preview`).outputs.clientId);
            assert.deepEqual(stackOutputs(plan).federatedSubjects[env], { deploy: `repo:${REPO}:environment:${env}`, preview: `repo:${REPO}:pull_request`, releasePreview: `repo:${REPO}:environment:${env}-preview` });
        }
    });

    it("gives the deploying identity custom resource + lock roles, conditioned RBAC administration and only its own state and key", () => {
        for (const env of ENVS) {
            const grants = grantsOf(plan, named(plan, `github-${env}-deploy`).outputs.principalId);
            const other = ENVS.find((e) => e !== env);
            assert.deepEqual([...grants.keys()].sort(), [
                customRole("deployer").outputs.name, customRole("locks").outputs.name, BOOTSTRAP_ROLES.roleBasedAccessControlAdministrator,
                BOOTSTRAP_ROLES.storageBlobDataContributor, BOOTSTRAP_ROLES.keyVaultCryptoUser, BOOTSTRAP_ROLES.networkContributor,
            ].sort());
            assert.deepEqual(grants.get(BOOTSTRAP_ROLES.networkContributor), [named(plan, `runners-${env}-vnet`).outputs.id], "network rights on its own runner VNet only");
            assert.deepEqual(grants.get(BOOTSTRAP_ROLES.storageBlobDataContributor), [named(plan, `state-${env}`).outputs.id]);
            assert.deepEqual(grants.get(BOOTSTRAP_ROLES.keyVaultCryptoUser), [named(plan, `secrets-key-${env}`).outputs.id]);
            if (other) assert.ok(![...grants.values()].flat().some((s) => s.includes(`state-${other}`) || s.includes(`pulumi-secrets-${other}`)), `${env} deployer reaches ${other} state`);
        }
    });

    it("limits role-assignment rights by condition to exactly the roles the platform grants", async () => {
        const expected = platformAssignableRoleGuids();
        for (const guid of [...Object.values(BUILT_IN_ROLES), "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"]) assert.ok(expected.includes(guid), guid);
        // Every role the real dev and prod plans assign is allowed, so the first `pulumi up` is not refused.
        for (const stack of ENVS) {
            const { plan: platform } = await stackPlan(stack);
            for (const ra of ofType(platform, RA)) assert.ok(expected.includes(roleGuidOf(String(ra.inputs.roleDefinitionId))!), `${stack} ${ra.name} assigns a role the condition refuses`);
        }
        for (const env of ENVS) {
            const rbac = named(plan, `github-${env}-deploy-rbac`);
            assert.equal(rbac.inputs.scope, subscription);
            assert.equal(rbac.inputs.conditionVersion, "2.0");
            const condition = String(rbac.inputs.condition);
            assert.equal(condition, roleAssignmentCondition(expected));
            const allowed = [...condition.matchAll(/GuidEquals \{([^}]*)\}/g)].map((m) => m[1].split(", ").sort());
            assert.deepEqual(allowed, [expected, expected], "write and delete lists");
            for (const forbidden of [...Object.values(FORBIDDEN_ROLES), BOOTSTRAP_ROLES.roleBasedAccessControlAdministrator]) assert.ok(!condition.includes(forbidden));
            assert.match(condition, /roleAssignments:PrincipalType\] ForAnyOfAnyValues:StringEqualsIgnoreCase \{'ServicePrincipal', 'Group'\}/);
        }
    });

    it("defines a lock role with locks/* only and a deployer role that covers every resource the platform declares", async () => {
        const perms = (key: string) => (customRole(key).inputs.permissions as { actions: string[]; dataActions: string[] }[])[0];
        assert.deepEqual(perms("locks").actions, ["Microsoft.Authorization/locks/*"]);
        assert.deepEqual(perms("locks").dataActions, []);
        const deployer = perms("deployer").actions;
        assert.deepEqual(deployer, deployerRoleActions());
        assert.ok(!deployer.some((a) => /^(\*|Microsoft\.Authorization\/)/i.test(a) && a !== "*/read"), "no wildcard or Authorization write in the deployer role");
        for (const key of ["deployer", "locks", "secrets-decrypt", "preview-invokes"]) assert.deepEqual(customRole(key).inputs.assignableScopes, [subscription]);
        for (const stack of ENVS) {
            const { plan: platform } = await stackPlan(stack);
            for (const r of platform.resources.filter((x) => x.custom)) {
                const action = armWriteAction(r.type, r.inputs);
                if (!action) continue;
                if (r.type === RA) continue; // via the conditioned RBAC Administrator
                const roles = action.startsWith("Microsoft.Authorization/locks/") || r.type.endsWith("ManagementLockByScope") ? perms("locks").actions : deployer;
                assert.ok(actionAllowed(roles, r.type.endsWith("ManagementLockByScope") ? "Microsoft.Authorization/locks/write" : action), `${stack}: ${r.type} (${action}) is outside the deployer's roles`);
            }
        }
    });

    it("lets previews call every list* data source the platform uses, and nothing that writes", () => {
        const calls = new Set<string>();
        for (const dir of ["components", "stacks"]) {
            for (const f of fs.readdirSync(path.join(ROOT, dir)).filter((x) => x.endsWith(".ts"))) {
                for (const m of fs.readFileSync(path.join(ROOT, dir, f), "utf8").matchAll(/\b(list[A-Z]\w*?)(?:Output)?\(/g)) calls.add(m[1]);
            }
        }
        assert.ok(calls.size > 0);
        const actions = (customRole("preview-invokes").inputs.permissions as { actions: string[] }[])[0].actions;
        for (const call of calls) {
            assert.ok(PLATFORM_INVOKE_ACTIONS[call], `components call ${call}, which the preview identity cannot (add it to PLATFORM_INVOKE_ACTIONS)`);
            assert.ok(actions.includes(PLATFORM_INVOKE_ACTIONS[call]));
        }
        assert.ok(actions.every((a) => /\/(listkeys|listSecrets)\/action$/i.test(a)), actions.join(", "));
    });

    it("grants Owner, Contributor or User Access Administrator to no one", () => {
        for (const ra of ofType(plan, RA)) assert.ok(!Object.values(FORBIDDEN_ROLES).includes(roleGuidOf(String(ra.inputs.roleDefinitionId)) as never), ra.name);
    });

    it("keeps the preview identity read-only: Reader, Key Vault Reader, its state read and a decrypt-only key role", () => {
        const decrypt = customRole("secrets-decrypt");
        assert.deepEqual((decrypt.inputs.permissions as { dataActions: string[] }[])[0].dataActions, ["Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/decrypt/action"]);
        for (const env of ENVS) {
            const grants = grantsOf(plan, named(plan, `github-${env}-preview`).outputs.principalId);
            assert.deepEqual(grants.get(BOOTSTRAP_ROLES.reader), [subscription]);
            assert.deepEqual(grants.get(BOOTSTRAP_ROLES.keyVaultReader), [subscription]);
            assert.deepEqual(grants.get(BOOTSTRAP_ROLES.storageBlobDataReader), [named(plan, `state-${env}`).outputs.id]);
            assert.deepEqual(grants.get(String(decrypt.outputs.name)), [named(plan, `secrets-key-${env}`).outputs.id]);
            assert.deepEqual(grants.get(String(customRole("preview-invokes").outputs.name)), [subscription]);
            assert.equal(grants.size, 5);
        }
    });

    it("grants the Graph application permissions as app role assignments on Microsoft Graph, and no directory role", () => {
        const graphSp = ofType(plan, "azuread:index/appRoleAssignment:AppRoleAssignment");
        const byPrincipal = (id: unknown) => graphSp.filter((a) => a.inputs.principalObjectId === id).map((a) => a.inputs.appRoleId).sort();
        assert.equal(new Set(graphSp.map((a) => a.inputs.resourceObjectId)).size, 1, "all on the one Graph service principal");
        for (const env of ENVS) {
            assert.deepEqual(byPrincipal(named(plan, `github-${env}-deploy`).outputs.principalId), Object.values(GRAPH_IDS).sort());
            assert.deepEqual(byPrincipal(named(plan, `github-${env}-preview`).outputs.principalId), [GRAPH_IDS["Application.Read.All"]]);
        }
        assert.ok(!plan.resources.some((r) => /directoryRole/i.test(r.type)));
    });

    it("keeps state versioned, soft-deleted, Entra-only and behind a default-deny firewall", () => {
        const account = named(plan, "state-account");
        assert.equal(account.inputs.allowSharedKeyAccess, false);
        assert.equal(account.inputs.allowBlobPublicAccess, false);
        assert.equal((account.inputs.networkRuleSet as any).defaultAction, "Deny");
        assert.deepEqual((account.inputs.networkRuleSet as any).ipRules, [{ iPAddressOrRange: "203.0.113.10", action: "Allow" }]);
        assert.equal((account.inputs.networkRuleSet as any).virtualNetworkRules.length, ENVS.length);
        assert.equal(account.options.protect, true);
        const blob = named(plan, "state-blob-service");
        assert.equal(blob.inputs.isVersioningEnabled, true);
        assert.deepEqual(blob.inputs.deleteRetentionPolicy, { enabled: true, days: 30 });
        for (const env of ENVS) assert.equal(named(plan, `state-${env}`).inputs.publicAccess, "None");
        const vault = named(plan, "secrets-vault");
        for (const target of [account, vault]) {
            const lock = ofType(plan, "azure-native:authorization:ManagementLockByScope").find((l) => l.inputs.scope === target.outputs.id);
            assert.equal(lock?.inputs.level, "CanNotDelete", `${target.name} has a delete lock`);
        }
        assert.equal((vault.inputs.properties as any).enableRbacAuthorization, true);
        assert.equal((vault.inputs.properties as any).enablePurgeProtection, true);
    });

    it("logs every runner VNet's flows, with traffic analytics in the audit workspace, written by an identity after its grant applied", () => {
        const workspace = named(plan, "audit-law");
        const wait = named(plan, "flowlogs-grant-wait");
        assert.ok(wait.dependencies.includes(named(plan, "flowlogs-blob-writer").urn));
        for (const env of ENVS) {
            const log = named(plan, `flowlogs-${env}`);
            assert.equal(log.inputs.targetResourceId, named(plan, `runners-${env}-vnet`).outputs.id);
            assert.equal(log.inputs.enabled, true);
            assert.equal((log.inputs.flowAnalyticsConfiguration as any).networkWatcherFlowAnalyticsConfiguration.workspaceResourceId, workspace.outputs.id);
            assert.ok(log.dependencies.includes(wait.urn), env);
        }
        assert.equal(named(plan, "flowlogs-st").inputs.allowSharedKeyAccess, false);
    });

    it("creates the secrets-provider keys only after the operator's Key Vault grant has had time to propagate", () => {
        const grant = named(plan, "secrets-operator-crypto-officer");
        assert.equal(roleGuidOf(String(grant.inputs.roleDefinitionId)), BOOTSTRAP_ROLES.keyVaultCryptoOfficer);
        const wait = named(plan, "secrets-operator-grant-wait");
        assert.ok(wait.dependencies.includes(grant.urn));
        assert.equal(wait.inputs.createDuration, "120s");
        for (const env of ENVS) assert.ok(named(plan, `secrets-key-${env}`).dependencies.includes(wait.urn), env);
    });

    it("outputs exactly the variables the workflows need, and no secret", () => {
        const out = stackOutputs(plan);
        assert.ok(!JSON.stringify(out).includes("[secret]"));
        for (const env of ENVS) {
            const vars = out.githubEnvironmentVariables[env];
            assert.deepEqual(Object.keys(vars).sort(), ["AZURE_CLIENT_ID", "AZURE_SUBSCRIPTION_ID", "AZURE_TENANT_ID", "PULUMI_BACKEND_URL", "PULUMI_SECRETS_PROVIDER"]);
            assert.equal(vars.AZURE_CLIENT_ID, named(plan, `github-${env}-deploy`).outputs.clientId);
            assert.equal(vars.PULUMI_BACKEND_URL, `azblob://state-${env}?storage_account=${named(plan, "state-account").outputs.name}`);
            assert.match(vars.PULUMI_SECRETS_PROVIDER, new RegExp(`^azurekeyvault://kv-fhirp-state-[a-z0-9]{5}\\.vault\\.azure\\.net/keys/pulumi-secrets-${env}/[0-9a-f]{32}$`));
            assert.equal(out.githubRepositoryVariables[`AZURE_PREVIEW_CLIENT_ID_${env.toUpperCase()}`], named(plan, `github-${env}-preview`).outputs.clientId);
            assert.equal(out.runnerNetworks[env].virtualNetworkId, named(plan, `runners-${env}-vnet`).outputs.id);
        }
    });
});

describe("bootstrap plan review", function () {
    this.timeout(180000);
    it("tells the reviewer who gets which role where, conditions included", async () => {
        const { dir } = await stackPlan("bootstrap");
        const md = fs.readFileSync(path.join(dir, "plan-bootstrap.md"), "utf8");
        assert.match(md, /## Access\n/);
        // The data-path diagram follows each GitHub subject to its identity and on to the state and key it reaches.
        for (const env of ENVS) {
            assert.ok(md.includes(`gh_rgithub_${env}_deploy_github["GitHub repo:${REPO}:environment:${env}"]`), env);
            assert.ok(md.includes(`gh_rgithub_${env}_deploy_github -->|OIDC federation| rgithub_${env}_deploy`), env);
            assert.ok(md.includes(`rgithub_${env}_preview -->|storageBlobDataReader| rstate_${env}`), env);
            assert.ok(!md.includes(`rgithub_${env}_preview -->|storageBlobDataContributor|`), `${env} preview writes state`);
        }
        for (const env of ENVS) {
            assert.match(md, new RegExp(`\\| github-${env}-deploy \\| roleBasedAccessControlAdministrator \\| subscription \\| yes \\|`));
            assert.match(md, new RegExp(`\\| github-${env}-deploy \\| roles-locks \\| subscription \\|  \\|`));
            assert.match(md, new RegExp(`\\| github-${env}-preview \\| roles-secrets-decrypt \\| secrets-key-${env} \\|  \\|`));
        }
    });
});

