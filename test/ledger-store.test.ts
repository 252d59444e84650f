// The ledger's DynamoDB adapter (automation/ledgerDynamo.ts) on the emulator: the conditions that
// make one deploy at a time and never overwrite a run hold on a real DynamoDB API, and every read
// that decides something reads every page it needs (a hold or a newer run on page two still counts).

import test, { type ExecutionContext } from "ava";
import { awsStep } from "../automation/awsCall";
import { MAX_DATE_MS } from "../automation/deployments";
import { LeaseNotHeld, LedgerUnavailable } from "../automation/errors";
import { dynamoLedger, headOf, leaseOf, MAX_RUNS_SEARCHED, runItem } from "../automation/ledgerDynamo";
import { counts } from "../automation/ledgerRules";
import type { LedgerRun, LedgerStore } from "../automation/ledgerTypes";
import { credentialsIn } from "./support/attini";
import { DynamoFront } from "./support/dynamoFront";
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

/** Writes a hold row as a rollback's record writes it (the adapter writes a hold only with a run). */
const putHold = (view: LedgerView, digest: string, heldAt: number, commit = "e".repeat(40)) =>
    view.put({
        distribution: { S: "platform" },
        entry: { S: `hold#${digest}` },
        digest: { S: digest },
        commit: { S: commit },
        heldAt: { N: String(heldAt) },
        heldBy: { S: "rollback" },
    });

/** A front to the emulator's DynamoDB that the adapters made after it go through (AWS_ENDPOINT_URL_DYNAMODB). */
async function frontFor(t: ExecutionContext): Promise<DynamoFront> {
    const front = await DynamoFront.start(moto);
    t.teardown(() => front.close());
    process.env.AWS_ENDPOINT_URL_DYNAMODB = front.endpoint;
    t.teardown(() => {
        delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
    });
    return front;
}

/** A value as JSON holds it: fields read as undefined (absent from the row) left out. */
const plain = <T>(v: T): T | undefined => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

/** Takes the lease for `runId` at time `now`, for 1 ms (so that the next take, later, finds it expired). */
const take = (store: LedgerStore, runId: string, now: number) =>
    store.takeLease(
        "platform",
        { runId, commit: "c".repeat(40), ciSystem: "local", since: now, expiresAt: now + 1 },
        now,
    );

/** Writes `runs` (in a fresh table) in the adapter's row format, as an administrator would: this is about reading them. */
async function seed(view: LedgerView, runs: LedgerRun[]) {
    for (const r of runs) await view.put(runItem(r) as Parameters<LedgerView["put"]>[0]);
}

test.serial(
    "the lease: taken when free, refused while held (saying by whom), taken again once expired; renewed and released only by its holder",
    async (t) => {
        const { store, view } = await ledger(t);
        const me = { runId: "a", commit: "a".repeat(40), ciSystem: "local", since: 1000 };
        t.deepEqual(
            await store.takeLease("platform", { ...me, expiresAt: 5000 }, 1000),
            { taken: true },
            "no row before",
        );
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
            plain(await store.takeLease("platform", { ...other, expiresAt: 12_000 }, 9001)),
            { taken: true, previous: { expiresAt: 9000 } },
            "expired (the row as it was comes back: a's, renewed to 9000)",
        );
        await store.releaseLease("platform", "a"); // no longer a's: changes nothing
        t.like(await store.takeLease("platform", { ...me, expiresAt: 20_000 }, 10_000), { taken: false });
        await store.releaseLease("platform", "b");
        t.deepEqual(
            plain(await store.takeLease("platform", { ...me, expiresAt: 20_000 }, 10_000)),
            { taken: true, previous: { expiresAt: 0 } },
            "released",
        );
        t.like(
            leaseOf(await view.lease("platform")),
            { runId: "a", commit: me.commit, runUrl: undefined },
            "b's run URL is not left on a's lease",
        );
    },
);

test.serial("twenty deploys try for a free lease at once: exactly one takes it", async (t) => {
    const { store, view } = await ledger(t);
    const now = Date.now();
    const tries = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
            store.takeLease(
                "platform",
                { runId: `r${i}`, commit: "c".repeat(40), ciSystem: "local", since: now, expiresAt: now + 60_000 },
                now,
            ),
        ),
    );
    const won = tries.flatMap((r, i) => (r.taken ? [`r${i}`] : []));
    t.is(won.length, 1, `taken by ${won.join(", ")}`);
    t.is(leaseOf(await view.lease("platform"))?.runId, won[0]);
});

