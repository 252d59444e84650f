// deploy() with the upstream-alarm gate (issue 22), on the shared fake AWS: prod lists stage's
// alarms; the gate runs after the verified gate, with the same stage reader session, and before
// prod's deploy role is assumed or anything is written to prod's ledger. The emulator test
// (upstream-alarms.test.ts) runs the same path on moto's CloudWatch.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import type { AlarmHistory, AlarmNow } from "../automation/alarmRules";
import type { Aws } from "../automation/aws";
import { type DeployOptions, deploy } from "../automation/deploying";
import type { RecordedDeployment } from "../automation/deployments";
import { type DriverError, Exit } from "../automation/errors";
import { loadStacks } from "../lib/stackFiles";
import { unitDeployOptions } from "./support/deployOptions";
import { deployedRun, fakeAws, fakeServices } from "./support/fakeAws";
import { outputsFor, scratchProject } from "./support/project";
import { writeZip } from "./support/zip";

const A5XX = "arn:aws:cloudwatch:eu-west-1:222222222222:alarm:platform-5xx";
const READER = "arn:aws:iam::222222222222:role/attini-history-reader-eu-west-1";
const DEPLOY_ROLE = "arn:aws:iam::333333333333:role/attini-deploy-role-eu-west-1";

const withAlarms = (gate: "enforce" | "warn") => ({
    "Pulumi.stage.yaml": (s: string) => `${s}  attini-gitops:historyReaderAlarms:\n    - ${A5XX}\n`,
    "Pulumi.prod.yaml": (s: string) =>
        `${s.replace("promotionGate: enforce", `promotionGate: ${gate}`)}  attini-gitops:upstreamAlarms:\n    - ${A5XX}\n`,
});
const projects = { enforce: scratchProject(withAlarms("enforce")), warn: scratchProject(withAlarms("warn")) };
test.after.always(() => {
    for (const p of Object.values(projects)) p.dispose();
});

const marks = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-alarm-deploy-"));
test.after.always(() => fs.rmSync(marks, { recursive: true, force: true }));
let n = 0;

const NOW = Date.now();
/** Stage's deployment of build-7 began 2 hours ago (its ledger run), and succeeded. */
const RUN_START = NOW - 2 * 3_600_000;
const succeeded: RecordedDeployment = {
    environment: "acc",
    distributionName: "platform",
    distributionId: "build-7",
    time: RUN_START + 10_000,
    status: "succeeded",
};

async function run(
    gate: "enforce" | "warn",
    alarms: AlarmNow[],
    history?: Record<string, AlarmHistory>,
    more: Partial<DeployOptions> = {},
    /** Acts on the fake AWS before the deploy starts (and may watch it while it runs). */
    before: (f: ReturnType<typeof fakeAws>) => void = () => undefined,
) {
    const project = projects[gate];
    const zip = writeZip(path.join(project.dir, `build-${n}.zip`), {
        "attini-config.yaml": "distributionName: platform\ndistributionId: build-7\n",
    });
    const f = fakeAws({
        history: [succeeded],
        ledgerRuns: { "attini-gitops-ledger-acc": [deployedRun(zip, succeeded.time, "acc", RUN_START)] },
        alarms,
        alarmHistory: history,
    });
    before(f);
    const mark = path.join(marks, `ran-${n}`);
    const bin = path.join(marks, `attini-${n++}`);
    fs.writeFileSync(bin, `#!/bin/sh\ntouch '${mark}'\n`, { mode: 0o755 });
    const services = fakeServices(f.aws as Aws, { PATH: process.env.PATH, BRANCH: "main" });
    services.now = () => NOW;
    const result = await deploy(unitDeployOptions(zip, bin, project.dir, more), services).then(
        (summary) => ({ summary, error: undefined }),
        (error: DriverError) => ({ summary: undefined, error }),
    );
    const prodLedger = f.ledgers.get("attini-gitops-ledger-prod");
    return { ...result, ...f, prodLedger, ran: fs.existsSync(mark), log: services.lines.join("") };
}

const assumedDeployRole = (calls: string[]) => calls.includes(`assumeRole ${DEPLOY_ROLE}`);

test("the outputs pin prod's alarms", (t) => {
    const prod = loadStacks(projects.enforce.dir).configs.find((c) => c.stack === "prod");
    t.deepEqual(prod?.upstreamAlarms, [A5XX]);
    t.is(prod && outputsFor(prod, projects.enforce.dir).upstreamAlarms, JSON.stringify([A5XX]));
});

test("enforce: stage's alarm is in ALARM now: exit 7, prod's deploy role never assumed, nothing written", async (t) => {
    const r = await run("enforce", [{ name: "platform-5xx", state: "ALARM", changedAt: NOW - 60_000 }]);
    t.is(r.error?.exitCode, Exit.REFUSED, r.log);
    t.regex(r.error?.message ?? "", /alarm platform-5xx is in ALARM since/);
    t.false(assumedDeployRole(r.calls));
    t.false(r.ran);
    t.is(r.prodLedger, undefined, "prod's ledger was never opened");
    // The same reader session read stage's record and its alarms.
    t.deepEqual(
        r.calls.filter((c) => c.startsWith("assumeRole")),
        [`assumeRole ${READER}`],
    );
    t.true(r.calls.indexOf("describeAlarms platform-5xx") > r.calls.indexOf("readDeployments acc-platform"));
});

