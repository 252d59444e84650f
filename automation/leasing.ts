/**
 * One deploy at a time per environment and distribution: the ledger's lease, taken with a
 * conditional write that carries an expiry, renewed while attini runs, and released when it ends.
 * A second deploy waits, bounded by --lease-wait, polling with backoff (ledgerRules.ts) and saying
 * who holds the lease; a holder that was killed (SIGKILL: nothing released it) stops renewing,
 * and its lease is free once it expires, --lease-ttl after its last renewal.
 */
import { DriverError, Exit } from "./errors";
import { describeLease, leaseBackoffMs } from "./ledgerRules";
import type { Lease, LedgerStore } from "./ledgerTypes";

/** --lease-ttl's default: a killed holder's lease is free at most a minute after its last renewal. */
export const DEFAULT_LEASE_TTL_MS = 60_000;
/** --lease-wait's default: half an hour, about one long deployment. */
export const DEFAULT_LEASE_WAIT_MS = 30 * 60_000;
/** --lease-ttl's bounds: renewals every third of it must fit AWS's answer times, and a dead holder must not block for long. */
export const LEASE_TTL_RANGE_MS = { min: 3_000, max: 600_000 } as const;

export interface LeaseOptions {
    /** How long a lease lasts without renewal, ms (--lease-ttl); renewed every third of it. */
    ttlMs: number;
    /** How long to wait for another run's lease, ms (--lease-wait). */
    waitMs: number;
    log: (line: string) => void;
    sleep?: (ms: number) => Promise<void>;
}

/** A lease this run holds: how long it waited for it, and how to let it go. */
export interface HeldLease {
    waitedMs: number;
    /** Set when a renewal found the lease taken by another run (this one was too slow to renew). */
    lost(): boolean;
    /** Stops renewing and releases the lease (idempotent). */
    release(): Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Takes the lease, waiting while another run holds it; DriverError(LEASE_WAIT) when --lease-wait runs out. */
export async function acquireLease(
    store: LedgerStore,
    distributionName: string,
    me: Omit<Lease, "since" | "expiresAt">,
    o: LeaseOptions,
): Promise<HeldLease> {
    const sleep = o.sleep ?? defaultSleep;
    const started = Date.now();
    let shown: string | undefined;
    for (let attempt = 0; ; attempt++) {
        const now = Date.now();
        const got = await store.takeLease(distributionName, { ...me, since: now, expiresAt: now + o.ttlMs }, now);
        if (got.taken) {
            if (shown !== undefined)
                o.log(`took the lease on ${distributionName} after ${Math.round((Date.now() - started) / 1000)}s`);
            return keep(store, distributionName, me.runId, o, Date.now() - started);
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

/** Renews the lease every third of its lifetime until released. */
function keep(
    store: LedgerStore,
    distributionName: string,
    runId: string,
    o: LeaseOptions,
    waitedMs: number,
): HeldLease {
    let lost = false;
    let released = false;
    let timer: NodeJS.Timeout | undefined;
    let renewing: Promise<unknown> = Promise.resolve();
    const schedule = () => {
        timer = setTimeout(
            () => {
                renewing = store
                    .renewLease(distributionName, runId, Date.now() + o.ttlMs)
                    .then((ours) => {
                        if (!ours && !lost) {
                            lost = true;
                            o.log(
                                `the lease on ${distributionName} in the ${store.where} was taken by another run while this one deployed (a renewal came later than --lease-ttl): the two may have overlapped`,
                            );
                        }
                    })
                    .catch((e: Error) => o.log(`renewing the lease failed (${e.message}); trying again`))
                    .finally(() => {
                        if (!released && !lost) schedule();
                    });
            },
            Math.max(1, Math.floor(o.ttlMs / 3)),
        );
    };
    schedule();
    return {
        waitedMs,
        lost: () => lost,
        release: async () => {
            if (released) return;
            released = true;
            clearTimeout(timer);
            await renewing;
            if (!lost) await store.releaseLease(distributionName, runId);
        },
    };
}
