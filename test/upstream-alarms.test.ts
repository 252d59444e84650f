// The upstream-alarm gate end to end (issue 22), on the emulator's CloudWatch: prod lists stage's
// alarm platform-5xx (and stage grants its history reader that alarm); the driver reads it with
// stage's reader after the verified gate. moto implements DescribeAlarms but not
// DescribeAlarmHistory, so the cases here are the ones DescribeAlarms alone decides: an alarm in
// ALARM refuses, one that is OK and unchanged since stage's deployment passes. The history cases
// run on the fake of the AWS port (alarm-deploy.unit.test.ts).
import {
    CloudWatchClient,
    DeleteAlarmsCommand,
    PutMetricAlarmCommand,
    SetAlarmStateCommand,
} from "@aws-sdk/client-cloudwatch";
import test, { type ExecutionContext } from "ava";
import { Exit } from "../automation/errors";
import { loadStacks } from "../lib/stackFiles";
import { credentialsIn } from "./support/attini";
import { jobEnv, runCli } from "./support/driver";
import { treeDigestIfCommitted, vouch } from "./support/vouch";
import { backend, moto, project, reports, sts, useWorld } from "./support/world";

const STAGE = "222222222222";
const NAME = "platform-5xx";
const ARN = `arn:aws:cloudwatch:eu-west-1:${STAGE}:alarm:${NAME}`;

useWorld(test, {
    edit: {
        "Pulumi.stage.yaml": (s) => `${s}  attini-gitops:historyReaderAlarms:\n    - ${ARN}\n`,
        "Pulumi.prod.yaml": (s) => `${s}  attini-gitops:upstreamAlarms:\n    - ${ARN}\n`,
    },
});

/** Stage's CloudWatch, as an operator of stage's account. */
async function stageCloudWatch(t: ExecutionContext): Promise<CloudWatchClient> {
    const cw = new CloudWatchClient({
        endpoint: moto.endpoint,
        region: "eu-west-1",
        credentials: await credentialsIn(moto, STAGE, "eu-west-1"),
    });
    t.teardown(() => cw.destroy());
    return cw;
}

/** Makes stage's alarm anew, in `state`. */
async function alarmIn(cw: CloudWatchClient, state: "OK" | "ALARM"): Promise<void> {
    await cw.send(new DeleteAlarmsCommand({ AlarmNames: [NAME] }));
    await cw.send(
        new PutMetricAlarmCommand({
            AlarmName: NAME,
            Namespace: "Platform",
            MetricName: "5xx",
            Statistic: "Sum",
            Period: 60,
            EvaluationPeriods: 1,
            Threshold: 1,
            ComparisonOperator: "GreaterThanOrEqualToThreshold",
        }),
    );
    await cw.send(
        new SetAlarmStateCommand({ AlarmName: NAME, StateValue: state, StateReason: `set ${state} by the test` }),
    );
}

/** Waits into the next whole second (at most 1.02 s): moto's alarm times are cut to the second. */
const nextSecond = () => new Promise((r) => setTimeout(r, 1020 - (Date.now() % 1000)));

/** Stage has deployed this folder's committed content and Attini recorded it succeeded (now). */
async function stageDeployed(): Promise<void> {
    const stage = loadStacks(project.dir).configs.find((c) => c.stack === "stage");
    const digest = treeDigestIfCommitted(project.dir);
    if (!stage || !digest) throw new Error("no stage stack or no committed folder");
    await vouch(moto, stage, digest);
}

async function deployProd(t: ExecutionContext) {
    const j = jobEnv({ moto, backend, reports, stsEndpoint: sts.endpoint, extra: { BRANCH: "main" } });
    t.teardown(j.dispose);
    return runCli(["deploy", "distribution/platform", "--json"], j.env, project.dir);
}

test.serial(
    "an alarm in ALARM in stage refuses prod's promotion (exit 7) before prod's deploy role is assumed",
    async (t) => {
        const cw = await stageCloudWatch(t);
        await stageDeployed();
        await alarmIn(cw, "ALARM");
        const r = await deployProd(t);
        t.is(r.code, Exit.REFUSED, r.stderr);
        t.regex(r.stderr, /alarm platform-5xx is in ALARM since .* \(set ALARM by the test\)/);
        t.notRegex(r.stderr, /assumed arn:aws:iam::333333333333:role\/attini-deploy-role/);
        t.is(reports.reports.length, 0, "attini never ran");
    },
);

test.serial("an alarm that is OK and unchanged since stage's deployment lets the promotion go on", async (t) => {
    const cw = await stageCloudWatch(t);
    await alarmIn(cw, "OK");
    // Stage's deployment comes after the alarm's last change, which moto gives in whole seconds.
    await nextSecond();
    await stageDeployed();
    const r = await deployProd(t);
    t.is(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    t.like(summary.upstreamAlarms, {
        result: "passed",
        upstream: "stage",
        alarms: [{ arn: ARN, name: NAME, state: "OK", case: "unchanged", refuses: false }],
    });
});

test.serial(
    "an alarm that changed since stage's deployment, whose history the emulator cannot give, refuses",
    async (t) => {
        const cw = await stageCloudWatch(t);
        await stageDeployed();
        await new Promise((r) => setTimeout(r, 20));
        await alarmIn(cw, "OK");
        const r = await deployProd(t);
        t.is(r.code, Exit.REFUSED, r.stderr);
        t.regex(
            r.stderr,
            /alarm platform-5xx is OK since .*, after the upstream deployment began .*, and cannot be shown to have stayed out of ALARM since then: its state history cannot be read \(/,
        );
        t.is(reports.reports.length, 0, "attini never ran");
    },
);
