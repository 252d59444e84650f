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

/** What a session tag value may hold (STS): letters, digits, spaces and `_.:/=+-@`; here the space is the ASCII one. */
const TAG_VALUE_RE = /^[\p{L}\p{N} _.:/=+\-@]*$/u;
/** The longest session tag value STS takes, in characters. */
export const MAX_TAG_VALUE = 256;

/** Why `value` cannot be a session tag value as it is (undefined: it can); nothing is ever cleaned away. */
export function tagValueProblem(value: string): string | undefined {
    const length = [...value].length;
    if (length > MAX_TAG_VALUE)
        return `it is ${length} characters long; a session tag value holds at most ${MAX_TAG_VALUE}`;
    if (!TAG_VALUE_RE.test(value)) {
        const bad = [...new Set([...value].filter((c) => !TAG_VALUE_RE.test(c)))];
        const shown = bad.map((c) =>
            /^[\x21-\x7e]$/.test(c)
                ? `'${c}'`
                : `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`,
        );
        return `it holds ${shown.join(", ")}, which a session tag value cannot: use only letters, digits, spaces and _ . : / = + - @`;
    }
    return undefined;
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