test("enforce: OK now, but stage's history shows ALARM since its deployment: exit 7", async (t) => {
    const r = await run("enforce", [{ name: "platform-5xx", state: "OK", changedAt: NOW - 600_000 }], {
        "platform-5xx": {
            changes: [
                { at: NOW - 600_000, to: "OK" },
                { at: NOW - 3_600_000, to: "ALARM" },
            ],
            complete: true,
        },
    });
    t.is(r.error?.exitCode, Exit.REFUSED, r.log);
    t.regex(r.error?.message ?? "", /but entered ALARM at .*, after the upstream deployment began/);
    t.true(r.calls.includes(`alarmHistory platform-5xx since ${RUN_START}`), r.calls.join("\n"));
    t.false(assumedDeployRole(r.calls));
});

test("enforce: changed since stage's deployment and its history unavailable: refused", async (t) => {
    const r = await run("enforce", [{ name: "platform-5xx", state: "OK", changedAt: NOW - 600_000 }]);
    t.is(r.error?.exitCode, Exit.REFUSED, r.log);
    t.regex(r.error?.message ?? "", /cannot be shown to have stayed out of ALARM/);
    t.false(assumedDeployRole(r.calls));
});

test("enforce: OK and unchanged since stage's deployment: passes, and the --json summary says what the alarm said", async (t) => {
    const r = await run("enforce", [{ name: "platform-5xx", state: "OK", changedAt: RUN_START - 86_400_000 }]);
    t.is(r.error, undefined, r.log);
    t.is(r.summary?.exitCode, 0);
    t.true(r.ran);
    t.false(
        r.calls.some((c) => c.startsWith("alarmHistory")),
        "no history needed",
    );
    t.like(r.summary?.upstreamAlarms, {
        result: "passed",
        upstream: "stage",
        alarms: [{ arn: A5XX, name: "platform-5xx", state: "OK", case: "unchanged", refuses: false }],
    });
    t.true(r.calls.indexOf("describeAlarms platform-5xx") < r.calls.indexOf(`assumeRole ${DEPLOY_ROLE}`));
});

test("a missing alarm is a configuration error: refused under enforce and under warn", async (t) => {
    for (const gate of ["enforce", "warn"] as const) {
        const r = await run(gate, []);
        t.is(r.error?.exitCode, Exit.REFUSED, r.log);
        t.regex(r.error?.message ?? "", /configuration error.*alarm platform-5xx does not exist.*Fix upstreamAlarms/);
        t.false(assumedDeployRole(r.calls));
    }
});

test("warn: an alarm in ALARM is a warning, and the deploy goes on", async (t) => {
    const r = await run("warn", [{ name: "platform-5xx", state: "ALARM", changedAt: NOW - 60_000 }]);
    t.is(r.error, undefined, r.log);
    t.is(r.summary?.exitCode, 0);
    t.true(r.ran);
    t.regex(r.log, /promotion gate \(warn\): stage's alarms refuse the promotion: alarm platform-5xx is in ALARM/);
    t.like(r.summary?.upstreamAlarms, { result: "warned" });
});

test("--skip-promotion-check does not skip the alarms: an alarm in ALARM still refuses", async (t) => {
    const r = await run("enforce", [{ name: "platform-5xx", state: "ALARM", changedAt: NOW - 60_000 }], undefined, {
        skipPromotionCheck: true,
    });
    t.is(r.error?.exitCode, Exit.REFUSED, r.log);
    t.false(assumedDeployRole(r.calls));
});

test("--dry-run: says what it would check, and reads no alarm", async (t) => {
    const r = await run("enforce", [{ name: "platform-5xx", state: "ALARM" }], undefined, { dryRun: true });
    t.is(r.error, undefined, r.log);
    t.regex(r.log, /dry run: the upstream-alarm gate would refuse if any of platform-5xx in stage does not exist/);
    t.false(r.calls.some((c) => c.startsWith("describeAlarms")));
    t.like(r.summary?.upstreamAlarms, { result: "not-checked" });
});

test("an alarm that enters ALARM while prod's deploy waits for its lease: asked again once the lease is held, exit 7, nothing recorded", async (t) => {
    const alarms: AlarmNow[] = [{ name: "platform-5xx", state: "OK", changedAt: RUN_START - 60_000 }];
    let watch: NodeJS.Timeout | undefined;
    t.teardown(() => clearInterval(watch));
    const r = await run("enforce", alarms, undefined, { leaseWaitMs: 60_000 }, (f) => {
        void f.aws.ledger(
            "attini-gitops-ledger-prod",
            "333333333333",
            () => ({}) as never,
            async () => ({}) as never,
        );
        const prod = f.ledgers.get("attini-gitops-ledger-prod")!;
        // Another deploy holds prod's lease until this one has met it; meanwhile stage's alarm fires.
        prod.lease = { runId: "other", commit: "0".repeat(40), ciSystem: "local", since: 0, expiresAt: NOW + 600_000 };
        watch = setInterval(() => {
            if (!prod.calls.includes("takeLease platform")) return;
            clearInterval(watch);
            alarms[0] = { name: "platform-5xx", state: "ALARM", changedAt: NOW - 1000 };
            if (prod.lease) prod.lease.expiresAt = 0;
        }, 5);
    });
    t.is(r.error?.exitCode, Exit.REFUSED, r.log);
    t.regex(r.log, /upstream alarms: checking again, on that verdict/);
    t.regex(r.error?.message ?? "", /alarm platform-5xx is in ALARM since/);
    t.false(r.ran);
    t.deepEqual(r.prodLedger?.runs, [], "nothing recorded in prod");
    t.is(r.prodLedger?.lease?.expiresAt, 0, "the lease let go");
});
