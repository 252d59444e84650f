/**
 * One checked role session, the same for the deploy role and for a history reader: assume the role
 * (AssumeRole as the build server, or AssumeRoleWithWebIdentity with a GitHub Actions ID token),
 * send the ExternalId only where the stack requires one, register the credentials with the log's
 * redactor as soon as they arrive, and refuse them unless they act in the stack's account (the
 * wrong-account guard). Also the session's tags and the access a flow builds once for every role
 * it assumes, so that CloudTrail shows the same names for both roles.
 */
import { assertAccount, WrongAccountError } from "../lib/accountGuard";
import type { StackConfig } from "../lib/config/types";
import type { Aws } from "./aws";
import type { AwsContext, SourceCredentials, TemporaryCredentials } from "./awsCall";
import { DriverError, Exit, usage } from "./errors";
import { cleanTagValue, sourceIdentity } from "./session";

/** Which role a session is for; messages name it. */
export type RoleKind = "deploy role" | "history reader";

/** The role to assume, in which stack, for how long. */
export interface RoleTarget {
    kind: RoleKind;
    roleArn: string;
    stack: Pick<StackConfig, "stack" | "accountId" | "region" | "externalIdRequired">;
    durationSeconds: number;
}

/** How the driver gets into a role: what every session of one run shares. */
export interface RoleAccess {
    /** The branch the job runs on, for the hint when STS refuses a GitHub token. */
    branch: string;
    sessionName: string;
    externalId?: string;
    sourceIdentity: string;
    tags: Record<string, string>;
    /** Registers secrets with the log's redactor: they are never printed. */
    redact: (...secrets: string[]) => void;
}

/** Who asks: the build server with its source credentials, or a GitHub Actions job with a fresh ID token. */
export type Caller = { source?: SourceCredentials; githubToken?: undefined } | { githubToken: string };

/** The access for every role one run assumes: its session name, tags and source identity. */
export function roleAccess(o: {
    env: NodeJS.ProcessEnv;
    branch: string;
    sessionName: string;
    externalId?: string;
    tags: Record<string, string>;
    redact: (...secrets: string[]) => void;
}): RoleAccess {
    return { ...o, sourceIdentity: sourceIdentity(o.env) };
}

/** What was deployed, from where: the tags on the deploy role's sessions and on the upstream reader's. */
export interface DeployedFrom {
    branch: string;
    sha256: string;
    commit?: string;
}

/** The session tags for a stack's roles; with `deployed`, also the branch, the artifact's digest and the commit. */
export function sessionTags(stack: Pick<StackConfig, "stack" | "attiniEnvironment">, deployed?: DeployedFrom) {
    return {
        ...(deployed ? { "attini-gitops:branch": cleanTagValue(deployed.branch) } : {}),
        "attini-gitops:environment": cleanTagValue(stack.attiniEnvironment),
        "attini-gitops:stack": cleanTagValue(stack.stack),
        ...(deployed ? { "attini-gitops:sha256": deployed.sha256 } : {}),
        ...(deployed?.commit ? { "attini-gitops:commit": cleanTagValue(deployed.commit) } : {}),
    };
}

/** The session tag that carries a --break-glass reason to CloudTrail, on the deploy role's sessions. */
export const BREAK_GLASS_TAG = "attini-gitops:break-glass";

/**
 * The deploy role's access: the run's, plus the --break-glass reason as a session tag, as given
 * (deploy.ts refused any reason a tag cannot carry as it is). Every refresh carries it too.
 */
export function deployRoleAccess(access: RoleAccess, breakGlass: string | undefined): RoleAccess {
    return breakGlass === undefined ? access : { ...access, tags: { ...access.tags, [BREAK_GLASS_TAG]: breakGlass } };
}

/** The ExternalId check, before any AWS call: a stack that requires one gets one (GitHub OIDC needs none). */
export function requireExternalId(
    kind: RoleKind,
    stack: Pick<StackConfig, "stack" | "externalIdRequired">,
    externalId: string | undefined,
    oidc: boolean,
): void {
    if (stack.externalIdRequired && !externalId && !oidc)
        throw usage(
            `stack ${stack.stack} requires an ExternalId for its ${kind}: pass --external-id or set ATTINI_GITOPS_EXTERNAL_ID (from the CI system's secret store, never from a file in the repo).`,
        );
}

/**
 * One set of the role's credentials as soon as STS returns them, and `checked`, the check that they
 * act in the stack's account (GetCallerIdentity with them), under way: a caller may start a call
 * that writes nothing of consequence beside it (the deploy's lease), and awaits it before anything
 * else. `checked` never rejects unawaited.
 */
export async function assumeRoleChecking(
    aws: Aws,
    role: RoleTarget,
    access: RoleAccess,
    caller: Caller,
    ctx: AwsContext,
): Promise<{ creds: TemporaryCredentials; checked: Promise<void> }> {
    requireExternalId(role.kind, role.stack, access.externalId, caller.githubToken !== undefined);
    const creds =
        caller.githubToken !== undefined
            ? await aws.assumeRoleWithWebIdentity(
                  {
                      roleArn: role.roleArn,
                      sessionName: access.sessionName,
                      durationSeconds: role.durationSeconds,
                      branch: access.branch,
                  },
                  caller.githubToken,
                  ctx,
              )
            : await aws.assumeRole(
                  {
                      roleArn: role.roleArn,
                      region: role.stack.region,
                      sessionName: access.sessionName,
                      durationSeconds: role.durationSeconds,
                      externalId: role.stack.externalIdRequired ? access.externalId : undefined,
                      sourceIdentity: access.sourceIdentity,
                      tags: access.tags,
                  },
                  ctx,
                  caller.source,
              );
    access.redact(creds.accessKeyId, creds.secretAccessKey, creds.sessionToken);
    const checked = checkAccount(aws, role, creds, ctx);
    checked.catch(() => {}); // the caller awaits it
    return { creds, checked };
}

/** GetCallerIdentity with the role's credentials: their account must be the stack's. */
async function checkAccount(aws: Aws, role: RoleTarget, creds: TemporaryCredentials, ctx: AwsContext): Promise<void> {
    let account: string | undefined;
    try {
        account = await aws.callerAccount(ctx, creds);
    } catch (e) {
        if (!(e instanceof DriverError)) throw e;
        throw new DriverError(e.exitCode, `checking the ${role.kind}'s account (${role.roleArn}): ${e.message}`);
    }
    try {
        assertAccount(
            role.stack.stack,
            role.stack.accountId,
            account,
            `the assumed ${role.kind}'s credentials (${role.roleArn})`,
            role.kind === "deploy role"
                ? "Attini was not run. Check deployRoleArn in the stack outputs and run `pulumi up` for this stack in its own account."
                : `Nothing was read. Run \`pulumi up -s ${role.stack.stack}\` in account ${role.stack.accountId}.`,
        );
    } catch (e) {
        if (e instanceof WrongAccountError) throw new DriverError(Exit.WRONG_ACCOUNT, e.message);
        throw e;
    }
}

/** One set of the role's credentials, checked to act in the stack's account. */
export async function assumeCheckedRole(
    aws: Aws,
    role: RoleTarget,
    access: RoleAccess,
    caller: Caller,
    ctx: AwsContext,
): Promise<TemporaryCredentials> {
    const { creds, checked } = await assumeRoleChecking(aws, role, access, caller, ctx);
    await checked;
    return creds;
}
