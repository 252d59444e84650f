/** `attini-gitops validate`: its options and help; the work is automation/validation.ts. */
import { Exit } from "../errors";
import { formatValidation, validate } from "../validation";
import { COMMON, type Command } from "./command";

export const validateCommand: Command = {
    summary: "  validate              check Pulumi.yaml and every Pulumi.<stack>.yaml offline; list every problem",
    help: `Usage: attini-gitops validate [--json] [--cwd DIR]

Checks Pulumi.yaml and every Pulumi.<stack>.yaml offline, with the same rules the Pulumi program
runs, and lists every problem (stack, key, value, fix). Exits ${Exit.USAGE} if there is any.`,
    options: COMMON,
    async run(_values, _positionals, _extra, ctx) {
        const r = validate(ctx.cwd);
        ctx.print(ctx.json ? JSON.stringify(r) : formatValidation(r));
        return r.problems.length === 0 ? Exit.OK : Exit.USAGE;
    },
};
