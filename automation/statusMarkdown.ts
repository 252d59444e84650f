/**
 * `attini-gitops status --format markdown`, and status's CI job summary: the promotion chain as a
 * Mermaid flowchart (one node per stack, grouped by branch when a branch has several; one edge per
 * promotion link), then the same facts as tables for readers that cannot render Mermaid. Every
 * text from git or AWS goes through summaryMarkdown.ts's escapers. Pure: the time is given.
 */
import type { Behind } from "./behind";
import { isoTime, type RecordedDeployment } from "./deployments";
import { freezeLines } from "./freezeGate";
import type { LinkStatus } from "./promotionLinks";
import type { EnvironmentStatus, StatusReport } from "./statusReport";
import { code, markdownText, mermaidBlock, mermaidLabel, mermaidText, oneLine, plural, table } from "./summaryMarkdown";

/** What a node or row shows where the stack outputs cannot be used (status says why). */
const UNPROVISIONED = "unknown";

/** What an environment's node says at a glance, and its colour in the chart. */
export type EnvironmentState = "deployed" | "behind" | "failed" | "running" | "never-deployed" | "unknown";

export function environmentState(e: EnvironmentStatus, behind?: Behind): EnvironmentState {
    const last = e.deployed?.last;
    if (!e.deployed) return "unknown";
    if (!last) return "never-deployed";
    if (last.status !== "succeeded") return last.status;
    return (behind?.count ?? 0) > 0 || e.movedOn ? "behind" : "deployed";
}

const STATE_WORDS: Record<EnvironmentState, string> = {
    deployed: "deployed, up to date",
    behind: "deployed, branch moved on",
    failed: "last deployment failed",
    running: "deployment not finished",
    "never-deployed": "never deployed",
    unknown: "unknown",
};

const CLASS_DEFS = [
    "classDef deployed fill:#dff5e1,stroke:#2e7d32,color:#111",
    "classDef behind fill:#fff4d6,stroke:#b7791f,color:#111",
    "classDef failed fill:#fde2e1,stroke:#c62828,color:#111",
    "classDef running fill:#e3f0ff,stroke:#1565c0,color:#111",
    "classDef never fill:#eeeeee,stroke:#777777,color:#111,stroke-dasharray: 4 3",
    "classDef unknown fill:#ffffff,stroke:#777777,color:#111,stroke-dasharray: 2 2",
];
const CLASS_OF: Record<EnvironmentState, string> = {
    deployed: "deployed",
    behind: "behind",
    failed: "failed",
    running: "running",
    "never-deployed": "never",
    unknown: "unknown",
};

const short = (sha: string) => sha.slice(0, 10);
const day = (now: number, time: number) => Math.floor((now - time) / 86_400);

/** A time to the minute, UTC: `2026-11-27 09:15Z`. */
const minute = (ms: number) => `${isoTime(ms).slice(0, 16).replace("T", " ")}Z`;

/** One deployment in a few words: `<id> · <status> · <time>`. */
function deployment(d: RecordedDeployment): string {
    return `${d.distributionId ?? "(no id)"} · ${d.status} · ${minute(d.time)}`;
}

/** How far behind the branch, in words (raw text: escape it where it goes). */
function behindWords(e: EnvironmentStatus, b?: Behind): string {
    if (!e.tip) return `${e.branch} is not in this clone (git fetch)`;
    if (!e.deployed?.last) return `branch ${e.tip.ref} at ${short(e.tip.sha)}`;
    if (!b) return e.movedOn ? `${e.tip.ref} moved on since` : `up to date with ${e.tip.ref}`;
    if (b.count === 0) return `up to date with ${e.tip.ref}`;
    return `${b.exact ? "" : "about "}${plural(b.count, "commit")}${b.more ? " or more" : ""} behind ${e.tip.ref}`;
}

