/**
 * The DynamoDB adapter of the deployment ledger (ledgerTypes.ts's LedgerStore) behind the AWS port
 * (aws.ts). Every write is conditional, or made in a transaction that is, and safe to retry: a run
 * is only added (or re-added by the same run), with its rollback's hold and the lease's head only
 * while the run holds the lease; the lease is only taken when free, expired or already ours, and
 * only renewed, released or given a head while it is ours; a hold is released only as it was read.
 * A transaction's retry carries its first request token. Nothing is ever deleted (the table's
 * resource policy forbids it).
 *
 * Rows are read field by field: a row missing a field, or with one of the wrong type, is left out
 * (and so never vouches for anything), as Attini's rows are in dynamodb.ts.
 */
import { randomUUID } from "node:crypto";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { LEDGER_PARTITION_KEY as PK, LEDGER_SORT_KEY as SK } from "../lib/ledger";
import {
    type AwsContext,
    callAws,
    DeadlineExceeded,
    deadlineMessage,
    describeError,
    type TemporaryCredentials,
} from "./awsCall";
import { MAX_DATE_MS } from "./deployments";
import { keptClient } from "./dynamoClients";
import { LeaseNotHeld, LedgerUnavailable } from "./errors";
import type { HeldAs, Hold, Lease, LedgerHead, LedgerRun, LedgerStore, PreviousLease, RunResult } from "./ledgerTypes";

type Item = Record<string, AttributeValue>;
/** How many runs a search reads at most before it refuses (a bound on every ledger search). */
export const MAX_RUNS_SEARCHED = 2000;
const NEVER = () => false;
/**
 * How many rollback holds (each is one rollback, in force or released) the search for those in
 * force reads at most; more refuses rather than guess. DynamoDB passes over released ones itself,
 * so a deploy pays one query per megabyte of holds.
 */
export const MAX_HOLDS_SCANNED = 200_000;
const RESULTS: readonly RunResult[] = ["started", "deployed", "failed", "timed-out", "interrupted"];

const str = (item: Item, k: string) => (item[k] && "S" in item[k] ? item[k].S : undefined);
/** A time (every number the ledger keeps is one): whole ms that a Date can hold, else absent. */
const num = (item: Item, k: string) => {
    const v = item[k] && "N" in item[k] ? Number(item[k].N) : undefined;
    return v !== undefined && Number.isSafeInteger(v) && v >= 0 && v <= MAX_DATE_MS ? v : undefined;
};
const S = (v: string): AttributeValue => ({ S: v });
const N = (v: number): AttributeValue => ({ N: String(v) });
/** Optional string attributes: absent, not empty (DynamoDB keeps no empty key values; this keeps rows uniform). */
const optional = (o: Record<string, string | undefined>): Item =>
    Object.fromEntries(Object.entries(o).flatMap(([k, v]) => (v ? [[k, S(v)]] : [])));

/** A run row, or undefined when it is not one the driver wrote. */
export function runOf(item: Item): LedgerRun | undefined {
    const need = ["entry", "runId", "environment", "distributionName", "commit", "branch", "digest", "sha256"];
    const sOf = Object.fromEntries(need.map((k) => [k, str(item, k)]));
    const startedAt = num(item, "startedAt");
    const result = str(item, "result") as RunResult | undefined;
    if (need.some((k) => !sOf[k]) || startedAt === undefined || !result || !RESULTS.includes(result)) return undefined;
    const fromCommit = str(item, "rollbackFromCommit");
    const fromDigest = str(item, "rollbackFromDigest");
    const breakGlass = str(item, "breakGlass");
    return {
        entry: sOf.entry as string,
        runId: sOf.runId as string,
        environment: sOf.environment as string,
        distributionName: sOf.distributionName as string,
        commit: sOf.commit as string,
        branch: sOf.branch as string,
        digest: sOf.digest as string,
        sha256: sOf.sha256 as string,
        distributionId: str(item, "distributionId"),
        ciSystem: str(item, "ciSystem") ?? "unknown",
        runUrl: str(item, "runUrl"),
        sessionName: str(item, "sessionName") ?? "",
        sourceIdentity: str(item, "sourceIdentity") ?? "",
        startedAt,
        endedAt: num(item, "endedAt"),
        attiniTime: num(item, "attiniTime"),
        result,
        ...(fromCommit && fromDigest ? { rollbackFrom: { commit: fromCommit, digest: fromDigest } } : {}),
        ...(breakGlass ? { breakGlass } : {}),
    };
}

