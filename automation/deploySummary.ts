/**
 * `deploy`'s CI job summary, in the status summary's format: branch → stack → account as a small
 * Mermaid flowchart, then a table with each promotion gate's verdict and its reason, attini's
 * result, the duration and the CI run, then the whole reason when the deploy stopped. Built from
 * what the deploy returned (its DeploySummary) or how it stopped (a DriverError's exit code,
 * message and details), with the target the deploy reported on its way. Pure.
 */
import { isoTime } from "./deployments";
import type { DeploySummary } from "./deployTypes";
import { Exit } from "./errors";
import type { SoakReport } from "./soak";
import {
    code,
    duration,
    markdownText,
    mermaidBlock,
    mermaidLabel,
    mermaidText,
    runLink,
    table,
} from "./summaryMarkdown";
import type { UpstreamAlarmsReport } from "./upstreamAlarms";
import type { VerifiedGateReport } from "./verifiedGate";

/** Where the deploy was going, as far as it got. */
export interface DeployTarget {
    branch: string;
    branchSource?: string;
    stack?: { stack: string; attiniEnvironment: string; accountId: string; region: string };
}

/** How a deploy ended: its summary, or the error that stopped it. */
export interface DeployOutcome {
    distribution: string;
    target?: DeployTarget;
    summary?: DeploySummary;
    stopped?: { exitCode: number; message: string; details: Record<string, unknown> };
    durationMs: number;
    /** The CI run's URL (ciRun.ts's ciRunPage). */
    runUrl?: string;
}

type Result = "deployed" | "failed" | "dry run" | "nothing to deploy" | "refused" | "stopped";

function resultOf(o: DeployOutcome): Result {
    if (o.summary)
        return (
            { deployed: "deployed", failed: "failed", "dry-run": "dry run", unmapped: "nothing to deploy" } as const
        )[o.summary.result];
    return o.stopped?.exitCode === Exit.REFUSED ? "refused" : "stopped";
}

/** The git gate's verdict and why (raw text). */
function gitGate(o: DeployOutcome): string {
    const s = o.summary;
    if (
        o.stopped?.exitCode === Exit.REFUSED &&
        !o.stopped.details.verifiedPromotion &&
        !o.stopped.details.upstreamAlarms &&
        !o.stopped.details.soak
    )
        return o.stopped.message.startsWith("promotion gate")
            ? `refused: ${o.stopped.message}`
            : `not reached (${o.stopped.message})`;
    if (!s) return o.stopped ? "not reached" : "unknown";
    const p = s.promotion;
    switch (s.promotionGate) {
        case undefined:
            return "not reached";
        case "off":
            return "off: this stack has no promotion gate";
        case "skipped":
            return "skipped by --skip-promotion-check";
        case "passed":
            return `passed: ${p?.scope ?? "the content equals the upstream branch's"}`;
        case "unverified":
            return `unverified (warn): ${p?.unverified ?? "could not check"}`;
        default: {
            const parts = [];
            if (p?.differing?.length) parts.push(`${p.differing.length} file(s) differ from the upstream branch`);
            if (p?.unpromotedCount) parts.push(`${p.unpromotedCount} commit(s) not upstream`);
            if (p?.uncommitted.length) parts.push(`${p.uncommitted.length} file(s) not committed`);
            return `${s.promotionGate} (warn): ${parts.join(", ") || "objected"}`;
        }
    }
}

/** The verified gate's verdict and why (raw text). */
function verifiedGate(o: DeployOutcome): string {
    const refused = o.stopped?.details.verifiedPromotion as VerifiedGateReport | undefined;
    if (refused) return `refused: ${refused.reason ?? o.stopped?.message}`;
    const v = o.summary?.verifiedPromotion;
    if (!v) return o.summary?.promotionGate === "off" ? "off" : "not reached";
    if (v.result === "passed" && v.matched)
        return `passed: ${v.distributionName} ${v.distributionId} succeeded in ${v.upstream.attiniEnvironment} (stack ${v.upstream.stack}) at ${isoTime(v.matched.time)}`;
    return `${v.result}${v.reason ? `: ${v.reason}` : ""}`;
}

/** The upstream-alarm gate's verdict and why (raw text); undefined when the stack lists no alarm. */
function alarmsGate(o: DeployOutcome): string | undefined {
    const refused = o.stopped?.details.upstreamAlarms as UpstreamAlarmsReport | undefined;
    if (refused) return `refused: ${refused.reason ?? o.stopped?.message}`;
    const a = o.summary?.upstreamAlarms;
    if (!a || a.result === "none") return undefined;
    const said = a.alarms.map((v) => v.says).join("; ") || a.reason;
    return `${a.result}${said ? `: ${said}` : ""}`;
}

