/**
 * The verified gate's two witnesses, judged apart (pure): the upstream environment's ledger, which
 * says whether this content (its digest: a .zip's bytes, a folder's committed tree) was deployed
 * there, and Attini's own record there, which says how that deployment ended. Content is what a
 * ledger run vouches for; an id is only what an artifact says about itself. verifiedGate.ts asks
 * both and states what each says.
 */
import { describeDeployment, isoTime, type RecordedDeployment } from "./deployments";
import { runBy } from "./ledgerRules";
import type { LedgerRun } from "./ledgerTypes";
import { printableField as printable } from "./log";

/** What the upstream ledger says about this content. */
export type ContentCase = "deployed" | "failed" | "running" | "never-deployed";

export function contentCase(run: LedgerRun | undefined): ContentCase {
    if (!run) return "never-deployed";
    if (run.result === "deployed") return "deployed";
    if (run.result === "started") return "running";
    return "failed";
}

/** The ledger's answer in words. */
export function contentSays(run: LedgerRun | undefined, digest: string, upstream: string): string {
    if (!run) return `${upstream}'s ledger has no run of this content (${digest})`;
    const by = runBy(run);
    const what = `${upstream}'s ledger: this content (${digest}) was last deployed there from commit ${printable(run.commit.slice(0, 12))} at ${isoTime(run.startedAt)} by ${by}`;
    switch (contentCase(run)) {
        case "deployed":
            return `${what}, and it was deployed`;
        case "running":
            return `${what}, and that run has not ended (or its driver died)`;
        default:
            return `${what}, and it ended ${run.result}`;
    }
}

/**
 * How far Attini's clock (it stamps deploymentTime) and the build server's (it stamps a run's
 * start and end, and should keep NTP time) may disagree when Attini's record of a run is looked
 * for between them. Small: a wider margin reaches the deployments of the runs before and after.
 */
export const CLOCK_SKEW_MS = 15_000;

/**
 * Attini's deployment made by a ledger run: the first one of the distribution recorded between the
 * run's start and end (with the skew allowed); the lease kept any other driver run out of the
 * run itself, and the next run starts after it ended.
 */
export function attiniDeploymentOf(
    history: readonly RecordedDeployment[],
    run: LedgerRun,
    skewMs = CLOCK_SKEW_MS,
): RecordedDeployment | undefined {
    const end = (run.endedAt ?? run.startedAt) + skewMs;
    // The earliest in the window (history is newest first): a later one may be the next run's,
    // which can start within the skew after this one ended.
    return history.findLast((d) => d.time >= run.startedAt - skewMs && d.time <= end);
}

/** Attini's answer, for a deployment found by its window, in words. */
export function windowSays(d: RecordedDeployment | undefined, run: LedgerRun, upstream: string): string {
    if (!d)
        return `Attini's record in ${upstream} has no deployment between ${isoTime(run.startedAt - CLOCK_SKEW_MS)} and ${isoTime((run.endedAt ?? run.startedAt) + CLOCK_SKEW_MS)}, when the ledger's run deployed this content`;
    return `Attini's record in ${upstream} of that run: ${describeDeployment(d)}`;
}
