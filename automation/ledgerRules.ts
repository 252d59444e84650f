/**
 * The ledger's decisions, pure (git is passed in): whether this deploy is older than what the
 * environment already has (newer wins), whether its content is held after a rollback, which holds
 * a deploy lifts, how a lease and a run are described, and how long to wait between lease tries.
 * ledgering.ts applies them in the deploy; the unit tests run them on git worlds.
 */
import { isoTime } from "./deployments";
import { DriverError, Exit } from "./errors";
import { exists, type GitRunner } from "./git";
import type { Hold, Lease, LedgerHead, LedgerRun, PreviousLease, RunResult } from "./ledgerTypes";
import { printableField as printable } from "./log";

/** How HEAD stands to a recorded commit. */
/** How HEAD relates to a recorded commit; "shallow": this clone's history is cut off before it could tell. */
export type Order = "same" | "ahead" | "behind" | "diverged" | "shallow" | "unknown";

/**
 * same; ahead: HEAD descends from the recorded commit; behind: the recorded commit strictly
 * descends from HEAD (this deploy is outdated); diverged: neither; unknown: the clone does not
 * have the recorded commit (history rewritten, or a shallow clone), so they cannot be ordered.
 */
export function orderOf(git: GitRunner, head: string, recorded: string): Order {
    if (head === recorded) return "same";
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(recorded)) return "unknown";
    const shallow = () => git(["rev-parse", "--is-shallow-repository"]) !== "false";
    // A commit a shallow clone lacks may only be beyond its depth; a full clone lacks it only when
    // history was rewritten.
    if (!exists(git, recorded)) return shallow() ? "shallow" : "unknown";
    if (git(["merge-base", "--is-ancestor", head, recorded]) !== undefined) return "behind";
    if (git(["merge-base", "--is-ancestor", recorded, head]) !== undefined) return "ahead";
    // Neither is an ancestor: diverged only if git can see both histories down to a common
    // commit. A shallow clone cuts them off, and an older commit would then look "diverged".
    if (shallow()) return "shallow";
    return git(["merge-base", head, recorded]) ? "diverged" : "unknown";
}

/**
 * The runs that newer-wins compares against: every one whose content may be what the environment
 * runs now. Deployed, started (running, or its driver died), and timed-out or interrupted (attini
 * stopped following; Attini's deployment may have gone on and succeeded). Only a run attini
 * itself reported failed does not count.
 */
export const counts = (r: LedgerRun) => r.result !== "failed";

const short = (sha: string) => printable(sha.slice(0, 12));

/** The CI run that made a ledger row (its URL, else its system and id), as one printable field. */
export function runBy(r: Pick<LedgerRun, "runUrl" | "ciSystem" | "runId">): string {
    return r.runUrl ? printable(r.runUrl) : `${printable(r.ciSystem)} run ${printable(r.runId)}`;
}

/** One recorded run in words: commit, result, when, and the run that made it. */
export function describeRun(r: LedgerRun): string {
    return `commit ${short(r.commit)} (${r.result}${r.rollbackFrom ? ", a rollback" : ""}, started ${isoTime(r.startedAt)}, by ${runBy(r)})`;
}

/** Who holds a lease, in words. */
export function describeLease(l: Lease | undefined, now: number): string {
    if (!l) return "another run (its lease row cannot be read)";
    return `${runBy(l)} at commit ${short(l.commit)}, since ${isoTime(l.since)} (expires in ${Math.max(0, Math.ceil((l.expiresAt - now) / 1000))}s unless renewed)`;
}

/** What newer-wins decided: go on (a rollback when it goes back), or refuse. */
export type OrderVerdict = { go: true; rollbackFrom?: LedgerRun } | { go: false; error: DriverError };

/**
 * Newer wins: refuses a HEAD that the newest started-or-deployed run strictly descends from, or
 * cannot be ordered against, unless --allow-rollback says to deploy it anyway (then it is a
 * rollback from that run).
 */
