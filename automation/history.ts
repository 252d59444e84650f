/**
 * What Attini recorded about a stack's deployments, read through that stack's history reader: a
 * checked role session (roleSession.ts), then the DynamoDB query behind the AWS port (aws.ts,
 * dynamodb.ts), and, where the record cannot tell whether every deployment plan succeeded, each
 * plan's Step Functions execution (deploymentPlans.ts, stepFunctions.ts), with the same reader;
 * also the stack's deployment ledger (ledgerDynamo.ts) and the alarms it is granted (cloudWatch.ts). Every failure becomes a HistoryUnreadable
 * that says what to fix, so that the verified gate and `status` can say "cannot tell" instead of
 * guessing.
 *
 * The table is read directly rather than through `attini deploy history --json`, which leaves out
 * what the verdict needs: it prints no deploymentPlanCount and no init-stack errors, gives times in
 * the JVM's local zone without an offset, lists 10 deployments unless told otherwise, and prints
 * plain text when there are none.
 */
import { historyReaderArn } from "../lib/arns";
import type { StackConfig } from "../lib/config/types";
import { ledgerTableName } from "../lib/ledger";
import type { AlarmHistory, AlarmNow } from "./alarmRules";
import type { Aws } from "./aws";
import type { AwsContext, TemporaryCredentials } from "./awsCall";
import { checkPlans, MAX_DEPLOYMENTS_CHECKED } from "./deploymentPlans";
import {
    type DeploymentStatus,
    type HistoryQuery,
    HistoryUnreadable,
    type PlanExecutions,
    type RecordedDeployment,
} from "./deployments";
import { DriverError, LedgerUnavailable } from "./errors";
import type { Hold, LedgerRun } from "./ledgerTypes";
import { assumeCheckedRole, type Caller, type RoleAccess } from "./roleSession";

/** The shortest session STS grants: the reader is used for one query. */
const READER_SESSION_SECONDS = 900;

/** Whose history to read, and with which reader: as the stack outputs name them (or a stack file they were checked against). */
export type ReaderTarget = Pick<
    StackConfig,
    "stack" | "accountId" | "region" | "attiniEnvironment" | "externalIdRequired"
> & {
    historyReaderArn: string;
};

/** The reader target of a stack file (one the outputs were checked against). */
export function readerOf(c: StackConfig): ReaderTarget {
    return { ...c, historyReaderArn: historyReaderArn(c) };
}

/** A checked session of stack `c`'s history reader (it must act in c's account); HistoryUnreadable when it cannot be had. */
async function readerSession(
    aws: Aws,
    c: ReaderTarget,
    access: RoleAccess,
    caller: Caller,
    ctx: AwsContext,
): Promise<TemporaryCredentials> {
    const roleArn = c.historyReaderArn;
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

/** What one stack's history reader reads, on one session assumed when first needed. */
export interface StackReader {
    /** Attini's deployments of a distribution there, newest first, up to the first `until` accepts. */
    history(q: Pick<HistoryQuery, "distributionName" | "until">): Promise<RecordedDeployment[]>;
    /** The newest run in its ledger that `match` accepts. */
    ledgerRun(distributionName: string, match: (r: LedgerRun) => boolean): Promise<LedgerRun | undefined>;
    /** Its newest ledger runs of a distribution. */
    ledgerRuns(distributionName: string, limit: number): Promise<LedgerRun[]>;
    /** Its ledger's rollback holds of a distribution. */
    ledgerHolds(distributionName: string): Promise<Hold[]>;
    /** The alarms of these names that exist there (CloudWatch, in its account and region). */
    alarms(names: readonly string[]): Promise<AlarmNow[]>;
    /** An alarm's state updates there between two times; `unavailable` when they cannot be read. */
    alarmHistory(name: string, since: number, until: number): Promise<AlarmHistory>;
}

/** Stack `c`'s reader; each read is one AWS step (`step()`), every failure a HistoryUnreadable. */
export function stackReader(
    aws: Aws,
    c: ReaderTarget,
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
            return readJudged(aws, ctx, await creds(ctx), {
                environment: c.attiniEnvironment,
                accountId: c.accountId,
                ...q,
            });
        },
        ledgerRun: (name, match) => unreadable(() => ledger().findRun(name, match)),
        ledgerRuns: (name, limit) => unreadable(() => ledger().runs(name, limit)),
        ledgerHolds: (name) => unreadable(() => ledger().holds(name)),
        alarms: async (names) => {
            const ctx = step();
            return aws.describeAlarms(ctx, await creds(ctx), names);
        },
        alarmHistory: async (name, since, until) => {
            const ctx = step();
            return aws.alarmHistory(ctx, await creds(ctx), name, since, until);
        },
    };
}