/** The soak time's verdict and why (raw text); undefined when the stack has none. */
function soakTime(o: DeployOutcome): string | undefined {
    const refused = o.stopped?.details.soak as SoakReport | undefined;
    if (refused) return `refused: ${o.stopped?.message}`;
    const v = o.summary?.soak;
    if (!v) return undefined;
    const glass = v.breakGlass !== undefined ? ` (passed by --break-glass: ${v.breakGlass})` : "";
    return `${v.result}${glass}${v.reason ? `: ${v.reason}` : v.since ? `: held since ${v.since}, minimum ${v.minimumMinutes} min` : ""}`;
}

/** attini's part (raw text). */
function attini(o: DeployOutcome): string {
    const s = o.summary;
    if (!s) return "not run";
    if (s.result === "dry-run") return `not run (dry run): ${(s.command ?? []).join(" ")}`;
    if (s.result === "unmapped") return "not run: the branch maps to no environment";
    const creds = s.credentials
        ? s.credentials.mode === "endpoint"
            ? `, credentials from the refreshing endpoint (${s.credentials.refreshes} refreshes)`
            : ", static credentials"
        : "";
    return `${s.result === "deployed" ? "succeeded" : "failed"} (exit ${s.exitCode})${creds}`;
}

function chart(o: DeployOutcome, result: Result): string {
    const t = o.target;
    const lines = ["flowchart LR", `  br[${mermaidLabel([mermaidText(`branch ${t?.branch ?? "unknown"}`)])}]`];
    if (t?.stack) {
        lines.push(
            `  st[${mermaidLabel([mermaidText(`stack ${t.stack.stack}`), mermaidText(`Attini env ${t.stack.attiniEnvironment}`)])}]`,
            `  ac[${mermaidLabel([mermaidText(`account ${t.stack.accountId}`), mermaidText(t.stack.region)])}]`,
            "  br --> st",
            `  st ${result === "deployed" ? "-->" : "--x"}|${mermaidLabel([mermaidText(result)])}| ac`,
        );
    } else lines.push(`  out[${mermaidLabel([mermaidText(result)])}]`, "  br --x out");
    const ok = result === "deployed" || result === "dry run";
    lines.push(
        "  classDef ok fill:#dff5e1,stroke:#2e7d32,color:#111",
        "  classDef bad fill:#fde2e1,stroke:#c62828,color:#111",
        `  class ${t?.stack ? "ac" : "out"} ${ok ? "ok" : "bad"}`,
    );
    return mermaidBlock(lines);
}

/** How many lines of a stopped deploy's message the summary repeats in full. */
const REASON_LINES = 40;

/** A row only when there is something to say. */
function optionalRow(name: string, text: string | undefined): string[][] {
    return text === undefined ? [] : [[name, markdownText(text, 400)]];
}

export function deployMarkdown(o: DeployOutcome): string {
    const result = resultOf(o);
    const t = o.target;
    const s = o.summary;
    const where = t?.stack
        ? `${markdownText(t.branch)} → ${markdownText(t.stack.stack)} (Attini env ${markdownText(t.stack.attiniEnvironment)}) → ${code(t.stack.accountId)} ${markdownText(t.stack.region)}`
        : t
          ? `${markdownText(t.branch)} → no stack`
          : "unknown";
    const exitCode = s?.exitCode ?? o.stopped?.exitCode;
    const rows: string[][] = [
        ["result", `**${result}** (exit ${exitCode ?? "unknown"})`],
        ["branch → stack → account", where],
        [
            "distribution",
            `${markdownText(o.distribution)}${s?.sha256 ? ` sha256 ${code(s.sha256.slice(0, 16))}…` : ""}`,
        ],
        ["commit", s?.commit ? code(s.commit) : " "],
        ["git promotion gate", markdownText(gitGate(o), 300)],
        ["verified promotion gate", markdownText(verifiedGate(o), 300)],
        ...optionalRow("upstream alarms", alarmsGate(o)),
        ...optionalRow("soak time", soakTime(o)),
        ...optionalRow("break-glass", s?.breakGlass),
        ["attini", markdownText(attini(o), 300)],
        ["duration", duration(s?.durationMs ?? o.durationMs)],
        ["CI run", runLink(o.runUrl) ?? "not in CI"],
    ];
    const out = [
        `## attini-gitops deploy: ${result}${t?.stack ? ` to ${markdownText(t.stack.stack)}` : ""}`,
        "",
        chart(o, result),
        "",
        table(["", ""], rows),
    ];
    if (o.stopped) {
        const lines = o.stopped.message.split("\n");
        out.push(
            "",
            "**Why it stopped**",
            "",
            ...lines
                .slice(0, REASON_LINES)
                .map((l, i, shown) => `> ${markdownText(l.trim(), 300)}${i < shown.length - 1 ? "<br>" : ""}`),
            ...(lines.length > REASON_LINES
                ? [`> and ${lines.length - REASON_LINES} more lines (see the job log)`]
                : []),
        );
    }
    return out.join("\n");
}
