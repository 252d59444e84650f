// The driver's pure decisions, without Pulumi or AWS.
import test from "ava";
import { attiniArgs, attiniEnv, WITHHELD_VARS } from "../automation/attini";
import { CI_RULES, normalizeBranch, resolveBranch } from "../automation/branch";
import { parseDuration } from "../automation/cli";
import { Exit } from "../automation/errors";
import { Redactor } from "../automation/log";
import { explainStsError, isRetryable, RetryPolicy, withRetry } from "../automation/sts";
import { cleanSessionName, cleanTagValue, defaultSessionName, sourceIdentity } from "../automation/session";

const noGit = () => undefined;

// One row per CI system: its variables on a push build, and the branch it must yield.
const PUSH_BUILDS: [system: string, env: Record<string, string>, branch: string, source: string][] = [
    ["GitHub Actions", { GITHUB_ACTIONS: "true", GITHUB_REF: "refs/heads/main", GITHUB_REF_NAME: "main" }, "main", "GitHub Actions (GITHUB_REF)"],
    ["AWS CodeBuild", { CODEBUILD_BUILD_ID: "p:1", CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/stage", CODEBUILD_WEBHOOK_TRIGGER: "branch/stage" }, "stage", "AWS CodeBuild (CODEBUILD_WEBHOOK_HEAD_REF)"],
    ["AWS CodeBuild", { CODEBUILD_BUILD_ID: "p:1", CODEBUILD_WEBHOOK_TRIGGER: "branch/release/2.0" }, "release/2.0", "AWS CodeBuild (CODEBUILD_WEBHOOK_TRIGGER)"],
    ["AWS CodeBuild", { CODEBUILD_BUILD_ID: "p:1", CODEBUILD_SOURCE_VERSION: "refs/heads/dev" }, "dev", "AWS CodeBuild (CODEBUILD_SOURCE_VERSION)"],
    ["Jenkins", { JENKINS_URL: "https://ci/", BRANCH_NAME: "dev" }, "dev", "Jenkins (BRANCH_NAME)"],
    ["Jenkins", { JENKINS_URL: "https://ci/", GIT_BRANCH: "origin/stage" }, "stage", "Jenkins (GIT_BRANCH)"],
    ["GitLab CI", { GITLAB_CI: "true", CI_COMMIT_BRANCH: "main", CI_COMMIT_REF_NAME: "main" }, "main", "GitLab CI (CI_COMMIT_BRANCH)"],
    ["Bitbucket Pipelines", { BITBUCKET_BUILD_NUMBER: "7", BITBUCKET_BRANCH: "dev" }, "dev", "Bitbucket Pipelines (BITBUCKET_BRANCH)"],
    ["Azure Pipelines", { TF_BUILD: "True", BUILD_SOURCEBRANCH: "refs/heads/feature/x", BUILD_SOURCEBRANCHNAME: "x" }, "feature/x", "Azure Pipelines (BUILD_SOURCEBRANCH)"],
    ["CircleCI", { CIRCLECI: "true", CIRCLE_BRANCH: "stage" }, "stage", "CircleCI (CIRCLE_BRANCH)"],
];

for (const [system, env, branch, source] of PUSH_BUILDS) {
    test(`branch from ${system}: ${Object.keys(env).join(", ")} → ${branch}`, (t) => {
        t.deepEqual(resolveBranch(undefined, env, noGit), { branch, source });
    });
}

test("every CI system listed in the docs has a rule", (t) => {
    t.deepEqual(CI_RULES.map((r) => r.system), ["GitHub Actions", "AWS CodeBuild", "Jenkins", "GitLab CI", "Bitbucket Pipelines", "Azure Pipelines", "CircleCI"]);
});

const PR_BUILDS: [string, Record<string, string>][] = [
    ["GitHub Actions", { GITHUB_ACTIONS: "true", GITHUB_REF: "refs/pull/12/merge", GITHUB_HEAD_REF: "main" }],
    ["AWS CodeBuild", { CODEBUILD_BUILD_ID: "p:1", CODEBUILD_WEBHOOK_TRIGGER: "pr/12", CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/main" }],
    ["Jenkins", { JENKINS_URL: "https://ci/", BRANCH_NAME: "PR-12", CHANGE_ID: "12" }],
    ["GitLab CI", { GITLAB_CI: "true", CI_MERGE_REQUEST_IID: "12", CI_COMMIT_REF_NAME: "main" }],
    ["Bitbucket Pipelines", { BITBUCKET_BUILD_NUMBER: "7", BITBUCKET_BRANCH: "main", BITBUCKET_PR_ID: "12" }],
    ["Azure Pipelines", { TF_BUILD: "True", BUILD_REASON: "PullRequest", BUILD_SOURCEBRANCH: "refs/pull/12/merge" }],
    ["CircleCI", { CIRCLECI: "true", CIRCLE_BRANCH: "pull/12" }],
];
for (const [system, env] of PR_BUILDS) {
    test(`a ${system} pull-request build never resolves to a branch (a PR from a branch named main must not deploy prod)`, (t) => {
        const e = t.throws(() => resolveBranch(undefined, env, noGit));
        t.is((e as { exitCode?: number }).exitCode, Exit.USAGE);
        t.regex(e!.message, new RegExp(`pull-request build on ${system}`));
    });
}

test("order: --branch, then BRANCH, then CI variables, then git", (t) => {
    const ci = { GITHUB_ACTIONS: "true", GITHUB_REF: "refs/heads/stage" };
    const git = () => "dev";
    t.is(resolveBranch("main", { BRANCH: "stage", ...ci }, git).source, "--branch");
    t.deepEqual(resolveBranch(undefined, { BRANCH: "refs/heads/main", ...ci }, git), { branch: "main", source: "BRANCH" });
    t.is(resolveBranch(undefined, ci, git).source, "GitHub Actions (GITHUB_REF)");
    t.deepEqual(resolveBranch(undefined, {}, git), { branch: "dev", source: "git" });
});

test("a detached HEAD with no CI variable is a clear error", (t) => {
    const detached = (args: string[]) => (args[0] === "rev-parse" ? ".git" : undefined);
    t.throws(() => resolveBranch(undefined, {}, detached), { message: /git HEAD is detached and no CI variable names the branch\. Pass --branch/ });
    t.throws(() => resolveBranch(undefined, {}, noGit), { message: /not a git checkout/ });
});

test("refs/heads/ and origin/ prefixes are stripped", (t) => {
    t.is(normalizeBranch("refs/heads/feature/a"), "feature/a");
    t.is(normalizeBranch("origin/main"), "main");
    t.is(normalizeBranch("refs/remotes/origin/dev"), "dev");
    t.is(normalizeBranch("originals/x"), "originals/x");
});

test("hostile branch names are refused before they reach anything else", (t) => {
    for (const hostile of ["dev; rm -rf /", "$(touch /tmp/x)", "a b", "../dev", "dev..main", "dev\nmain", "main\r", "-e prod", "x:y", "*", "dev\u0000"]) {
        const e = t.throws(() => resolveBranch(hostile, {}, noGit), undefined, JSON.stringify(hostile));
        t.is((e as { exitCode?: number }).exitCode, Exit.USAGE);
        t.regex(e!.message, /is not a valid git branch name/);
    }
    // git accepts these, so they resolve verbatim (and map to no environment); no shell ever sees them.
    for (const odd of ["release/ünïcode-🚀", "`id`", "dev;id", "a|b&c", "$HOME", "'quoted'"]) t.is(resolveBranch(odd, {}, noGit).branch, odd);
});

test("session names are cleaned to STS's rules: 2-64 characters of [\\w+=,.@-]", (t) => {
    t.is(defaultSessionName("/build/dist/platform"), "deploy-platform");
    t.is(defaultSessionName("/build/out/platform-1.2.0.zip"), "deploy-platform-1.2.0");
    t.is(cleanSessionName("my dist (v2)/ü"), "my-dist-v2-u");
    t.is(cleanSessionName("x"), "x-session");
    t.is(cleanSessionName("!!!"), "attini-session");
    const long = cleanSessionName(`deploy-${"a".repeat(100)}`);
    t.is(long.length, 64);
    for (const s of ["dev; rm -rf /", "日本語", "a\nb", "a".repeat(300), "", "—"]) t.regex(cleanSessionName(s), /^[\w+=,.@-]{2,64}$/, JSON.stringify(s));
});

test("tag values and source identity are cleaned", (t) => {
    t.is(cleanTagValue("release/ünï code+1"), "release/ünï code+1");
    t.is(cleanTagValue("a;b$c"), "a_b_c");
    t.is(cleanTagValue("x".repeat(300)).length, 256);
    t.is(sourceIdentity({ GITHUB_ACTOR: "octo cat" }), "octo-cat");
    t.is(sourceIdentity({}), "attini-gitops");
});

const FAST: RetryPolicy = { maxAttempts: 4, baseMs: 100, capMs: 400 };
const awsError = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

test("retry policy: throttling and 5xx are retried up to 4 attempts with capped backoff; AccessDenied fails at once", async (t) => {
    t.true(isRetryable(awsError("Throttling", 400)));
    t.true(isRetryable(awsError("InternalFailure", 500)));
    t.true(isRetryable(awsError("ServiceUnavailable", 503)));
    t.false(isRetryable(awsError("AccessDenied", 403)));
    t.false(isRetryable(awsError("ValidationError", 400)));
    t.false(isRetryable(new Error("socket hang up")));

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
    delays.forEach((d, i) => t.true(d >= 0 && d <= Math.min(FAST.capMs, FAST.baseMs * 2 ** i), `delay ${i}: ${d}`));

    calls = 0;
    await t.throwsAsync(withRetry(async () => (calls++, Promise.reject(awsError("AccessDenied", 403))), FAST, async () => {}));
    t.is(calls, 1);

    calls = 0;
    t.is(await withRetry(async () => (++calls < 3 ? Promise.reject(awsError("Throttling", 400)) : "ok"), FAST, async () => {}), "ok");
    t.is(calls, 3);
});

test("STS errors are explained", (t) => {
    const req = { roleArn: "arn:aws:iam::1:role/r", region: "eu-west-1", sessionName: "s", durationSeconds: 7200, tags: {} };
    t.regex(explainStsError(req, awsError("ValidationError", 400)), /AssumeRole on arn:aws:iam::1:role\/r failed: ValidationError/);
    t.regex(explainStsError(req, Object.assign(awsError("ValidationError", 400), { message: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role." })), /longer than the role's maxSessionDuration/);
});

test("attini's command line and environment", (t) => {
    t.deepEqual(attiniArgs("dist", "prod", ["--json"]), ["deploy", "run", "dist", "-e", "prod", "-f", "--json"]);
    const parent = Object.fromEntries(WITHHELD_VARS.map((k) => [k, `parent-${k}`]));
    const env = attiniEnv({ ...parent, PATH: "/bin", AWS_ENDPOINT_URL: "http://127.0.0.1:1" }, { accessKeyId: "ASIATEMP", secretAccessKey: "tempsecret", sessionToken: "temptoken" }, "eu-north-1");
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
