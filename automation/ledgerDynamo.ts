/**
 * The DynamoDB adapter of the deployment ledger (ledgerTypes.ts's LedgerStore) behind the AWS port
 * (aws.ts). Every write is conditional and safe to retry: a run is only added (or re-added by the
 * same run), the lease is only taken when free, expired or already ours, and only renewed or
 * released while it is ours. Nothing is ever deleted (the table's resource policy forbids it).
 *
 * Rows are read field by field: a row missing a field, or with one of the wrong type, is left out
 * (and so never vouches for anything), as Attini's rows are in dynamodb.ts.
 */
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
import { LedgerUnavailable } from "./errors";
import type { Hold, Lease, LedgerRun, LedgerStore, RunResult } from "./ledgerTypes";

type Item = Record<string, AttributeValue>;
/** How many runs a search reads at most before it refuses (a bound on every ledger search). */
export const MAX_RUNS_SEARCHED = 2000;
const NEVER = () => false;
/** How many rollback holds are read at most (each is one rollback); more refuses rather than guess. */
export const MAX_HOLDS_READ = 5000;
const RESULTS: readonly RunResult[] = ["started", "deployed", "failed", "timed-out", "interrupted"];

const str = (item: Item, k: string) => (item[k] && "S" in item[k] ? item[k].S : undefined);
const num = (item: Item, k: string) => {
    const v = item[k] && "N" in item[k] ? Number(item[k].N) : undefined;
    return v !== undefined && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
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
    };
}

