// The ledger's DynamoDB adapter (automation/ledgerDynamo.ts) on the emulator: the conditions that
// make one deploy at a time and never overwrite a run hold on a real DynamoDB API, and every read
// that decides something reads every page it needs (a hold or a newer run on page two still counts).

import test, { type ExecutionContext } from "ava";
import { awsStep } from "../automation/awsCall";
import { MAX_DATE_MS } from "../automation/deployments";
import { dynamoLedger, MAX_RUNS_SEARCHED } from "../automation/ledgerDynamo";
import { counts } from "../automation/ledgerRules";
import type { LedgerRun } from "../automation/ledgerTypes";
import { credentialsIn } from "./support/attini";
import { createLedgerTable, LedgerView } from "./support/ledger";
import { type Moto, startMoto } from "./support/moto";

const ACCOUNT = "111111111111";
let moto: Moto;
let n = 0;
test.before(async () => {
    moto = await startMoto();
});
test.after.always(() => moto?.stop());

/** A fresh ledger table and the adapter on it, with credentials in the account. */
async function ledger(t: ExecutionContext) {
    const table = `attini-gitops-ledger-t${n++}`;
    await createLedgerTable(moto, ACCOUNT, "eu-west-1", table);
    const creds = await credentialsIn(moto, ACCOUNT, "eu-west-1");
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    t.teardown(() => {
        delete process.env.AWS_ENDPOINT_URL;
    });
    const store = dynamoLedger(
        table,
        ACCOUNT,
        () => awsStep({ totalMs: 20_000, requestMs: 5_000 }, "eu-west-1", () => {}),
        async () => creds,
    );
    return { store, view: new LedgerView(moto, ACCOUNT, table) };
}

const run = (i: number, result: LedgerRun["result"], commit = `${i}`.padStart(40, "0")): LedgerRun => ({
    entry: `run#${String(1_000_000 + i).padStart(15, "0")}#r${i}`,
    runId: `r${i}`,
    environment: "dev",
    distributionName: "platform",
    commit,
    branch: "dev",
    digest: `sha256:${i}`,
    sha256: `${i}`,
    ciSystem: "local",
    sessionName: "deploy-platform",
    sourceIdentity: "ci",
    startedAt: 1_000_000 + i,
    result,
});

test.serial(
    "the lease: taken when free, refused while held (saying by whom), taken again once expired; renewed and released only by its holder",
    async (t) => {
        const { store } = await ledger(t);
        const me = { runId: "a", commit: "a".repeat(40), ciSystem: "local", since: 1000 };
        t.deepEqual(await store.takeLease("platform", { ...me, expiresAt: 5000 }, 1000), { taken: true });
        const other = {
            runId: "b",
            commit: "b".repeat(40),
            ciSystem: "gitlab",
            runUrl: "https://ci.example/1",
            since: 2000,
        };
        const refused = await store.takeLease("platform", { ...other, expiresAt: 6000 }, 2000);
        t.like(refused, { taken: false, holder: { runId: "a", expiresAt: 5000 } });
        t.true(await store.renewLease("platform", "a", 9000));
        t.false(await store.renewLease("platform", "b", 9000), "only the holder renews");
        t.like(await store.takeLease("platform", { ...other, expiresAt: 12_000 }, 8999), { taken: false });
        t.deepEqual(
            await store.takeLease("platform", { ...other, expiresAt: 12_000 }, 9001),
            { taken: true },
            "expired",
        );
        await store.releaseLease("platform", "a"); // no longer a's: changes nothing
        t.like(await store.takeLease("platform", { ...me, expiresAt: 20_000 }, 10_000), { taken: false });
        await store.releaseLease("platform", "b");
        t.deepEqual(
            await store.takeLease("platform", { ...me, expiresAt: 20_000 }, 10_000),
            { taken: true },
            "released",
        );
    },
);

