// The upstream-alarm rule (automation/alarmRules.ts) and the gate that applies it
// (automation/upstreamAlarms.ts): each case of the rule, hostile text from AWS escaped, warn and
// enforce, and that the history is read only where the rule needs it.
import test from "ava";
import { ALARM_HISTORY_DAYS, type AlarmHistory, type AlarmNow, judgeAlarm } from "../automation/alarmRules";
import { historyState } from "../automation/cloudWatch";
import { HistoryUnreadable } from "../automation/deployments";
import { DriverError, Exit } from "../automation/errors";
import { checkUpstreamAlarms, type UpstreamAlarmsOptions, upstreamDeploymentStart } from "../automation/upstreamAlarms";
import type { VerifiedGateReport } from "../automation/verifiedGate";
import type { StackConfig } from "../lib/config/types";
import { loadStacks } from "../lib/stackFiles";
import { ROOT } from "./support/tools";

const DEPLOYED = Date.parse("2026-11-20T10:00:00Z");
const NOW = DEPLOYED + 3 * 3_600_000;
const ARN = (name: string) => `arn:aws:cloudwatch:eu-west-1:222222222222:alarm:${name}`;
const ok = (name: string, changedAt = DEPLOYED - 60_000): AlarmNow => ({ name, state: "OK", changedAt });
const judge = (found: AlarmNow | undefined, history?: AlarmHistory, deployedAt: number | undefined = DEPLOYED) =>
    judgeAlarm(ARN(found?.name ?? "gone"), found?.name ?? "gone", found, history, deployedAt, NOW);

test("the rule: missing, ALARM, INSUFFICIENT_DATA and an undocumented state refuse", (t) => {
    t.like(judge(undefined), {
        case: "missing",
        refuses: true,
        says: "alarm gone does not exist as a metric alarm (composite alarms are not read)",
    });
    t.like(judge({ name: "a", state: "ALARM", changedAt: DEPLOYED + 1000, reason: "Threshold Crossed" }), {
        case: "alarm-now",
        refuses: true,
        state: "ALARM",
        since: "2026-11-20T10:00:01Z",
        says: "alarm a is in ALARM since 2026-11-20T10:00:01Z (Threshold Crossed)",
    });
    // In ALARM since before the deployment still refuses: it is alarming now.
    t.like(judge({ name: "a", state: "ALARM", changedAt: DEPLOYED - 86_400_000 }), {
        case: "alarm-now",
        refuses: true,
    });
    t.like(judge({ name: "a", state: "INSUFFICIENT_DATA", changedAt: DEPLOYED - 1000 }), {
        case: "insufficient-data",
        refuses: true,
    });
    t.like(judge({ name: "a", state: "MAYBE" }), { case: "unknown-state", refuses: true });
});

test("the rule: OK and unchanged since the deployment passes without history; changed since needs it", (t) => {
    t.like(judge(ok("a")), { case: "unchanged", refuses: false });
    t.like(judge(ok("a", DEPLOYED - 1)), { case: "unchanged", refuses: false });
    t.like(judge(ok("a", DEPLOYED + 1)), { case: "unprovable", refuses: true });
    // A time in whole seconds may have been cut to the second: it counts as the end of that second.
    t.like(judge(ok("a", DEPLOYED)), { case: "unprovable", refuses: true }, "10:00:00 may be 10:00:00.999");
    t.like(judge(ok("a", DEPLOYED - 1000)), { case: "unchanged", refuses: false }, "09:59:59.999 at the latest");
    const changed = ok("a", DEPLOYED + 3_600_000);
    t.like(judge(changed), { case: "unprovable", refuses: true });
    t.like(judge(changed, { unavailable: "InvalidAction: not implemented" }), {
        case: "unprovable",
        refuses: true,
        says: "alarm a is OK since 2026-11-20T11:00:00Z, after the upstream deployment began (2026-11-20T10:00:00Z), and cannot be shown to have stayed out of ALARM since then: its state history cannot be read (InvalidAction: not implemented)",
    });
    // CloudWatch gave no time of its last change: it cannot be shown unchanged.
    t.like(judge({ name: "a", state: "OK" }, { unavailable: "AccessDenied" }), { case: "unprovable", refuses: true });
});

