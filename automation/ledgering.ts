/**
 * deploy's ledger phases (the ledger: lib/ledger.ts), with the deploy role's credentials:
 *  - claim, before attini runs: newer wins (refuse a commit older than the newest one started or
 *    deployed there), take the lease (one deploy at a time, waiting for it), newer wins again now
 *    that no one else can deploy, the rollback hold, then the run's record (`started`);
 *  - settle, when attini has ended: the record's result, the holds a deploy of other content
 *    lifts, the lease released.
 * The decisions are ledgerRules.ts's; the lease is leasing.ts's.
 */

import type { CiRun } from "./ciRun";
import { rewrittenUnder, uncommittedUnder } from "./committedContent";
import type { Checked, Target } from "./deployTypes";
import { DriverError, Exit } from "./errors";
import { repositoryPathspec } from "./git";
import { acquireLease, type HeldLease, type LeaseOptions } from "./leasing";
import { counts, describeRun, heldError, holdOn, holdsLiftedBy, judgeOrder, orderOf } from "./ledgerRules";
import type { LedgerRun, LedgerStore, RunResult } from "./ledgerTypes";

/** What the summary says about the ledger. */
export interface LedgerReport {
    table: string;
    entry: string;
    digest: string;
    result: RunResult;
    waitedMs: number;
    rollbackFrom?: { commit: string; digest: string };
    releasedHold?: string;
    liftedHolds?: string[];
    leaseLost?: boolean;
}

export interface ClaimOptions {
    allowRollback: boolean;
    releaseHold: boolean;
    lease: Omit<LeaseOptions, "log">;
}

/** Who deploys what: everything the run's record says besides its times and result. */
export interface Deploying {
    environment: string;
    distributionName: string;
    distributionId?: string;
    commit: string;
    branch: string;
    digest: string;
    sha256: string;
    run: CiRun;
    sessionName: string;
    sourceIdentity: string;
}

/** A claimed deploy: its record is `started` and the lease is held until settle(). */
export interface Claim {
    report: LedgerReport;
    settle(result: Exclude<RunResult, "started">): Promise<LedgerReport>;
    /** Lets the lease go without a result (the deploy stopped before its record was written). */
    abandon(): Promise<void>;
}

/**
 * The content digest the ledger records and the verified gate compares: a .zip's sha256; a
 * folder's committed git tree when the folder is exactly what was committed (the same on every
 * branch for the same content), else the sha256 of its files, which matches nothing upstream.
 */
export function contentDigest(
    t: Pick<Target, "git" | "projectDir">,
    c: Pick<Checked, "kind" | "distribution" | "sha256">,
): string {
    if (c.kind === "zip") return `sha256:${c.sha256}`;
    const pathspec = repositoryPathspec(t.git, t.projectDir, c.distribution);
    if (pathspec !== undefined) {
        const prefix = t.git(["rev-parse", "--show-prefix"]);
        const clean =
            uncommittedUnder(t.git, pathspec)?.length === 0 &&
            prefix !== undefined &&
            rewrittenUnder(t.git, pathspec, prefix)?.length === 0;
        const tree = clean
            ? t.git(["rev-parse", "--verify", "--quiet", `HEAD:./${pathspec === "." ? "" : pathspec}`])
            : undefined;
        if (tree && /^[0-9a-f]{40,64}$/.test(tree)) return `tree:${tree}`;
    }
    return `files:${c.sha256}`;
}

/** The checkout's commit, which newer-wins orders: required, since a deploy that cannot be ordered is refused. */
export function headCommit(t: Pick<Target, "git">): string {
    const head = t.git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]);
    if (!head)
        throw new DriverError(
            Exit.USAGE,
            "the project is not in a git checkout with a commit: the ledger records and orders deploys by commit. Deploy from a clone of the repository.",
        );
    return head;
}

/** Newer wins against the ledger's newest started-or-deployed run. */
async function checkOrder(store: LedgerStore, d: Deploying, t: Pick<Target, "git">, allowRollback: boolean) {
    const newest = await store.findRun(d.distributionName, counts);
    const order = newest ? orderOf(t.git, d.commit, newest.commit) : undefined;
    const verdict = judgeOrder(newest, d.commit, order, allowRollback, store.where);
    if (!verdict.go) throw verdict.error;
    return verdict.rollbackFrom;
}

