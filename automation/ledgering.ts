/**
 * deploy's ledger phases (the ledger: lib/ledger.ts), with the deploy role's credentials:
 *  - claim, before attini runs: take the lease (one deploy at a time; before waiting for another
 *    run's, newer wins: refuse a commit older than the newest one started or deployed there), newer
 *    wins now that no one else can deploy, the rollback hold, then the run's record (`started`);
 *  - settle, when attini has ended: the record's result, the holds a deploy of other content
 *    lifts, the lease released.
 * Two round trips before attini when the last holder left the lease cleanly: the take, which
 * returns the head that holder left (the newest run that counts, the holds in force), and one
 * transaction for the record, the hold and the new head. Otherwise the runs and holds are read in
 * between, as the head cannot be trusted (ledgerRules.ts's trustedHead). One transaction after.
 * The decisions are ledgerRules.ts's; the lease is leasing.ts's.
 */

import type { CiRun } from "./ciRun";
import { committedTree, headAndFolder, type PlacedFolder } from "./committedContent";
import type { RecordedDeployment } from "./deployments";
import type { Checked, Target } from "./deployTypes";
import { DriverError, Exit } from "./errors";
import { acquireLease, type HeldLease, type LeaseOptions } from "./leasing";
import {
    counts,
    describeRun,
    headAfter,
    heldError,
    holdOn,
    holdsLiftedBy,
    judgeOrder,
    orderOf,
    trustedHead,
} from "./ledgerRules";
import type { Hold, LedgerHead, LedgerRun, LedgerStore, RunResult } from "./ledgerTypes";

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
    /**
     * Attini's deployments of the distribution in this environment, newest first, up to the first
     * `until` accepts (read with the deploy role): the run records which one it made.
     */
    attiniHistory: (until: (d: RecordedDeployment) => boolean) => Promise<RecordedDeployment[]>;
    /** Checks made before the wait that must hold again after one (the verified gate); may refuse. */
    afterWait?: (waitedMs: number) => Promise<unknown>;
    /**
     * What must have passed before the run's record is written (the deploy role's account check,
     * which runs beside the lease's take); may refuse, and then the lease is released.
     */
    beforeRecord?: () => Promise<unknown>;
    /**
     * Registers what must run if the driver stops (a signal) once the lease is held: claim's own
     * undo, so that a claim cut short writes nothing more and leaves no run `started`.
     */
    onExit: (undo: () => Promise<unknown>) => void;
}

/** The deploymentTime of the first Attini deployment after `before` (the newest there was when the run began). */
async function attiniTimeAfter(
    o: ClaimOptions,
    before: number,
    log: (line: string) => void,
): Promise<number | undefined> {
    try {
        const rows = await o.attiniHistory((d) => d.time <= before);
        return rows.filter((r) => r.time > before).at(-1)?.time;
    } catch (e) {
        log(
            `could not read which Attini deployment this run made (${(e as Error).message}); the run is recorded without it`,
        );
        return undefined;
    }
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
    /** The --break-glass reason, when the deploy was given one. */
    breakGlass?: string;
}

/** A claimed deploy: its record is `started` and the lease is held until settle(). */
export interface Claim {
    report: LedgerReport;
    settle(result: Exclude<RunResult, "started">): Promise<LedgerReport>;
}

/** What the ledger reads of the checkout: HEAD's commit, and a folder distribution's place at HEAD. */
export interface Checkout {
    head: string;
    folder?: PlacedFolder;
}

/**
 * The checkout's commit, which newer-wins orders: required, since a deploy that cannot be ordered
 * is refused; read in the same git run as where a folder distribution lies (headAndFolder).
 */
export function readCheckout(t: Pick<Target, "git">, c: Pick<Checked, "kind" | "distribution">): Checkout {
    const { commit, folder } = headAndFolder(t.git, c.kind === "folder" ? c.distribution : undefined);
    if (!commit)
        throw new DriverError(
            Exit.USAGE,
            "the project is not in a git checkout with a commit: the ledger records and orders deploys by commit. Deploy from a clone of the repository.",
        );
    return { head: commit, ...(folder ? { folder } : {}) };
}

