/** The tags on every role a stack creates: which environment and branch it serves, and who manages it. */
import type { StackConfig } from "./config/types";

export function roleTags(c: Pick<StackConfig, "attiniEnvironment" | "branch">): Record<string, string> {
    return {
        "attini-gitops:environment": c.attiniEnvironment,
        "attini-gitops:branch": c.branch,
        "managed-by": "attini-gitops",
    };
}
