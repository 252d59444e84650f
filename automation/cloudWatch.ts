/**
 * The CloudWatch adapter behind the AWS port (aws.ts): the upstream alarms' state (DescribeAlarms)
 * and state history (DescribeAlarmHistory), read with the upstream's history reader in its account
 * and region, with the driver's retry policy and deadlines (awsCall.ts). Why its own adapter: one
 * service per adapter, as dynamodb.ts and stepFunctions.ts; what the answers mean is alarmRules.ts's.
 *
 * Every read is bounded: names go 100 to a call (DescribeAlarms' limit), at most MAX_PAGES pages
 * per call; a history read stops after MAX_PAGES pages of 100 and says it is incomplete. A failed
 * DescribeAlarms is a HistoryUnreadable (the check cannot be made); a failed DescribeAlarmHistory is
 * "unavailable" (the emulator has no such call, an old reader may not make it), which the rule
 * turns into a refusal wherever the history is needed.
 */

import type { AlarmHistory, AlarmNow } from "./alarmRules";
import {
    type AwsContext,
    callAws,
    DeadlineExceeded,
    deadlineMessage,
    describeError,
    type TemporaryCredentials,
} from "./awsCall";
import { HistoryUnreadable } from "./deployments";
import { printableField } from "./log";

/** The most pages one read follows. */
export const MAX_PAGES = 10;
/** DescribeAlarms' largest batch of names, and the largest page of either call. */
const BATCH = 100;

type CloudWatch = typeof import("@aws-sdk/client-cloudwatch");

/** The newest of the alarm's two change times, epoch ms. */
function changedAt(a: { StateUpdatedTimestamp?: Date; StateTransitionedTimestamp?: Date }): number | undefined {
    const times = [a.StateUpdatedTimestamp, a.StateTransitionedTimestamp]
        .map((d) => d?.getTime())
        .filter((t): t is number => t !== undefined && Number.isFinite(t));
    return times.length ? Math.max(...times) : undefined;
}

/**
 * The metric alarms of these names that exist, in the context's region. Composite alarms are not
 * read: DescribeAlarms returns them only to a caller allowed it on every alarm (`*`), and the reader
 * is allowed only the listed ones; a composite alarm listed shows as missing.
 */
export async function describeAlarms(
    ctx: AwsContext,
    credentials: TemporaryCredentials,
    names: readonly string[],
): Promise<AlarmNow[]> {
    const cw: CloudWatch = await import("@aws-sdk/client-cloudwatch");
    const found: AlarmNow[] = [];
    try {
        for (let i = 0; i < names.length; i += BATCH) {
            const AlarmNames = names.slice(i, i + BATCH);
            let NextToken: string | undefined;
            for (let page = 0; ; page++) {
                if (page === MAX_PAGES)
                    throw new HistoryUnreadable(
                        `DescribeAlarms gave more than ${MAX_PAGES} pages for ${AlarmNames.length} names`,
                    );
                const out = await callAws(
                    ctx,
                    `reading ${AlarmNames.length} alarm(s) with DescribeAlarms`,
                    credentials,
                    (config) => new cw.CloudWatchClient(config),
                    (client, abortSignal) =>
                        client.send(
                            new cw.DescribeAlarmsCommand({
                                AlarmNames,
                                AlarmTypes: ["MetricAlarm"],
                                MaxRecords: BATCH,
                                NextToken,
                            }),
                            { abortSignal },
                        ),
                );
                for (const a of out.MetricAlarms ?? []) {
                    if (!a.AlarmName || !AlarmNames.includes(a.AlarmName)) continue;
                    found.push({
                        name: a.AlarmName,
                        state: a.StateValue ?? "(no state)",
                        changedAt: changedAt(a),
                        reason: a.StateReason,
                    });
                }
                NextToken = out.NextToken;
                if (!NextToken) break;
            }
        }
        return found;
    } catch (err) {
        if (err instanceof HistoryUnreadable) throw err;
        if (err instanceof DeadlineExceeded) throw new HistoryUnreadable(deadlineMessage(err, ctx.deadline));
        const name = describeError(err);
        const msg = printableField((err as Error).message ?? "");
        if (/AccessDenied/.test(name))
            throw new HistoryUnreadable(
                `the history reader may not read the alarms (${name}: ${msg}); list them in historyReaderAlarms of the upstream stack file and run pulumi up for it`,
            );
        throw new HistoryUnreadable(`reading the alarms failed: ${name}: ${msg}`);
    }
}

/** The state a history item's HistoryData (JSON: `{"newState": {"stateValue": ...}}`) says the alarm went to (undefined: it does not say). */
export function historyState(
    data: string | undefined,
    which: "newState" | "oldState" = "newState",
): string | undefined {
    if (!data) return undefined;
    try {
        const v = JSON.parse(data) as Record<string, { stateValue?: unknown } | undefined>;
        const state = v?.[which]?.stateValue;
        return typeof state === "string" ? state : undefined;
    } catch {
        return undefined;
    }
}

/** The alarm's state updates from `since` to `until` (epoch ms), newest first; "unavailable" when they cannot be read. */
export async function alarmHistory(
    ctx: AwsContext,
    credentials: TemporaryCredentials,
    name: string,
    since: number,
    until: number,
): Promise<AlarmHistory> {
    const cw: CloudWatch = await import("@aws-sdk/client-cloudwatch");
    const changes: { at: number; to?: string; from?: string }[] = [];
    let NextToken: string | undefined;
    try {
        for (let page = 0; page < MAX_PAGES; page++) {
            const out = await callAws(
                ctx,
                `reading alarm ${printableField(name)}'s history with DescribeAlarmHistory`,
                credentials,
                (config) => new cw.CloudWatchClient(config),
                (client, abortSignal) =>
                    client.send(
                        new cw.DescribeAlarmHistoryCommand({
                            AlarmName: name,
                            AlarmTypes: ["MetricAlarm"],
                            HistoryItemType: "StateUpdate",
                            // No EndDate: a build server whose clock is behind would cut off the newest changes.
                            StartDate: new Date(since),
                            ScanBy: "TimestampDescending",
                            MaxRecords: BATCH,
                            NextToken,
                        }),
                        { abortSignal },
                    ),
            );
            for (const item of out.AlarmHistoryItems ?? []) {
                const at = item.Timestamp?.getTime();
                // An item without a time cannot be placed: count it as a change since the deployment.
                changes.push({
                    at: at !== undefined && Number.isFinite(at) ? at : until,
                    to: historyState(item.HistoryData),
                    from: historyState(item.HistoryData, "oldState"),
                });
            }
            NextToken = out.NextToken;
            if (!NextToken) return { changes, complete: true };
        }
        return { changes, complete: false };
    } catch (err) {
        if (err instanceof DeadlineExceeded) return { unavailable: deadlineMessage(err, ctx.deadline) };
        return { unavailable: `${describeError(err)}: ${printableField((err as Error).message ?? "")}` };
    }
}
