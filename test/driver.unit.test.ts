// The driver's pure decisions, without Pulumi or AWS.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import { distributionDigest } from "../automation/artifact";
import { attiniArgs, attiniEnv, staticCredentialVars, WITHHELD_VARS } from "../automation/attini";
import { Deadline, DeadlineExceeded, isRetryable, type RetryPolicy, withRetry } from "../automation/awsCall";
import { parseDuration } from "../automation/commands/command";
import { Exit } from "../automation/errors";
import { Redactor } from "../automation/log";
import { checkOutputs } from "../automation/outputs";
import { cleanSessionName, cleanTagValue, defaultSessionName, sourceIdentity } from "../automation/session";
import { explainStsError } from "../automation/sts";
import { configOutputs } from "../lib/outputs";
import { loadStacks } from "../lib/stackFiles";
import { ROOT } from "./support/tools";

test("session names are cleaned to STS's rules: 2-64 characters of [\\w+=,.@-]", (t) => {
    t.is(defaultSessionName("/build/dist/platform"), "deploy-platform");
    t.is(defaultSessionName("/build/out/platform-1.2.0.zip"), "deploy-platform-1.2.0");
    t.is(cleanSessionName("my dist (v2)/ü"), "my-dist-v2-u");
    t.is(cleanSessionName("x"), "x-session");
    t.is(cleanSessionName("!!!"), "attini-session");
    const long = cleanSessionName(`deploy-${"a".repeat(100)}`);
    t.is(long.length, 64);
    for (const s of ["dev; rm -rf /", "日本語", "a\nb", "a".repeat(300), "", "—"])
        t.regex(cleanSessionName(s), /^[\w+=,.@-]{2,64}$/, JSON.stringify(s));
});

test("tag values and source identity are cleaned", (t) => {
    t.is(cleanTagValue("release/ünï code+1"), "release/ünï code+1");
    t.is(cleanTagValue("a;b$c"), "a_b_c");
    t.is(cleanTagValue("x".repeat(300)).length, 256);
    t.is(sourceIdentity({ GITHUB_ACTOR: "octo cat" }), "octo-cat");
    t.is(sourceIdentity({}), "attini-gitops");
});

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

test("STS errors are explained", (t) => {
    const req = {
        roleArn: "arn:aws:iam::1:role/r",
        region: "eu-west-1",
        sessionName: "s",
        durationSeconds: 7200,
        tags: {},
    };
    t.regex(
        explainStsError(req, awsError("ValidationError", 400)),
        /AssumeRole on arn:aws:iam::1:role\/r failed: ValidationError/,
    );
    t.regex(
        explainStsError(
            req,
            Object.assign(awsError("ValidationError", 400), {
                message: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            }),
        ),
        /longer than the role's maxSessionDuration/,
    );
});

test("attini's command line and environment", (t) => {
    t.deepEqual(attiniArgs("dist", "prod", ["--json"]), ["deploy", "run", "dist", "-e", "prod", "-f", "--json"]);
    const parent = Object.fromEntries(WITHHELD_VARS.map((k) => [k, `parent-${k}`]));
    const env = attiniEnv(
        { ...parent, PATH: "/bin", AWS_ENDPOINT_URL: "http://127.0.0.1:1" },
        staticCredentialVars({ accessKeyId: "ASIATEMP", secretAccessKey: "tempsecret", sessionToken: "temptoken" }),
        "eu-north-1",
    );
    t.like(env, {
        PATH: "/bin",
        AWS_ENDPOINT_URL: "http://127.0.0.1:1",
        AWS_ACCESS_KEY_ID: "ASIATEMP",
        AWS_SECRET_ACCESS_KEY: "tempsecret",
        AWS_SESSION_TOKEN: "temptoken",
        AWS_REGION: "eu-north-1",
        AWS_DEFAULT_REGION: "eu-north-1",
        ATTINI_DISABLE_CLI_VERSION_CHECK: "true",
    });
    for (const k of WITHHELD_VARS) t.false(String(env[k]).startsWith("parent-"), k);
});

test("durations and redaction", (t) => {
    t.is(parseDuration("--timeout", "900"), 900);
    t.is(parseDuration("--timeout", "30m"), 1800);
    t.is(parseDuration("--timeout", "2h"), 7200);
    t.throws(() => parseDuration("--timeout", "soon"), { message: /--timeout "soon": use seconds/ });
    const r = new Redactor();
    r.add("SECRETKEY123", "abc", undefined);
    t.is(r.scrub("key=SECRETKEY123 abc"), "key=*** abc");
});

test("durations are bounded: 1 second to 366 days", (t) => {
    t.is(parseDuration("--timeout", "600h"), 600 * 3600);
    t.throws(() => parseDuration("--timeout", "0"), {
        message: /--timeout "0": must be between 1 second and 366 days/,
    });
    t.throws(() => parseDuration("--timeout", "9000h"), { message: /must be between 1 second and 366 days/ });
    t.throws(() => parseDuration("--aws-timeout", "99999999999999999999999"), {
        message: /--aws-timeout .*must be between/,
    });
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

test("outputs are checked against the stack file: stale values, another role, another account", (t) => {
    const dev = loadStacks(ROOT).configs.find((c) => c.stack === "dev")!;
    const good = {
        deployRoleArn: "arn:aws:iam::111111111111:role/attini-deploy-role-eu-west-1",
        deployRoleName: "attini-deploy-role-eu-west-1",
        historyReaderArn: "arn:aws:iam::111111111111:role/attini-history-reader-eu-west-1",
        ...configOutputs(dev),
        buildServerPolicy: "{}",
    };
    t.deepEqual(checkOutputs(dev, good), good);
    const code = (raw: Record<string, unknown>) =>
        (t.throws(() => checkOutputs(dev, raw)) as unknown as { exitCode: number }).exitCode;
    // The stack file now requires an ExternalId, but the role was provisioned without one.
    t.is(code({ ...good, externalIdRequired: true }), Exit.NOT_PROVISIONED);
    t.is(code({ ...good, attiniEnvironment: "prod" }), Exit.NOT_PROVISIONED);
    t.is(
        code({ ...good, deployRoleArn: "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole" }),
        Exit.NOT_PROVISIONED,
    );
    t.is(
        code({ ...good, deployRoleArn: "arn:aws:iam::222222222222:role/attini-deploy-role-eu-west-1" }),
        Exit.WRONG_ACCOUNT,
    );
    t.is(code({ ...good, buildServerPolicy: undefined }), Exit.NOT_PROVISIONED);
    // Provisioned before the history reader existed, or with another name: pulumi up again.
    t.is(code({ ...good, historyReaderArn: undefined }), Exit.NOT_PROVISIONED);
    t.is(code({ ...good, historyReaderArn: "arn:aws:iam::111111111111:role/reader" }), Exit.NOT_PROVISIONED);
});

test("a folder's digest covers its files, not attini's own attini_dist/ package, .git or node_modules", (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-digest-"));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, "attini-config.yaml"), "distributionName: platform\n");
    const before = distributionDigest(dir);
    fs.mkdirSync(path.join(dir, "attini_dist"));
    fs.writeFileSync(path.join(dir, "attini_dist", "platform.zip"), "PK an earlier package");
    fs.mkdirSync(path.join(dir, "node_modules"));
    fs.writeFileSync(path.join(dir, "node_modules", "x.js"), "x");
    t.is(distributionDigest(dir), before);
    fs.mkdirSync(path.join(dir, "templates"));
    fs.writeFileSync(path.join(dir, "templates", "attini_dist"), "a file of that name deeper down counts");
    t.not(distributionDigest(dir), before);
});
