/**
 * GitHub Actions OIDC: the job's ID token (audience sts.amazonaws.com) is exchanged for the deploy
 * role's credentials with AssumeRoleWithWebIdentity. No long-lived or build-server credentials
 * are involved, and the role's trust pins the token's `sub` to this stack's branch.
 */
import { STS_AUDIENCE } from "../lib/policies";
import {
    type AwsContext,
    type Deadline,
    DeadlineExceeded,
    deadlineMessage,
    describeError,
    type TemporaryCredentials,
} from "./awsCall";
import { DriverError, Exit, usage } from "./errors";
import type { Redactor } from "./log";
import { callSts, temporaryCredentials } from "./sts";

/** Fetches the job's OIDC ID token from the Actions runtime, within the deadline. */
export async function githubIdToken(env: NodeJS.ProcessEnv, redactor: Redactor, deadline: Deadline): Promise<string> {
    const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
    const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
    if (!url || !bearer) {
        throw usage(
            "--github-oidc needs the GitHub Actions ID token, but ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN are not set. Give the job `permissions: id-token: write` (and run it on GitHub Actions).",
        );
    }
    redactor.add(bearer);
    const u = new URL(url);
    u.searchParams.set("audience", STS_AUDIENCE);
    let value: unknown;
    let status = 0;
    try {
        value = await deadline.run("the GitHub Actions ID token request", async (signal) => {
            const res = await fetch(u, {
                headers: { authorization: `bearer ${bearer}`, accept: "application/json" },
                signal,
            });
            status = res.status;
            return res.ok ? ((await res.json()) as { value?: unknown }).value : undefined;
        });
    } catch (e) {
        if (e instanceof DeadlineExceeded) throw new DriverError(Exit.CREDENTIALS, deadlineMessage(e, deadline));
        throw new DriverError(
            Exit.CREDENTIALS,
            `cannot reach the GitHub Actions token service: ${(e as Error).message}`,
        );
    }
    if (status < 200 || status > 299)
        throw new DriverError(
            Exit.CREDENTIALS,
            `the GitHub Actions token service answered HTTP ${status}; check the job's \`permissions: id-token: write\``,
        );
    if (typeof value !== "string" || value.length < 10)
        throw new DriverError(Exit.CREDENTIALS, "the GitHub Actions token service returned no token");
    redactor.add(value);
    return value;
}

/** An AssumeRoleWithWebIdentity request; `branch` is the job's, for the hint when STS refuses. */
export interface WebIdentityRequest {
    roleArn: string;
    sessionName: string;
    durationSeconds: number;
    branch: string;
}

export async function assumeRoleWithGithubOidc(
    req: WebIdentityRequest,
    token: string,
    ctx: AwsContext,
): Promise<TemporaryCredentials> {
    try {
        const out = await callSts(ctx, "AssumeRoleWithWebIdentity", undefined, (client, sts, abortSignal) =>
            client.send(
                new sts.AssumeRoleWithWebIdentityCommand({
                    RoleArn: req.roleArn,
                    RoleSessionName: req.sessionName,
                    WebIdentityToken: token,
                    DurationSeconds: req.durationSeconds,
                }),
                { abortSignal },
            ),
        );
        return temporaryCredentials(out.Credentials);
    } catch (err) {
        if (err instanceof DeadlineExceeded)
            throw new DriverError(Exit.CREDENTIALS, deadlineMessage(err, ctx.deadline));
        const e = err as Error;
        const hint =
            e.name === "AccessDenied" || e.name === "AccessDeniedException"
                ? ` The role trusts only GitHub Actions jobs of its githubRepository on branch ${req.branch} (sub repo:<owner>/<repo>:ref:refs/heads/${req.branch}); check githubRepository in the stack file and that the job runs on a push to ${req.branch}.`
                : "";
        throw new DriverError(
            Exit.CREDENTIALS,
            `AssumeRoleWithWebIdentity on ${req.roleArn} failed: ${describeError(err)}: ${e.message}.${hint}`,
        );
    }
}
