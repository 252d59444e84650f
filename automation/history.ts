/**
 * What Attini recorded about a stack's deployments, read through that stack's history reader: a
 * checked role session (roleSession.ts), then the DynamoDB query behind the AWS port (aws.ts,
 * dynamodb.ts). Every failure becomes a HistoryUnreadable that says what to fix, so that the
 * verified gate and `status` can say "cannot tell" instead of guessing.
 *
 * The table is read directly rather than through `attini deploy history --json`, which leaves out
 * what the verdict needs: it prints no deploymentPlanCount and no init-stack errors, gives times in
 * the JVM's local zone without an offset, lists 10 deployments unless told otherwise, and prints
 * plain text when there are none.
 */
import { historyReaderArn } from "../lib/arns";
import type { StackConfig } from "../lib/config/types";
import type { Aws } from "./aws";
import type { AwsContext } from "./awsCall";
import { type HistoryQuery, HistoryUnreadable, type RecordedDeployment } from "./deployments";
import { DriverError } from "./errors";
import { assumeCheckedRole, type Caller, type RoleAccess } from "./roleSession";

/** The shortest session STS grants: the reader is used for one query. */
const READER_SESSION_SECONDS = 900;

/**
 * Assumes stack `c`'s history reader (a checked session: the reader must act in c's account) and
 * reads c's deployments of one distribution, newest first, up to the first that `until` accepts.
 */
export async function readStackHistory(
    aws: Aws,
    c: StackConfig,
    access: RoleAccess,
    caller: Caller,
    ctx: AwsContext,
    q: Pick<HistoryQuery, "distributionName" | "until">,
): Promise<RecordedDeployment[]> {
    const roleArn = historyReaderArn(c);
    let creds: Awaited<ReturnType<typeof assumeCheckedRole>>;
    try {
        creds = await assumeCheckedRole(
            aws,
            { kind: "history reader", roleArn, stack: c, durationSeconds: READER_SESSION_SECONDS },
            access,
            caller,
            ctx,
        );
    } catch (e) {
        if (!(e instanceof DriverError)) throw e;
        throw new HistoryUnreadable(
            `cannot use ${c.stack}'s history reader ${roleArn}: ${e.message} It trusts the build servers in buildServerPrincipals and historyReaderPrincipals of Pulumi.${c.stack}.yaml ` +
                `(and, with GitHub OIDC, the jobs on historyReaderBranches); \`attini-gitops validate\` checks that wiring, and \`attini-gitops build-server-policy\` prints the build server's policy. Run pulumi up --stack ${c.stack} after changing it.`,
        );
    }
    return aws.readDeployments(ctx, creds, { environment: c.attiniEnvironment, accountId: c.accountId, ...q });
}
