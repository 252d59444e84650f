/**
 * How the driver calls AWS: every call within a deadline (--aws-timeout), every request within
 * --aws-request-timeout, and one explicit retry policy (the SDK's own retries are off). STS
 * (sts.ts, githubOidc.ts) and DynamoDB (history.ts) calls all go through callAws.
 */
import type { defaultProvider } from "@aws-sdk/credential-provider-node";

export interface TemporaryCredentials {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken: string;
    expiration?: Date;
}

/** The build server's own credentials, as the default AWS credential chain finds them (memoized). */
export type SourceCredentials = ReturnType<typeof defaultProvider>;

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
export const AWS_RETRY: RetryPolicy = { maxAttempts: 4, baseMs: 250, capMs: 4000 };

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

/** The fields of an AWS SDK error the driver reads. */
export interface AwsError {
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
    policy: RetryPolicy = AWS_RETRY,
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

/** How one of the driver's AWS steps is made: where, within which limits, and where retries are logged. */
export interface AwsContext {
    region: string;
    deadline: Deadline;
    /** Connect and answer timeout of one HTTP request, ms. */
    requestMs: number;
    log: (line: string) => void;
    policy?: RetryPolicy;
}

/** One --aws-timeout: a fresh deadline for one AWS step. */
export function awsDeadline(t: AwsTimeouts): Deadline {
    return new Deadline(t.totalMs, "--aws-timeout");
}

/** The context of one AWS step in `region`: its own --aws-timeout, and --aws-request-timeout per request. */
export function awsStep(t: AwsTimeouts, region: string, log: (line: string) => void): AwsContext {
    return { region, deadline: awsDeadline(t), requestMs: t.requestMs, log };
}

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
    ctx: AwsContext,
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
                ctx.policy ?? AWS_RETRY,
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

/** The message for a step that ran out of time, naming the limit to raise. */
export function deadlineMessage(err: DeadlineExceeded, deadline: Deadline): string {
    return `${err.message} (${deadline.flag} ${deadline.limitMs / 1000}s): nothing answered in time. Check the network path to AWS from the build server, or raise ${deadline.flag}.`;
}
