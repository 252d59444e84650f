// deploy() with the soak time and --break-glass, on the shared fake AWS (test/support/fakeAws.ts)
// and a clock the test sets (Services.now): prod (soakMinutes 60 in this project) refuses content
// stage has not held for an hour, before its deploy role is assumed; --break-glass passes that and
// nothing else, its reason in the deploy role's session tags and prod's ledger; a stack whose
// outputs forbid it refuses it first. End to end on the emulator: soak.test.ts.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test, { type ExecutionContext } from "ava";
import type { Aws } from "../automation/aws";
import { type DeployOptions, deploy } from "../automation/deploying";
import type { RecordedDeployment } from "../automation/deployments";
import { type DriverError, Exit } from "../automation/errors";
import type { LedgerRun } from "../automation/ledgerTypes";
import { checkedOutputs } from "../automation/outputs";
import type { StackConfig } from "../lib/config/types";
import { unitDeployOptions } from "./support/deployOptions";
import { deployedRun, fakeAws, fakeServices } from "./support/fakeAws";
import { outputsFor, scratchProject } from "./support/project";
import { writeZip } from "./support/zip";

const DEPLOY_ROLE = "arn:aws:iam::333333333333:role/attini-deploy-role-eu-west-1";
const STAGE_LEDGER = "attini-gitops-ledger-acc";
const PROD_LEDGER = "attini-gitops-ledger-prod";
const MIN = 60_000;

const project = scratchProject({
    "Pulumi.prod.yaml": (text) => `${text}  attini-gitops:soakMinutes: 60\n`,
});
test.after.always(() => project.dispose());
const zip = writeZip(path.join(project.dir, "build-7.zip"), {
    "attini-config.yaml": "distributionName: platform\ndistributionId: build-7\n",
});

/** Stage deployed build-7: Attini's record at `attiniTime`, the ledger run ending a minute after it started. */
const START = Date.now() - 30 * MIN;
const stageRun = deployedRun(zip, START + 5_000, "acc", START);
const SINCE = stageRun.endedAt as number; // the later of the run's end and Attini's time
const succeeded = (time = stageRun.attiniTime as number): RecordedDeployment => ({
    environment: "acc",
    distributionName: "platform",
    distributionId: "build-7",
    time,
    status: "succeeded",
});

const marks = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-soak-unit-"));
test.after.always(() => fs.rmSync(marks, { recursive: true, force: true }));
let n = 0;

interface Run {
    now?: number;
    more?: Partial<DeployOptions>;
    /** Changes to prod's outputs, as `pulumi up` provisioned them (checked against the checkout, as always). */
    outputs?: Record<string, unknown>;
    /** The checkout deployed from (default: the project with prod's soakMinutes 60). */
    dir?: string;
}

/** Deploys build-7.zip to prod (branch main) at `now`; records the tags of every AssumeRole. */
async function toProd(
    aws: Aws,
    calls: string[],
    { now = SINCE + 10 * MIN, more = {}, outputs = {}, dir = project.dir }: Run = {},
) {
    const mark = path.join(marks, `ran-${n}`);
    const bin = path.join(marks, `attini-${n++}`);
    fs.writeFileSync(bin, `#!/bin/sh\ntouch '${mark}'\n`, { mode: 0o755 });
    const tags: Record<string, Record<string, string>> = {};
    const assumeRole = aws.assumeRole;
    const watched: Aws = {
        ...aws,
        assumeRole: async (req, ctx, source) => {
            tags[req.roleArn] = req.tags;
            return assumeRole(req, ctx, source);
        },
    };
    const services = fakeServices(watched, { PATH: process.env.PATH, BRANCH: "main" });
    services.now = () => now;
    services.readOutputs = async (dir: string, c: StackConfig, configs: readonly StackConfig[]) =>
        checkedOutputs(c, configs, { ...outputsFor(c, dir), ...(c.stack === "prod" ? outputs : {}) });
    const result = await deploy(unitDeployOptions(zip, bin, dir, more), services).then(
        (summary) => ({ summary, error: undefined }),
        (error: DriverError) => ({ summary: undefined, error }),
    );
    const prodAssumed = calls.includes(`assumeRole ${DEPLOY_ROLE}`);
    return { ...result, ran: fs.existsSync(mark), log: services.lines.join(""), tags, prodAssumed };
}

