/**
 * Soak time (issue 22): a promoted stack with soakMinutes takes content only once the upstream
 * environment has held it, successfully and with no other deployment of the distribution there
 * since, for at least that many minutes. It is judged on the verified promotion gate's own
 * evidence (verifiedGate.ts: the upstream ledger's newest run of this content, and Attini's
 * record of the deployment that run made), plus one more read: the upstream ledger's newest run of
 * the distribution, whatever its content. The clock is Services.now().
 *
 * - The soak counts from the later of the ledger run's end and Attini's deploymentTime of that
 *   run: the moment both witnesses agree the content was in place. A newer deployment of the same
 *   content upstream is a newer run, so the soak counts from it (it restarts).
 * - Another deployment of the distribution upstream after it (a ledger run of any other content,
 *   whatever its result, or an Attini deployment that is not that run's) means upstream no longer
 *   holds this content: refused under enforce like the verified gate's refusals, and not passed by
 *   --break-glass, which passes only a soak time not yet met.
 * - A soak that cannot be judged (the verified gate did not pass or was skipped, the ledger cannot
 *   be read, the run has no end) is not met: refused under enforce, unless --break-glass.
 */
import { luxon } from "../lib/timeLibraries";
import { describeDeployment, HistoryUnreadable, isoTime, type RecordedDeployment } from "./deployments";
import { DriverError, Exit } from "./errors";
import { describeRun } from "./ledgerRules";
import type { LedgerRun } from "./ledgerTypes";
import type { VerifiedGateReport } from "./verifiedGate";

/** What the soak is judged on, all from the upstream environment. */
export interface SoakEvidence {
    /** The ledger's newest run of this content (the verified gate found it deployed). */
    run: LedgerRun;
    /** Attini's record of the deployment that run made (the verified gate found it succeeded). */
    deployment: RecordedDeployment;
    /** Attini's newest deployment of the distribution there. */
    lastDeployment?: RecordedDeployment;
    /** The ledger's newest run of the distribution, whatever its content or result. */
    newestRun?: LedgerRun;
}

/**
 * met / not-met: held since `since` (epoch ms), ready at `readyAt`; not-held: another deployment
 * of the distribution came after this content's; unknown: the evidence cannot say.
 */
export type SoakVerdict =
    | { case: "met" | "not-met"; since: number; soakedMs: number; readyAt: number }
    | { case: "not-held" | "unknown"; reason: string };

/** A length of time for people: "1 hr, 2 min, 5 sec" (whole seconds). */
export function humanDuration(ms: number): string {
    const seconds = Math.max(0, Math.floor(ms / 1000));
    if (seconds === 0) return "0 sec";
    // Days at most (luxon's rescale would go on to months of its own length), and no zero units.
    const units = luxon().Duration.fromObject({ seconds }).shiftTo("days", "hours", "minutes", "seconds").toObject();
    const shown = Object.fromEntries(Object.entries(units).filter(([, n]) => n !== 0));
    return luxon().Duration.fromObject(shown).toHuman({ unitDisplay: "short" });
}

/** The soak rule (pure): has `upstream` held this content for `minutes`, as of `now`? */
export function judgeSoak(minutes: number, e: SoakEvidence, now: number, upstream: string): SoakVerdict {
    const { run, deployment, lastDeployment, newestRun } = e;
    if (newestRun === undefined || lastDeployment === undefined)
        return {
            case: "unknown",
            reason: `${upstream}'s ${newestRun === undefined ? "ledger" : "Attini record"} shows no newest deployment of the distribution, though it has this content's`,
        };
    if (newestRun.entry !== run.entry)
        return {
            case: "not-held",
            reason: `${upstream} no longer holds this content: its ledger has a newer run of the distribution, ${describeRun(newestRun)}, after this content's (${describeRun(run)})`,
        };
    if (lastDeployment.time !== deployment.time)
        return {
            case: "not-held",
            reason: `${upstream} no longer holds this content: Attini's record there has a newer deployment of the distribution, ${describeDeployment(lastDeployment)}, after the one this content's ledger run made (${describeDeployment(deployment)})`,
        };
    if (run.endedAt === undefined)
        return {
            case: "unknown",
            reason: `${upstream}'s ledger run of this content (${describeRun(run)}) records no end, so the time it has held the content cannot be counted`,
        };
    const since = Math.max(run.endedAt, deployment.time);
    const readyAt = since + minutes * 60_000;
    return { case: now >= readyAt ? "met" : "not-met", since, soakedMs: now - since, readyAt };
}

/** What the summary says about the soak time. `refused` only in the error report of a refusal. */
export interface SoakReport {
    result: "off" | "passed" | "warned" | "refused" | "broken-glass" | "not-checked";
    minimumMinutes: number;
    upstream: string;
    case?: SoakVerdict["case"];
    /** When upstream's hold of this content began, how long it has held it, and when the soak is met (ISO, UTC). */
    since?: string;
    soakedMinutes?: number;
    readyAt?: string;
    reason?: string;
    /** The --break-glass reason, when it passed an unmet soak. */
    breakGlass?: string;
}

