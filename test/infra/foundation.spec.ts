import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { AHDS_WORKSPACE_API_VERSION, HealthDataServices } from "../../components/healthData";
import { roleAssignmentName } from "../../components/rbac";
import { CmkKeyVault } from "../../components/keyVault";
import { Monitoring } from "../../components/monitoring";
import { PlatformNetwork, PRIVATE_DNS_ZONES } from "../../components/network";
import { BUILT_IN_ROLES } from "../../components/roles";
import { MOCK_DEPLOYER_OBJECT_ID, MOCK_SUBSCRIPTION_ID, MOCK_TENANT_ID } from "../../tools/offline/arm-mocks";
import { findRegistered, registered, settle } from "../support/pulumi-mocks";

/** The foundation components built once with test args, as the stack would build them. */
describe("foundation components (under mocks)", () => {
    const naming = { prefix: "unit", environment: "test" };
    const tags = { environment: "test" };
    const subnets = { privateEndpoints: "10.9.0.0/26", functionIntegration: "10.9.1.0/26", apim: "10.9.2.0/27", appGateway: "10.9.3.0/24" };
    const createdAt = new Date(Date.UTC(2026, 10, 22));
    let net: PlatformNetwork;
    let monitoring: Monitoring;
    let vault: CmkKeyVault;
    let health: HealthDataServices;

    const byName = (type: string, name: string) => findRegistered(type, name);
    const idOf = (type: string, name: string) => byName(type, name).outputs.id as string;

    before(async () => {
        const common = { naming, resourceGroupName: "rg-unit-test", location: "westeurope", tags };
        monitoring = new Monitoring("t-mon", { ...common, logRetentionDays: 90, dailyQuotaGb: 0 });
        net = new PlatformNetwork("t-net", { ...common, addressSpace: "10.9.0.0/22", subnets });
        vault = new CmkKeyVault("t-kv", {
            ...common, globalSuffix: pulumi.output("ab12c"), tenantId: MOCK_TENANT_ID, subscriptionId: MOCK_SUBSCRIPTION_ID,
            deployer: { objectId: MOCK_DEPLOYER_OBJECT_ID, principalType: "ServicePrincipal" }, rbacPropagationSeconds: 150,
            sku: "premium", softDeleteRetentionDays: 90, keySize: 3072, keyExpiryDays: 365, rotateBeforeExpiryDays: 30,
            deleteLock: true, privateEndpointSubnetId: net.subnets.privateEndpoints.id, vaultDnsZoneId: net.dnsZoneIds.keyVault,
            monitoring, now: createdAt,
        });
        health = new HealthDataServices("t-hds", {
            ...common, globalSuffix: pulumi.output("ab12c"), tenantId: MOCK_TENANT_ID,
            fhirIdentity: vault.fhirIdentity, cmkKey: vault.cmkKey, cmkVaultName: vault.vault.name, cmkGrantPropagated: vault.cmkGrantPropagated, deleteLock: true,
            privateEndpointSubnetId: net.subnets.privateEndpoints.id,
            healthcareDnsZoneIds: [net.dnsZoneIds.healthcareApis, net.dnsZoneIds.healthcareDicom],
            monitoring,
        });
        await settle();
    });

    describe("PlatformNetwork", () => {
        it("puts every subnet behind its own NSG", () => {
            for (const role of ["privateEndpoints", "functionIntegration", "apim", "appGateway"]) {
                const subnet = byName("azure-native:network:Subnet", `t-net-snet-${role}`);
                assert.equal((subnet.inputs.networkSecurityGroup as { id: string }).id, idOf("azure-native:network:NetworkSecurityGroup", `t-net-nsg-${role}`));
                assert.equal(subnet.inputs.addressPrefix, subnets[role as keyof typeof subnets]);
            }
            const declaredSubnets = registered().filter((r) => r.type === "azure-native:network:Subnet" && r.name.startsWith("t-net-"));
            assert.equal(declaredSubnets.length, 4);
        });

        it("gives no subnet default outbound access; the Function and APIM subnets leave through the NAT gateway", () => {
            const nat = byName("azure-native:network:NatGateway", "t-net-nat");
            assert.deepEqual(nat.inputs.sku, { name: "Standard" });
            assert.deepEqual((nat.inputs.publicIpAddresses as { id: string }[]).map((p) => p.id), [idOf("azure-native:network:PublicIPAddress", "t-net-nat-pip")]);
            for (const role of ["privateEndpoints", "functionIntegration", "apim", "appGateway"]) {
                const subnet = byName("azure-native:network:Subnet", `t-net-snet-${role}`);
                assert.equal(subnet.inputs.defaultOutboundAccess, false, role);
                const viaNat = (subnet.inputs.natGateway as { id: string } | undefined)?.id === nat.outputs.id;
                assert.equal(viaNat, ["functionIntegration", "apim"].includes(role), `${role} NAT`);
            }
            const vnet = byName("azure-native:network:VirtualNetwork", "t-net-vnet");
            assert.equal(vnet.inputs.ddosProtectionPlan, undefined, "no DDoS plan unless asked");
        });

        it("delegates the Function subnet to Microsoft.App/environments (Flex Consumption)", () => {
            const subnet = byName("azure-native:network:Subnet", "t-net-snet-functionIntegration");
            assert.deepEqual((subnet.inputs.delegations as { serviceName: string }[]).map((d) => d.serviceName), ["Microsoft.App/environments"]);
        });

        it("applies NSG rules to private endpoints and gives their subnet no default outbound access", () => {
            const subnet = byName("azure-native:network:Subnet", "t-net-snet-privateEndpoints");
            assert.equal(subnet.inputs.privateEndpointNetworkPolicies, "Enabled");
            assert.equal(subnet.inputs.defaultOutboundAccess, false);
        });

        it("opens the ports APIM VNet injection needs and ends every NSG with an explicit deny", () => {
            const apimRules = byName("azure-native:network:NetworkSecurityGroup", "t-net-nsg-apim").inputs.securityRules as Record<string, unknown>[];
            const inbound = apimRules.filter((r) => r.direction === "Inbound" && r.access === "Allow");
            assert.ok(inbound.some((r) => r.sourceAddressPrefix === "ApiManagement" && r.destinationPortRange === "3443"), "management endpoint 3443");
            assert.ok(inbound.some((r) => r.sourceAddressPrefix === "AzureLoadBalancer" && r.destinationPortRange === "6390"), "load balancer 6390");
            const outbound = apimRules.filter((r) => r.direction === "Outbound" && r.access === "Allow");
            for (const tag of ["Storage", "Sql", "AzureKeyVault", "AzureMonitor"]) {
                assert.ok(outbound.some((r) => r.destinationAddressPrefix === tag), `outbound to ${tag}`);
            }
            for (const role of ["privateEndpoints", "functionIntegration", "apim"]) {
                const rules = byName("azure-native:network:NetworkSecurityGroup", `t-net-nsg-${role}`).inputs.securityRules as Record<string, unknown>[];
                const last = rules.filter((r) => r.direction === "Inbound").sort((a, b) => Number(b.priority) - Number(a.priority))[0];
                assert.deepEqual([last.access, last.sourceAddressPrefix, last.priority], ["Deny", "*", 4096], role);
                assert.ok(rules.every((r) => typeof r.description === "string" && (r.description as string).length > 10), `${role}: every rule says why`);
                assert.ok(!rules.some((r) => r.direction === "Inbound" && r.access === "Allow" && ["*", "Internet", "0.0.0.0/0"].includes(r.sourceAddressPrefix as string)), `${role}: nothing from the internet`);
            }
        });

        it("creates every private DNS zone, each linked to the VNet without auto-registration", () => {
            const vnetId = idOf("azure-native:network:VirtualNetwork", "t-net-vnet");
            for (const [key, zoneName] of Object.entries(PRIVATE_DNS_ZONES)) {
                const zone = byName("azure-native:privatedns:PrivateZone", `t-net-dns-${key}`);
                assert.equal(zone.inputs.privateZoneName, zoneName);
                assert.equal(zone.inputs.location, "global");
                const link = byName("azure-native:privatedns:VirtualNetworkLink", `t-net-dns-${key}-link`);
                assert.equal((link.inputs.virtualNetwork as { id: string }).id, vnetId);
                assert.equal(link.inputs.registrationEnabled, false);
                assert.equal(link.inputs.privateZoneName, zoneName);
            }
            assert.ok(Object.values(PRIVATE_DNS_ZONES).includes("privatelink.azurehealthcareapis.com"));
            assert.ok(Object.values(PRIVATE_DNS_ZONES).includes("privatelink.dicom.azurehealthcareapis.com"));
        });
    });

    describe("Monitoring", () => {
        it("creates workspace-based Application Insights with local auth disabled", () => {
            const appi = byName("azure-native:applicationinsights:Component", "t-mon-appi");
            assert.equal(appi.inputs.disableLocalAuth, true);
            assert.equal(appi.inputs.workspaceResourceId, idOf("azure-native:operationalinsights:Workspace", "t-mon-law"));
            assert.equal(appi.inputs.ingestionMode, "LogAnalytics");
        });

        it("keeps logs for the configured retention, with Entra-only ingestion", () => {
            const law = byName("azure-native:operationalinsights:Workspace", "t-mon-law");
            assert.equal(law.inputs.retentionInDays, 90);
            assert.equal((law.inputs.features as { disableLocalAuth: boolean }).disableLocalAuth, true);
        });

        it("attaches diagnostic settings: allLogs + AllMetrics by default, named categories on request", async () => {
            monitoring.diagnostics("t-any", "/subscriptions/x/resourceGroups/y/providers/Microsoft.Web/sites/z");
            await settle();
            const diag = byName("azure-native:monitor:DiagnosticSetting", "t-any-diag");
            assert.deepEqual(diag.inputs.logs, [{ categoryGroup: "allLogs", enabled: true }]);
            assert.deepEqual(diag.inputs.metrics, [{ category: "AllMetrics", enabled: true }]);
            assert.equal(diag.inputs.workspaceId, idOf("azure-native:operationalinsights:Workspace", "t-mon-law"));
        });
    });

    describe("CmkKeyVault", () => {
        it("creates the vault in RBAC mode with soft delete, purge protection and no public access", () => {
            const props = byName("azure-native:keyvault:Vault", "t-kv-vault").inputs.properties as Record<string, any>;
            assert.equal(props.enableRbacAuthorization, true);
            assert.equal(props.enableSoftDelete, true);
            assert.equal(props.enablePurgeProtection, true);
            assert.equal(props.softDeleteRetentionInDays, 90);
            assert.equal(props.publicNetworkAccess, "Disabled");
            assert.deepEqual({ defaultAction: props.networkAcls.defaultAction, bypass: props.networkAcls.bypass }, { defaultAction: "Deny", bypass: "AzureServices" });
            assert.deepEqual([props.enabledForDeployment, props.enabledForDiskEncryption, props.enabledForTemplateDeployment], [false, false, false]);
            assert.equal(props.tenantId, MOCK_TENANT_ID);
        });

        it("gives the vault a globally unique name from the random suffix", () => {
            const vaultRes = byName("azure-native:keyvault:Vault", "t-kv-vault");
            assert.equal(vaultRes.inputs.vaultName, "kv-unit-test-ab12c");
        });

        it("reaches the vault only through a `vault` private endpoint registered in its DNS zone", () => {
            const pe = byName("azure-native:network:PrivateEndpoint", "t-kv-vault-pe");
            const conn = (pe.inputs.privateLinkServiceConnections as any[])[0];
            assert.deepEqual(conn.groupIds, ["vault"]);
            assert.equal(conn.privateLinkServiceId, idOf("azure-native:keyvault:Vault", "t-kv-vault"));
            assert.equal((pe.inputs.subnet as { id: string }).id, idOf("azure-native:network:Subnet", "t-net-snet-privateEndpoints"));
            const group = byName("azure-native:network:PrivateDnsZoneGroup", "t-kv-vault-dns");
            assert.deepEqual((group.inputs.privateDnsZoneConfigs as any[]).map((c) => c.privateDnsZoneId), [idOf("azure-native:privatedns:PrivateZone", "t-net-dns-keyVault")]);
        });

        it("sends AuditEvent logs to Log Analytics", () => {
            const diag = byName("azure-native:monitor:DiagnosticSetting", "t-kv-vault-diag");
            assert.equal(diag.inputs.resourceUri, idOf("azure-native:keyvault:Vault", "t-kv-vault"));
            assert.deepEqual(diag.inputs.logs, [{ category: "AuditEvent", enabled: true }]);
        });

        it("creates an RSA wrap/unwrap key of the configured size with an expiry and a rotation policy", () => {
            const key = byName("azure-native:keyvault:Key", "t-kv-cmk");
            const props = key.inputs.properties as Record<string, any>;
            assert.equal(props.kty, "RSA");
            assert.equal(props.keySize, 3072);
            assert.deepEqual(props.keyOps, ["wrapKey", "unwrapKey"]);
            assert.equal(props.attributes.expires, Date.UTC(2026, 10, 22) / 1000 + 365 * 86400);
            assert.equal(props.rotationPolicy.attributes.expiryTime, "P365D");
            assert.ok(props.rotationPolicy.lifetimeActions.some((a: any) => a.action.type === "rotate" && a.trigger.timeBeforeExpiry === "P30D"));
        });

        it("grants the deployer Key Vault Crypto Officer on the vault and creates the key only after that grant propagated", () => {
            const ra = byName("azure-native:authorization:RoleAssignment", "t-kv-role-deployer-crypto-officer");
            const vaultId = idOf("azure-native:keyvault:Vault", "t-kv-vault");
            assert.equal(ra.inputs.scope, vaultId);
            assert.equal(ra.inputs.principalId, MOCK_DEPLOYER_OBJECT_ID);
            assert.equal(ra.inputs.principalType, "ServicePrincipal");
            assert.equal(ra.inputs.roleDefinitionId, `/subscriptions/${MOCK_SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/${BUILT_IN_ROLES.keyVaultCryptoOfficer}`);
            assert.equal(ra.inputs.roleAssignmentName, roleAssignmentName(vaultId, BUILT_IN_ROLES.keyVaultCryptoOfficer, MOCK_DEPLOYER_OBJECT_ID));
            const wait = byName("time:index/sleep:Sleep", "t-kv-deployer-grant-wait");
            assert.equal(wait.inputs.createDuration, "150s");
            assert.ok(wait.dependencies.includes(ra.urn), "the wait starts after the grant");
            const key = byName("azure-native:keyvault:Key", "t-kv-cmk");
            assert.ok(key.dependencies.includes(wait.urn), "the key waits for the deployer's grant to propagate");
            assert.ok(!key.dependencies.includes(ra.urn) || key.dependencies.includes(wait.urn));
        });

        it("grants the FHIR identity Crypto Service Encryption User on the key only, as a service principal, under a deterministic name", () => {
            const ra = byName("azure-native:authorization:RoleAssignment", "t-kv-role-fhir-cmk");
            const keyId = idOf("azure-native:keyvault:Key", "t-kv-cmk");
            assert.equal(ra.inputs.scope, keyId);
            const principal = byName("azure-native:managedidentity:UserAssignedIdentity", "t-kv-fhir-id").outputs.principalId as string;
            assert.equal(ra.inputs.roleAssignmentName, roleAssignmentName(keyId, BUILT_IN_ROLES.keyVaultCryptoServiceEncryptionUser, principal));
            assert.equal(ra.inputs.roleDefinitionId, `/subscriptions/${MOCK_SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/${BUILT_IN_ROLES.keyVaultCryptoServiceEncryptionUser}`);
            assert.equal(ra.inputs.principalId, byName("azure-native:managedidentity:UserAssignedIdentity", "t-kv-fhir-id").outputs.principalId);
            assert.equal(ra.inputs.principalType, "ServicePrincipal");
        });

        it("locks and protects the vault against deletion when asked", () => {
            const lock = byName("azure-native:authorization:ManagementLockByScope", "t-kv-vault-lock");
            assert.equal(lock.inputs.level, "CanNotDelete");
            assert.equal(lock.inputs.scope, idOf("azure-native:keyvault:Vault", "t-kv-vault"));
            assert.equal(byName("azure-native:keyvault:Vault", "t-kv-vault").options.protect, true);
        });
    });

    describe("HealthDataServices", () => {
        const fhirType = "azure-native:healthcareapis:FhirService";

        it("runs FHIR R4 as the user-assigned identity, encrypted with the key's versioned URI", () => {
            const fhir = byName(fhirType, "t-hds-fhir");
            const key = byName("azure-native:keyvault:Key", "t-kv-cmk");
            assert.equal(fhir.inputs.kind, "fhir-R4");
            assert.deepEqual(fhir.inputs.identity, { type: "UserAssigned", userAssignedIdentities: [idOf("azure-native:managedidentity:UserAssignedIdentity", "t-kv-fhir-id")] });
            const url = (fhir.inputs.encryption as any).customerManagedKeyEncryption.keyEncryptionKeyUrl as string;
            assert.equal(url, key.outputs.keyUriWithVersion);
            assert.match(url, /^https:\/\/kv-unit-test-ab12c\.vault\.azure\.net\/keys\/fhir-cmk\/[0-9a-f]{32}$/);
        });

        it("is created only after the key role assignment has propagated (a wait between grant and FHIR)", () => {
            const fhir = byName(fhirType, "t-hds-fhir");
            const roleUrn = byName("azure-native:authorization:RoleAssignment", "t-kv-role-fhir-cmk").urn;
            const wait = byName("time:index/sleep:Sleep", "t-kv-cmk-grant-wait");
            assert.ok(wait.dependencies.includes(roleUrn), "the wait starts after the CMK grant");
            assert.equal(wait.inputs.createDuration, "150s");
            assert.ok(fhir.dependencies.includes(wait.urn), "FHIR must depend on the propagation wait");
            // The key itself is an implicit dependency through the encryption input.
            assert.ok(fhir.propertyDependencies.encryption?.includes(byName("azure-native:keyvault:Key", "t-kv-cmk").urn));
        });

        it("accepts tokens from the tenant for its own URL as audience", () => {
            const auth = byName(fhirType, "t-hds-fhir").inputs.authenticationConfiguration as Record<string, unknown>;
            assert.equal(auth.authority, `https://login.microsoftonline.com/${MOCK_TENANT_ID}`);
            assert.equal(auth.audience, "https://ahdsunittestab12c-fhir.fhir.azurehealthcareapis.com");
            assert.equal(auth.smartProxyEnabled, false);
        });

        it("leaves CORS to the gateway (browsers never reach FHIR directly) and keeps resource versions", () => {
            const fhir = byName(fhirType, "t-hds-fhir");
            assert.equal(fhir.inputs.corsConfiguration, undefined);
            assert.deepEqual(fhir.inputs.resourceVersionPolicyConfiguration, { default: "versioned" });
            assert.deepEqual(fhir.inputs.importConfiguration, { enabled: false, initialImportMode: false });
        });

        it("sends FHIR AuditLogs to Log Analytics", () => {
            const diag = byName("azure-native:monitor:DiagnosticSetting", "t-hds-fhir-diag");
            assert.equal(diag.inputs.resourceUri, idOf(fhirType, "t-hds-fhir"));
            assert.deepEqual(diag.inputs.logs, [{ category: "AuditLogs", enabled: true }]);
            assert.deepEqual(diag.inputs.metrics, [{ category: "AllMetrics", enabled: true }]);
        });

        it("creates the workspace private endpoint after the FHIR service, in both AHDS DNS zones", () => {
            const pe = byName("azure-native:network:PrivateEndpoint", "t-hds-workspace-pe");
            const conn = (pe.inputs.privateLinkServiceConnections as any[])[0];
            assert.deepEqual(conn.groupIds, ["healthcareworkspace"]);
            assert.equal(conn.privateLinkServiceId, idOf("azure-native:resources:Resource", "t-hds-workspace"));
            assert.ok(pe.dependencies.includes(byName(fhirType, "t-hds-fhir").urn), "the endpoint must wait for FHIR");
            const group = byName("azure-native:network:PrivateDnsZoneGroup", "t-hds-workspace-dns");
            assert.deepEqual((group.inputs.privateDnsZoneConfigs as any[]).map((c) => c.privateDnsZoneId), [
                idOf("azure-native:privatedns:PrivateZone", "t-net-dns-healthcareApis"),
                idOf("azure-native:privatedns:PrivateZone", "t-net-dns-healthcareDicom"),
            ]);
        });

        it("declares the workspace with public network access disabled (generic resource at the pinned API)", () => {
            const ws = byName("azure-native:resources:Resource", "t-hds-workspace");
            assert.equal(ws.inputs.resourceProviderNamespace, "Microsoft.HealthcareApis");
            assert.equal(ws.inputs.resourceType, "workspaces");
            assert.equal(ws.inputs.apiVersion, AHDS_WORKSPACE_API_VERSION);
            assert.deepEqual(ws.inputs.properties, { publicNetworkAccess: "Disabled" });
            assert.equal(byName(fhirType, "t-hds-fhir").inputs.workspaceName, ws.outputs.name);
        });

        it("protects and locks the workspace and the FHIR service when asked", () => {
            for (const [type, name] of [["azure-native:resources:Resource", "t-hds-workspace"], [fhirType, "t-hds-fhir"]]) {
                assert.equal(byName(type, name).options.protect, true, `${name} protect`);
                const lock = byName("azure-native:authorization:ManagementLockByScope", `${name}-lock`);
                assert.equal(lock.inputs.level, "CanNotDelete");
                assert.equal(lock.inputs.scope, idOf(type, name));
            }
        });

        it("exposes the FHIR URL", async () => {
            const url = await new Promise<string>((resolve) => health.fhirUrl.apply(resolve));
            assert.equal(url, "https://ahdsunittestab12c-fhir.fhir.azurehealthcareapis.com");
        });
    });
});
