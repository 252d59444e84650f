// deploy() with the shared fake AWS (test/support/fakeAws.ts) and the stack outputs handed in: the
// order of the AWS calls and the exit codes, in milliseconds. The end-to-end tests on the emulator and the
// real Attini CLI (driver.test.ts, verified-promotion.test.ts) cover the same paths for real.

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import type { Aws } from "../automation/aws";
import { Deadline } from "../automation/awsCall";
import { type DeployOptions, deploy } from "../automation/deploying";
import type { RecordedDeployment } from "../automation/deployments";
import { type DriverError, Exit } from "../automation/errors";
import { readerOf, readStackHistory } from "../automation/history";
import { loadStacks } from "../lib/stackFiles";
import { unitDeployOptions } from "./support/deployOptions";
import { deployedRun, fakeAws, fakeServices } from "./support/fakeAws";
import { scratchProject } from "./support/project";
import { writeZip } from "./support/zip";

const READER = (account: string) => `arn:aws:iam::${account}:role/attini-history-reader-eu-west-1`;
const DEPLOY_ROLE = (account: string) => `arn:aws:iam::${account}:role/attini-deploy-role-eu-west-1`;

const project = scratchProject();
test.after.always(() => project.dispose());
const configs = loadStacks(project.dir).configs;
const zip = writeZip(path.join(project.dir, "build-7.zip"), {
    "attini-config.yaml": "distributionName: platform\ndistributionId: build-7\n",
});
const succeeded: RecordedDeployment = {
    environment: "acc",
    distributionName: "platform",
    distributionId: "build-7",
    time: Date.now() - 60_000,
    status: "succeeded",
};

/** An attini that leaves a mark when it runs. */
const marks = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-deploy-unit-"));
test.after.always(() => fs.rmSync(marks, { recursive: true, force: true }));
let n = 0;
function attini(): { bin: string; ran: () => boolean } {
    const mark = path.join(marks, `ran-${n}`);
    const bin = path.join(marks, `attini-${n++}`);
    fs.writeFileSync(bin, `#!/bin/sh\ntouch '${mark}'\n`, { mode: 0o755 });
    return { bin, ran: () => fs.existsSync(mark) };
}

/** deploy's options for `distributionPath` in the scratch project, as the command would build them. */
function options(distributionPath: string, attiniBin: string, more: Partial<DeployOptions> = {}): DeployOptions {
    return unitDeployOptions(distributionPath, attiniBin, project.dir, more);
}

async function run(branch: string, distributionPath: string, aws: Aws, more: Partial<DeployOptions> = {}) {
    const a = attini();
    const o = options(distributionPath, a.bin, more);
    const services = fakeServices(aws, { PATH: process.env.PATH, BRANCH: branch });
    const lines = services.lines;
    const result = await deploy(o, services).then(
        (summary) => ({ summary, error: undefined }),
        (error: DriverError) => ({ summary: undefined, error }),
    );
    return { ...result, ran: a.ran(), log: lines.join("") };
}

/** Stage's ledger holds a deployed run of this .zip. */
const vouched = (file: string) => ({ "attini-gitops-ledger-acc": [deployedRun(file, succeeded.time)] });

test("prod, a zip that succeeded in stage: stage's reader first (checked to be in stage's account), then prod's deploy role, then attini", async (t) => {
    const { aws, calls, ledgers } = fakeAws({ history: [succeeded], ledgerRuns: vouched(zip) });
    const r = await run("main", zip, aws);
    t.is(r.error, undefined, r.log);
    t.is(r.summary?.exitCode, 0);
    t.true(r.ran);
    t.deepEqual(calls, [
        "findSourceCredentials",
        `assumeRole ${READER("222222222222")}`,
        "callerAccount 222222222222",
        "readDeployments acc-platform",
        `assumeRole ${DEPLOY_ROLE("333333333333")}`,
        "callerAccount 333333333333",
        // With the deploy role: Attini's newest deployment before attini runs, and the one it made after.
        "readDeployments prod-platform",
        "readDeployments prod-platform",
    ]);
    // One reader session read both: stage's ledger (this content's run, and its holds), then Attini's record.
    t.deepEqual(ledgers.get("attini-gitops-ledger-acc")?.calls, ["findRun platform", "holds platform"]);
    t.like(r.summary?.verifiedPromotion, {
        result: "passed",
        distributionId: "build-7",
        content: {
            case: "deployed",
            digest: `sha256:${createHash("sha256").update(fs.readFileSync(zip)).digest("hex")}`,
        },
    });
});