/** A refusal reached nothing in prod: its deploy role was never assumed, and attini never ran. */
function nothingInProd(t: ExecutionContext, r: { prodAssumed: boolean; ran: boolean }): void {
    t.false(r.prodAssumed, "prod's deploy role is never assumed");
    t.false(r.ran, "attini never ran");
}

/** A fake AWS where stage holds build-7 (its ledger and Attini's record), plus `runs` in stage's ledger. */
function stageHolds(runs: LedgerRun[] = [], history: RecordedDeployment[] = [succeeded()]) {
    return fakeAws({ history, ledgerRuns: { [STAGE_LEDGER]: [stageRun, ...runs] } });
}

test.serial(
    "soak not met: exit 7 names how long stage has held it and when it is ready; nothing assumed in prod, nothing recorded",
    async (t) => {
        const { aws, calls, ledgers } = stageHolds();
        const r = await toProd(aws, calls, { now: SINCE + 12 * MIN + 30_000 });
        t.is(r.error?.exitCode, Exit.REFUSED, r.log);
        const ready = new Date(SINCE + 60 * MIN).toISOString().replace(/\.000Z$/, "Z");
        t.regex(
            r.error!.message,
            new RegExp(
                `^soak time \\(enforce\\): stage has held this content for 12 min, 30 sec, since .*; prod requires 1 hr \\(soakMinutes 60\\): ready at ${ready.replace(/[.]/g, "\\.")}\\.`,
            ),
        );
        t.like(r.error!.details.soak, { result: "refused", case: "not-met", soakedMinutes: 12, readyAt: ready });
        nothingInProd(t, r);
        t.is(ledgers.get(PROD_LEDGER), undefined, "prod's ledger was not even opened");
        // The soak read stage's newest run with the reader, after the verified gate's reads.
        t.deepEqual(ledgers.get(STAGE_LEDGER)?.calls, ["findRun platform", "holds platform", "runs platform"]);
    },
);

test.serial("soak met: prod deploys, and the summary carries the verdict", async (t) => {
    const { aws, calls } = stageHolds();
    const r = await toProd(aws, calls, { now: SINCE + 60 * MIN });
    t.is(r.summary?.exitCode, 0, r.log + (r.error?.message ?? ""));
    t.true(r.ran);
    t.like(r.summary?.soak, { result: "passed", case: "met", minimumMinutes: 60, soakedMinutes: 60 });
    t.regex(r.log, /soak time: stage has held this content for 1 hr, since .*: met/);
    t.is(r.summary?.breakGlass, undefined);
});

test.serial("a newer stage deployment of the same content restarts the soak", async (t) => {
    // Stage deployed build-7 again 50 minutes after the first: an hour after the first is not enough.
    const againStart = SINCE + 50 * MIN;
    const again = { ...deployedRun(zip, againStart + 5_000, "acc", againStart), runId: "again" };
    again.entry = `run#${String(againStart).padStart(15, "0")}#again`;
    const { aws, calls } = stageHolds([again], [succeeded(againStart + 5_000), succeeded()]);
    const r = await toProd(aws, calls, { now: SINCE + 70 * MIN });
    t.is(r.error?.exitCode, Exit.REFUSED, r.log);
    const since = new Date(again.endedAt as number).toISOString().replace(/\.000Z$/, "Z");
    t.like(r.error!.details.soak, { case: "not-met", since });
    t.false(r.prodAssumed);
});

test.serial(
    "other content deployed to stage since: refused as no longer held, and --break-glass does not pass it",
    async (t) => {
        const otherStart = SINCE + 20 * MIN;
        const other: LedgerRun = {
            ...stageRun,
            entry: `run#${String(otherStart).padStart(15, "0")}#other`,
            runId: "other",
            digest: "sha256:other",
            startedAt: otherStart,
            endedAt: otherStart + MIN,
            attiniTime: otherStart + 5_000,
            result: "failed",
        };
        const { aws, calls } = stageHolds(
            [other],
            [{ ...succeeded(otherStart + 5_000), distributionId: "build-8" }, succeeded()],
        );
        for (const more of [{}, { breakGlass: "INC-4711 payment outage" }]) {
            const r = await toProd(aws, calls, { now: SINCE + 500 * MIN, more });
            t.is(r.error?.exitCode, Exit.REFUSED, r.log);
            t.regex(
                r.error!.message,
                /^soak time \(enforce\): stage no longer holds this content: its ledger has a newer run/,
            );
            nothingInProd(t, r);
        }
    },
);

