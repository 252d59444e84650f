// Upstream alarms' config and grant (issue 22): upstreamAlarms on a promoted stack,
// historyReaderAlarms on its upstream, the wiring `validate` checks across stack files, the pinned
// output, and, in the IAM policy simulator, what the history reader may do with alarms.
import { createValidatedPolicy, validateIdentityPolicy } from "@cloud-copilot/iam-policy";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import test, { type ExecutionContext } from "ava";
import { historyReaderArn } from "../lib/arns";
import { MAX_ALARMS, validateAlarmGrants } from "../lib/config/alarms";
import type { RawValue, StackConfig } from "../lib/config/types";
import { MAX_INLINE_POLICY_CHARS, requireStackConfig, validateStackConfig } from "../lib/config/validate";
import { historyReaderPolicy } from "../lib/historyReader";
import { alarmsFromOutput, configOutputs } from "../lib/outputs";
import { rawConfig } from "./support/config";

const STAGE = "222222222222";
const PROD = "333333333333";
const BUILD_SERVER = "arn:aws:iam::999999999999:role/attini-build-server";
const alarm = (name: string, account = STAGE, region = "eu-west-1") =>
    `arn:aws:cloudwatch:${region}:${account}:alarm:${name}`;
const A5XX = alarm("platform-5xx");
const LATENCY = alarm("platform-latency");

function raw(account: string, branch: string, env: string, extra: Record<string, RawValue>) {
    return rawConfig({
        "aws:region": "eu-west-1",
        "aws:allowedAccountIds": [account],
        "attini-gitops:branch": branch,
        "attini-gitops:attiniEnvironment": env,
        "attini-gitops:accountId": account,
        "attini-gitops:buildServerPrincipals": [BUILD_SERVER],
        ...extra,
    });
}
const stageRaw = (extra: Record<string, RawValue> = {}) => raw(STAGE, "stage", "acc", extra);
const prodRaw = (extra: Record<string, RawValue> = {}) =>
    raw(PROD, "main", "prod", { "attini-gitops:promotedFrom": "stage", ...extra });
const stage = (extra: Record<string, RawValue> = {}): StackConfig => requireStackConfig("stage", stageRaw(extra));
const prod = (extra: Record<string, RawValue> = {}): StackConfig => requireStackConfig("prod", prodRaw(extra));
const problems = (stack: string, r: Map<string, RawValue>) =>
    validateStackConfig(stack, r).errors.map((e) => `${e.key}: ${e.problem}`);

test("defaults: no alarms anywhere, and the reader's policy has no CloudWatch statement", (t) => {
    const c = stage();
    t.deepEqual(c.upstreamAlarms, []);
    t.deepEqual(c.historyReader.alarms, []);
    t.false(JSON.stringify(historyReaderPolicy(c)).includes("cloudwatch"));
});

test("upstreamAlarms: alarm ARNs, no wildcard, no duplicate, a bounded count, only on a promoted stack", (t) => {
    t.deepEqual(prod({ "attini-gitops:upstreamAlarms": [A5XX, LATENCY] }).upstreamAlarms, [A5XX, LATENCY]);
    t.deepEqual(problems("prod", prodRaw({ "attini-gitops:upstreamAlarms": ["platform-5xx"] })), [
        "attini-gitops:upstreamAlarms[0]: is not a CloudWatch alarm ARN (no wildcards)",
    ]);
    t.deepEqual(problems("prod", prodRaw({ "attini-gitops:upstreamAlarms": [alarm("platform-*")] })), [
        "attini-gitops:upstreamAlarms[0]: is not a CloudWatch alarm ARN (no wildcards)",
    ]);
    t.deepEqual(
        problems(
            "prod",
            prodRaw({ "attini-gitops:upstreamAlarms": [`arn:aws:cloudwatch:eu-west-1:${STAGE}:alarm:a?`] }),
        ),
        ["attini-gitops:upstreamAlarms[0]: is not a CloudWatch alarm ARN (no wildcards)"],
    );
    t.deepEqual(
        problems("prod", prodRaw({ "attini-gitops:upstreamAlarms": [`arn:aws:sns:eu-west-1:${STAGE}:alarm:x`] })),
        ["attini-gitops:upstreamAlarms[0]: is not a CloudWatch alarm ARN (no wildcards)"],
    );
    t.deepEqual(problems("prod", prodRaw({ "attini-gitops:upstreamAlarms": [A5XX, A5XX] })), [
        "attini-gitops:upstreamAlarms[1]: is listed twice",
    ]);
    const many = Array.from({ length: MAX_ALARMS + 1 }, (_, i) => alarm(`a${i}`));
    t.deepEqual(problems("prod", prodRaw({ "attini-gitops:upstreamAlarms": many })), [
        `attini-gitops:upstreamAlarms: lists ${MAX_ALARMS + 1} alarms; at most ${MAX_ALARMS} are allowed`,
    ]);
    t.deepEqual(problems("stage", stageRaw({ "attini-gitops:upstreamAlarms": [A5XX] })), [
        "attini-gitops:upstreamAlarms: is set but promotedFrom is not: only a promoted stack has an upstream environment whose alarms could hold it back",
    ]);
    t.deepEqual(
        problems("prod", prodRaw({ "attini-gitops:upstreamAlarms": [A5XX], "attini-gitops:promotionGate": "off" })),
        ["attini-gitops:upstreamAlarms: is set but promotionGate is off: the alarms would never be checked"],
    );
    t.deepEqual(problems("prod", prodRaw({ "attini-gitops:upstreamAlarms": "not a list" })), [
        "attini-gitops:upstreamAlarms: must be a list of strings",
    ]);
});

