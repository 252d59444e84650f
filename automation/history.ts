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
import { ledgerTableName } from "../lib/ledger";
import type { Aws } from "./aws";
import type { AwsContext, TemporaryCredentials } from "./awsCall";
import { type HistoryQuery, HistoryUnreadable, type RecordedDeployment } from "./deployments";
import { DriverError, LedgerUnavailable } from "./errors";
import type { LedgerRun } from "./ledgerTypes";
import { assumeCheckedRole, type Caller, type RoleAccess } from "./roleSession";

/** The shortest session STS grants: the reader is used for one query. */
const READER_SESSION_SECONDS = 900;

/** A checked session of stack `c`'s history reader (it must act in c's account); HistoryUnreadable when it cannot be had. */
async function readerSession(
    aws: Aws,
    c: StackConfig,
    access: RoleAccess,
    caller: Caller,
    ctx: AwsContext,
): Promise<TemporaryCredentials> {
    const roleArn = historyReaderArn(c);
    try {
        return await assumeCheckedRole(
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
}

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
    const creds = await readerSession(aws, c, access, caller, ctx);
    return aws.readDeployments(ctx, creds, { environment: c.attiniEnvironment, accountId: c.accountId, ...q });
}

/** What one stack's history reader reads, on one session assumed when first needed. */
export interface StackReader {
    /** Attini's deployments of a distribution there, newest first, up to the first `until` accepts. */
    history(q: Pick<HistoryQuery, "distributionName" | "until">): Promise<RecordedDeployment[]>;
    /** The newest run in its ledger that `match` accepts. */
    ledgerRun(distributionName: string, match: (r: LedgerRun) => boolean): Promise<LedgerRun | undefined>;
    /** Its newest ledger runs of a distribution. */
    ledgerRuns(distributionName: string, limit: number): Promise<LedgerRun[]>;
}

/** Stack `c`'s reader; each read is one AWS step (`step()`), every failure a HistoryUnreadable. */
export function stackReader(
    aws: Aws,
    c: StackConfig,
    access: RoleAccess,
    caller: (ctx: AwsContext) => Promise<Caller>,
    step: () => AwsContext,
): StackReader {
    let session: Promise<TemporaryCredentials> | undefined;
    const creds = (ctx: AwsContext) => {
        session ??= caller(ctx).then((who) => readerSession(aws, c, access, who, ctx));
        return session;
    };
    const ledger = () => {
        const ctx = step();
        return aws.ledger(ledgerTableName(c), c.accountId, step, () => creds(ctx));
    };
    const unreadable = async <T>(read: () => Promise<T>): Promise<T> => {
        try {
            return await read();
        } catch (e) {
            if (e instanceof LedgerUnavailable) throw new HistoryUnreadable(e.message);
            throw e;
        }
    };
    return {
        history: async (q) => {
            const ctx = step();
            return aws.readDeployments(ctx, await creds(ctx), {
                environment: c.attiniEnvironment,
                accountId: c.accountId,
                ...q,
            });
        },
        ledgerRun: (name, match) => unreadable(() => ledger().findRun(name, match)),
        ledgerRuns: (name, limit) => unreadable(() => ledger().runs(name, limit)),
    };
}
