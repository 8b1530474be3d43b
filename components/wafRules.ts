import type * as azureInputs from "@pulumi/azure-native/types/input";

/** The managed rule sets the WAF policy runs (Learn, "Web Application Firewall DRS and CRS rule groups and rules"). */
export const WAF_MANAGED_RULE_SETS = [
    { ruleSetType: "Microsoft_DefaultRuleSet", ruleSetVersion: "2.1" },
    { ruleSetType: "Microsoft_BotManagerRuleSet", ruleSetVersion: "1.1" },
] as const;

/**
 * DefaultRuleSet 2.1 rule groups by the first three digits of a rule id (same source). An override must name the
 * rule's group, so a disabled rule id is mapped here; an id outside these groups is refused.
 */
export const DRS21_RULE_GROUPS: Record<string, string> = {
    "200": "General",
    "911": "METHOD-ENFORCEMENT",
    "920": "PROTOCOL-ENFORCEMENT",
    "921": "PROTOCOL-ATTACK",
    "930": "APPLICATION-ATTACK-LFI",
    "931": "APPLICATION-ATTACK-RFI",
    "932": "APPLICATION-ATTACK-RCE",
    "933": "APPLICATION-ATTACK-PHP",
    "934": "APPLICATION-ATTACK-NodeJS",
    "941": "APPLICATION-ATTACK-XSS",
    "942": "APPLICATION-ATTACK-SQLI",
    "943": "APPLICATION-ATTACK-SESSION-FIXATION",
    "944": "APPLICATION-ATTACK-SESSION-JAVA",
    "999": "MS-ThreatIntel-WebShells",
};

/** The DRS 2.1 rule group of a rule id, or undefined when it belongs to none. */
export function drsRuleGroup(ruleId: string): string | undefined {
    return /^\d{6}$/.test(ruleId) ? DRS21_RULE_GROUPS[ruleId.slice(0, 3)] : undefined;
}

/**
 * Managed rule sets with the configured rules switched off, grouped as the API wants them. No rule is off by default:
 * a rule is disabled only after the WAF log shows it blocking a legitimate HL7 or FHIR request (README, "Edge").
 */
export function managedRuleSets(disabledRules: { ruleId: string }[]): azureInputs.network.ManagedRuleSetArgs[] {
    const byGroup = new Map<string, string[]>();
    for (const { ruleId } of disabledRules) {
        const group = drsRuleGroup(ruleId);
        if (!group) throw new Error(`WAF rule ${ruleId} is not a DefaultRuleSet 2.1 rule id`);
        byGroup.set(group, [...(byGroup.get(group) ?? []), ruleId]);
    }
    return WAF_MANAGED_RULE_SETS.map((set) => ({
        ...set,
        ...(set.ruleSetType === "Microsoft_DefaultRuleSet" && byGroup.size > 0
            ? {
                ruleGroupOverrides: [...byGroup].map(([ruleGroupName, ids]) => ({
                    ruleGroupName,
                    rules: ids.map((ruleId) => ({ ruleId, state: "Disabled" })),
                })),
            }
            : {}),
    }));
}
