/**
 * One deploy at a time per environment and distribution: the ledger's lease, taken with a
 * conditional write that carries an expiry, renewed while attini runs, and released when it ends.
 * A second deploy waits, bounded by --lease-wait, polling with backoff (ledgerRules.ts) and saying
 * who holds the lease; a holder that was killed (SIGKILL: nothing released it) stops renewing,
 * and its lease is free once it expires, --lease-ttl after its last renewal. A holder whose
 * renewals fail for most of --lease-ttl is told to stop (onLost), so two deploys never overlap.
 */
import { DriverError, Exit, LedgerUnavailable } from "./errors";
import { describeLease, leaseBackoffMs } from "./ledgerRules";
import type { Lease, LedgerStore, PreviousLease } from "./ledgerTypes";

/** --lease-ttl's default: a killed holder's lease is free at most a minute after its last renewal. */
export const DEFAULT_LEASE_TTL_MS = 60_000;
/** --lease-wait's default: half an hour, about one long deployment. */
export const DEFAULT_LEASE_WAIT_MS = 30 * 60_000;
/**
 * --lease-ttl's bounds: a renewal every third of it must fit AWS's answer times (a third of the
 * minimum is 5 s), and a dead holder must not block for long.
 */
export const LEASE_TTL_RANGE_MS = { min: 15_000, max: 600_000 } as const;

export interface LeaseOptions {
    /** How long a lease lasts without renewal, ms (--lease-ttl); renewed every third of it. */
    ttlMs: number;
    /** How long to wait for another run's lease, ms (--lease-wait). */
    waitMs: number;
    log: (line: string) => void;
    sleep?: (ms: number) => Promise<void>;
    /** Called once if the lease may have passed to another run while this one holds it. */
    onLost?: (why: string) => void;
}

