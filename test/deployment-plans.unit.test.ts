// Every deployment plan, not the last one to end (automation/deploymentPlans.ts, history.ts): a
// record with several plans and SUCCEEDED names its plans' executions, and the history reader asks
// Step Functions for each (here the shared fake of the AWS port). Succeeded only if every one
// SUCCEEDED; failed if any ended FAILED, TIMED_OUT or ABORTED; running otherwise, or when anything
// cannot be read.

import test from "ava";
import { Deadline } from "../automation/awsCall";
import { MAX_DEPLOYMENTS_CHECKED, MAX_PLANS_CHECKED } from "../automation/deploymentPlans";
import type { RecordedDeployment } from "../automation/deployments";
import { recordedDeployment } from "../automation/dynamodb";
import { readerOf, readStackHistory } from "../automation/history";
import type { StackConfig } from "../lib/config/types";
import { requireStackConfig } from "../lib/config/validate";
import { rawConfig } from "./support/config";
import { fakeAws } from "./support/fakeAws";

const STAGE = "222222222222";
const T = Date.parse("2026-11-20T10:00:00Z");
const stage: StackConfig = requireStackConfig(
    "stage",
    rawConfig({
        "aws:region": "eu-west-1",
        "aws:allowedAccountIds": [STAGE],
        "attini-gitops:branch": "stage",
        "attini-gitops:attiniEnvironment": "acc",
        "attini-gitops:accountId": STAGE,
        "attini-gitops:buildServerPrincipals": ["arn:aws:iam::999999999999:role/attini-build-server"],
    }),
);

/** An execution of deployment plan `plan` in stage's account (or `account`). */
const exec = (plan: string, account = STAGE, prefix = "AttiniDeploymentPlanSfn") =>
    `arn:aws:states:eu-west-1:${account}:execution:${prefix}${plan}-AbCdEf123456:0d3c8a51-${plan}`;

/** A row as Attini's backend writes it, `plans` plans, SUCCEEDED recorded, and these executions. */
const row = (plans: number, executions: string[], minutes = 0, extra: Record<string, unknown> = {}) => ({
    deploymentName: { S: "acc-platform" },
    deploymentTime: { N: String(T + minutes * 60_000) },
    distributionName: { S: "platform" },
    environment: { S: "acc" },
    distributionId: { S: `build-${minutes}` },
    executionArns: {
        M: Object.fromEntries(executions.map((arn) => [arn.split(":")[6].replace(/-[^-]+$/, ""), { S: arn }])),
    },
    initStackErrors: { L: [] },
    deploymentPlanCount: { N: String(plans) },
    deploymentPlanStatus: { S: "SUCCEEDED" },
    ...extra,
});
const rec = (...a: Parameters<typeof row>) => recordedDeployment(row(...a) as never)!;

/** Reads stage's history through its reader, on a fake AWS that answers these rows and executions. */
async function read(
    history: RecordedDeployment[],
    executions: Record<string, string | { unreadable: string }>,
    until?: (d: RecordedDeployment) => boolean,
) {
    const { aws, calls } = fakeAws({ history, executions });
    const ctx = {
        region: "eu-west-1",
        deadline: new Deadline(10_000, "--aws-timeout"),
        requestMs: 1000,
        log: () => {},
    };
    const access = { branch: "main", sessionName: "status-platform", sourceIdentity: "ci", tags: {}, redact: () => {} };
    const got = await readStackHistory(aws, readerOf(stage), access, {}, ctx, { distributionName: "platform", until });
    return { got, calls: calls.filter((c) => c.startsWith("executionStatus")).map((c) => c.split(" ")[1]) };
}

test("the record alone: one plan SUCCEEDED is a success, and no Step Functions call is made", async (t) => {
    const one = rec(1, [exec("Main")]);
    t.like(one, { status: "succeeded", plans: undefined });
    const { got, calls } = await read([one], {});
    t.like(got[0], { status: "succeeded" });
    t.deepEqual(calls, []);
});

