/** `attini-gitops build-server-policy`: its options and help; the work is automation/serverPolicy.ts. */
import { allStacksBuildServerPolicy } from "../serverPolicy";
import { COMMON, type Command } from "./command";

export const buildServerPolicyCommand: Command = {
    summary: "  build-server-policy   print the IAM policy the build server needs for all deploy roles",
    help: `Usage: attini-gitops build-server-policy [--cwd DIR]

Prints the identity policy (JSON) the build server needs to assume every stack's deploy role.`,
    options: COMMON,
    async run(_values, _positionals, _extra, ctx) {
        ctx.print(JSON.stringify(allStacksBuildServerPolicy(ctx.cwd), null, 2));
        return 0;
    },
};
