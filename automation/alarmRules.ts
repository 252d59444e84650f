/**
 * The upstream-alarm rule (issue 22), pure: given what CloudWatch says about each alarm a promoted
 * stack lists (upstreamAlarms) and when the upstream deployment began, whether the promotion may go
 * on. Why its own module: the rule is the part to get right and to test without AWS; the reads are
 * in cloudWatch.ts and the deploy's use of them in upstreamAlarms.ts.
 *
 * The rule, per alarm (docs/guardrails.md, "Upstream alarms"):
 * - it does not exist: refused, a configuration error;
 * - it is in ALARM now: refused;
 * - it is INSUFFICIENT_DATA now: refused (nothing shows it is not alarming);
 * - it is in any other state: refused;
 * - it is OK and its state has not changed since the upstream deployment began: passes (provable
 *   from DescribeAlarms alone: it has been OK all along; a time in whole seconds counts as the
 *   end of that second);
 * - it is OK and its state changed since then: passes only if its complete state history since
 *   then (DescribeAlarmHistory) shows no ALARM; history that shows ALARM refuses, and history that
 *   cannot be read, is cut short, or does not reach back that far (CloudWatch keeps 30 days)
 *   refuses, saying it cannot be shown to have stayed out of ALARM.
 */
import { isoTime } from "./deployments";
import { printableField } from "./log";

/** An alarm as DescribeAlarms shows it. */
export interface AlarmNow {
    name: string;
    /** OK, ALARM or INSUFFICIENT_DATA (anything else is not one CloudWatch documents, and refuses). */
    state: string;
    /** The newest of StateUpdatedTimestamp and StateTransitionedTimestamp, epoch ms; undefined when it gave neither. */
    changedAt?: number;
    reason?: string;
}

/** The state changes of an alarm since a time, as DescribeAlarmHistory shows them, or why they cannot be had. */
export type AlarmHistory =
    | {
          /** Each state update: when, and the state it went to (undefined: the item did not say). */
          changes: { at: number; to?: string; from?: string }[];
          /** false when the read stopped at its bound before the end. */
          complete: boolean;
      }
    | { unavailable: string };

/** How long CloudWatch keeps an alarm's history. */
export const ALARM_HISTORY_DAYS = 30;

export type AlarmCase =
    | "missing"
    | "alarm-now"
    | "insufficient-data"
    | "unknown-state"
    | "alarmed-since"
    | "unprovable"
    | "unchanged"
    | "ok-since"
    | "ok-now";

/** What the rule says about one alarm. */
export interface AlarmVerdict {
    arn: string;
    name: string;
    case: AlarmCase;
    /** Its state now (undefined when it does not exist). */
    state?: string;
    /** Since when it is in that state (ISO), when CloudWatch said. */
    since?: string;
    /** When it last entered ALARM since the upstream deployment (ISO), for alarmed-since. */
    alarmedAt?: string;
    refuses: boolean;
    /** In words, every text from AWS escaped. */
    says: string;
}

const PASSING: readonly AlarmCase[] = ["unchanged", "ok-since", "ok-now"];

/**
 * Whether an alarm whose state last changed at `changedAt` provably has not changed since
 * `deployedAt`. A time in whole seconds may have been cut to the second (the emulator does; AWS
 * gives milliseconds), so it counts as the end of that second.
 */
export function unchangedSince(changedAt: number | undefined, deployedAt: number): boolean {
    if (changedAt === undefined) return false;
    return (changedAt % 1000 === 0 ? changedAt + 999 : changedAt) <= deployedAt;
}

/**
 * The verdict on one alarm; `deployedAt` is when the upstream deployment began (undefined: none was
 * found, and an OK alarm is only "OK now"), `now` the clock.
 */