test.serial(
    "--break-glass passes an unmet soak: the reason is in the deploy role's session tags, prod's ledger run and the summary",
    async (t) => {
        const { aws, calls, ledgers } = stageHolds();
        const reason = "INC-4711 payment outage: hotfix approved by @oncall";
        const r = await toProd(aws, calls, { now: SINCE + 5 * MIN, more: { breakGlass: reason } });
        t.is(r.summary?.exitCode, 0, r.log + (r.error?.message ?? ""));
        t.true(r.ran);
        t.is(r.tags[DEPLOY_ROLE]?.["attini-gitops:break-glass"], reason);
        t.like(r.tags[DEPLOY_ROLE], { "attini-gitops:stack": "prod", "attini-gitops:environment": "prod" });
        const [recorded] = ledgers.get(PROD_LEDGER)?.runs ?? [];
        t.like(recorded, { result: "deployed", breakGlass: reason });
        t.like(r.summary, {
            breakGlass: reason,
            soak: { result: "broken-glass", case: "not-met", breakGlass: reason },
        });
        t.regex(
            r.log,
            /soak time not met: .*--break-glass: deploying anyway, for: "INC-4711 payment outage: hotfix approved by @oncall"/,
        );
        // Stage's reader is not tagged with it: only the deploy role's sessions are.
        const reader = Object.keys(r.tags).find((k) => k.includes("history-reader"));
        t.truthy(reader);
        t.false("attini-gitops:break-glass" in r.tags[reader as string]);
    },
);

test.serial(
    "a stack whose outputs forbid break-glass refuses --break-glass (exit 2) before the soak is judged and before prod's role",
    async (t) => {
        const { aws, calls, ledgers } = stageHolds();
        const forbidding = scratchProject({
            "Pulumi.prod.yaml": (text) =>
                `${text}  attini-gitops:soakMinutes: 60\n  attini-gitops:breakGlass: forbidden\n`,
        });
        t.teardown(() => forbidding.dispose());
        // The soak is not met either: the break-glass refusal comes first.
        const r = await toProd(aws, calls, {
            now: SINCE + 5 * MIN,
            more: { breakGlass: "INC-4711" },
            dir: forbidding.dir,
        });
        t.is(r.error?.exitCode, Exit.USAGE, r.log);
        t.regex(
            r.error!.message,
            /^stack prod forbids break-glass \(attini-gitops:breakGlass is "forbidden" in its provisioned outputs\)/,
        );
        t.regex(r.error!.message, /pulumi up -s prod/);
        nothingInProd(t, r);
        t.notRegex(r.log, /soak time/);
        t.false(ledgers.get(STAGE_LEDGER)?.calls.includes("runs platform"), "the soak read nothing");
        // Without --break-glass the same stack deploys once the soak is met.
        const ok = await toProd(aws, calls, { now: SINCE + 61 * MIN, dir: forbidding.dir });
        t.is(ok.summary?.exitCode, 0, ok.log);
    },
);

test.serial(
    "the soak time is the provisioned one: a checkout whose soakMinutes differs from the outputs is refused (exit 4) until pulumi up",
    async (t) => {
        const { aws, calls } = stageHolds();
        for (const soakMinutes of [0, 1440]) {
            // The checkout says 60; `pulumi up` provisioned another value.
            const r = await toProd(aws, calls, { now: SINCE + 61 * MIN, outputs: { soakMinutes } });
            t.is(r.error?.exitCode, Exit.NOT_PROVISIONED, r.log);
            t.regex(r.error!.message, /soakMinutes/);
            t.regex(r.error!.message, /pulumi up -s prod/);
            nothingInProd(t, r);
        }
    },
);

test.serial("--break-glass never passes a failed stage deployment: the verified gate refuses (exit 7)", async (t) => {
    const failed = { ...succeeded(), status: "failed" as const, detail: "CloudformationError: rolled back" };
    const { aws, calls } = stageHolds([], [failed]);
    const r = await toProd(aws, calls, { now: SINCE + 5 * MIN, more: { breakGlass: "INC-4711" } });
    t.is(r.error?.exitCode, Exit.REFUSED, r.log);
    t.regex(r.error!.message, /^promotion gate \(enforce\): distributionId build-7 failed in acc/);
    nothingInProd(t, r);
});

