/**
 * The upstream-alarm gate of deploy (issue 22): a promotion is refused while an alarm the stack
 * lists (upstreamAlarms, as its outputs pin it) is in ALARM in the upstream environment, or entered
 * ALARM since the upstream deployment the verified gate found. Why its own module: it runs after
 * the verified gate (whose upstream deployment is its reference time), with the same reader
 * session, and its one call site is deployReads.ts; the rule itself is alarmRules.ts.
 *
 * Like the verified gate, an objection is a warning under promotionGate warn and exit 7 under
 * enforce (gateMode.ts); an alarm that does not exist is a configuration error and refuses
 * (exit 7) under warn too. Only promotionGate off turns it off; no flag skips it.
 */
import { parseAlarmArn } from "../lib/config/alarms";
import type { StackConfig } from "../lib/config/types";
import {
    type AlarmHistory,
    type AlarmNow,
    type AlarmVerdict,
    alarmFix,
    judgeAlarm,
    unchangedSince,
} from "./alarmRules";
import { HistoryUnreadable, isoTime } from "./deployments";
import { DriverError, Exit } from "./errors";
import { object } from "./gateMode";
import type { VerifiedGateReport } from "./verifiedGate";

/**
 * passed: every alarm passed the whole rule; now-only: every alarm is OK now, but no upstream
 * deployment was found to check "since" against (the verified gate was skipped, or under warn did
 * not find one); warned: under warn, an alarm objects; unverified: under warn, the alarms could not
 * be read; not-checked: --dry-run; none: the stack lists no alarm; off.
 */
export type AlarmsResult = "passed" | "now-only" | "warned" | "unverified" | "not-checked" | "none" | "off";

export interface UpstreamAlarmsReport {
    result: AlarmsResult;
    upstream: string;
    /** When the upstream deployment began (ISO): the time "since" refers to. */
    since?: string;
    /** What each alarm said. */
    alarms: AlarmVerdict[];
    reason?: string;
}

export interface UpstreamAlarmsOptions {
    stack: StackConfig;
    upstream: StackConfig;
    /** The alarm ARNs, as the stack's outputs pin them. */
    alarms: readonly string[];
    /** The verified gate's report: its upstream deployment is the reference time. */
    verified: VerifiedGateReport | undefined;
    dryRun: boolean;
    now: () => number;
    log: (line: string) => void;
    describe: (names: readonly string[]) => Promise<AlarmNow[]>;
    history: (name: string, since: number, until: number) => Promise<AlarmHistory>;
}

/** When the upstream deployment began: the earliest the verified gate knows (its ledger run's start, Attini's deploymentTime). */
export function upstreamDeploymentStart(v: VerifiedGateReport | undefined): number | undefined {
    const times = [v?.content?.run?.startedAt, v?.matched?.time].filter((t): t is number => t !== undefined);
    return times.length ? Math.min(...times) : undefined;
}

/** Whether the alarm's history is needed: it is OK now and changed after `since` (or CloudWatch did not say when). */
function needsHistory(a: AlarmNow | undefined, since: number | undefined): boolean {
    return a !== undefined && a.state === "OK" && since !== undefined && !unchangedSince(a.changedAt, since);
}

/** The alarm's history, or why it cannot be had: a reader that fails here is "unavailable", which refuses where it is needed. */
async function readHistory(o: UpstreamAlarmsOptions, name: string, since: number, now: number): Promise<AlarmHistory> {
    try {
        return await o.history(name, since, now);
    } catch (e) {
        if (!(e instanceof HistoryUnreadable)) throw e;
        return { unavailable: e.message };
    }
}

/** Checks the upstream alarms; throws DriverError(REFUSED) when they refuse (see the module comment). */
export async function checkUpstreamAlarms(o: UpstreamAlarmsOptions): Promise<UpstreamAlarmsReport> {
    const base: UpstreamAlarmsReport = { result: "none", upstream: o.upstream.stack, alarms: [] };
    if (o.alarms.length === 0) return base;
    if (o.stack.promotionGate === "off") return { ...base, result: "off" };
    const since = upstreamDeploymentStart(o.verified);
    const report = since === undefined ? base : { ...base, since: isoTime(since) };
    const list = o.alarms.map((arn) => ({ arn, name: parseAlarmArn(arn)?.name ?? arn }));
    if (o.dryRun) {
        o.log(
            `dry run: the upstream-alarm gate would refuse if any of ${list.map((a) => a.name).join(", ")} in ${o.upstream.stack} does not exist, is in ALARM or INSUFFICIENT_DATA, or entered ALARM since ${o.upstream.stack}'s deployment`,
        );
        return { ...report, result: "not-checked" };
    }
    const fail = (result: "warned" | "unverified", reason: string, alarms: AlarmVerdict[] = []) => {
        const r = { ...report, result, reason, alarms };
        object(o.stack.promotionGate, reason, o.log, { upstreamAlarms: { ...r, result: "refused" } });
        return r;
    };
    let found: AlarmNow[];
    try {
        found = await o.describe(list.map((a) => a.name));
    } catch (e) {
        if (!(e instanceof HistoryUnreadable)) throw e;
        return fail(
            "unverified",
            `cannot read ${o.upstream.stack}'s upstream alarms: ${e.message} Nothing was checked.`,
        );
    }
    const now = o.now();
    const verdicts = await Promise.all(
        list.map(async ({ arn, name }) => {
            const a = found.find((f) => f.name === name);
            const history = needsHistory(a, since) ? await readHistory(o, name, since as number, now) : undefined;
            return judgeAlarm(arn, name, a, history, since, now);
        }),
    );
    for (const v of verdicts) o.log(`upstream-alarm gate: ${v.says}`);
    const refusing = verdicts.filter((v) => v.refuses);
    if (refusing.length > 0) {
        const reason = `${o.upstream.stack}'s alarms refuse the promotion: ${refusing.map((v) => v.says).join("; ")}. ${alarmFix(refusing, o.upstream.stack, o.stack.stack)}`;
        if (refusing.some((v) => v.case === "missing"))
            throw new DriverError(Exit.REFUSED, `upstream-alarm gate (configuration error): ${reason}`, {
                upstreamAlarms: { ...report, result: "refused", reason, alarms: verdicts },
            });
        return fail("warned", reason, verdicts);
    }
    if (since === undefined) {
        o.log(
            `upstream-alarm gate: every alarm is OK now, but no upstream deployment was found to check since when, so whether one entered ALARM since ${o.upstream.stack}'s deployment was not checked`,
        );
        return { ...report, result: "now-only", alarms: verdicts };
    }
    return { ...report, result: "passed", alarms: verdicts };
}