test("several plans whose executions the record names: succeeded only when every execution SUCCEEDED", async (t) => {
    const [a, b, c] = [exec("Network"), exec("Database"), exec("App")];
    const d = rec(3, [a, b, c]);
    t.like(d, { status: "running", plans: { count: 3, executions: [c, b, a] } });

    const all = await read([d], { [a]: "SUCCEEDED", [b]: "SUCCEEDED", [c]: "SUCCEEDED" });
    t.deepEqual(all.got[0].status, "succeeded");
    t.is(all.got[0].detail, "3 deployment plans, every one SUCCEEDED");
    t.deepEqual(all.calls.sort(), [a, b, c].sort(), "each execution read once");
    t.false("plans" in all.got[0], "what the gates and status get carries no executions to check");

    for (const ended of ["FAILED", "TIMED_OUT", "ABORTED"]) {
        const one = await read([d], { [a]: "SUCCEEDED", [b]: ended, [c]: "SUCCEEDED" });
        t.like(one.got[0], {
            status: "failed",
            detail: `3 deployment plans; AttiniDeploymentPlanSfnDatabase-AbCdEf123456 ${ended}`,
        });
    }
    const running = await read([d], { [a]: "SUCCEEDED", [b]: "RUNNING", [c]: "SUCCEEDED" });
    t.like(running.got[0], {
        status: "running",
        detail: "3 deployment plans; AttiniDeploymentPlanSfnDatabase-AbCdEf123456 RUNNING",
    });
    // A failure that is known outweighs one that cannot be read.
    const failedAndUnknown = await read([d], { [a]: "FAILED", [b]: { unreadable: "AccessDenied" }, [c]: "SUCCEEDED" });
    t.is(failedAndUnknown.got[0].status, "failed");
});

test("an execution that cannot be read leaves the deployment running, saying why (fail closed)", async (t) => {
    const [a, b] = [exec("Network"), exec("App")];
    const d = rec(2, [a, b]);
    const denied = await read([d], {
        [a]: "SUCCEEDED",
        [b]: { unreadable: `the history reader may not read execution ${b} (AccessDeniedException: no)` },
    });
    t.like(denied.got[0], { status: "running" });
    t.regex(denied.got[0].detail ?? "", /^2 deployment plans; cannot tell: the history reader may not read execution/);
    const gone = await read([d], { [a]: "SUCCEEDED" });
    t.regex(gone.got[0].detail ?? "", /cannot tell: execution .* does not exist/);
});

