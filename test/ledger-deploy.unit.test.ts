// deploy() and the environment's ledger, on the shared fake AWS (test/support/fakeAws.ts, whose
// ledger has the DynamoDB adapter's conditions): newer wins, rollback and its hold, the lease, and
// the run's record. The same paths run on the emulator with the real Attini CLI in ledger.test.ts.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test, { type ExecutionContext } from "ava";
import { type DeployOptions, deploy } from "../automation/deploying";
import { type DriverError, Exit, LedgerUnavailable } from "../automation/errors";
import { gitIn } from "../automation/git";
import { acquireLease } from "../automation/leasing";
import { type ClaimOptions, claim } from "../automation/ledgering";
import { judgeOrder, leaseBackoffMs, orderOf } from "../automation/ledgerRules";
import type { LedgerStore } from "../automation/ledgerTypes";
import { unitDeployOptions } from "./support/deployOptions";
import { fakeAws, fakeServices } from "./support/fakeAws";
import { type FakeTable, fakeLedger, fakeTable, rewriteNewest } from "./support/fakeLedger";
import { git, type ScratchProject, scratchProject } from "./support/project";

const TABLE = "attini-gitops-ledger-dev";

/** A scratch project whose dev deploys go to a fake AWS with one ledger; attini is a script that leaves a mark. */
function world(t: ExecutionContext) {
    const project = scratchProject();
    t.teardown(project.dispose);
    const marks = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-ledger-unit-"));
    t.teardown(() => fs.rmSync(marks, { recursive: true, force: true }));
    const { aws, ledgers } = fakeAws();
    let n = 0;
    /** Commits a change to the distribution on HEAD; returns its sha. */
    const commit = (msg: string) => {
        fs.appendFileSync(path.join(project.distribution, "template.yaml"), `# ${msg}\n`);
        git(project.dir, "add", "-A");
        git(project.dir, "commit", "-q", "-m", msg);
        return git(project.dir, "rev-parse", "HEAD");
    };
    const checkout = (sha: string) => git(project.dir, "checkout", "-q", "--detach", sha);
    const run = async (more: Partial<DeployOptions> = {}, attiniExit = 0, env: NodeJS.ProcessEnv = {}, body = "") => {
        const mark = path.join(marks, `ran-${n}`);
        const bin = path.join(marks, `attini-${n++}`);
        fs.writeFileSync(bin, `#!/bin/sh\ntouch '${mark}'\n${body}\nexit ${attiniExit}\n`, { mode: 0o755 });
        const services = fakeServices(aws, { PATH: process.env.PATH, BRANCH: "dev", ...env });
        const o = unitDeployOptions(project.distribution, bin, project.dir, more);
        const result = await deploy(o, services).then(
            (summary) => ({ summary, error: undefined }),
            (error: DriverError) => ({ summary: undefined, error }),
        );
        return { ...result, ran: fs.existsSync(mark), log: services.lines.join("") };
    };
    const table = () => ledgers.get(TABLE) as FakeTable;
    return { project, commit, checkout, run, table };
}

test("each deploy is recorded before attini runs and completed after: commit, content, run, result; the lease is released", async (t) => {
    const w = world(t);
    const a = w.commit("a");
    const r = await w.run({}, 0, {
        GITHUB_ACTIONS: "true",
        GITHUB_REPOSITORY: "acme/platform",
        GITHUB_RUN_ID: "42",
        GITHUB_RUN_ATTEMPT: "2",
        GITHUB_EVENT_NAME: "push",
        GITHUB_REF: "refs/heads/dev",
    });
    t.is(r.summary?.exitCode, 0, r.log + (r.error?.message ?? ""));
    const [run] = w.table().runs;
    t.like(run, {
        commit: a,
        branch: "dev",
        environment: "dev",
        distributionName: "platform",
        result: "deployed",
        ciSystem: "github-actions",
        runUrl: "https://github.com/acme/platform/actions/runs/42/attempts/2",
    });
    t.regex(run.digest, /^tree:[0-9a-f]{40}$/, "a committed folder is recorded by its git tree");
    t.is(run.digest, `tree:${git(w.project.dir, "rev-parse", "HEAD:distribution/platform")}`);
    t.true(run.endedAt! >= run.startedAt);
    t.is(w.table().lease?.expiresAt, 0, "released");
    t.deepEqual(
        w.table().calls.map((c) => c.split(" ")[0]),
        // The lease was free (and had no row yet): newer wins is asked once, under it, from the runs.
        ["takeLease", "findRun", "holds", "recordRun", "settleRun"],
    );
    t.like(r.summary?.ledger, { result: "deployed", digest: run.digest });
    // The next deploy decides on the head this one left: the take and two transactions, no read.
    w.table().calls.length = 0;
    const b = w.commit("b");
    t.is((await w.run()).summary?.exitCode, 0);
    t.deepEqual(
        w.table().calls.map((c) => c.split(" ")[0]),
        ["takeLease", "recordRun", "settleRun"],
    );
    t.like(w.table().head, { newest: { commit: b, result: "deployed" }, holds: 0 });
});