test("every error names the stack, the key, the value and the fix", (t) => {
    const [e] = validateStackConfig("prod", prodRaw({ "attini-gitops:upstreamAlarms": [A5XX, A5XX] })).errors;
    t.is(
        String(e),
        `stack 'prod', key 'attini-gitops:upstreamAlarms[1]' = "${A5XX}": is listed twice. Fix: remove the duplicate`,
    );
});

test("historyReaderAlarms: only alarms of the stack's own account and region", (t) => {
    t.deepEqual(stage({ "attini-gitops:historyReaderAlarms": [A5XX] }).historyReader.alarms, [A5XX]);
    t.deepEqual(problems("stage", stageRaw({ "attini-gitops:historyReaderAlarms": [alarm("x", PROD)] })), [
        `attini-gitops:historyReaderAlarms[0]: is in account ${PROD}, not this stack's account ${STAGE}`,
    ]);
    t.deepEqual(
        problems("stage", stageRaw({ "attini-gitops:historyReaderAlarms": [alarm("x", STAGE, "us-east-1")] })),
        ["attini-gitops:historyReaderAlarms[0]: is in region us-east-1, not this stack's aws:region eu-west-1"],
    );
});

test("historyReaderAlarms: alarms whose ARNs would not fit the reader's inline policy are refused before pulumi up", (t) => {
    const named = (length: number) =>
        Array.from({ length: MAX_ALARMS }, (_, i) => alarm(`${String(i).padStart(2, "0")}-${"a".repeat(length - 3)}`));
    // 50 short names fit, and the policy that would be provisioned is within IAM's bound.
    const fits = stage({ "attini-gitops:historyReaderAlarms": named(40) });
    t.true(JSON.stringify(historyReaderPolicy(fits)).length <= MAX_INLINE_POLICY_CHARS);
    // 50 names of 255 characters do not: the error names the key, the count, the size and the fix.
    const errors = validateStackConfig("stage", stageRaw({ "attini-gitops:historyReaderAlarms": named(255) })).errors;
    t.is(errors.length, 1);
    t.is(errors[0].key, "attini-gitops:historyReaderAlarms");
    t.is(errors[0].value, "50 alarms");
    t.regex(
        errors[0].toString(),
        /make the history reader's policy 1\d{4} characters, over the 10240 IAM allows.*Fix: list fewer alarms, or alarms with shorter names/,
    );
});

