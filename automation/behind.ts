/**
 * How far each environment is behind its branch, for the status summary: Attini's record says when
 * a deployment started but not which commit it deployed, so the commit shown is the one the branch
 * had then (its newest commit committed before that time, on its first-parent line), and "behind"
 * counts the commits committed after it. The same committer-time reading as statusReport.ts's
 * movedOn, said as an estimate wherever it is shown. Reads the local clone only.
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
        const last = e.deployed?.last;
        if (!last || !e.tip) continue;
        const line = commits(git, ["--first-parent", `--max-count=${REACH}`, remoteRef(remote, e.branch)]);
        out[e.stack] = behindAt(line, last.time);
    }
    return out;
}
