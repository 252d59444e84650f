/**
 * What `attini-gitops status` gathers: for each environment, its branch tip beside what its ledger
 * says the driver deployed there (commit, content, run; exactly how many commits behind) and the
 * last deployment Attini recorded (read with the environment's history reader, all environments at
 * once; one Attini did not make through the driver is flagged), and every promotion link's state
 * from the local clone. statusText.ts and statusMarkdown.ts write it out.
 *
 * Where each environment is (account, region, Attini environment, branch), which reader reads it
 * and its freeze windows (in force, or starting within 24 hours, at Services.now()) come from the
 * stack outputs that `pulumi up` provisioned, not from the checkout: a stack whose
 * outputs cannot be read, or differ from its stack file, is shown as unknown, with why.
 */
import pLimit from "p-limit";
import { freezeWindowsOf } from "../lib/config/freeze";
import type { StackConfig } from "../lib/config/types";
import type { DeployRoleOutputs } from "../lib/outputs";
import { type AwsTimeouts, awsDeadline, awsStep, type SourceCredentials } from "./awsCall";
import { HistoryUnreadable, type RecordedDeployment } from "./deployments";
import { DriverError } from "./errors";
import { type FreezeView, freezeViewAt } from "./freezeGate";
import { type Commit, exists, type GitRunner, gitIn, remoteRef, tipOf } from "./git";
import { type StackReader, stackReader } from "./history";
import type { LedgerRun } from "./ledgerTypes";
import { openWorkspace, outputReaders } from "./outputs";
import { findProjectDir, loadValidStacks } from "./project";
import { type LinkStatus, linkStatus } from "./promotionLinks";
import { roleAccess, sessionTags } from "./roleSession";
import type { Services } from "./services";
import { cleanSessionName } from "./session";
import { attiniDeploymentOf } from "./verifiedContent";

/** What Attini recorded about one distribution in one environment. */
export interface DeployedState {
    distributionName: string;
    /** The newest deployment, whatever its outcome (none: never deployed there). */
    last?: RecordedDeployment;
    /** The newest successful one. */
    lastSucceeded?: RecordedDeployment;
}

/** What the environment's ledger says the driver deployed there. */
export interface LedgerState {
    /** The newest run, whatever its result, and the newest that deployed. */
    last?: LedgerRun;
    deployed?: LedgerRun;
    /** Exactly how many commits the branch tip has that the deployed commit has not (git rev-list --count). */
    behind?: number;
    /** Why `behind` could not be counted. */
    behindUnknown?: string;
    /** Attini's newest deployment was made outside attini-gitops: no ledger run was going on then. */
    outside?: boolean;
}

export interface EnvironmentStatus {
    stack: string;
    /** The stack's branch: as provisioned, or (when that is unknown) as this checkout's stack file says. */
    branch: string;
    /** Where the environment is, as the stack outputs say (absent when they cannot be used: see outputsUnknown). */
    attiniEnvironment?: string;
    accountId?: string;
    region?: string;
    /** Why the stack outputs cannot be used (not provisioned, unreadable, or the checkout says otherwise). */
    outputsUnknown?: string;
    /** The remote-tracking branch's newest commit (absent when it is not in this clone). */
    tip?: Commit & { ref: string };
    /** What Attini recorded, when it could be read. */
    deployed?: DeployedState;
    /** Why `deployed` is absent: no distribution named, the outputs, no credentials, or the reader's error. */
    unknown?: string;
    /** What the ledger says, when it could be read (else `ledgerUnknown` says why). */
    ledger?: LedgerState;
    ledgerUnknown?: string;
    /**
     * The branch moved on and the environment did not: by the ledger, the branch has commits the
     * deployed one has not; without it, the tip was committed after Attini's last deployment
     * started (an estimate from commit times).
     */
    movedOn?: boolean;
    /** The provisioned freeze windows in force now or starting within 24 hours (else `freezeUnknown` says why not known). */
    freeze?: FreezeView;
    freezeUnknown?: string;
}