test("the head a run leaves: a failed run leaves the newest that counted before it, so an older commit is not refused by it", async (t) => {
    const w = world(t);
    const a = w.commit("a");
    t.is((await w.run()).summary?.exitCode, 0);
    w.commit("b");
    t.is((await w.run({}, 1)).summary?.exitCode, 1, "b fails");
    t.like(w.table().head, { newest: { commit: a, result: "deployed" } });
    w.checkout(a);
    w.table().calls.length = 0;
    t.is((await w.run()).summary?.exitCode, 0, "a again: b failed, so a is the newest that counts");
    t.false(
        w.table().calls.some((c) => c.startsWith("findRun")),
        "decided on the head",
    );
});

test("a head that cannot be trusted is not: after a holder that was killed (its lease expired, its run started), the runs and holds are read", async (t) => {
    const w = world(t);
    w.commit("a");
    await w.run();
    const table = w.table();
    // A holder killed after its record: its lease expires, its run stays started, the head names it.
    const dead = {
        ...table.runs[0],
        entry: `run#${String(Date.now() + 1).padStart(15, "0")}#dead`,
        runId: "dead",
        result: "started" as const,
    };
    table.runs.push(dead);
    table.lease = { runId: "dead", commit: dead.commit, ciSystem: "local", since: 1, expiresAt: 2 };
    table.head = { newest: dead, holds: 0 };
    table.calls.length = 0;
    w.commit("b");
    t.is((await w.run()).summary?.exitCode, 0);
    t.deepEqual(table.calls.slice(0, 3), ["takeLease platform", "findRun platform", "holds platform"]);
    // Released cleanly but naming a run still started (a holder refused after it, say): read too.
    table.lease!.expiresAt = 0;
    table.head = { newest: { ...dead, entry: `run#${String(Date.now() + 5).padStart(15, "0")}#dead` }, holds: 0 };
    table.calls.length = 0;
    w.commit("c");
    t.is((await w.run()).summary?.exitCode, 0);
    t.deepEqual(table.calls.slice(0, 2), ["takeLease platform", "findRun platform"]);
});

test("attini fails: the record says failed, and the lease is released", async (t) => {
    const w = world(t);
    w.commit("a");
    const r = await w.run({}, 1);
    t.is(r.summary?.exitCode, 1);
    t.is(w.table().runs[0].result, "failed");
    t.is(w.table().lease?.expiresAt, 0);
});

test("newer wins: an older commit after a newer one is refused (exit 8), attini never runs, nothing is recorded", async (t) => {
    const w = world(t);
    const a = w.commit("a");
    const b = w.commit("b");
    t.is((await w.run()).summary?.exitCode, 0);
    w.checkout(a);
    const r = await w.run();
    t.is(r.error?.exitCode, Exit.OUTDATED, r.log);
    t.regex(r.error!.message, new RegExp(`outdated: .* newer commit ${b.slice(0, 12)} \\(deployed`));
    t.regex(r.error!.message, /--allow-rollback/);
    t.false(r.ran);
    t.is(w.table().runs.length, 1);
    // The lease was free: it took it, found itself outdated under it, and let it go at once.
    t.is(w.table().calls.filter((c) => c.startsWith("takeLease")).length, 2);
    t.is(w.table().lease?.expiresAt, 0, "the lease is free again");
});

