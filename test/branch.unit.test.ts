// Which branch a build is for, and whether the build may deploy at all: pure decisions on the CI
// system's variables and git's answers (automation/branch.ts).
import test from "ava";
import { CI_RULES, normalizeBranch, resolveBranch } from "../automation/branch";
import { Exit } from "../automation/errors";

const noGit = () => undefined;

// One row per CI system: its variables on a push build, and the branch it must yield.
const PUSH_BUILDS: [system: string, env: Record<string, string>, branch: string, source: string][] = [
    [
        "GitHub Actions",
        { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "push", GITHUB_REF: "refs/heads/main", GITHUB_REF_NAME: "main" },
        "main",
        "GitHub Actions (GITHUB_REF)",
    ],
    [
        "GitHub Actions",
        { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "workflow_dispatch", GITHUB_REF: "refs/heads/stage" },
        "stage",
        "GitHub Actions (GITHUB_REF)",
    ],
    [
        "AWS CodeBuild",
        {
            CODEBUILD_BUILD_ID: "p:1",
            CODEBUILD_WEBHOOK_EVENT: "PUSH",
            CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/stage",
            CODEBUILD_WEBHOOK_TRIGGER: "branch/stage",
        },
        "stage",
        "AWS CodeBuild (CODEBUILD_WEBHOOK_HEAD_REF)",
    ],
    [
        "AWS CodeBuild",
        { CODEBUILD_BUILD_ID: "p:1", CODEBUILD_WEBHOOK_TRIGGER: "branch/release/2.0" },
        "release/2.0",
        "AWS CodeBuild (CODEBUILD_WEBHOOK_TRIGGER)",
    ],
    [
        "AWS CodeBuild",
        { CODEBUILD_BUILD_ID: "p:1", CODEBUILD_SOURCE_VERSION: "refs/heads/dev" },
        "dev",
        "AWS CodeBuild (CODEBUILD_SOURCE_VERSION)",
    ],
    ["Jenkins", { JENKINS_URL: "https://ci/", BRANCH_NAME: "dev" }, "dev", "Jenkins (BRANCH_NAME)"],
    [
        "Jenkins",
        { JENKINS_URL: "https://ci/", GIT_LOCAL_BRANCH: "stage", GIT_BRANCH: "origin/stage" },
        "stage",
        "Jenkins (GIT_LOCAL_BRANCH)",
    ],
    ["Jenkins", { JENKINS_URL: "https://ci/", GIT_BRANCH: "origin/stage" }, "stage", "Jenkins (GIT_BRANCH)"],
    [
        "Jenkins",
        { JENKINS_URL: "https://ci/", GIT_BRANCH: "origin/origin/main" },
        "origin/main",
        "Jenkins (GIT_BRANCH)",
    ],
    [
        "GitLab CI",
        { GITLAB_CI: "true", CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "main", CI_COMMIT_REF_NAME: "main" },
        "main",
        "GitLab CI (CI_COMMIT_BRANCH)",
    ],
    [
        "GitLab CI",
        { GITLAB_CI: "true", CI_PIPELINE_SOURCE: "web", CI_COMMIT_BRANCH: "dev" },
        "dev",
        "GitLab CI (CI_COMMIT_BRANCH)",
    ],
    [
        "Bitbucket Pipelines",
        { BITBUCKET_BUILD_NUMBER: "7", BITBUCKET_BRANCH: "dev" },
        "dev",
        "Bitbucket Pipelines (BITBUCKET_BRANCH)",
    ],
    [
        "Azure Pipelines",
        {
            TF_BUILD: "True",
            BUILD_REASON: "IndividualCI",
            BUILD_SOURCEBRANCH: "refs/heads/feature/x",
            BUILD_SOURCEBRANCHNAME: "x",
        },
        "feature/x",
        "Azure Pipelines (BUILD_SOURCEBRANCH)",
    ],
    [
        "Azure Pipelines",
        { TF_BUILD: "True", BUILD_REASON: "Manual", BUILD_SOURCEBRANCH: "refs/heads/main" },
        "main",
        "Azure Pipelines (BUILD_SOURCEBRANCH)",
    ],
    ["CircleCI", { CIRCLECI: "true", CIRCLE_BRANCH: "stage" }, "stage", "CircleCI (CIRCLE_BRANCH)"],
];

for (const [system, env, branch, source] of PUSH_BUILDS) {
    test(`branch from ${system}: ${Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join(", ")} → ${branch}`, (t) => {
        t.deepEqual(resolveBranch(undefined, env, noGit), { branch, source });
    });
}

test("every CI system listed in the docs has a rule", (t) => {
    t.deepEqual(
        CI_RULES.map((r) => r.system),
        [
            "GitHub Actions",
            "AWS CodeBuild",
            "Jenkins",
            "GitLab CI",
            "Bitbucket Pipelines",
            "Azure Pipelines",
            "CircleCI",
        ],
    );
});

