/** The promotion chain: which stack this one is promoted from, and what its gates do. */
import { type PromotionGate, STACK_NAME_RE } from "./types";
import type { ConfigReader } from "./values";

const GATES: readonly PromotionGate[] = ["off", "warn", "enforce"];

export function promotionRules(r: ConfigReader) {
    const promotedFrom = r.str("promotedFrom", false, "stage");
    if (promotedFrom !== undefined && promotedFrom === r.stack)
        r.fail(
            "promotedFrom",
            "names the stack itself",
            "name the stack this one is promoted from, e.g. stage for prod, or remove the key",
        );
    else if (promotedFrom !== undefined && !STACK_NAME_RE.test(promotedFrom))
        r.fail("promotedFrom", "is not a stack name", "name the stack this one is promoted from, e.g. stage");
    // Empty means: warn on a promoted stack, off on the first one (Pulumi.yaml says so).
    const gateRaw = r.str("promotionGate", false, "enforce") ?? (promotedFrom ? "warn" : "off");
    const promotionGate = GATES.find((g) => g === gateRaw);
    if (promotionGate === undefined)
        r.fail("promotionGate", "must be one of off, warn, enforce", `run \`${r.setCmd("promotionGate", "enforce")}\``);
    const requireDistributionId = r.bool("requireDistributionId", "false");
    return { promotedFrom, promotionGate, requireDistributionId };
}
