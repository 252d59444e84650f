/** Rules across stack files: one stack per branch, and promotion links that name stacks and end. */
import { ConfigError } from "./errors";
import { PROJECT, type StackConfig } from "./types";

/** What the cross-stack rules look at in each stack. */
export type StackLink = Pick<StackConfig, "stack" | "branch" | "promotedFrom">;

/**
 * Rules that span stacks: each branch maps to exactly one stack, and promotion links name
 * existing stacks without forming a cycle. `stackNames` are all the stacks there are (by default
 * the linked ones), including any whose file could not be read.
 */
export function validateStackSet(
    configs: readonly StackLink[],
    stackNames: readonly string[] = configs.map((c) => c.stack),
): ConfigError[] {
    const errors: ConfigError[] = [];
    const byBranch = new Map<string, string[]>();
    for (const c of configs) byBranch.set(c.branch, [...(byBranch.get(c.branch) ?? []), c.stack]);
    for (const [branch, stacks] of byBranch) {
        if (stacks.length > 1) {
            for (const s of stacks) {
                errors.push(
                    new ConfigError(
                        s,
                        `${PROJECT}:branch`,
                        JSON.stringify(branch),
                        `is claimed by ${stacks.length} stacks (${stacks.join(", ")}); a push could not tell which environment to deploy`,
                        "give each stack its own branch",
                    ),
                );
            }
        }
    }
    const names = new Set(stackNames);
    for (const c of configs) {
        if (c.promotedFrom === undefined) continue;
        if (!names.has(c.promotedFrom)) {
            errors.push(
                new ConfigError(
                    c.stack,
                    `${PROJECT}:promotedFrom`,
                    JSON.stringify(c.promotedFrom),
                    `names no stack (known: ${[...names].join(", ")})`,
                    "name an existing stack, or remove the key",
                ),
            );
            continue;
        }
        const seen = new Set([c.stack]);
        const named = (stack: string | undefined) => configs.find((x) => x.stack === stack);
        for (let up = named(c.promotedFrom); up; up = named(up.promotedFrom)) {
            if (seen.has(up.stack)) {
                errors.push(
                    new ConfigError(
                        c.stack,
                        `${PROJECT}:promotedFrom`,
                        JSON.stringify(c.promotedFrom),
                        `forms a cycle (${[...seen, up.stack].join(" <- ")})`,
                        "make the chain end at the first environment (e.g. dev has no promotedFrom)",
                    ),
                );
                break;
            }
            seen.add(up.stack);
        }
    }
    return errors;
}
