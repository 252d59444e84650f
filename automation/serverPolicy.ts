/**
 * What `attini-gitops build-server-policy` prints: the one identity policy the build server needs
 * to assume every stack's deploy role and history reader (lib/policies.ts builds the document).
 */
import { historyReaderArn, roleArn } from "../lib/arns";
import { buildServerPolicy, type PolicyDocument } from "../lib/policies";
import { findProjectDir, loadValidStacks } from "./project";

/** The identity policy the build server needs for every stack's deploy role and history reader. */
export function allStacksBuildServerPolicy(cwd: string): PolicyDocument {
    const { configs } = loadValidStacks(findProjectDir(cwd));
    return buildServerPolicy(configs.map(roleArn), configs.map(historyReaderArn));
}
