// Prints the policy table for policy/README.md from the pack's own metadata (run after adding a policy):
//   node -r ./tools/ts-register.js tools/policy/readme-table.ts
import { catalogue, policies } from "../../policy/policies";
import { anchorText } from "./sarif";

export function policyTable(): string {
    const rows = ["| id | resource type(s) | rejected when | level | why this level | anchor |", "|---|---|---|---|---|---|"];
    const short = (t: string) => (t === "*" ? "all resources" : t.replace(/^azure-native:/, "").replace(/^azuread:index\/\w+:/, "azuread:").replace(/^random:index\/\w+:/, "random:"));
    // Pack order (grouped by service), not registration order.
    for (const m of policies.map(p => catalogue.find(c => c.name === p.name)!)) {
        const why = m.levelReason ?? "secure value is settable at creation; blocks an insecure deploy";
        rows.push(`| \`${m.name}\` | ${m.resourceTypes.map(short).join(", ")} | ${m.description.replace(/\|/g, "/")} | ${m.enforcementLevel} | ${why} | ${anchorText(m).replace(/\|/g, "/")} |`);
    }
    return rows.join("\n");
}

if (require.main === module) console.log(policyTable());