test("dev has no upstream: no history is read", async (t) => {
    const { aws, calls } = fakeAws();
    const r = await run("dev", project.distribution, aws);
    t.is(r.summary?.exitCode, 0, r.log);
    t.deepEqual(calls, [
        "findSourceCredentials",
        `assumeRole ${DEPLOY_ROLE("111111111111")}`,
        "callerAccount 111111111111",
        "readDeployments dev-platform",
        "readDeployments dev-platform",
    ]);
});

test("STS refuses the deploy role: exit 5, and attini never runs", async (t) => {
    const { aws, calls } = fakeAws({ refuse: (arn) => arn === DEPLOY_ROLE("111111111111") });
    const r = await run("dev", project.distribution, aws);
    t.is(r.error?.exitCode, Exit.CREDENTIALS);
    t.false(r.ran);
    t.deepEqual(calls.slice(-1), [`assumeRole ${DEPLOY_ROLE("111111111111")}`], "nothing after the refusal");
});

test("the deploy role's credentials act in another account: exit 6, attini never runs, and the ledger records nothing (the lease, taken beside the check, is let go)", async (t) => {
    const { aws, ledgers } = fakeAws({
        accountOf: (arn) => (arn === DEPLOY_ROLE("111111111111") ? "999999999999" : arn.split(":")[4]),
    });
    const r = await run("dev", project.distribution, aws);
    t.is(r.error?.exitCode, Exit.WRONG_ACCOUNT);
    const ledger = ledgers.get("attini-gitops-ledger-dev");
    t.deepEqual(ledger?.runs ?? [], [], "no run recorded");
    t.is(ledger?.lease?.expiresAt ?? 0, 0, "no lease left held");
    t.regex(
        r.error!.message,
        /stack 'dev' belongs to account 111111111111, but the assumed deploy role's credentials \(arn:aws:iam::111111111111:role\/attini-deploy-role-eu-west-1\) are for account 999999999999/,
    );
    t.false(r.ran);
});

test("stage's reader acts in another account: prod's gate (enforce) refuses, exit 7, before prod's deploy role is assumed", async (t) => {
    const { aws, calls } = fakeAws({
        history: [succeeded],
        accountOf: (arn) => (arn === READER("222222222222") ? "444444444444" : arn.split(":")[4]),
    });
    const r = await run("main", zip, aws);
    t.is(r.error?.exitCode, Exit.REFUSED);
    t.regex(
        r.error!.message,
        /stack 'stage' belongs to account 222222222222, but the assumed history reader's credentials \(arn:aws:iam::222222222222:role\/attini-history-reader-eu-west-1\) are for account 444444444444/,
    );
    t.false(calls.includes(`assumeRole ${DEPLOY_ROLE("333333333333")}`));
    t.false(
        calls.some((c) => c.startsWith("readDeployments")),
        "no history read with credentials from another account",
    );
    t.false(r.ran);
});

test("stage's history shows the id failed: exit 7, prod's deploy role is never assumed", async (t) => {
    const { aws, calls } = fakeAws({ history: [{ ...succeeded, status: "failed", detail: "deployment plan FAILED" }] });
    const r = await run("main", zip, aws);
    t.is(r.error?.exitCode, Exit.REFUSED);
    t.regex(r.error!.message, /distributionId build-7 failed in acc/);
    t.false(calls.includes(`assumeRole ${DEPLOY_ROLE("333333333333")}`));
    t.false(r.ran);
});

test("the history reader's credentials are registered for redaction before anything else is done with them", async (t) => {
    const { aws, calls } = fakeAws({ history: [succeeded] });
    const redacted: string[] = [];
    const stage = configs.find((c) => c.stack === "stage")!;
    const ctx = {
        region: "eu-west-1",
        deadline: new Deadline(10_000, "--aws-timeout"),
        requestMs: 1000,
        log: () => {},
    };
    const history = await readStackHistory(
        aws,
        readerOf(stage),
        {
            branch: "main",
            sessionName: "deploy-platform",
            sourceIdentity: "ci",
            tags: {},
            redact: (...s) => {
                calls.push("redact");
                redacted.push(...s);
            },
        },
        {},
        ctx,
        { distributionName: "platform" },
    );
    t.deepEqual(history, [succeeded]);
    t.deepEqual(redacted, ["AKIAFAKE222222222222", "fake-secret", "token-222222222222"]);
    t.deepEqual(calls, [
        `assumeRole ${READER("222222222222")}`,
        "redact",
        "callerAccount 222222222222",
        "readDeployments acc-platform",
    ]);
});