export function judgeAlarm(
    arn: string,
    name: string,
    found: AlarmNow | undefined,
    history: AlarmHistory | undefined,
    deployedAt: number | undefined,
    now: number,
): AlarmVerdict {
    const shown = printableField(name);
    const base = { arn, name };
    const verdict = (c: AlarmCase, says: string, extra: Partial<AlarmVerdict> = {}): AlarmVerdict => ({
        ...base,
        ...(found ? { state: found.state } : {}),
        ...(found?.changedAt !== undefined ? { since: isoTime(found.changedAt) } : {}),
        ...extra,
        case: c,
        refuses: !PASSING.includes(c),
        says,
    });
    if (!found)
        return verdict("missing", `alarm ${shown} does not exist as a metric alarm (composite alarms are not read)`);
    const state = printableField(found.state);
    const since = found.changedAt !== undefined ? ` since ${isoTime(found.changedAt)}` : "";
    const reason = found.reason ? ` (${printableField(found.reason)})` : "";
    if (found.state === "ALARM") return verdict("alarm-now", `alarm ${shown} is in ALARM${since}${reason}`);
    if (found.state === "INSUFFICIENT_DATA")
        return verdict(
            "insufficient-data",
            `alarm ${shown} is INSUFFICIENT_DATA${since}${reason}, so nothing shows it is not alarming`,
        );
    if (found.state !== "OK")
        return verdict("unknown-state", `alarm ${shown} is in a state CloudWatch does not document: ${state}`);
    if (deployedAt === undefined)
        return verdict(
            "ok-now",
            `alarm ${shown} is OK${since} (whether it entered ALARM since the upstream deployment was not checked: none was found)`,
        );
    const deployed = isoTime(deployedAt);
    if (unchangedSince(found.changedAt, deployedAt))
        return verdict("unchanged", `alarm ${shown} is OK${since}, before the upstream deployment (${deployed})`);
    const cannot = (why: string) =>
        verdict(
            "unprovable",
            `alarm ${shown} is OK${since || " (CloudWatch gave no time of its last change)"}, after the upstream deployment began (${deployed}), and cannot be shown to have stayed out of ALARM since then: ${why}`,
        );
    if (!history) return cannot("its state history was not read");
    if ("unavailable" in history)
        return cannot(`its state history cannot be read (${printableField(history.unavailable)})`);
    // In ALARM at any time since: a change into ALARM, or out of it (it was in ALARM until then).
    const sinceDeployed = history.changes.filter((c) => c.at >= deployedAt).sort((a, b) => b.at - a.at);
    const entered = sinceDeployed.find((c) => c.to === "ALARM");
    const inAlarm = entered ?? sinceDeployed.find((c) => c.from === "ALARM");
    if (inAlarm) {
        const when = inAlarm.at;
        return verdict(
            "alarmed-since",
            `alarm ${shown} is OK${since}, but ${entered ? "entered ALARM at" : "was in ALARM until"} ${isoTime(when)}, after the upstream deployment began (${deployed})`,
            { alarmedAt: isoTime(when) },
        );
    }
    if (sinceDeployed.some((c) => c.to === undefined))
        return cannot("an entry of its state history does not say which state it went to");
    // The oldest change since the deployment says what the state was before it.
    if (sinceDeployed.length > 0 && sinceDeployed[sinceDeployed.length - 1].from === undefined)
        return cannot("the oldest entry of its state history since then does not say which state it left");
    if (!history.complete) return cannot("its state history since then is longer than the driver reads");
    if (deployedAt < now - ALARM_HISTORY_DAYS * 86_400_000)
        return cannot(`CloudWatch keeps ${ALARM_HISTORY_DAYS} days of alarm history, and the deployment is older`);
    return verdict(
        "ok-since",
        `alarm ${shown} is OK${since}; its state history since the upstream deployment began (${deployed}) shows no ALARM`,
    );
}

/** The fix to name for the alarms that refuse. */
export function alarmFix(verdicts: readonly AlarmVerdict[], upstream: string, downstream: string): string {
    if (verdicts.some((v) => v.case === "missing"))
        return `Fix upstreamAlarms in Pulumi.${downstream}.yaml (and historyReaderAlarms in Pulumi.${upstream}.yaml), then run pulumi up for both, or create the alarm in ${upstream}.`;
    return `Find out why in ${upstream}, fix it and deploy the fix there; the promotion may go on once every listed alarm is OK and has stayed out of ALARM since ${upstream}'s deployment.`;
}
