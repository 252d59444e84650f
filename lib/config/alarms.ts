/**
 * Upstream alarms (issue 22): the CloudWatch alarms a promoted stack (prod) lists in
 * `upstreamAlarms`, whose state in the upstream environment (stage) may refuse a promotion, and
 * the alarms the upstream's history reader may read (`historyReaderAlarms`). Why here: the reader
 * lives in the upstream's stack, so the grant is the upstream's key, and `validate` checks across
 * stack files that every alarm a downstream lists is granted there and nothing more, as it does for
 * historyReaderPrincipals and historyReaderBranches (readers.ts). Pure.
 */
import { PARTITION_PATTERN } from "../arns";
import { ConfigError } from "./errors";
import { PROJECT, type StackConfig } from "./types";
import type { ConfigReader } from "./values";

/**
 * The most alarms one key may list. DescribeAlarms takes at most 100 names per call; 50 keeps one
 * call per check and bounds the history reads (one DescribeAlarmHistory per alarm that changed
 * since the upstream deployment). The reader's policy (a role's inline policies share 10,240
 * characters) is checked by size in validate.ts: 50 alarms with long names do not fit.
 */
export const MAX_ALARMS = 50;

/**
 * A CloudWatch alarm ARN: `arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>`. The name is
 * 1 to 255 printable ASCII characters without the IAM wildcards `*` and `?` (a name with one would
 * widen the reader's grant to other alarms).
 */
const ALARM_ARN_RE = new RegExp(
    `^arn:(${PARTITION_PATTERN}):cloudwatch:([a-z]{2}(?:-[a-z]+)+-\\d{1,2}):(\\d{12}):alarm:([\\x20-\\x29\\x2B-\\x3E\\x40-\\x7E]{1,255})$`,
);

/** The parts of an alarm ARN, or undefined when it is not one. */
export function parseAlarmArn(
    arn: string,
): { partition: string; region: string; accountId: string; name: string } | undefined {
    const m = ALARM_ARN_RE.exec(arn);
    return m ? { partition: m[1], region: m[2], accountId: m[3], name: m[4] } : undefined;
}

/** A list of alarm ARNs: each one an ARN, none twice, at most MAX_ALARMS; `where` checks the account and region. */
function alarmList(
    r: ConfigReader,
    key: string,
    where?: { accountId?: string; region?: string },
): string[] | undefined {
    const listed = r.list(key, "arn:aws:cloudwatch:eu-west-1:222222222222:alarm:platform-5xx");
    if (listed === undefined) return undefined;
    if (listed.length > MAX_ALARMS)
        r.fail(
            key,
            `lists ${listed.length} alarms; at most ${MAX_ALARMS} are allowed`,
            "list only the alarms that must keep a promotion back (metric alarms: a composite alarm cannot be read with a grant on the listed alarms only)",
        );
    listed.forEach((arn, i) => {
        const bad = (problem: string, fix: string) => r.failItem(key, i, arn, problem, fix);
        const a = parseAlarmArn(arn);
        if (!a)
            bad(
                "is not a CloudWatch alarm ARN (no wildcards)",
                "use the form arn:aws:cloudwatch:<region>:<12-digit account>:alarm:<alarm name>, as `aws cloudwatch describe-alarms` prints it",
            );
        else if (listed.indexOf(arn) !== i) bad("is listed twice", "remove the duplicate");
        else if (where?.accountId && a.accountId !== where.accountId)
            bad(
                `is in account ${a.accountId}, not this stack's account ${where.accountId}`,
                "list only alarms of this stack's own account, which its history reader is in",
            );
        else if (where?.region && a.region !== where.region)
            bad(
                `is in region ${a.region}, not this stack's aws:region ${where.region}`,
                "list only alarms of this stack's own region",
            );
    });
    return listed;
}

/** This stack's alarm keys: `upstreamAlarms` (only with promotedFrom) and `historyReaderAlarms` (its own account and region). */
export function alarmRules(
    r: ConfigReader,
    stack: { accountId?: string; region?: string; promotedFrom?: string; promotionGate?: string },
): { upstreamAlarms?: string[]; readerAlarms?: string[] } {
    const upstreamAlarms = alarmList(r, "upstreamAlarms");
    if (upstreamAlarms && upstreamAlarms.length > 0 && stack.promotedFrom === undefined)
        r.fail(
            "upstreamAlarms",
            "is set but promotedFrom is not: only a promoted stack has an upstream environment whose alarms could hold it back",
            `set promotedFrom, or remove upstreamAlarms from Pulumi.${r.stack}.yaml`,
        );
    // The gate's mode decides what an alarm does; with the gate off, listed alarms would never be read.
    else if (upstreamAlarms && upstreamAlarms.length > 0 && stack.promotionGate === "off")
        r.fail(
            "upstreamAlarms",
            "is set but promotionGate is off: the alarms would never be checked",
            `set promotionGate to warn or enforce, or remove upstreamAlarms from Pulumi.${r.stack}.yaml`,
        );
    const readerAlarms = alarmList(r, "historyReaderAlarms", stack);
    return { upstreamAlarms, readerAlarms };
}

/**
 * Across stack files: every alarm a downstream lists is in its upstream's account and region and
 * granted to the upstream's history reader (historyReaderAlarms), and the reader is granted no
 * alarm that no downstream lists.
 */
export function validateAlarmGrants(configs: readonly StackConfig[]): ConfigError[] {
    const errors: ConfigError[] = [];
    for (const up of configs) {
        const downs = configs.filter((c) => c.promotedFrom === up.stack);
        for (const down of downs) {
            down.upstreamAlarms.forEach((arn, i) => {
                const err = (problem: string, fix: string) =>
                    errors.push(
                        new ConfigError(
                            down.stack,
                            `${PROJECT}:upstreamAlarms[${i}]`,
                            JSON.stringify(arn),
                            problem,
                            fix,
                        ),
                    );
                const a = parseAlarmArn(arn);
                if (!a) return; // reported by the stack's own rules
                if (a.accountId !== up.accountId || a.region !== up.region || a.partition !== up.partition)
                    err(
                        `is in account ${a.accountId}, region ${a.region}, but the upstream stack ${up.stack} is in account ${up.accountId}, region ${up.region}: its history reader can read only its own alarms`,
                        `list alarms of ${up.stack}'s account and region (arn:${up.partition}:cloudwatch:${up.region}:${up.accountId}:alarm:<name>)`,
                    );
                else if (!up.historyReader.alarms.includes(arn))
                    err(
                        `is not in historyReaderAlarms of Pulumi.${up.stack}.yaml, so ${up.stack}'s history reader may not read it`,
                        `add "${arn}" to historyReaderAlarms in Pulumi.${up.stack}.yaml, then run pulumi up --stack ${up.stack}`,
                    );
            });
        }
        const wanted = downs.flatMap((d) => d.upstreamAlarms);
        up.historyReader.alarms.forEach((arn, i) => {
            if (!wanted.includes(arn))
                errors.push(
                    new ConfigError(
                        up.stack,
                        `${PROJECT}:historyReaderAlarms[${i}]`,
                        JSON.stringify(arn),
                        `lets ${up.stack}'s history reader read this alarm, but no stack promoted from ${up.stack} lists it in upstreamAlarms`,
                        "remove it",
                    ),
                );
        });
    }
    return errors;
}
