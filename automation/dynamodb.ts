/**
 * The DynamoDB adapter behind the AWS port (aws.ts): an environment's deployments, read from
 * Attini's deployment-data table (AttiniDeployDataV1, in the environment's account and region)
 * with the credentials it is given.
 *
 * The row format is Attini's backend's (attini-framework: DynamoDeployDataFacade writes each
 * deployment twice, once at time 0 as "the latest"; the step guard adds deploymentPlanCount once
 * the init stack is done; each deployment plan's first step adds its execution's ARN to
 * executionArns, and its end sets deploymentPlanStatus to the Step Functions status, and
 * errorCode/errorMessage on failure).
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { DEPLOY_DATA_TABLE } from "../lib/arns";
import {
    type AwsContext,
    callAws,
    DeadlineExceeded,
    deadlineMessage,
    describeError,
    type TemporaryCredentials,
} from "./awsCall";
import { planExecutions } from "./deploymentPlans";
import { type HistoryQuery, HistoryUnreadable, MAX_DATE_MS, type RecordedDeployment } from "./deployments";
import { keptClient } from "./dynamoClients";

const FAILED_PLAN = new Set(["FAILED", "TIMED_OUT", "ABORTED"]);

/**
 * Reads one row of the deployment-data table; undefined for the time-0 copy and for rows missing a
 * field the verdict needs, or whose deploymentTime is not a whole number of ms that a Date can
 * hold (Attini writes epoch ms; anything else is not its row, and would break every message that
 * shows the time).
 */
export function recordedDeployment(item: Record<string, AttributeValue>): RecordedDeployment | undefined {
    const s = (k: string) => (item[k] && "S" in item[k] ? item[k].S : undefined);
    const n = (k: string) => (item[k] && "N" in item[k] ? Number(item[k].N) : undefined);
    const time = n("deploymentTime");
    const environment = s("environment");
    const distributionName = s("distributionName");
    if (
        time === undefined ||
        !Number.isSafeInteger(time) ||
        time <= 0 ||
        time > MAX_DATE_MS ||
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
    const plans = n("deploymentPlanCount");
    // deploymentPlanStatus is written when a plan ends, last writer wins: with several plans, one
    // that succeeded can stand for others still running (or failed and then overwritten). Then the
    // executions the record names decide (deploymentPlans.ts, read by history.ts).
    if (planStatus === "SUCCEEDED" && plans === 1) return { ...base, status: "succeeded" };
    if (planStatus === "SUCCEEDED" && plans !== undefined && Number.isSafeInteger(plans) && plans > 1) {
        const e = planExecutions(item.executionArns, plans);
        return e.plans
            ? { ...base, status: "running", detail: `${plans} deployment plans, not yet checked`, plans: e.plans }
            : { ...base, status: "running", detail: e.why };
    }
    if (planStatus === "SUCCEEDED")
        return {
            ...base,
            status: "running",
            detail: "a deployment plan SUCCEEDED, but the record does not say how many plans there are",
        };
    if (plans === 0) return { ...base, status: "succeeded", detail: "no deployment plan to run" };
    if (planStatus !== undefined) return { ...base, status: "running", detail: `deployment plan ${planStatus}` };
    return {
        ...base,
        status: "running",
        detail: plans === undefined ? "init stack not done" : "deployment plan not done",
    };
}

/**
 * Adds a page's rows (newest first) to `found`: only readable rows of the query's own environment
 * and distribution. The key is `<environment>-<distribution>`, which two pairs can share (acc +
 * eu-platform, acc-eu + platform), so a row counts by its own attributes, not by its key. True once
 * `until` accepts a row: reading stops there.
 */
export function takeRows(
    items: readonly Record<string, AttributeValue>[],
    q: HistoryQuery,
    found: RecordedDeployment[],
): boolean {
    for (const item of items) {
        const d = recordedDeployment(item);
        if (!d || d.environment !== q.environment || d.distributionName !== q.distributionName) continue;
        found.push(d);
        if (q.until?.(d)) return true;
    }
    return false;
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
            (config) => keptClient(ddb, credentials, config),
            async ({ client }, abortSignal) => {
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
                    if (takeRows(page.Items ?? [], q, found)) return;
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
