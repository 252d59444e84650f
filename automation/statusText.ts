/**
 * `attini-gitops status` as text: each environment's branch tip and recorded deployments, then
 * each promotion link. Long commit lists show their first few unless --all.
 */
import { describeDeployment, isoTime } from "./deployments";
import { freezeLines } from "./freezeGate";
import { short } from "./git";
import { describeRun, runBy } from "./ledgerRules";
import { printableField } from "./log";
import type { EnvironmentStatus, StatusReport } from "./statusReport";

const plural = (n: number, word: string, words = `${word}s`) => `${n} ${n === 1 ? word : words}`;

/** How many commits of each list the text shows without --all. */
export const SHOWN_COMMITS = 10;

/** The first SHOWN_COMMITS lines (all of them with `all`), and a line saying how many more there are. */
function firstFew<T>(items: readonly T[], all: boolean, line: (item: T) => string): string[] {
    const shown = all ? items : items.slice(0, SHOWN_COMMITS);
    const rest = items.length - shown.length;
    return [
        ...shown.map(line),
        ...(rest > 0 ? [`    ... and ${plural(rest, "more commit")} (attini-gitops status --all lists them)`] : []),
    ];
}

function formatEnvironment(e: EnvironmentStatus): string[] {
    const out = e.outputsUnknown
        ? [
              `${e.stack}: branch ${e.branch} (this checkout's stack file); what was provisioned is unknown: ${e.outputsUnknown}`,
          ]
        : [
              `${e.stack}: branch ${e.branch}, Attini environment ${e.attiniEnvironment} in account ${e.accountId} (${e.region})`,
          ];
    out.push(
        e.tip
            ? `  branch tip: ${e.tip.ref} ${short(e.tip.sha)} ${e.tip.subject} (committed ${isoTime(e.tip.time * 1000)})`
            : `  branch tip: unknown (${e.branch} is not in this clone; run git fetch)`,
    );
    out.push(...ledgerLines(e));
    // A stack that lists no window gets no line; one that lists some says what they do now.
    if (e.freeze && e.freeze.windows > 0) out.push(...freezeLines(e.freeze, "  "));
    else if (e.freezeUnknown) out.push(`  freeze windows: unknown, ${e.freezeUnknown}`);
    if (!e.deployed) {
        out.push(`  deployed: unknown, ${e.unknown}`);
        return out;
    }
    const { distributionName, last, lastSucceeded } = e.deployed;
    if (!last) {
        out.push(`  deployed: ${distributionName} never deployed here`);
        return out;
    }
    out.push(`  last deployment of ${distributionName}: ${describeDeployment(last)}`);
    if (last.status !== "succeeded")
        out.push(
            lastSucceeded ? `  last success: ${describeDeployment(lastSucceeded)}` : "  last success: none recorded",
        );
    if (e.movedOn && e.tip && e.ledger?.behind === undefined)
        out.push(
            `  the branch moved on, the environment did not: ${e.tip.ref} was committed after the last deployment started (an estimate from commit times: the ledger has no deployed commit to count from)`,
        );
    return out;
}

/** What the environment's ledger says: the deployed commit and content, how far behind, and deploys made without the driver. */
function ledgerLines(e: EnvironmentStatus): string[] {
    const l = e.ledger;
    if (!l) return e.ledgerUnknown ? [`  ledger: unknown, ${e.ledgerUnknown}`] : [];
    const d = l.deployed;
    const out = [
        d
            ? `  deployed by attini-gitops: commit ${short(d.commit)}, ${d.digest}${d.distributionId ? `, distributionId ${d.distributionId}` : ""}, at ${isoTime(d.startedAt)} by ${runBy(d)}`
            : "  deployed by attini-gitops: nothing yet",
    ];
    if (d?.breakGlass !== undefined)
        out.push(`  deployed with --break-glass, for: ${printableField(JSON.stringify(d.breakGlass))}`);
    if (l.last && l.last.entry !== d?.entry) out.push(`  newest run: ${describeRun(l.last)}`);
    if (l.behind !== undefined && e.tip)
        out.push(
            l.behind === 0
                ? `  up to date with ${e.tip.ref}`
                : `  ${plural(l.behind, "commit")} behind ${e.tip.ref} (the branch has them, the environment does not)`,
        );
    else if (l.behindUnknown) out.push(`  commits behind: unknown, ${l.behindUnknown}`);
    if (l.outside)
        out.push(
            "  deployed outside attini-gitops: Attini's newest deployment here was made while no driver run was recorded (attini by hand, or another tool)",
        );
    return out;
}

export function formatStatus(report: StatusReport, now = Math.floor(Date.now() / 1000), all = false): string {
    const out: string[] = report.environments.flatMap(formatEnvironment);
    out.push("");
    if (report.links.length === 0)
        out.push("No promotion links: set promotedFrom in the stack files (e.g. prod ← stage ← dev).");
    for (const l of report.links) {
        out.push(
            `${l.upstream.stack} (${l.upstream.ref}) → ${l.downstream.stack} (${l.downstream.ref}), promotion gate: ${l.downstream.gate}`,
        );
        if (l.missing.length > 0) {
            out.push(`  unknown: ${l.missing.join(" and ")} not in this clone; run git fetch (with full history)`);
            continue;
        }
        for (const w of l.warnings) out.push(`  warning: ${w}`);
        out.push(
            l.waiting.length === 0
                ? `  waiting for promotion: none`
                : `  waiting for promotion: ${plural(l.waiting.length, "commit")}, oldest ${plural(l.oldestWaitingDays ?? 0, "day")} old`,
        );
        out.push(
            ...firstFew(
                l.waiting,
                all,
                (c) => `    ${short(c.sha)} ${c.subject} (${plural(Math.floor((now - c.time) / 86_400), "day")})`,
            ),
        );
        const hotfixes = l.downstreamOnly.filter((c) => c.kind === "hotfix").length;
        out.push(
            l.downstreamOnly.length === 0
                ? `  only in ${l.downstream.branch}, never in ${l.upstream.branch}: none`
                : `  only in ${l.downstream.branch}, never in ${l.upstream.branch}: ${plural(l.downstreamOnly.length, "commit")} (${plural(hotfixes, "hotfix", "hotfixes")}, ${plural(l.downstreamOnly.length - hotfixes, "cherry-pick")})`,
        );
        out.push(...firstFew(l.downstreamOnly, all, (c) => `    ${short(c.sha)} ${c.subject} (${c.kind})`));
        if (l.downstreamOnly.length > hotfixes)
            out.push(
                `  (a cherry-pick has the same patch as a commit on ${l.upstream.branch}, whitespace ignored; it says nothing about content: the trees line does)`,
            );
        out.push(
            l.treesEqual
                ? `  trees: equal (${l.downstream.branch} has exactly ${l.upstream.branch}'s content)`
                : `  trees: differ (${l.downstream.branch}'s content is not ${l.upstream.branch}'s: ${l.downstream.stack}'s promotion gate objects to what differs in its distribution)`,
        );
    }
    return out.join("\n");
}