test("across stack files: a downstream's alarm must be in the upstream's account and region, and granted there", (t) => {
    const granted = stage({ "attini-gitops:historyReaderAlarms": [A5XX] });
    t.deepEqual(validateAlarmGrants([granted, prod({ "attini-gitops:upstreamAlarms": [A5XX] })]).map(String), []);

    const notGranted = validateAlarmGrants([stage(), prod({ "attini-gitops:upstreamAlarms": [A5XX] })]);
    t.deepEqual(notGranted.map(String), [
        `stack 'prod', key 'attini-gitops:upstreamAlarms[0]' = "${A5XX}": is not in historyReaderAlarms of Pulumi.stage.yaml, so stage's history reader may not read it. Fix: add "${A5XX}" to historyReaderAlarms in Pulumi.stage.yaml, then run pulumi up --stack stage`,
    ]);
    const otherAccount = alarm("platform-5xx", "444444444444");
    t.deepEqual(
        validateAlarmGrants([granted, prod({ "attini-gitops:upstreamAlarms": [A5XX, otherAccount] })]).map(
            (e) => `${e.stack} ${e.key}: ${e.problem}`,
        ),
        [
            "prod attini-gitops:upstreamAlarms[1]: is in account 444444444444, region eu-west-1, but the upstream stack stage is in account 222222222222, region eu-west-1: its history reader can read only its own alarms",
        ],
    );
    const otherRegion = alarm("platform-5xx", STAGE, "us-east-1");
    t.deepEqual(
        validateAlarmGrants([granted, prod({ "attini-gitops:upstreamAlarms": [A5XX, otherRegion] })]).map((e) => e.key),
        ["attini-gitops:upstreamAlarms[1]"],
    );
    // The reader is granted nothing that no downstream lists.
    const extra = validateAlarmGrants([stage({ "attini-gitops:historyReaderAlarms": [A5XX, LATENCY] }), prod()]);
    t.deepEqual(extra.map(String), [
        `stack 'stage', key 'attini-gitops:historyReaderAlarms[0]' = "${A5XX}": lets stage's history reader read this alarm, but no stack promoted from stage lists it in upstreamAlarms. Fix: remove it`,
        `stack 'stage', key 'attini-gitops:historyReaderAlarms[1]' = "${LATENCY}": lets stage's history reader read this alarm, but no stack promoted from stage lists it in upstreamAlarms. Fix: remove it`,
    ]);
});

test("the output pins the downstream's alarms as canonical JSON; the upstream's stack files do not change it", (t) => {
    const up = stage({ "attini-gitops:historyReaderAlarms": [A5XX, LATENCY] });
    const out = configOutputs(prod({ "attini-gitops:upstreamAlarms": [LATENCY, A5XX] }), up);
    t.is(out.upstreamAlarms, JSON.stringify([A5XX, LATENCY]));
    t.deepEqual(alarmsFromOutput(out.upstreamAlarms), [A5XX, LATENCY]);
    t.is(configOutputs(prod(), stage()).upstreamAlarms, "[]");
    t.is(configOutputs(stage(), undefined).upstreamAlarms, "[]");
    t.is(alarmsFromOutput("{"), undefined);
    t.is(alarmsFromOutput('[1,"a"]'), undefined);
});

/** One request by the reader, decided against its policy in the simulator. */
async function decide(t: ExecutionContext, c: StackConfig, action: string, resource: string, accountId = STAGE) {
    const r = await runSimulation(
        {
            request: {
                principal: historyReaderArn(c),
                action,
                resource: { resource, accountId },
                contextVariables: {},
            },
            identityPolicies: [{ name: "history-reader", policy: historyReaderPolicy(c) }],
            serviceControlPolicies: [],
            resourceControlPolicies: [],
        },
        {},
    );
    // A "*" resource is decided for every resource it could be (a wildcard result).
    if (r.resultType === "wildcard" && resource === "*") return r.overallResult;
    if (r.resultType !== "single") {
        t.fail(`simulator: ${JSON.stringify(r)}`);
        return "error";
    }
    return r.overallResult;
}

test("permissions, in the simulator: the reader reads the listed alarms only, and nothing else of CloudWatch", async (t) => {
    const c = stage({ "attini-gitops:historyReaderAlarms": [A5XX] });
    t.deepEqual(createValidatedPolicy(historyReaderPolicy(c), validateIdentityPolicy).errors, []);
    const reads = ["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"];
    for (const a of reads) {
        t.is(await decide(t, c, a, A5XX), "Allowed", `${a} on a listed alarm`);
        t.is(await decide(t, c, a, LATENCY), "ImplicitlyDenied", `${a} on an unlisted alarm`);
        t.is(await decide(t, c, a, alarm("platform-5xx", PROD), PROD), "ImplicitlyDenied", `${a}: another account`);
        t.is(await decide(t, c, a, alarm("platform-5xx", STAGE, "us-east-1")), "ImplicitlyDenied", `${a}: region`);
    }
    for (const a of ["PutMetricAlarm", "SetAlarmState", "DeleteAlarms", "DisableAlarmActions", "EnableAlarmActions"])
        t.is(await decide(t, c, `cloudwatch:${a}`, A5XX), "ImplicitlyDenied", a);
    for (const a of ["GetMetricData", "ListMetrics", "GetMetricStatistics", "DescribeAlarmsForMetric"])
        t.is(await decide(t, c, `cloudwatch:${a}`, "*"), "ImplicitlyDenied", a);
    // Without listed alarms the reader may not even read the one it was once granted.
    t.is(await decide(t, stage(), "cloudwatch:DescribeAlarms", A5XX), "ImplicitlyDenied");
});
