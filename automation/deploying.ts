/**
 * `attini-gitops deploy`, in the phases that `deploy` below runs, in this order:
 *  1. target: the build's branch and the stack it maps to, read offline from the stack files;
 *  2. preflight (preflight.ts): every local check, the ExternalId included, before any AWS call;
 *     and the facts the ledger records (the commit, the content digest, the CI run);
 *  3. background reads, all at once: the stack outputs (Pulumi backend), the source credentials
 *     (a local lookup), the credential endpoint's port, and the verified gate's read of the
 *     upstream environment's Attini record;
 *  4. the role and the gates: the deploy role from the outputs (checked against the stack file),
 *     the verified gate's verdict and the freeze windows' (freezeGate.ts), before the deploy role
 *     is assumed;
 *  5. the deploy role's session (roleSession.ts), checked, refreshed for the endpoint and ledger;
 *  6. the ledger's claim (ledgering.ts): newer wins, the lease, the rollback hold, the run's record;
 *  7. attini, run with the deploy role's credentials and nothing else; then the record completed
 *     and the lease released, however attini ended;
 *  8. the summary that `--json` prints.
 */
import { roleArn } from "../lib/arns";
import { ledgerTableName } from "../lib/ledger";
import { alarmsFromOutput, type DeployRoleOutputs } from "../lib/outputs";
import { attiniEnv, staticCredentialVars } from "./attini";
import { ArtifactError, type AttiniConfigIdentity } from "./attiniConfig";
import { FORWARDED_SIGNALS, runAttini, signalExit } from "./attiniProcess";
import type { TemporaryCredentials } from "./awsCall";
import { resolveBranch } from "./branch";
import { type CiRun, ciRun } from "./ciRun";
import type { CredentialEndpoint } from "./credentialEndpoint";
import { type OnExit, type Reads, startReads } from "./deployReads";
import type { Checked, DeployOptions, DeploySummary, Target } from "./deployTypes";
import { DriverError, Exit, usage } from "./errors";
import { freezeGate } from "./freezeGate";
import { gitIn } from "./git";
import { type Claim, claim, contentDigest, readCheckout } from "./ledgering";
import type { RunResult } from "./ledgerTypes";
import { printableField } from "./log";
import { preflight } from "./preflight";
import { projectStacks, stackFor } from "./project";
import { assumeRoleChecking, deployRoleAccess } from "./roleSession";
import type { Services } from "./services";
import type { SoakReport } from "./soak";
import type { UpstreamAlarmsReport } from "./upstreamAlarms";
import type { VerifiedGateReport } from "./verifiedGate";

export type { DeployOptions, DeploySummary } from "./deployTypes";

// --- 1. target ------------------------------------------------------------------------------------