export interface StatusReport {
    environments: EnvironmentStatus[];
    links: LinkStatus[];
}

export interface StatusOptions {
    cwd: string;
    remote: string;
    /** The distribution whose deployments to show (from --distribution-name, or --dist's attini-config). */
    distributionName?: string;
    externalId?: string;
    timeouts: AwsTimeouts;
}

/** What `pulumi up` provisioned for one stack: its outputs, or why they cannot be used. */
type Provisioned = { outputs: DeployRoleOutputs; why?: undefined } | { outputs?: undefined; why: string };

/**
 * Every stack's outputs, read at once (as many Pulumi CLIs at a time as `plan` runs). Where and
 * with which reader an environment is read comes from them, never from the checkout: a stack whose
 * outputs cannot be read, or differ from the checkout's stack files, is unknown (checkOutputs names
 * each key and the `pulumi up` to run).
 */
async function provisioned(projectDir: string, configs: readonly StackConfig[], s: Services): Promise<Provisioned[]> {
    const workspace = openWorkspace(projectDir);
    const limit = pLimit(outputReaders(s.env));
    return Promise.all(
        configs.map((c) =>
            limit(async (): Promise<Provisioned> => {
                try {
                    return { outputs: await s.readOutputs(projectDir, c, configs, undefined, workspace) };
                } catch (e) {
                    if (!(e instanceof DriverError)) throw e;
                    return { why: e.message };
                }
            }),
        ),
    );
}

/** How many runs status reads from each ledger: enough to place Attini's newest deployment. */
const LEDGER_RUNS_READ = 20;

/** The ledger's newest runs, and whether Attini's newest deployment was one of them. */
async function ledgerState(
    read: StackReader,
    name: string,
    attiniLast: RecordedDeployment | undefined,
): Promise<Pick<EnvironmentStatus, "ledger" | "ledgerUnknown">> {
    try {
        const runs = await read.ledgerRuns(name, LEDGER_RUNS_READ);
        const outside =
            attiniLast !== undefined && !runs.some((r) => attiniDeploymentOf([attiniLast], r) !== undefined);
        return { ledger: { last: runs[0], deployed: runs.find((r) => r.result === "deployed"), outside } };
    } catch (e) {
        if (!(e instanceof HistoryUnreadable)) throw e;
        return { ledgerUnknown: `not read: ${e.message}` };
    }
}

/** Exactly how far the branch tip is ahead of the deployed commit, or why that cannot be counted. */
function behindTip(
    git: GitRunner,
    deployed: LedgerRun | undefined,
    tipRef: string,
): Pick<LedgerState, "behind" | "behindUnknown"> {
    if (!deployed) return {};
    if (!/^[0-9a-f]{40,64}$/.test(deployed.commit) || !exists(git, deployed.commit))
        return {
            behindUnknown: `the deployed commit ${deployed.commit.slice(0, 12)} is not in this clone (git fetch, or history rewritten)`,
        };
    const count = git(["rev-list", "--count", `${deployed.commit}..${tipRef}`]);
    return count !== undefined && /^\d+$/.test(count)
        ? { behind: Number(count) }
        : { behindUnknown: "git rev-list failed" };
}

/** The freeze windows `pulumi up` pinned in the stack's outputs, as they stand at the clock's now. */
function freezeOf(
    c: StackConfig,
    p: DeployRoleOutputs,
    s: Services,
): Pick<EnvironmentStatus, "freeze" | "freezeUnknown"> {
    try {
        return { freeze: freezeViewAt(freezeWindowsOf(c.stack, p.freezeWindows), s.now()) };
    } catch (e) {
        return { freezeUnknown: `the output freezeWindows is not a valid list of windows (${(e as Error).message})` };
    }
}

