/**
 * What `attini-gitops validate` finds: every problem in Pulumi.yaml and the stack files, offline,
 * with the same rules the Pulumi program runs (lib/config/).
 */
import { loadStacks } from "../lib/stackFiles";
import { findProjectDir } from "./project";

export interface Validation {
    projectDir: string;
    stacks: string[];
    /** Every problem (stack, key, value, fix); empty when all is well. */
    problems: string[];
}

/** Every problem in Pulumi.yaml and the stack files (an empty list when all is well). */
export function validate(cwd: string): Validation {
    const projectDir = findProjectDir(cwd);
    const loaded = loadStacks(projectDir);
    return { projectDir, stacks: loaded.files.map((f) => f.stack), problems: loaded.errors.map(String) };
}

/** The problems as text: an OK line, or one line per problem. */
export function formatValidation(r: Validation): string {
    return r.problems.length === 0
        ? `OK: Pulumi.yaml and ${r.stacks.length} stack files (${r.stacks.join(", ")}) are valid.`
        : `${r.problems.length} problem(s) in ${r.projectDir}:\n${r.problems.map((p) => `  - ${p}`).join("\n")}`;
}