/** The branch and its stack; undefined (with the branch) when it maps to none and --allow-unmapped says that is fine. */
function resolveTarget(o: DeployOptions, s: Services): Target | Omit<Target, "stack"> {
    const { projectDir, configs } = o.stacks ?? projectStacks(o.cwd);
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

// --- 2. preflight (preflight.ts), and the local facts the ledger records -------------------------

/** The names Attini accepts for a distribution (attini-cli's AttiniConfigFile). */
const ATTINI_DISTRIBUTION_NAME = /^[a-zA-Z][-a-zA-Z0-9]*$/;

/** The distribution's name and id, as the ledger keys and records them. */
async function identityOf(c: Checked): Promise<{ distributionName: string; distributionId?: string }> {
    let found: AttiniConfigIdentity;
    try {
        found = await c.attiniConfig();
    } catch (e) {
        if (!(e instanceof ArtifactError)) throw e;
        throw new DriverError(
            Exit.USAGE,
            `cannot tell which distribution this is: ${e.message}. Nothing was deployed.`,
        );
    }
    if (!found.distributionName)
        throw new DriverError(
            Exit.USAGE,
            `the distribution's ${found.file} has no distributionName, which Attini needs and the ledger records deploys by. Nothing was deployed.`,
        );
    // Attini's own rule (AttiniConfigFile): anything else it refuses, after the ledger would have keyed a run by it.
    if (!ATTINI_DISTRIBUTION_NAME.test(found.distributionName))
        throw new DriverError(
            Exit.USAGE,
            `the distribution's ${found.file} has distributionName ${JSON.stringify(printableField(found.distributionName))}, which Attini refuses: it must match [a-zA-Z][-a-zA-Z0-9]* (a letter, then letters, digits and hyphens). Rename it in ${found.file}. Nothing was deployed.`,
        );
    return { distributionName: found.distributionName, distributionId: found.distributionId };
}

/**
 * The checkout's commit, the content digest, the CI run and the distribution's name: local, so a
 * deploy that cannot be recorded stops before any AWS call.
 */
interface LocalFacts {
    head: string;
    /** The content digest (ledgering.ts), computed once when first asked: after the reads have started. */
    digest: () => string;
    run: CiRun;
    distributionName: string;
    distributionId?: string;
}

async function localFacts(t: Target, c: Checked, s: Services): Promise<LocalFacts> {
    const checkout = readCheckout(t, c);
    let digest: string | undefined;
    return {
        head: checkout.head,
        digest: () => {
            digest ??= contentDigest(t, c, checkout);
            return digest;
        },
        run: ciRun(s.env),
        ...(await identityOf(c)),
    };
}

/** In a dry run, which reads nothing: what the ledger would check. */
function ledgerDryRun(o: DeployOptions, t: Target, l: LocalFacts, s: Services) {
    const table = ledgerTableName(t.stack);
    const checks = [
        `refuse if the newest run started or deployed in ${table} is at a commit that descends from ${l.head.slice(0, 12)}${o.allowRollback ? " (--allow-rollback: deploy it as a rollback instead)" : ""}`,
        `take the lease on the distribution (waiting up to ${o.leaseWaitMs / 1000}s for another run's)`,
        `refuse if ${l.digest()} is held after a rollback${o.releaseHold ? " (--release-hold: release it instead)" : ""}`,
        "record this run before attini starts, and its result when attini ends",
    ];
    for (const c of checks) s.log.info(`dry run: the ledger would ${c}`);
    return { table, digest: l.digest(), result: "not-checked" as const, checks };
}

// --- 3. background reads: deployReads.ts ----------------------------------------------------------

// --- 4. the role and the gates --------------------------------------------------------------------

interface Resolved {
    outputs?: DeployRoleOutputs;
    role: string;
    roleSource: string;
    verified?: VerifiedGateReport;
    alarms?: UpstreamAlarmsReport;
    soak?: SoakReport;
}

/**
 * A stack that forbids break-glass refuses a deploy that asks for it, by the provisioned outputs (in
 * a dry run that could not read them, the stack file), before any check of time runs.
 */
function checkBreakGlass(o: DeployOptions, t: Target, outputs: DeployRoleOutputs | undefined, s: Services): void {
    if (o.breakGlass === undefined) return;
    const policy = outputs?.breakGlass ?? t.stack.breakGlass;
    const stack = t.stack.stack;
    if (policy !== "allowed")
        throw usage(
            `stack ${stack} forbids break-glass (attini-gitops:breakGlass is ${JSON.stringify(policy)}${outputs ? " in its provisioned outputs" : ` in Pulumi.${stack}.yaml`}), so --break-glass is refused and nothing was deployed. Deploy without it once the freeze window has ended or the soak time is met; allowing break-glass takes a change to Pulumi.${stack}.yaml and \`pulumi up -s ${stack}\`.`,
        );
    s.log.info(
        `--break-glass ${JSON.stringify(o.breakGlass)}: it may pass a freeze window or a soak time not yet met, nothing else; the reason is recorded in the deploy role's session tags and ${stack}'s ledger`,
    );
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
    checkBreakGlass(o, t, outputs, s);
    const verified = await r.verified;
    if (verified && !verified.ok) throw verified.error;
    const alarms = await r.alarms;
    if (alarms && !alarms.ok) throw alarms.error;
    // The soak time builds on the verified gate's evidence: after its verdict, before any role of this stack.
    const soak = await r.soak(verified?.value, outputs);
    return {
        outputs,
        role: outputs?.deployRoleArn ?? roleArn(t.stack),
        roleSource,
        verified: verified?.value,
        alarms: alarms?.value,
        soak,
    };
}

// --- 5. the deploy role's session ------------------------------------------------------------------

/**
 * The deploy role's credentials: the first set, and a fresh-enough set on demand (for the ledger).
 * `checked`: the first set's account check, which runs beside the lease's take and is awaited
 * before anything else is written or run with them (every later set is checked before use).
 */
interface Session {
    first: TemporaryCredentials;
    checked: Promise<void>;
    current: () => Promise<TemporaryCredentials>;
    endpoint?: CredentialEndpoint;
}

/** Credentials within this long of their expiry are replaced before a ledger call uses them. */
const FRESH_FOR_MS = 5 * 60_000;

/** Assumes the deploy role (a checked session, again for every refresh) and hands it to the credential endpoint. */
async function openSession(
    o: DeployOptions,
    t: Target,
    c: Checked,
    r: Reads,
    outputs: DeployRoleOutputs,
    s: Services,
): Promise<Session> {
    const target = {
        kind: "deploy role" as const,
        roleArn: outputs.deployRoleArn,
        stack: { ...t.stack, accountId: outputs.accountId, externalIdRequired: outputs.externalIdRequired },
        durationSeconds: o.durationSeconds,
    };
    const access = deployRoleAccess(r.access, o.breakGlass);
    /** One set of the deploy role's credentials, its account check under way: AssumeRole and the check within one --aws-timeout. */
    const assume = async () => {
        const ctx = r.step(t.stack.region);
        return assumeRoleChecking(s.aws, target, access, await r.caller(ctx.deadline), ctx);
    };
    /** A set checked before use (a refresh for the ledger or the endpoint). */
    const obtain = async () => {
        const { creds, checked } = await assume();
        await checked;
        return creds;
    };
    const { creds: first, checked } = await assume();
    let held = first;
    let renewing: Promise<TemporaryCredentials> | undefined;
    const current = async () => {
        if (!held.expiration || held.expiration.getTime() - Date.now() > FRESH_FOR_MS) return held;
        renewing ??= obtain()
            .then((fresh) => {
                held = fresh;
                return fresh;
            })
            .finally(() => {
                renewing = undefined;
            });
        return renewing;
    };
    const endpoint = await r.endpoint;
    if (endpoint) {
        s.log.redactor.add(endpoint.token);
        endpoint.serve(first, obtain);
    }
    s.log.info(`assumed ${outputs.deployRoleArn} (session ${c.sessionName})`);
    return { first, checked, current, endpoint };
}

// --- 6. the ledger: newer wins, the lease, the hold, the run's record (ledgering.ts) ----------------

/**
 * After a wait for the lease, what may have changed meanwhile is asked again, before anything is
 * written: the freeze windows (one may have begun), and, on a promoted stack, the verified gate
 * (stage may have rolled back or failed), the upstream alarms and the soak time on its new verdict.
 */
async function checkAgain(
    o: DeployOptions,
    t: Target,
    r: Reads,
    outputs: DeployRoleOutputs,
    s: Services,
    waitedMs: number,
): Promise<Partial<DeploySummary>> {
    const waited = `after ${Math.round(waitedMs / 1000)}s waiting for the lease`;
    s.log.info(`freeze windows: checking again, ${waited}`);
    const freeze = freezeGate(o, t, outputs, s);
    if (!r.reverify) return { freeze };
    s.log.info(`verified promotion gate: checking again, ${waited}`);
    const verified = await r.reverify();
    let alarms: UpstreamAlarmsReport | undefined;
    if (r.realarm && alarmsFromOutput(outputs.upstreamAlarms)?.length) {
        s.log.info("upstream alarms: checking again, on that verdict");
        alarms = await r.realarm(outputs, verified);
    }
    if (outputs.soakMinutes > 0) s.log.info("soak time: checking again, on that verdict");
    const soak = await r.soak(verified, outputs);
    // What the summary says: these verdicts, not the ones from before the wait.
    return {
        freeze,
        verifiedPromotion: verified,
        ...(alarms ? { upstreamAlarms: alarms } : {}),
        ...(soak.result !== "off" ? { soak } : {}),
    };
}

/** What the phases before the ledger's claim found: the deploy's inputs, reads and role session. */
interface Found {
    o: DeployOptions;
    t: Target;
    c: Checked;
    r: Reads;
    l: LocalFacts;
    outputs: DeployRoleOutputs;
    session: Session;
    s: Services;
}

/** What the claim reports back to the conductor while it runs. */
interface ClaimHooks {
    onLost: (why: string) => void;
    onExit: OnExit;
    rechecked: (verdicts: Partial<DeploySummary>) => void;
}

/** Claims the deploy in the environment's ledger, with the deploy role's credentials. */
async function claimLedger(
    { o, t, c, r, l, outputs, session, s }: Found,
    { onLost, onExit, rechecked }: ClaimHooks,
): Promise<Claim> {
    const store = s.aws.ledger(
        outputs.ledgerTableName,
        outputs.accountId,
        () => r.step(outputs.region),
        session.current,
    );
    return claim(
        store,
        {
            environment: outputs.attiniEnvironment,
            distributionName: l.distributionName,
            ...(l.distributionId ? { distributionId: l.distributionId } : {}),
            commit: l.head,
            branch: t.branch,
            digest: l.digest(),
            sha256: c.sha256,
            run: l.run,
            sessionName: c.sessionName,
            sourceIdentity: r.access.sourceIdentity,
            ...(o.breakGlass !== undefined ? { breakGlass: o.breakGlass } : {}),
        },
        t,
        {
            allowRollback: o.allowRollback,
            releaseHold: o.releaseHold,
            lease: { ttlMs: o.leaseTtlMs, waitMs: o.leaseWaitMs, onLost },
            afterWait: async (waitedMs) => rechecked(await checkAgain(o, t, r, outputs, s, waitedMs)),
            beforeRecord: () => session.checked,
            onExit,
            attiniHistory: async (until) => {
                const ctx = r.step(outputs.region);
                return s.aws.readDeployments(ctx, await session.current(), {
                    environment: outputs.attiniEnvironment,
                    distributionName: l.distributionName,
                    accountId: outputs.accountId,
                    until,
                });
            },
        },
        (line) => s.log.info(line),
    );
}

// --- 7. attini, with the deploy role's credentials -----------------------------------------------

type Ran = Pick<DeploySummary, "result" | "exitCode" | "credentials"> & { ended: Exclude<RunResult, "started"> };

/** Runs attini with the session's credentials (served by the endpoint, or static) and nothing else. */
async function runWithCredentials(
    o: DeployOptions,
    t: Target,
    c: Checked,
    session: Session,
    attini: string,
    s: Services,
    beforeAttini: () => void,
    stop: AbortSignal,
): Promise<Ran> {
    const { endpoint } = session;
    await session.checked; // the claim awaited it before the record; never run attini on unchecked credentials
    s.log.info(`running: ${c.commandLine}`);
    beforeAttini(); // from here on attini's process handling answers signals
    const { exitCode, ended } = await runAttini({
        bin: attini,
        args: c.command,
        env: attiniEnv(
            s.env,
            endpoint ? endpoint.env() : staticCredentialVars(session.first),
            t.stack.region,
            (o.json ? process.stderr : process.stdout).isTTY === true,
        ),
        timeoutSeconds: o.timeoutSeconds,
        killGraceMs: o.killGraceMs,
        stdoutToStderr: o.json,
        log: (line) => s.log.info(line),
        stop,
    });
    await endpoint?.close(); // attini has ended: nothing may fetch credentials any more
    const credentials = endpoint
        ? { mode: "endpoint" as const, refreshes: endpoint.refreshes, setsServed: endpoint.setsServed }
        : { mode: "static" as const };
    const result = exitCode === 0 ? ("deployed" as const) : ("failed" as const);
    const recorded: Ran["ended"] =
        ended === "timeout" ? "timed-out" : ended === "signal" || ended === "stopped" ? "interrupted" : result;
    if (endpoint?.failure && ended === "exit" && exitCode !== 0) {
        s.log.info(
            `attini exited with ${exitCode} after the deploy role's credentials could not be refreshed: ${endpoint.failure}`,
        );
        // attini stopped following; Attini's deployment may still be running, so it counts as interrupted.
        return { result: "failed", exitCode: Exit.CREDENTIALS, credentials, ended: "interrupted" };
    }
    if (ended === "stopped") {
        s.log.info(`attini was stopped because this deploy lost its lease (exit ${exitCode})`);
        return { result: "failed", exitCode, credentials, ended: recorded };
    }
    if (ended === "timeout") s.log.info(`timed out after ${o.timeoutSeconds}s (exit ${exitCode})`);
    else if (ended === "signal") s.log.info(`attini ended by a signal (exit ${exitCode})`);
    else if (exitCode !== 0) s.log.info(`attini exited with ${exitCode}`);
    return { result, exitCode, credentials, ended: recorded };
}

// --- 8. the summary -------------------------------------------------------------------------------

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
        ...(v.alarms ? { upstreamAlarms: v.alarms } : {}),
        ...(v.soak && v.soak.result !== "off" ? { soak: v.soak } : {}),
        command: ["attini", ...c.command],
    };
}

