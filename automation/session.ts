/**
 * What the deploy session is called and tagged with, cleaned to STS's rules, so that CloudTrail
 * shows who deployed what.
 */
import * as path from "node:path";

const SESSION_CHARS = /[^\w+=,.@-]+/g;

/**
 * A RoleSessionName: 2-64 characters of `[\w+=,.@-]`. Other characters become `-`; a result shorter
 * than 2 characters gets a `-session` suffix.
 */
export function cleanSessionName(raw: string): string {
    let s = raw
        .normalize("NFKD")
        .replace(/[\u0300-\u036f]/g, "")
        .replace(SESSION_CHARS, "-")
        .replace(/-{2,}/g, "-")
        .replace(/^-+|-+$/g, "");
    s = s.slice(0, 64).replace(/-+$/, "");
    return s.length >= 2 ? s : `${s || "attini"}-session`;
}

/** The default session name: `deploy-<distribution name>`. */
export function defaultSessionName(distributionPath: string): string {
    const name = path.basename(path.resolve(distributionPath)).replace(/\.zip$/i, "");
    return cleanSessionName(`deploy-${name}`);
}

/** A session tag value: at most 256 characters of letters, digits, spaces and `_.:/=+-@`. */
export function cleanTagValue(raw: string): string {
    return raw.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, "_").slice(0, 256);
}

/** Who started the build, from the CI system's variables, for the SourceIdentity. */
export const ACTOR_VARS = [
    "GITHUB_ACTOR",
    "GITLAB_USER_LOGIN",
    "BUILD_USER_ID",
    "BITBUCKET_STEP_TRIGGERER_UUID",
    "BUILD_REQUESTEDFOREMAIL",
    "CIRCLE_USERNAME",
    "CODEBUILD_INITIATOR",
];

/** The SourceIdentity: the CI actor, cleaned to the same rules as a session name (2-64 of `[\w+=,.@-]`). */
export function sourceIdentity(env: Readonly<Record<string, string | undefined>>): string {
    for (const v of ACTOR_VARS) {
        const actor = env[v];
        if (actor) return cleanSessionName(actor);
    }
    return "attini-gitops";
}
