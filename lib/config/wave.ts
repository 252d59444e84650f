/**
 * The wave: when a stack deploys among the stacks that share its branch (its targets). Its own rule
 * file because it is a rule of its own family: the order of a branch's targets within one pipeline,
 * not where, what or whether anything may deploy (the set-level rule, a promoted target after its
 * upstream on the same branch, is in stackSet.ts).
 */
import type { ConfigReader } from "./values";

export const MIN_WAVE = 1;
/** Enough for any real rollout; more would be a typo (a wave per target belongs to the CI matrix). */
export const MAX_WAVE = 20;

export function waveRules(r: ConfigReader): { wave?: number } {
    const wave = r.int("wave", "1");
    if (wave !== undefined && (wave < MIN_WAVE || wave > MAX_WAVE)) {
        r.fail(
            "wave",
            `must be a whole number from ${MIN_WAVE} to ${MAX_WAVE} (wave 1 deploys first)`,
            `run \`${r.setCmd("wave", "1")}\`, or remove the key for wave 1`,
        );
        return {};
    }
    return { wave };
}