/**
 * Assumes stack `c`'s history reader (a checked session: the reader must act in c's account) and
 * reads c's deployments of one distribution, newest first, up to the first that `until` accepts.
 */
export async function readStackHistory(
    aws: Aws,
    c: ReaderTarget,
    access: RoleAccess,
    caller: Caller,
    ctx: AwsContext,
    q: Pick<HistoryQuery, "distributionName" | "until">,
): Promise<RecordedDeployment[]> {
    return stackReader(
        aws,
        c,
        access,
        async () => caller,
        () => ctx,
    ).history(q);
}

const OUTCOMES: readonly DeploymentStatus[] = ["succeeded", "failed", "running"];

/**
 * Reads the deployments and judges those whose record cannot tell by their plans' executions
 * (deploymentPlans.ts): the newest, and those `until` might accept, at most MAX_DEPLOYMENTS_CHECKED. `until` is about the judged
 * deployment: the read stops at an unjudged one that `until` might accept, judges it, and reads on
 * (from the newest again) if `until` does not accept what it turned out to be.
 */
async function readJudged(
    aws: Aws,
    ctx: AwsContext,
    creds: TemporaryCredentials,
    q: HistoryQuery,
): Promise<RecordedDeployment[]> {
    const judged = new Map<number, RecordedDeployment>(); // by deploymentTime, the row's key within its partition
    const unchecked = (d: RecordedDeployment) => d.plans !== undefined && !judged.has(d.time);
    const until = q.until;
    // Whether `until` might accept it, once judged.
    const mayAccept = (d: RecordedDeployment) =>
        until === undefined || OUTCOMES.some((status) => until({ ...d, status }));
    for (;;) {
        const budget = MAX_DEPLOYMENTS_CHECKED - judged.size;
        const rows = await aws.readDeployments(ctx, creds, {
            ...q,
            until: until && ((d) => (unchecked(d) && budget > 0 ? mayAccept(d) : until(judged.get(d.time) ?? d))),
        });
        // The newest (every caller shows it) and those `until` looks for; not the others on the way.
        const toCheck = rows.filter((d, i) => unchecked(d) && (i === 0 || mayAccept(d))).slice(0, budget);
        if (toCheck.length === 0) return rows.map((d) => settled(judged.get(d.time) ?? d));
        const results = await Promise.all(
            toCheck.map((d) =>
                checkPlans(aws, ctx, creds, d as RecordedDeployment & { plans: PlanExecutions }, {
                    accountId: q.accountId,
                    region: ctx.region,
                }),
            ),
        );
        for (const [i, d] of toCheck.entries()) judged.set(d.time, results[i]);
        const last = rows.at(-1);
        // Done unless the read stopped at a deployment just judged that `until` does not accept.
        if (!until || !last || !toCheck.includes(last) || until(judged.get(last.time) ?? last))
            return rows.map((d) => settled(judged.get(d.time) ?? d));
    }
}

/** A deployment as the gates and status get it: without the executions still to check, saying so when they were not. */
function settled(d: RecordedDeployment): RecordedDeployment {
    if (!d.plans) return d;
    const { plans, ...rest } = d;
    return {
        ...rest,
        detail: `${plans.count} deployment plans, not checked: one read checks the plans of at most ${MAX_DEPLOYMENTS_CHECKED} deployments, the newest and those it looks for`,
    };
}
