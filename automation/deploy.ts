/**
 * `attini-gitops deploy`: git branch → stack → stack outputs → AssumeRole → wrong-account guard →
 * `attini deploy run`. Everything that can be checked locally is checked before any AWS call.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { assertAccount, WrongAccountError } from "../lib/accountGuard";
import { roleArn, StackConfig } from "../lib/config";
import { attiniArgs, attiniEnv, findAttini, runAttini } from "./attini";
import { GitRunner, gitIn, resolveBranch, resolveCommit } from "./branch";
import { assumeRoleWithGithubOidc, githubIdToken } from "./githubOidc";
import { DriverError, Exit, usage } from "./errors";
import { Logger } from "./log";
import { DeployRoleOutputs, readOutputs } from "./outputs";
import { findProjectDir, loadValidStacks, stackFor } from "./project";
import { applyPromotionGate, checkDigest, distributionDigest } from "./promotion";
import { cleanSessionName, cleanTagValue, defaultSessionName, sourceIdentity } from "./session";
import { assumeRole, callerAccount, findSourceCredentials, TemporaryCredentials } from "./sts";

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
    promotionGate?: string;
    sessionName?: string;
    commit?: string;
    command?: string[];
    durationMs: number;
}

/** Shell-quotes one argument for display only (attini is never run through a shell). */
export function shellQuote(a: string): string {
    return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** The distribution as a git pathspec (relative to the project), when git tracks files in it. */
function trackedPathspec(git: GitRunner, projectDir: string, distribution: string): string | undefined {
    const rel = path.relative(projectDir, distribution) || ".";
    if (rel.startsWith("..") || path.isAbsolute(rel)) return undefined;
    return git(["ls-files", "--", rel]) ? rel : undefined;
}

export async function deploy(o: DeployOptions, env: NodeJS.ProcessEnv, log: Logger): Promise<DeploySummary> {
    const started = Date.now();
    const projectDir = findProjectDir(o.cwd);
    const { configs } = loadValidStacks(projectDir);
    const git = gitIn(projectDir);
    const { branch, source } = resolveBranch(o.branch, env, git);
    const base = { branch, branchSource: source };
    const finish = (s: Omit<DeploySummary, "durationMs" | "branch" | "branchSource">): DeploySummary => ({ ...base, ...s, durationMs: Date.now() - started });

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
    log.info(`branch ${branch} (from ${source}) → stack ${stack.stack} → Attini environment ${stack.attiniEnvironment} in account ${stack.accountId} (${stack.region})`);
    if (o.stack !== undefined && stack.branch !== branch) log.info(`--stack ${o.stack} overrides the mapping: that stack is for branch ${stack.branch}, this build is for ${branch}`);

    // --- local preflight -------------------------------------------------------------------------
    // Relative to where the driver runs, as attini (which inherits that directory) will read it.
    const distribution = path.resolve(o.distributionPath);
    if (!fs.existsSync(distribution)) throw usage(`distribution path ${o.distributionPath} does not exist (resolved: ${distribution}). Pass the folder or .zip that \`attini deploy run\` should deploy.`);
    if (o.durationSeconds < 900 || o.durationSeconds > stack.maxSessionDuration) {
        throw usage(`--duration ${o.durationSeconds}: must be between 900 and the role's maxSessionDuration (${stack.maxSessionDuration}) seconds`);
    }
    if (o.githubOidc && !stack.githubOidc) {
        throw usage(`--github-oidc: stack ${stack.stack} does not trust GitHub Actions OIDC. Set githubRepository in Pulumi.${stack.stack}.yaml and run pulumi up.`);
    }
    const sessionName = o.sessionName !== undefined ? cleanSessionName(o.sessionName) : defaultSessionName(distribution);
    const command = attiniArgs(o.distributionPath, stack.attiniEnvironment, o.extraArgs);
    const commandLine = ["attini", ...command].map(shellQuote).join(" ");
    const attini = o.dryRun ? undefined : findAttini(o.attiniBin, env);

    // --- guardrails: one artifact, promoted through the chain ------------------------------------
    const sha256 = distributionDigest(distribution);
    checkDigest(distribution, sha256, o.expectSha256);
    const upstream = configs.find((c) => c.stack === stack.promotedFrom);
    const gate = upstream
        ? applyPromotionGate({ git, remote: o.remote, stack, upstream, pathspec: trackedPathspec(git, projectDir, distribution), skip: o.skipPromotionCheck, log: (l) => log.info(l) }).result
        : "off";

    // --- the deploy role ---------------------------------------------------------------------------
    // Reading the outputs runs the Pulumi CLI in child processes; meanwhile this process finds the
    // source credentials (local only: no AWS API call), so the two waits overlap.
    const outputsRead = readOutputs(projectDir, stack).then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
    );
    const credentialsFound = o.dryRun || o.githubOidc ? Promise.resolve(undefined) : findSourceCredentials();
    credentialsFound.catch(() => {}); // reported below, after the outputs
    const commit = resolveCommit(env, git);
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
        promotionGate: gate,
        command: ["attini", ...command],
    };
    if (o.dryRun) {
        log.info(`dry run: would assume ${role} as session ${sessionName}, then run: ${commandLine}`);
        return finish({ result: "dry-run", exitCode: Exit.OK, ...summary });
    }

    const externalIdRequired = outputs!.externalIdRequired;
    if (externalIdRequired && !o.externalId && !o.githubOidc) {
        throw usage(`stack ${stack.stack} requires an ExternalId: pass --external-id or set ATTINI_GITOPS_EXTERNAL_ID (from the CI system's secret store, never from a file in the repo).`);
    }
    log.redactor.add(o.externalId);
    let creds: TemporaryCredentials;
    if (o.githubOidc) {
        const token = await githubIdToken(env, log.redactor);
        creds = await assumeRoleWithGithubOidc({ roleArn: role, region: stack.region, sessionName, durationSeconds: o.durationSeconds, branch: stack.branch }, token, (line) => log.info(line));
    } else {
        const source = await credentialsFound;
        creds = await assumeRole(
            {
                roleArn: role,
                region: stack.region,
                sessionName,
                durationSeconds: o.durationSeconds,
                externalId: externalIdRequired ? o.externalId : undefined,
                sourceIdentity: sourceIdentity(env),
                tags: {
                    "attini-gitops:branch": cleanTagValue(branch),
                    "attini-gitops:environment": cleanTagValue(stack.attiniEnvironment),
                    "attini-gitops:stack": cleanTagValue(stack.stack),
                    "attini-gitops:sha256": sha256,
                    ...(commit ? { "attini-gitops:commit": cleanTagValue(commit) } : {}),
                },
            },
            (line) => log.info(line),
            source,
        );
    }
    log.redactor.add(creds.accessKeyId, creds.secretAccessKey, creds.sessionToken);

    // The wrong-account guard: the credentials attini gets must belong to the stack's account.
    try {
        assertAccount(stack.stack, outputs!.accountId, await callerAccount(stack.region, creds), "the assumed deploy role's credentials", "Attini was not run. Check deployRoleArn in the stack outputs and run `pulumi up` for this stack in its own account.");
    } catch (e) {
        if (e instanceof WrongAccountError) throw new DriverError(Exit.WRONG_ACCOUNT, e.message);
        throw e;
    }
    log.info(`assumed ${role} (session ${sessionName}); running: ${commandLine}`);

    const { exitCode, ended } = await runAttini({
        bin: attini!,
        args: command,
        env: attiniEnv(env, creds, stack.region),
        timeoutSeconds: o.timeoutSeconds,
        stdoutToStderr: o.json,
        log: (line) => log.info(line),
    });
    if (ended === "timeout") log.info(`timed out after ${o.timeoutSeconds}s (exit ${exitCode})`);
    else if (ended === "signal") log.info(`attini ended by a signal (exit ${exitCode})`);
    else if (exitCode !== 0) log.info(`attini exited with ${exitCode}`);
    return finish({ result: exitCode === 0 ? "deployed" : "failed", exitCode, ...summary });
}
