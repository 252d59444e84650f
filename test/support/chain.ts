/**
 * A promotion chain for the summary tests, at a fixed time: dev deployed and up to date, stage
 * whose last deployment failed, prod deployed with commits waiting on its branch, and prod-eu (a
 * second target on main) never deployed. `text` puts the same words (or hostile ones) wherever
 * git or Attini supply text: subjects, branch names, ids, Attini's messages.
 */
import type { Behind } from "../../automation/behind";
import type { DeployOutcome } from "../../automation/deploySummary";
import type { Commit } from "../../automation/git";
import type { LinkStatus } from "../../automation/promotionLinks";
import type { StatusReport } from "../../automation/statusReport";

/** 2026-11-27T00:00:00Z, in seconds. */
export const NOW = Math.floor(Date.parse("2026-11-27T00:00:00Z") / 1000);
const DAY = 86_400;

const commit = (n: number, subject: string, daysAgo: number): Commit => ({
    sha: `${String(n).repeat(40)}`.slice(0, 40),
    time: NOW - daysAgo * DAY,
    subject,
});

/** The chain; `text` is what people wrote (plain words by default). */
export function chain(text = (s: string) => s): { report: StatusReport; behind: Record<string, Behind> } {
    const dist = "platform";
    const tip = (branch: string, c: Commit) => ({ ...c, ref: `origin/${branch}` });
    const at = (daysAgo: number) => (NOW - daysAgo * DAY) * 1000;
    const main = text("main");
    const waiting = [commit(7, text("Add queue"), 3), commit(8, text("Raise timeout"), 2)];
    const link = (
        up: string,
        upBranch: string,
        down: string,
        downBranch: string,
        l: Partial<LinkStatus>,
    ): LinkStatus => ({
        upstream: { stack: up, branch: upBranch, ref: `origin/${upBranch}` },
        downstream: { stack: down, branch: downBranch, ref: `origin/${downBranch}`, gate: "enforce" },
        missing: [],
        warnings: [],
        waiting: [],
        downstreamOnly: [],
        treesEqual: true,
        ...l,
    });
    const report: StatusReport = {
        environments: [
            {
                stack: "dev",
                branch: "dev",
                attiniEnvironment: "dev",
                accountId: "111111111111",
                region: "eu-west-1",
                tip: tip("dev", commit(1, text("Add queue"), 3)),
                deployed: {
                    distributionName: dist,
                    last: {
                        environment: "dev",
                        distributionName: dist,
                        distributionId: text("release-2"),
                        time: at(1),
                        status: "succeeded",
                    },
                },
                movedOn: false,
            },
            {
                stack: "stage",
                branch: "stage",
                attiniEnvironment: "acc",
                accountId: "222222222222",
                region: "eu-west-1",
                tip: tip("stage", commit(2, text("Merge dev"), 2)),
                deployed: {
                    distributionName: dist,
                    last: {
                        environment: "acc",
                        distributionName: dist,
                        distributionId: text("release-2"),
                        time: at(1),
                        status: "failed",
                        detail: text("CloudformationError: bucket name taken"),
                    },
                    lastSucceeded: {
                        environment: "acc",
                        distributionName: dist,
                        distributionId: "release-1",
                        time: at(5),
                        status: "succeeded",
                    },
                },
                movedOn: false,
            },
            {
                stack: "prod",
                branch: main,
                attiniEnvironment: "prod",
                accountId: "333333333333",
                region: "eu-west-1",
                tip: tip(main, commit(3, text("Hotfix: raise timeout"), 1)),
                deployed: {
                    distributionName: dist,
                    last: {
                        environment: "prod",
                        distributionName: dist,
                        distributionId: "release-1",
                        time: at(4),
                        status: "succeeded",
                    },
                    lastSucceeded: {
                        environment: "prod",
                        distributionName: dist,
                        distributionId: "release-1",
                        time: at(4),
                        status: "succeeded",
                    },
                },
                movedOn: true,
            },
            {
                stack: "prod-eu",
                branch: main,
                attiniEnvironment: "prod",
                accountId: "444444444444",
                region: "eu-central-1",
                tip: tip(main, commit(3, text("Hotfix: raise timeout"), 1)),
                deployed: { distributionName: dist },
            },
        ],
        links: [
            link("dev", "dev", "stage", "stage", { waiting, oldestWaitingDays: 3, treesEqual: false }),
            link("stage", "stage", "prod", main, {
                downstreamOnly: [{ ...commit(3, text("Hotfix: raise timeout"), 1), kind: "hotfix" }],
                treesEqual: false,
                warnings: [text("origin/stage was fetched 9 days ago")],
            }),
            link("stage", "stage", "prod-eu", main, { treesEqual: true }),
        ],
    };
    const behind: Record<string, Behind> = {
        dev: { atDeploy: commit(1, text("Add queue"), 3), count: 0 },
        stage: { atDeploy: commit(2, text("Merge dev"), 2), count: 0 },
        prod: { atDeploy: commit(4, text("Release 1"), 6), count: 2 },
    };
    return { report, behind };
}