const PR_BUILDS: [string, Record<string, string>][] = [
    [
        "GitHub Actions",
        {
            GITHUB_ACTIONS: "true",
            GITHUB_EVENT_NAME: "pull_request",
            GITHUB_REF: "refs/pull/12/merge",
            GITHUB_HEAD_REF: "main",
        },
    ],
    // pull_request_target runs on the base branch: GITHUB_REF names main although a PR triggered it.
    [
        "GitHub Actions",
        { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "pull_request_target", GITHUB_REF: "refs/heads/main" },
    ],
    [
        "AWS CodeBuild",
        {
            CODEBUILD_BUILD_ID: "p:1",
            CODEBUILD_WEBHOOK_TRIGGER: "pr/12",
            CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/main",
        },
    ],
    [
        "AWS CodeBuild",
        {
            CODEBUILD_BUILD_ID: "p:1",
            CODEBUILD_WEBHOOK_EVENT: "PULL_REQUEST_UPDATED",
            CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/main",
        },
    ],
    ["Jenkins", { JENKINS_URL: "https://ci/", BRANCH_NAME: "PR-12", CHANGE_ID: "12" }],
    [
        "GitLab CI",
        { GITLAB_CI: "true", CI_PIPELINE_SOURCE: "push", CI_MERGE_REQUEST_IID: "12", CI_COMMIT_REF_NAME: "main" },
    ],
    ["GitLab CI", { GITLAB_CI: "true", CI_PIPELINE_SOURCE: "merge_request_event", CI_COMMIT_BRANCH: "main" }],
    ["Bitbucket Pipelines", { BITBUCKET_BUILD_NUMBER: "7", BITBUCKET_BRANCH: "main", BITBUCKET_PR_ID: "12" }],
    ["Azure Pipelines", { TF_BUILD: "True", BUILD_REASON: "PullRequest", BUILD_SOURCEBRANCH: "refs/pull/12/merge" }],
    ["CircleCI", { CIRCLECI: "true", CIRCLE_BRANCH: "pull/12" }],
];
for (const [system, env] of PR_BUILDS) {
    test(`a ${system} pull-request build (${Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join(", ")}) never resolves to a branch, whatever --branch or BRANCH say`, (t) => {
        for (const [flag, extra] of [
            [undefined, {}],
            [undefined, { BRANCH: "main" }],
            ["main", {}],
        ] as const) {
            const e = t.throws(() => resolveBranch(flag, { ...env, ...extra }, () => "refs/heads/main"));
            t.is((e as { exitCode?: number }).exitCode, Exit.USAGE);
            t.regex(e!.message, new RegExp(`pull-request build on ${system}`));
        }
    });
}

// Triggers that are not a push of the branch (nor a deliberate manual run of it) do not deploy.
const OTHER_TRIGGERS: [string, Record<string, string>, RegExp][] = [
    [
        "GitHub Actions",
        { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "schedule", GITHUB_REF: "refs/heads/main" },
        /GITHUB_EVENT_NAME=schedule; only push and workflow_dispatch deploy/,
    ],
    [
        "GitHub Actions",
        { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "release", GITHUB_REF: "refs/heads/main" },
        /GITHUB_EVENT_NAME=release/,
    ],
    [
        "GitHub Actions",
        { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "workflow_run", GITHUB_REF: "refs/heads/main" },
        /GITHUB_EVENT_NAME=workflow_run/,
    ],
    [
        "GitHub Actions",
        { GITHUB_ACTIONS: "true", GITHUB_REF: "refs/heads/main" },
        /GITHUB_EVENT_NAME is not set, so the trigger of this build is unknown/,
    ],
    [
        "AWS CodeBuild",
        {
            CODEBUILD_BUILD_ID: "p:1",
            CODEBUILD_WEBHOOK_EVENT: "RELEASED",
            CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/main",
        },
        /CODEBUILD_WEBHOOK_EVENT=RELEASED; only PUSH deploy/,
    ],
    [
        "GitLab CI",
        { GITLAB_CI: "true", CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_BRANCH: "main" },
        /CI_PIPELINE_SOURCE=schedule; only push and web deploy/,
    ],
    [
        "GitLab CI",
        { GITLAB_CI: "true", CI_PIPELINE_SOURCE: "trigger", CI_COMMIT_BRANCH: "main" },
        /CI_PIPELINE_SOURCE=trigger/,
    ],
    ["GitLab CI", { GITLAB_CI: "true", CI_COMMIT_BRANCH: "main" }, /CI_PIPELINE_SOURCE is not set/],
    [
        "Azure Pipelines",
        { TF_BUILD: "True", BUILD_REASON: "Schedule", BUILD_SOURCEBRANCH: "refs/heads/main" },
        /BUILD_REASON=Schedule; only IndividualCI and BatchedCI and Manual deploy/,
    ],
    ["Azure Pipelines", { TF_BUILD: "True", BUILD_SOURCEBRANCH: "refs/heads/main" }, /BUILD_REASON is not set/],
];
for (const [system, env, message] of OTHER_TRIGGERS) {
    test(`a ${system} build triggered by ${Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join(", ")} is refused, before --branch and BRANCH`, (t) => {
        for (const [flag, extra] of [
            [undefined, {}],
            [undefined, { BRANCH: "main" }],
            ["main", {}],
        ] as const) {
            const e = t.throws(() => resolveBranch(flag, { ...env, ...extra }, noGit));
            t.is((e as { exitCode?: number }).exitCode, Exit.USAGE);
            t.regex(e!.message, new RegExp(`this ${system} build must not deploy`));
            t.regex(e!.message, message);
        }
    });
}