/** A run's row (the head's copy of a run is the same attributes). */
export function runItem(r: LedgerRun): Item {
    return {
        [PK]: S(r.distributionName),
        [SK]: S(r.entry),
        runId: S(r.runId),
        environment: S(r.environment),
        distributionName: S(r.distributionName),
        commit: S(r.commit),
        branch: S(r.branch),
        digest: S(r.digest),
        sha256: S(r.sha256),
        ciSystem: S(r.ciSystem),
        sessionName: S(r.sessionName),
        sourceIdentity: S(r.sourceIdentity),
        startedAt: N(r.startedAt),
        result: S(r.result),
        ...(r.endedAt !== undefined ? { endedAt: N(r.endedAt) } : {}),
        ...(r.attiniTime !== undefined ? { attiniTime: N(r.attiniTime) } : {}),
        ...optional({
            distributionId: r.distributionId,
            runUrl: r.runUrl,
            rollbackFromCommit: r.rollbackFrom?.commit,
            rollbackFromDigest: r.rollbackFrom?.digest,
            breakGlass: r.breakGlass,
        }),
    };
}

export function leaseOf(item: Item | undefined): Lease | undefined {
    if (!item) return undefined;
    const runId = str(item, "runId");
    const commit = str(item, "commit");
    const since = num(item, "since");
    const expiresAt = num(item, "expiresAt");
    if (!runId || !commit || since === undefined || expiresAt === undefined) return undefined;
    return {
        runId,
        commit,
        ciSystem: str(item, "ciSystem") ?? "unknown",
        runUrl: str(item, "runUrl"),
        since,
        expiresAt,
    };
}

/** The head's version: a row with another (or none) is not trusted, and the runs are read instead. */
const HEAD_VERSION = 1;

/** The lease row's head attribute: the newest run that counts (a run row's attributes) and the holds in force. */
function headValue(h: LedgerHead): AttributeValue {
    return {
        M: {
            v: N(HEAD_VERSION),
            holds: N(h.holds),
            ...(h.newest ? { newest: { M: runItem(h.newest) } } : {}),
        },
    };
}

/** The head a lease row carries, or undefined when it has none the driver can read (then the runs are read). */
export function headOf(v: AttributeValue | undefined): LedgerHead | undefined {
    const m = v && "M" in v ? v.M : undefined;
    if (!m || num(m, "v") !== HEAD_VERSION) return undefined;
    const holds = num(m, "holds");
    if (holds === undefined) return undefined;
    if (m.newest === undefined) return { holds };
    const newest = "M" in m.newest && m.newest.M ? runOf(m.newest.M) : undefined;
    return newest ? { newest, holds } : undefined;
}

function holdOf(item: Item): Hold | undefined {
    const digest = str(item, "digest");
    const commit = str(item, "commit");
    const heldAt = num(item, "heldAt");
    const heldBy = str(item, "heldBy");
    if (!digest || !commit || heldAt === undefined || !heldBy) return undefined;
    return { digest, commit, heldAt, heldBy, releasedAt: num(item, "releasedAt"), releasedBy: str(item, "releasedBy") };
}

/** Whether a DynamoDB error is a failed condition (someone else holds the lease, say). */
const conditionFailed = (e: unknown) => /ConditionalCheckFailed/.test(describeError(e));

/**
 * Why each action of a cancelled transaction was refused, by index ("None" for those that were
 * not): from the error's CancellationReasons, or (an emulator that gives none) the list in its
 * message. Undefined when the transaction was not cancelled.
 */
function cancellationCodes(e: unknown): string[] | undefined {
    if (!/TransactionCanceled/.test(describeError(e))) return undefined;
    const reasons = (e as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
    return reasons?.map((r) => r.Code ?? "None") ?? /\[([^\]]*)\]/.exec((e as Error).message)?.[1]?.split(/,\s*/) ?? [];
}

/** How many times a transaction is sent again (againAs), within its step. */
const TRANSACTION_RETRIES = 4;

/**
 * Whether a transaction that failed is tried again, and how: "new" when it was cancelled for a
 * passing reason only (another write to one of its items under way, or throttling: nothing was
 * written), as a new request; "same" when DynamoDB is still carrying out the first send of its
 * request token (an answer lost, then a quick retry), with that token again; undefined: not.
 */
