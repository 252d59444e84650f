/**
 * The promotion links that `status` shows, read from the local clone's remote-tracking branches:
 * what waits to be promoted (parked changes), and what reached an environment without going
 * through the one before it (hotfixes, cherry-picks).
 */
import type { StackConfig } from "../lib/config/types";
import { type Commit, commits, exists, freshnessWarnings, type GitRunner, logWithMarks, remoteRef } from "./git";

export interface DownstreamOnly extends Commit {
    /** hotfix: its change exists nowhere upstream; cherry-pick: an equal change exists upstream. */
    kind: "hotfix" | "cherry-pick";
}

export interface LinkStatus {
    upstream: { stack: string; branch: string; ref: string };
    downstream: { stack: string; branch: string; ref: string; gate: string };
    /** Remote-tracking branches that do not exist locally (nothing else is known then). */
    missing: string[];
    /** Why the remote-tracking branches may not reflect the remote (old fetch, shallow clone). */
    warnings: string[];
    waiting: Commit[];
    oldestWaitingDays?: number;
    downstreamOnly: DownstreamOnly[];
    treesEqual?: boolean;
}

const DAY = 86_400;

/** The state of one promotion link (upstream → downstream). */
export function linkStatus(
    git: GitRunner,
    remote: string,
    up: StackConfig,
    down: StackConfig,
    now = Math.floor(Date.now() / 1000),
): LinkStatus {
    const upRef = remoteRef(remote, up.branch);
    const downRef = remoteRef(remote, down.branch);
    const status: LinkStatus = {
        upstream: { stack: up.stack, branch: up.branch, ref: `${remote}/${up.branch}` },
        downstream: {
            stack: down.stack,
            branch: down.branch,
            ref: `${remote}/${down.branch}`,
            gate: down.promotionGate,
        },
        missing: [upRef, downRef].filter((r) => !exists(git, r)).map((r) => r.replace("refs/remotes/", "")),
        warnings: [],
        waiting: [],
        downstreamOnly: [],
    };
    if (status.missing.length > 0) return status;
    status.warnings = freshnessWarnings(git, [upRef, downRef], now);
    // Waiting: on upstream, not downstream, and no equal change downstream either.
    status.waiting = commits(git, ["--no-merges", "--cherry-pick", "--right-only", `${downRef}...${upRef}`]);
    if (status.waiting.length > 0)
        status.oldestWaitingDays = Math.floor((now - Math.min(...status.waiting.map((c) => c.time))) / DAY);
    // One pass: the downstream side of the two branches, each commit marked `=` when an equal change is upstream.
    status.downstreamOnly = (
        logWithMarks(git, ["--no-merges", "--cherry-mark", "--right-only", `${upRef}...${downRef}`]) ?? []
    ).map(({ mark, ...c }) => ({
        ...c,
        kind: mark === "=" ? "cherry-pick" : "hotfix",
    }));
    status.treesEqual = git(["rev-parse", `${upRef}^{tree}`]) === git(["rev-parse", `${downRef}^{tree}`]);
    return status;
}
