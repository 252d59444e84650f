/**
 * ARNs and the names they are built from: the roles each stack creates, the policies and tables
 * Attini's setup stack creates, and the patterns the config validator checks ARNs against. Pure.
 */
import type { StackConfig } from "./config/types";

/** The partitions an ARN may name. */
export const PARTITION_PATTERN = "aws(?:-cn|-us-gov|-iso(?:-[a-z])?)?";
export const ACCOUNT_ID_RE = /^\d{12}$/;

/** The AWS partition a region belongs to. */
export function partitionOf(region: string): string {
    if (region.startsWith("cn-")) return "aws-cn";
    if (region.startsWith("us-gov-")) return "aws-us-gov";
    if (region.startsWith("us-iso-")) return "aws-iso";
    if (region.startsWith("us-isob-")) return "aws-iso-b";
    return "aws";
}

/** The deploy role's name when roleName is empty. */
export function defaultRoleName(region: string): string {
    return `attini-deploy-role-${region}`;
}

/** The history reader's name when historyReaderRoleName is empty. */
export function defaultHistoryReaderRoleName(region: string): string {
    return `attini-history-reader-${region}`;
}

/** ARN of the stack's deploy role. */
export function roleArn(c: Pick<StackConfig, "partition" | "accountId" | "rolePath" | "roleName">): string {
    return `arn:${c.partition}:iam::${c.accountId}:role${c.rolePath}${c.roleName}`;
}

/** ARN of the stack's history-reader role. */
export function historyReaderArn(
    c: Pick<StackConfig, "partition" | "accountId" | "rolePath" | "historyReader">,
): string {
    return `arn:${c.partition}:iam::${c.accountId}:role${c.rolePath}${c.historyReader.roleName}`;
}

/** ARN of the managed policy that Attini's setup stack (attini-setup) creates in each account and region. */
export function attiniPolicyArn(c: Pick<StackConfig, "partition" | "accountId" | "region">): string {
    return `arn:${c.partition}:iam::${c.accountId}:policy/attini-cli-user-${c.region}`;
}

/** The table where Attini's backend records every deployment (partition key `<environment>-<distribution>`). */
export const DEPLOY_DATA_TABLE = "AttiniDeployDataV1";

/** ARN of the deployment-data table in the stack's account and region. */
export function deployDataTableArn(c: Pick<StackConfig, "partition" | "accountId" | "region">): string {
    return `arn:${c.partition}:dynamodb:${c.region}:${c.accountId}:table/${DEPLOY_DATA_TABLE}`;
}

/**
 * How Attini's deployment plans' state machines are named: AttiniDeploymentPlanSfn<plan>-<suffix>
 * (attini-framework's transform names the resource AttiniDeploymentPlanSfn<plan>; CloudFormation
 * adds the suffix). Attini's own roles are scoped to this prefix.
 */
export const PLAN_STATE_MACHINE_PREFIX = "AttiniDeploymentPlanSfn";

/** Every execution of an Attini deployment plan in the stack's account and region. */
export function deploymentPlanExecutionsArn(c: Pick<StackConfig, "partition" | "accountId" | "region">): string {
    return `arn:${c.partition}:states:${c.region}:${c.accountId}:execution:${PLAN_STATE_MACHINE_PREFIX}*`;
}

export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";

/** ARN of the GitHub Actions OIDC provider in the stack's account. */
export function githubOidcProviderArn(c: Pick<StackConfig, "partition" | "accountId">): string {
    return `arn:${c.partition}:iam::${c.accountId}:oidc-provider/${GITHUB_OIDC_HOST}`;
}
