/**
 * The verified promotion gate: a .zip distribution that carries a distributionId goes to a
 * promoted environment (prod) only if Attini's own record in the upstream environment (stage)
 * shows a successful deployment of that same distributionId. The git-based gate (promotion.ts)
 * still runs beside it (gitGate.ts); this one checks the artifact itself, by Attini's record.
 */
import type { StackConfig } from "../lib/config/types";
import { ArtifactError, readAttiniConfig } from "./attiniConfig";
import { describeDeployment, HistoryUnreadable, isoTime, type RecordedDeployment } from "./deployments";
import { object } from "./gateMode";

/** What the upstream record says about the distributionId being promoted. */
export type VerifiedCase = "succeeded" | "failed" | "running" | "never-deployed" | "other-id";

/**
 * `matched`: the newest upstream deployment of the distributionId being promoted; `last`: the
 * newest upstream deployment of the distribution, whatever its id.
 */
export type Verdict =
    | { case: "never-deployed"; matched?: undefined; last?: undefined }
    | { case: "other-id"; matched?: undefined; last: RecordedDeployment }
    | { case: RecordedDeployment["status"]; matched: RecordedDeployment; last: RecordedDeployment };

/**
 * The verdict on an upstream history (newest first): the newest deployment of `distributionId`
 * decides, so a later failed or running deployment of the same id outweighs an earlier success.
 */
export function judge(history: readonly RecordedDeployment[], distributionId: string): Verdict {
    const last = history[0];
    if (!last) return { case: "never-deployed" };
    const matched = history.find((d) => d.distributionId === distributionId);
    if (!matched) return { case: "other-id", last };
    return { case: matched.status, matched, last };
}

/**
 * passed: the id succeeded upstream; warned: under warn, it did not; unverified: under warn, the
 * gate could not read the artifact or the upstream record; not-applicable: a folder, or a .zip
 * without a distributionId (the git gate applies alone); not-checked: --dry-run; skipped, off.
 * Under enforce, what would be warned or unverified is refused (exit 7) instead.
 */
export type VerifiedResult = "passed" | "warned" | "unverified" | "not-applicable" | "not-checked" | "skipped" | "off";

export interface VerifiedGateReport {
    result: VerifiedResult;
    /** The upstream stack, its Attini environment and account. */
    upstream: { stack: string; attiniEnvironment: string; accountId: string };
    distributionName?: string;
    distributionId?: string;
    case?: VerifiedCase;
    matched?: RecordedDeployment;
    last?: RecordedDeployment;
    /** Why it did not pass, in words. */
    reason?: string;
}

export interface VerifiedGateOptions {
    stack: StackConfig;
    upstream: StackConfig;
    /** The distribution path, and whether it is a folder or a .zip. */
    distribution: string;
    kind: "folder" | "zip";
    skip: boolean;
    dryRun: boolean;
    /** Reads the upstream environment's deployments of the distribution, newest first, at least up to the first with this id. */
    readHistory: (distributionName: string, distributionId: string) => Promise<RecordedDeployment[]>;
    log: (line: string) => void;
}

const when = (d: RecordedDeployment) => isoTime(d.time);

/** The sentence for a verdict that is not a pass: which case it is, and when the last upstream deployment happened. */
export function refusal(
    v: Verdict,
    o: { upstream: StackConfig; distributionName: string; distributionId: string },
): string {
    const env = `${o.upstream.attiniEnvironment} (stack ${o.upstream.stack}, account ${o.upstream.accountId})`;
    // The newest deployment there, unless it is the one already named.
    const last =
        v.last && v.last !== v.matched
            ? ` The last deployment of ${o.distributionName} there: ${describeDeployment(v.last)}.`
            : "";
    switch (v.case) {
        case "never-deployed":
            return `${o.distributionName} was never deployed to ${env}, so distributionId ${o.distributionId} has not been verified there. Deploy this .zip to ${o.upstream.stack} first.`;
        case "other-id":
            return `${env} has no deployment of distributionId ${o.distributionId}.${last} Promote the artifact that succeeded in ${o.upstream.stack}, or deploy this one there first.`;
        case "failed":
            return `distributionId ${o.distributionId} failed in ${env} at ${when(v.matched)}${v.matched.detail ? ` (${v.matched.detail})` : ""}.${last} Fix it and deploy it to ${o.upstream.stack} successfully first.`;
        case "running":
            return `distributionId ${o.distributionId} has not finished in ${env}: started at ${when(v.matched)}${v.matched.detail ? `, ${v.matched.detail}` : ""}.${last} Wait until it has succeeded there.`;
        case "succeeded":
            return "";
    }
}

