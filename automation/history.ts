/**
 * What Attini recorded about an environment's deployments, read from its deployment-data table
 * (AttiniDeployDataV1, in the environment's account and region) with the history reader's
 * credentials.
 *
 * The table is read directly rather than through `attini deploy history --json`, which leaves out
 * what the verdict needs: it prints no deploymentPlanCount and no init-stack errors, gives times in
 * the JVM's local zone without an offset, lists 10 deployments unless told otherwise, and prints
 * plain text when there are none. The row format is Attini's backend's (attini-framework:
 * DynamoDeployDataFacade writes each deployment twice, once at time 0 as "the latest"; the step
 * guard adds deploymentPlanCount once the init stack is done; the deployment plan's end sets
 * deploymentPlanStatus to the Step Functions status, and errorCode/errorMessage on failure).
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { DEPLOY_DATA_TABLE, historyReaderArn } from "../lib/arns";
import type { StackConfig } from "../lib/config/types";
import type { Aws } from "./aws";
import {
    type AwsContext,
    callAws,
    DeadlineExceeded,
    deadlineMessage,
    describeError,
    type SourceCredentials,
    type TemporaryCredentials,
} from "./awsCall";
import { DriverError } from "./errors";

/**
 * succeeded: the deployment plan ended SUCCEEDED (or the init stack was done and there was no plan
 * to run); failed: Attini recorded an error, init-stack errors, or a plan that ended FAILED,
 * TIMED_OUT or ABORTED; running: none of these yet (still running, or stopped without a record).
 */
export type DeploymentStatus = "succeeded" | "failed" | "running";

/** One deployment of a distribution to an environment, as Attini recorded it. */
export interface RecordedDeployment {
    environment: string;
    distributionName: string;
    distributionId?: string;
    /** When Attini started it, ms since the epoch. */
    time: number;
    status: DeploymentStatus;
    /** Why it failed (Attini's error code and message, or the plan's status), or what it still waits for. */
    detail?: string;
}

const FAILED_PLAN = new Set(["FAILED", "TIMED_OUT", "ABORTED"]);

/** Reads one row of the deployment-data table; undefined for the time-0 copy and for rows missing a field the verdict needs. */
export function recordedDeployment(item: Record<string, AttributeValue>): RecordedDeployment | undefined {
    const s = (k: string) => (item[k] && "S" in item[k] ? item[k].S : undefined);
    const n = (k: string) => (item[k] && "N" in item[k] ? Number(item[k].N) : undefined);
    const time = n("deploymentTime");
    const environment = s("environment");
    const distributionName = s("distributionName");
    if (
        time === undefined ||
        !Number.isFinite(time) ||
        time <= 0 ||
        environment === undefined ||
        distributionName === undefined
    )
        return undefined;
    const base = { environment, distributionName, distributionId: s("distributionId"), time };
    const planStatus = s("deploymentPlanStatus");
    const errorCode = s("errorCode");
    const initErrors = item.initStackErrors && "L" in item.initStackErrors ? (item.initStackErrors.L ?? []) : [];
    if (errorCode !== undefined)
        return { ...base, status: "failed", detail: `${errorCode}: ${s("errorMessage") ?? "(no message)"}` };
    if (planStatus !== undefined && FAILED_PLAN.has(planStatus))
        return { ...base, status: "failed", detail: `deployment plan ${planStatus}` };
    if (initErrors.length > 0) return { ...base, status: "failed", detail: `${initErrors.length} init stack error(s)` };
    if (planStatus === "SUCCEEDED") return { ...base, status: "succeeded" };
    const plans = n("deploymentPlanCount");
    if (plans === 0) return { ...base, status: "succeeded", detail: "no deployment plan to run" };
    if (planStatus !== undefined) return { ...base, status: "running", detail: `deployment plan ${planStatus}` };
    return {
        ...base,
        status: "running",
        detail: plans === undefined ? "init stack not done" : "deployment plan not done",
    };
}

/** Why the history could not be read, for the user. */
export class HistoryUnreadable extends Error {}

export interface HistoryQuery {
    environment: string;
    distributionName: string;
    /** The account, for messages. */
    accountId: string;
    /** Reading stops at the first (newest-first) deployment this accepts, when given. */
    until?: (d: RecordedDeployment) => boolean;
}

/**
 * The environment's deployments of one distribution, newest first: every one, or those up to the
 * first that `until` accepts. Bounded by the context's deadline (--aws-timeout).
 */
