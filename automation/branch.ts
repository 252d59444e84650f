/**
 * Which git branch this build is for: `--branch`, then `BRANCH` (as Attini's original GitOps
 * script used it), then the CI system's own variables, then git. Pull-request builds are refused:
 * deployments follow pushes to environment branches.
 */
import { execFileSync } from "node:child_process";
import { branchNameProblem } from "../lib/config";
import { usage } from "./errors";

export interface ResolvedBranch {
    branch: string;
    /** Where it came from, e.g. `GitHub Actions (GITHUB_REF)`. */
    source: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Strips `refs/heads/` and a leading `origin/`, as CI systems and `git` report branches. */
export function normalizeBranch(ref: string): string {
    return ref.replace(/^refs\/heads\//, "").replace(/^(?:refs\/remotes\/)?origin\//, "");
}

interface CiRule {
    system: string;
    /** Whether this CI system ran the build. */
    detect: (env: Env) => boolean;
    /** A pull/merge-request build, which must not deploy; returns what identifies it. */
    pullRequest?: (env: Env) => string | undefined;
    /** The variable holding the branch, and its value. */
    branch: (env: Env) => [name: string, value: string] | undefined;
}

const pick = (env: Env, ...names: string[]): [string, string] | undefined => {
    for (const n of names) {
        const v = env[n];
        if (v !== undefined && v !== "") return [n, v];
    }
    return undefined;
};
const headsOnly = (hit: [string, string] | undefined): [string, string] | undefined => (hit && hit[1].startsWith("refs/heads/") ? hit : undefined);

/** The CI systems whose variables name the branch, in the order they are checked. */
export const CI_RULES: readonly CiRule[] = [
    {
        system: "GitHub Actions",
        detect: (e) => e.GITHUB_ACTIONS === "true",
        pullRequest: (e) => (e.GITHUB_REF?.startsWith("refs/pull/") ? `GITHUB_REF=${e.GITHUB_REF}` : undefined),
        branch: (e) => headsOnly(pick(e, "GITHUB_REF")),
    },
    {
        system: "AWS CodeBuild",
        detect: (e) => e.CODEBUILD_BUILD_ID !== undefined,
        pullRequest: (e) => (e.CODEBUILD_WEBHOOK_TRIGGER?.startsWith("pr/") ? `CODEBUILD_WEBHOOK_TRIGGER=${e.CODEBUILD_WEBHOOK_TRIGGER}` : undefined),
        branch: (e) =>
            headsOnly(pick(e, "CODEBUILD_WEBHOOK_HEAD_REF")) ??
            (e.CODEBUILD_WEBHOOK_TRIGGER?.startsWith("branch/") ? ["CODEBUILD_WEBHOOK_TRIGGER", e.CODEBUILD_WEBHOOK_TRIGGER.slice("branch/".length)] : undefined) ??
            headsOnly(pick(e, "CODEBUILD_SOURCE_VERSION")),
    },
    {
        system: "Jenkins",
        detect: (e) => e.JENKINS_URL !== undefined || e.JENKINS_HOME !== undefined,
        pullRequest: (e) => (e.CHANGE_ID ? `CHANGE_ID=${e.CHANGE_ID}` : undefined),
        branch: (e) => pick(e, "BRANCH_NAME", "GIT_BRANCH"),
    },
    {
        system: "GitLab CI",
        detect: (e) => e.GITLAB_CI === "true",
        pullRequest: (e) => (e.CI_MERGE_REQUEST_IID ? `CI_MERGE_REQUEST_IID=${e.CI_MERGE_REQUEST_IID}` : undefined),
        branch: (e) => pick(e, "CI_COMMIT_BRANCH"),
    },
    {
        system: "Bitbucket Pipelines",
        detect: (e) => e.BITBUCKET_BUILD_NUMBER !== undefined,
        pullRequest: (e) => (e.BITBUCKET_PR_ID ? `BITBUCKET_PR_ID=${e.BITBUCKET_PR_ID}` : undefined),
        branch: (e) => pick(e, "BITBUCKET_BRANCH"),
    },
    {
        system: "Azure Pipelines",
        detect: (e) => e.TF_BUILD === "True" || e.TF_BUILD === "true",
        pullRequest: (e) => (e.BUILD_REASON === "PullRequest" || e.BUILD_SOURCEBRANCH?.startsWith("refs/pull/") ? `BUILD_SOURCEBRANCH=${e.BUILD_SOURCEBRANCH}` : undefined),
        branch: (e) => headsOnly(pick(e, "BUILD_SOURCEBRANCH")),
    },
    {
        system: "CircleCI",
        detect: (e) => e.CIRCLECI === "true",
        pullRequest: (e) => (e.CIRCLE_BRANCH?.startsWith("pull/") ? `CIRCLE_BRANCH=${e.CIRCLE_BRANCH}` : undefined),
        branch: (e) => pick(e, "CIRCLE_BRANCH"),
    },
];

/** The commit being built, from the CI system's variables. */
export const COMMIT_VARS = ["GITHUB_SHA", "CODEBUILD_RESOLVED_SOURCE_VERSION", "GIT_COMMIT", "CI_COMMIT_SHA", "BITBUCKET_COMMIT", "BUILD_SOURCEVERSION", "CIRCLE_SHA1"];

export type GitRunner = (args: string[]) => string | undefined;

/** Runs git in `cwd`; undefined when git fails or is missing. */
export function gitIn(cwd: string): GitRunner {
    return (args) => {
        try {
            return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
        } catch {
            return undefined;
        }
    };
}

/**
 * Resolves the branch. Throws a usage error for a pull-request build, a detached HEAD with no CI
 * variable, or a name git could not have produced (control characters, `..`, ...): such a value
 * never reaches a stack lookup or a command line.
 */
export function resolveBranch(flag: string | undefined, env: Env, git: GitRunner): ResolvedBranch {
    const resolved = ((): ResolvedBranch => {
        if (flag !== undefined) return { branch: flag, source: "--branch" };
        if (env.BRANCH !== undefined && env.BRANCH !== "") return { branch: env.BRANCH, source: "BRANCH" };
        for (const rule of CI_RULES) {
            if (!rule.detect(env)) continue;
            const pr = rule.pullRequest?.(env);
            if (pr) {
                throw usage(`this is a pull-request build on ${rule.system} (${pr}); attini-gitops deploys pushes to environment branches only. Run it on push builds, or pass --branch explicitly.`);
            }
            const hit = rule.branch(env);
            if (hit) return { branch: hit[1], source: `${rule.system} (${hit[0]})` };
        }
        const head = git(["symbolic-ref", "--quiet", "--short", "HEAD"]);
        if (head) return { branch: head, source: "git" };
        if (git(["rev-parse", "--git-dir"]) !== undefined) {
            throw usage("git HEAD is detached and no CI variable names the branch. Pass --branch <name> or set BRANCH.");
        }
        throw usage("cannot tell the branch: no --branch, no BRANCH, no known CI variable, and not a git checkout. Pass --branch <name>.");
    })();
    const branch = normalizeBranch(resolved.branch);
    const problem = branchNameProblem(branch);
    if (problem) throw usage(`branch ${JSON.stringify(resolved.branch)} from ${resolved.source} is not a valid git branch name: it ${problem}.`);
    return { branch, source: resolved.source };
}

export function resolveCommit(env: Env, git: GitRunner): string | undefined {
    for (const v of COMMIT_VARS) if (env[v] && /^[0-9a-f]{7,64}$/i.test(env[v]!)) return env[v];
    return git(["rev-parse", "HEAD"]);
}