function againAs(err: unknown): "new" | "same" | undefined {
    if (/TransactionInProgress/.test(describeError(err))) return "same";
    const codes = cancellationCodes(err);
    const passing = (c: string) =>
        /TransactionConflict|Throttling|ProvisionedThroughputExceeded|RequestLimitExceeded/.test(c);
    return codes?.some(passing) && codes.every((c) => c === "None" || passing(c)) ? "new" : undefined;
}

/** Most actions in one transaction that settleRun gives to lifted holds (DynamoDB allows 100 in all). */
const HOLDS_PER_SETTLE = 90;

/** A ledger call that failed: what to fix (pulumi up for a missing table or permission), never "passed". */
function ledgerError(err: unknown, what: string, where: string, ctx: AwsContext): LedgerUnavailable {
    if (err instanceof DeadlineExceeded) return new LedgerUnavailable(`${what}: ${deadlineMessage(err, ctx.deadline)}`);
    const name = describeError(err);
    const msg = (err as Error).message;
    if (/ResourceNotFound/.test(name))
        return new LedgerUnavailable(
            `${what}: the ${where} does not exist (${name}: ${msg}). Run \`pulumi up\` for that stack: it creates the ledger.`,
        );
    if (/AccessDenied/.test(name))
        return new LedgerUnavailable(
            `${what}: the role may not use the ${where} (${name}: ${msg}). Run \`pulumi up\` for that stack so that its roles have the ledger's policies.`,
        );
    return new LedgerUnavailable(`${what} failed on the ${where}: ${name}: ${msg}.`);
}

type Ddb = typeof import("@aws-sdk/client-dynamodb");
type Client = import("@aws-sdk/client-dynamodb").DynamoDBClient;
type Send<O> = (ddb: Ddb, client: Client, signal: AbortSignal) => Promise<O>;

/** The ledger in one table: each method one conditional write, one transaction or one paged read (settleRun: one transaction, and a release per hold past what one takes). */
class DynamoLedger implements LedgerStore {
    readonly where: string;

    constructor(
        private readonly table: string,
        account: string,
        private readonly step: () => AwsContext,
        private readonly credentials: () => Promise<TemporaryCredentials>,
    ) {
        this.where = `ledger ${table} in account ${account}`;
    }

    /** One call within a fresh step; a failed condition is rethrown as it is, anything else explained. */
    private async call<O>(what: string, send: Send<O>): Promise<O> {
        const ddb = await import("@aws-sdk/client-dynamodb");
        const ctx = this.step();
        // Outside the try: a role that cannot be assumed says so itself, not as a ledger failure.
        const creds = await this.credentials();
        try {
            return await callAws(
                ctx,
                `${what} (${this.where})`,
                creds,
                // One client for these credentials, kept for the deploy's calls (dynamoClients.ts).
                (config) => keptClient(ddb, creds, config),
                (shell, signal) => send(ddb, shell.client, signal),
            );
        } catch (err) {
            if (conditionFailed(err) || cancellationCodes(err)) throw err;
            throw ledgerError(err, what, this.where, ctx);
        }
    }

    /** A conditional write: false when its condition failed (someone else's lease, say). */
    private async conditional(what: string, send: Send<unknown>): Promise<boolean> {
        try {
            await this.call(what, send);
            return true;
        } catch (err) {
            if (conditionFailed(err)) return false;
            throw err;
        }
    }

    private key(distribution: string, entry: string): Item {
        return { [PK]: S(distribution), [SK]: S(entry) };
    }

    /**
     * The rows under `prefix`, newest first, a page at a time, each handed to `take` until it says
     * stop or `max` rows are read; true when rows were left unread. With `filter`, DynamoDB passes
     * over the rows it rejects (they count as read, a full page at a time).
     */
    private pages(
        what: string,
        distribution: string,
        prefix: string,
        max: number,
        take: (item: Item) => boolean,
        filter?: string,
    ) {
        return this.call(what, async (ddb, client, abortSignal) => {
            let start: Item | undefined;
            let read = 0;
            do {
                const page: import("@aws-sdk/client-dynamodb").QueryCommandOutput = await client.send(
                    new ddb.QueryCommand({
                        TableName: this.table,
                        KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
                        ...(filter ? { FilterExpression: filter } : { Limit: Math.min(100, max - read) }),
                        ExpressionAttributeNames: { "#pk": PK, "#sk": SK },
                        ExpressionAttributeValues: { ":pk": S(distribution), ":prefix": S(prefix) },
                        ScanIndexForward: false,
                        ConsistentRead: true,
                        ExclusiveStartKey: start,
                    }),
                    { abortSignal },
                );
                const items = page.Items ?? [];
                for (const item of items) {
                    read++;
                    if (take(item)) return false;
                }
                // The rows a filter passed over count too, and a page at least one, so that reading ends.
                if (filter) read += Math.max((page.ScannedCount ?? 0) - items.length, items.length === 0 ? 1 : 0);
                start = page.LastEvaluatedKey;
            } while (start && read < max);
            return start !== undefined;
        });
    }

