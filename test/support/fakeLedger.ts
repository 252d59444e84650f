// An in-memory deployment ledger with the DynamoDB adapter's semantics (automation/ledgerDynamo.ts):
// runs are only added, the lease is taken only when free, expired or already the caller's, and
// renewed or released only by its holder. The unit tests' fake AWS hands out one per table; the
// end-to-end tests run the real adapter against the emulator.

import type { Hold, Lease, LedgerRun, LedgerStore } from "../../automation/ledgerTypes";

/** One table's entries, shared by every store made for it. */
export interface FakeTable {
    runs: LedgerRun[];
    lease?: Lease;
    holds: Map<string, Hold>;
    /** Every call, in order: `<op> <distribution>`. */
    calls: string[];
}

export function fakeTable(): FakeTable {
    return { runs: [], holds: new Map(), calls: [] };
}

export function fakeLedger(table: FakeTable, where: string): LedgerStore {
    const call = (op: string, d: string) => table.calls.push(`${op} ${d}`);
    const newestFirst = (d: string) =>
        table.runs.filter((r) => r.distributionName === d).sort((a, b) => (a.entry < b.entry ? 1 : -1));
    return {
        where,
        runs: async (d, limit) => {
            call("runs", d);
            return newestFirst(d).slice(0, limit);
        },
        findRun: async (d, match) => {
            call("findRun", d);
            return newestFirst(d).find(match);
        },
        putRun: async (run) => {
            call("putRun", run.distributionName);
            const same = table.runs.find((r) => r.entry === run.entry);
            if (same && same.runId !== run.runId) throw new Error("ConditionalCheckFailedException");
            if (!same) table.runs.push({ ...run });
        },
        completeRun: async (d, entry, end) => {
            call("completeRun", d);
            const r = table.runs.find((x) => x.entry === entry && x.distributionName === d);
            if (!r) throw new Error("ConditionalCheckFailedException");
            Object.assign(r, end);
        },
        takeLease: async (d, lease, now) => {
            call("takeLease", d);
            const l = table.lease;
            if (!l || l.expiresAt < now || l.runId === lease.runId) {
                table.lease = { ...lease };
                return { taken: true };
            }
            return { taken: false, holder: { ...l } };
        },
        renewLease: async (d, runId, expiresAt) => {
            call("renewLease", d);
            if (table.lease?.runId !== runId) return false;
            table.lease.expiresAt = expiresAt;
            return true;
        },
        releaseLease: async (d, runId) => {
            call("releaseLease", d);
            if (table.lease?.runId === runId) table.lease.expiresAt = 0;
        },
        holds: async (d) => {
            call("holds", d);
            return [...table.holds.values()].filter((h) => h.releasedAt === undefined).map((h) => ({ ...h }));
        },
        putHold: async (d, hold) => {
            call("putHold", d);
            table.holds.set(hold.digest, { ...hold });
        },
        releaseHold: async (d, digest, by, at) => {
            call("releaseHold", d);
            const h = table.holds.get(digest);
            if (!h) throw new Error("ConditionalCheckFailedException");
            Object.assign(h, { releasedAt: at, releasedBy: by });
        },
    };
}
