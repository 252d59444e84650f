/**
 * Which git branch this build is for, and whether this build may deploy at all.
 *
 * First, every CI system whose variables are present is asked what triggered the build: a
 * pull-request or merge-request build, or a trigger that is not a push (or a deliberate manual run)
 * of the branch, is refused before any other source is read, `--branch` and `BRANCH` included.
 * Then the branch: `--branch`, then `BRANCH` (as Attini's original GitOps script used it), then the
 * CI system's own variables, then git.
 *
 * Names are taken as given: only a full `refs/heads/` prefix is removed. `origin/main`,
 * `refs/remotes/origin/main` and `refs/tags/main` are not the branch `main` and never map to its
 * stack (a branch can be named `origin/main`).
 */
import { branchNameProblem } from "../lib/branchName";
import { usage } from "./errors";
import type { GitRunner } from "./git";

export interface ResolvedBranch {
    branch: string;
    /** Where it came from, e.g. `GitHub Actions (GITHUB_REF)`. */
    source: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Strips a full `refs/heads/` prefix, and nothing else. */
export function normalizeBranch(ref: string): string {
    return ref.startsWith("refs/heads/") ? ref.slice("refs/heads/".length) : ref;
}

interface CiRule {
    system: string;
    /** Whether this CI system ran the build. */
    detect: (env: Env) => boolean;
    /** A pull/merge-request build, which must not deploy; returns what identifies it. */
    pullRequest?: (env: Env) => string | undefined;
    /**
     * Why this build's trigger must not deploy (a schedule, an API trigger, an unknown event...),
     * or undefined when it is a push to the branch or a deliberate manual run of it.
     */
    trigger?: (env: Env) => string | undefined;
    /** The variable holding the branch, and its value (a short name or a full ref). */
    branch: (env: Env) => [name: string, value: string] | undefined;
}

const pick = (env: Env, ...names: string[]): [string, string] | undefined => {
    for (const n of names) {
        const v = env[n];
        if (v !== undefined && v !== "") return [n, v];
    }
    return undefined;
};
const headsOnly = (hit: [string, string] | undefined): [string, string] | undefined =>
    hit?.[1].startsWith("refs/heads/") ? hit : undefined;

/**
 * An allow-list check on the variable that names the trigger: a missing or unlisted value refuses,
 * naming the value and what is allowed.
 */
const allowTrigger =
    (name: string, allowed: readonly string[], optional = false) =>
    (e: Env): string | undefined => {
        const v = e[name];
        if ((v === undefined || v === "") && optional) return undefined;
        if (v !== undefined && allowed.includes(v)) return undefined;
        return v === undefined || v === ""
            ? `${name} is not set, so the trigger of this build is unknown`
            : `${name}=${v}; only ${allowed.join(" and ")} deploy`;
    };

/** GitHub Actions events that deploy: a push, or a deliberate manual run of the branch. */
export const GITHUB_DEPLOY_EVENTS = ["push", "workflow_dispatch"] as const;
const GITHUB_PR_EVENTS = [
    "pull_request",
    "pull_request_target",
    "pull_request_review",
    "pull_request_review_comment",
    "merge_group",
];
/** GitLab pipeline sources that deploy: a push, or a pipeline run from the UI on the branch. */
export const GITLAB_DEPLOY_SOURCES = ["push", "web"] as const;
/** Azure Pipelines build reasons that deploy: CI triggers on a push, or a manual queue. */
export const AZURE_DEPLOY_REASONS = ["IndividualCI", "BatchedCI", "Manual"] as const;

/** The CI systems whose variables name the branch, in the order they are checked. */
export const CI_RULES: readonly CiRule[] = [
    {
        system: "GitHub Actions",
        detect: (e) => e.GITHUB_ACTIONS === "true",
        pullRequest: (e) =>
            e.GITHUB_REF?.startsWith("refs/pull/")
                ? `GITHUB_REF=${e.GITHUB_REF}`
                : GITHUB_PR_EVENTS.includes(e.GITHUB_EVENT_NAME ?? "")
                  ? `GITHUB_EVENT_NAME=${e.GITHUB_EVENT_NAME}`
                  : undefined,
        trigger: allowTrigger("GITHUB_EVENT_NAME", GITHUB_DEPLOY_EVENTS),
        branch: (e) => pick(e, "GITHUB_REF"),
    },
    {
        system: "AWS CodeBuild",
        detect: (e) => e.CODEBUILD_BUILD_ID !== undefined,
        pullRequest: (e) =>
            e.CODEBUILD_WEBHOOK_TRIGGER?.startsWith("pr/")
                ? `CODEBUILD_WEBHOOK_TRIGGER=${e.CODEBUILD_WEBHOOK_TRIGGER}`
                : e.CODEBUILD_WEBHOOK_EVENT?.startsWith("PULL_REQUEST")
                  ? `CODEBUILD_WEBHOOK_EVENT=${e.CODEBUILD_WEBHOOK_EVENT}`
                  : undefined,
        // Builds not started by a webhook (CodePipeline, a manual start) carry no webhook event.
        trigger: allowTrigger("CODEBUILD_WEBHOOK_EVENT", ["PUSH"], true),
        branch: (e) =>
            pick(e, "CODEBUILD_WEBHOOK_HEAD_REF") ??
            (e.CODEBUILD_WEBHOOK_TRIGGER?.startsWith("branch/")
                ? ["CODEBUILD_WEBHOOK_TRIGGER", e.CODEBUILD_WEBHOOK_TRIGGER.slice("branch/".length)]
                : undefined) ??
            (e.CODEBUILD_WEBHOOK_TRIGGER?.startsWith("tag/")
                ? ["CODEBUILD_WEBHOOK_TRIGGER", `refs/tags/${e.CODEBUILD_WEBHOOK_TRIGGER.slice("tag/".length)}`]
                : undefined) ??
            // A source version may also be a commit id, which names no branch: then git is asked.
            headsOnly(pick(e, "CODEBUILD_SOURCE_VERSION")),
    },
    {
        system: "Jenkins",
        detect: (e) => e.JENKINS_URL !== undefined || e.JENKINS_HOME !== undefined,
        pullRequest: (e) => (e.CHANGE_ID ? `CHANGE_ID=${e.CHANGE_ID}` : undefined),
        branch: (e) => pick(e, "BRANCH_NAME", "GIT_LOCAL_BRANCH") ?? jenkinsGitBranch(e),
    },
    {
        system: "GitLab CI",
        detect: (e) => e.GITLAB_CI === "true",
        pullRequest: (e) =>
            e.CI_MERGE_REQUEST_IID
                ? `CI_MERGE_REQUEST_IID=${e.CI_MERGE_REQUEST_IID}`
                : e.CI_PIPELINE_SOURCE === "merge_request_event" ||
                    e.CI_PIPELINE_SOURCE === "external_pull_request_event"
                  ? `CI_PIPELINE_SOURCE=${e.CI_PIPELINE_SOURCE}`
                  : undefined,
        trigger: allowTrigger("CI_PIPELINE_SOURCE", GITLAB_DEPLOY_SOURCES),
        branch: (e) =>
            pick(e, "CI_COMMIT_BRANCH") ??
            (e.CI_COMMIT_TAG ? ["CI_COMMIT_TAG", `refs/tags/${e.CI_COMMIT_TAG}`] : undefined),
    },
    {
        system: "Bitbucket Pipelines",
        detect: (e) => e.BITBUCKET_BUILD_NUMBER !== undefined,
        pullRequest: (e) => (e.BITBUCKET_PR_ID ? `BITBUCKET_PR_ID=${e.BITBUCKET_PR_ID}` : undefined),
        branch: (e) =>
            pick(e, "BITBUCKET_BRANCH") ??
            (e.BITBUCKET_TAG ? ["BITBUCKET_TAG", `refs/tags/${e.BITBUCKET_TAG}`] : undefined),
    },
    {
        system: "Azure Pipelines",
        detect: (e) => e.TF_BUILD === "True" || e.TF_BUILD === "true",
        pullRequest: (e) =>
            e.BUILD_REASON === "PullRequest" || e.BUILD_SOURCEBRANCH?.startsWith("refs/pull/")
                ? `BUILD_SOURCEBRANCH=${e.BUILD_SOURCEBRANCH}`
                : undefined,
        trigger: allowTrigger("BUILD_REASON", AZURE_DEPLOY_REASONS),
        branch: (e) => pick(e, "BUILD_SOURCEBRANCH"),
    },
    {
        system: "CircleCI",
        detect: (e) => e.CIRCLECI === "true",
        pullRequest: (e) => (e.CIRCLE_BRANCH?.startsWith("pull/") ? `CIRCLE_BRANCH=${e.CIRCLE_BRANCH}` : undefined),
        branch: (e) =>
            pick(e, "CIRCLE_BRANCH") ?? (e.CIRCLE_TAG ? ["CIRCLE_TAG", `refs/tags/${e.CIRCLE_TAG}`] : undefined),
    },
];

/**
 * Jenkins' Git plugin sets GIT_BRANCH to `<remote>/<branch>`, e.g. `origin/main` for main (and
 * `origin/origin/main` for a branch named origin/main). Exactly that one `origin/` is removed; a
 * GIT_BRANCH without it could be either branch, so it names none.
 */
function jenkinsGitBranch(e: Env): [string, string] | undefined {
    const v = e.GIT_BRANCH;
    if (v === undefined || v === "") return undefined;
    if (v.startsWith("refs/")) return ["GIT_BRANCH", v];
    if (!v.startsWith("origin/")) {
        throw usage(
            `Jenkins GIT_BRANCH=${v} lacks the origin/ prefix the Git plugin gives it, so which branch was built is ambiguous. Use a multibranch pipeline (BRANCH_NAME), or pass --branch.`,
        );
    }
    return ["GIT_BRANCH", v.slice("origin/".length)];
}

/** The commit being built, from the CI system's variables. */
export const COMMIT_VARS = [
    "GITHUB_SHA",
    "CODEBUILD_RESOLVED_SOURCE_VERSION",
    "GIT_COMMIT",
    "CI_COMMIT_SHA",
    "BITBUCKET_COMMIT",
    "BUILD_SOURCEVERSION",
    "CIRCLE_SHA1",
];

/**
 * Refuses a build that must not deploy: a pull/merge-request build, or a trigger other than a push
 * or a manual run, on any CI system whose variables are present.
 */
export function refuseNonDeployBuilds(env: Env): void {
    for (const rule of CI_RULES) {
        if (!rule.detect(env)) continue;
        const pr = rule.pullRequest?.(env);
        if (pr) {
            throw usage(
                `this is a pull-request build on ${rule.system} (${pr}); attini-gitops deploys pushes to environment branches only. Run it on push builds.`,
            );
        }
        const why = rule.trigger?.(env);
        if (why)
            throw usage(
                `this ${rule.system} build must not deploy: ${why}. attini-gitops deploys pushes to environment branches (and manual runs of them) only; see docs/driver.md, "Which builds deploy".`,
            );
    }
}

/**
 * Resolves the branch. Throws a usage error for a build that must not deploy (refuseNonDeployBuilds;
 * `forDeploy` false, for read-only commands, skips that),
 * a detached HEAD with no CI variable, or a name git could not have produced (control characters,
 * `..`, a ref that is not a branch, ...): such a value never reaches a stack lookup or a command line.
 */
export function resolveBranch(flag: string | undefined, env: Env, git: GitRunner, forDeploy = true): ResolvedBranch {
    if (forDeploy) refuseNonDeployBuilds(env);
    const resolved = ((): ResolvedBranch => {
        if (flag !== undefined) return { branch: flag, source: "--branch" };
        if (env.BRANCH !== undefined && env.BRANCH !== "") return { branch: env.BRANCH, source: "BRANCH" };
        for (const rule of CI_RULES) {
            if (!rule.detect(env)) continue;
            const hit = rule.branch(env);
            if (hit) return { branch: hit[1], source: `${rule.system} (${hit[0]})` };
        }
        const head = git(["symbolic-ref", "--quiet", "HEAD"]);
        if (head) return { branch: head, source: "git" };
        if (git(["rev-parse", "--git-dir"]) !== undefined) {
            throw usage(
                "git HEAD is detached and no CI variable names the branch. Pass --branch <name> or set BRANCH.",
            );
        }
        throw usage(
            "cannot tell the branch: no --branch, no BRANCH, no known CI variable, and not a git checkout. Pass --branch <name>.",
        );
    })();
    const branch = normalizeBranch(resolved.branch);
    if (branch.startsWith("refs/")) {
        throw usage(
            `${JSON.stringify(resolved.branch)} from ${resolved.source} is not a branch (only refs/heads/ names one); tags and remote-tracking refs never deploy.`,
        );
    }
    const problem = branchNameProblem(branch);
    if (problem)
        throw usage(
            `branch ${JSON.stringify(resolved.branch)} from ${resolved.source} is not a valid git branch name: it ${problem}.`,
        );
    return { branch, source: resolved.source };
}

/** The commit the session tags name: the CI system's, else the checkout's `head` (which the ledger read). */
export function resolveCommit(env: Env, head: string): string {
    for (const v of COMMIT_VARS) {
        const sha = env[v];
        if (sha && /^[0-9a-f]{7,64}$/i.test(sha)) return sha;
    }
    return head;
}
