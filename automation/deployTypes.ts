/**
 * The deploy flow's types, shared by the command (commands/deploy.ts) and the phases
 * (deploying.ts, preflight.ts, deployReads.ts): its options, where it goes, what the preflight
 * found, and the summary `--json` prints. Types only.
 */
import type { StackConfig } from "../lib/config/types";
import type { AttiniConfigIdentity } from "./attiniConfig";
import type { AwsTimeouts } from "./awsCall";
import type { FreezeReport } from "./freezeGate";
import type { GitRunner } from "./git";
import type { GateReport } from "./gitGate";
import type { LedgerReport } from "./ledgering";
import type { ProjectStacks } from "./project";
import type { SoakReport } from "./soak";
import type { UpstreamAlarmsReport } from "./upstreamAlarms";
import type { VerifiedGateReport } from "./verifiedGate";

/** The options the preflight checks. */
export interface PreflightOptions {
    distributionPath: string;
    extraArgs: string[];
    attiniBin: string;
    /** Assume the role with the GitHub Actions OIDC token instead of source credentials. */
    githubOidc: boolean;
    /** The git remote whose tracking branches tell what went through each environment. */
    remote: string;
    skipPromotionCheck: boolean;
    expectSha256?: string;
    externalId?: string;
    durationSeconds: number;
    sessionName?: string;
    dryRun: boolean;
}

/** Where the deploy goes: the build's branch, its stack, and the stack it is promoted from. */
export interface Target {
    branch: string;
    branchSource: string;
    stack: StackConfig;
    upstream?: StackConfig;
    /** Every stack of the project (the checkout's files, until the outputs confirm them). */
    configs: readonly StackConfig[];
    projectDir: string;
    git: GitRunner;
}

/** What the preflight found, for the phases after it. */
export interface Checked {
    /** The distribution's absolute path (a .zip's private copy), and whether it is a folder or a .zip. */
    distribution: string;
    kind: "folder" | "zip";
    /** attini's arguments (after `attini`), and the whole command line for display. */
    command: string[];
    commandLine: string;
    sessionName: string;
    /** The attini executable (none in a dry run). */
    attini?: string;
    sha256: string;
    /** The distribution's attini-config (attiniConfig.ts), read once, when first asked: the ledger and the verified gate both need it. */
    attiniConfig: () => Promise<AttiniConfigIdentity>;
    /** The git promotion gate's report, for a stack with promotedFrom. */
    gate?: GateReport;
    /** Removes what the preflight made (a .zip's private copy). */
    dispose: () => void;
}

/** Everything `deploy` is told. */
export interface DeployOptions extends PreflightOptions {
    branch?: string;
    stack?: string;
    allowUnmapped: boolean;
    timeoutSeconds: number;
    /** Between SIGTERM and SIGKILL to attini's process group, ms (--kill-grace). */
    killGraceMs: number;
    /** Hand attini the credentials as environment variables instead of the refreshing endpoint. */
    staticCredentials: boolean;
    /** Limits of the AWS steps (--aws-timeout, --aws-request-timeout). */
    aws: AwsTimeouts;
    /** How long reading the stack outputs may take, ms (--outputs-timeout). */
    outputsTimeoutMs: number;
    /** Deploy a commit older than the ledger's newest (--allow-rollback): recorded as a rollback. */
    allowRollback: boolean;
    /** Deploy content held after a rollback (--release-hold), releasing the hold. */
    releaseHold: boolean;
    /** --break-glass "<reason>": the reason, checked; lets a deploy through a freeze window or an unmet soak time, never anything else. */
    breakGlass?: string;
    /** How long a lease lasts without renewal (--lease-ttl), and how long to wait for another run's (--lease-wait), ms. */
    leaseTtlMs: number;
    leaseWaitMs: number;
    json: boolean;
    cwd: string;
    /** The project and its stacks when the command has already read them (for its targets); else read from `cwd`. */
    stacks?: ProjectStacks;
    /** Told where the deploy goes as soon as that is known, for a summary of a deploy that then stops. */
    onTarget?: (t: Pick<Target, "branch" | "branchSource"> & { stack?: StackConfig }) => void;
}

export interface DeploySummary {
    result: "deployed" | "failed" | "dry-run" | "unmapped";
    exitCode: number;
    branch: string;
    branchSource: string;
    stack?: string;
    attiniEnvironment?: string;
    accountId?: string;
    region?: string;
    roleArn?: string;
    /** "outputs", or "config" when --dry-run could not read the backend. */
    roleSource?: string;
    /** sha256 of the distribution (.zip bytes, or the folder's files). */
    sha256?: string;
    /** passed, warned, unverified, skipped or off (see GateReport). */
    promotionGate?: string;
    /** What the gate vouched for, the trees it compared, the files that differ, the newest commits not upstream (and their count), uncommitted files, and why it could not check, when it could not. */
    promotion?: Pick<GateReport, "scope" | "trees" | "differing" | "unpromotedCount" | "uncommitted" | "unverified"> & {
        unpromoted: string[];
    };
    /** What the verified promotion gate saw in the upstream environment's Attini record (see verifiedGate.ts). */
    verifiedPromotion?: VerifiedGateReport;
    /** What the upstream alarms said (upstreamAlarms.ts). */
    upstreamAlarms?: UpstreamAlarmsReport;
    /** The soak time's verdict (soak.ts), on a promoted stack with soakMinutes. */
    soak?: SoakReport;
    /** The --break-glass reason this deploy was given (recorded in the session tags and the ledger). */
    breakGlass?: string;
    sessionName?: string;
    commit?: string;
    command?: string[];
    /** The freeze windows the deploy checked: in force, starting within 24 hours, and the verdict (freezeGate.ts). */
    freeze?: FreezeReport;
    /** What the environment's ledger recorded for this deploy (in a dry run: what it would check). */
    ledger?: LedgerReport | { table: string; digest: string; result: "not-checked"; checks: string[] };
    /** How attini got the credentials: the refreshing endpoint (with its refresh count) or static variables. */
    credentials?: { mode: "endpoint"; refreshes: number; setsServed: number } | { mode: "static" };
    durationMs: number;
}