test.serial(
    "a run is recorded only by the lease's holder, all or nothing with its hold and the head; the same run again is a no-op, another run under its key is refused",
    async (t) => {
        const { store, view } = await ledger(t);
        const r = run(1, "started");
        const hold = { digest: "sha256:old", commit: "e".repeat(40), heldAt: 5, heldBy: "r1" };
        const headOfRow = async () => plain(headOf((await view.lease("platform"))?.head));
        await take(store, "someone-else", 1);
        await t.throwsAsync(store.recordRun(r, { newest: r, holds: 1 }, hold), { instanceOf: LeaseNotHeld });
        t.deepEqual(await view.runs("platform"), [], "no run without the lease");
        t.deepEqual(await view.holds("platform"), [], "nor its hold");
        t.is(await headOfRow(), undefined, "nor the head");

        await take(store, "r1", 10);
        await store.recordRun(r, { newest: r, holds: 1 }, hold);
        await store.recordRun(r, { newest: r, holds: 1 }, hold); // a retried write of the same run
        t.like(await view.runs("platform"), [{ runId: "r1", result: "started", commit: r.commit }]);
        t.like(await view.holds("platform"), [{ digest: "sha256:old" }]);
        t.deepEqual(await headOfRow(), { newest: r, holds: 1 });

        const intruder = { ...r, runId: "intruder", commit: "f".repeat(40) };
        await take(store, "intruder", 20);
        await t.throwsAsync(store.recordRun(intruder, { newest: intruder, holds: 0 }), {
            instanceOf: LedgerUnavailable,
            message: /another run's record has its key/,
        });
        t.like(await view.runs("platform"), [{ runId: "r1", commit: r.commit }], "r1's record stands");
        t.deepEqual(await headOfRow(), { newest: r, holds: 1 }, "and the head it set");

        await store.completeRun("platform", r.entry, { result: "deployed", endedAt: 1_000_500 });
        t.like(await view.runs("platform"), [
            { runId: "r1", result: "deployed", endedAt: 1_000_500, commit: r.commit },
        ]);
        await t.throwsAsync(store.completeRun("platform", "run#nope", { result: "failed", endedAt: 1 }));
    },
);

test.serial(
    "settling completes the run, lifts its holds and lets the lease go with the new head, all at once and only while the run holds the lease; the next take returns that head",
    async (t) => {
        const { store, view } = await ledger(t);
        const r = run(1, "started");
        await take(store, "r1", 10);
        // 95 holds in force: more than one transaction takes beside the run and the lease.
        const digests = Array.from({ length: 95 }, (_, i) => `sha256:h${i}`);
        const asRead = digests.map((digest) => ({ digest, heldAt: 1 }));
        for (const digest of digests) await putHold(view, digest, 1);
        await store.recordRun(r, { newest: r, holds: 95 });
        const end = { result: "deployed" as const, endedAt: 2000, attiniTime: 1500 };
        const settled = { newest: { ...r, ...end }, holds: 0 };

        await take(store, "thief", 20); // r1's lease expired and was taken
        const inOne = asRead.slice(0, 90); // as many as one transaction takes beside the run and the lease
        t.false(await store.settleRun(r, end, inOne, settled), "not r1's lease: nothing written");
        t.like(await view.runs("platform"), [{ runId: "r1", result: "started" }]);
        t.is((await view.holds("platform")).filter((h) => h.releasedAt !== undefined).length, 0);
        t.like(leaseOf(await view.lease("platform")), { runId: "thief" });

        await take(store, "r1", 30);
        t.true(await store.settleRun(r, end, asRead, settled));
        t.like(await view.runs("platform"), [{ runId: "r1", result: "deployed", endedAt: 2000, attiniTime: 1500 }]);
        t.is((await view.holds("platform")).filter((h) => h.releasedAt === 2000).length, 95, "every hold lifted");
        t.deepEqual(await store.holds("platform"), []);
        const next = await take(store, "r2", 40);
        t.deepEqual(
            plain(next),
            { taken: true, previous: { expiresAt: 0, head: settled } },
            "released, with r1's head",
        );
    },
);