export interface SoakOptions {
    /** soakMinutes and promotionGate as provisioned (the outputs). */
    minutes: number;
    mode: string;
    /** The stack deployed to, and its upstream. */
    stack: string;
    upstream: string;
    /** The verified gate's report (undefined: it did not run). */
    verified?: VerifiedGateReport;
    /** The upstream ledger's newest run of the distribution. */
    newestRun: (distributionName: string) => Promise<LedgerRun | undefined>;
    now: () => number;
    breakGlass?: string;
    dryRun: boolean;
    log: (line: string) => void;
}

/** The evidence, or why the soak cannot be judged. */
async function gather(o: SoakOptions): Promise<SoakEvidence | { reason: string }> {
    const v = o.verified;
    if (v?.result === "skipped")
        return {
            reason: `--skip-promotion-check skipped the verified promotion gate, whose evidence (${o.upstream}'s deployment of this content) the soak time is judged on`,
        };
    const run = v?.content?.run;
    if (v?.result !== "passed" || !run || !v.matched || !v.distributionName)
        return {
            reason: `the verified promotion gate did not find this content deployed and succeeded in ${o.upstream} (${v?.result ?? "it did not run"}), so there is no deployment to count the soak time from`,
        };
    try {
        return { run, deployment: v.matched, lastDeployment: v.last, newestRun: await o.newestRun(v.distributionName) };
    } catch (e) {
        if (!(e instanceof HistoryUnreadable)) throw e;
        return { reason: `cannot read ${o.upstream}'s ledger: ${e.message}` };
    }
}

/** How long upstream has held the content, against the minimum. */
function held(o: SoakOptions, v: Extract<SoakVerdict, { since: number }>): string {
    return `${o.upstream} has held this content for ${humanDuration(v.soakedMs)}, since ${isoTime(v.since)} (the later of its ledger run's end and Attini's deploymentTime of that run); ${o.stack} requires ${humanDuration(o.minutes * 60_000)} (soakMinutes ${o.minutes})`;
}

/** Applies the soak time; throws DriverError(REFUSED) when enforce refuses. */
export async function applySoak(o: SoakOptions): Promise<SoakReport> {
    const base: SoakReport = { result: "off", minimumMinutes: o.minutes, upstream: o.upstream };
    if (o.minutes <= 0) return base;
    if (o.dryRun) {
        o.log(
            `dry run: the soak time would require ${o.upstream} to have held this content for ${humanDuration(o.minutes * 60_000)} (soakMinutes ${o.minutes}), with no other deployment of the distribution there since`,
        );
        return { ...base, result: "not-checked" };
    }
    const enforce = o.mode !== "warn"; // fail closed: only warn softens it
    const evidence = await gather(o);
    const verdict: SoakVerdict =
        "reason" in evidence
            ? { case: "unknown", reason: evidence.reason }
            : judgeSoak(o.minutes, evidence, o.now(), o.upstream);
    const timed =
        "since" in verdict
            ? {
                  since: isoTime(verdict.since),
                  soakedMinutes: Math.max(0, Math.floor(verdict.soakedMs / 60_000)),
                  readyAt: isoTime(verdict.readyAt),
              }
            : {};
    const report: SoakReport = { ...base, case: verdict.case, ...timed };
    if (verdict.case === "met") {
        o.log(`soak time: ${held(o, verdict)}: met`);
        return { ...report, result: "passed" };
    }
    const reason = "since" in verdict ? `${held(o, verdict)}: ready at ${isoTime(verdict.readyAt)}` : verdict.reason;
    const refuse = (message: string) => {
        throw new DriverError(Exit.REFUSED, message, { soak: { ...report, reason, result: "refused" } });
    };
    if (verdict.case === "not-held") {
        if (!enforce) {
            o.log(`soak time (warn): ${reason}`);
            return { ...report, reason, result: "warned" };
        }
        return refuse(
            `soak time (enforce): ${reason}. Promote the content ${o.upstream} holds now, or deploy this one to ${o.upstream} again and let it soak.${o.breakGlass !== undefined ? " --break-glass does not pass this: it passes only a soak time not yet met." : ""}`,
        );
    }
    // Only a soak that was judged and not yet met: one that cannot be judged has no upstream evidence to pass on.
    if (o.breakGlass !== undefined && verdict.case === "not-met") {
        o.log(`soak time not met: ${reason}. --break-glass: deploying anyway, for: ${JSON.stringify(o.breakGlass)}`);
        return { ...report, reason, result: "broken-glass", breakGlass: o.breakGlass };
    }
    if (!enforce) {
        o.log(`soak time (warn): ${reason}`);
        return { ...report, reason, result: "warned" };
    }
    return refuse(
        verdict.case === "not-met"
            ? `soak time (enforce): ${reason}. Deploy again then, or, if it cannot wait, with --break-glass "<reason>" (recorded in the session tags and ${o.stack}'s ledger).`
            : `soak time (enforce): ${reason}. Deploy again once it can be checked (--break-glass passes only a soak time that was judged and is not yet met).`,
    );
}