test("newer wins while another run holds the lease: the outdated deploy is refused at once, without queueing for it", async (t) => {
    const w = world(t);
    const a = w.commit("a");
    w.commit("b");
    t.is((await w.run()).summary?.exitCode, 0);
    const now = Date.now();
    w.table().lease = {
        runId: "busy",
        commit: "0".repeat(40),
        ciSystem: "local",
        since: now,
        expiresAt: now + 600_000,
    };
    w.checkout(a);
    const r = await w.run({ leaseWaitMs: 600_000 });
    t.is(r.error?.exitCode, Exit.OUTDATED, r.log);
    t.notRegex(r.log, /waiting for the lease/);
    t.is(w.table().calls.filter((c) => c.startsWith("takeLease")).length, 2, "one try, then refused");
    t.is(w.table().lease?.runId, "busy", "the other run's lease is untouched");
});

test("a newer commit, and a re-run of the same commit, deploy", async (t) => {
    const w = world(t);
    w.commit("a");
    t.is((await w.run()).summary?.exitCode, 0);
    t.is((await w.run()).summary?.exitCode, 0, "the same commit again");
    w.commit("b");
    t.is((await w.run()).summary?.exitCode, 0, "a descendant");
    t.is(w.table().runs.length, 3);
});

test("--allow-rollback deploys the older commit as a rollback; the newer content is then held until other content is deployed", async (t) => {
    const w = world(t);
    const a = w.commit("a");
    const b = w.commit("b");
    t.is((await w.run()).summary?.exitCode, 0);
    const bDigest = w.table().runs[0].digest;
    w.checkout(a);
    const back = await w.run({ allowRollback: true });
    t.is(back.summary?.exitCode, 0, back.log);
    t.deepEqual(
        back.summary?.ledger && "rollbackFrom" in back.summary.ledger ? back.summary.ledger.rollbackFrom : undefined,
        {
            commit: b,
            digest: bDigest,
        },
    );
    t.like(w.table().holds.get(bDigest), { commit: b });

    // The newer pipeline re-run: its commit is ahead of the rollback, but its content is held.
    w.checkout(b);
    const rerun = await w.run();
    t.is(rerun.error?.exitCode, Exit.OUTDATED, rerun.log);
    t.regex(rerun.error!.message, /rolled back from .* held until other content is deployed.*--release-hold/);
    t.false(rerun.ran);

    // A fix (other content) deploys, and lifts the hold.
    w.commit("c");
    const fix = await w.run();
    t.is(fix.summary?.exitCode, 0, fix.log);
    t.truthy(w.table().holds.get(bDigest)?.releasedAt);
});

test("--release-hold deploys held content and releases the hold", async (t) => {
    const w = world(t);
    const a = w.commit("a");
    const b = w.commit("b");
    await w.run();
    const bDigest = w.table().runs[0].digest;
    w.checkout(a);
    await w.run({ allowRollback: true });
    w.checkout(b);
    const r = await w.run({ releaseHold: true });
    t.is(r.summary?.exitCode, 0, r.log);
    t.truthy(w.table().holds.get(bDigest)?.releasedAt);
    t.is(r.summary?.ledger && "releasedHold" in r.summary.ledger ? r.summary.ledger.releasedHold : undefined, bDigest);
});

test("a recorded commit this clone does not have cannot be ordered: refused (exit 8) unless --allow-rollback", async (t) => {
    const w = world(t);
    w.commit("a");
    await w.run();
    const gone = "f".repeat(40);
    rewriteNewest(w.table(), { commit: gone });
    const r = await w.run();
    t.is(r.error?.exitCode, Exit.OUTDATED);
    t.regex(
        r.error!.message,
        /a commit this clone does not have although its history is complete .*Pass --allow-rollback/,
    );
    t.false(r.ran);
    const forced = await w.run({ allowRollback: true });
    t.is(forced.summary?.exitCode, 0, forced.log);
});

test("another run holds the lease: the deploy waits, names the holder, and exits 9 when --lease-wait runs out", async (t) => {
    const w = world(t);
    w.commit("a");
    await w.run();
    const now = Date.now();
    w.table().lease = {
        runId: "gha-7-1-abcd",
        commit: "0123456789abcdef0123456789abcdef01234567",
        ciSystem: "github-actions",
        runUrl: "https://github.com/acme/platform/actions/runs/7/attempts/1",
        since: now - 5000,
        expiresAt: now + 60_000,
    };
    const r = await w.run({ leaseWaitMs: 1500 });
    t.is(r.error?.exitCode, Exit.LEASE_WAIT, r.log);
    t.regex(r.error!.message, /holds the lease .*actions\/runs\/7\/attempts\/1 at commit 0123456789ab/);
    t.regex(r.log, /waiting for the lease on platform/);
    t.false(r.ran);
    const tries = w.table().calls.filter((c) => c.startsWith("takeLease")).length;
    t.true(tries >= 2, "it tried again within the wait");
    // Backoff from 1 s (leaseBackoffMs): 1.5 s of waiting is three tries, never a busy loop.
    t.true(tries <= 4, `${tries} tries in 1.5 s`);
});

