/**
 * Every AWS call the driver makes, behind one interface (as cdk-assets' IAws). This file only
 * joins the adapters: sts.ts (AssumeRole, GetCallerIdentity, the source credentials),
 * githubOidc.ts (AssumeRoleWithWebIdentity), dynamodb.ts (Attini's deployment records) and
 * stepFunctions.ts (the status of a deployment plan's execution), cloudWatch.ts (the upstream
 * alarms' state and history) and ledgerDynamo.ts (the deployment ledger), each on
 * the AWS SDK for JavaScript v3 with the driver's retry policy and deadlines (awsCall.ts). The
 * unit tests use the shared fake in test/support/fakeAws.ts instead.
 */

import type { AlarmHistory, AlarmNow } from "./alarmRules";
import type { AwsContext, Deadline, SourceCredentials, TemporaryCredentials } from "./awsCall";
import { alarmHistory, describeAlarms } from "./cloudWatch";
import type { HistoryQuery, RecordedDeployment } from "./deployments";
import { readDeployments } from "./dynamodb";
import { assumeRoleWithGithubOidc, type WebIdentityRequest } from "./githubOidc";
import { dynamoLedger } from "./ledgerDynamo";
import type { LedgerStore } from "./ledgerTypes";
import { executionStatus } from "./stepFunctions";
import { type AssumeRoleRequest, assumeRole, callerAccount, findSourceCredentials } from "./sts";

export interface Aws {
    /** The build server's own credentials, from the default chain (a local lookup: no API call). */
    findSourceCredentials(deadline: Deadline): Promise<SourceCredentials>;
    /** STS AssumeRole; a refusal is a DriverError(CREDENTIALS) that says what to fix. */
    assumeRole(req: AssumeRoleRequest, ctx: AwsContext, source?: SourceCredentials): Promise<TemporaryCredentials>;
    /** STS AssumeRoleWithWebIdentity with a GitHub Actions ID token. */
    assumeRoleWithWebIdentity(req: WebIdentityRequest, token: string, ctx: AwsContext): Promise<TemporaryCredentials>;
    /** The account the credentials act in (STS GetCallerIdentity). */
    callerAccount(ctx: AwsContext, credentials: TemporaryCredentials): Promise<string | undefined>;
    /** An environment's Attini deployments, newest first (DynamoDB Query on AttiniDeployDataV1). */
    readDeployments(ctx: AwsContext, credentials: TemporaryCredentials, q: HistoryQuery): Promise<RecordedDeployment[]>;
    /** An environment's deployment ledger (table in `account`), each call within a fresh `step()`, with `credentials()`. */
    ledger(
        table: string,
        account: string,
        step: () => AwsContext,
        credentials: () => Promise<TemporaryCredentials>,
    ): LedgerStore;
    /** A deployment plan execution's status (Step Functions DescribeExecution); a failure is a HistoryUnreadable. */
    executionStatus(ctx: AwsContext, credentials: TemporaryCredentials, executionArn: string): Promise<string>;
    /** The alarms of these names that exist (CloudWatch DescribeAlarms); a failure is a HistoryUnreadable. */
    describeAlarms(ctx: AwsContext, credentials: TemporaryCredentials, names: readonly string[]): Promise<AlarmNow[]>;
    /** An alarm's state updates between two times (DescribeAlarmHistory); a failure is `unavailable`, never thrown. */
    alarmHistory(
        ctx: AwsContext,
        credentials: TemporaryCredentials,
        name: string,
        since: number,
        until: number,
    ): Promise<AlarmHistory>;
}

/** The real AWS. */
export const realAws: Aws = {
    findSourceCredentials,
    assumeRole,
    assumeRoleWithWebIdentity: assumeRoleWithGithubOidc,
    callerAccount,
    readDeployments,
    ledger: dynamoLedger,
    executionStatus,
    describeAlarms,
    alarmHistory,
};
