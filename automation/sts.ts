/**
 * STS through @aws-sdk/client-sts: AssumeRole into the deploy role with an explicit retry policy,
 * and GetCallerIdentity for the wrong-account guard. The SDK's own retries are off so that the
 * policy below is the only one.
 */
import type { Credentials as StsCredentials } from "@aws-sdk/client-sts";
import type { defaultProvider } from "@aws-sdk/credential-provider-node";
import { DriverError, Exit } from "./errors";

export interface TemporaryCredentials {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken: string;
    expiration?: Date;
}

export interface RetryPolicy {
    /** Total attempts, the first included. */
    maxAttempts: number;
    /** Backoff before retry n (1-based) is random in [0, min(capMs, baseMs * 2^(n-1))] ("full jitter"). */
    baseMs: number;
    capMs: number;
}

/** Throttling and 5xx are retried, four attempts in all; everything else (AccessDenied, validation...) fails at once. */
export const STS_RETRY: RetryPolicy = { maxAttempts: 4, baseMs: 250, capMs: 4000 };

const THROTTLING = new Set(["Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "RequestThrottled", "SlowDown"]);

interface AwsError {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
}

export function isRetryable(err: unknown): boolean {
    const e = err as AwsError;
    const status = e?.$metadata?.httpStatusCode;
    return THROTTLING.has(e?.name ?? "") || status === 429 || (status !== undefined && status >= 500 && status <= 599);
}

export async function withRetry<T>(
    fn: () => Promise<T>,
    policy: RetryPolicy = STS_RETRY,
    sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
    onRetry: (attempt: number, err: unknown, delayMs: number) => void = () => {},
): Promise<T> {
    for (let attempt = 1; ; attempt++) {
        try {
            return await fn();
        } catch (err) {
            if (!isRetryable(err) || attempt >= policy.maxAttempts) throw err;
            const delay = Math.floor(Math.random() * Math.min(policy.capMs, policy.baseMs * 2 ** (attempt - 1)));
            onRetry(attempt, err, delay);
            await sleep(delay);
        }
    }
}

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

/** The build server's own credentials, as the default AWS credential chain finds them (memoized). */
export type SourceCredentials = ReturnType<typeof defaultProvider>;

async function stsClient(region: string, credentials?: TemporaryCredentials | SourceCredentials) {
    const { STSClient } = await import("@aws-sdk/client-sts");
    return new STSClient({ region, maxAttempts: 1, ...(credentials ? { credentials } : {}) });
}

/** AssumeRole with the source credentials (by default, the default AWS credential chain's). */
export async function assumeRole(req: AssumeRoleRequest, log: (line: string) => void, source?: SourceCredentials, policy: RetryPolicy = STS_RETRY): Promise<TemporaryCredentials> {
    const { AssumeRoleCommand } = await import("@aws-sdk/client-sts");
    const sts = await stsClient(req.region, source);
    try {
        const out = await withRetry(
            () =>
                sts.send(
                    new AssumeRoleCommand({
                        RoleArn: req.roleArn,
                        RoleSessionName: req.sessionName,
                        DurationSeconds: req.durationSeconds,
                        ExternalId: req.externalId,
                        SourceIdentity: req.sourceIdentity,
                        Tags: Object.entries(req.tags).map(([Key, Value]) => ({ Key, Value })),
                    }),
                ),
            policy,
            undefined,
            (attempt, err, delay) => log(`AssumeRole attempt ${attempt} failed (${(err as AwsError).name ?? "error"}); retrying in ${delay} ms`),
        );
        const c: StsCredentials | undefined = out.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new Error("STS returned no credentials");
        return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
    } catch (err) {
        throw new DriverError(Exit.CREDENTIALS, explainStsError(req, err));
    } finally {
        sts.destroy();
    }
}

/** The account the given credentials belong to, per STS GetCallerIdentity. */
export async function callerAccount(region: string, credentials: TemporaryCredentials, policy: RetryPolicy = STS_RETRY): Promise<string | undefined> {
    const { GetCallerIdentityCommand } = await import("@aws-sdk/client-sts");
    const sts = await stsClient(region, credentials);
    try {
        return (await withRetry(() => sts.send(new GetCallerIdentityCommand({})), policy)).Account;
    } catch (err) {
        throw new DriverError(Exit.CREDENTIALS, `GetCallerIdentity with the deploy role's credentials failed: ${(err as AwsError).name ?? "Error"}: ${(err as AwsError).message ?? String(err)}`);
    } finally {
        sts.destroy();
    }
}

/**
 * Preflight: can the default AWS credential chain find source credentials? Resolves them locally
 * (environment, profile files, container or instance credentials) without calling an AWS API, and
 * returns them for assumeRole, so that the chain runs once. Then loads the STS client, which
 * assumeRole needs next, while the caller still waits for the stack outputs.
 */
export async function findSourceCredentials(timeoutMs = 10_000): Promise<SourceCredentials> {
    const { defaultProvider } = await import("@aws-sdk/credential-provider-node");
    const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref());
    const source = defaultProvider();
    try {
        await Promise.race([source(), timer]);
    } catch (err) {
        throw new DriverError(
            Exit.CREDENTIALS,
            `no source AWS credentials for the build server: ${(err as Error).message}. ` +
                `Give the build job credentials (an instance/task role, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or web identity) that may assume the deploy role.`,
        );
    }
    await import("@aws-sdk/client-sts");
    return source;
}
