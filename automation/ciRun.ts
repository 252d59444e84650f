/**
 * Which CI run is deploying, from the CI system's own variables: the ledger records it with each
 * run, and a waiting deploy and an outdated one name it ("deployed by <run URL>"). Pure.
 */
import { randomUUID } from "node:crypto";

export interface CiRun {
    /** github-actions, gitlab, codebuild, jenkins, or local. */
    system: string;
    /** The run's page, when the CI system says where it is. */
    url?: string;
    /** Unique per deploy: the CI system's run id (with its attempt) plus a random suffix. */
    runId: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** A URL only if it is an http(s) one without whitespace: a variable is text anyone could set. */
function urlOf(raw: string | undefined): string | undefined {
    if (!raw || raw.length > 512 || /\s/.test(raw)) return undefined;
    try {
        const u = new URL(raw);
        return u.protocol === "https:" || u.protocol === "http:" ? u.toString() : undefined;
    } catch {
        return undefined;
    }
}

/**
 * The run's web page, from the CI system's own variables: a GitHub Actions run (all its attempts),
 * a GitLab job, a CodeBuild build, a Jenkins build. What deploy's summary links to.
 */
export function ciRunPage(env: Env): string | undefined {
    if (env.GITHUB_ACTIONS === "true")
        return env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
            ? urlOf(
                  `${env.GITHUB_SERVER_URL ?? "https://github.com"}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`,
              )
            : undefined;
    if (env.GITLAB_CI === "true") return urlOf(env.CI_JOB_URL);
    if (env.CODEBUILD_BUILD_ID) return urlOf(env.CODEBUILD_BUILD_URL);
    if (env.JENKINS_URL) return urlOf(env.BUILD_URL);
    return undefined;
}

/** The CI run this process is part of; on GitHub Actions its URL names the attempt too. */
export function ciRun(env: Env, suffix: string = randomUUID().slice(0, 8)): CiRun {
    const id = (parts: (string | undefined)[]) =>
        [...parts.filter((p): p is string => !!p), suffix]
            .join("-")
            .replace(/[^\w.:/=+@-]/g, "_")
            .slice(0, 200);
    const page = ciRunPage(env);
    if (env.GITHUB_ACTIONS === "true")
        return {
            system: "github-actions",
            url: page ? urlOf(`${page}/attempts/${env.GITHUB_RUN_ATTEMPT ?? "1"}`) : undefined,
            runId: id(["gha", env.GITHUB_RUN_ID, env.GITHUB_RUN_ATTEMPT]),
        };
    if (env.GITLAB_CI === "true") return { system: "gitlab", url: page, runId: id(["gitlab", env.CI_JOB_ID]) };
    if (env.CODEBUILD_BUILD_ID)
        return { system: "codebuild", url: page, runId: id(["codebuild", env.CODEBUILD_BUILD_ID]) };
    if (env.JENKINS_URL) return { system: "jenkins", url: page, runId: id(["jenkins", env.BUILD_TAG]) };
    return { system: "local", runId: id(["local"]) };
}
