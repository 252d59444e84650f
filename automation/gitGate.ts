/**
 * The git promotion gate that `deploy` applies to a stack with promotedFrom: what is deployed must
 * be content that the upstream branch has. For a folder, its tree at HEAD must equal its tree on
 * the upstream branch; for a .zip (built from a commit of this clone), HEAD's whole tree must equal
 * the upstream branch's. Trees are content: a change inside a merge commit, a whitespace-only twin
 * of an upstream commit, or a cherry-pick that upstream later reverted all make the trees differ,
 * where commit lists and patch ids would call them promoted. The commits that differ are listed
 * only to explain a refusal. A folder must also be committed, as git sees it (untracked, ignored,
 * modified, staged, skip-worktree and assume-unchanged files are not). It never reports "passed"
 * for what it did not check: a clone that cannot tell is "unverified" (refused under enforce).
 */
import * as path from "node:path";
import type { StackConfig } from "../lib/config/types";
import { ATTINI_OUTPUT_DIR } from "./artifact";
import { object } from "./gateMode";
import { type Commit, exists, freshnessWarnings, type GitRunner, remoteRef } from "./git";

/** A commit that touches the compared content on one side only, with the paths it touches there. */
export interface GateFinding {
    commit: Commit;
    paths: string[];
}

/** How many commits a refusal lists on each side; it says how many more there are. */
export const EXPLAINED_COMMITS = 10;

/** What the gate compared: the content (a folder, or the whole tree for a .zip) at HEAD and on the upstream branch. */
export interface ComparedTrees {
    /** The folder, relative to the project ("." is the project), or undefined for the whole tree. */
    path?: string;
    head: string;
    /** The upstream branch's tree there; undefined when the upstream branch has no such folder. */
    upstream?: string;
}

/**
 * The trees of `pathspec` (relative to the git runner's folder; the whole tree when undefined) at
 * HEAD and at `upstreamRef`. Undefined when git cannot read HEAD's; `upstream` is undefined when
 * the upstream branch lacks the folder.
 */
export function compareTrees(git: GitRunner, upstreamRef: string, pathspec?: string): ComparedTrees | undefined {
    const at = (rev: string) =>
        git(["rev-parse", "--verify", "--quiet", pathspec === undefined ? `${rev}^{tree}` : `${rev}:./${pathspec}`]);
    const head = at("HEAD");
    if (head === undefined) return undefined;
    return { path: pathspec, head, upstream: at(upstreamRef) };
}

/** The commits in `range` that touch `pathspec` (newest first, at most EXPLAINED_COMMITS), and how many there are. */
function commitsTouching(
    git: GitRunner,
    range: string,
    pathspec?: string,
): { shown: GateFinding[]; count: number } | undefined {
    const limit = pathspec === undefined ? [] : ["--", pathspec];
    const count = git(["rev-list", "--count", "--full-history", range, ...limit]);
    const out = git([
        "log",
        "--full-history",
        "--root",
        `--max-count=${EXPLAINED_COMMITS}`,
        "--format=%x00%H%x09%ct%x09%s",
        "--name-only",
        range,
        ...limit,
    ]);
    if (count === undefined || out === undefined) return undefined;
    const shown = out
        .split("\0")
        .filter(Boolean)
        .map((chunk) => {
            const [header, ...files] = chunk.split("\n");
            const [sha, time, ...subject] = header.split("\t");
            return { commit: { sha, time: Number(time), subject: subject.join("\t") }, paths: files.filter(Boolean) };
        });
    return { shown, count: Number(count) };
}

/**
 * Content under a folder distribution that no commit vouches for: untracked, ignored, modified or
 * staged files (`git status` lines), and files git is told not to look at (skip-worktree `S`,
 * assume-unchanged: a lowercase tag in `git ls-files -v`), whose edits `git status` hides. Leaves
 * out attini's own output folder (attini_dist/).
 */