test("the rule: a history that shows ALARM since the deployment refuses, though the alarm is OK now", (t) => {
    const changed = ok("a", DEPLOYED + 2 * 3_600_000);
    const history: AlarmHistory = {
        changes: [
            { at: DEPLOYED + 2 * 3_600_000, to: "OK", from: "ALARM" },
            { at: DEPLOYED + 3_600_000, to: "ALARM", from: "OK" },
        ],
        complete: true,
    };
    t.like(judge(changed, history), {
        case: "alarmed-since",
        refuses: true,
        alarmedAt: "2026-11-20T11:00:00Z",
        says: "alarm a is OK since 2026-11-20T12:00:00Z, but entered ALARM at 2026-11-20T11:00:00Z, after the upstream deployment began (2026-11-20T10:00:00Z)",
    });
    // OK -> INSUFFICIENT_DATA -> OK since the deployment: no ALARM, a pass.
    t.like(
        judge(changed, {
            changes: [
                { at: DEPLOYED + 2 * 3_600_000, to: "OK", from: "INSUFFICIENT_DATA" },
                { at: DEPLOYED + 3_600_000, to: "INSUFFICIENT_DATA", from: "OK" },
            ],
            complete: true,
        }),
        { case: "ok-since", refuses: false },
    );
    // In ALARM when the deployment began, OK since: it was in ALARM after the deployment began.
    t.like(judge(changed, { changes: [{ at: DEPLOYED + 3 * 3_600_000, to: "OK", from: "ALARM" }], complete: true }), {
        case: "alarmed-since",
        refuses: true,
        says: "alarm a is OK since 2026-11-20T12:00:00Z, but was in ALARM until 2026-11-20T13:00:00Z, after the upstream deployment began (2026-11-20T10:00:00Z)",
    });
    // The oldest change since the deployment must say which state it left.
    t.like(judge(changed, { changes: [{ at: DEPLOYED + 3_600_000, to: "OK" }], complete: true }), {
        case: "unprovable",
    });
    // An ALARM before the deployment is not "since".
    t.like(judge(changed, { changes: [{ at: DEPLOYED - 1, to: "ALARM" }], complete: true }), { case: "ok-since" });
});

test("the rule: a history it cannot rely on refuses (cut short, an entry without a state, older than CloudWatch keeps)", (t) => {
    const changed = ok("a", DEPLOYED + 3_600_000);
    t.like(judge(changed, { changes: [{ at: DEPLOYED + 3_600_000, to: "OK" }], complete: false }), {
        case: "unprovable",
    });
    t.like(judge(changed, { changes: [{ at: DEPLOYED + 3_600_000 }], complete: true }), { case: "unprovable" });
    const old = NOW - (ALARM_HISTORY_DAYS + 1) * 86_400_000;
    t.like(judgeAlarm(ARN("a"), "a", ok("a", old + 1000), { changes: [], complete: true }, old, NOW), {
        case: "unprovable",
    });
});

test("the rule: without an upstream deployment, an OK alarm is only OK now, and says so", (t) => {
    const v = judgeAlarm(ARN("a"), "a", ok("a", NOW - 1000), undefined, undefined, NOW);
    t.like(v, { case: "ok-now", refuses: false });
    t.regex(v.says, /was not checked: none was found/);
});

