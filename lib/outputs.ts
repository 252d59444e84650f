/**
 * The deploy-role stack's outputs: the contract between the Pulumi program (index.ts), which
 * exports them, and the CI driver (automation/outputs.ts), which reads and checks them before each
 * deploy. One type and one list of names; the program, the driver and the test helpers build on
 * them. Pure.
 */
import type { Input } from "@pulumi/pulumi";
import { historyReaderArn } from "./arns";
import type { StackConfig } from "./config/types";
import { canonicalFreezeWindows } from "./freezeWindows";
import { ledgerTableName } from "./ledger";

/** The outputs as the driver reads them. None is secret: CI needs no stack passphrase. */
export interface DeployRoleOutputs {
    deployRoleArn: string;
    deployRoleName: string;
    /** The history reader: read-only access to this environment's Attini deployments (lib/historyReader.ts). */
    historyReaderArn: string;
    /** The deployment ledger in this environment's account (lib/ledger.ts). */
    ledgerTableName: string;
    accountId: string;
    region: string;
    attiniEnvironment: string;
    branch: string;
    /** Whether AssumeRole needs an ExternalId (never the id itself). */
    externalIdRequired: boolean;
    /** The identity policy (JSON) the build server needs for this stack's two roles. */
    buildServerPolicy: string;
    /**
     * What decides what may deploy here, as `pulumi up` provisioned it (the driver refuses a
     * checkout whose stack files say otherwise): the promotion gate (off, warn or enforce), the
     * stack this one is promoted from ("" for none), and that stack's branch, account, region,
     * Attini environment and history reader ("" for none).
     */
    promotionGate: string;
    /** Under enforce, whether a .zip without a distributionId is refused. */
    requireDistributionId: boolean;
    promotedFrom: string;
    upstreamBranch: string;
    upstreamAccountId: string;
    upstreamRegion: string;
    upstreamAttiniEnvironment: string;
    upstreamHistoryReaderArn: string;
    /** The upstream's ledger, which the verified gate checks content against ("" for none). */
    upstreamLedgerTableName: string;
    /** When deploys are refused: the freeze windows as canonical JSON (lib/freezeWindows.ts), "[]" for none. */
    freezeWindows: string;
    /** The upstream alarms that refuse a promotion (upstreamAlarms): their ARNs, sorted, as JSON (`[]` for none). */
    upstreamAlarms: string;
    /** Minutes the upstream must have held the content before it deploys here (0: none). */
    soakMinutes: number;
    /** Whether `deploy --break-glass` is allowed here: allowed or forbidden. */
    breakGlass: string;
}

/** What the program returns: the same names, each value possibly still an Output. */
export type ProgramOutputs = { [K in keyof DeployRoleOutputs]: Input<DeployRoleOutputs[K]> };

/** Every output name. */
export const OUTPUT_NAMES = [
    "deployRoleArn",
    "deployRoleName",
    "historyReaderArn",
    "ledgerTableName",
    "accountId",
    "region",
    "attiniEnvironment",
    "branch",
    "externalIdRequired",
    "buildServerPolicy",
    "promotionGate",
    "requireDistributionId",
    "promotedFrom",
    "upstreamBranch",
    "upstreamAccountId",
    "upstreamRegion",
    "upstreamAttiniEnvironment",
    "upstreamHistoryReaderArn",
    "upstreamLedgerTableName",
    "freezeWindows",
    "upstreamAlarms",
    "soakMinutes",
    "breakGlass",
] as const satisfies readonly (keyof DeployRoleOutputs)[];

/** The outputs that follow from the stack files alone (this one's, and its upstream's). */
export type ConfigOutputs = Omit<DeployRoleOutputs, "deployRoleArn" | "deployRoleName" | "buildServerPolicy">;

/** The upstream alarms as the outputs pin them: canonical JSON (sorted), so that only a change of the list differs. */
export function alarmsOutput(arns: readonly string[]): string {
    return JSON.stringify([...arns].sort());
}

/** The upstream alarms an output pins; undefined when it is not the JSON list of strings alarmsOutput writes. */
export function alarmsFromOutput(value: string): string[] | undefined {
    try {
        const v: unknown = JSON.parse(value);
        return Array.isArray(v) && v.every((x) => typeof x === "string") ? v : undefined;
    } catch {
        return undefined;
    }
}

/**
 * The outputs that follow from the stack file and, for a promoted stack, from its upstream's
 * stack file; the driver compares them with the checkout's files to find stale outputs, and so
 * takes every setting that decides what may deploy from what `pulumi up` provisioned.
 */
export function configOutputs(c: StackConfig, upstream: StackConfig | undefined): ConfigOutputs {
    if ((c.promotedFrom ?? "") !== (upstream?.stack ?? ""))
        throw new Error(
            `configOutputs: stack ${c.stack} is promoted from ${c.promotedFrom ?? "(none)"}, not ${upstream?.stack ?? "(none)"}`,
        );
    return {
        accountId: c.accountId,
        region: c.region,
        attiniEnvironment: c.attiniEnvironment,
        branch: c.branch,
        externalIdRequired: c.externalIdRequired,
        historyReaderArn: historyReaderArn(c),
        ledgerTableName: ledgerTableName(c),
        promotionGate: c.promotionGate,
        requireDistributionId: c.requireDistributionId,
        promotedFrom: upstream?.stack ?? "",
        upstreamBranch: upstream?.branch ?? "",
        upstreamAccountId: upstream?.accountId ?? "",
        upstreamRegion: upstream?.region ?? "",
        upstreamAttiniEnvironment: upstream?.attiniEnvironment ?? "",
        upstreamHistoryReaderArn: upstream ? historyReaderArn(upstream) : "",
        upstreamLedgerTableName: upstream ? ledgerTableName(upstream) : "",
        freezeWindows: canonicalFreezeWindows(c.freezeWindows),
        upstreamAlarms: alarmsOutput(c.upstreamAlarms),
        soakMinutes: c.soakMinutes,
        breakGlass: c.breakGlass,
    };
}

/** The keys whose values may differ between stacks of one chain only by `pulumi up`: every ConfigOutputs key. */
export const CONFIG_OUTPUT_NAMES = OUTPUT_NAMES.filter(
    (n): n is keyof ConfigOutputs => n !== "deployRoleArn" && n !== "deployRoleName" && n !== "buildServerPolicy",
);
