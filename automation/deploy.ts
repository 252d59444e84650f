/**
 * `attini-gitops deploy`: git branch → stack → stack outputs → AssumeRole → wrong-account guard →
 * `attini deploy run`. Everything that can be checked locally is checked before any AWS call.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { assertAccount, WrongAccountError } from "../lib/accountGuard";
import { roleArn } from "../lib/arns";
import type { StackConfig } from "../lib/config/types";
import type { DeployRoleOutputs } from "../lib/outputs";
import { checkDigest, distributionDigest } from "./artifact";
import { attiniArgs, attiniEnv, findAttini, runAttini, staticCredentialVars } from "./attini";
import { type Aws, realAws } from "./aws";
import { type AwsContext, type AwsTimeouts, awsDeadline, awsStep, type TemporaryCredentials } from "./awsCall";
import { resolveBranch, resolveCommit } from "./branch";
import { CredentialEndpoint } from "./credentialEndpoint";
import { DriverError, Exit, usage } from "./errors";
import { gitIn, repositoryPathspec } from "./git";
import { githubIdToken } from "./githubOidc";
import { readStackHistory } from "./history";
import type { Logger } from "./log";
import { readOutputs } from "./outputs";
import { findProjectDir, loadValidStacks, stackFor } from "./project";
import { applyPromotionGate, type GateReport } from "./promotion";
import { cleanSessionName, cleanTagValue, defaultSessionName, sourceIdentity } from "./session";
import { applyVerifiedGate, type VerifiedGateReport } from "./verifiedGate";

export interface DeployOptions {
    distributionPath: string;
    extraArgs: string[];
    branch?: string;
    stack?: string;
    allowUnmapped: boolean;
    attiniBin: string;
    /** Assume the role with the GitHub Actions OIDC token instead of source credentials. */
    githubOidc: boolean;
    /** The git remote whose tracking branches tell what went through each environment. */
    remote: string;
    skipPromotionCheck: boolean;
    expectSha256?: string;
    externalId?: string;
    durationSeconds: number;
    sessionName?: string;
    timeoutSeconds: number;
    /** Between SIGTERM and SIGKILL to attini's process group, ms (--kill-grace). */
    killGraceMs: number;
    /** Hand attini the credentials as environment variables instead of the refreshing endpoint. */
    staticCredentials: boolean;
    /** Limits of the AWS steps (--aws-timeout, --aws-request-timeout). */
    aws: AwsTimeouts;
    /** How long reading the stack outputs may take, ms (--outputs-timeout). */
    outputsTimeoutMs: number;
    dryRun: boolean;
    json: boolean;
    cwd: string;
}

export interface DeploySummary {
    result: "deployed" | "failed" | "dry-run" | "unmapped";
    exitCode: number;
    branch: string;
    branchSource: string;
    stack?: string;
    attiniEnvironment?: string;
    accountId?: string;
    region?: string;
    roleArn?: string;
    /** "outputs", or "config" when --dry-run could not read the backend. */
    roleSource?: string;
    /** sha256 of the distribution (.zip bytes, or the folder's files). */
    sha256?: string;
    /** passed, warned, unverified, skipped or off (see GateReport). */
    promotionGate?: string;
    /** What the gate vouched for, what it found, and why it could not check, when it could not. */
    promotion?: Pick<GateReport, "scope" | "uncommitted" | "unverified"> & { unpromoted: string[] };
    /** What the verified promotion gate saw in the upstream environment's Attini record (see verifiedGate.ts). */
    verifiedPromotion?: VerifiedGateReport;
    sessionName?: string;
    commit?: string;
    command?: string[];
    /** How attini got the credentials: the refreshing endpoint (with its refresh count) or static variables. */
    credentials?: { mode: "endpoint"; refreshes: number; setsServed: number } | { mode: "static" };
    durationMs: number;
}

/** Shell-quotes one argument for display only (attini is never run through a shell). */
export function shellQuote(a: string): string {
    return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** The distribution must be a folder or a file (a .zip); a FIFO, socket or device is refused. */
function checkDistribution(given: string, resolved: string): "folder" | "zip" {
    let st: fs.Stats;
    try {
        st = fs.statSync(resolved);
    } catch {
        throw usage(
            `distribution path ${given} does not exist (resolved: ${resolved}). Pass the folder or .zip that \`attini deploy run\` should deploy.`,
        );
    }
    if (st.isDirectory()) return "folder";
    if (st.isFile()) return "zip";
    throw usage(
        `distribution path ${given} is neither a folder nor a file (a FIFO, socket or device?). Pass the folder or .zip that \`attini deploy run\` should deploy.`,
    );
}

/** A step started now and awaited later: its result or its error, never an unhandled rejection. */
function settled<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
    return p.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
    );
}

