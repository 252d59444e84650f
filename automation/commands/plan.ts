/** `attini-gitops plan`: its options and help; the work is automation/planning.ts. */
import { formatPlan, plan } from "../planning";
import { COMMON, type Command, servicesOf, text } from "./command";

export const planCommand: Command = {
    summary: "  plan                  show branch → stack → Attini environment → account/region → role",
    help: `Usage: attini-gitops plan [--branch NAME] [--json] [--cwd DIR]

Shows every stack: branch → stack → Attini environment → account and region → deploy role.
The role comes from the stack outputs when the backend can be read; otherwise it is derived from
the stack file and marked so. Below the table, each stack's freeze windows in force now or
starting within 24 hours (from the stack files; outputs that differ from them are refused by
deploy). With --branch, shows only the stack that branch deploys to.
Reads as many stacks' outputs at once as the machine has cores (ATTINI_GITOPS_OUTPUT_READERS=N
changes that).`,
    options: { ...COMMON, branch: { type: "string" } },
    async run(values, _positionals, _extra, ctx) {
        const rows = await plan({ cwd: ctx.cwd, branch: text(values, "branch") }, servicesOf(ctx));
        ctx.print(ctx.json ? JSON.stringify(rows) : formatPlan(rows));
        return 0;
    },
};