export function judgeOrder(
    newest: LedgerRun | undefined,
    head: string,
    order: Order | undefined,
    allowRollback: boolean,
    where: string,
): OrderVerdict {
    if (!newest || order === undefined || order === "same" || order === "ahead" || order === "diverged")
        return { go: true };
    if (allowRollback) return { go: true, rollbackFrom: newest };
    const recorded = describeRun(newest);
    const message = {
        behind: `outdated: the ${where} already has a newer ${recorded}, which descends from this commit ${short(head)}. Deploying would put older content over newer. Re-run the newest pipeline instead, or pass --allow-rollback to roll back on purpose.`,
        shallow: `the newest run in the ${where} is ${recorded}, and this clone is shallow: its history is cut off before it can tell whether ${short(head)} is older. Fetch the full history and run this again (\`git fetch --unshallow\`; actions/checkout with fetch-depth: 0; GitLab's GIT_DEPTH: 0). --allow-rollback is not the fix: it would record this deploy as a rollback.`,
        unknown: `the newest run in the ${where} is ${recorded}, a commit this clone does not have although its history is complete (rewritten history, a force push), so it cannot tell whether ${short(head)} is older. Pass --allow-rollback to deploy it anyway, recorded as a rollback from that commit.`,
    }[order];
    return { go: false, error: new DriverError(Exit.OUTDATED, message, { ledger: { newest, head, order } }) };
}

/**
 * The hold in force on this deploy: on its content, or on its commit (the same commit rebuilt into
 * other bytes is still what was rolled back from).
 */
export function holdOn(holds: readonly Hold[], digest: string, commit: string): Hold | undefined {
    return holds.find((h) => h.releasedAt === undefined && (h.digest === digest || h.commit === commit));
}

/**
 * The head a claim may decide on instead of reading the runs (and, with no hold in force, the
 * holds): only one that a holder left as it released the lease (expiry 0) with its run complete,
 * in the transaction that completed it. A lease that expired (its holder was killed, or lost it),
 * a row without a head (a driver from before heads replaces the row when it takes the lease), no
 * row at all, or a newest run still `started` (recorded by a holder that was then refused or
 * stopped; its driver may yet complete it) make the claim read the runs, as before heads.
 */
export function trustedHead(previous: PreviousLease | undefined): LedgerHead | undefined {
    if (previous?.expiresAt !== 0 || !previous.head) return undefined;
    return previous.head.newest?.result === "started" ? undefined : previous.head;
}

/**
 * The head a run leaves as it settles: itself, with its result, if that counts for newer wins;
 * else the newest that counted before it. The holds: those in force when it was recorded, less
 * those it lifts.
 */
export function headAfter(
    recorded: LedgerHead,
    before: LedgerRun | undefined,
    end: { result: Exclude<RunResult, "started">; endedAt: number; attiniTime?: number },
    lifted: number,
): LedgerHead {
    const run = recorded.newest && { ...recorded.newest, ...end };
    return {
        ...(run && counts(run) ? { newest: run } : before ? { newest: before } : {}),
        holds: Math.max(0, recorded.holds - lifted),
    };
}

/** The refusal for held content. */
export function heldError(h: Hold, where: string): DriverError {
    return new DriverError(
        Exit.OUTDATED,
        `this content (${printable(h.digest)}) was rolled back from in the ${where} at ${isoTime(h.heldAt)} (commit ${short(h.commit)}, by ${printable(h.heldBy)}); it is held until other content is deployed. Deploy a fix, or pass --release-hold to deploy it again on purpose.`,
        { hold: h },
    );
}

/** The holds a successful deploy of `digest` at `commit` (not a rollback) lifts: every other one in force. */
export function holdsLiftedBy(holds: readonly Hold[], digest: string, commit: string): Hold[] {
    return holds.filter((h) => h.releasedAt === undefined && h.digest !== digest && h.commit !== commit);
}

/** The wait before lease try `attempt` (0-based): doubling from 1 s to 15 s, with up to 20% jitter. */
export function leaseBackoffMs(attempt: number, random: () => number = Math.random): number {
    const base = Math.min(15_000, 1000 * 2 ** Math.min(attempt, 4));
    return Math.round(base * (1 + 0.2 * random()));
}
