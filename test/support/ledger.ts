// The deployment ledger in the emulator: what the Ledger component's table is once `pulumi up` has
// run (the test programs are inline and export outputs only, so provision() makes the tables), and
// a look at what the driver recorded there.

import {
    CreateTableCommand,
    DeleteTableCommand,
    DynamoDBClient,
    GetItemCommand,
    PutItemCommand,
    QueryCommand,
} from "@aws-sdk/client-dynamodb";
import { leaseOf, runOf } from "../../automation/ledgerDynamo";
import type { Lease, LedgerRun } from "../../automation/ledgerTypes";
import { LEDGER_PARTITION_KEY, LEDGER_SORT_KEY } from "../../lib/ledger";
import { credentialsIn } from "./attini";
import type { Moto } from "./moto";

async function client(moto: Moto, account: string, region: string): Promise<DynamoDBClient> {
    return new DynamoDBClient({
        endpoint: moto.endpoint,
        region,
        credentials: await credentialsIn(moto, account, region),
    });
}

/** Creates the ledger table in the account (as the Ledger component does); nothing if it exists. */
export async function createLedgerTable(moto: Moto, account: string, region: string, table: string): Promise<void> {
    const ddb = await client(moto, account, region);
    try {
        await ddb.send(
            new CreateTableCommand({
                TableName: table,
                BillingMode: "PAY_PER_REQUEST",
                AttributeDefinitions: [
                    { AttributeName: LEDGER_PARTITION_KEY, AttributeType: "S" },
                    { AttributeName: LEDGER_SORT_KEY, AttributeType: "S" },
                ],
                KeySchema: [
                    { AttributeName: LEDGER_PARTITION_KEY, KeyType: "HASH" },
                    { AttributeName: LEDGER_SORT_KEY, KeyType: "RANGE" },
                ],
            }),
        );
    } catch (e) {
        if ((e as Error).name !== "ResourceInUseException") throw e;
    } finally {
        ddb.destroy();
    }
}

/**
 * Empties each stack's ledger (drops and makes the table again): every test of a file starts from
 * environments with no recorded runs, as the tests' git worlds are unrelated histories that the
 * ledger would rightly refuse to order against each other.
 */
export async function resetLedgers(
    moto: Moto,
    stacks: readonly { accountId: string; region: string; ledgerTable: string }[],
): Promise<void> {
    for (const s of stacks) {
        const ddb = await client(moto, s.accountId, s.region);
        try {
            await ddb.send(new DeleteTableCommand({ TableName: s.ledgerTable }));
        } catch (e) {
            if ((e as Error).name !== "ResourceNotFoundException") throw e;
        } finally {
            ddb.destroy();
        }
        await createLedgerTable(moto, s.accountId, s.region, s.ledgerTable);
    }
}

/** A view of one environment's ledger in the emulator, read and written as an administrator would. */
export class LedgerView {
    constructor(
        private readonly moto: Moto,
        readonly account: string,
        readonly table: string,
        readonly region = "eu-west-1",
    ) {}

    private async with<T>(fn: (ddb: DynamoDBClient) => Promise<T>): Promise<T> {
        const ddb = await client(this.moto, this.account, this.region);
        try {
            return await fn(ddb);
        } finally {
            ddb.destroy();
        }
    }

    /** The recorded runs of a distribution, oldest first. */
    runs(distribution: string): Promise<LedgerRun[]> {
        return this.with(async (ddb) => {
            const out = await ddb.send(
                new QueryCommand({
                    TableName: this.table,
                    KeyConditionExpression: "#pk = :d AND begins_with(#sk, :run)",
                    ExpressionAttributeNames: { "#pk": LEDGER_PARTITION_KEY, "#sk": LEDGER_SORT_KEY },
                    ExpressionAttributeValues: { ":d": { S: distribution }, ":run": { S: "run#" } },
                }),
            );
            return (out.Items ?? []).flatMap((i) => {
                const r = runOf(i);
                return r ? [r] : [];
            });
        });
    }

    /** The rollback holds of a distribution (as released or in force), read as an administrator would. */
    holds(distribution: string): Promise<{ digest: string; releasedAt?: number }[]> {
        return this.with(async (ddb) => {
            const out = await ddb.send(
                new QueryCommand({
                    TableName: this.table,
                    KeyConditionExpression: "#pk = :d AND begins_with(#sk, :hold)",
                    ExpressionAttributeNames: { "#pk": LEDGER_PARTITION_KEY, "#sk": LEDGER_SORT_KEY },
                    ExpressionAttributeValues: { ":d": { S: distribution }, ":hold": { S: "hold#" } },
                }),
            );
            return (out.Items ?? []).map((i) => ({
                digest: i.digest?.S ?? "",
                ...(i.releasedAt?.N ? { releasedAt: Number(i.releasedAt.N) } : {}),
            }));
        });
    }

    /** The raw lease row. */
    lease(distribution: string) {
        return this.with(async (ddb) => {
            const out = await ddb.send(
                new GetItemCommand({
                    TableName: this.table,
                    Key: { [LEDGER_PARTITION_KEY]: { S: distribution }, [LEDGER_SORT_KEY]: { S: "lease" } },
                }),
            );
            return out.Item;
        });
    }

    /** Who holds the lease now (a lease past its expiry, or released, is no one's). */
    async holder(distribution: string): Promise<Lease | undefined> {
        const l = leaseOf(await this.lease(distribution));
        return l && l.expiresAt > Date.now() ? l : undefined;
    }

    /** Writes a row as given (a run made by another clone, say). */
    put(item: Record<string, { S: string } | { N: string }>): Promise<void> {
        return this.with(async (ddb) => {
            await ddb.send(new PutItemCommand({ TableName: this.table, Item: item }));
        });
    }
}