/**
 * The content digest the ledger records and the verified gate compares: a .zip's sha256; a
 * folder's committed git tree when the folder is exactly what was committed (the same on every
 * branch for the same content), else the sha256 of its files, which matches nothing upstream.
 */
export function contentDigest(
    t: Pick<Target, "git">,
    c: Pick<Checked, "kind" | "distribution" | "sha256">,
    checkout?: Pick<Checkout, "folder">,
): string {
    if (c.kind === "zip") return `sha256:${c.sha256}`;
    const tree = committedTree(t.git, (checkout ?? headAndFolder(t.git, c.distribution)).folder);
    return tree ? `tree:${tree}` : `files:${c.sha256}`;
}

/** The newest run that counts for newer wins, and the verdict on it; a verdict is computed once per run read. */
interface OrderCheck {
    newest?: LedgerRun;
    rollbackFrom?: LedgerRun;
}

/** Newer wins against the ledger's newest run that counts; `known` skips git when that run is unchanged. */
function judged(
    newest: LedgerRun | undefined,
    d: Deploying,
    t: Pick<Target, "git">,
    allowRollback: boolean,
    where: string,
    known?: OrderCheck,
): OrderCheck {
    if (known && known.newest?.entry === newest?.entry) return known;
    const order = newest ? orderOf(t.git, d.commit, newest.commit) : undefined;
    const verdict = judgeOrder(newest, d.commit, order, allowRollback, where);
    if (!verdict.go) throw verdict.error;
    return { newest, rollbackFrom: verdict.rollbackFrom };
}

/** The run's record, `started`, filed after the newest run whatever this build server's clock says. */
function newRun(d: Deploying, newestStart: number | undefined, rollbackFrom: LedgerRun | undefined): LedgerRun {
    const startedAt = Math.max(Date.now(), (newestStart ?? 0) + 1);
    return {
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
        ...(d.breakGlass !== undefined ? { breakGlass: d.breakGlass } : {}),
    };
}

/** What settling a run needs from its claim. */
interface Settling {
    store: LedgerStore;
    d: Deploying;
    run: LedgerRun;
    lease: HeldLease;
    report: LedgerReport;
    /** The holds a deploy of this run lifts. */
    release: Hold[];
    /** The head the run's record set, and the newest run that counted before it. */
    recorded: LedgerHead;
    before?: LedgerRun;
    attiniTime: () => Promise<number | undefined>;
    log: (line: string) => void;
}

/**
 * The settle phase: the run's result, the holds it lifts when it deployed, and the lease let go
 * with the head it leaves, in one transaction while the lease is this run's. A run whose lease
 * another run has taken, or whose transaction failed, completes its record and lifts its holds
 * alone (each hold only as it read it), and leaves the head as it is.
 */
function settler({ store, d, run, lease, report, release, recorded, before, attiniTime, log }: Settling): Settle {
    return async (result, stopped = false) => {
        // The holds go only with a deploy that worked (--release-hold's, and those a fix lifts).
        const lifting = result === "deployed" ? release : [];
        const endedAt = Date.now();
        // Stopped before attini ran, there is no deployment of Attini's to find.
        const found = stopped ? undefined : await attiniTime();
        const end = { result, endedAt, ...(found !== undefined ? { attiniTime: found } : {}) };
        /**
         * Not settled: the record completed and the holds lifted alone (each only as it was read),
         * and only then, once the completion is answered, the lease let go if it is still this
         * run's: its head names this run `started`, which no claim trusts. A hold that could not
         * be released stays in force, which refuses more, never less.
         */
        const alone = async (holds: readonly Hold[]): Promise<Hold[]> => {
            const [completed, ...freed] = await Promise.allSettled([
                store.completeRun(d.distributionName, run.entry, end),
                ...holds.map((h) => store.releaseHold(d.distributionName, h, d.run.runId, endedAt)),
            ]);
            await lease.release();
            if (completed.status === "rejected") throw completed.reason;
            return holds.filter((h, i) => {
                const f = freed[i];
                if (f.status === "rejected")
                    log(
                        `could not release the hold on ${h.digest} (${(f.reason as Error).message}): it stays in force`,
                    );
                else if (!f.value)
                    log(
                        `the hold on ${h.digest} was released or put again by another run since this run read it: left as it is`,
                    );
                return f.status === "fulfilled" && f.value;
            });
        };
        // false: the lease is another run's; undefined: the transaction failed.
        let settled: boolean | undefined;
        try {
            settled =
                (await lease.stop()) &&
                (await store.settleRun(run, end, lifting, headAfter(recorded, before, end, lifting.length)));
        } catch (e) {
            log(
                `completing the run's record with the lease's release failed (${(e as Error).message}); completing it alone`,
            );
        }
        const lifted = settled ? lifting : await alone(lifting);
        const { releasedHold, ...claimed } = report;
        return {
            ...claimed,
            result,
            ...(lifted.length > 0 ? { liftedHolds: lifted.map((h) => h.digest) } : {}),
            // --release-hold's hold is said released only when it was lifted.
            ...(lifted.some((h) => h.digest === releasedHold) ? { releasedHold } : {}),
            ...(lease.lost() || settled === false ? { leaseLost: true } : {}),
        };
    };
}

