// The policy every AWS call runs under (automation/awsCall.ts): which errors are retried, the capped
// backoff between attempts, and the deadline that ends a call that never answers and any retry after it.
import test from "ava";
import { Deadline, DeadlineExceeded, isRetryable, type RetryPolicy, withRetry } from "../automation/awsCall";

const FAST: RetryPolicy = { maxAttempts: 4, baseMs: 100, capMs: 400 };
const awsError = (name: string, status: number) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

test("retry policy: throttling and 5xx are retried up to 4 attempts with capped backoff; AccessDenied fails at once", async (t) => {
    t.true(isRetryable(awsError("Throttling", 400)));
    t.true(isRetryable(awsError("InternalFailure", 500)));
    t.true(isRetryable(awsError("ServiceUnavailable", 503)));
    t.false(isRetryable(awsError("AccessDenied", 403)));
    t.false(isRetryable(awsError("ValidationError", 400)));
    // Connection resets and request timeouts are transient too.
    t.true(isRetryable(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })));
    t.true(
        isRetryable(
            Object.assign(new Error("a request has exceeded the configured 1000 ms requestTimeout"), {
                name: "TimeoutError",
                code: "ETIMEDOUT",
            }),
        ),
    );
    t.false(isRetryable(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })));

    const delays: number[] = [];
    let calls = 0;
    await t.throwsAsync(
        withRetry(
            async () => {
                calls++;
                throw awsError("Throttling", 400);
            },
            FAST,
            async (ms) => void delays.push(ms),
        ),
        { name: "Throttling" },
    );
    t.is(calls, 4);
    t.is(delays.length, 3);
    for (const [i, d] of delays.entries())
        t.true(d >= 0 && d <= Math.min(FAST.capMs, FAST.baseMs * 2 ** i), `delay ${i}: ${d}`);

    calls = 0;
    await t.throwsAsync(
        withRetry(
            async () => {
                calls++;
                throw awsError("AccessDenied", 403);
            },
            FAST,
            async () => {},
        ),
    );
    t.is(calls, 1);

    calls = 0;
    t.is(
        await withRetry(
            async () => (++calls < 3 ? Promise.reject(awsError("Throttling", 400)) : "ok"),
            FAST,
            async () => {},
        ),
        "ok",
    );
    t.is(calls, 3);
});

test("a deadline ends a call that never answers, and no retry starts after it", async (t) => {
    const d = new Deadline(100, "--aws-timeout");
    let aborted = false;
    const err = await t.throwsAsync(
        d.run(
            "AssumeRole",
            (signal) =>
                new Promise((_, reject) =>
                    signal.addEventListener("abort", () => {
                        aborted = true;
                        reject(new Error("aborted"));
                    }),
                ),
        ),
    );
    t.true(err instanceof DeadlineExceeded);
    t.regex(err!.message, /AssumeRole did not finish within 0.1s/);
    t.true(aborted, "the request was aborted");
    let calls = 0;
    const throttled = async () => {
        calls++;
        throw Object.assign(new Error("slow down"), { name: "Throttling" });
    };
    await t.throwsAsync(
        withRetry(throttled, { maxAttempts: 10, baseMs: 1000, capMs: 1000 }, async () => {}, undefined, Date.now()),
    );
    t.is(calls, 1, "no retry past the deadline");
});