/** The lines of an environment's node, each escaped. */
function nodeLines(e: EnvironmentStatus, b: Behind | undefined): string[] {
    const lines = [
        mermaidText(`${e.stack} · Attini env ${e.attiniEnvironment ?? UNPROVISIONED}`),
        mermaidText(e.accountId ? `account ${e.accountId} · ${e.region}` : "what was provisioned is unknown"),
    ];
    const d = e.deployed;
    if (!d) lines.push(mermaidText(`deployed: ${e.unknown ?? "unknown"}`, 60));
    else if (!d.last) lines.push(mermaidText(`${d.distributionName}: never deployed here`));
    else {
        lines.push(mermaidText(`${d.distributionName} ${deployment(d.last)}`));
        if (d.last.status !== "succeeded")
            lines.push(
                mermaidText(d.lastSucceeded ? `last success: ${deployment(d.lastSucceeded)}` : "no success recorded"),
            );
        if (b?.atDeploy) lines.push(mermaidText(`commit ${short(b.atDeploy.sha)} ${b.atDeploy.subject}`, 50));
    }
    lines.push(mermaidText(behindWords(e, b)));
    if (e.ledger?.outside) lines.push(mermaidText("newest deployment made outside attini-gitops"));
    const glass = e.ledger?.deployed?.breakGlass;
    if (glass !== undefined) lines.push(mermaidText(`deployed with break-glass: ${glass}`, 60));
    return lines;
}

/** Whether the git gate would pass a deployment of the upstream's content today (raw text). */
export function gateToday(l: LinkStatus): string {
    const mode = l.downstream.gate;
    if (mode === "off") return "gate off: nothing checked";
    if (l.missing.length > 0) return `gate ${mode}: unknown, ${l.missing.join(" and ")} not in this clone`;
    if (l.treesEqual) return `gate ${mode}: would pass (trees equal)`;
    return `gate ${mode}: trees differ, would ${mode === "enforce" ? "refuse" : "warn"}`;
}

/** What waits on a link, in a few words (raw text). */
function waitingWords(l: LinkStatus): string {
    if (l.missing.length > 0) return "waiting: unknown";
    if (l.waiting.length === 0) return "nothing waiting";
    return `${plural(l.waiting.length, "commit")} waiting, oldest ${plural(l.oldestWaitingDays ?? 0, "day")}`;
}

/** The flowchart: nodes per stack (a subgraph per branch with several), an edge per link. */
function chart(report: StatusReport, behind: Record<string, Behind>): string {
    const id = new Map(report.environments.map((e, i) => [e.stack, `env${i}`]));
    const lines = ["flowchart LR"];
    const branches = [...new Set(report.environments.map((e) => e.branch))];
    branches.forEach((branch, bi) => {
        const envs = report.environments.filter((e) => e.branch === branch);
        const grouped = envs.length > 1;
        if (grouped) lines.push(`  subgraph branch${bi} ["${mermaidText(`branch ${branch}`)}"]`);
        for (const e of envs)
            lines.push(`${grouped ? "    " : "  "}${id.get(e.stack)}[${mermaidLabel(nodeLines(e, behind[e.stack]))}]`);
        if (grouped) lines.push("  end");
    });
    for (const l of report.links) {
        const label = [mermaidText(waitingWords(l)), mermaidText(gateToday(l))];
        const hotfixes = l.downstreamOnly.length;
        if (hotfixes > 0) label.push(mermaidText(`${plural(hotfixes, "commit")} only in ${l.downstream.branch}`));
        lines.push(`  ${id.get(l.upstream.stack)} -->|${mermaidLabel(label)}| ${id.get(l.downstream.stack)}`);
    }
    const classes = report.environments.map((e) => CLASS_OF[environmentState(e, behind[e.stack])]);
    lines.push(...CLASS_DEFS.filter((c) => classes.includes(c.split(" ")[1])).map((c) => `  ${c}`));
    for (const c of new Set(classes))
        lines.push(
            `  class ${report.environments
                .filter((_, i) => classes[i] === c)
                .map((e) => id.get(e.stack))
                .join(",")} ${c}`,
        );
    return mermaidBlock(lines);
}

/** How many commits a table cell lists; it says how many more there are. */
const LISTED = 5;

function commitList(list: readonly { sha: string; subject: string }[]): string {
    if (list.length === 0) return "none";
    const shown = list.slice(0, LISTED).map((c) => `${code(short(c.sha))} ${markdownText(c.subject, 80)}`);
    if (list.length > LISTED) shown.push(`and ${list.length - LISTED} more`);
    return shown.join("<br>");
}