const target = (branch: string, stack: string, env: string, accountId: string) => ({
    branch,
    branchSource: "BRANCH",
    stack: { stack, attiniEnvironment: env, accountId, region: "eu-west-1" },
});

/** Deploys that ended every way: deployed, failed in attini, refused by each gate, stopped before a stack. */
export function deployOutcomes(text = (s: string) => s): Record<string, DeployOutcome> {
    const base = {
        exitCode: 0,
        branch: text("dev"),
        branchSource: "BRANCH",
        stack: "dev",
        attiniEnvironment: "dev",
        accountId: "111111111111",
        region: "eu-west-1",
        sha256: "ab".repeat(32),
        commit: "1".repeat(40),
        durationMs: 12_345,
    };
    const runUrl = "https://github.com/acme/platform/actions/runs/42";
    return {
        deployed: {
            distribution: text("release-2.zip"),
            target: target(text("dev"), "dev", "dev", "111111111111"),
            summary: {
                ...base,
                result: "deployed",
                promotionGate: "off",
                credentials: { mode: "endpoint", refreshes: 0, setsServed: 1 },
            },
            durationMs: 12_400,
            runUrl,
        },
        failed: {
            distribution: "release-2.zip",
            target: target("stage", "stage", "acc", "222222222222"),
            summary: {
                ...base,
                result: "failed",
                exitCode: 1,
                branch: "stage",
                promotionGate: "passed",
                promotion: {
                    scope: text("the whole tree of commit 2222222222, against origin/dev"),
                    unpromoted: [],
                    uncommitted: [],
                },
                verifiedPromotion: {
                    result: "passed",
                    upstream: { stack: "dev", attiniEnvironment: "dev", accountId: "111111111111" },
                    distributionName: "platform",
                    distributionId: text("release-2"),
                    case: "succeeded",
                    matched: {
                        environment: "dev",
                        distributionName: "platform",
                        distributionId: "release-2",
                        time: (NOW - DAY) * 1000,
                        status: "succeeded",
                    },
                },
            },
            durationMs: 65_000,
            runUrl,
        },
        "refused by the verified gate": {
            distribution: "release-2.zip",
            target: target(text("main"), "prod", "prod", "333333333333"),
            stopped: {
                exitCode: 7,
                message: `promotion gate (enforce): ${text("distributionId release-2 failed in acc")} (stack stage, account 222222222222).`,
                details: {
                    verifiedPromotion: {
                        result: "refused",
                        upstream: { stack: "stage", attiniEnvironment: "acc", accountId: "222222222222" },
                        reason: text("distributionId release-2 failed in acc (stack stage, account 222222222222)"),
                    },
                },
            },
            durationMs: 2_100,
            runUrl,
        },
        "refused by the git gate": {
            distribution: "distribution/platform",
            target: target("main", "prod", "prod", "333333333333"),
            stopped: {
                exitCode: 7,
                message: `promotion gate (enforce): what is about to be deployed to prod is not content that stage has.\n  1 commit(s) here are not on origin/stage, newest first:\n    3333333333 ${text("Hotfix: raise timeout")}`,
                details: {},
            },
            durationMs: 900,
        },
        "stopped before a stack": {
            distribution: ".",
            target: { branch: text("feature/login"), branchSource: "BRANCH" },
            stopped: { exitCode: 3, message: `branch ${text("feature/login")} maps to no stack`, details: {} },
            durationMs: 300,
        },
    };
}
