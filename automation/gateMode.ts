/**
 * What a promotion gate does with an objection, the same for the git gate (gitGate.ts) and the
 * verified gate (verifiedGate.ts): under `warn` it is logged and the deploy goes on; under
 * `enforce` the deploy is refused with exit 7 before the deploy role is assumed.
 */
import type { StackConfig } from "../lib/config/types";
import { DriverError, Exit } from "./errors";

/** Raises an objection under the stack's gate mode: throws under enforce, logs under warn. */
export function object(
    mode: StackConfig["promotionGate"],
    message: string,
    log: (line: string) => void,
    /** What the `--json` error report carries when enforce refuses. */
    details?: Record<string, unknown>,
): void {
    if (mode === "enforce") throw new DriverError(Exit.REFUSED, `promotion gate (enforce): ${message}`, details);
    log(`promotion gate (warn): ${message}`);
}
