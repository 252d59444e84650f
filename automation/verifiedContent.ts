/**
 * The verified gate's two witnesses, judged apart (pure): the upstream environment's ledger, which
 * says whether this content (its digest: a .zip's bytes, a folder's committed tree) was deployed
 * there, and Attini's own record there, which says how that deployment ended. Content is what a
 * ledger run vouches for; an id is only what an artifact says about itself. verifiedGate.ts asks
 * both and states what each says. A run names the deployment it made in Attini's record
 * (attiniTime), so the two are tied by an exact key, not by clocks.
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
 * Attini's deployment made by a ledger run: the one whose deploymentTime the run recorded (the
 * first Attini recorded after the newest it had when the run began). A run that could not record
 * it has none: nothing in Attini's record is taken for it by time alone, since back-to-back runs
 * are seconds apart and build servers' clocks are not Attini's.
 */
export function attiniDeploymentOf(
    history: readonly RecordedDeployment[],
    run: LedgerRun,
): RecordedDeployment | undefined {
    if (run.attiniTime === undefined) return undefined;
    return history.find((d) => d.time === run.attiniTime);
}

/** Attini's answer about the deployment a run made, in words. */
export function windowSays(d: RecordedDeployment | undefined, run: LedgerRun, upstream: string): string {
    if (run.attiniTime === undefined)
        return `${upstream}'s ledger run does not say which deployment in Attini's record it made (it could not read it when it ended), so Attini's word on it cannot be found`;
    if (!d)
        return `Attini's record in ${upstream} has no deployment at ${isoTime(run.attiniTime)}, the one the ledger's run recorded making`;
    return `Attini's record in ${upstream} of that run: ${describeDeployment(d)}`;
}