function runItem(r: LedgerRun): Item {
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
        ...optional({
            distributionId: r.distributionId,
            runUrl: r.runUrl,
            rollbackFromCommit: r.rollbackFrom?.commit,
            rollbackFromDigest: r.rollbackFrom?.digest,
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

/** The ledger `table` in `region`, reached with `credentials()` (fresh enough for each call) within `step()` limits. */
export function dynamoLedger(
    table: string,
    account: string,
    step: () => AwsContext,
    credentials: () => Promise<TemporaryCredentials>,
): LedgerStore {
    const where = `ledger ${table} in account ${account}`;
    const call = async <O>(
        what: string,
        send: (
            ddb: typeof import("@aws-sdk/client-dynamodb"),
            client: import("@aws-sdk/client-dynamodb").DynamoDBClient,
            signal: AbortSignal,
        ) => Promise<O>,
    ): Promise<O> => {
        const ddb = await import("@aws-sdk/client-dynamodb");
        const ctx = step();
        // Outside the try: a role that cannot be assumed says so itself, not as a ledger failure.
        const creds = await credentials();
        try {
            return await callAws(
                ctx,
                `${what} (${where})`,
                creds,
                (config) => new ddb.DynamoDBClient(config),
                (client, signal) => send(ddb, client, signal),
            );
        } catch (err) {
            if (conditionFailed(err)) throw err;
            throw ledgerError(err, what, where, ctx);
        }
    };
    const key = (distribution: string, entry: string) => ({ [PK]: S(distribution), [SK]: S(entry) });
    const query = (
        ddb: typeof import("@aws-sdk/client-dynamodb"),
        distribution: string,
        prefix: string,
        limit: number,
        start?: Item,
    ) =>
        new ddb.QueryCommand({
            TableName: table,
            KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
            ExpressionAttributeNames: { "#pk": PK, "#sk": SK },
            ExpressionAttributeValues: { ":pk": S(distribution), ":prefix": S(prefix) },
            ScanIndexForward: false,
            ConsistentRead: true,
            Limit: limit,
            ExclusiveStartKey: start,
        });
    /**
     * Runs newest first, a page at a time, until `match` accepts one (returned last) or `limit` are
     * read. A search that reaches the limit before the end of the history refuses: it cannot tell.
     */
    const scanRuns = (distribution: string, match: (r: LedgerRun) => boolean, limit: number) =>
        call("reading the recorded runs", async (ddb, client, abortSignal) => {
            const found: LedgerRun[] = [];
            let start: Item | undefined;
            let read = 0;
            do {
                const page: import("@aws-sdk/client-dynamodb").QueryCommandOutput = await client.send(
                    query(ddb, distribution, "run#", Math.min(100, limit - read), start),
                    { abortSignal },
                );
                for (const item of page.Items ?? []) {
                    read++;
                    const r = runOf(item);
                    if (!r || r.distributionName !== distribution) continue;
                    found.push(r);
                    if (match(r)) return found;
                }
                start = page.LastEvaluatedKey;
            } while (start && read < limit);
            if (start && limit === MAX_RUNS_SEARCHED)
                throw new LedgerUnavailable(
                    `searched the newest ${limit} runs of ${distribution} in the ${where} without finding the one asked for; the rest is not read.`,
                );
            return match === NEVER ? found : [];
        });
    return {
        where,
        runs: (distribution, limit) => scanRuns(distribution, NEVER, limit),
        findRun: async (distribution, match) => (await scanRuns(distribution, match, MAX_RUNS_SEARCHED)).at(-1),
        putRun: (run) =>
            call("recording the run", async (ddb, client, abortSignal) => {
                await client.send(
                    new ddb.PutItemCommand({
                        TableName: table,
                        Item: runItem(run),
                        ConditionExpression: "attribute_not_exists(#sk) OR runId = :me",
                        ExpressionAttributeNames: { "#sk": SK },
                        ExpressionAttributeValues: { ":me": S(run.runId) },
                    }),
                    { abortSignal },
                );
            }),
        completeRun: (distribution, entry, end) =>
            call("completing the run's record", async (ddb, client, abortSignal) => {
                await client.send(
                    new ddb.UpdateItemCommand({
                        TableName: table,
                        Key: key(distribution, entry),
                        UpdateExpression: `SET #result = :result, endedAt = :end${end.attiniTime !== undefined ? ", attiniTime = :attini" : ""}`,
                        ConditionExpression: "attribute_exists(#sk)",
                        ExpressionAttributeNames: { "#result": "result", "#sk": SK },
                        ExpressionAttributeValues: {
                            ":result": S(end.result),
                            ":end": N(end.endedAt),
                            ...(end.attiniTime !== undefined ? { ":attini": N(end.attiniTime) } : {}),
                        },
                    }),
                    { abortSignal },
                );
            }),
        takeLease: async (distribution, lease, now) => {
            try {
                await call("taking the lease", (ddb, client, abortSignal) =>
                    client.send(
                        new ddb.PutItemCommand({
                            TableName: table,
                            Item: {
                                ...key(distribution, "lease"),
                                runId: S(lease.runId),
                                commit: S(lease.commit),
                                ciSystem: S(lease.ciSystem),
                                since: N(lease.since),
                                expiresAt: N(lease.expiresAt),
                                ...optional({ runUrl: lease.runUrl }),
                            },
                            ConditionExpression: "attribute_not_exists(#sk) OR expiresAt < :now OR runId = :me",
                            ExpressionAttributeNames: { "#sk": SK },
                            ExpressionAttributeValues: { ":now": N(now), ":me": S(lease.runId) },
                        }),
                        { abortSignal },
                    ),
                );
                return { taken: true };
            } catch (err) {
                if (!conditionFailed(err)) throw err;
                const held = await call("reading the lease", (ddb, client, abortSignal) =>
                    client.send(
                        new ddb.GetItemCommand({
                            TableName: table,
                            Key: key(distribution, "lease"),
                            ConsistentRead: true,
                        }),
                        { abortSignal },
                    ),
                );
                return { taken: false, holder: leaseOf(held.Item) };
            }
        },
        renewLease: async (distribution, runId, expiresAt) => {
            try {
                await call("renewing the lease", (ddb, client, abortSignal) =>
                    client.send(
                        new ddb.UpdateItemCommand({
                            TableName: table,
                            Key: key(distribution, "lease"),
                            UpdateExpression: "SET expiresAt = :exp",
                            ConditionExpression: "runId = :me",
                            ExpressionAttributeValues: { ":exp": N(expiresAt), ":me": S(runId) },
                        }),
                        { abortSignal },
                    ),
                );
                return true;
            } catch (err) {
                if (conditionFailed(err)) return false;
                throw err;
            }
        },
        releaseLease: async (distribution, runId) => {
            try {
                await call("releasing the lease", (ddb, client, abortSignal) =>
                    client.send(
                        new ddb.UpdateItemCommand({
                            TableName: table,
                            Key: key(distribution, "lease"),
                            UpdateExpression: "SET expiresAt = :zero",
                            ConditionExpression: "runId = :me",
                            ExpressionAttributeValues: { ":zero": N(0), ":me": S(runId) },
                        }),
                        { abortSignal },
                    ),
                );
            } catch (err) {
                if (!conditionFailed(err)) throw err; // no longer ours: nothing to release
            }
        },
        holds: (distribution) =>
            call("reading the rollback holds", async (ddb, client, abortSignal) => {
                // Every page: a hold in force that went unread would let held content deploy.
                const found: Hold[] = [];
                let start: Item | undefined;
                let read = 0;
                do {
                    const page: import("@aws-sdk/client-dynamodb").QueryCommandOutput = await client.send(
                        query(ddb, distribution, "hold#", 100, start),
                        { abortSignal },
                    );
                    read += page.Items?.length ?? 0;
                    for (const item of page.Items ?? []) {
                        const h = holdOf(item);
                        if (h) found.push(h);
                    }
                    start = page.LastEvaluatedKey;
                    if (start && read >= MAX_HOLDS_READ)
                        throw new LedgerUnavailable(
                            `${distribution} has more than ${MAX_HOLDS_READ} rollback holds in the ${where}; they are not all read, so whether this content is held cannot be told.`,
                        );
                } while (start);
                return found;
            }),
        putHold: (distribution, hold) =>
            call("holding the content rolled back from", async (ddb, client, abortSignal) => {
                await client.send(
                    new ddb.PutItemCommand({
                        TableName: table,
                        Item: {
                            ...key(distribution, `hold#${hold.digest}`),
                            digest: S(hold.digest),
                            commit: S(hold.commit),
                            heldAt: N(hold.heldAt),
                            heldBy: S(hold.heldBy),
                        },
                    }),
                    { abortSignal },
                );
            }),
        releaseHold: (distribution, digest, by, at) =>
            call("releasing a rollback hold", async (ddb, client, abortSignal) => {
                await client.send(
                    new ddb.UpdateItemCommand({
                        TableName: table,
                        Key: key(distribution, `hold#${digest}`),
                        UpdateExpression: "SET releasedAt = :at, releasedBy = :by",
                        ConditionExpression: "attribute_exists(#sk)",
                        ExpressionAttributeNames: { "#sk": SK },
                        ExpressionAttributeValues: { ":at": N(at), ":by": S(by) },
                    }),
                    { abortSignal },
                );
            }),
    };
}

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