export async function readDeployments(
    ctx: AwsContext,
    credentials: TemporaryCredentials,
    q: HistoryQuery,
): Promise<RecordedDeployment[]> {
    const ddb = await import("@aws-sdk/client-dynamodb");
    const found: RecordedDeployment[] = [];
    let start: Record<string, AttributeValue> | undefined;
    try {
        await callAws(
            ctx,
            `reading ${q.environment}'s deployments`,
            credentials,
            (config) => new ddb.DynamoDBClient(config),
            async (client, abortSignal) => {
                // A retry reads again from the newest.
                found.length = 0;
                start = undefined;
                do {
                    const page: import("@aws-sdk/client-dynamodb").QueryCommandOutput = await client.send(
                        new ddb.QueryCommand({
                            TableName: DEPLOY_DATA_TABLE,
                            KeyConditionExpression: "deploymentName = :name AND deploymentTime > :zero",
                            ExpressionAttributeValues: {
                                ":name": { S: `${q.environment}-${q.distributionName}` },
                                ":zero": { N: "0" },
                            },
                            ScanIndexForward: false,
                            ConsistentRead: true,
                            ExclusiveStartKey: start,
                        }),
                        { abortSignal },
                    );
                    for (const item of page.Items ?? []) {
                        const d = recordedDeployment(item);
                        if (!d) continue;
                        found.push(d);
                        if (q.until?.(d)) return;
                    }
                    start = page.LastEvaluatedKey;
                } while (start);
            },
        );
    } catch (err) {
        if (err instanceof DeadlineExceeded) throw new HistoryUnreadable(deadlineMessage(err, ctx.deadline));
        const name = describeError(err);
        const msg = (err as Error).message;
        if (/AccessDenied/.test(name)) {
            throw new HistoryUnreadable(
                `the history reader may not read ${DEPLOY_DATA_TABLE} in account ${q.accountId} (${ctx.region}): ${name}: ${msg}. Run pulumi up for that stack so that its reader has the read policy.`,
            );
        }
        if (/ResourceNotFound/.test(name)) {
            throw new HistoryUnreadable(
                `account ${q.accountId} has no ${DEPLOY_DATA_TABLE} in ${ctx.region}: is Attini set up there (attini-setup)? (${name}: ${msg})`,
            );
        }
        throw new HistoryUnreadable(
            `reading ${DEPLOY_DATA_TABLE} in account ${q.accountId} (${ctx.region}) failed: ${name}: ${msg}`,
        );
    }
    return found;
}

/** How the driver gets into a stack's history reader: as the build server, or as a GitHub Actions job. */
export interface ReaderAccess {
    /** The build server's source credentials (the default chain), unless GitHub OIDC is used. */
    source?: SourceCredentials;
    /** With --github-oidc: a fresh ID token for each AssumeRoleWithWebIdentity. */
    githubToken?: () => Promise<string>;
    /** The branch the job runs on, for the GitHub OIDC hint. */
    branch: string;
    sessionName: string;
    externalId?: string;
    sourceIdentity: string;
    tags: Record<string, string>;
    /** Registers the reader's credentials with the log's redactor: they are never printed. */
    redact: (...secrets: string[]) => void;
}

/** The shortest session STS grants: the reader is used for one query. */
const READER_SESSION_SECONDS = 900;

/**
 * Assumes stack `c`'s history reader, checks that the credentials act in c's account, and reads
 * c's deployments of one distribution (see readDeployments). Every failure is a HistoryUnreadable
 * that says what to fix; a reader in another account is refused like a deploy role would be.
 */
export async function readStackHistory(
    aws: Aws,
    c: StackConfig,
    access: ReaderAccess,
    ctx: AwsContext,
    q: Pick<HistoryQuery, "distributionName" | "until">,
): Promise<RecordedDeployment[]> {
    const roleArn = historyReaderArn(c);
    // Without a token (or source credentials, which the caller awaited) the deploy could not go on either: not the reader's failure.
    const token = access.githubToken ? await access.githubToken() : undefined;
    let creds: TemporaryCredentials;
    try {
        if (token !== undefined) {
            creds = await aws.assumeRoleWithWebIdentity(
                {
                    roleArn,
                    sessionName: access.sessionName,
                    durationSeconds: READER_SESSION_SECONDS,
                    branch: access.branch,
                },
                token,
                ctx,
            );
        } else {
            if (c.externalIdRequired && !access.externalId)
                throw new HistoryUnreadable(
                    `stack ${c.stack} requires an ExternalId: pass --external-id or set ATTINI_GITOPS_EXTERNAL_ID.`,
                );
            creds = await aws.assumeRole(
                {
                    roleArn,
                    region: c.region,
                    sessionName: access.sessionName,
                    durationSeconds: READER_SESSION_SECONDS,
                    externalId: c.externalIdRequired ? access.externalId : undefined,
                    sourceIdentity: access.sourceIdentity,
                    tags: access.tags,
                },
                ctx,
                access.source,
            );
        }
        access.redact(creds.accessKeyId, creds.secretAccessKey, creds.sessionToken);
        const account = await aws.callerAccount(ctx, creds);
        if (account !== c.accountId)
            throw new HistoryUnreadable(
                `the credentials of ${roleArn} act in account ${account ?? "(unknown)"}, not in stack ${c.stack}'s account ${c.accountId}.`,
            );
    } catch (e) {
        if (!(e instanceof DriverError || e instanceof HistoryUnreadable)) throw e;
        throw new HistoryUnreadable(
            `cannot use ${c.stack}'s history reader ${roleArn}: ${e.message} It trusts the build servers in buildServerPrincipals and historyReaderPrincipals of Pulumi.${c.stack}.yaml ` +
                `(and, with GitHub OIDC, the jobs on historyReaderBranches); \`attini-gitops validate\` checks that wiring, and \`attini-gitops build-server-policy\` prints the build server's policy. Run pulumi up --stack ${c.stack} after changing it.`,
        );
    }
    return aws.readDeployments(ctx, creds, { environment: c.attiniEnvironment, accountId: c.accountId, ...q });
}