test.serial(
    "--break-glass never passes the lease: another deploy holds prod's, and the wait runs out (exit 9)",
    async (t) => {
        const { aws, calls, ledgers } = stageHolds();
        void aws.ledger(
            PROD_LEDGER,
            "333333333333",
            () => ({}) as never,
            async () => ({}) as never,
        );
        const prod = ledgers.get(PROD_LEDGER)!;
        const now = Date.now();
        prod.lease = {
            runId: "other",
            commit: "0".repeat(40),
            ciSystem: "local",
            since: now,
            expiresAt: now + 600_000,
        };
        const r = await toProd(aws, calls, { now: SINCE + 5 * MIN, more: { breakGlass: "INC-4711", leaseWaitMs: 0 } });
        t.is(r.error?.exitCode, Exit.LEASE_WAIT, r.log);
        t.false(r.ran);
        t.deepEqual(prod.runs, []);
    },
);

test.serial(
    "--break-glass never passes the account guard: prod's role acting in another account is exit 6",
    async (t) => {
        const { aws, calls } = fakeAws({
            history: [succeeded()],
            ledgerRuns: { [STAGE_LEDGER]: [stageRun] },
            accountOf: (arn) => (arn === DEPLOY_ROLE ? "444444444444" : arn.split(":")[4]),
        });
        const r = await toProd(aws, calls, { now: SINCE + 5 * MIN, more: { breakGlass: "INC-4711" } });
        t.is(r.error?.exitCode, Exit.WRONG_ACCOUNT, r.log);
        t.false(r.ran);
    },
);

test.serial("--dry-run says what the soak would check and reads nothing for it", async (t) => {
    const { aws, calls, ledgers } = stageHolds();
    const r = await toProd(aws, calls, { now: SINCE + 5 * MIN, more: { dryRun: true } });
    t.is(r.summary?.exitCode, 0, r.log);
    t.like(r.summary?.soak, { result: "not-checked", minimumMinutes: 60 });
    t.regex(r.log, /dry run: the soak time would require stage to have held this content for 1 hr \(soakMinutes 60\)/);
    t.is(ledgers.get(STAGE_LEDGER)?.calls.length ?? 0, 0);
});

test.serial(
    "after waiting for prod's lease the soak is judged again: stage took other content meanwhile, so prod refuses (exit 7) and records nothing",
    async (t) => {
        const { aws, calls, ledgers } = stageHolds();
        void aws.ledger(
            PROD_LEDGER,
            "333333333333",
            () => ({}) as never,
            async () => ({}) as never,
        );
        const prod = ledgers.get(PROD_LEDGER)!;
        prod.lease = {
            runId: "other",
            commit: "0".repeat(40),
            ciSystem: "local",
            since: Date.now(),
            expiresAt: Date.now() + 600_000,
        };
        // Once this deploy has met the lease (having passed the gate and the soak), stage starts a
        // deploy of other content, and the other prod deploy ends a second later.
        const watch = setInterval(() => {
            if (!prod.calls.includes("takeLease platform")) return;
            clearInterval(watch);
            const start = Date.now();
            ledgers.get(STAGE_LEDGER)!.runs.push({
                ...stageRun,
                entry: `run#${String(start).padStart(15, "0")}#newer`,
                runId: "newer",
                digest: "sha256:other",
                startedAt: start,
                endedAt: undefined,
                attiniTime: undefined,
                result: "started",
            });
            if (prod.lease) prod.lease.expiresAt = Date.now() + 1000;
        }, 5);
        t.teardown(() => clearInterval(watch));
        const r = await toProd(aws, calls, { now: SINCE + 61 * MIN, more: { leaseWaitMs: 10_000 } });
        t.is(r.error?.exitCode, Exit.REFUSED, r.log);
        t.regex(r.log, /soak time: stage has held this content for 1 hr, 1 min, .*: met/, "it passed the first time");
        t.regex(r.log, /soak time: checking again, on that verdict/);
        t.regex(
            r.error!.message,
            /^soak time \(enforce\): stage no longer holds this content: its ledger has a newer run/,
        );
        t.false(r.ran);
        t.deepEqual(prod.runs, [], "nothing recorded in prod");
        t.is(prod.lease?.expiresAt, 0, "the lease let go");
    },
);
