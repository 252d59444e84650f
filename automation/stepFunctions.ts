/**
 * The Step Functions adapter behind the AWS port (aws.ts): the status of one deployment plan's
 * execution (DescribeExecution), read with the history reader's credentials in the environment's
 * account and region. deploymentPlans.ts decides which executions to read and what their statuses
 * mean; every failure here becomes a HistoryUnreadable that says what to fix, so that the
 * deployment stays `running` ("cannot tell") instead of being guessed.
 *
 * It asks for the execution's metadata only (includedData METADATA_ONLY): the status is all the
 * driver needs, not the plan's input or output.
 */
import {
    type AwsContext,
    callAws,
    DeadlineExceeded,
    deadlineMessage,
    describeError,
    type TemporaryCredentials,
} from "./awsCall";
import { HistoryUnreadable } from "./deployments";

/** Step Functions' status of an execution (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE). */
export async function executionStatus(
    ctx: AwsContext,
    credentials: TemporaryCredentials,
    executionArn: string,
): Promise<string> {
    const sfn = await import("@aws-sdk/client-sfn");
    try {
        const out = await callAws(
            ctx,
            `reading deployment plan execution ${executionArn}`,
            credentials,
            (config) => new sfn.SFNClient(config),
            (client, abortSignal) =>
                client.send(new sfn.DescribeExecutionCommand({ executionArn, includedData: "METADATA_ONLY" }), {
                    abortSignal,
                }),
        );
        const status: string | undefined = out.status;
        if (!status) throw new HistoryUnreadable(`Step Functions gave no status for execution ${executionArn}`);
        return status;
    } catch (err) {
        if (err instanceof HistoryUnreadable) throw err;
        if (err instanceof DeadlineExceeded) throw new HistoryUnreadable(deadlineMessage(err, ctx.deadline));
        const name = describeError(err);
        const msg = (err as Error).message;
        if (/AccessDenied/.test(name))
            throw new HistoryUnreadable(
                `the history reader may not read execution ${executionArn} (${name}: ${msg}); run pulumi up for that stack so that its reader may DescribeExecution`,
            );
        if (/ExecutionDoesNotExist/.test(name))
            throw new HistoryUnreadable(
                `execution ${executionArn} does not exist (Step Functions keeps a finished execution for 90 days)`,
            );
        throw new HistoryUnreadable(`reading execution ${executionArn} failed: ${name}: ${msg}`);
    }
}