test("the lease wait's backoff doubles from 1 s to 15 s, with at most 20% jitter", (t) => {
    t.deepEqual(
        [0, 1, 2, 3, 4, 5, 50].map((a) => leaseBackoffMs(a, () => 0)),
        [1000, 2000, 4000, 8000, 15_000, 15_000, 15_000],
    );
    t.deepEqual(
        [0, 4, 50].map((a) => leaseBackoffMs(a, () => 1)),
        [1200, 18_000, 18_000],
    );
});

test("a lease past its expiry (its holder was killed) is taken at once", async (t) => {
    const w = world(t);
    w.commit("a");
    await w.run();
    w.table().lease = { runId: "dead", commit: "0".repeat(40), ciSystem: "local", since: 1, expiresAt: Date.now() - 1 };
    const r = await w.run();
    t.is(r.summary?.exitCode, 0, r.log);
});

test("a folder with uncommitted content is recorded by its files, which match no committed tree", async (t) => {
    const w = world(t);
    w.commit("a");
    fs.appendFileSync(path.join(w.project.distribution, "template.yaml"), "# local edit\n");
    const r = await w.run();
    t.is(r.summary?.exitCode, 0, r.log);
    t.regex(w.table().runs[0].digest, /^files:[0-9a-f]{64}$/);
});

test("--dry-run reads no ledger and says what it would check", async (t) => {
    const w = world(t);
    w.commit("a");
    const r = await w.run({ dryRun: true });
    t.is(r.summary?.exitCode, 0, r.log);
    t.like(r.summary?.ledger, { table: TABLE, result: "not-checked" });
    t.regex(r.log, /dry run: the ledger would refuse if the newest run/);
    t.is(w.table() as FakeTable | undefined, undefined);
});

test("a rebuild of the commit rolled back from is held too: the hold is on the content and on its commit", async (t) => {
    const w = world(t);
    const a = w.commit("a");
    const b = w.commit("b");
    await w.run();
    w.checkout(a);
    await w.run({ allowRollback: true });
    w.checkout(b);
    // Other bytes at the same commit (a local edit, a rebuilt artifact): still what was rolled back from.
    fs.appendFileSync(path.join(w.project.distribution, "template.yaml"), "# rebuilt\n");
    const r = await w.run();
    t.is(r.error?.exitCode, Exit.OUTDATED, r.log);
    t.regex(r.error!.message, /was rolled back from/);
});

test("a run that timed out or was interrupted still counts for newer wins: Attini's deployment may have gone on", async (t) => {
    const w = world(t);
    const a = w.commit("a");
    w.commit("b");
    await w.run();
    rewriteNewest(w.table(), { result: "timed-out" });
    w.checkout(a);
    t.is((await w.run()).error?.exitCode, Exit.OUTDATED);
    rewriteNewest(w.table(), { result: "failed" });
    t.is((await w.run()).summary?.exitCode, 0, "only a run attini reported failed does not count");
});

test("a run is filed after the newest one even when this build server's clock is behind", async (t) => {
    const w = world(t);
    w.commit("a");
    await w.run();
    const future = Date.now() + 3_600_000;
    rewriteNewest(w.table(), { startedAt: future });
    await w.run();
    const runs = [...w.table().runs].sort((x, y) => x.startedAt - y.startedAt);
    t.is(runs[1].startedAt, future + 1);
});

