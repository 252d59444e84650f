/**
 * The deployment ledger's entries as the driver reads and writes them (the table is lib/ledger.ts),
 * and the store behind the AWS port that holds them: its DynamoDB adapter is ledgerDynamo.ts, the
 * unit tests' fake is in test/support/fakeAws.ts. Types only.
 */

/** How a recorded run ended; `started` until the driver completes it (a killed driver leaves it so). */
export type RunResult = "started" | "deployed" | "failed" | "timed-out" | "interrupted";

/** One deploy by the driver, written before attini runs and completed when it ends. */
export interface LedgerRun {
    /** The sort key: `run#<startedAt, 15 digits>#<runId>`. */
    entry: string;
    runId: string;
    environment: string;
    distributionName: string;
    /** The full commit id of the checkout that was deployed. */
    commit: string;
    branch: string;
    /**
     * What was deployed, by content: `sha256:<hex>` of a .zip's bytes, `tree:<sha>` of a folder's
     * committed git tree (the same on every branch for the same content), or `files:<hex>` for a
     * folder with uncommitted content (it matches nothing upstream).
     */
    digest: string;
    /** sha256 of the bytes attini read (the .zip; for a folder, its files). */
    sha256: string;
    distributionId?: string;
    ciSystem: string;
    runUrl?: string;
    sessionName: string;
    sourceIdentity: string;
    startedAt: number;
    endedAt?: number;
    result: RunResult;
    /**
     * The deploymentTime of the deployment this run made in Attini's record (the first one Attini
     * recorded after the newest it had when the run began): how the verified gate finds Attini's
     * word on this very run. Absent when it could not be read.
     */
    attiniTime?: number;
    /** Deployed with --allow-rollback over a newer commit: the commit and digest it rolled back from. */
    rollbackFrom?: { commit: string; digest: string };
    /** Deployed with --break-glass: the reason given (also in the deploy role's session tags). */
    breakGlass?: string;
}

/** The one-at-a-time lease of an environment and distribution. */
export interface Lease {
    runId: string;
    commit: string;
    ciSystem: string;
    runUrl?: string;
    since: number;
    /** Epoch ms; a lease past it is free to take. Released leases have 0. */
    expiresAt: number;
}

/** Content held back after a rollback: no deploy of it until another content is deployed, or --release-hold. */
export interface Hold {
    digest: string;
    /** The commit that was rolled back from, and the run that rolled back. */
    commit: string;
    heldAt: number;
    heldBy: string;
    releasedAt?: number;
    releasedBy?: string;
}

/**
 * What the lease's row says of the distribution's ledger as its last holder left it, written in the
 * same transaction as that holder's run and its result: the newest run that counts for newer wins
 * (ledgerRules.ts's `counts`), and how many rollback holds are in force. A claim that takes a lease
 * released this way needs no read of the runs or (with none in force) of the holds: the row it
 * replaced is a snapshot taken at the moment it took the lease (ledgerRules.ts's trustedHead).
 */
export interface LedgerHead {
    /** Undefined: no run counts. */
    newest?: LedgerRun;
    /** At least the number of holds in force (a release that fails to update it leaves it higher). */
    holds: number;
}

/** The lease's row as a take found it: its expiry (0: released) and the head it carried. */
export interface PreviousLease {
    expiresAt: number;
    head?: LedgerHead;
}

/** A hold as a run read it: which content, and since when (a hold put again has another `heldAt`). */
export type HeldAs = Pick<Hold, "digest" | "heldAt">;

/** The ledger of one environment, as the deploy role (writes) or the history reader (reads only) sees it. */
export interface LedgerStore {
    /** The table's name and where it is, for messages. */
    readonly where: string;
    /** The newest runs of a distribution, newest first, at most `limit`. */
    runs(distributionName: string, limit: number): Promise<LedgerRun[]>;
    /** The newest run that `match` accepts (undefined: none); refuses when the history is too long to search. */
    findRun(distributionName: string, match: (r: LedgerRun) => boolean): Promise<LedgerRun | undefined>;
    /**
     * Adds the run (never overwriting another run's row), the rollback's hold if any, and sets the
     * lease's head: all at once, and only while the run holds the lease. Throws LeaseNotHeld when it
     * does not (nothing is written).
     */
    recordRun(run: LedgerRun, head: LedgerHead, hold?: Hold): Promise<void>;
    /** Sets a run's end and result (alone: for a run that no longer holds the lease). */
    completeRun(
        distributionName: string,
        entry: string,
        end: { result: RunResult; endedAt: number; attiniTime?: number },
    ): Promise<void>;
    /**
     * Completes the run, releases the holds it lifts (each only as the run read it: not one
     * released or put again since), and lets the lease go with its head set to `head`: all at
     * once, and only while `runId` holds the lease; false (nothing written) when it does not.
     */
    settleRun(
        run: Pick<LedgerRun, "distributionName" | "entry" | "runId">,
        end: { result: RunResult; endedAt: number; attiniTime?: number },
        lifted: readonly HeldAs[],
        head: LedgerHead,
    ): Promise<boolean>;
    /**
     * Takes the lease if it is free, expired or already this run's, and says what the row was
     * before; else says who holds it.
     */
    takeLease(
        distributionName: string,
        lease: Lease,
        now: number,
    ): Promise<{ taken: true; previous?: PreviousLease } | { taken: false; holder?: Lease }>;
    /** Extends this run's lease; false when it is no longer this run's. */
    renewLease(distributionName: string, runId: string, expiresAt: number): Promise<boolean>;
    /** Lets the lease go at once, if it is still this run's (its head unchanged). */
    releaseLease(distributionName: string, runId: string): Promise<void>;
    /** The distribution's holds in force (a released hold stays in the table, and is not returned). */
    holds(distributionName: string): Promise<Hold[]>;
    /**
     * Releases a hold (alone: for a run that no longer holds the lease), only as the run read it;
     * false when it has been released or put again since (by a rollback after this run's claim).
     */
    releaseHold(distributionName: string, hold: HeldAs, by: string, at: number): Promise<boolean>;
}