/** Applies the verified gate; throws DriverError(REFUSED) when `enforce` refuses. */
export async function applyVerifiedGate(o: VerifiedGateOptions): Promise<VerifiedGateReport> {
    const { stack, upstream } = o;
    let report: VerifiedGateReport = {
        result: "off",
        upstream: {
            stack: upstream.stack,
            attiniEnvironment: upstream.attiniEnvironment,
            accountId: upstream.accountId,
        },
    };
    if (stack.promotionGate === "off") return report;
    if (o.skip) return { ...report, result: "skipped" };
    const notApplicable = (why: string): VerifiedGateReport => {
        o.log(
            `verified promotion gate: ${why} The git-based check above applies. Build the distribution once (attini distribution package, with a distributionId) and promote that .zip to have it verified.`,
        );
        return { ...report, result: "not-applicable", reason: why };
    };
    const fail = (result: "warned" | "unverified", reason: string): VerifiedGateReport => {
        report = { ...report, result, reason };
        object(stack.promotionGate, reason, o.log, { verifiedPromotion: { ...report, result: "refused" } });
        return report;
    };
    if (o.kind === "folder") {
        return notApplicable(
            `a folder distribution is packaged anew for each environment, so Attini's record in ${upstream.stack} cannot show that this content succeeded there.`,
        );
    }
    let distributionName: string | undefined;
    let distributionId: string | undefined;
    let idProblem: string | undefined;
    try {
        ({ distributionName, distributionId, idProblem } = await readAttiniConfig(o.distribution));
    } catch (e) {
        if (!(e instanceof ArtifactError)) throw e;
        return fail("unverified", `cannot tell which distribution this is: ${e.message}. Nothing was checked.`);
    }
    if (!distributionName)
        return fail(
            "unverified",
            `the attini-config in ${o.distribution} has no distributionName. Nothing was checked.`,
        );
    report = { ...report, distributionName, distributionId };
    // An id that is there but cannot be read as Attini reads it is not "no id": nothing can be matched.
    if (idProblem !== undefined)
        return fail(
            "unverified",
            `${distributionName}'s distributionId cannot be read as Attini reads it: ${idProblem} Nothing was checked.`,
        );
    if (!distributionId && stack.requireDistributionId)
        return fail(
            "unverified",
            `${distributionName}'s attini-config sets no distributionId, so Attini's record in ${upstream.stack} cannot show that this artifact succeeded there. Package it with an id that names its content (attini distribution package <folder> -i <id>), or set requireDistributionId: false in Pulumi.${stack.stack}.yaml (and run pulumi up) to let the git gate decide alone. Nothing was checked.`,
        );
    if (!distributionId) {
        return notApplicable(
            `${distributionName}'s attini-config sets no distributionId, so Attini gives each upload an id of its own and its record in ${upstream.stack} cannot be matched.`,
        );
    }
    if (o.dryRun) {
        o.log(
            `dry run: the verified promotion gate would require a successful deployment of ${distributionName} ${distributionId} in ${upstream.attiniEnvironment} (stack ${upstream.stack})`,
        );
        return { ...report, result: "not-checked" };
    }
    let history: RecordedDeployment[];
    try {
        history = await o.readHistory(distributionName, distributionId);
    } catch (e) {
        // Anything else (no source credentials, no GitHub ID token) stops the deploy as it would without this gate.
        if (!(e instanceof HistoryUnreadable)) throw e;
        return fail(
            "unverified",
            `cannot read what ${upstream.stack} deployed: ${(e as Error).message} Nothing was checked.`,
        );
    }
    const v = judge(history, distributionId);
    report = { ...report, case: v.case, matched: v.matched, last: v.last };
    if (v.case === "succeeded") {
        o.log(
            `verified promotion gate: ${distributionName} ${distributionId} succeeded in ${upstream.attiniEnvironment} (stack ${upstream.stack}) at ${when(v.matched)}`,
        );
        return { ...report, result: "passed" };
    }
    return fail("warned", refusal(v, { upstream, distributionName, distributionId }));
}