    /**
     * Runs newest first until `match` accepts one (returned last) or `limit` are read. A search
     * that reaches the limit before the end of the history refuses: it cannot tell.
     */
    private async scanRuns(distribution: string, match: (r: LedgerRun) => boolean, limit: number) {
        const found: LedgerRun[] = [];
        let matched = false;
        const left = await this.pages("reading the recorded runs", distribution, "run#", limit, (item) => {
            const r = runOf(item);
            if (!r || r.distributionName !== distribution) return false;
            found.push(r);
            matched = match(r);
            return matched;
        });
        if (left && match !== NEVER)
            throw new LedgerUnavailable(
                `searched the newest ${limit} runs of ${distribution} in the ${this.where} without finding the one asked for; the rest is not read.`,
            );
        return matched || match === NEVER ? found : [];
    }

    runs(distribution: string, limit: number): Promise<LedgerRun[]> {
        return this.scanRuns(distribution, NEVER, limit);
    }

    async findRun(distribution: string, match: (r: LedgerRun) => boolean): Promise<LedgerRun | undefined> {
        return (await this.scanRuns(distribution, match, MAX_RUNS_SEARCHED)).at(-1);
    }

    /** The lease row's update that only its holder may make: the head set (and, settling, the lease let go). */
    private leaseUpdate(distribution: string, runId: string, head: LedgerHead, release: boolean) {
        return {
            Update: {
                TableName: this.table,
                Key: this.key(distribution, "lease"),
                UpdateExpression: `SET head = :head${release ? ", expiresAt = :zero" : ""}`,
                ConditionExpression: "runId = :me",
                ExpressionAttributeValues: {
                    ":head": headValue(head),
                    ":me": S(runId),
                    ...(release ? { ":zero": N(0) } : {}),
                },
            },
        };
    }

    /**
     * One transaction, within one step (--aws-timeout); which of its actions failed their condition
     * (undefined: it was written). It carries a request token of its own, the same on every retry
     * after a failure that may have been written all the same (an answer lost, a 5xx): DynamoDB
     * then answers as it did the first time, and never applies it twice (one still in progress is
     * sent again with it, after a pause). One cancelled for a passing reason (a concurrent write to
     * one of its items, throttling: nothing was written) is tried again as a new request. A few
     * times, with backoff (againAs).
     */
    private async transact(
        what: string,
        items: import("@aws-sdk/client-dynamodb").TransactWriteItem[],
    ): Promise<boolean[] | undefined> {
        let token = randomUUID();
        try {
            await this.call(what, async (ddb, client, abortSignal) => {
                for (let again = 0; ; again++) {
                    try {
                        const command = new ddb.TransactWriteItemsCommand({
                            TransactItems: items,
                            ClientRequestToken: token,
                        });
                        return await client.send(command, { abortSignal });
                    } catch (err) {
                        const next = againAs(err);
                        if (!next || again >= TRANSACTION_RETRIES) throw err;
                        // Cancelled (nothing written): a new request. Still in progress: the same one.
                        if (next === "new") token = randomUUID();
                        await new Promise((r) => setTimeout(r, 50 * 2 ** again * (1 + Math.random())));
                    }
                }
            });
            return undefined;
        } catch (err) {
            const codes = cancellationCodes(err);
            if (!codes) throw err;
            const failed = codes.map((c) => /ConditionalCheckFailed/.test(c));
            if (failed.some(Boolean)) return failed;
            throw new LedgerUnavailable(
                `${what} failed on the ${this.where}: the transaction was cancelled (${codes.join(", ")}); nothing was written.`,
            );
        }
    }