/**
 * Runs attini and completes the ledger's record with the signals noted, not fatal: while attini
 * runs its process handling forwards them, and once it has ended a SIGINT, SIGTERM or SIGHUP (a
 * parent driver's end, say) comes too late to stop anything, and must not kill the driver with
 * the record half-written. The record's calls are bounded by their AWS deadlines.
 */
async function recordingToTheEnd<T>(s: Services, work: () => Promise<T>): Promise<T> {
    const note = (sig: NodeJS.Signals) =>
        s.log.info(`received ${sig}: the ledger's record is completed before the driver exits`);
    for (const sig of FORWARDED_SIGNALS) process.on(sig, note);
    try {
        return await work();
    } finally {
        for (const sig of FORWARDED_SIGNALS) process.off(sig, note);
    }
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
    const local = await localFacts(target, checked, s);
    const reads = startReads(o, target, checked, local, s, onExit);
    // git's work on the folder's content, while the Pulumi CLI reads the outputs in child processes.
    local.digest();
    const resolved = await resolveRole(o, target, reads, s);
    // Before the deploy role is assumed: a refusal leaves nothing written anywhere. A forbidden
    // --break-glass was refused in resolveRole, before any check of time.
    const freeze = freezeGate(o, target, resolved.outputs, s);
    const described = {
        ...describeDeploy(target, checked, reads, resolved),
        freeze,
        digest: local.digest(),
        ...(o.breakGlass !== undefined ? { breakGlass: o.breakGlass } : {}),
    };
    if (o.dryRun) {
        s.log.info(
            `dry run: would assume ${resolved.role} as session ${checked.sessionName}, then run: ${checked.commandLine}`,
        );
        return finish({
            result: "dry-run",
            exitCode: Exit.OK,
            ...described,
            ledger: ledgerDryRun(o, target, local, s),
        });
    }
    // Not a dry run: the outputs were read (a failed read has thrown) and attini was found.
    if (resolved.outputs === undefined || checked.attini === undefined)
        throw new Error("no stack outputs or attini outside a dry run");
    const session = await openSession(o, target, checked, reads, resolved.outputs, s);
    const attini = checked.attini;
    const leaseLost = new AbortController();
    // A signal before attini starts: claim's own cleanup completes its run as interrupted.
    const claimed = await claimLedger(
        { o, t: target, c: checked, r: reads, l: local, outputs: resolved.outputs, session, s },
        {
            onLost: (why) => leaseLost.abort(`this deploy lost its lease on the environment: ${why}`),
            onExit,
            rechecked: (verdicts) => Object.assign(described, verdicts),
        },
    );
    const { ran, ledger } = await recordingToTheEnd(s, async () => {
        let ran: Ran;
        try {
            ran = await runWithCredentials(o, target, checked, session, attini, s, beforeAttini, leaseLost.signal);
        } catch (e) {
            await claimed.settle("failed");
            throw e;
        }
        return { ran, ledger: await claimed.settle(ran.ended) };
    });
    const { ended: _ended, ...summary } = ran;
    return finish({ ...described, ...summary, ledger });
}

