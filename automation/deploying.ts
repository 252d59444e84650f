/**
 * `attini-gitops deploy`, in the phases that `deploy` below runs, in this order:
 *  1. target: the build's branch and the stack it maps to, read offline from the stack files;
 *  2. preflight (preflight.ts): every local check, the ExternalId included, before any AWS call;
 *  3. background reads, all at once: the stack outputs (Pulumi backend), the source credentials
 *     (a local lookup), the credential endpoint's port, and the verified gate's read of the
 *     upstream environment's Attini record;
 *  4. the role and the gates: the deploy role from the outputs (checked against the stack file)
 *     and the verified gate's verdict, before the deploy role is assumed;
 *  5. attini, run with a checked session of the deploy role (roleSession.ts) and nothing else;
 *  6. the summary that `--json` prints.
 */
import { roleArn } from "../lib/arns";
import type { DeployRoleOutputs } from "../lib/outputs";
import { attiniEnv, staticCredentialVars } from "./attini";
import { FORWARDED_SIGNALS, runAttini, signalExit } from "./attiniProcess";
import { resolveBranch } from "./branch";
import { type OnExit, type Reads, startReads } from "./deployReads";
import type { Checked, DeployOptions, DeploySummary, Target } from "./deployTypes";
import { DriverError, Exit } from "./errors";
import { gitIn } from "./git";
import { preflight } from "./preflight";
import { findProjectDir, loadValidStacks, stackFor } from "./project";
import { assumeCheckedRole } from "./roleSession";
import type { Services } from "./services";
import type { VerifiedGateReport } from "./verifiedGate";

export type { DeployOptions, DeploySummary } from "./deployTypes";

// --- 1. target ------------------------------------------------------------------------------------

/** The branch and its stack; undefined (with the branch) when it maps to none and --allow-unmapped says that is fine. */
function resolveTarget(o: DeployOptions, s: Services): Target | Omit<Target, "stack"> {
    const projectDir = findProjectDir(o.cwd);
    const { configs } = loadValidStacks(projectDir);
    const git = gitIn(projectDir);
    const { branch, source } = resolveBranch(o.branch, s.env, git);
    const base = { branch, branchSource: source, projectDir, git, configs };
    let stack: Target["stack"];
    try {
        stack = stackFor(configs, branch, o.stack);
    } catch (e) {
        if (e instanceof DriverError && e.exitCode === Exit.UNMAPPED_BRANCH && o.allowUnmapped) {
            s.log.info(`${e.message}; nothing to deploy (--allow-unmapped)`);
            return base;
        }
        throw e;
    }
    s.log.info(
        `branch ${branch} (from ${source}) → stack ${stack.stack} → Attini environment ${stack.attiniEnvironment} in account ${stack.accountId} (${stack.region})`,
    );
    return { ...base, stack, upstream: configs.find((c) => c.stack === stack.promotedFrom) };
}

// --- 3. background reads: deployReads.ts ----------------------------------------------------------

// --- 4. the role and the gates --------------------------------------------------------------------

interface Resolved {
    outputs?: DeployRoleOutputs;
    role: string;
    roleSource: string;
    verified?: VerifiedGateReport;
}

/** The outputs' deploy role (in a dry run, the stack file's when the backend cannot be read), and the verified verdict. */
async function resolveRole(o: DeployOptions, t: Target, r: Reads, s: Services): Promise<Resolved> {
    const read = await r.outputs;
    let outputs: DeployRoleOutputs | undefined;
    let roleSource = "outputs";
    if (read.ok) outputs = read.value;
    else if (!o.dryRun) throw read.error;
    else {
        const msg = (read.error as Error).message;
        roleSource = `config (stack outputs unavailable: ${msg})`;
        s.log.info(`dry run: ${msg} The role below is derived from Pulumi.${t.stack.stack}.yaml.`);
    }
    const verified = await r.verified;
    if (verified && !verified.ok) throw verified.error;
    return { outputs, role: outputs?.deployRoleArn ?? roleArn(t.stack), roleSource, verified: verified?.value };
}

// --- 5. attini, with the deploy role's credentials -----------------------------------------------

type Ran = Pick<DeploySummary, "result" | "exitCode" | "credentials">;