test.serial(
    "a run is only added: the same run again is a no-op, another run under its key is refused; completing sets the result",
    async (t) => {
        const { store, view } = await ledger(t);
        const r = run(1, "started");
        await store.putRun(r);
        await store.putRun(r); // a retried write of the same run
        await t.throwsAsync(store.putRun({ ...r, runId: "intruder", commit: "f".repeat(40) }), {
            name: "ConditionalCheckFailedException",
        });
        await store.completeRun("platform", r.entry, { result: "deployed", endedAt: 1_000_500 });
        t.like(await view.runs("platform"), [
            { runId: "r1", result: "deployed", endedAt: 1_000_500, commit: r.commit },
        ]);
        await t.throwsAsync(store.completeRun("platform", "run#nope", { result: "failed", endedAt: 1 }));
    },
);

test.serial(
    "findRun reads page after page: the newest started-or-deployed run behind 250 failed ones is found",
    async (t) => {
        const { store } = await ledger(t);
        await store.putRun(run(0, "deployed"));
        for (let i = 1; i <= 250; i++) await store.putRun(run(i, "failed"));
        t.like(await store.findRun("platform", counts), { runId: "r0", result: "deployed" });
        t.is((await store.runs("platform", 10)).length, 10);
        t.is((await store.runs("platform", 10))[0].runId, "r250", "newest first");
        t.true(MAX_RUNS_SEARCHED > 251);
    },
);

test.serial(
    "the holds in force are found among however many released ones: one in force after 150 released still holds its content",
    async (t) => {
        const { store, view } = await ledger(t);
        for (let i = 0; i < 150; i++)
            await store.putHold("platform", {
                digest: `sha256:a${String(i).padStart(3, "0")}`,
                commit: "c".repeat(40),
                heldAt: i,
                heldBy: "r",
            });
        for (let i = 0; i < 150; i++)
            await store.releaseHold("platform", `sha256:a${String(i).padStart(3, "0")}`, "fix", 1000);
        await store.putHold("platform", {
            digest: "sha256:zzz",
            commit: "d".repeat(40),
            heldAt: 2000,
            heldBy: "rollback",
        });
        t.deepEqual(
            (await store.holds("platform")).map((h) => h.digest),
            ["sha256:zzz"],
            "only the hold in force; the released ones stay in the table",
        );
        t.is((await view.holds("platform")).length, 151, "every hold is kept");
    },
);

test.serial("rows that are not the driver's (a field missing or of the wrong type) never count", async (t) => {
    const { store, view } = await ledger(t);
    await view.put({
        distribution: { S: "platform" },
        entry: { S: "run#000000009999999#forged" },
        runId: { S: "forged" },
        result: { S: "deployed" },
        commit: { S: "e".repeat(40) },
    });
    await view.put({
        distribution: { S: "platform" },
        entry: { S: "run#000000009999998#typed" },
        ...Object.fromEntries(
            Object.entries({
                runId: "typed",
                environment: "dev",
                distributionName: "platform",
                commit: "e".repeat(40),
                branch: "dev",
                digest: "d",
                sha256: "d",
                result: "deployed",
            }).map(([k, v]) => [k, { S: v }]),
        ),
        startedAt: { S: "not a number" },
    });
    // A start past the last time a Date holds (every message that shows it would throw).
    await view.put({
        distribution: { S: "platform" },
        entry: { S: "run#000000009999997#far" },
        ...Object.fromEntries(
            Object.entries({
                runId: "far",
                environment: "dev",
                distributionName: "platform",
                commit: "e".repeat(40),
                branch: "dev",
                digest: "d",
                sha256: "d",
                result: "deployed",
            }).map(([k, v]) => [k, { S: v }]),
        ),
        startedAt: { N: String(MAX_DATE_MS + 1) },
    });
    await store.putRun(run(1, "deployed"));
    t.like(await store.findRun("platform", counts), { runId: "r1" });
});