function environmentRow(e: EnvironmentStatus, b: Behind | undefined): string[] {
    const d = e.deployed;
    const last = d?.last;
    return [
        `**${markdownText(e.stack)}** (${markdownText(e.branch)} → ${markdownText(e.attiniEnvironment ?? UNPROVISIONED)})`,
        e.accountId ? `${code(e.accountId)} ${markdownText(e.region ?? "")}` : UNPROVISIONED,
        STATE_WORDS[environmentState(e, b)],
        !d
            ? markdownText(e.unknown ?? "unknown")
            : last
              ? markdownText(`${d.distributionName} ${deployment(last)}`)
              : "none",
        last && last.status !== "succeeded"
            ? markdownText(d?.lastSucceeded ? deployment(d.lastSucceeded) : "none recorded")
            : " ",
        b?.atDeploy ? `${code(short(b.atDeploy.sha))} ${markdownText(b.atDeploy.subject, 80)}` : " ",
        markdownText(
            [
                behindWords(e, b),
                ...(e.ledger?.outside ? ["newest deployment made outside attini-gitops"] : []),
                ...(e.ledger?.deployed?.breakGlass !== undefined
                    ? [`deployed with break-glass: ${e.ledger.deployed.breakGlass}`]
                    : []),
            ].join("; "),
            400,
        ),
    ];
}

function linkRow(l: LinkStatus, now: number): string[] {
    const waiting =
        l.waiting.length === 0 || l.missing.length > 0 ? markdownText(waitingWords(l)) : commitList(l.waiting);
    const oldest = l.waiting.length > 0 ? plural(day(now, Math.min(...l.waiting.map((c) => c.time))), "day") : " ";
    return [
        `${markdownText(l.upstream.stack)} → ${markdownText(l.downstream.stack)}`,
        waiting,
        oldest,
        markdownText(gateToday(l)),
        l.downstreamOnly.length === 0
            ? "none"
            : l.downstreamOnly
                  .slice(0, LISTED)
                  .map((c) => `${code(short(c.sha))} ${markdownText(c.subject, 80)} (${c.kind})`)
                  .join("<br>") +
              (l.downstreamOnly.length > LISTED ? `<br>and ${l.downstreamOnly.length - LISTED} more` : ""),
    ];
}

/** One bullet per freeze window in force or starting within 24 hours, per environment (none: nothing). */
function freezeNotes(report: StatusReport): string[] {
    const notes = report.environments.flatMap((e) =>
        e.freeze && (e.freeze.inForce.length > 0 || e.freeze.upcoming.length > 0)
            ? freezeLines(e.freeze, "").map((l) => `- **${markdownText(e.stack)}** ${markdownText(l, 300)}`)
            : [],
    );
    return notes.length > 0 ? ["", ...notes] : [];
}

/** The whole status summary: heading, chart, environment table, link table, and the notes. */
export function statusMarkdown(report: StatusReport, behind: Record<string, Behind>, now: number): string {
    const out = ["## Promotion chain", "", chart(report, behind), ""];
    out.push(
        table(
            ["environment", "account", "state", "last deployment", "last success", "commit deployed", "branch"],
            report.environments.map((e) => environmentRow(e, behind[e.stack])),
        ),
        "",
    );
    if (report.links.length === 0) out.push("No promotion links: set promotedFrom in the stack files.");
    else
        out.push(
            table(
                ["promotion", "waiting for promotion", "oldest", "git gate today", "only downstream"],
                report.links.map((l) => linkRow(l, now)),
            ),
        );
    out.push(...freezeNotes(report));
    const warnings = report.links.flatMap((l) => l.warnings.map((w) => `- ${markdownText(w, 300)}`));
    if (warnings.length > 0) out.push("", ...warnings);
    out.push(
        "",
        `<sub>attini-gitops status at ${oneLine(minute(now * 1000), 40)}. The commit deployed is the one the environment's ledger recorded; where it has none, the branch's newest commit committed before Attini's deployment started, and "about" marks that estimate. "Would pass" is the git gate on the whole tree, as for a .zip; a folder is judged on its own content.</sub>`,
    );
    return out.join("\n");
}
