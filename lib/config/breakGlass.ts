/**
 * Break-glass: whether `deploy --break-glass "<reason>"` may take a deploy through a freeze window
 * or a soak time it has not met, on this stack. `forbidden` refuses every deploy that asks (exit 2).
 */
import type { BreakGlassPolicy } from "./types";
import type { ConfigReader } from "./values";

export const BREAK_GLASS_POLICIES: readonly BreakGlassPolicy[] = ["allowed", "forbidden"];

export function breakGlassRules(r: ConfigReader) {
    const raw = r.str("breakGlass", false, "forbidden") ?? "allowed";
    const breakGlass = BREAK_GLASS_POLICIES.find((p) => p === raw);
    if (breakGlass === undefined)
        r.fail(
            "breakGlass",
            "must be allowed or forbidden",
            `run \`${r.setCmd("breakGlass", "forbidden")}\` (or allowed, the default)`,
        );
    return { breakGlass };
}
