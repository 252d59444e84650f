/**
 * The verified promotion gate: a distribution goes to a promoted environment (prod) only if two
 * witnesses in the upstream environment (stage), read with its history reader, agree that this
 * content succeeded there: its ledger holds a deployed run of the same content digest (a .zip's
 * bytes, a folder's committed tree; verifiedContent.ts), and Attini's own record shows that
 * deployment succeeded (by distributionId for a .zip that has one, else the deployment the
 * ledger's run made). The git gate (gitGate.ts) still runs beside it.
 */
import type { StackConfig } from "../lib/config/types";
import { ArtifactError, type AttiniConfigIdentity, readAttiniConfig } from "./attiniConfig";
import { describeDeployment, HistoryUnreadable, isoTime, type RecordedDeployment } from "./deployments";
import { object } from "./gateMode";
import { holdOn } from "./ledgerRules";
import type { Hold, LedgerRun } from "./ledgerTypes";
import { attiniDeploymentOf, type ContentCase, contentCase, contentSays, windowSays } from "./verifiedContent";

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
    /** Attini's record: by distributionId for a .zip with one, else the deployment the ledger's run made. */
    case?: VerifiedCase;
    matched?: RecordedDeployment;
    last?: RecordedDeployment;
    /** The upstream ledger's word on this content. */
    content?: { digest: string; case: ContentCase; run?: LedgerRun };
    /** What each witness said, in words (the ledger's first). */
    says?: string[];
    /** Why it did not pass, in words. */
    reason?: string;
}

export interface VerifiedGateOptions {
    stack: StackConfig;
    upstream: StackConfig;
    /** The distribution path, whether it is a folder or a .zip, and its content digest (ledgering.ts). */
    distribution: string;
    kind: "folder" | "zip";
    /** The distribution's attini-config, as deploy read it (default: read here). */
    attiniConfig?: () => Promise<AttiniConfigIdentity>;
    digest: string;
    skip: boolean;
    dryRun: boolean;
    /** Reads the upstream environment's Attini deployments of the distribution, newest first, at least up to the first `until` accepts. */
    readHistory: (distributionName: string, until: (d: RecordedDeployment) => boolean) => Promise<RecordedDeployment[]>;
    /** The upstream ledger's newest run of this content (undefined: none). */
    readLedger: (distributionName: string, digest: string) => Promise<LedgerRun | undefined>;
    /** The upstream ledger's rollback holds of the distribution. */
    readHolds: (distributionName: string) => Promise<Hold[]>;
    log: (line: string) => void;
}

const when = (d: RecordedDeployment) => isoTime(d.time);

/** Reports a gate that does not pass (what was found, and why), refusing under enforce. */
type Fail = (
    result: "warned" | "unverified",
    reason: string,
    found?: Partial<VerifiedGateReport>,
) => VerifiedGateReport;

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