/** A lease this run holds: how long it waited for it, what its row said before, and how to let it go. */
export interface HeldLease {
    waitedMs: number;
    /** The lease's row as the take found it (undefined: there was none). */
    previous?: PreviousLease;
    /** Set when a renewal found the lease taken by another run (this one was too slow to renew). */
    lost(): boolean;
    /**
     * Stops renewing, once any renewal under way has been answered; true when the lease may still
     * be this run's, for a write that lets it go itself (the ledger store's settleRun).
     */
    stop(): Promise<boolean>;
    /** Stops renewing and releases the lease (idempotent). */
    release(): Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Takes the lease, waiting while another run holds it; DriverError(LEASE_WAIT) when --lease-wait
 * runs out. `beforeWaiting` (a check that may refuse, such as newer wins) runs once, as soon as the
 * first try finds the lease taken (or fails), so that a run it refuses never queues; a run that
 * takes the lease at once pays nothing for it.
 */
export async function acquireLease(
    store: LedgerStore,
    distributionName: string,
    me: Omit<Lease, "since" | "expiresAt">,
    o: LeaseOptions,
    beforeWaiting: () => Promise<unknown> = async () => undefined,
): Promise<HeldLease> {
    const sleep = o.sleep ?? defaultSleep;
    const started = Date.now();
    let shown: string | undefined;
    let checked = false;
    /** The checks, once: when the first try finds the lease taken, or a failed take gives up. */
    const checkOnce = async () => {
        if (checked) return;
        checked = true;
        await beforeWaiting(); // may refuse: nothing is held
    };
    for (let attempt = 0; ; attempt++) {
        const now = Date.now();
        // A try that fails (throttled, a timeout past its retries) is tried again within --lease-wait.
        // One that fails for good first runs the checks (once): their refusal (credentials in
        // another account, whose ledger does not exist) is what to report, not the ledger's.
        const got = await store
            .takeLease(distributionName, { ...me, since: now, expiresAt: now + o.ttlMs }, now)
            .catch(async (e: unknown) => {
                if (!(e instanceof LedgerUnavailable)) throw e;
                if (Date.now() - started >= o.waitMs) {
                    await checkOnce();
                    throw e;
                }
                o.log(`taking the lease failed (${e.message}); trying again`);
                return undefined;
            });
        if (got?.taken) {
            if (shown !== undefined)
                o.log(`took the lease on ${distributionName} after ${Math.round((Date.now() - started) / 1000)}s`);
            // Taken at the first try: no other run held it, so there was no wait (whatever the call took).
            const held = keep(store, distributionName, me.runId, o, attempt === 0 ? 0 : Date.now() - started);
            return got.previous ? { ...held, previous: got.previous } : held;
        }
        await checkOnce();
        if (got === undefined) {
            await sleep(Math.min(Math.max(0, started + o.waitMs - Date.now()), leaseBackoffMs(attempt)));
            continue;
        }
        const holder = describeLease(got.holder, now);
        const who = got.holder ? `${got.holder.runId}@${got.holder.since}` : "unreadable";
        if (who !== shown) {
            o.log(`waiting for the lease on ${distributionName} in the ${store.where}: held by ${holder}`);
            shown = who;
        }
        const left = started + o.waitMs - Date.now();
        if (left <= 0)
            throw new DriverError(
                Exit.LEASE_WAIT,
                `another deploy of ${distributionName} holds the lease in the ${store.where}: ${holder}. Waited ${Math.round(o.waitMs / 1000)}s (--lease-wait); nothing was deployed. Let it finish and run this again, or raise --lease-wait.`,
                { lease: got.holder },
            );
        await sleep(Math.min(left, leaseBackoffMs(attempt)));
    }
}

/**
 * Renews the lease every third of its lifetime until released, each renewal bounded by that third.
 * Fails closed: once the lease may have passed to another run (a renewal found it taken, or none
 * succeeded for 90% of --lease-ttl, after which another run may take it), `onLost` says so, and
 * the deploy stops attini rather than let two deploys overlap.
 */
function keep(
    store: LedgerStore,
    distributionName: string,
    runId: string,
    o: LeaseOptions,
    waitedMs: number,
): HeldLease {
    let lost = false;
    let stopped: Promise<boolean> | undefined;
    let released = false;
    let timer: NodeJS.Timeout | undefined;
    let renewing: Promise<unknown> = Promise.resolve();
    let lastRenewed = Date.now();
    const every = Math.max(1, Math.floor(o.ttlMs / 3));
    const loseIt = (why: string) => {
        if (lost || stopped) return;
        lost = true;
        o.log(`the lease on ${distributionName} in the ${store.where} is no longer this run's: ${why}`);
        o.onLost?.(why);
    };
    const renew = async () => {
        const sent = Date.now();
        let bound: NodeJS.Timeout | undefined;
        const late = new Promise<"late">((resolve) => {
            bound = setTimeout(() => resolve("late"), every);
        });
        try {
            const ours = await Promise.race([store.renewLease(distributionName, runId, sent + o.ttlMs), late]);
            if (ours === true) lastRenewed = sent;
            else if (ours === false) return loseIt("another run took it (a renewal came after --lease-ttl)");
            else o.log(`renewing the lease took longer than ${every} ms; trying again`);
        } catch (e) {
            o.log(`renewing the lease failed (${(e as Error).message}); trying again`);
        } finally {
            clearTimeout(bound);
        }
        if (Date.now() - lastRenewed > o.ttlMs * 0.9)
            loseIt(
                `no renewal succeeded for ${Math.round((Date.now() - lastRenewed) / 1000)}s of its ${o.ttlMs / 1000}s (--lease-ttl)`,
            );
    };
    const schedule = () => {
        timer = setTimeout(() => {
            renewing = renew().finally(() => {
                if (!stopped && !lost) schedule();
            });
        }, every);
    };
    schedule();
    const stop = () => {
        stopped ??= (async () => {
            clearTimeout(timer);
            await renewing;
            return !lost;
        })();
        return stopped;
    };
    return {
        waitedMs,
        lost: () => lost,
        stop,
        release: async () => {
            if (released) return;
            released = true;
            if (await stop()) await store.releaseLease(distributionName, runId);
        },
    };
}
