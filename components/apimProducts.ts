import * as pulumi from "@pulumi/pulumi";
import * as apimanagement from "@pulumi/azure-native/apimanagement";
import * as keyvault from "@pulumi/azure-native/keyvault";
import { ApiConsumer, ApiProductName, API_PRODUCTS } from "./apimSettings";

export { API_PRODUCTS, type ApiConsumer, type ApiProductName };

/** Key Vault secret names of a consumer's two subscription keys (primary, secondary: rotate one at a time). */
export function subscriptionKeySecretNames(consumer: string): { primary: string; secondary: string } {
    return { primary: `apim-sub-${consumer}-primary`, secondary: `apim-sub-${consumer}-secondary` };
}

export interface ApiProductsArgs {
    resourceGroupName: pulumi.Input<string>;
    /** The APIM service name. */
    serviceName: pulumi.Input<string>;
    /** The declared APIs, by product, so each product is linked after its API exists. */
    apis: Record<ApiProductName, apimanagement.Api>;
    /** Callers given their own subscription; a product with no consumer still exists, closed. */
    consumers: ApiConsumer[];
    /** Where each consumer's keys are handed over (platform operators read them from there; nothing in outputs). */
    keyVault: { name: pulumi.Input<string>; resourceGroupName: pulumi.Input<string> };
    /** Expiry of the Key Vault copies (epoch seconds): keys are rotated by a `pulumi up` before then. */
    keyExpires: number;
}

/**
 * Products and per-consumer subscriptions. With `subscriptionRequired` on an API and no product, only APIM's built-in
 * all-access subscription could call it (Learn, "Subscriptions in API Management"). Each consumer gets a subscription
 * scoped to one product, approval required, no tracing; APIM generates its keys and they are copied to Key Vault,
 * where the consumer's onboarding reads them (regenerating a key in APIM and re-running `pulumi up` rotates it).
 */
export class ApiProducts extends pulumi.ComponentResource {
    public readonly products: Record<ApiProductName, apimanagement.Product>;
    public readonly subscriptions: Record<string, apimanagement.Subscription>;

    constructor(name: string, args: ApiProductsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("fhirplatform:edge:ApiProducts", name, {}, opts);
        const common = { resourceGroupName: args.resourceGroupName, serviceName: args.serviceName };
        const seen = new Set<string>();
        for (const c of args.consumers) {
            if (seen.has(c.name)) throw new Error(`${name}: API consumer "${c.name}" is listed twice`);
            seen.add(c.name);
        }

        this.products = {} as Record<ApiProductName, apimanagement.Product>;
        for (const [key, product] of Object.entries(API_PRODUCTS) as [ApiProductName, (typeof API_PRODUCTS)[ApiProductName]][]) {
            const created = new apimanagement.Product(`${name}-${key}`, {
                ...common,
                productId: key,
                displayName: product.displayName,
                description: product.description,
                // Keys are issued by this program only; nobody self-subscribes through a portal.
                subscriptionRequired: true,
                approvalRequired: true,
                subscriptionsLimit: 1,
                state: "published",
            }, { parent: this });
            new apimanagement.ProductApi(`${name}-${key}-api`, { ...common, productId: created.name, apiId: args.apis[key].name }, { parent: this });
            this.products[key] = created;
        }

        this.subscriptions = {};
        for (const consumer of args.consumers) {
            // APIM generates the keys; the deployer reads them through ARM (listSecrets) and hands them over in Key
            // Vault, so no generated credential flows anywhere but there (policy secret-sources-only-to-keyvault).
            const subscription = new apimanagement.Subscription(`${name}-${consumer.name}`, {
                ...common,
                sid: consumer.name,
                displayName: consumer.name,
                scope: pulumi.interpolate`/products/${this.products[consumer.product].name}`,
                state: "active",
                allowTracing: false,
            }, { parent: this, additionalSecretOutputs: ["primaryKey", "secondaryKey"] });
            this.subscriptions[consumer.name] = subscription;
            const secrets = apimanagement.listSubscriptionSecretsOutput({ ...common, sid: subscription.name }, { parent: this });
            const secretNames = subscriptionKeySecretNames(consumer.name);
            for (const slot of ["primary", "secondary"] as const) {
                new keyvault.Secret(`${name}-${consumer.name}-${slot}-secret`, {
                    vaultName: args.keyVault.name,
                    resourceGroupName: args.keyVault.resourceGroupName,
                    secretName: secretNames[slot],
                    properties: {
                        value: pulumi.secret(secrets.apply((k) => {
                            const key = slot === "primary" ? k.primaryKey : k.secondaryKey;
                            if (!key) throw new Error(`${name}: APIM returned no ${slot} key for subscription ${consumer.name}`);
                            return key;
                        })),
                        contentType: `application/x-apim-subscription-key; product=${consumer.product}`,
                        attributes: { enabled: true, expires: args.keyExpires },
                    },
                }, { parent: this });
            }
        }
        this.registerOutputs({});
    }
}