export function uncommittedUnder(git: GitRunner, pathspec: string): string[] | undefined {
    const status = git(["status", "--porcelain=v1", "--untracked-files=all", "--ignored=matching", "--", pathspec]);
    const flagged = git(["ls-files", "-v", "--full-name", "--", pathspec]);
    if (status === undefined || flagged === undefined) return undefined;
    // `XY path`, the path relative to the repository root; an ignored folder is one `!! folder/` line.
    const attiniOutput = path.posix.normalize(
        `${git(["rev-parse", "--show-prefix"]) ?? ""}${pathspec}/${ATTINI_OUTPUT_DIR}/`,
    );
    const hidden = flagged
        .split("\n")
        .filter((line) => line[0] === "S" || (line[0] >= "a" && line[0] <= "z"))
        .map((line) => `${line[0] === "S" ? "skip-worktree" : "assume-unchanged"} ${line.slice(2)}`);
    return [...status.split("\n").filter((line) => line !== "" && !line.slice(3).startsWith(attiniOutput)), ...hidden];
}

export interface GateOptions {
    git: GitRunner;
    remote: string;
    stack: StackConfig;
    upstream: StackConfig;
    /**
     * What is deployed: a folder (its path relative to the project, or undefined when it lies
     * outside the repository), or a .zip, taken to be built from HEAD (its bytes are pinned by
     * --expect-sha256 and the verified gate; this gate vouches for the commit's whole tree).
     */
    distribution: { kind: "folder"; pathspec?: string } | { kind: "zip" };
    skip: boolean;
    log: (line: string) => void;
}

export type GateResult = "passed" | "warned" | "unverified" | "skipped" | "off";

export interface GateReport {
    /**
     * passed: the content equals the upstream branch's, and a folder is committed; warned: under
     * warn, the gate found what enforce would refuse; unverified: under warn, the gate could not
     * check (not a checkout, no upstream branch, ...). `enforce` throws instead.
     */
    result: GateResult;
    /** What the gate vouches for, when it ran. */
    scope?: string;
    /** The trees it compared. */
    trees?: ComparedTrees;
    /** When the trees differ: HEAD's commits that touch the content and are not on the upstream branch (the first few). */
    findings: GateFinding[];
    /** How many such commits there are. */
    unpromotedCount?: number;
    /** Files under a folder distribution that no commit vouches for. */
    uncommitted: string[];
    /** Why the gate could not check, when it could not. */
    unverified?: string;
}

const short = (sha: string) => sha.slice(0, 10);

/** The refusal's explanation: the trees, then the commits on each side that touch the content. */
function differs(
    o: GateOptions,
    trees: ComparedTrees,
    mine: { shown: GateFinding[]; count: number },
    theirs: { count: number },
    shallow: boolean,
): string {
    const { stack, upstream } = o;
    const up = `${o.remote}/${upstream.branch}`;
    const what = trees.path === undefined ? "the commit's whole tree" : `${trees.path}`;
    const list = mine.shown.map((f) => `    ${short(f.commit.sha)} ${f.commit.subject}`);
    if (mine.count > mine.shown.length) list.push(`    ... and ${mine.count - mine.shown.length} more`);
    const lines = [
        `what is about to be deployed to ${stack.stack} is not content that ${upstream.stack} has: ${what} at HEAD is tree ${short(trees.head)}, on ${up} it is ${trees.upstream ? `tree ${short(trees.upstream)}` : "absent"}.`,
    ];
    if (mine.count > 0) lines.push(`  ${mine.count} commit(s) here touch it and are not on ${up}:`, ...list);
    if (theirs.count > 0)
        lines.push(`  ${theirs.count} commit(s) on ${up} touch it and are not here (${upstream.stack} has moved on).`);
    if (mine.count === 0 && theirs.count === 0)
        lines.push(
            `  No commit explains the difference${shallow ? " in this shallow clone (its history is cut off)" : ""}: the same commits, with other content (a change made inside a merge, say).`,
        );
    lines.push(
        `  ${stack.stack} takes only content that went through ${upstream.stack}: bring the change to ${upstream.branch} first and let it deploy there, then make ${stack.branch} equal to it (e.g. merge ${up}); or pass --skip-promotion-check for an emergency.`,
    );
    return lines.join("\n");
}

