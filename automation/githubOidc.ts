/**
 * GitHub Actions OIDC: the job's ID token (audience sts.amazonaws.com) is exchanged for the deploy
 * role's credentials with AssumeRoleWithWebIdentity. No long-lived or build-server credentials
 * are involved, and the role's trust pins the token's `sub` to this stack's branch.
 */
import { STS_AUDIENCE } from "../lib/policies";
import { DriverError, Exit, usage } from "./errors";
import type { Redactor } from "./log";
import { STS_RETRY, TemporaryCredentials, withRetry } from "./sts";

/** Fetches the job's OIDC ID token from the Actions runtime. */
export async function githubIdToken(env: NodeJS.ProcessEnv, redactor: Redactor): Promise<string> {
    const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
    const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
    if (!url || !bearer) {
        throw usage("--github-oidc needs the GitHub Actions ID token, but ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN are not set. Give the job `permissions: id-token: write` (and run it on GitHub Actions).");
    }
    redactor.add(bearer);
    const u = new URL(url);
    u.searchParams.set("audience", STS_AUDIENCE);
    let res: Response;
    try {
        res = await fetch(u, { headers: { authorization: `bearer ${bearer}`, accept: "application/json" } });
    } catch (e) {
        throw new DriverError(Exit.CREDENTIALS, `cannot reach the GitHub Actions token service: ${(e as Error).message}`);
    }
    if (!res.ok) throw new DriverError(Exit.CREDENTIALS, `the GitHub Actions token service answered HTTP ${res.status}; check the job's \`permissions: id-token: write\``);
    const value = ((await res.json()) as { value?: unknown }).value;
    if (typeof value !== "string" || value.length < 10) throw new DriverError(Exit.CREDENTIALS, "the GitHub Actions token service returned no token");
    redactor.add(value);
    return value;
}

export async function assumeRoleWithGithubOidc(
    req: { roleArn: string; region: string; sessionName: string; durationSeconds: number; branch: string },
    token: string,
    log: (line: string) => void,
): Promise<TemporaryCredentials> {
    const { STSClient, AssumeRoleWithWebIdentityCommand } = await import("@aws-sdk/client-sts");
    const sts = new STSClient({ region: req.region, maxAttempts: 1 });
    try {
        const out = await withRetry(
            () => sts.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: req.roleArn, RoleSessionName: req.sessionName, WebIdentityToken: token, DurationSeconds: req.durationSeconds })),
            STS_RETRY,
            undefined,
            (attempt, err, delay) => log(`AssumeRoleWithWebIdentity attempt ${attempt} failed (${(err as Error).name}); retrying in ${delay} ms`),
        );
        const c = out.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new Error("STS returned no credentials");
        return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
    } catch (err) {
        const e = err as Error;
        const hint =
            e.name === "AccessDenied" || e.name === "AccessDeniedException"
                ? ` The role trusts only GitHub Actions jobs of its githubRepository on branch ${req.branch} (sub repo:<owner>/<repo>:ref:refs/heads/${req.branch}); check githubRepository in the stack file and that the job runs on a push to ${req.branch}.`
                : "";
        throw new DriverError(Exit.CREDENTIALS, `AssumeRoleWithWebIdentity on ${req.roleArn} failed: ${e.name}: ${e.message}.${hint}`);
    } finally {
        sts.destroy();
    }
}