/** Completes the run with its result; `stopped`: by a signal before attini ran (see settler). */
type Settle = (result: Exclude<RunResult, "started">, stopped?: boolean) => Promise<LedgerReport>;

/**
 * A claim that a signal may cut short once the lease is held (deploy's cleanup runs `undo`):
 * nothing more is written, and a run already written is completed as interrupted (settling also
 * releases the lease), so that no run is left `started`. The first result stands: the deploy's
 * own, before the cleanup's "interrupted".
 */
function cutShort(lease: HeldLease, log: (line: string) => void) {
    let abandoned = false;
    let recorded: Promise<unknown> | undefined;
    let settle: Settle | undefined;
    let settled: Promise<LedgerReport> | undefined;
    const settleOnce: Settle = (result, stopped) => {
        settled ??= settle ? settle(result, stopped) : Promise.reject(new Error("settle before the run was recorded"));
        return settled;
    };
    return {
        settleOnce,
        settleWith: (fn: Settle) => {
            settle = fn;
        },
        /** The run's record being written: what `undo` waits for before completing it. */
        recording: (writing: Promise<unknown>) => {
            recorded = writing;
            return writing;
        },
        stopIfAbandoned: () => {
            if (abandoned) throw new DriverError(Exit.INTERNAL, "the deploy was stopped while claiming the ledger");
        },
        /** Whether `undo` has begun: then the lease is its to release, after the run's record. */
        abandoned: () => abandoned,
        undo: async () => {
            abandoned = true;
            try {
                if (recorded === undefined) return await lease.release();
                await recorded.catch(() => undefined);
                return await settleOnce("interrupted", true);
            } catch (e) {
                log(`could not complete the ledger's record of this interrupted run: ${(e as Error).message}`);
            }
        },
    };
}

/**
 * What a claim records once it holds the lease, on the newest run that counts and the holds in
 * force: the run (filed after that newest run), a rollback's hold, the head it sets, and the holds
 * a deploy of it lifts. Throws the refusal when newer wins or a hold says no.
 */
function decideRun(
    counting: LedgerRun | undefined,
    holds: readonly Hold[],
    d: Deploying,
    t: Pick<Target, "git">,
    o: Pick<ClaimOptions, "allowRollback" | "releaseHold">,
    where: string,
    first: OrderCheck | undefined,
    log: (line: string) => void,
) {
    const { rollbackFrom } = judged(counting, d, t, o.allowRollback, where, first);
    const held = holdOn(holds, d.digest, d.commit);
    if (held && !o.releaseHold) throw heldError(held, where);
    if (held) log(`--release-hold: the hold on ${held.digest} in the ${where} is released once this deploy succeeds`);
    // After the newest run that counts, which is where newer wins looks (a run filed under it by a
    // slow clock would be passed over).
    const run = newRun(d, counting?.startedAt, rollbackFrom);
    if (rollbackFrom)
        log(
            `--allow-rollback: rolling back from ${describeRun(rollbackFrom)}; its content is held until other content is deployed`,
        );
    const hold = rollbackFrom && {
        digest: rollbackFrom.digest,
        commit: rollbackFrom.commit,
        heldAt: run.startedAt,
        heldBy: d.run.url ?? d.run.runId,
    };
    // The holds in force are all known here (read, or none by the head), so the count is exact.
    const recorded: LedgerHead = {
        newest: run,
        holds: new Set([...holds.map((h) => h.digest), ...(hold ? [hold.digest] : [])]).size,
    };
    // A rollback lifts nothing; any other deploy lifts the holds on other content (and, with
    // --release-hold, the one on its own).
    const release = rollbackFrom ? [] : [...holdsLiftedBy(holds, d.digest, d.commit), ...(held ? [held] : [])];
    return { run, hold, held, recorded, release };
}

