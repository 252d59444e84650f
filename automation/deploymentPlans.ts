/**
 * Every deployment plan, not the last one to end. Attini keeps one deploymentPlanStatus per
 * deployment, written by each plan as it ends (last writer wins), so with several plans a
 * SUCCEEDED there cannot show that every plan succeeded. What the record does hold is which
 * executions the plans started: each plan's first step writes `executionArns.<state machine name>
 * = <execution ARN>` (attini-framework, DeployOriginFacade.setSfnExecutionArn). Where the record
 * cannot tell, the history reader asks Step Functions for each of those executions' status
 * (DescribeExecution, through the AWS port) and the deployment succeeded only if all succeeded.
 *
 * Fail closed: an execution that cannot be read, lies outside the environment's account and
 * region, or is not an Attini deployment plan's leaves the deployment `running`, saying why; so do
 * more plans than the driver checks.
 */
import { PLAN_STATE_MACHINE_PREFIX } from "../lib/arns";
import type { Aws } from "./aws";
import type { AwsContext, TemporaryCredentials } from "./awsCall";
import { HistoryUnreadable, type PlanExecutions, type RecordedDeployment } from "./deployments";

/** The most deployment plans of one deployment whose executions are read. */
export const MAX_PLANS_CHECKED = 10;
/** The most deployments whose plans one history read checks (each costs up to MAX_PLANS_CHECKED calls). */
export const MAX_DEPLOYMENTS_CHECKED = 5;

const FAILED = new Set(["FAILED", "TIMED_OUT", "ABORTED"]);

/** What the record's executionArns map says about a deployment of `count` plans: the executions to read, or why not. */
export function planExecutions(
    executionArns: unknown,
    count: number,
): { plans: PlanExecutions; why?: undefined } | { plans?: undefined; why: string } {
    const map = (executionArns as { M?: Record<string, { S?: unknown }> } | undefined)?.M;
    const values = map ? Object.values(map).map((v) => v?.S) : [];
    if (!map || values.some((v) => typeof v !== "string"))
        return { why: `${count} deployment plans, and the record's executionArns cannot be read` };
    const executions = values as string[];
    if (count > MAX_PLANS_CHECKED)
        return {
            why: `${count} deployment plans, more than the ${MAX_PLANS_CHECKED} whose executions the driver reads`,
        };
    if (executions.length < count)
        return { why: `${count} deployment plans, and the record names ${executions.length} started execution(s)` };
    if (executions.length > count)
        return { why: `${count} deployment plans, but the record names ${executions.length} executions` };
    return { plans: { count, executions: [...executions].sort() } };
}

/** The parts of a Step Functions execution ARN: arn:<partition>:states:<region>:<account>:execution:<state machine>:<name>. */
export function parseExecutionArn(
    arn: string,
): { region: string; accountId: string; stateMachine: string; name: string } | undefined {
    const m = /^arn:[a-z-]+:states:([a-z0-9-]+):(\d{12}):execution:([A-Za-z0-9_-]{1,80}):([A-Za-z0-9_-]{1,80})$/.exec(
        arn,
    );
    return m ? { region: m[1], accountId: m[2], stateMachine: m[3], name: m[4] } : undefined;
}

/** One execution's status as Step Functions answered, or why it could not be read. */
export type ExecutionResult = { arn: string; status: string } | { arn: string; unreadable: string };

/** Which deployment plan an execution is, for messages: its state machine's name. */
const planName = (arn: string) => parseExecutionArn(arn)?.stateMachine ?? arn;

/**
 * The deployment's status from its plans' executions: failed if any ended FAILED, TIMED_OUT or
 * ABORTED (naming which); else running if any could not be read (saying why) or has not ended;
 * succeeded only if every one SUCCEEDED.
 */
export function judgePlans(d: RecordedDeployment, results: readonly ExecutionResult[]): RecordedDeployment {
    const { plans: _, ...base } = d;
    const n = results.length;
    const failed = results.flatMap((r) =>
        "status" in r && FAILED.has(r.status) ? [`${planName(r.arn)} ${r.status}`] : [],
    );
    if (failed.length > 0) return { ...base, status: "failed", detail: `${n} deployment plans; ${failed.join(", ")}` };
    const unreadable = results.flatMap((r) => ("unreadable" in r ? [r.unreadable] : []));
    if (unreadable.length > 0)
        return { ...base, status: "running", detail: `${n} deployment plans; cannot tell: ${unreadable.join("; ")}` };
    const open = results.flatMap((r) =>
        "status" in r && r.status !== "SUCCEEDED" ? [`${planName(r.arn)} ${r.status}`] : [],
    );
    if (open.length > 0) return { ...base, status: "running", detail: `${n} deployment plans; ${open.join(", ")}` };
    return { ...base, status: "succeeded", detail: `${n} deployment plans, every one SUCCEEDED` };
}

/** Why an execution ARN is not one the environment's reader should read, or undefined when it is. */
function foreignExecution(arn: string, where: { accountId: string; region: string }): string | undefined {
    const p = parseExecutionArn(arn);
    if (!p) return `${JSON.stringify(arn)} is not a Step Functions execution ARN`;
    if (p.accountId !== where.accountId || p.region !== where.region)
        return `execution ${arn} is not in account ${where.accountId} (${where.region})`;
    if (!p.stateMachine.startsWith(PLAN_STATE_MACHINE_PREFIX))
        return `execution ${arn} is not an Attini deployment plan's (${PLAN_STATE_MACHINE_PREFIX}*)`;
    return undefined;
}

/**
 * Reads the status of each execution a deployment's plans started, with the history reader's
 * credentials, within the context's deadline, and judges the deployment by them.
 */
export async function checkPlans(
    aws: Aws,
    ctx: AwsContext,
    credentials: TemporaryCredentials,
    d: RecordedDeployment & { plans: PlanExecutions },
    where: { accountId: string; region: string },
): Promise<RecordedDeployment> {
    const results = await Promise.all(
        d.plans.executions.map(async (arn): Promise<ExecutionResult> => {
            const foreign = foreignExecution(arn, where);
            if (foreign) return { arn, unreadable: foreign };
            try {
                return { arn, status: await aws.executionStatus(ctx, credentials, arn) };
            } catch (e) {
                if (!(e instanceof HistoryUnreadable)) throw e;
                return { arn, unreadable: e.message };
            }
        }),
    );
    return judgePlans(d, results);
}
