/** `attini-gitops validate`: every problem in Pulumi.yaml and the stack files, offline. */
import { loadStacks } from "../../lib/stackFiles";
import { Exit } from "../errors";
import { findProjectDir } from "../project";
import { COMMON, type Command } from "./command";

/** Every problem in Pulumi.yaml and the stack files (an empty list when all is well). */
export function validate(cwd: string): { projectDir: string; stacks: string[]; problems: string[] } {
    const projectDir = findProjectDir(cwd);
    const loaded = loadStacks(projectDir);
    return { projectDir, stacks: loaded.files.map((f) => f.stack), problems: loaded.errors.map(String) };
}

export const validateCommand: Command = {
    summary: "  validate              check Pulumi.yaml and every Pulumi.<stack>.yaml offline; list every problem",
    help: `Usage: attini-gitops validate [--json] [--cwd DIR]

Checks Pulumi.yaml and every Pulumi.<stack>.yaml offline, with the same rules the Pulumi program
runs, and lists every problem (stack, key, value, fix). Exits ${Exit.USAGE} if there is any.`,
    options: COMMON,
    async run(_values, _positionals, _extra, ctx) {
        const r = validate(ctx.cwd);
        if (ctx.json) ctx.print(JSON.stringify(r));
        else if (r.problems.length === 0)
            ctx.print(`OK: Pulumi.yaml and ${r.stacks.length} stack files (${r.stacks.join(", ")}) are valid.`);
        else
            ctx.print(
                `${r.problems.length} problem(s) in ${r.projectDir}:\n${r.problems.map((p) => `  - ${p}`).join("\n")}`,
            );
        return r.problems.length === 0 ? Exit.OK : Exit.USAGE;
    },
};
