/** `attini-gitops status`: every promotion link's state, from the local clone. */
import { gitIn } from "./branch";
import { findProjectDir, loadValidStacks } from "./project";
import { LinkStatus, linkStatus } from "./promotion";

export function status(cwd: string, remote: string): LinkStatus[] {
    const projectDir = findProjectDir(cwd);
    const { configs } = loadValidStacks(projectDir);
    const git = gitIn(projectDir);
    return configs.flatMap((down) => {
        const up = configs.find((c) => c.stack === down.promotedFrom);
        return up ? [linkStatus(git, remote, up, down)] : [];
    });
}

const plural = (n: number, word: string, words = `${word}s`) => `${n} ${n === 1 ? word : words}`;
const short = (sha: string) => sha.slice(0, 10);

/** How many commits of each list the text shows without --all. */
export const SHOWN_COMMITS = 10;

/** The first SHOWN_COMMITS lines (all of them with `all`), and a line saying how many more there are. */
function firstFew<T>(items: readonly T[], all: boolean, line: (item: T) => string): string[] {
    const shown = all ? items : items.slice(0, SHOWN_COMMITS);
    const rest = items.length - shown.length;
    return [...shown.map(line), ...(rest > 0 ? [`    ... and ${plural(rest, "more commit")} (attini-gitops status --all lists them)`] : [])];
}

export function formatStatus(links: readonly LinkStatus[], now = Math.floor(Date.now() / 1000), all = false): string {
    if (links.length === 0) return "No promotion links: set promotedFrom in the stack files (e.g. prod ← stage ← dev).";
    const out: string[] = [];
    for (const l of links) {
        out.push(`${l.upstream.stack} (${l.upstream.ref}) → ${l.downstream.stack} (${l.downstream.ref}), promotion gate: ${l.downstream.gate}`);
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
        out.push(...firstFew(l.waiting, all, (c) => `    ${short(c.sha)} ${c.subject} (${plural(Math.floor((now - c.time) / 86_400), "day")})`));
        const hotfixes = l.downstreamOnly.filter((c) => c.kind === "hotfix").length;
        out.push(
            l.downstreamOnly.length === 0
                ? `  only in ${l.downstream.branch}, never in ${l.upstream.branch}: none`
                : `  only in ${l.downstream.branch}, never in ${l.upstream.branch}: ${plural(l.downstreamOnly.length, "commit")} (${plural(hotfixes, "hotfix", "hotfixes")}, ${plural(l.downstreamOnly.length - hotfixes, "cherry-pick")})`,
        );
        out.push(...firstFew(l.downstreamOnly, all, (c) => `    ${short(c.sha)} ${c.subject} (${c.kind})`));
        out.push(`  trees: ${l.treesEqual ? "equal" : "differ"}`);
    }
    return out.join("\n");
}