/**
 * The claim phase: the lease (when another run holds it, newer wins first, so that an outdated run
 * does not queue), then, with the lease held, newer wins and the holds, from the head the lease's
 * last holder left or else read at once; then the record, with the rollback's hold and the new
 * head, in one transaction, beside the read of Attini's newest deployment.
 */
export async function claim(
    store: LedgerStore,
    d: Deploying,
    t: Pick<Target, "git">,
    o: ClaimOptions,
    log: (line: string) => void,
): Promise<Claim> {
    const name = d.distributionName;
    // Newer wins before queueing, when the lease is not free at once: an outdated run does not wait.
    let first: OrderCheck | undefined;
    const lease = await acquireLease(
        store,
        name,
        { runId: d.run.runId, commit: d.commit, ciSystem: d.run.system, runUrl: d.run.url },
        { ...o.lease, log },
        async () => {
            // No wait on credentials that fail their check, and their failure, not the ledger's
            // (a table that is not in that account), is what a take that failed reports.
            await o.beforeRecord?.();
            first = judged(await store.findRun(name, counts), d, t, o.allowRollback, store.where);
        },
    );
    const cut = cutShort(lease, log);
    o.onExit(cut.undo);
    // Attini's newest deployment, read once the lease is held (no other run's deployment can come
    // after it) and beside the rest of the claim; the one this run makes is the first after it.
    const attiniBefore = o
        .attiniHistory(() => true)
        .then((rows) => rows[0]?.time ?? 0)
        .catch(() => undefined);
    try {
        const head = trustedHead(lease.previous);
        const [counting, holds] = await Promise.all([
            head ? head.newest : store.findRun(name, counts),
            head?.holds === 0 ? [] : store.holds(name),
            lease.waitedMs > 0 ? o.afterWait?.(lease.waitedMs) : undefined,
            o.beforeRecord?.(),
        ]);
        const { run, hold, held, recorded, release } = decideRun(counting, holds, d, t, o, store.where, first, log);
        const report: LedgerReport = {
            table: store.where,
            entry: run.entry,
            digest: d.digest,
            result: "started",
            waitedMs: lease.waitedMs,
            ...(run.rollbackFrom ? { rollbackFrom: run.rollbackFrom } : {}),
            ...(held ? { releasedHold: held.digest } : {}),
        };
        cut.stopIfAbandoned();
        cut.settleWith(
            settler({
                store,
                d,
                run,
                lease,
                report,
                release,
                recorded,
                before: counting,
                attiniTime: async () => {
                    const before = await attiniBefore;
                    return before === undefined ? undefined : attiniTimeAfter(o, before, log);
                },
                log,
            }),
        );
        await cut.recording(store.recordRun(run, recorded, hold));
        await attiniBefore; // read before attini starts, or its deployment could be taken for the one before
        log(`recorded run ${run.runId} (commit ${d.commit.slice(0, 12)}, ${d.digest}) in the ${store.where}`);
        // A signal while the record was written: its cleanup completes the run; attini must not start.
        cut.stopIfAbandoned();
        return { report, settle: cut.settleOnce };
    } catch (e) {
        // A stopped claim's undo completes the run first, then releases the lease: a deploy that
        // takes it meanwhile would see this run still `started`.
        if (!cut.abandoned()) await lease.release();
        throw e;
    }
}