export async function status(o: StatusOptions, s: Services): Promise<StatusReport> {
    const projectDir = findProjectDir(o.cwd);
    const { configs } = loadValidStacks(projectDir);
    const git = gitIn(projectDir);
    const links = configs.flatMap((down) => {
        const up = configs.find((c) => c.stack === down.promotedFrom);
        return up ? [linkStatus(git, o.remote, up, down)] : [];
    });
    const provisions = await provisioned(projectDir, configs, s);
    const deployed = await recorded(configs, provisions, o, s);
    const environments = configs.map((c, i): EnvironmentStatus => {
        const p = provisions[i].outputs;
        const branch = p?.branch ?? c.branch;
        const tip = tipOf(git, remoteRef(o.remote, branch));
        const d = deployed[i];
        const e: EnvironmentStatus = p
            ? {
                  stack: c.stack,
                  branch,
                  attiniEnvironment: p.attiniEnvironment,
                  accountId: p.accountId,
                  region: p.region,
                  ...d,
                  ...freezeOf(c, p, s),
              }
            : {
                  stack: c.stack,
                  branch,
                  outputsUnknown: provisions[i].why,
                  ...d,
                  freezeUnknown: "what was provisioned is unknown (above)",
              };
        if (tip) e.tip = { ...tip, ref: `${o.remote}/${branch}` };
        if (e.ledger && e.tip) Object.assign(e.ledger, behindTip(git, e.ledger.deployed, e.tip.ref));
        if (e.ledger?.behind !== undefined) e.movedOn = e.ledger.behind > 0;
        else if (tip && d.deployed?.last) e.movedOn = tip.time * 1000 > d.deployed.last.time;
        return e;
    });
    return { environments, links };
}

/** Each stack's deployed state, or why it is unknown; read with each stack's history reader, all at once. */
async function recorded(
    configs: readonly StackConfig[],
    provisions: readonly Provisioned[],
    o: StatusOptions,
    s: Services,
): Promise<Pick<EnvironmentStatus, "deployed" | "unknown" | "ledger" | "ledgerUnknown">[]> {
    const name = o.distributionName;
    if (name === undefined)
        return configs.map(() => ({
            unknown: "not read: pass --distribution-name NAME (or --dist PATH) to show what Attini recorded",
        }));
    let source: SourceCredentials;
    try {
        source = await s.aws.findSourceCredentials(awsDeadline(o.timeouts));
    } catch (e) {
        const why = `not read: ${(e as Error).message}`;
        return configs.map(() => ({ unknown: why }));
    }
    return Promise.all(
        configs.map(async (c, i) => {
            const p = provisions[i].outputs;
            if (!p) return { unknown: "not read: what was provisioned for this stack is unknown (above)" };
            // Everything about where to read, and with which reader, as provisioned.
            const reader = {
                stack: c.stack,
                accountId: p.accountId,
                region: p.region,
                attiniEnvironment: p.attiniEnvironment,
                externalIdRequired: p.externalIdRequired,
                historyReaderArn: p.historyReaderArn,
            };
            try {
                const access = roleAccess({
                    env: s.env,
                    branch: p.branch,
                    sessionName: cleanSessionName(`status-${name}`),
                    externalId: o.externalId,
                    tags: sessionTags(reader),
                    redact: (...secrets) => s.log.redactor.add(...secrets),
                });
                const step = () => awsStep(o.timeouts, p.region, (line) => s.log.info(line));
                const read = stackReader(s.aws, reader, access, async () => ({ source }), step);
                const history = await read.history({ distributionName: name, until: (d) => d.status === "succeeded" });
                const deployed = {
                    distributionName: name,
                    last: history[0],
                    lastSucceeded: history.find((d) => d.status === "succeeded"),
                };
                return { deployed, ...(await ledgerState(read, name, history[0])) };
            } catch (e) {
                if (!(e instanceof HistoryUnreadable)) throw e;
                return { unknown: `not read: ${e.message}` };
            }
        }),
    );
}
