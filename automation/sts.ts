/**
 * STS through @aws-sdk/client-sts (each call through callAws, awsCall.ts): AssumeRole, with the
 * refusals users hit most explained, GetCallerIdentity for the wrong-account guard, and the
 * lookup of the build server's own credentials.
 */
import type { Credentials as StsCredentials } from "@aws-sdk/client-sts";
import {
    type AwsContext,
    type AwsError,
    callAws,
    type Deadline,
    DeadlineExceeded,
    deadlineMessage,
    describeError,
    type SourceCredentials,
    type TemporaryCredentials,
} from "./awsCall";
import { DriverError, Exit } from "./errors";

export interface AssumeRoleRequest {
    roleArn: string;
    region: string;
    sessionName: string;
    durationSeconds: number;
    externalId?: string;
    sourceIdentity?: string;
    tags: Record<string, string>;
}

/** Explains the STS refusals users hit most, with what to do about them. */
export function explainStsError(req: AssumeRoleRequest, err: unknown): string {
    const e = err as AwsError;
    const msg = e?.message ?? String(err);
    const name = e?.name ?? "Error";
    if (/role chaining/i.test(msg)) {
        return `STS refused a ${req.durationSeconds}s session: the build server's own credentials come from an assumed role, and AWS caps sessions obtained by role chaining at 1 hour. Use --duration 3600 or less. (${name}: ${msg})`;
    }
    if (/DurationSeconds exceeds the MaxSessionDuration/i.test(msg)) {
        return `STS refused a ${req.durationSeconds}s session: it is longer than the role's maxSessionDuration. Lower --duration, or raise maxSessionDuration in the stack file and run pulumi up. (${name}: ${msg})`;
    }
    if (name === "AccessDenied" || name === "AccessDeniedException") {
        return `STS denied AssumeRole on ${req.roleArn}: the caller is not trusted by the role${req.externalId ? ", or the ExternalId is wrong" : ""}, or its own policy lacks sts:AssumeRole/sts:TagSession/sts:SetSourceIdentity on it. Check buildServerPrincipals in the stack file and attach the stack's buildServerPolicy output to the build server. (${name}: ${msg})`;
    }
    return `AssumeRole on ${req.roleArn} failed: ${name}: ${msg}`;
}

type StsModule = typeof import("@aws-sdk/client-sts");

/** One STS call, through {@link callAws}. */
export async function callSts<O>(
    ctx: AwsContext,
    what: string,
    credentials: TemporaryCredentials | SourceCredentials | undefined,
    send: (client: InstanceType<StsModule["STSClient"]>, sts: StsModule, signal: AbortSignal) => Promise<O>,
): Promise<O> {
    const sts = await import("@aws-sdk/client-sts");
    return callAws(
        ctx,
        what,
        credentials,
        (config) => new sts.STSClient(config),
        (client, signal) => send(client, sts, signal),
    );
}

/** AssumeRole with the source credentials (by default, the default AWS credential chain's). */
export async function assumeRole(
    req: AssumeRoleRequest,
    ctx: AwsContext,
    source?: SourceCredentials,
): Promise<TemporaryCredentials> {
    try {
        const out = await callSts(ctx, "AssumeRole", source, (client, sts, abortSignal) =>
            client.send(
                new sts.AssumeRoleCommand({
                    RoleArn: req.roleArn,
                    RoleSessionName: req.sessionName,
                    DurationSeconds: req.durationSeconds,
                    ExternalId: req.externalId,
                    SourceIdentity: req.sourceIdentity,
                    Tags: Object.entries(req.tags).map(([Key, Value]) => ({ Key, Value })),
                }),
                { abortSignal },
            ),
        );
        return temporaryCredentials(out.Credentials);
    } catch (err) {
        throw new DriverError(
            Exit.CREDENTIALS,
            err instanceof DeadlineExceeded ? deadlineMessage(err, ctx.deadline) : explainStsError(req, err),
        );
    }
}

/** The credentials STS returned, or an error when it returned none. */
export function temporaryCredentials(c: StsCredentials | undefined): TemporaryCredentials {
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new Error("STS returned no credentials");
    return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: c.Expiration,
    };
}

/** The account the given credentials belong to, per STS GetCallerIdentity. */
export async function callerAccount(ctx: AwsContext, credentials: TemporaryCredentials): Promise<string | undefined> {
    try {
        return (
            await callSts(ctx, "GetCallerIdentity", credentials, (client, sts, abortSignal) =>
                client.send(new sts.GetCallerIdentityCommand({}), { abortSignal }),
            )
        ).Account;
    } catch (err) {
        if (err instanceof DeadlineExceeded)
            throw new DriverError(Exit.CREDENTIALS, deadlineMessage(err, ctx.deadline));
        throw new DriverError(
            Exit.CREDENTIALS,
            `GetCallerIdentity failed: ${describeError(err)}: ${(err as AwsError).message ?? String(err)}`,
        );
    }
}

/**
 * Preflight: can the default AWS credential chain find source credentials? Resolves them locally
 * (environment, profile files, container or instance credentials) without calling an AWS API, and
 * returns them for assumeRole, so that the chain runs once. Then loads the STS client, which
 * assumeRole needs next, while the caller still waits for the stack outputs. Bounded by the
 * deadline: a container or instance endpoint that never answers ends in a clear error.
 */
export async function findSourceCredentials(deadline: Deadline): Promise<SourceCredentials> {
    const { defaultProvider } = await import("@aws-sdk/credential-provider-node");
    const source = defaultProvider();
    try {
        await deadline.run("the source credential lookup", () => source());
    } catch (err) {
        throw new DriverError(
            Exit.CREDENTIALS,
            err instanceof DeadlineExceeded
                ? `no source AWS credentials for the build server: ${deadlineMessage(err, deadline)}`
                : `no source AWS credentials for the build server: ${(err as Error).message}. ` +
                      `Give the build job credentials (an instance/task role, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or web identity) that may assume the deploy role.`,
        );
    }
    await import("@aws-sdk/client-sts");
    return source;
}