test.serial(
    "a settle whose answer is lost, while another run takes the lease and rolls back to hold the same content again: the retry carries the same request token, and the hold put again stays in force",
    async (t) => {
        const { store: direct, view } = await ledger(t);
        const front = await frontFor(t);
        const x = run(1, "started");
        const heldAt = 5;
        const d = "sha256:rolled-back";
        await putHold(view, d, heldAt);
        await take(direct, x.runId, 10);
        await direct.recordRun(x, { newest: x, holds: 1 });
        // X deployed D with --release-hold. Its settle lands, but the answer is lost; meanwhile B
        // takes the free lease and rolls back from X, which holds D again.
        const b = { ...run(2, "started"), commit: "b".repeat(40) };
        let lost = false;
        /** A transaction that releases the lease: a settle. */
        const settles = (body: string) => /expiresAt = :zero/.test(body);
        front.lose = (action, body) => !lost && action === "TransactWriteItems" && settles(body);
        front.lost = async () => {
            lost = true;
            await take(direct, b.runId, 20);
            await direct.recordRun(
                b,
                { newest: b, holds: 1 },
                { digest: d, commit: x.commit, heldAt: 30, heldBy: "b" },
            );
        };
        const end = { result: "deployed" as const, endedAt: 25 };
        const settled = await direct.settleRun(x, end, [{ digest: d, heldAt }], { newest: { ...x, ...end }, holds: 0 });
        const sent = front.bodies
            .filter((body, i) => front.calls[i] === "TransactWriteItems" && settles(body))
            .map((body) => JSON.parse(body).ClientRequestToken);
        t.is(sent.length, 2, "the settle was sent again after the lost answer");
        t.truthy(sent[0]);
        t.is(sent[1], sent[0], "with the same request token, so that DynamoDB answers the retry as it did the first");
        // The emulator does not keep request tokens: the retry is cancelled, as B holds the lease now.
        t.false(settled);
        // What the driver does then (the settler's fallback): the hold only as X read it.
        t.false(
            await direct.releaseHold("platform", { digest: d, heldAt }, x.runId, 26),
            "B's hold is not the one X read",
        );
        t.deepEqual(
            (await direct.holds("platform")).map((h) => [h.digest, h.heldAt]),
            [[d, 30]],
            "B's hold stays in force",
        );
    },
);

test.serial(
    "a transaction DynamoDB is still carrying out (its answer lost, then a quick retry) is sent again with the same request token; a hold this run released already counts as released",
    async (t) => {
        const { store, view } = await ledger(t);
        const front = await frontFor(t);
        const x = run(1, "started");
        await take(store, x.runId, 10);
        await store.recordRun(x, { newest: x, holds: 0 });
        let inProgress = 1;
        front.answer = (action, body) =>
            action === "TransactWriteItems" && /expiresAt = :zero/.test(body) && inProgress-- > 0
                ? { status: 400, type: "com.amazonaws.dynamodb.v20120810#TransactionInProgressException" }
                : undefined;
        const end = { result: "deployed" as const, endedAt: 25 };
        t.true(await store.settleRun(x, end, [], { newest: { ...x, ...end }, holds: 0 }));
        const tokens = front.bodies
            .filter((body, i) => front.calls[i] === "TransactWriteItems" && /expiresAt = :zero/.test(body))
            .map((body) => JSON.parse(body).ClientRequestToken);
        t.is(tokens.length, 2);
        t.is(tokens[1], tokens[0], "the same request, not a new one");
        t.like(await view.runs("platform"), [{ runId: "r1", result: "deployed" }]);

        const d = "sha256:old";
        await putHold(view, d, 5);
        t.true(await store.releaseHold("platform", { digest: d, heldAt: 5 }, "x", 30));
        t.true(
            await store.releaseHold("platform", { digest: d, heldAt: 5 }, "x", 31),
            "again by the same run: released",
        );
        t.false(
            await store.releaseHold("platform", { digest: d, heldAt: 5 }, "y", 32),
            "by another: not as it read it",
        );
    },
);

test.serial(
    "findRun reads page after page: the newest started-or-deployed run behind 250 failed ones is found",
    async (t) => {
        const { store, view } = await ledger(t);
        await seed(view, [run(0, "deployed"), ...Array.from({ length: 250 }, (_, i) => run(i + 1, "failed"))]);
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
        const hold = (digest: string, commit: string) => putHold(view, digest, 1, commit);
        for (let i = 0; i < 150; i++) await hold(`sha256:a${String(i).padStart(3, "0")}`, "c".repeat(40));
        for (let i = 0; i < 150; i++)
            await store.releaseHold(
                "platform",
                { digest: `sha256:a${String(i).padStart(3, "0")}`, heldAt: 1 },
                "fix",
                1000,
            );
        await hold("sha256:zzz", "d".repeat(40));
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
    await seed(view, [run(1, "deployed")]);
    t.like(await store.findRun("platform", counts), { runId: "r1" });
});