    async recordRun(run: LedgerRun, head: LedgerHead, hold?: Hold): Promise<void> {
        const failed = await this.transact("recording the run", [
            {
                Put: {
                    TableName: this.table,
                    Item: runItem(run),
                    ConditionExpression: "attribute_not_exists(#sk) OR runId = :me",
                    ExpressionAttributeNames: { "#sk": SK },
                    ExpressionAttributeValues: { ":me": S(run.runId) },
                },
            },
            ...(hold
                ? [
                      {
                          Put: {
                              TableName: this.table,
                              Item: {
                                  ...this.key(run.distributionName, `hold#${hold.digest}`),
                                  digest: S(hold.digest),
                                  commit: S(hold.commit),
                                  heldAt: N(hold.heldAt),
                                  heldBy: S(hold.heldBy),
                              },
                          },
                      },
                  ]
                : []),
            this.leaseUpdate(run.distributionName, run.runId, head, false),
        ]);
        if (failed === undefined) return;
        if (failed.at(-1))
            throw new LeaseNotHeld(
                `recording the run in the ${this.where}: this run no longer holds the lease (another run took it after it expired), so nothing was recorded and attini was not run. Run the deploy again.`,
            );
        throw new LedgerUnavailable(
            `recording the run in the ${this.where}: another run's record has its key (${run.entry}); nothing was recorded. Run the deploy again.`,
        );
    }

    async completeRun(
        distribution: string,
        entry: string,
        end: { result: RunResult; endedAt: number; attiniTime?: number },
    ): Promise<void> {
        await this.call("completing the run's record", (ddb, client, abortSignal) =>
            client.send(new ddb.UpdateItemCommand(this.completion(distribution, entry, end)), { abortSignal }),
        );
    }

    /** The update that completes a run's record: its result and end (and Attini's deployment, when found). */
    private completion(
        distribution: string,
        entry: string,
        end: { result: RunResult; endedAt: number; attiniTime?: number },
    ) {
        const attini = end.attiniTime !== undefined;
        return {
            TableName: this.table,
            Key: this.key(distribution, entry),
            UpdateExpression: `SET #result = :result, endedAt = :end${attini ? ", attiniTime = :attini" : ""}`,
            ConditionExpression: "attribute_exists(#sk)",
            ExpressionAttributeNames: { "#result": "result", "#sk": SK },
            ExpressionAttributeValues: {
                ":result": S(end.result),
                ":end": N(end.endedAt),
                ...(attini ? { ":attini": N(end.attiniTime as number) } : {}),
            },
        };
    }

    /** The update that marks a hold released, by which run and when: only the hold as it was read, still in force. */
    private holdRelease(distribution: string, hold: HeldAs, by: string, at: number) {
        return {
            TableName: this.table,
            Key: this.key(distribution, `hold#${hold.digest}`),
            UpdateExpression: "SET releasedAt = :at, releasedBy = :by",
            // Released by this run already (a retry, or a settle that landed and then failed) counts.
            ConditionExpression: "heldAt = :heldAt AND (attribute_not_exists(releasedAt) OR releasedBy = :by)",
            ExpressionAttributeValues: { ":at": N(at), ":by": S(by), ":heldAt": N(hold.heldAt) },
        };
    }

    async settleRun(
        run: Pick<LedgerRun, "distributionName" | "entry" | "runId">,
        end: { result: RunResult; endedAt: number; attiniTime?: number },
        lifted: readonly HeldAs[],
        head: LedgerHead,
    ): Promise<boolean> {
        const d = run.distributionName;
        // More holds than one transaction takes: the rest are released first, which leaves the
        // head naming this run `started` (never trusted) if the transaction then fails.
        const alone = lifted.slice(HOLDS_PER_SETTLE);
        const freed = await Promise.all(alone.map((hold) => this.releaseHold(d, hold, run.runId, end.endedAt)));
        if (freed.includes(false))
            throw new LedgerUnavailable(
                `releasing the holds this run lifts in the ${this.where}: one was released or put again since it was read; nothing more was written.`,
            );
        const failed = await this.transact("completing the run's record and releasing the lease", [
            { Update: this.completion(d, run.entry, end) },
            ...lifted
                .slice(0, HOLDS_PER_SETTLE)
                .map((hold) => ({ Update: this.holdRelease(d, hold, run.runId, end.endedAt) })),
            this.leaseUpdate(d, run.runId, head, true),
        ]);
        if (failed === undefined) return true;
        if (failed.at(-1)) return false;
        throw new LedgerUnavailable(
            `completing the run's record in the ${this.where}: its row (${run.entry}) is missing, or a hold it lifts was released or put again since it was read; nothing was written.`,
        );
    }