test("executions outside the environment's account and region, or not Attini's, are not read: running", async (t) => {
    const mine = exec("Network");
    for (const [other, why] of [
        [exec("App", "333333333333"), /is not in account 222222222222 \(eu-west-1\)/],
        [exec("App").replace("eu-west-1", "us-east-1"), /is not in account 222222222222 \(eu-west-1\)/],
        [exec("App", STAGE, "SomeoneElsesSfn"), /is not an Attini deployment plan's \(AttiniDeploymentPlanSfn\*\)/],
        [
            "arn:aws:states:eu-west-1:222222222222:stateMachine:AttiniDeploymentPlanSfnApp",
            /is not a Step Functions execution ARN/,
        ],
    ] as const) {
        const { got, calls } = await read([rec(2, [mine, other])], { [mine]: "SUCCEEDED", [other]: "SUCCEEDED" });
        t.is(got[0].status, "running", other);
        t.regex(got[0].detail ?? "", why);
        t.deepEqual(calls, [mine], "only the environment's own Attini execution is read");
    }
});

test("a record that cannot name every plan's execution, or names too many plans: running, nothing read", async (t) => {
    const cases: [ReturnType<typeof rec>, RegExp][] = [
        [rec(3, [exec("A"), exec("B")]), /^3 deployment plans, and the record names 2 started execution\(s\)$/],
        [rec(2, [exec("A"), exec("B"), exec("C")]), /^2 deployment plans, but the record names 3 executions$/],
        [
            rec(MAX_PLANS_CHECKED + 1, []),
            new RegExp(`^${MAX_PLANS_CHECKED + 1} deployment plans, more than the ${MAX_PLANS_CHECKED} whose`),
        ],
        [
            rec(2, [], 0, { executionArns: undefined }),
            /^2 deployment plans, and the record's executionArns cannot be read$/,
        ],
        [rec(2, [], 0, { executionArns: { M: { A: { N: "1" } } } }), /executionArns cannot be read/],
    ];
    for (const [d, why] of cases) {
        t.like(d, { status: "running", plans: undefined });
        t.regex(d.detail ?? "", why);
        const { got, calls } = await read([d], {});
        t.is(got[0].status, "running");
        t.deepEqual(calls, []);
    }
});

test("`until` is about the judged deployment: status reads on past plans that did not all succeed", async (t) => {
    const [a, b] = [exec("Network"), exec("App")];
    const history = [rec(2, [a, b], 30), rec(1, [exec("Main")], 20), rec(1, [exec("Main")], 10)];
    // The newest has a plan still running: status's `until` (the last success) reads on to the next one.
    const { got } = await read(history, { [a]: "SUCCEEDED", [b]: "RUNNING" }, (d) => d.status === "succeeded");
    t.deepEqual(
        got.map((d) => [d.distributionId, d.status]),
        [
            ["build-30", "running"],
            ["build-20", "succeeded"],
        ],
    );
    // Every plan succeeded: the newest is the last success, and the read stops there.
    const ok = await read(history, { [a]: "SUCCEEDED", [b]: "SUCCEEDED" }, (d) => d.status === "succeeded");
    t.deepEqual(
        ok.got.map((d) => [d.distributionId, d.status]),
        [["build-30", "succeeded"]],
    );
    // The verified gate's `until` (an id) does not depend on the outcome: only the matched one is judged.
    const gate = await read(history, { [a]: "SUCCEEDED", [b]: "SUCCEEDED" }, (d) => d.distributionId === "build-30");
    t.like(gate.got, [{ distributionId: "build-30", status: "succeeded" }]);
});

test(`one read judges the plans of at most ${MAX_DEPLOYMENTS_CHECKED} deployments; the rest stay running, saying so`, async (t) => {
    const n = MAX_DEPLOYMENTS_CHECKED + 2;
    const history = Array.from({ length: n }, (_, i) => rec(2, [exec(`A${i}`), exec(`B${i}`)], n - i));
    const executions = Object.fromEntries(history.flatMap((d) => d.plans!.executions.map((e) => [e, "FAILED"])));
    const { got, calls } = await read(history, executions);
    t.is(calls.length, MAX_DEPLOYMENTS_CHECKED * 2);
    t.deepEqual(
        got.map((d) => d.status),
        [...Array(MAX_DEPLOYMENTS_CHECKED).fill("failed"), "running", "running"],
    );
    t.regex(got[n - 1].detail ?? "", /^2 deployment plans, not checked: one read checks the plans of at most 5/);
    t.false(got.some((d) => "plans" in d));
});

test("the verified gate's read judges the newest deployment and the id it looks for, not the others on the way", async (t) => {
    const n = MAX_DEPLOYMENTS_CHECKED + 2;
    // Newer deployments of other ids, each with two plans, then the id the gate looks for.
    const history = [
        ...Array.from({ length: n }, (_, i) => rec(2, [exec(`A${i}`), exec(`B${i}`)], 100 - i)),
        rec(2, [exec("Network"), exec("App")], 10),
    ];
    const executions = Object.fromEntries(history.flatMap((d) => d.plans!.executions.map((e) => [e, "SUCCEEDED"])));
    const { got, calls } = await read(history, executions, (d) => d.distributionId === "build-10");
    t.like(got.at(-1), { distributionId: "build-10", status: "succeeded" });
    t.like(got[0], { distributionId: "build-100", status: "succeeded" });
    t.is(calls.length, 4, "the newest and the matched deployment: two plans each");
});