test("the lease lost while attini runs: attini is stopped, the run is recorded interrupted, and the deploy exits 10", async (t) => {
    const w = world(t);
    w.commit("a");
    const table = () => w.table();
    // Another run takes the lease once this one holds it (as if this one's renewals had been too late).
    const steal = setInterval(() => {
        const l = table()?.lease;
        if (l && l.runId !== "thief" && l.expiresAt > 0) Object.assign(l, { runId: "thief" });
    }, 50);
    t.teardown(() => clearInterval(steal));
    const r = await w.run({ leaseTtlMs: 600 }, 0, {}, "sleep 20");
    t.is(r.summary?.exitCode, Exit.LEASE_LOST, r.log);
    t.regex(r.log, /is no longer this run's: another run took it/);
    t.regex(r.log, /stopping attini: this deploy lost its lease/);
    t.is(table().runs[0].result, "interrupted");
});

test("in a shallow clone, commits whose history is cut off cannot be ordered: refused naming the fetch to run, never 'diverged' (deployed)", (t) => {
    const w = world(t);
    w.commit("a");
    const b = w.commit("b");
    const c = w.commit("c");
    const shallow = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-shallow-"));
    t.teardown(() => fs.rmSync(shallow, { recursive: true, force: true }));
    git(shallow, "clone", "-q", "--depth", "1", `file://${w.project.dir}`, "clone");
    const dir = path.join(shallow, "clone");
    git(dir, "fetch", "-q", "--depth", "1", "origin", b);
    const order = orderOf(gitIn(dir), b, c);
    t.is(order, "shallow");
    t.false(
        judgeOrder(undefined, b, order, false, "ledger").go === false,
        "nothing recorded: nothing to order against",
    );
    const newest = {
        commit: c,
        result: "deployed",
        startedAt: Date.now(),
        ciSystem: "local",
        runId: "r",
    } as Parameters<typeof judgeOrder>[0];
    const v = judgeOrder(newest, b, order, false, "ledger");
    t.false(v.go);
    t.regex(v.go ? "" : v.error.message, /this clone is shallow.*git fetch --unshallow.*fetch-depth: 0/);
    // A commit beyond the clone's depth is the same case, not "history rewritten".
    const d = w.commit("d");
    t.is(orderOf(gitIn(dir), b, d), "shallow");
    // Unshallowed, the clone orders them.
    git(dir, "fetch", "-q", "--unshallow", "origin");
    t.is(orderOf(gitIn(dir), b, c), "behind");
    // A full clone that lacks the recorded commit: history was rewritten, and --allow-rollback is the way on.
    const gone = "f".repeat(40);
    t.is(orderOf(gitIn(w.project.dir), b, gone), "unknown");
    const rewritten = judgeOrder({ ...newest!, commit: gone }, b, "unknown", false, "ledger");
    t.regex(rewritten.go ? "" : rewritten.error.message, /history is complete .*Pass --allow-rollback/);
    // With the full history, the same two commits are ordered: C descends from B.
    t.is(orderOf(gitIn(w.project.dir), b, c), "behind");
});

test("a try for the lease that fails (throttled, timed out) is tried again within --lease-wait, not the end of the deploy", async (t) => {
    const w = world(t);
    w.commit("a");
    await w.run(); // the table exists
    const table = w.table();
    let failures = 1;
    // The fake's takeLease, failing once as the DynamoDB adapter does when AWS does not answer.
    const store = fakeLedger(table, "ledger t");
    const flaky = {
        ...store,
        takeLease: async (...args: Parameters<typeof store.takeLease>) => {
            if (failures-- > 0) throw new LedgerUnavailable("taking the lease: ThrottlingException");
            return store.takeLease(...args);
        },
    };
    const lines: string[] = [];
    const held = await acquireLease(
        flaky,
        "platform",
        { runId: "me", commit: "0".repeat(40), ciSystem: "local" },
        { ttlMs: 60_000, waitMs: 5_000, log: (l) => lines.push(l), sleep: async () => {} },
    );
    t.regex(lines.join("\n"), /taking the lease failed \(taking the lease: ThrottlingException\); trying again/);
    await held.release();
    t.is(table.lease?.runId, "me");
});

test("a try for the lease that fails for good (--lease-wait already spent) reports the checks' refusal first: credentials in another account are exit 6, not a ledger that is missing there", async (t) => {
    const store = fakeLedger(fakeTable(), "ledger t");
    const failing = {
        ...store,
        takeLease: async () => {
            throw new LedgerUnavailable("taking the lease: the ledger does not exist");
        },
    };
    const wrongAccount = new Error("the assumed deploy role's credentials are for account 999999999999");
    const taking = acquireLease(
        failing,
        "platform",
        { runId: "me", commit: "0".repeat(40), ciSystem: "local" },
        { ttlMs: 60_000, waitMs: 0, log: () => {}, sleep: async () => {} },
        async () => {
            throw wrongAccount;
        },
    );
    await t.throwsAsync(taking, { is: wrongAccount });
});

/** A claim for the folder at `project` on `store`, as run `runId` of content `digest`; the other options as given. */
function claimOn(
    store: LedgerStore,
    project: ScratchProject,
    {
        digest,
        runId,
        ...options
    }: { digest: string; runId: string } & Pick<ClaimOptions, "releaseHold" | "onExit" | "attiniHistory">,
    log: (line: string) => void,
) {
    return claim(
        store,
        {
            environment: "dev",
            distributionName: "platform",
            commit: git(project.dir, "rev-parse", "HEAD"),
            branch: "dev",
            digest,
            sha256: "ab",
            run: { system: "local", runId },
            sessionName: "s",
            sourceIdentity: "i",
        },
        { git: gitIn(project.dir) },
        { allowRollback: false, lease: { ttlMs: 60_000, waitMs: 1_000 }, ...options },
        log,
    );
}

/** A fresh fake ledger in which content sha256:ab is held (since 5), and a project to claim from. */
function heldContent(t: ExecutionContext) {
    const project = scratchProject();
    t.teardown(project.dispose);
    const table = fakeTable();
    const store = fakeLedger(table, "test ledger");
    const d = "sha256:ab";
    table.holds.set(d, { digest: d, commit: "e".repeat(40), heldAt: 5, heldBy: "r0" });
    return { project, table, store, d };
}

/** claimOn for run `x` of `digest` with --release-hold; its log lines in `lines`. */
const claimX = (store: LedgerStore, project: ScratchProject, digest: string, lines: string[]) =>
    claimOn(
        store,
        project,
        { digest, runId: "x", releaseHold: true, attiniHistory: async () => [], onExit: () => {} },
        (l) => lines.push(l),
    );

test("a run whose lease another run took before it settled (its settle was answered too late, say) completes its record alone, and lifts a hold only as it read it: one put again since by the other run's rollback stays in force", async (t) => {
    const { project, table, store, d } = heldContent(t);
    const head = git(project.dir, "rev-parse", "HEAD");
    const lines: string[] = [];
    const claimed = await claimX(store, project, d, lines);
    // Another run, B, takes the lease and rolls back to this content: it holds it again.
    table.lease = { runId: "b", commit: "b".repeat(40), ciSystem: "local", since: 1, expiresAt: Date.now() + 60_000 };
    table.holds.set(d, { digest: d, commit: head, heldAt: 30, heldBy: "b" });
    const report = await claimed.settle("deployed");
    t.like(table.runs, [{ runId: "x", result: "deployed" }], "the record is complete");
    t.like(table.holds.get(d), { heldAt: 30, releasedAt: undefined }, "B's hold stays in force");
    t.is(report.leaseLost, true);
    t.is(report.liftedHolds, undefined, "nothing lifted is reported");
    t.is(report.releasedHold, undefined, "nor --release-hold's hold released");
    t.regex(
        lines.join("\n"),
        /the hold on sha256:ab was released or put again by another run since this run read it: left as it is/,
    );
    t.is(table.lease?.runId, "b", "B's lease is left to B");
});

test("a settle whose transaction fails completes the record alone, and lets the lease go only once that completion is answered, whatever became of the holds it lifts", async (t) => {
    const { project, table, store, d } = heldContent(t);
    const real = { completeRun: store.completeRun };
    store.settleRun = async () => {
        throw new LedgerUnavailable("completing the run's record: TransactionConflict past its retries");
    };
    store.completeRun = async (...args) => {
        await new Promise((r) => setTimeout(r, 50));
        await real.completeRun(...args);
        table.calls.push("completeRun answered");
    };
    store.releaseHold = async () => {
        throw new LedgerUnavailable("releasing a rollback hold: ThrottlingException");
    };
    const lines: string[] = [];
    const claimed = await claimX(store, project, d, lines);
    const report = await claimed.settle("deployed");
    t.like(table.runs, [{ runId: "x", result: "deployed" }]);
    const after = table.calls.slice(table.calls.indexOf("recordRun platform"));
    t.true(after.indexOf("completeRun answered") < after.indexOf("releaseLease platform"), after.join(", "));
    t.is(table.lease?.expiresAt, 0, "released");
    t.like(table.holds.get(d), { releasedAt: undefined }, "the hold that could not be released stays in force");
    t.is(report.liftedHolds, undefined);
    t.regex(lines.join("\n"), /could not release the hold on sha256:ab \(.*ThrottlingException\): it stays in force/);
});

/** A claim on a fresh fake ledger, with a signal's cleanup captured; the run's record write (or the holds' read) waits for `letWrite`. */
function claimCutShort(t: ExecutionContext, held: "recordRun" | "holds" = "recordRun") {
    const project = scratchProject();
    t.teardown(project.dispose);
    const table = fakeTable();
    const store = fakeLedger(table, "test ledger");
    let letWrite: () => void = () => undefined;
    const writeAllowed = new Promise<void>((r) => {
        letWrite = r;
    });
    let writing: () => void = () => undefined;
    const writeStarted = new Promise<void>((r) => {
        writing = r;
    });
    const real = { recordRun: store.recordRun, holds: store.holds };
    store.recordRun = async (...args) => {
        if (held === "recordRun") {
            writing();
            await writeAllowed;
        }
        return real.recordRun(...args);
    };
    store.holds = async (d) => {
        if (held === "holds") {
            writing();
            await writeAllowed;
        }
        return real.holds(d);
    };
    const undo: (() => Promise<unknown>)[] = [];
    const claiming = claimOn(
        store,
        project,
        {
            digest: "sha256:ab",
            runId: "run-1",
            releaseHold: false,
            attiniHistory: async () => {
                table.calls.push("attiniHistory");
                return [];
            },
            onExit: (fn) => undo.push(fn),
        },
        () => undefined,
    );
    return { table, claiming, undo, writeStarted, letWrite };
}

test("a signal while the run's record is being written: the run is completed as interrupted, the lease released, and the claim stops (attini never starts)", async (t) => {
    const c = claimCutShort(t);
    await c.writeStarted;
    t.is(c.undo.length, 1, "claim registered its undo once the lease was held");
    const stopping = c.undo[0]();
    c.letWrite();
    await stopping;
    t.like(c.table.runs, [{ runId: "run-1", result: "interrupted" }]);
    t.is(c.table.lease?.expiresAt, 0, "the lease was released");
    await t.throwsAsync(c.claiming, { message: /stopped while claiming/ });
    t.like(c.table.runs, [{ runId: "run-1", result: "interrupted" }], "what the signal recorded stands");
    // The lease is let go with the run's completion (one transaction), and only by the undo; attini
    // never ran, so its history is not read after.
    const after = c.table.calls.slice(c.table.calls.indexOf("recordRun platform"));
    t.deepEqual(
        after.filter((x) => /^(completeRun|settleRun|releaseLease|attiniHistory)/.test(x)),
        ["settleRun platform"],
    );
});

test("a signal before the run's record is written: nothing is recorded, the lease is released and the claim stops", async (t) => {
    const c = claimCutShort(t, "holds");
    await c.writeStarted; // the claim reads the holds, with the lease held
    const stopping = c.undo[0]();
    c.letWrite();
    await stopping;
    await t.throwsAsync(c.claiming, { message: /stopped while claiming/ });
    t.deepEqual(c.table.runs, [], "no run left started");
    t.is(c.table.lease?.expiresAt, 0);
    t.false(c.table.calls.includes("recordRun platform"));
});

for (const name of ["plat form", "platform#2", "2platform", "platform_x", "plätform", '"platform\\u001b[31m"']) {
    test(`a distributionName Attini refuses (${name}) is refused before any AWS call, naming Attini's rule`, async (t) => {
        const w = world(t);
        fs.writeFileSync(path.join(w.project.distribution, "attini-config.yaml"), `distributionName: ${name}\n`);
        w.commit("renamed");
        const r = await w.run();
        t.is(r.error?.exitCode, Exit.USAGE);
        t.regex(r.error?.message ?? "", /which Attini refuses: it must match \[a-zA-Z\]\[-a-zA-Z0-9\]\*/);
        t.false((r.error?.message ?? "").includes("\u001b"), "no escape character reaches the terminal");
        t.false(r.ran);
        t.is(w.table() as FakeTable | undefined, undefined, "the ledger was never touched");
    });
}