/** The claim phase: order, lease, order again, hold, record. */
export async function claim(
    store: LedgerStore,
    d: Deploying,
    t: Pick<Target, "git">,
    o: ClaimOptions,
    log: (line: string) => void,
): Promise<Claim> {
    await checkOrder(store, d, t, o.allowRollback); // before waiting: an outdated run need not queue
    const lease: HeldLease = await acquireLease(
        store,
        d.distributionName,
        { runId: d.run.runId, commit: d.commit, ciSystem: d.run.system, runUrl: d.run.url },
        { ...o.lease, log },
    );
    try {
        const rollbackFrom = await checkOrder(store, d, t, o.allowRollback);
        const holds = await store.holds(d.distributionName);
        const held = holdOn(holds, d.digest, d.commit);
        let releasedHold: string | undefined;
        if (held && !o.releaseHold) throw heldError(held, store.where);
        // Runs are ordered by their start: never before the newest one's, whatever this build
        // server's clock says (a clock behind the last one's would file this run under it).
        const [newest] = await store.runs(d.distributionName, 1);
        const startedAt = Math.max(Date.now(), (newest?.startedAt ?? 0) + 1);
        if (held) {
            await store.releaseHold(d.distributionName, held.digest, d.run.runId, startedAt);
            releasedHold = held.digest;
            log(`--release-hold: released the hold on ${held.digest} in the ${store.where}`);
        }
        const run: LedgerRun = {
            entry: `run#${String(startedAt).padStart(15, "0")}#${d.run.runId}`,
            runId: d.run.runId,
            environment: d.environment,
            distributionName: d.distributionName,
            ...(d.distributionId ? { distributionId: d.distributionId } : {}),
            commit: d.commit,
            branch: d.branch,
            digest: d.digest,
            sha256: d.sha256,
            ciSystem: d.run.system,
            ...(d.run.url ? { runUrl: d.run.url } : {}),
            sessionName: d.sessionName,
            sourceIdentity: d.sourceIdentity,
            startedAt,
            result: "started",
            ...(rollbackFrom ? { rollbackFrom: { commit: rollbackFrom.commit, digest: rollbackFrom.digest } } : {}),
        };
        if (rollbackFrom) {
            log(
                `--allow-rollback: rolling back from ${describeRun(rollbackFrom)}; its content is held until other content is deployed`,
            );
            await store.putHold(d.distributionName, {
                digest: rollbackFrom.digest,
                commit: rollbackFrom.commit,
                heldAt: startedAt,
                heldBy: d.run.url ?? d.run.runId,
            });
        }
        await store.putRun(run);
        log(`recorded run ${run.runId} (commit ${d.commit.slice(0, 12)}, ${d.digest}) in the ${store.where}`);
        const report: LedgerReport = {
            table: store.where,
            entry: run.entry,
            digest: d.digest,
            result: "started",
            waitedMs: lease.waitedMs,
            ...(run.rollbackFrom ? { rollbackFrom: run.rollbackFrom } : {}),
            ...(releasedHold ? { releasedHold } : {}),
        };
        let settled: Promise<LedgerReport> | undefined;
        const settle = async (result: Exclude<RunResult, "started">): Promise<LedgerReport> => {
            try {
                await store.completeRun(d.distributionName, run.entry, { result, endedAt: Date.now() });
                const lifted = result === "deployed" && !rollbackFrom ? holdsLiftedBy(holds, d.digest, d.commit) : [];
                for (const h of lifted) await store.releaseHold(d.distributionName, h.digest, d.run.runId, Date.now());
                return {
                    ...report,
                    result,
                    ...(lifted.length > 0 ? { liftedHolds: lifted.map((h) => h.digest) } : {}),
                    ...(lease.lost() ? { leaseLost: true } : {}),
                };
            } finally {
                await lease.release();
            }
        };
        return {
            report,
            abandon: () => lease.release(),
            // Once: the first result stands (the deploy's own, before the cleanup's "interrupted").
            settle: (result) => {
                settled ??= settle(result);
                return settled;
            },
        };
    } catch (e) {
        await lease.release();
        throw e;
    }
}