    async takeLease(distribution: string, lease: Lease, now: number) {
        let previous: PreviousLease | undefined;
        const taken = await this.conditional("taking the lease", async (ddb, client, abortSignal) => {
            // An update, not a put: the head the last holder left stays on the row, and the row as it
            // was comes back with the take (ALL_OLD), a snapshot at the moment the lease was taken.
            const set = "SET #runId = :me, #commit = :commit, #ci = :ci, #since = :since, #exp = :exp";
            const out = await client.send(
                new ddb.UpdateItemCommand({
                    TableName: this.table,
                    Key: this.key(distribution, "lease"),
                    UpdateExpression: lease.runUrl ? `${set}, #url = :url` : `${set} REMOVE #url`,
                    ConditionExpression: "attribute_not_exists(#sk) OR #exp < :now OR #runId = :me",
                    ExpressionAttributeNames: {
                        "#sk": SK,
                        "#runId": "runId",
                        "#commit": "commit",
                        "#ci": "ciSystem",
                        "#since": "since",
                        "#exp": "expiresAt",
                        "#url": "runUrl",
                    },
                    ExpressionAttributeValues: {
                        ":me": S(lease.runId),
                        ":commit": S(lease.commit),
                        ":ci": S(lease.ciSystem),
                        ":since": N(lease.since),
                        ":exp": N(lease.expiresAt),
                        ":now": N(now),
                        ...(lease.runUrl ? { ":url": S(lease.runUrl) } : {}),
                    },
                    ReturnValues: "ALL_OLD",
                }),
                { abortSignal },
            );
            // No row before (an emulator may answer with an empty or key-only one): no previous lease.
            const expiresAt = out.Attributes && num(out.Attributes, "expiresAt");
            if (expiresAt !== undefined) previous = { expiresAt, head: headOf(out.Attributes?.head) };
        });
        if (taken) return { taken: true as const, ...(previous ? { previous } : {}) };
        const held = await this.call("reading the lease", (ddb, client, abortSignal) =>
            client.send(
                new ddb.GetItemCommand({
                    TableName: this.table,
                    Key: this.key(distribution, "lease"),
                    ConsistentRead: true,
                }),
                { abortSignal },
            ),
        );
        return { taken: false as const, holder: leaseOf(held.Item) };
    }

    /** Sets the lease's expiry while it is still `runId`'s. */
    private setExpiry(what: string, distribution: string, runId: string, expiresAt: number): Promise<boolean> {
        return this.conditional(what, (ddb, client, abortSignal) =>
            client.send(
                new ddb.UpdateItemCommand({
                    TableName: this.table,
                    Key: this.key(distribution, "lease"),
                    UpdateExpression: "SET expiresAt = :exp",
                    ConditionExpression: "runId = :me",
                    ExpressionAttributeValues: { ":exp": N(expiresAt), ":me": S(runId) },
                }),
                { abortSignal },
            ),
        );
    }

    renewLease(distribution: string, runId: string, expiresAt: number): Promise<boolean> {
        return this.setExpiry("renewing the lease", distribution, runId, expiresAt);
    }

    async releaseLease(distribution: string, runId: string): Promise<void> {
        // No longer ours (the condition fails): nothing to release.
        await this.setExpiry("releasing the lease", distribution, runId, 0);
    }

    /** The holds in force (released ones stay in the table, and are not returned). */
    async holds(distribution: string): Promise<Hold[]> {
        // Every page: a hold in force that went unread would let held content deploy.
        const found: Hold[] = [];
        const left = await this.pages(
            "reading the rollback holds",
            distribution,
            "hold#",
            MAX_HOLDS_SCANNED,
            (item) => {
                const h = holdOf(item);
                if (h && h.releasedAt === undefined) found.push(h);
                return false;
            },
            "attribute_not_exists(releasedAt)",
        );
        if (left)
            throw new LedgerUnavailable(
                `${distribution} has more than ${MAX_HOLDS_SCANNED} rollback holds in the ${this.where}; they are not all read, so whether this content is held cannot be told.`,
            );
        return found;
    }

    releaseHold(distribution: string, hold: HeldAs, by: string, at: number): Promise<boolean> {
        return this.conditional("releasing a rollback hold", (ddb, client, abortSignal) =>
            client.send(new ddb.UpdateItemCommand(this.holdRelease(distribution, hold, by, at)), { abortSignal }),
        );
    }
}

/** The ledger `table` in `account`, reached with `credentials()` (fresh enough for each call) within `step()` limits. */
export function dynamoLedger(
    table: string,
    account: string,
    step: () => AwsContext,
    credentials: () => Promise<TemporaryCredentials>,
): LedgerStore {
    return new DynamoLedger(table, account, step, credentials);
}