/** What Attini's record says: by id for a .zip with one, else about the deployment the ledger's run made. */
async function attiniWitness(
    o: VerifiedGateOptions,
    name: string,
    id: string | undefined,
    run: LedgerRun | undefined,
): Promise<{
    case: VerifiedCase;
    matched?: RecordedDeployment;
    last?: RecordedDeployment;
    says: string;
    refusal: string;
}> {
    const up = o.upstream;
    if (id !== undefined) {
        const v = judge(await o.readHistory(name, (d) => d.distributionId === id), id);
        const says = v.matched
            ? `Attini's record in ${up.stack}: distributionId ${id}: ${describeDeployment(v.matched)}`
            : `Attini's record in ${up.stack}: no deployment of distributionId ${id}`;
        // The id's newest deployment must be the one the ledger's run of these bytes made: an id is
        // what an artifact says about itself, and other bytes may have been deployed under it since.
        if (v.case === "succeeded" && run && attiniDeploymentOf([v.matched], run) === undefined)
            return {
                ...v,
                case: "other-id",
                says,
                refusal: `Attini's newest deployment of distributionId ${id} in ${up.stack} (${isoTime(v.matched.time)}) is not the one ${up.stack}'s ledger run of this content made (${isoTime(run.startedAt)}): other bytes were deployed under that id since. Deploy this artifact to ${up.stack} again, or promote the one deployed there last.`,
            };
        return { ...v, says, refusal: refusal(v, { upstream: up, distributionName: name, distributionId: id }) };
    }
    if (!run) {
        // The ledger's refusal says it all: without a run there is no deployment to look for.
        const says = `Attini's record in ${up.stack} cannot be matched: this content has no ledger run there to find it by`;
        return { case: "never-deployed", says, refusal: "" };
    }
    // Read down to the run's own deployment (or, without one, just the newest).
    const history = await o.readHistory(name, (d) => run.attiniTime === undefined || d.time <= run.attiniTime);
    const found = attiniDeploymentOf(history, run);
    const says = windowSays(found, run, up.stack);
    return {
        case: found ? found.status : "never-deployed",
        matched: found,
        last: history[0],
        says,
        refusal: found?.status === "succeeded" ? "" : `${says}.`,
    };
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
    const fail: Fail = (result, reason, found = {}) => {
        report = { ...report, ...found, result, reason };
        object(stack.promotionGate, reason, o.log, { verifiedPromotion: { ...report, result: "refused" } });
        return report;
    };
    let distributionName: string | undefined;
    let distributionId: string | undefined;
    let idProblem: string | undefined;
    try {
        ({ distributionName, distributionId, idProblem } = await (o.attiniConfig?.() ??
            readAttiniConfig(o.distribution)));
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
    if (o.kind === "zip" && !distributionId && stack.requireDistributionId)
        return fail(
            "unverified",
            `${distributionName}'s attini-config sets no distributionId, so Attini's record in ${upstream.stack} cannot show that this artifact succeeded there. Package it with an id that names its content (attini distribution package <folder> -i <id>), or set requireDistributionId: false in Pulumi.${stack.stack}.yaml (and run pulumi up) to have it verified by its content and the time of its upstream deployment. Nothing was checked.`,
        );
    if (o.dryRun) {
        o.log(
            `dry run: the verified promotion gate would require ${upstream.stack}'s ledger to hold a deployed run of this content (${o.digest}), and Attini's record in ${upstream.attiniEnvironment} to show ${distributionId ? `distributionId ${distributionId}` : "that run's deployment"} succeeded`,
        );
        return { ...report, result: "not-checked" };
    }
    return judgeBoth(o, report, distributionName, distributionId, fail);
}

/** Asks both witnesses; passes only when the ledger says deployed and Attini's record says succeeded. */
async function judgeBoth(
    o: VerifiedGateOptions,
    base: VerifiedGateReport,
    name: string,
    id: string | undefined,
    fail: Fail,
): Promise<VerifiedGateReport> {
    const { upstream } = o;
    if (o.digest.startsWith("files:"))
        return fail(
            "warned",
            `this folder is not exactly what was committed, so its content cannot be matched in ${upstream.stack}'s ledger (only a committed tree can). Deploy a clean checkout.`,
        );
    let run: LedgerRun | undefined;
    let attini: Awaited<ReturnType<typeof attiniWitness>>;
    let held: Hold | undefined;
    try {
        run = await o.readLedger(name, o.digest);
        held = holdOn(await o.readHolds(name), o.digest, "");
        attini = await attiniWitness(o, name, id, run);
    } catch (e) {
        // Anything else (no source credentials, no GitHub ID token) stops the deploy as it would without this gate.
        if (!(e instanceof HistoryUnreadable)) throw e;
        return fail("unverified", `cannot read what ${upstream.stack} deployed: ${e.message} Nothing was checked.`);
    }
    const content = { digest: o.digest, case: contentCase(run), ...(run ? { run } : {}) };
    const says = [contentSays(run, o.digest, upstream.stack), attini.says];
    const report: VerifiedGateReport = {
        ...base,
        case: attini.case,
        matched: attini.matched,
        last: attini.last,
        content,
        says,
    };
    for (const line of says) o.log(`verified promotion gate: ${line}`);
    if (held)
        return fail(
            "warned",
            `${upstream.stack} rolled back from this content (${o.digest}) at ${isoTime(held.heldAt)} and holds it: prod does not take what stage rolled back. Deploy a fix to ${upstream.stack} first.`,
            report,
        );
    if (content.case === "deployed" && attini.case === "succeeded") {
        const at = attini.matched ? ` at ${when(attini.matched)}` : "";
        o.log(
            `verified promotion gate: ${name}${id ? ` ${id}` : ""} succeeded in ${upstream.attiniEnvironment} (stack ${upstream.stack})${at}, and ${upstream.stack}'s ledger shows this very content deployed there`,
        );
        return { ...report, result: "passed" };
    }
    const contentReason =
        content.case === "deployed"
            ? ""
            : `${says[0]}: prod takes only content that was deployed there. ${id ? `An artifact with distributionId ${id} but other bytes is not the one that was tested. ` : ""}Deploy this content to ${upstream.stack} first, or promote the artifact that was.`;
    return fail("warned", [attini.refusal, contentReason].filter(Boolean).join(" "), report);
}