/** Applies the stack's promotion gate; throws DriverError(REFUSED) when `enforce` refuses. */
export function applyPromotionGate(o: GateOptions): GateReport {
    const { stack, upstream } = o;
    const report: GateReport = { result: "off", findings: [], uncommitted: [] };
    if (stack.promotionGate === "off") return report;
    if (o.skip) {
        o.log(
            `promotion check for ${upstream.stack} → ${stack.stack} SKIPPED by --skip-promotion-check (gate: ${stack.promotionGate}); this deployment may contain changes that never ran in ${upstream.stack}`,
        );
        return { ...report, result: "skipped" };
    }
    const ref = remoteRef(o.remote, upstream.branch);
    const fail = (msg: string) => object(stack.promotionGate, msg, o.log);
    const cannotCheck = (msg: string): GateReport => {
        fail(`${msg} Nothing was checked.`);
        return { ...report, result: "unverified", unverified: msg };
    };
    if (!exists(o.git, "HEAD")) {
        return cannotCheck(
            `cannot check what is deployed: not a git checkout. Run the driver in the repository's clone, or pass --skip-promotion-check.`,
        );
    }
    if (!exists(o.git, ref)) {
        return cannotCheck(
            `${o.remote}/${upstream.branch} (the ${upstream.stack} branch) is not in this clone, so what ${upstream.stack} has is unknown. Fetch it: git fetch ${o.remote} ${upstream.branch}.`,
        );
    }
    if (o.distribution.kind === "folder" && o.distribution.pathspec === undefined) {
        return cannotCheck(
            `the distribution folder lies outside this git repository, so no commit vouches for its content. Deploy a folder of the repository, or a .zip built from it.`,
        );
    }
    for (const w of freshnessWarnings(o.git, [ref], Math.floor(Date.now() / 1000))) o.log(`promotion gate: ${w}`);
    const pathspec = o.distribution.kind === "folder" ? o.distribution.pathspec : undefined;
    const trees = compareTrees(o.git, ref, pathspec);
    if (trees === undefined)
        return cannotCheck(
            pathspec === undefined
                ? "git could not read HEAD's tree, so what is deployed is unknown."
                : `${pathspec} is not in HEAD's tree (is it committed?), so no commit vouches for its content.`,
        );
    report.trees = trees;
    const head = o.git(["rev-parse", "HEAD"]) ?? "HEAD";
    report.scope =
        pathspec !== undefined
            ? `the committed content of ${pathspec} at ${short(head)}, against ${o.remote}/${upstream.branch}`
            : `the whole tree of commit ${short(head)}, which the .zip is taken to be built from (its bytes are pinned by --expect-sha256 and the verified gate), against ${o.remote}/${upstream.branch}`;
    const problems: string[] = [];
    if (trees.head !== trees.upstream) {
        const mine = commitsTouching(o.git, `${ref}..HEAD`, pathspec);
        const theirs = commitsTouching(o.git, `HEAD..${ref}`, pathspec);
        if (mine === undefined || theirs === undefined)
            return cannotCheck(`git log failed for ${ref}...HEAD, so the difference cannot be explained.`);
        report.findings = mine.shown;
        report.unpromotedCount = mine.count;
        const shallow = o.git(["rev-parse", "--is-shallow-repository"]) !== "false";
        problems.push(differs(o, trees, mine, theirs, shallow));
    }
    if (pathspec !== undefined) {
        const uncommitted = uncommittedUnder(o.git, pathspec);
        if (uncommitted === undefined)
            return cannotCheck(`git status failed for ${pathspec}, so whether its content is committed is unknown.`);
        report.uncommitted = uncommitted;
    }
    if (report.uncommitted.length > 0) {
        const shown = report.uncommitted.slice(0, 20).map((l) => `    ${l}`);
        if (report.uncommitted.length > 20) shown.push(`    ... and ${report.uncommitted.length - 20} more`);
        problems.push(
            `${report.uncommitted.length} file(s) under ${pathspec} are not committed as git sees them (untracked ??, ignored !!, modified, staged, skip-worktree or assume-unchanged), so no commit that went through ${upstream.stack} vouches for them:\n${shown.join("\n")}\n` +
                `  Deploy from a clean checkout (git clean -fdx, git checkout -- ${pathspec}, git update-index --no-skip-worktree --no-assume-unchanged), or package a .zip in CI and deploy that.`,
        );
    }
    if (problems.length === 0) return { ...report, result: "passed" };
    fail(problems.join("\n"));
    return { ...report, result: "warned" };
}
