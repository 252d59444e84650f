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

/**
 * Throttling, 5xx, connection resets and request timeouts are retried, four attempts in all, within
 * the AWS deadline; everything else (AccessDenied, validation...) fails at once.
 */
export const STS_RETRY: RetryPolicy = { maxAttempts: 4, baseMs: 250, capMs: 4000 };

const THROTTLING = new Set([
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "SlowDown",
]);
/** Transient network failures: the connection was reset, or a request got no answer in time. */
const NETWORK_CODES = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT"]);
const TIMEOUT_NAMES = new Set(["TimeoutError", "RequestTimeout", "RequestTimeoutException"]);

interface AwsError {
    name?: string;
    message?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
}

export function isRetryable(err: unknown): boolean {
    const e = err as AwsError;
    if (e instanceof DeadlineExceeded) return false;
    const status = e?.$metadata?.httpStatusCode;
    return (
        THROTTLING.has(e?.name ?? "") ||
        TIMEOUT_NAMES.has(e?.name ?? "") ||
        NETWORK_CODES.has(e?.code ?? "") ||
        status === 429 ||
        (status !== undefined && status >= 500 && status <= 599)
    );
}

/** The AWS steps' time limits (--aws-timeout, --aws-request-timeout). */
export interface AwsTimeouts {
    /** The source credential lookup; then, for each set of credentials, AssumeRole with its retries plus GetCallerIdentity, ms. */
    totalMs: number;
    /** One HTTP request: to connect, and then to be answered, ms. */
    requestMs: number;
}

export const DEFAULT_AWS_TIMEOUTS: AwsTimeouts = { totalMs: 60_000, requestMs: 10_000 };

/** Raised when a step did not finish before its deadline. */
export class DeadlineExceeded extends Error {
    constructor(
        readonly what: string,
        readonly limitMs: number,
    ) {
        super(`${what} did not finish within ${limitMs / 1000}s`);
        this.name = "DeadlineExceeded";
    }
}

/** One deadline shared by several steps: each runs with what is left of it. */
export class Deadline {
    readonly at: number;
    constructor(
        readonly limitMs: number,
        /** What the limit is called, for messages (e.g. `--aws-timeout`). */
        readonly flag: string,
    ) {
        this.at = Date.now() + limitMs;
    }

    remaining(): number {
        return Math.max(0, this.at - Date.now());
    }

    /**
     * Runs `fn` with a signal that aborts at the deadline, and rejects with DeadlineExceeded then,
     * even if `fn` ignores the signal.
     */
    run<T>(what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
        const controller = new AbortController();
        let timer: NodeJS.Timeout | undefined;
        const expired = new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
                const e = new DeadlineExceeded(what, this.limitMs);
                reject(e); // first, so that the race ends with this, not with the aborted request's error
                controller.abort(e);
            }, this.remaining());
        });
        const work = fn(controller.signal);
        work.catch(() => {}); // a late failure after the deadline is not reported twice
        return Promise.race([work, expired]).finally(() => clearTimeout(timer));
    }
}

export async function withRetry<T>(
    fn: () => Promise<T>,
    policy: RetryPolicy = STS_RETRY,
    sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
    onRetry: (attempt: number, err: unknown, delayMs: number) => void = () => {},
    /** No retry is started that could not begin before this time (ms since the epoch). */
    deadlineAt = Number.POSITIVE_INFINITY,
): Promise<T> {
    for (let attempt = 1; ; attempt++) {
        try {
            return await fn();
        } catch (err) {
            if (!isRetryable(err) || attempt >= policy.maxAttempts) throw err;
            const delay = Math.floor(Math.random() * Math.min(policy.capMs, policy.baseMs * 2 ** (attempt - 1)));
            if (Date.now() + delay >= deadlineAt) throw err;
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

/** How the driver's STS calls are made: where, within which limits, and where retries are logged. */
export interface StsContext {
    region: string;
    deadline: Deadline;
    /** Connect and answer timeout of one HTTP request, ms. */
    requestMs: number;
    log: (line: string) => void;
    policy?: RetryPolicy;
}

type StsModule = typeof import("@aws-sdk/client-sts");

/** A short description of a failed call, for retry lines and messages: the error's name and code. */
export function describeError(err: unknown): string {
    const e = err as AwsError;
    return [e?.name ?? "Error", e?.code && e.code !== e.name ? e.code : undefined].filter(Boolean).join("/");
}

/** What every AWS client of the driver is built with: one attempt per send (the retry policy is ours), bounded requests. */
export interface AwsClientConfig {
    region: string;
    maxAttempts: 1;
    requestHandler: { connectionTimeout: number; requestTimeout: number; throwOnRequestTimeout: true };
    credentials?: TemporaryCredentials | SourceCredentials;
}

/**
 * One AWS call with the retry policy, each request bounded by `requestMs`, and everything by the
 * deadline. The SDK's own retries are off, so the policy here is the only one.
 */
export async function callAws<C extends { destroy(): void }, O>(
    ctx: StsContext,
    what: string,
    credentials: TemporaryCredentials | SourceCredentials | undefined,
    makeClient: (config: AwsClientConfig) => C | Promise<C>,
    send: (client: C, signal: AbortSignal) => Promise<O>,
): Promise<O> {
    const client = await makeClient({
        region: ctx.region,
        maxAttempts: 1,
        requestHandler: {
            connectionTimeout: ctx.requestMs,
            requestTimeout: ctx.requestMs,
            throwOnRequestTimeout: true,
        },
        ...(credentials ? { credentials } : {}),
    });
    try {
        return await ctx.deadline.run(what, (signal) =>
            withRetry(
                () => send(client, signal),
                ctx.policy ?? STS_RETRY,
                undefined,
                (attempt, err, delay) =>
                    ctx.log(`${what} attempt ${attempt} failed (${describeError(err)}); retrying in ${delay} ms`),
                ctx.deadline.at,
            ),
        );
    } finally {
        client.destroy();
    }
}

/** One STS call, through {@link callAws}. */
export async function callSts<O>(
    ctx: StsContext,
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

/** The message for a step that ran out of time, naming the limit to raise. */
export function deadlineMessage(err: DeadlineExceeded, deadline: Deadline): string {
    return `${err.message} (${deadline.flag} ${deadline.limitMs / 1000}s): nothing answered in time. Check the network path to AWS from the build server, or raise ${deadline.flag}.`;
}

/** AssumeRole with the source credentials (by default, the default AWS credential chain's). */
export async function assumeRole(
    req: AssumeRoleRequest,
    ctx: StsContext,
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
export async function callerAccount(ctx: StsContext, credentials: TemporaryCredentials): Promise<string | undefined> {
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
            `GetCallerIdentity with the deploy role's credentials failed: ${describeError(err)}: ${(err as AwsError).message ?? String(err)}`,
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
