// The shared fake of the driver's AWS port (automation/aws.ts), and services built on it: every
// call is recorded in order; credentials act in the account of the role assumed unless the test
// says otherwise. The unit tests use it to check the order of the AWS calls and the exit codes in
// milliseconds; the end-to-end tests run the same paths on the emulator.

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import type { AlarmHistory, AlarmNow } from "../../automation/alarmRules";
import type { Aws } from "../../automation/aws";
import type { TemporaryCredentials } from "../../automation/awsCall";
import { HistoryUnreadable, type RecordedDeployment } from "../../automation/deployments";
import { DriverError, Exit } from "../../automation/errors";
import type { LedgerRun } from "../../automation/ledgerTypes";
import { Logger, Redactor } from "../../automation/log";
import { checkedOutputs } from "../../automation/outputs";
import type { Services } from "../../automation/services";
import type { StackConfig } from "../../lib/config/types";
import { type FakeTable, fakeLedger, fakeTable } from "./fakeLedger";
import { outputsFor } from "./project";

export interface FakeAwsOptions {
    /** What readDeployments answers (newest first; up to the first that the query's `until` accepts). */
    history?: RecordedDeployment[];
    /** What executionStatus answers per execution ARN: a status, or why it cannot be read (none: it does not exist). */
    executions?: Record<string, string | { unreadable: string }>;
    /** Roles STS refuses to let the caller assume. */
    refuse?: (roleArn: string) => boolean;
    /** The account a role's credentials act in (default: the role ARN's). */
    accountOf?: (roleArn: string) => string;
    /** Runs already in the ledgers, by table name. */
    ledgerRuns?: Record<string, LedgerRun[]>;
    /** The alarms that exist, as DescribeAlarms shows them. */
    alarms?: AlarmNow[];
    /** What DescribeAlarmHistory answers per alarm name (none: unavailable, as on the emulator, which lacks the call). */
    alarmHistory?: Record<string, AlarmHistory>;
    /** Why DescribeAlarms fails (none: it answers). */
    alarmsUnreadable?: string;
}

/** A fake AWS, the list of calls made to it in order, and its ledger tables (by name). */
export function fakeAws(o: FakeAwsOptions = {}): { aws: Aws; calls: string[]; ledgers: Map<string, FakeTable> } {
    const calls: string[] = [];
    const ledgers = new Map<string, FakeTable>(
        Object.entries(o.ledgerRuns ?? {}).map(([table, runs]) => [table, { ...fakeTable(), runs: [...runs] }]),
    );
    const account = (roleArn: string) => o.accountOf?.(roleArn) ?? roleArn.split(":")[4];
    const creds = (roleArn: string): TemporaryCredentials => ({
        accessKeyId: `AKIAFAKE${account(roleArn)}`,
        secretAccessKey: "fake-secret",
        sessionToken: `token-${account(roleArn)}`,
    });
    /** Records the call, then answers. */
    const called = <T>(call: string, answer: T): T => {
        calls.push(call);
        return answer;
    };
    const aws: Aws = {
        findSourceCredentials: async () =>
            called("findSourceCredentials", async () => ({ accessKeyId: "AKIASOURCE", secretAccessKey: "source" })),
        assumeRole: async (req) => {
            calls.push(`assumeRole ${req.roleArn}`);
            if (o.refuse?.(req.roleArn))
                throw new DriverError(Exit.CREDENTIALS, `STS denied AssumeRole on ${req.roleArn}`);
            return creds(req.roleArn);
        },
        assumeRoleWithWebIdentity: async (req) =>
            called(`assumeRoleWithWebIdentity ${req.roleArn}`, creds(req.roleArn)),
        callerAccount: async (_ctx, c) => called(`callerAccount ${c.accessKeyId.slice(8)}`, c.accessKeyId.slice(8)),
        readDeployments: async (_ctx, _c, q) => {
            const all = o.history ?? [];
            const stop = q.until ? all.findIndex((d) => q.until?.(d)) : -1;
            return called(
                `readDeployments ${q.environment}-${q.distributionName}`,
                stop < 0 ? all : all.slice(0, stop + 1),
            );
        },
        executionStatus: async (_ctx, _c, arn) => {
            calls.push(`executionStatus ${arn}`);
            const e = o.executions?.[arn];
            if (e === undefined) throw new HistoryUnreadable(`execution ${arn} does not exist`);
            if (typeof e !== "string") throw new HistoryUnreadable(e.unreadable);
            return e;
        },
        describeAlarms: async (_ctx, _c, names) => {
            calls.push(`describeAlarms ${names.join(",")}`);
            if (o.alarmsUnreadable !== undefined) throw new HistoryUnreadable(o.alarmsUnreadable);
            return (o.alarms ?? []).filter((a) => names.includes(a.name));
        },
        alarmHistory: async (_ctx, _c, name, since) => {
            calls.push(`alarmHistory ${name} since ${since}`);
            return o.alarmHistory?.[name] ?? { unavailable: "InvalidAction: DescribeAlarmHistory is not implemented" };
        },
        ledger: (table, account) => {
            if (!ledgers.has(table)) ledgers.set(table, fakeTable());
            return fakeLedger(ledgers.get(table) as FakeTable, `ledger ${table} in account ${account}`);
        },
    };
    return { aws, calls, ledgers };
}

/** A deployed run of the .zip at `file` in a ledger (stage's, by default) that made Attini's deployment at `attiniTime`, as a driver records it. */
export function deployedRun(
    file: string,
    attiniTime: number,
    environment = "acc",
    startedAt = Date.now() - 120_000,
): LedgerRun {
    const sha256 = createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    return {
        entry: `run#${String(startedAt).padStart(15, "0")}#earlier`,
        runId: "earlier",
        environment,
        distributionName: "platform",
        commit: "a".repeat(40),
        branch: "stage",
        digest: `sha256:${sha256}`,
        sha256,
        ciSystem: "local",
        sessionName: "deploy-platform",
        sourceIdentity: "ci",
        startedAt,
        endedAt: startedAt + 60_000,
        attiniTime,
        result: "deployed",
    };
}

/** Services on a fake AWS: outputs as a fresh `pulumi up` would have written them, a log kept in `lines`. */
export function fakeServices(aws: Aws, env: NodeJS.ProcessEnv): Services & { lines: string[] } {
    const lines: string[] = [];
    return {
        aws,
        // Checked as real ones are: a test's outputs must be ones the driver would accept.
        readOutputs: async (dir: string, c: StackConfig, configs: readonly StackConfig[]) =>
            checkedOutputs(c, configs, { ...outputsFor(c, dir) }),
        githubIdToken: async () => {
            throw new DriverError(Exit.CREDENTIALS, "no GitHub Actions token service in the unit tests");
        },
        env,
        log: new Logger(new Redactor(), (l) => lines.push(l)),
        now: Date.now,
        lines,
    };
}
