import { strict as assert } from "node:assert";
import { appRoleId, DEFAULT_ACCESS_ROLE_ID, PlatformIdentity, PLATFORM_APP_ROLES, USER_SCOPE } from "../../components/entraId";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { GRACE_DAYS, rotationSchedule, SCHEDULED_DEPLOY_INTERVAL_DAYS, stableUuid } from "../../components/secretRotation";
import { BUILT_IN_ROLES } from "../../components/roles";
import { MOCK_DEPLOYER_OBJECT_ID, MOCK_SUBSCRIPTION_ID, MOCK_TENANT_ID } from "../../tools/offline/arm-mocks";
import { findRegistered, registered, settle } from "../support/pulumi-mocks";

const DAY = 86_400_000;
const RG = "rg-id-test";
const FHIR_ID = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${RG}/providers/Microsoft.HealthcareApis/workspaces/ws/fhirservices/fhir`;
const READERS = ["3f1c2b9e-5d47-4a61-9c0e-7b2a8d4e6f10"];

describe("secret rotation schedule (pure)", () => {
    it("alternates two slots so the previous secret stays valid for a full period after a new one", () => {
        for (const period of [30, 90]) {
            let previousCurrent: string | undefined;
            for (let day = 0; day < 4 * period; day += 7) {
                const now = new Date(Date.UTC(2026, 0, 1) + day * DAY);
                const s = rotationSchedule(now, period);
                const current = s.slots[s.current];
                const other = s.slots[s.current === "a" ? "b" : "a"];
                assert.ok(current.issued <= now && now.getTime() < current.issued.getTime() + period * DAY, "current slot was issued this period");
                assert.ok(other.expires.getTime() > now.getTime() + 0, "the previous secret has not expired");
                assert.equal(current.expires.getTime() - current.issued.getTime(), (2 * period + GRACE_DAYS) * DAY);
                // Key Vault always gets a secret valid for at least one more period.
                assert.ok(current.expires.getTime() - now.getTime() > period * DAY);
                if (previousCurrent && previousCurrent !== s.current) assert.notEqual(previousCurrent, s.current);
                previousCurrent = s.current;
            }
        }
    });

    it("keeps keepers stable within a period and changes exactly one slot at a boundary", () => {
        const start = new Date(Date.UTC(2026, 5, 10));
        const a = rotationSchedule(start, 30);
        const sameDay = rotationSchedule(new Date(start.getTime() + 3600_000), 30);
        assert.deepEqual(a.slots, sameDay.slots);
        const boundary = new Date((a.period + 1) * 30 * DAY);
        const b = rotationSchedule(boundary, 30);
        const changed = (["a", "b"] as const).filter((k) => a.slots[k].keeper !== b.slots[k].keeper);
        assert.deepEqual(changed, [b.current]);
        assert.throws(() => rotationSchedule(start, 0), /positive whole number/);
        assert.equal(stableUuid("x"), stableUuid("x"));
        assert.match(stableUuid("x"), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });
});

describe("no HL7 sender secret expires between two scheduled deploys", () => {
    it("keeps the published secret valid until the next weekly run, for every day of three years and every allowed period", () => {
        const DAY = 86_400_000;
        const start = Date.UTC(2026, 0, 1);
        for (const period of [SCHEDULED_DEPLOY_INTERVAL_DAYS, 30, 90, 180]) {
            for (let offset = 0; offset < SCHEDULED_DEPLOY_INTERVAL_DAYS; offset++) {
                let previousCurrent: { keeper: string; expires: number } | undefined;
                for (let day = offset; day < 3 * 365; day += SCHEDULED_DEPLOY_INTERVAL_DAYS) {
                    const runAt = start + day * DAY;
                    const schedule = rotationSchedule(new Date(runAt), period);
                    const published = schedule.slots[schedule.current];
                    const nextRun = runAt + SCHEDULED_DEPLOY_INTERVAL_DAYS * DAY;
                    assert.ok(published.expires.getTime() > nextRun, `period ${period}: secret published on day ${day} expires before the next run`);
                    // A sender still holding the previous secret keeps working after the switch: the run that publishes the
                    // new one comes at most interval-1 days after the period boundary, so the old one has at least
                    // period - interval + 2 days left (a full period minus the run's delay, plus the grace day).
                    if (previousCurrent && previousCurrent.keeper !== published.keeper) {
                        const overlapDays = (previousCurrent.expires - runAt) / DAY;
                        assert.ok(overlapDays >= period - SCHEDULED_DEPLOY_INTERVAL_DAYS + 1 + GRACE_DAYS, `period ${period}: ${overlapDays} days of overlap on day ${day}`);
                    }
                    previousCurrent = { keeper: published.keeper, expires: published.expires.getTime() };
                }
            }
        }
    });

    it("runs the deploy weekly, the interval the guarantee assumes", () => {
        const workflow = parse(fs.readFileSync(path.join(__dirname, "..", "..", ".github", "workflows", "deploy.yml"), "utf8")) as { on: { schedule: { cron: string }[] } };
        const [minute, hour, dom, month, dow] = workflow.on.schedule[0].cron.split(" ");
        assert.ok(/^\d+$/.test(minute) && /^\d+$/.test(hour) && dom === "*" && month === "*" && /^[0-6]$/.test(dow), "once a week");
        assert.equal(SCHEDULED_DEPLOY_INTERVAL_DAYS, 7);
    });
});

describe("PlatformIdentity (under mocks)", () => {
    const now = new Date(Date.UTC(2026, 10, 22));
    before(async () => {
        new PlatformIdentity("ent", {
            environment: "unit", tenantId: MOCK_TENANT_ID, subscriptionId: MOCK_SUBSCRIPTION_ID, deployerObjectId: MOCK_DEPLOYER_OBJECT_ID, secretRotationDays: 30,
            spaRedirectUris: ["https://portal.example.org/auth/callback"], fhirReaderGroupObjectIds: READERS,
            fhirServiceId: FHIR_ID, keyVault: { name: "kv-unit", resourceGroupName: RG }, fhirAuthMode: "managedIdentity", now,
        });
        new PlatformIdentity("entcc", {
            environment: "unitcc", tenantId: MOCK_TENANT_ID, subscriptionId: MOCK_SUBSCRIPTION_ID, deployerObjectId: MOCK_DEPLOYER_OBJECT_ID, secretRotationDays: 90,
            spaRedirectUris: [], fhirReaderGroupObjectIds: [],
            fhirServiceId: FHIR_ID, keyVault: { name: "kv-unit", resourceGroupName: RG }, fhirAuthMode: "clientCredentials", now,
        });
        await settle();
    });
    const app = (name: string) => findRegistered("azuread:index/application:Application", name);

    it("registers the platform API with v2 tokens, the three app roles, a user scope and an api:// identifier URI", () => {
        const api = app("ent-api").inputs as any;
        assert.equal(api.signInAudience, "AzureADMyOrg");
        assert.equal(api.api.requestedAccessTokenVersion, 2);
        assert.deepEqual(api.appRoles.map((r: any) => r.value).sort(), ["FHIR.Read", "FHIR.Write", "HL7.Send"]);
        for (const r of api.appRoles) assert.equal(r.id, appRoleId(r.value));
        assert.deepEqual(api.appRoles.find((r: any) => r.value === "HL7.Send").allowedMemberTypes, ["Application"]);
        assert.deepEqual(api.api.oauth2PermissionScopes.map((s: any) => s.value), [USER_SCOPE]);
        const uri = findRegistered("azuread:index/applicationIdentifierUri:ApplicationIdentifierUri", "ent-api-uri").inputs as any;
        assert.equal(uri.identifierUri, `api://${app("ent-api").outputs.clientId}`);
        assert.equal(uri.applicationId, app("ent-api").outputs.id);
        const sp = findRegistered("azuread:index/servicePrincipal:ServicePrincipal", "ent-api-sp").inputs as any;
        assert.equal(sp.appRoleAssignmentRequired, true);
        assert.equal(PLATFORM_APP_ROLES.length, 3);
    });

    it("makes the deploying identity owner of every registration and service principal (Graph Application.ReadWrite.OwnedBy)", () => {
        const mine = registered().filter((r) => /^ent(cc)?-/.test(r.name) && /application:Application$|servicePrincipal:ServicePrincipal$/.test(r.type));
        assert.ok(mine.length >= 8);
        for (const r of mine) assert.deepEqual((r.inputs as any).owners, [MOCK_DEPLOYER_OBJECT_ID], r.name);
    });

    it("gives the HL7 sender client only HL7.Send, as an app role assignment on the API", () => {
        const sender = app("ent-hl7-sender").inputs as any;
        assert.deepEqual(sender.requiredResourceAccesses[0].resourceAccesses, [{ id: appRoleId("HL7.Send"), type: "Role" }]);
        const assignment = findRegistered("azuread:index/appRoleAssignment:AppRoleAssignment", "ent-hl7-sender-role").inputs as any;
        assert.equal(assignment.appRoleId, appRoleId("HL7.Send"));
        assert.equal(assignment.resourceObjectId, findRegistered("azuread:index/servicePrincipal:ServicePrincipal", "ent-api-sp").outputs.objectId);
        assert.equal(assignment.principalObjectId, findRegistered("azuread:index/servicePrincipal:ServicePrincipal", "ent-hl7-sender-sp").outputs.objectId);
    });

    it("rotates the sender's secret on the configured period and publishes the newest to Key Vault with expiry and content type", () => {
        const schedule = rotationSchedule(now, 30);
        for (const slot of ["a", "b"] as const) {
            const pw = findRegistered("azuread:index/applicationPassword:ApplicationPassword", `ent-hl7-sender-secret-${slot}`);
            const inputs = pw.inputs as any;
            assert.deepEqual(inputs.rotateWhenChanged, { generation: schedule.slots[slot].keeper });
            assert.equal(inputs.endDate, schedule.slots[slot].expires.toISOString());
            assert.equal(pw.outputs.value, "[secret]", "password value is secret");
        }
        const kv = findRegistered("azure-native:keyvault:Secret", "ent-hl7-sender-kv-secret").inputs as any;
        assert.equal(kv.vaultName, "kv-unit");
        assert.equal(kv.secretName, "hl7-sender-client-secret");
        assert.equal(kv.properties.value, "[secret]");
        assert.ok(kv.properties.contentType);
        assert.equal(kv.properties.attributes.expires, schedule.slots[schedule.current].expires.getTime() / 1000);
        assert.equal(kv.tags.rotationPeriodDays, "30");
        const cc = findRegistered("azure-native:keyvault:Secret", "entcc-hl7-sender-kv-secret").inputs as any;
        assert.equal(cc.tags.rotationPeriodDays, "90", "the period comes from config");
    });

    it("makes the SPA a public client: PKCE redirect URIs, no password, no fallback flows, the user scope pre-consented", () => {
        const spa = app("ent-public").inputs as any;
        assert.deepEqual(spa.singlePageApplication.redirectUris, ["https://portal.example.org/auth/callback"]);
        assert.equal(spa.fallbackPublicClientEnabled, false);
        assert.equal(spa.web, undefined);
        assert.ok(!registered().some((r) => r.type.includes("applicationPassword") && r.name.startsWith("ent-public")));
        const grant = findRegistered("azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant", "ent-public-grant").inputs as any;
        assert.deepEqual(grant.claimValues, [USER_SCOPE]);
        // Sign-in restricted to the configured groups.
        assert.equal((findRegistered("azuread:index/servicePrincipal:ServicePrincipal", "ent-public-sp").inputs as any).appRoleAssignmentRequired, true);
        const access = registered().filter((r) => r.type === "azuread:index/appRoleAssignment:AppRoleAssignment" && r.name.startsWith("ent-public-access-"));
        assert.deepEqual(access.map((a) => (a.inputs as any).principalObjectId).sort(), [...READERS].sort());
        for (const a of access) assert.equal((a.inputs as any).appRoleId, DEFAULT_ACCESS_ROLE_ID);
    });

    it("gives configured groups FHIR.Read at the gateway and no FHIR data role (FHIR sees the gateway, which stamps the caller)", () => {
        const appRole = findRegistered("azuread:index/appRoleAssignment:AppRoleAssignment", "ent-reader-group-0").inputs as any;
        assert.equal(appRole.appRoleId, appRoleId("FHIR.Read"));
        assert.equal(appRole.principalObjectId, READERS[0]);
        const groupGrants = registered().filter((r) => r.type === "azure-native:authorization:RoleAssignment" && /^ent(cc)?-/.test(r.name) && (r.inputs as any).principalType !== "ServicePrincipal");
        assert.deepEqual(groupGrants.map((r) => r.name), [], "no data-plane role for users or groups");
    });

    it("creates a FHIR client with its own rotating secret and FHIR Data Writer only in client-credentials mode", () => {
        assert.ok(!registered().some((r) => r.name.startsWith("ent-fhir-client")));
        const writer = findRegistered("azure-native:authorization:RoleAssignment", "entcc-role-fhir-client-writer").inputs as any;
        assert.ok(writer.roleDefinitionId.endsWith(BUILT_IN_ROLES.fhirDataWriter));
        assert.equal(writer.principalType, "ServicePrincipal");
        assert.equal((findRegistered("azure-native:keyvault:Secret", "entcc-fhir-client-kv-secret").inputs as any).secretName, "fhir-client-secret");
    });
});