/** A control character or line break: what must never reach the log raw. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW = /[\u0000-\u001f\u007f]/;

test("hostile text from AWS: names, states and reasons are escaped, never printed raw", (t) => {
    const v = judge({ name: "a\u001b[2J\nPASSED", state: "ALARM", reason: "x\r\n::set-output" });
    t.false(RAW.test(v.says), v.says);
    t.true(v.says.includes("\\u001b[2J\\u000aPASSED"));
    const odd = judge({ name: "a", state: "OK\u0007\n" });
    t.false(RAW.test(odd.says));
    const h = judge(ok("a", DEPLOYED + 1), { unavailable: "boom\n\u001b[31mok" });
    t.false(RAW.test(h.says));
});

// --- the gate -----------------------------------------------------------------------------------

const stacks = loadStacks(ROOT).configs;
const stage = stacks.find((c) => c.stack === "stage") as StackConfig;
const prodStack = stacks.find((c) => c.stack === "prod") as StackConfig;
const prod = (gate: StackConfig["promotionGate"]): StackConfig => ({ ...prodStack, promotionGate: gate });
const VERIFIED = {
    result: "passed",
    upstream: { stack: "stage", attiniEnvironment: "acc", accountId: "222222222222" },
    matched: { environment: "acc", distributionName: "platform", time: DEPLOYED + 5000, status: "succeeded" },
    content: { digest: "sha256:x", case: "deployed", run: { startedAt: DEPLOYED } },
} as unknown as VerifiedGateReport;

function gate(
    o: Partial<UpstreamAlarmsOptions> & {
        found?: AlarmNow[];
        histories?: Record<string, AlarmHistory>;
    },
) {
    const calls: string[] = [];
    const lines: string[] = [];
    const run = checkUpstreamAlarms({
        stack: prod("enforce"),
        upstream: stage,
        alarms: [ARN("5xx")],
        verified: VERIFIED,
        dryRun: false,
        now: () => NOW,
        log: (l) => lines.push(l),
        describe: async (names) => {
            calls.push(`describe ${names.join(",")}`);
            return (o.found ?? []).filter((a) => names.includes(a.name));
        },
        history: async (name, since) => {
            calls.push(`history ${name} ${new Date(since).toISOString()}`);
            return o.histories?.[name] ?? { unavailable: "not implemented" };
        },
        ...o,
    });
    return { run, calls, lines };
}

test("the reference time is the earliest the verified gate knows of the upstream deployment", (t) => {
    t.is(upstreamDeploymentStart(VERIFIED), DEPLOYED);
    t.is(upstreamDeploymentStart(undefined), undefined);
    t.is(upstreamDeploymentStart({ ...VERIFIED, content: undefined }), DEPLOYED + 5000);
});

test("enforce: an alarm in ALARM now refuses with exit 7, naming it, its state, since when and the fix", async (t) => {
    const { run, calls } = gate({ found: [{ name: "5xx", state: "ALARM", changedAt: DEPLOYED + 60_000 }] });
    const e = await t.throwsAsync(run, { instanceOf: DriverError });
    t.is(e?.exitCode, Exit.REFUSED);
    t.regex(
        e?.message ?? "",
        /^promotion gate \(enforce\): stage's alarms refuse the promotion: alarm 5xx is in ALARM since 2026-11-20T10:01:00Z\. Find out why in stage/,
    );
    t.like((e as DriverError).details, { upstreamAlarms: { result: "refused", alarms: [{ case: "alarm-now" }] } });
    t.deepEqual(calls, ["describe 5xx"], "no history is read for an alarm that refuses on its state");
});

test("enforce: OK now, but the history shows ALARM since the deployment: exit 7", async (t) => {
    const { run, calls } = gate({
        found: [ok("5xx", DEPLOYED + 7_200_000)],
        histories: {
            "5xx": {
                changes: [
                    { at: DEPLOYED + 7_200_000, to: "OK" },
                    { at: DEPLOYED + 3_600_000, to: "ALARM" },
                ],
                complete: true,
            },
        },
    });
    const e = await t.throwsAsync(run, { instanceOf: DriverError });
    t.is(e?.exitCode, Exit.REFUSED);
    t.regex(e?.message ?? "", /entered ALARM at 2026-11-20T11:00:00Z/);
    t.deepEqual(calls, ["describe 5xx", "history 5xx 2026-11-20T10:00:00.000Z"]);
});

test("enforce: changed since the deployment and no history to show it stayed out of ALARM: exit 7", async (t) => {
    const { run } = gate({ found: [ok("5xx", DEPLOYED + 60_000)] });
    const e = await t.throwsAsync(run, { instanceOf: DriverError });
    t.regex(
        e?.message ?? "",
        /cannot be shown to have stayed out of ALARM since then: its state history cannot be read \(not implemented\)/,
    );
});

test("a history read that fails outright counts as unavailable: refused, saying why", async (t) => {
    const { run } = gate({
        found: [ok("5xx", DEPLOYED + 60_000)],
        history: async () => {
            throw new HistoryUnreadable("cannot use stage's history reader");
        },
    });
    const e = await t.throwsAsync(run, { instanceOf: DriverError });
    t.regex(e?.message ?? "", /its state history cannot be read \(cannot use stage's history reader\)/);
});

test("unchanged since the deployment and OK: passes, with no history read", async (t) => {
    const { run, calls, lines } = gate({ found: [ok("5xx")] });
    const r = await run;
    t.is(r.result, "passed");
    t.is(r.since, "2026-11-20T10:00:00Z");
    t.like(r.alarms[0], { arn: ARN("5xx"), case: "unchanged", state: "OK" });
    t.deepEqual(calls, ["describe 5xx"]);
    t.true(lines.some((l) => l.startsWith("upstream-alarm gate: alarm 5xx is OK since")));
});

test("a missing alarm is a configuration error: refused with exit 7 under warn too, naming upstreamAlarms", async (t) => {
    for (const mode of ["enforce", "warn"] as const) {
        const { run } = gate({ stack: prod(mode), found: [] });
        const e = await t.throwsAsync(run, { instanceOf: DriverError });
        t.is(e?.exitCode, Exit.REFUSED, mode);
        t.regex(
            e?.message ?? "",
            /^upstream-alarm gate \(configuration error\): .*alarm 5xx does not exist as a metric alarm \(composite alarms are not read\)\. Fix upstreamAlarms in Pulumi\.prod\.yaml .* or create the alarm in stage\./,
        );
    }
});

test("warn: an objection is a warning, and the deploy goes on", async (t) => {
    const { run, lines } = gate({
        stack: prod("warn"),
        found: [{ name: "5xx", state: "ALARM", changedAt: DEPLOYED }],
    });
    const r = await run;
    t.is(r.result, "warned");
    t.true(
        lines.some((l) =>
            l.startsWith("promotion gate (warn): stage's alarms refuse the promotion: alarm 5xx is in ALARM"),
        ),
    );
});

test("alarms that cannot be read: unverified under warn, refused under enforce", async (t) => {
    const unreadable = async () => {
        throw new HistoryUnreadable("AccessDenied: not authorized");
    };
    t.is((await gate({ stack: prod("warn"), describe: unreadable }).run).result, "unverified");
    const e = await t.throwsAsync(gate({ describe: unreadable }).run, { instanceOf: DriverError });
    t.regex(
        e?.message ?? "",
        /cannot read stage's upstream alarms: AccessDenied: not authorized Nothing was checked\./,
    );
});

test("off, none listed and --dry-run read nothing; no upstream deployment found checks the state now only", async (t) => {
    for (const o of [{ stack: prod("off") }, { alarms: [] }, { dryRun: true }]) {
        const { run, calls } = gate({ ...o, found: [{ name: "5xx", state: "ALARM" }] });
        t.notThrows(() => run);
        t.true(["off", "none", "not-checked"].includes((await run).result));
        t.deepEqual(calls, []);
    }
    const { run, calls } = gate({ verified: undefined, found: [ok("5xx", NOW - 1000)] });
    t.is((await run).result, "now-only");
    t.deepEqual(calls, ["describe 5xx"]);
    await t.throwsAsync(gate({ verified: undefined, found: [{ name: "5xx", state: "ALARM" }] }).run, {
        instanceOf: DriverError,
    });
});

test("history items as CloudWatch writes them, and ones it does not: a state only where HistoryData names one", (t) => {
    const data = (newState: unknown) => JSON.stringify({ version: "1.0", oldState: { stateValue: "OK" }, newState });
    t.is(historyState(data({ stateValue: "ALARM", stateReason: "Threshold Crossed" })), "ALARM");
    t.is(historyState(data({ stateValue: "OK" })), "OK");
    t.is(historyState(data({ stateValue: "ALARM" }), "oldState"), "OK", "the state it left");
    for (const hostile of [undefined, "", "not json", "null", "[]", data(null), data({ stateValue: 3 }), data("ALARM")])
        t.is(historyState(hostile), undefined, String(hostile));
    // An item that names no state, since the deployment, cannot clear the alarm.
    t.like(
        judge(ok("a", DEPLOYED + 1), { changes: [{ at: DEPLOYED + 1, to: historyState("garbage") }], complete: true }),
        { case: "unprovable", refuses: true },
    );
});
