// An in-memory deployment ledger with the DynamoDB adapter's semantics (automation/ledgerDynamo.ts):
// runs are only added, the lease is taken only when free, expired or already the caller's, and
// renewed or released only by its holder. The unit tests' fake AWS hands out one per table; the
// end-to-end tests run the real adapter against the emulator.

import { LeaseNotHeld, LedgerUnavailable } from "../../automation/errors";
import { counts } from "../../automation/ledgerRules";
import type { HeldAs, Hold, Lease, LedgerHead, LedgerRun, LedgerStore } from "../../automation/ledgerTypes";

/** One table's entries, shared by every store made for it. */
export interface FakeTable {
    runs: LedgerRun[];
    lease?: Lease;
    /** The head on the lease's row (ledgerTypes.ts's LedgerHead). */
    head?: LedgerHead;
    holds: Map<string, Hold>;
    /** Every call, in order: `<op> <distribution>`. */
    calls: string[];
}

export function fakeTable(): FakeTable {
    return { runs: [], holds: new Map(), calls: [] };
}

/**
 * Changes the newest run's row as if another clone's deploy had recorded it so (a commit this clone
 * lacks, a result), and the lease's head with it, as that deploy's settle would have left it.
 */
export function rewriteNewest(table: FakeTable, patch: Partial<LedgerRun>): void {
    const [newest] = [...table.runs].sort((a, b) => (a.entry < b.entry ? 1 : -1));
    Object.assign(newest, patch);
    const counting = [...table.runs].sort((a, b) => (a.entry < b.entry ? 1 : -1)).find(counts);
    if (table.head) table.head = { ...table.head, newest: counting && structuredClone(counting) };
}

export function fakeLedger(table: FakeTable, where: string): LedgerStore {
    const call = (op: string, d: string) => table.calls.push(`${op} ${d}`);
    /** The hold as run `by` read it: not put again since, and in force or released by `by` itself. */
    const asRead = (h: HeldAs, by: string) => {
        const now = table.holds.get(h.digest);
        return now !== undefined && now.heldAt === h.heldAt && (now.releasedAt === undefined || now.releasedBy === by);
    };
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
        recordRun: async (run, head, hold) => {
            call("recordRun", run.distributionName);
            if (table.lease?.runId !== run.runId) throw new LeaseNotHeld("the lease is not this run's");
            const same = table.runs.find((r) => r.entry === run.entry);
            if (same && same.runId !== run.runId) throw new LedgerUnavailable("another run's record has its key");
            if (!same) table.runs.push({ ...run });
            if (hold) table.holds.set(hold.digest, { ...hold });
            table.head = structuredClone(head);
        },
        completeRun: async (d, entry, end) => {
            call("completeRun", d);
            const r = table.runs.find((x) => x.entry === entry && x.distributionName === d);
            if (!r) throw new Error("ConditionalCheckFailedException");
            Object.assign(r, end);
        },
        settleRun: async (run, end, lifted, head) => {
            call("settleRun", run.distributionName);
            if (table.lease?.runId !== run.runId) return false;
            const r = table.runs.find((x) => x.entry === run.entry && x.distributionName === run.distributionName);
            if (!r || lifted.some((h) => !asRead(h, run.runId)))
                throw new LedgerUnavailable("missing row, or a hold changed");
            Object.assign(r, end);
            for (const h of lifted)
                Object.assign(table.holds.get(h.digest) as Hold, { releasedAt: end.endedAt, releasedBy: run.runId });
            table.lease.expiresAt = 0;
            table.head = structuredClone(head);
            return true;
        },
        takeLease: async (d, lease, now) => {
            call("takeLease", d);
            const l = table.lease;
            if (!l || l.expiresAt < now || l.runId === lease.runId) {
                const previous = l && {
                    expiresAt: l.expiresAt,
                    ...(table.head ? { head: structuredClone(table.head) } : {}),
                };
                table.lease = { ...lease };
                return { taken: true, ...(previous ? { previous } : {}) };
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
        releaseHold: async (d, hold, by, at) => {
            call("releaseHold", d);
            if (!asRead(hold, by)) return false;
            Object.assign(table.holds.get(hold.digest) as Hold, { releasedAt: at, releasedBy: by });
            return true;
        },
    };
}