test("read-only commands (plan --branch) are not refused on a pull-request build", (t) => {
    const pr = { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "pull_request", GITHUB_REF: "refs/pull/1/merge" };
    t.is(resolveBranch("main", pr, noGit, false).branch, "main");
});

test("order: --branch, then BRANCH, then CI variables, then git", (t) => {
    const ci = { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "push", GITHUB_REF: "refs/heads/stage" };
    const git = () => "refs/heads/dev";
    t.is(resolveBranch("main", { BRANCH: "stage", ...ci }, git).source, "--branch");
    t.deepEqual(resolveBranch(undefined, { BRANCH: "refs/heads/main", ...ci }, git), {
        branch: "main",
        source: "BRANCH",
    });
    t.is(resolveBranch(undefined, ci, git).source, "GitHub Actions (GITHUB_REF)");
    t.deepEqual(resolveBranch(undefined, {}, git), { branch: "dev", source: "git" });
});

test("a detached HEAD with no CI variable is a clear error", (t) => {
    const detached = (args: string[]) => (args[0] === "rev-parse" ? ".git" : undefined);
    t.throws(() => resolveBranch(undefined, {}, detached), {
        message: /git HEAD is detached and no CI variable names the branch\. Pass --branch/,
    });
    t.throws(() => resolveBranch(undefined, {}, noGit), { message: /not a git checkout/ });
});

test("only refs/heads/ is stripped: origin/main is a branch of its own, and other refs are no branch at all", (t) => {
    t.is(normalizeBranch("refs/heads/feature/a"), "feature/a");
    t.is(normalizeBranch("refs/heads/origin/main"), "origin/main");
    t.is(normalizeBranch("origin/main"), "origin/main");
    // A branch literally named origin/stage resolves to origin/stage (which maps to no stack), from every source.
    t.is(resolveBranch("origin/stage", {}, noGit).branch, "origin/stage");
    t.is(resolveBranch(undefined, { BRANCH: "origin/main" }, noGit).branch, "origin/main");
    t.is(
        resolveBranch(
            undefined,
            { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "push", GITHUB_REF: "refs/heads/origin/main" },
            noGit,
        ).branch,
        "origin/main",
    );
    t.is(resolveBranch(undefined, {}, () => "refs/heads/origin/main").branch, "origin/main");
    for (const [flag, env] of [
        ["refs/remotes/origin/main", {}],
        ["refs/tags/main", {}],
        [undefined, { BRANCH: "refs/remotes/origin/main" }],
        [undefined, { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "workflow_dispatch", GITHUB_REF: "refs/tags/main" }],
        [undefined, { CODEBUILD_BUILD_ID: "p:1", CODEBUILD_WEBHOOK_TRIGGER: "tag/main" }],
        [undefined, { GITLAB_CI: "true", CI_PIPELINE_SOURCE: "push", CI_COMMIT_TAG: "main" }],
        [undefined, { TF_BUILD: "True", BUILD_REASON: "IndividualCI", BUILD_SOURCEBRANCH: "refs/tags/main" }],
    ] as const) {
        const e = t.throws(
            () => resolveBranch(flag, env, () => "refs/heads/main"),
            undefined,
            JSON.stringify([flag, env]),
        );
        t.is((e as { exitCode?: number }).exitCode, Exit.USAGE);
        t.regex(
            e!.message,
            /is not a branch \(only refs\/heads\/ names one\); tags and remote-tracking refs never deploy/,
        );
    }
});

test("Jenkins GIT_BRANCH without the Git plugin's origin/ prefix is ambiguous and refused", (t) => {
    const e = t.throws(() => resolveBranch(undefined, { JENKINS_URL: "https://ci/", GIT_BRANCH: "main" }, noGit));
    t.is((e as { exitCode?: number }).exitCode, Exit.USAGE);
    t.regex(e!.message, /GIT_BRANCH=main lacks the origin\/ prefix/);
});

test("hostile branch names are refused before they reach anything else", (t) => {
    for (const hostile of [
        "dev; rm -rf /",
        "$(touch /tmp/x)",
        "a b",
        "../dev",
        "dev..main",
        "dev\nmain",
        "main\r",
        "-e prod",
        "x:y",
        "*",
        "dev\u0000",
    ]) {
        const e = t.throws(() => resolveBranch(hostile, {}, noGit), undefined, JSON.stringify(hostile));
        t.is((e as { exitCode?: number }).exitCode, Exit.USAGE);
        t.regex(e!.message, /is not a valid git branch name/);
    }
    // git accepts these, so they resolve verbatim (and map to no environment); no shell ever sees them.
    for (const odd of ["release/ünïcode-🚀", "`id`", "dev;id", "a|b&c", "$HOME", "'quoted'"])
        t.is(resolveBranch(odd, {}, noGit).branch, odd);
});
