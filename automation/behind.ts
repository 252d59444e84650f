/**
 * How far each environment is behind its branch, for the status summary. Where the environment's
 * ledger names the commit the driver deployed, exactly: that commit, and the commits the branch
 * has that it has not (statusReport.ts counts them). Where it does not (nothing deployed through
 * the driver yet, or the ledger unreadable), an estimate from Attini's record, which says when a
 * deployment started but not which commit it deployed: the commit the branch had then (its newest
 * commit committed before that time, on its first-parent line), and the commits committed after
 * it, said as an estimate wherever it is shown. Reads the local clone only.
 */
import { type Commit, commits, type GitRunner, remoteRef } from "./git";
import type { StatusReport } from "./statusReport";

/** The branch against the environment's last deployment. */
export interface Behind {
    /** The branch's newest commit committed before the last deployment started (absent: none that old in reach). */
    atDeploy?: Commit;
    /** Commits on the branch's first-parent line committed after the deployment started; `more` when past the reach. */
    count: number;
    more?: boolean;
    /** From the ledger's deployed commit (else an estimate from commit times). */
    exact?: boolean;
}

/** How far back the first-parent line is read. */
export const REACH = 500;

/** Splits a branch's first-parent line (newest first) at a deployment's start time (ms). */
export function behindAt(line: readonly Commit[], deployedAtMs: number, reached = line.length >= REACH): Behind {
    const i = line.findIndex((c) => c.time * 1000 <= deployedAtMs);
    if (i === -1) return { count: line.length, more: reached };
    return { atDeploy: line[i], count: i };
}

/** Per stack: how far its environment is behind its branch, for those with a recorded deployment and a branch in this clone. */
export function behindBranches(git: GitRunner, remote: string, report: StatusReport): Record<string, Behind> {
    const out: Record<string, Behind> = {};
    for (const e of report.environments) {
        const deployed = e.ledger?.deployed;
        if (deployed && e.ledger?.behind !== undefined) {
            const [at] = commits(git, ["-1", deployed.commit]);
            out[e.stack] = { ...(at ? { atDeploy: at } : {}), count: e.ledger.behind, exact: true };
            continue;
        }
        const last = e.deployed?.last;
        if (!last || !e.tip) continue;
        const line = commits(git, ["--first-parent", `--max-count=${REACH}`, remoteRef(remote, e.branch)]);
        out[e.stack] = behindAt(line, last.time);
    }
    return out;
}