/**
 * Deploys, and undoes what the phases left (the credential endpoint, a .zip's private copy) however
 * it ends: also on SIGINT, SIGTERM or SIGHUP before attini starts, after which the driver exits
 * 128 + the signal's number, as it does once attini runs.
 */
export async function deploy(o: DeployOptions, s: Services): Promise<DeploySummary> {
    const cleanups: (() => Promise<unknown>)[] = [];
    // All at once: each cleanup's first step (a claim told to stop) takes effect at the signal. One
    // that fails is said, and does not keep the others from running.
    const cleanUp = async () => {
        const ended = await Promise.allSettled(cleanups.splice(0).map((cleanup) => cleanup()));
        for (const e of ended)
            if (e.status === "rejected")
                s.log.info(`a clean-up step failed: ${(e.reason as Error)?.message ?? e.reason}`);
    };
    // The first signal stops the deploy and exits once its cleanup (the ledger's record among it)
    // is done; nothing cuts that short: not a second signal (a parent driver's end after its
    // SIGTERM, say), nor the phases ending meanwhile (a claim that stops throws).
    let stopping: Promise<void> | undefined;
    const onSignal = (sig: NodeJS.Signals) => {
        if (stopping) return s.log.info(`received ${sig} while stopping; the cleanup goes on`);
        s.log.info(`received ${sig} before attini started; stopping`);
        stopping = cleanUp().finally(() => process.exit(signalExit(sig)));
    };
    // The signals attiniProcess.ts forwards to attini once it runs end the deploy before that.
    const release = () => {
        if (stopping) return; // the stop in progress keeps answering them
        for (const sig of FORWARDED_SIGNALS) process.off(sig, onSignal);
    };
    for (const sig of FORWARDED_SIGNALS) process.on(sig, onSignal);
    try {
        return await deployPhases(o, s, (fn) => cleanups.push(fn), release);
    } finally {
        release();
        await cleanUp();
        if (stopping) await stopping; // ends the process
    }
}
