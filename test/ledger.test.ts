// The deployment ledger end to end (issue 20): the built driver, the real Pulumi CLI, the real
// Attini CLI and the emulator, with two CI pipelines of dev, at commit A and at its child B. What a
// user notices: exit codes and messages, what lands in dev's deployment-origin bucket (each commit's
// content carries its own distributionId), and the rows of dev's ledger. The same paths on a fake,
// with every branch of the rules: ledger-deploy.unit.test.ts.

import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import test, { type ExecutionContext } from "ava";
import { Exit } from "../automation/errors";
import { leaseOf } from "../automation/ledgerDynamo";
import type { LedgerRun } from "../automation/ledgerTypes";
import { LEDGER_PARTITION_KEY, LEDGER_SORT_KEY } from "../lib/ledger";
import { AttiniAccount, AttiniBackend, credentialsIn, realAttini } from "./support/attini";
import { jobEnv, runCli } from "./support/driver";
import { LedgerView } from "./support/ledger";
import { eventually } from "./support/processes";
import { gate, type Pipeline, twoPipelines } from "./support/race";
import { deployReal } from "./support/realDeploy";
import { backend, moto, sts, useWorld } from "./support/world";

const DEV = "111111111111";
const KEY = "dev/platform/platform.zip";
const WHERE = `ledger attini-gitops-ledger-dev in account ${DEV}`;
const short = (sha: string) => sha.slice(0, 12);

let account: AttiniAccount;
let attiniBackend: AttiniBackend;
let ledger: LedgerView;

useWorld(test, {
    stacks: ["dev"],
    ready: async () => {
        realAttini();
        account = await AttiniAccount.connect(moto, DEV);
        await account.setup();
        await account.createEnvironment("dev", "test");
        attiniBackend = new AttiniBackend([account]);
        await attiniBackend.start();
        ledger = new LedgerView(moto, DEV, "attini-gitops-ledger-dev");
    },
});
test.after.always(() => {
    attiniBackend?.stop();
    account?.close();
});
test.beforeEach(() => attiniBackend.outcome.clear());

/** A pipeline's deploy of the dev folder, started: its result, its process, its stderr so far. */
function start(t: ExecutionContext, p: Pipeline, args: string[] = []) {
    let child!: ChildProcess;
    let stderr = "";
    const done = deployReal(
        t,
        ["distribution/platform", ...args],
        { BRANCH: "dev" },
        {
            cwd: p.ci,
            during: (c) => {
                child = c;
                c.stderr?.on("data", (d) => (stderr += d));
            },
        },
    );
    t.teardown(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM"); // a failed test's leftover
    });
    return { done, child, stderr: () => stderr };
}

const deploy = (t: ExecutionContext, p: Pipeline, args: string[] = []) => start(t, p, args).done;
const runs = () => ledger.runs("platform");
/** The distributionId of what was uploaded last, i.e. which commit's content Attini deploys now. */
/**
 * `attini deploy run <folder> -e <environment> -f`, run by a person with credentials of their own
 * in dev's account (not the driver's deploy role), bounded by a timeout.
 */
