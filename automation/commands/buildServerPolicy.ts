/** `attini-gitops build-server-policy`: the one identity policy the build server needs. */
import { historyReaderArn, roleArn } from "../../lib/arns";
import { buildServerPolicy, type PolicyDocument } from "../../lib/policies";
import { findProjectDir, loadValidStacks } from "../project";
import { COMMON, type Command } from "./command";

/** The identity policy the build server needs for every stack's deploy role and history reader. */
export function allStacksBuildServerPolicy(cwd: string): PolicyDocument {
    const { configs } = loadValidStacks(findProjectDir(cwd));
    return buildServerPolicy(configs.map(roleArn), configs.map(historyReaderArn));
}

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