/** What deploy reaches outside this process: AWS, and the stack outputs in the Pulumi backend. */
export interface DeployServices {
    aws: Aws;
    readOutputs: typeof readOutputs;
}

export const REAL_SERVICES: DeployServices = { aws: realAws, readOutputs };

export async function deploy(
    o: DeployOptions,
    env: NodeJS.ProcessEnv,
    log: Logger,
    services: DeployServices = REAL_SERVICES,
): Promise<DeploySummary> {
    const cleanups: (() => Promise<unknown>)[] = [];
    try {
        return await deployWith(o, env, log, services, (fn) => cleanups.push(fn));
    } finally {
        for (const cleanup of cleanups) await cleanup();
    }
}

/** `deploy`, with `onExit` to register what must be undone however it ends (the credential endpoint). */
async function deployWith(
    o: DeployOptions,
    env: NodeJS.ProcessEnv,
    log: Logger,
    { aws, readOutputs }: DeployServices,
    onExit: (fn: () => Promise<unknown>) => void,
): Promise<DeploySummary> {
    const started = Date.now();
    const projectDir = findProjectDir(o.cwd);
    const { configs } = loadValidStacks(projectDir);
    const git = gitIn(projectDir);
    const { branch, source } = resolveBranch(o.branch, env, git);
    const base = { branch, branchSource: source };
    const finish = (s: Omit<DeploySummary, "durationMs" | "branch" | "branchSource">): DeploySummary => ({
        ...base,
        ...s,
        durationMs: Date.now() - started,
    });

    let stack: StackConfig;
    try {
        stack = stackFor(configs, branch, o.stack);
    } catch (e) {
        if (e instanceof DriverError && e.exitCode === Exit.UNMAPPED_BRANCH && o.allowUnmapped) {
            log.info(`${e.message}; nothing to deploy (--allow-unmapped)`);
            return finish({ result: "unmapped", exitCode: Exit.OK });
        }
        throw e;
    }
    log.info(
        `branch ${branch} (from ${source}) → stack ${stack.stack} → Attini environment ${stack.attiniEnvironment} in account ${stack.accountId} (${stack.region})`,
    );
    if (o.stack !== undefined && stack.branch !== branch)
        log.info(
            `--stack ${o.stack} overrides the mapping: that stack is for branch ${stack.branch}, this build is for ${branch}`,
        );

    // --- local preflight -------------------------------------------------------------------------
    // Relative to where the driver runs, as attini (which inherits that directory) will read it.
    const distribution = path.resolve(o.distributionPath);
    const command = attiniArgs(o.distributionPath, stack.attiniEnvironment, o.extraArgs);
    const kind = checkDistribution(o.distributionPath, distribution);
    if (o.durationSeconds < 900 || o.durationSeconds > stack.maxSessionDuration) {
        throw usage(
            `--duration ${o.durationSeconds}: must be between 900 and the role's maxSessionDuration (${stack.maxSessionDuration}) seconds`,
        );
    }
    if (o.githubOidc && !stack.githubOidc) {
        throw usage(
            `--github-oidc: stack ${stack.stack} does not trust GitHub Actions OIDC. Set githubRepository in Pulumi.${stack.stack}.yaml and run pulumi up.`,
        );
    }
    const sessionName =
        o.sessionName !== undefined ? cleanSessionName(o.sessionName) : defaultSessionName(distribution);
    if (o.sessionName !== undefined && sessionName !== o.sessionName) {
        log.info(
            `--session-name ${JSON.stringify(o.sessionName)} does not fit STS's rules (2-64 characters of letters, digits and +=,.@_-); using ${sessionName}`,
        );
    }
    const commandLine = ["attini", ...command].map(shellQuote).join(" ");
    const attini = o.dryRun ? undefined : findAttini(o.attiniBin, env);

    // --- guardrails: one artifact, promoted through the chain ------------------------------------
    const sha256 = distributionDigest(distribution);
    checkDigest(distribution, sha256, o.expectSha256);
    const upstream = configs.find((c) => c.stack === stack.promotedFrom);
    const gate: GateReport | undefined = upstream
        ? applyPromotionGate({
              git,
              remote: o.remote,
              stack,
              upstream,
              distribution:
                  kind === "folder" ? { kind, pathspec: repositoryPathspec(git, projectDir, distribution) } : { kind },
              skip: o.skipPromotionCheck,
              log: (l) => log.info(l),
          })
        : undefined;

    // By default attini gets no keys: the credentials are served on a loopback endpoint, refreshed
    // before they expire (each refresh a new AssumeRole with its own --aws-timeout). It is started
    // now, beside the outputs read, so that attini's start does not wait for it; it holds no
    // credentials until they have passed the guard, and it is closed however the deploy ends.
    const testLifetime = Number(env.ATTINI_GITOPS_TEST_CREDENTIAL_LIFETIME ?? 0);
    const endpointStarting =
        o.dryRun || o.staticCredentials
            ? undefined
            : CredentialEndpoint.start({
                  refresh: () => obtain(stsContext()),
                  log: (line) => log.info(line),
                  servedLifetimeMs: testLifetime > 0 ? testLifetime * 1000 : undefined,
              }).catch((e: Error) => {
                  throw new DriverError(
                      Exit.CREDENTIALS,
                      `could not start the credential endpoint for attini on 127.0.0.1: ${e.message}. Use --static-credentials to pass the credentials as environment variables instead.`,
                  );
              });
    endpointStarting?.catch(() => {}); // reported where it is awaited
    onExit(async () => (await endpointStarting?.catch(() => undefined))?.close());

    // --- the deploy role ---------------------------------------------------------------------------
    // Reading the outputs runs the Pulumi CLI in child processes; meanwhile this process finds the
    // source credentials (local only: no AWS API call), so the two waits overlap.
    const outputsRead = settled(readOutputs(projectDir, stack, o.outputsTimeoutMs));
    // --aws-timeout bounds the credential lookup (beside the outputs read), then again the STS steps.
    const credentialsFound =
        o.dryRun || o.githubOidc ? Promise.resolve(undefined) : aws.findSourceCredentials(awsDeadline(o.aws));
    credentialsFound.catch(() => {}); // reported below, after the outputs
    const commit = resolveCommit(env, git);
    /** The session's tags, on the deploy role's sessions and the upstream reader's: CloudTrail shows what was deployed, from where. */
    const tags = {
        "attini-gitops:branch": cleanTagValue(branch),
        "attini-gitops:environment": cleanTagValue(stack.attiniEnvironment),
        "attini-gitops:stack": cleanTagValue(stack.stack),
        "attini-gitops:sha256": sha256,
        ...(commit ? { "attini-gitops:commit": cleanTagValue(commit) } : {}),
    };
    /** An AWS step's limits: each gets its own --aws-timeout. */
    const awsContext = (region: string): AwsContext => awsStep(o.aws, region, (line) => log.info(line));

    // The verified gate reads the upstream environment's Attini record with its history reader,
    // beside the outputs read; its verdict is applied once the outputs are in.
    const verifiedGate = upstream
        ? settled(
              applyVerifiedGate({
                  stack,
                  upstream,
                  distribution,
                  kind,
                  skip: o.skipPromotionCheck,
                  dryRun: o.dryRun,
                  log: (l) => log.info(l),
                  readHistory: async (distributionName, distributionId) =>
                      readStackHistory(
                          aws,
                          upstream,
                          {
                              source: await credentialsFound,
                              githubToken: o.githubOidc
                                  ? () => githubIdToken(env, log.redactor, awsDeadline(o.aws))
                                  : undefined,
                              branch,
                              sessionName,
                              externalId: o.externalId,
                              sourceIdentity: sourceIdentity(env),
                              tags,
                              redact: (...secrets) => log.redactor.add(...secrets),
                          },
                          awsContext(upstream.region),
                          { distributionName, until: (d) => d.distributionId === distributionId },
                      ),
              }),
          )
        : undefined;
    const read = await outputsRead;
    let outputs: DeployRoleOutputs | undefined;
    let roleSource = "outputs";
    if (read.ok) outputs = read.value;
    else if (!o.dryRun) throw read.error;
    else {
        const msg = (read.error as Error).message;
        roleSource = `config (stack outputs unavailable: ${msg})`;
        log.info(`dry run: ${msg} The role below is derived from Pulumi.${stack.stack}.yaml.`);
    }
    const role = outputs?.deployRoleArn ?? roleArn(stack);
    const verified = await verifiedGate;
    if (verified && !verified.ok) throw verified.error;
    const summary = {
        stack: stack.stack,
        attiniEnvironment: stack.attiniEnvironment,
        accountId: stack.accountId,
        region: stack.region,
        roleArn: role,
        roleSource,
        sessionName,
        commit,
        sha256,
        promotionGate: gate?.result ?? "off",
        ...(gate && gate.result !== "off" && gate.result !== "skipped"
            ? {
                  promotion: {
                      scope: gate.scope,
                      unpromoted: gate.findings.map((f) => f.commit.sha),
                      uncommitted: gate.uncommitted,
                      unverified: gate.unverified,
                  },
              }
            : {}),
        ...(verified ? { verifiedPromotion: verified.value } : {}),
        command: ["attini", ...command],
    };
    if (o.dryRun) {
        log.info(`dry run: would assume ${role} as session ${sessionName}, then run: ${commandLine}`);
        return finish({ result: "dry-run", exitCode: Exit.OK, ...summary });
    }
    // Not a dry run: the outputs were read (a failed read has thrown) and attini was found.
    if (outputs === undefined || attini === undefined) throw new Error("no stack outputs or attini outside a dry run");
    const { accountId, externalIdRequired } = outputs;
    const attiniBin = attini;
    if (externalIdRequired && !o.externalId && !o.githubOidc) {
        throw usage(
            `stack ${stack.stack} requires an ExternalId: pass --external-id or set ATTINI_GITOPS_EXTERNAL_ID (from the CI system's secret store, never from a file in the repo).`,
        );
    }
    log.redactor.add(o.externalId);
    /** STS calls for one set of credentials: AssumeRole (with its retries) and the account check, within one --aws-timeout. */
    const stsContext = () => awsContext(stack.region);
    /** One set of the deploy role's credentials, checked to belong to the stack's account. */
    const obtain = async (ctx: AwsContext): Promise<TemporaryCredentials> => {
        let creds: TemporaryCredentials;
        if (o.githubOidc) {
            // A running job may ask GitHub for a fresh ID token at any time: each set gets its own.
            const token = await githubIdToken(env, log.redactor, ctx.deadline);
            creds = await aws.assumeRoleWithWebIdentity(
                { roleArn: role, sessionName, durationSeconds: o.durationSeconds, branch: stack.branch },
                token,
                ctx,
            );
        } else {
            creds = await aws.assumeRole(
                {
                    roleArn: role,
                    region: stack.region,
                    sessionName,
                    durationSeconds: o.durationSeconds,
                    externalId: externalIdRequired ? o.externalId : undefined,
                    sourceIdentity: sourceIdentity(env),
                    tags,
                },
                ctx,
                // The default chain's provider, memoized: it refreshes the source credentials when they expire.
                await credentialsFound,
            );
        }
        log.redactor.add(creds.accessKeyId, creds.secretAccessKey, creds.sessionToken);
        // The wrong-account guard: every set attini gets must belong to the stack's account.
        try {
            assertAccount(
                stack.stack,
                accountId,
                await aws.callerAccount(ctx, creds),
                "the assumed deploy role's credentials",
                "Attini was not run. Check deployRoleArn in the stack outputs and run `pulumi up` for this stack in its own account.",
            );
        } catch (e) {
            if (e instanceof WrongAccountError) throw new DriverError(Exit.WRONG_ACCOUNT, e.message);
            throw e;
        }
        return creds;
    };
    const creds = await obtain(stsContext());
    const endpoint = await endpointStarting;
    if (endpoint) {
        log.redactor.add(endpoint.token);
        endpoint.serve(creds);
    }
    log.info(`assumed ${role} (session ${sessionName}); running: ${commandLine}`);
    const { exitCode, ended } = await runAttini({
        bin: attiniBin,
        args: command,
        env: attiniEnv(
            env,
            endpoint ? endpoint.env() : staticCredentialVars(creds),
            stack.region,
            (o.json ? process.stderr : process.stdout).isTTY === true,
        ),
        timeoutSeconds: o.timeoutSeconds,
        killGraceMs: o.killGraceMs,
        stdoutToStderr: o.json,
        log: (line) => log.info(line),
    });
    await endpoint?.close(); // attini has ended: nothing may fetch credentials any more
    const credentials = endpoint
        ? { mode: "endpoint" as const, refreshes: endpoint.refreshes, setsServed: endpoint.setsServed }
        : { mode: "static" as const };
    if (endpoint?.failure && ended === "exit" && exitCode !== 0) {
        log.info(
            `attini exited with ${exitCode} after the deploy role's credentials could not be refreshed: ${endpoint.failure}`,
        );
        return finish({ result: "failed", exitCode: Exit.CREDENTIALS, ...summary, credentials });
    }
    if (ended === "timeout") log.info(`timed out after ${o.timeoutSeconds}s (exit ${exitCode})`);
    else if (ended === "signal") log.info(`attini ended by a signal (exit ${exitCode})`);
    else if (exitCode !== 0) log.info(`attini exited with ${exitCode}`);
    return finish({ result: exitCode === 0 ? "deployed" : "failed", exitCode, ...summary, credentials });
}