async function attiniByHand(t: ExecutionContext, folder: string, environment: string) {
    const creds = await credentialsIn(moto, DEV, "eu-west-1");
    const child = spawn(realAttini(), ["deploy", "run", folder, "-e", environment, "-f"], {
        env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            JAVA_HOME: process.env.JAVA_HOME,
            AWS_ENDPOINT_URL: moto.endpoint,
            AWS_ACCESS_KEY_ID: creds.accessKeyId,
            AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
            AWS_SESSION_TOKEN: creds.sessionToken,
            AWS_REGION: "eu-west-1",
            AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
            AWS_CONFIG_FILE: "/dev/null",
            AWS_EC2_METADATA_DISABLED: "true",
            ATTINI_DISABLE_CLI_VERSION_CHECK: "true",
            ATTINI_DISABLE_ANSI_COLOR: "true",
        },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    t.teardown(() => {
        clearTimeout(timer);
        child.kill("SIGKILL");
    });
    const code = await new Promise<number | null>((r) => child.on("close", r));
    clearTimeout(timer);
    return { code, output };
}

const newestContent = async () => account.uploadedDistributionId((await account.latest(KEY)) ?? "none#none");

/** Waits, bounded; fails the test at once (rather than hanging on what follows) when it never holds. */
async function until(ok: () => boolean | Promise<boolean>, what: string, ms = 60_000) {
    if (!(await eventually(ok, ms))) throw new Error(`never: ${what}`);
}

/** No two recorded runs overlap: each started after the one before it ended. */
function oneAtATime(t: ExecutionContext, rs: readonly LedgerRun[]) {
    for (const [i, r] of rs.entries()) {
        if (i === 0) continue;
        const before = rs[i - 1];
        t.true(
            before.endedAt !== undefined && before.endedAt <= r.startedAt,
            `run ${r.runId} started after ${before.runId} ended: ${JSON.stringify(rs)}`,
        );
    }
}

/** A pipeline's deploy that holds the lease: its attini has uploaded and follows a deployment that never ends. */
async function holding(t: ExecutionContext, p: Pipeline, args: string[]) {
    attiniBackend.outcome.set(DEV, { result: "never" });
    const before = (await account.uploads()).length;
    const h = start(t, p, ["--timeout", "2m", ...args]);
    await until(async () => (await account.uploads()).length > before, `the holder uploads\n${h.stderr()}`);
    const lease = await ledger.holder("platform");
    if (lease?.commit !== p.commit) throw new Error(`the holder does not hold the lease: ${JSON.stringify(lease)}`);
    return { ...h, lease };
}

for (const order of ["at once", "A first", "B first"] as const) {
    test.serial(
        `two pipelines race on dev (${order}): one deploys at a time, and the newer commit B ends up deployed`,
        async (t) => {
            const p = twoPipelines(t);
            const before = await account.uploads();
            const args = ["--lease-wait", "2m"];
            let ra: ReturnType<typeof start>;
            let rb: ReturnType<typeof start>;
            if (order === "at once") {
                // Both start together, and a deployment takes a couple of seconds: whichever claims second
                // meets the first one's lease, or its record.
                attiniBackend.outcome.set(DEV, { result: "succeeded", afterMs: 2000 });
                [ra, rb] = [start(t, p.a, args), start(t, p.b, args)];
            } else {
                // The first one's deployment ends only once the second one has met the ledger.
                const hold = gate();
                attiniBackend.outcome.set(DEV, { result: "succeeded", until: hold.closed });
                const [first, second] = order === "A first" ? [p.a, p.b] : [p.b, p.a];
                const one = start(t, first, args);
                // It holds the lease, and its run is recorded, before the second one starts.
                const holds = async () => (await ledger.holder("platform"))?.commit === first.commit;
                await until(async () => (await holds()) && (await runs()).length === 1, "the first one holds");
                const lease = (await ledger.holder("platform"))!;
                const two = start(t, second, args);
                [ra, rb] = order === "A first" ? [one, two] : [two, one];
                if (order === "A first") {
                    // B waits for A's lease, and says whose it is.
                    await until(() => /waiting for the lease/.test(rb.stderr()), `B waits\n${rb.stderr()}`);
                    const holder = `held by local run ${lease.runId} at commit ${short(p.a.commit)}`;
                    t.regex(rb.stderr(), new RegExp(`waiting for the lease on platform in the ${WHERE}: ${holder}`));
                } else {
                    // A is refused while B deploys.
                    t.is((await ra.done).code, Exit.OUTDATED, ra.stderr());
                }
                hold.open();
            }
            const [a, b] = await Promise.all([ra.done, rb.done]);
            const waited = /waiting for the lease/.test(a.stderr + b.stderr) ? ", after a wait for the lease" : "";
            t.log(a.code === 0 ? `A deployed, then B${waited}` : `A was refused (exit ${a.code})${waited}`);
            t.is(b.code, 0, b.stderr);
            if (order === "A first") t.is(a.code, 0, a.stderr);
            if (order === "B first") t.is(a.code, Exit.OUTDATED, a.stderr);
            if (a.code !== 0) {
                t.is(a.code, Exit.OUTDATED, a.stderr);
                t.regex(a.stderr, new RegExp(`outdated: the ${WHERE} already has a newer commit ${short(p.b.commit)}`));
            }
            const recorded = await runs();
            oneAtATime(t, recorded);
            t.deepEqual(
                recorded.map((r) => [r.commit, r.distributionId, r.result]),
                [
                    ...(a.code === 0 ? [[p.a.commit, "content-a", "deployed"]] : []),
                    [p.b.commit, "content-b", "deployed"],
                ],
                "A deployed before B, or was refused and recorded nothing",
            );
            const added = (await account.uploads()).filter((u) => !before.includes(u));
            t.is(added.length, recorded.length, "one upload per deployed run: nothing from a refused one");
            t.is(await newestContent(), p.b.content, "B's content is the newest in the bucket");
        },
    );
}

test.serial(
    "an older pipeline after the newer one has finished is refused (exit 8), uploading nothing; --allow-rollback deploys it as a rollback, and the newer content is then held until --release-hold",
    async (t) => {
        const { a, b } = twoPipelines(t);
        const newer = await deploy(t, b);
        t.is(newer.code, 0, newer.stderr);
        const [bRun] = await runs();
        const uploads = await account.uploads();

        const older = await deploy(t, a);
        t.is(older.code, Exit.OUTDATED, older.stderr);
        t.regex(
            older.stderr,
            new RegExp(
                `outdated: the ${WHERE} already has a newer commit ${short(b.commit)} \\(deployed.*--allow-rollback`,
            ),
        );
        t.deepEqual(await account.uploads(), uploads, "nothing uploaded");
        t.is((await runs()).length, 1, "nothing recorded");

        const rollback = await deploy(t, a, ["--allow-rollback"]);
        t.is(rollback.code, 0, rollback.stderr);
        t.regex(rollback.stderr, new RegExp(`--allow-rollback: rolling back from commit ${short(b.commit)}`));
        t.like((await runs()).at(-1), {
            commit: a.commit,
            result: "deployed",
            rollbackFrom: { commit: b.commit, digest: bRun.digest },
        });
        t.is(await newestContent(), a.content);
        const afterRollback = await account.uploads();

        const rerun = await deploy(t, b);
        t.is(rerun.code, Exit.OUTDATED, rerun.stderr);
        t.regex(rerun.stderr, new RegExp(`this content \\(${bRun.digest}\\) was rolled back from.*--release-hold`));
        t.deepEqual(await account.uploads(), afterRollback, "the held content was not uploaded");
        t.is(await newestContent(), a.content);

        const released = await deploy(t, b, ["--release-hold"]);
        t.is(released.code, 0, released.stderr);
        t.regex(
            released.stderr,
            new RegExp(`--release-hold: the hold on ${bRun.digest} .* is released once this deploy succeeds`),
        );
        t.like((await runs()).at(-1), { commit: b.commit, result: "deployed" });
        const holds = await ledger.holds("platform");
        t.truthy(holds.find((h) => h.digest === bRun.digest)?.releasedAt, "released once it succeeded");
        t.is(await newestContent(), b.content);
    },
);

test.serial(
    "while another deploy holds the lease, one whose --lease-wait runs out exits 9, naming the holder, and uploads nothing",
    async (t) => {
        const { b } = twoPipelines(t);
        const holder = await holding(t, b, []);
        const uploads = await account.uploads();
        const r = await deploy(t, b, ["--lease-wait", "2s"]);
        t.is(r.code, Exit.LEASE_WAIT, r.stderr);
        t.regex(
            r.stderr,
            new RegExp(
                `another deploy of platform holds the lease in the ${WHERE}: local run ${holder.lease.runId} at commit ${short(b.commit)}.*--lease-wait`,
            ),
        );
        t.deepEqual(await account.uploads(), uploads, "nothing uploaded");
        t.deepEqual(
            (await runs()).map((x) => x.runId),
            [holder.lease.runId],
            "the deploy that gave up recorded nothing",
        );
        holder.child.kill("SIGTERM");
        t.is((await holder.done).code, 143);
        t.like((await runs())[0], { runId: holder.lease.runId, result: "interrupted" });
    },
);

test.serial(
    "a lease holder killed with SIGKILL: the next deploy takes the lease once it has expired (--lease-ttl), and the killed run's record stays started",
    async (t) => {
        const { b } = twoPipelines(t);
        const holder = await holding(t, b, ["--lease-ttl", "15s", "--kill-grace", "2s"]);
        process.kill(holder.child.pid!, "SIGKILL");
        t.is((await holder.done).signal, "SIGKILL");
        const left = leaseOf(await ledger.lease("platform"));
        t.like(left, { runId: holder.lease.runId }, "nothing released the killed holder's lease");
        t.true(left!.expiresAt > 0, JSON.stringify(left));

        attiniBackend.outcome.set(DEV, { result: "succeeded" });
        const next = await deploy(t, b, ["--lease-wait", "1m"]);
        t.is(next.code, 0, next.stderr);
        const [killed, deployed] = await runs();
        t.like(killed, { runId: holder.lease.runId, result: "started", endedAt: undefined });
        t.like(deployed, { commit: b.commit, result: "deployed" });
        t.true(deployed.startedAt > left!.expiresAt, "the next deploy started after the killed holder's lease expired");
        t.is(await newestContent(), b.content);
    },
);

test.serial(
    "the newest recorded commit is one this clone does not have: refused (exit 8), naming --allow-rollback, and nothing uploaded",
    async (t) => {
        const { b } = twoPipelines(t);
        const gone = "f".repeat(40);
        const at = Date.now() - 60_000;
        const S = (v: string) => ({ S: v });
        // A run another clone recorded, at a commit since rewritten away.
        await ledger.put({
            [LEDGER_PARTITION_KEY]: S("platform"),
            [LEDGER_SORT_KEY]: S(`run#${String(at).padStart(15, "0")}#gha-9-1-elsewhere`),
            runId: S("gha-9-1-elsewhere"),
            environment: S("dev"),
            distributionName: S("platform"),
            commit: S(gone),
            branch: S("dev"),
            digest: S(`tree:${"e".repeat(40)}`),
            sha256: S("0".repeat(64)),
            ciSystem: S("github-actions"),
            runUrl: S("https://github.com/acme/platform/actions/runs/9/attempts/1"),
            startedAt: { N: String(at) },
            endedAt: { N: String(at + 5000) },
            result: S("deployed"),
        });
        const uploads = await account.uploads();
        const r = await deploy(t, b);
        t.is(r.code, Exit.OUTDATED, r.stderr);
        t.regex(
            r.stderr,
            new RegExp(
                `the newest run in the ${WHERE} is commit ${short(gone)} \\(deployed.*a commit this clone does not have.*Pass --allow-rollback`,
            ),
        );
        t.deepEqual(await account.uploads(), uploads, "nothing uploaded");
        t.deepEqual(
            (await runs()).map((x) => x.commit),
            [gone],
            "nothing recorded",
        );
    },
);

test.serial(
    "status shows what the ledger says: the commit deployed, exactly how many commits behind, and a deployment made outside the driver",
    async (t) => {
        const p = twoPipelines(t);
        // The pipeline of A deploys; B is pushed (dev's tip), not deployed.
        t.is((await deploy(t, p.a)).code, 0);
        const j = jobEnv({ moto, backend, stsEndpoint: sts.endpoint });
        t.teardown(j.dispose);
        const status = () => runCli(["status", "--distribution-name", "platform", "--json"], j.env, p.a.ci);
        const first = await status();
        t.is(first.code, 0, first.stderr);
        const dev = JSON.parse(first.stdout).environments.find((e: { stack: string }) => e.stack === "dev");
        t.like(dev, {
            ledger: {
                deployed: { commit: p.a.commit, distributionId: "content-a", result: "deployed" },
                behind: 1,
                outside: false,
            },
            movedOn: true,
        });
        const text = await runCli(["status", "--distribution-name", "platform"], j.env, p.a.ci);
        t.regex(
            text.stdout,
            new RegExp(
                `deployed by attini-gitops: commit ${p.a.commit.slice(0, 10)}, tree:[0-9a-f]{40}, distributionId content-a`,
            ),
        );
        t.regex(text.stdout, /  1 commit behind origin\/dev \(the branch has them, the environment does not\)/);

        // Someone runs attini by hand, with credentials of their own in dev's account: the real
        // Attini CLI uploads B's content and follows it; no driver run records it.
        const byHand = await attiniByHand(t, path.join(p.b.ci, "distribution", "platform"), "dev");
        t.is(byHand.code, 0, byHand.output);
        t.is(await newestContent(), "content-b", "attini by hand deployed B's content");
        const after = JSON.parse((await status()).stdout).environments.find(
            (e: { stack: string }) => e.stack === "dev",
        );
        t.like(after, { ledger: { deployed: { commit: p.a.commit }, outside: true } });
        t.regex(
            (await runCli(["status", "--distribution-name", "platform"], j.env, p.a.ci)).stdout,
            /deployed outside attini-gitops/,
        );
    },
);