test("prod requires an ExternalId and none is given: a usage error (exit 2) before any AWS call, even for a promoted zip", async (t) => {
    const withId = scratchProject({
        "Pulumi.prod.yaml": (s) =>
            s.replace("\nconfig:\n", "\nconfig:\n  attini-gitops:externalId:\n    secure: v1:c2VjcmV0:c2VjcmV0\n"),
    });
    t.teardown(() => withId.dispose());
    const promoted = writeZip(path.join(withId.dir, "build-7.zip"), {
        "attini-config.yaml": "distributionName: platform\ndistributionId: build-7\n",
    });
    const { aws, calls } = fakeAws({ history: [succeeded] });
    const r = await run("main", promoted, aws, { cwd: withId.dir });
    t.is(r.error?.exitCode, Exit.USAGE, r.log);
    t.regex(r.error!.message, /stack prod requires an ExternalId for its deploy role: pass --external-id/);
    t.deepEqual(calls, [], "no AWS call at all");
    t.false(r.ran);
    const given = await run("main", promoted, fakeAws({ history: [succeeded], ledgerRuns: vouched(promoted) }).aws, {
        cwd: withId.dir,
        externalId: "the-external-id",
    });
    t.is(given.summary?.exitCode, 0, given.log);
});

test("the zip is checked and deployed as one file: swapping the original after the checks changes nothing attini reads", async (t) => {
    const original = writeZip(path.join(project.dir, "swap.zip"), {
        "attini-config.yaml": "distributionName: platform\ndistributionId: build-7\n",
    });
    const checkedSha = createHash("sha256").update(fs.readFileSync(original)).digest("hex");
    // attini records the sha256 of the file it is told to deploy.
    const seen = path.join(marks, "seen-sha256");
    const bin = path.join(marks, "attini-sha");
    fs.writeFileSync(bin, `#!/bin/sh\nsha256sum "$3" | cut -d' ' -f1 > '${seen}'\n`, { mode: 0o755 });
    const services = fakeServices(fakeAws({ history: [succeeded], ledgerRuns: vouched(original) }).aws, {
        PATH: process.env.PATH,
        BRANCH: "main",
    });
    const readOutputs = services.readOutputs;
    // The outputs are read after the preflight: someone swaps the file then, before attini starts.
    services.readOutputs = async (...args) => {
        fs.writeFileSync(original, "PK\u0003\u0004 other bytes, never checked");
        return readOutputs(...args);
    };
    const summary = await deploy(options(original, bin, { expectSha256: checkedSha }), services);
    t.is(summary.exitCode, 0, services.lines.join(""));
    t.is(summary.sha256, checkedSha);
    t.is(fs.readFileSync(seen, "utf8").trim(), checkedSha, "attini read the bytes that were checked");
    t.not(summary.command?.[3], original);
    t.false(fs.existsSync(summary.command?.[3] ?? ""), "the private copy is removed when the deploy ends");
});

test("after waiting for prod's lease, the verified gate is asked again: stage rolled back from this content meanwhile, so prod refuses (exit 7) and records nothing", async (t) => {
    const { aws, ledgers } = fakeAws({ history: [succeeded], ledgerRuns: vouched(zip) });
    // Another deploy to prod holds the lease until this one has met it (then for about a second more).
    void aws.ledger(
        "attini-gitops-ledger-prod",
        "333333333333",
        () => ({}) as never,
        async () => ({}) as never,
    );
    const prodLedger = ledgers.get("attini-gitops-ledger-prod")!;
    const now = Date.now();
    // Held until prod's deploy has met it (not for a time, which a loaded machine could outlast).
    prodLedger.lease = {
        runId: "other",
        commit: "0".repeat(40),
        ciSystem: "local",
        since: now,
        expiresAt: now + 600_000,
    };
    // While prod's deploy waits (it has passed the gate once and met the lease), stage rolls back
    // from this very content.
    const digest = `sha256:${createHash("sha256").update(fs.readFileSync(zip)).digest("hex")}`;
    const watch = setInterval(() => {
        if (!prodLedger.calls.includes("takeLease platform")) return;
        clearInterval(watch);
        ledgers.get("attini-gitops-ledger-acc")!.holds.set(digest, {
            digest,
            commit: "a".repeat(40),
            heldAt: Date.now(),
            heldBy: "stage's rollback",
        });
        if (prodLedger.lease) prodLedger.lease.expiresAt = 0; // the other run ends
    }, 5);
    t.teardown(() => clearInterval(watch));
    const r = await run("main", zip, aws, { leaseWaitMs: 10_000 });
    t.is(r.error?.exitCode, Exit.REFUSED, r.log);
    t.regex(r.log, /verified promotion gate: checking again, after \d+s waiting for the lease/);
    t.regex(r.error!.message, /stage rolled back from this content .* and holds it/);
    t.false(r.ran);
    t.deepEqual(prodLedger.runs, [], "nothing recorded in prod");
    t.is(prodLedger.lease?.expiresAt, 0, "the lease let go");
});
