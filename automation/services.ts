/**
 * What a flow reaches outside its own process, passed in the same shape to every flow (deploy,
 * status, plan): AWS (the port, aws.ts), the stack outputs in the Pulumi backend, the GitHub
 * Actions token service, the environment and the log. The commands build the real ones; the unit
 * tests hand in fakes (test/support/fakeAws.ts).
 */
import { type Aws, realAws } from "./aws";
import type { Deadline } from "./awsCall";
import { githubIdToken } from "./githubOidc";
import type { Logger } from "./log";
import { readOutputs } from "./outputs";

export interface Services {
    aws: Aws;
    readOutputs: typeof readOutputs;
    /** A fresh GitHub Actions ID token (for --github-oidc), within the deadline; registered with the redactor. */
    githubIdToken: (deadline: Deadline) => Promise<string>;
    env: NodeJS.ProcessEnv;
    log: Logger;
    /** The clock that the rules about time (freeze windows, soak time) read, in epoch ms; the unit tests set it. */
    now: () => number;
    /**
     * The longest lifetime the credential endpoint serves a set for, ms; undefined: the real one.
     * Only the tests shorten it (ATTINI_GITOPS_TEST_CREDENTIAL_LIFETIME, in seconds), to see refreshes.
     */
    servedCredentialLifetimeMs?: number;
}

/** The real services, for a command run in `env` that logs to `log`. */
export function realServices(env: NodeJS.ProcessEnv, log: Logger): Services {
    const testLifetime = Number(env.ATTINI_GITOPS_TEST_CREDENTIAL_LIFETIME ?? 0);
    return {
        aws: realAws,
        readOutputs,
        githubIdToken: (deadline) => githubIdToken(env, log.redactor, deadline),
        env,
        log,
        now: Date.now,
        servedCredentialLifetimeMs: testLifetime > 0 ? testLifetime * 1000 : undefined,
    };
}