/** Assumes the deploy role (a checked session, again for every refresh), serves it to attini, and runs attini. */
async function runWithCredentials(
    o: DeployOptions,
    t: Target,
    c: Checked,
    r: Reads,
    outputs: DeployRoleOutputs,
    attini: string,
    s: Services,
    beforeAttini: () => void,
): Promise<Ran> {
    const target = {
        kind: "deploy role" as const,
        roleArn: outputs.deployRoleArn,
        stack: { ...t.stack, accountId: outputs.accountId, externalIdRequired: outputs.externalIdRequired },
        durationSeconds: o.durationSeconds,
    };
    /** One set of the deploy role's credentials: AssumeRole and the account check, within one --aws-timeout. */
    const obtain = async () => {
        const ctx = r.step(t.stack.region);
        return assumeCheckedRole(s.aws, target, r.access, await r.caller(ctx.deadline), ctx);
    };
    const creds = await obtain();
    const endpoint = await r.endpoint;
    if (endpoint) {
        s.log.redactor.add(endpoint.token);
        endpoint.serve(creds, obtain);
    }
    s.log.info(`assumed ${outputs.deployRoleArn} (session ${c.sessionName}); running: ${c.commandLine}`);
    beforeAttini(); // from here on attini's process handling answers signals
    const { exitCode, ended } = await runAttini({
        bin: attini,
        args: c.command,
        env: attiniEnv(
            s.env,
            endpoint ? endpoint.env() : staticCredentialVars(creds),
            t.stack.region,
            (o.json ? process.stderr : process.stdout).isTTY === true,
        ),
        timeoutSeconds: o.timeoutSeconds,
        killGraceMs: o.killGraceMs,
        stdoutToStderr: o.json,
        log: (line) => s.log.info(line),
    });
    await endpoint?.close(); // attini has ended: nothing may fetch credentials any more
    const credentials = endpoint
        ? { mode: "endpoint" as const, refreshes: endpoint.refreshes, setsServed: endpoint.setsServed }
        : { mode: "static" as const };
    if (endpoint?.failure && ended === "exit" && exitCode !== 0) {
        s.log.info(
            `attini exited with ${exitCode} after the deploy role's credentials could not be refreshed: ${endpoint.failure}`,
        );
        return { result: "failed", exitCode: Exit.CREDENTIALS, credentials };
    }
    if (ended === "timeout") s.log.info(`timed out after ${o.timeoutSeconds}s (exit ${exitCode})`);
    else if (ended === "signal") s.log.info(`attini ended by a signal (exit ${exitCode})`);
    else if (exitCode !== 0) s.log.info(`attini exited with ${exitCode}`);
    return { result: exitCode === 0 ? "deployed" : "failed", exitCode, credentials };
}

// --- 6. the summary -------------------------------------------------------------------------------

/** What the summary says about the target, the artifact and the gates, whatever the result. */
function describeDeploy(t: Target, c: Checked, r: Reads, v: Resolved) {
    const gate = c.gate;
    return {
        stack: t.stack.stack,
        attiniEnvironment: t.stack.attiniEnvironment,
        accountId: t.stack.accountId,
        region: t.stack.region,
        roleArn: v.role,
        roleSource: v.roleSource,
        sessionName: c.sessionName,
        commit: r.commit,
        sha256: c.sha256,
        promotionGate: gate?.result ?? "off",
        ...(gate && gate.result !== "off" && gate.result !== "skipped"
            ? {
                  promotion: {
                      scope: gate.scope,
                      trees: gate.trees,
                      differing: gate.differing,
                      unpromoted: gate.findings.map((c) => c.sha),
                      unpromotedCount: gate.unpromotedCount,
                      uncommitted: gate.uncommitted,
                      unverified: gate.unverified,
                  },
              }
            : {}),
        ...(v.verified ? { verifiedPromotion: v.verified } : {}),
        command: ["attini", ...c.command],
    };
}

// --- the conductor --------------------------------------------------------------------------------

async function deployPhases(
    o: DeployOptions,
    s: Services,
    onExit: OnExit,
    beforeAttini: () => void,
): Promise<DeploySummary> {
    const started = Date.now();
    const target = resolveTarget(o, s);
    o.onTarget?.(target);
    const finish = (rest: Omit<DeploySummary, "durationMs" | "branch" | "branchSource">): DeploySummary => ({
        branch: target.branch,
        branchSource: target.branchSource,
        ...rest,
        durationMs: Date.now() - started,
    });
    if (!("stack" in target)) return finish({ result: "unmapped", exitCode: Exit.OK });
    const checked = preflight(o, target, s);
    onExit(async () => checked.dispose());
    const reads = startReads(o, target, checked, s, onExit);
    const resolved = await resolveRole(o, target, reads, s);
    const described = describeDeploy(target, checked, reads, resolved);
    if (o.dryRun) {
        s.log.info(
            `dry run: would assume ${resolved.role} as session ${checked.sessionName}, then run: ${checked.commandLine}`,
        );
        return finish({ result: "dry-run", exitCode: Exit.OK, ...described });
    }
    // Not a dry run: the outputs were read (a failed read has thrown) and attini was found.
    if (resolved.outputs === undefined || checked.attini === undefined)
        throw new Error("no stack outputs or attini outside a dry run");
    const ran = await runWithCredentials(o, target, checked, reads, resolved.outputs, checked.attini, s, beforeAttini);
    return finish({ ...described, ...ran });
}

/**
 * Deploys, and undoes what the phases left (the credential endpoint, a .zip's private copy) however
 * it ends: also on SIGINT, SIGTERM or SIGHUP before attini starts, after which the driver exits
 * 128 + the signal's number, as it does once attini runs.
 */
export async function deploy(o: DeployOptions, s: Services): Promise<DeploySummary> {
    const cleanups: (() => Promise<unknown>)[] = [];
    const cleanUp = async () => {
        for (const cleanup of cleanups.splice(0)) await cleanup();
    };
    const onSignal = (sig: NodeJS.Signals) => {
        s.log.info(`received ${sig} before attini started; stopping`);
        void cleanUp().finally(() => process.exit(signalExit(sig)));
    };
    // The signals attiniProcess.ts forwards to attini once it runs end the deploy before that.
    const release = () => {
        for (const sig of FORWARDED_SIGNALS) process.off(sig, onSignal);
    };
    for (const sig of FORWARDED_SIGNALS) process.on(sig, onSignal);
    try {
        return await deployPhases(o, s, (fn) => cleanups.push(fn), release);
    } finally {
        release();
        await cleanUp();
    }
}
