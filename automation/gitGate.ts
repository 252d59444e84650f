/**
 * The git promotion gate that `deploy` applies to a stack with promotedFrom: what is deployed must
 * be content that the upstream branch has. For a folder, its tree at HEAD must equal its tree on
 * the upstream branch; for a .zip (built from a commit of this clone), HEAD's whole tree must equal
 * the upstream branch's. Trees are content: a change inside a merge commit, a whitespace-only twin
 * of an upstream commit, or a cherry-pick that upstream later reverted all make the trees differ,
 * where commit lists and patch ids would call them promoted. The files that differ, and the newest
 * commits on each side, are listed only to explain a refusal; the cost is the same however long the
 * history between the branches. A folder must also be committed, as git sees it (untracked, ignored,
 * modified, staged, skip-worktree and assume-unchanged files are not). It never reports "passed"
 * for what it did not check: a clone that cannot tell is "unverified" (refused under enforce).
 */
import type { StackConfig } from "../lib/config/types";
import { uncommittedUnder } from "./committedContent";
import { object } from "./gateMode";
import {
    type Commit,
    exists,
    folderAt,
    freshnessWarnings,
    type GitRunner,
    logWithMarks,
    remoteRef,
    short,
} from "./git";

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
        git(["rev-parse", "--verify", "--quiet", pathspec === undefined ? `${rev}^{tree}` : folderAt(rev, pathspec)]);
    const head = at("HEAD");
    if (head === undefined) return undefined;
    return { path: pathspec, head, upstream: at(upstreamRef) };
}

/**
 * The newest commits of HEAD's that are not on the upstream branch (at most EXPLAINED_COMMITS), and
 * how many commits each side has that the other lacks (one walk, `--left-right --count`). Not
 * limited to a path: a path-limited walk diffs every commit of the range, and the cost of a refusal
 * would then grow with the history (the files that differ say what the content is).
 */
function sides(
    git: GitRunner,
    upstreamRef: string,
): { mine: { shown: Commit[]; count: number }; theirs: { count: number } } | undefined {
    const counts = git(["rev-list", "--left-right", "--count", `${upstreamRef}...HEAD`]);
    const shown = logWithMarks(git, [`--max-count=${EXPLAINED_COMMITS}`, `${upstreamRef}..HEAD`])?.map(
        ({ mark: _, ...c }) => c,
    );
    const [theirs, mine] = (counts ?? "").split("\t").map(Number);
    if (shown === undefined || !Number.isInteger(theirs) || !Number.isInteger(mine)) return undefined;
    return { mine: { shown, count: mine }, theirs: { count: theirs } };
}

/** How many differing files a refusal lists; it says how many more there are. */
const EXPLAINED_FILES = 20;

/** The files whose content differs between the upstream branch and HEAD (`git diff --name-status`), under `pathspec`. */
function differingFiles(git: GitRunner, upstreamRef: string, pathspec?: string): string[] | undefined {
    const out = git([
        "diff",
        "--no-ext-diff",
        "--no-renames",
        "--name-status",
        upstreamRef,
        "HEAD",
        ...(pathspec === undefined ? [] : ["--", pathspec]),
    ]);
    return out?.split("\n").filter(Boolean);
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
    distribution: { kind: "folder"; pathspec?: string; throughSymlink?: boolean } | { kind: "zip" };
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
    /** When the trees differ: the files that differ (`git diff --name-status` lines). */
    differing?: string[];
    /** When the trees differ: HEAD's commits that are not on the upstream branch (the newest few). */
    findings: Commit[];
    /** How many such commits there are. */
    unpromotedCount?: number;
    /** Files under a folder distribution that no commit vouches for. */
    uncommitted: string[];
    /** Why the gate could not check, when it could not. */
    unverified?: string;
}

/** The refusal's explanation: the trees, the files that differ, then the commits on each side. */
function differs(
    o: GateOptions,
    trees: ComparedTrees,
    files: string[],
    mine: { shown: Commit[]; count: number },
    theirs: { count: number },
): string {
    const { stack, upstream } = o;
    const up = `${o.remote}/${upstream.branch}`;
    const what = trees.path === undefined ? "the commit's whole tree" : `${trees.path}`;
    const more = (n: number, shown: number) => (n > shown ? [`    ... and ${n - shown} more`] : []);
    const lines = [
        `what is about to be deployed to ${stack.stack} is not content that ${upstream.stack} has: ${what} at HEAD is tree ${short(trees.head)}, on ${up} it is ${trees.upstream ? `tree ${short(trees.upstream)}` : "absent"}.`,
        `  ${files.length} file(s) differ from ${up} (A: only here, D: only there, M: other content):`,
        ...files.slice(0, EXPLAINED_FILES).map((f) => `    ${f.replace("\t", " ")}`),
        ...more(files.length, EXPLAINED_FILES),
    ];
    if (mine.count > 0)
        lines.push(
            `  ${mine.count} commit(s) here are not on ${up}, newest first:`,
            ...mine.shown.map((c) => `    ${short(c.sha)} ${c.subject}`),
            ...more(mine.count, mine.shown.length),
        );
    if (theirs.count > 0)
        lines.push(`  ${theirs.count} commit(s) on ${up} are not here (${upstream.stack} has moved on).`);
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
    if (o.distribution.kind === "folder" && o.distribution.throughSymlink) {
        return cannotCheck(
            `the distribution folder is reached through a symbolic link, so git vouches for the link, not for the content attini reads through it. Deploy the folder by its own path.`,
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
        const files = differingFiles(o.git, ref, pathspec);
        const both = sides(o.git, ref);
        if (files === undefined || both === undefined)
            return cannotCheck(`git could not compare HEAD with ${ref}, so the difference cannot be explained.`);
        report.differing = files;
        report.findings = both.mine.shown;
        report.unpromotedCount = both.mine.count;
        problems.push(differs(o, trees, files, both.mine, both.theirs));
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
            `${report.uncommitted.length} file(s) under ${pathspec} are not committed as git sees them (untracked ??, ignored !!, modified, staged, skip-worktree, assume-unchanged, a submodule, whose files are not checked, or checked out other than committed by a .gitattributes filter or conversion), so no commit that went through ${upstream.stack} vouches for them:\n${shown.join("\n")}\n` +
                `  Deploy from a clean checkout (git clean -fdx, git checkout -- ${pathspec}, git update-index --no-skip-worktree --no-assume-unchanged), or package a .zip in CI and deploy that.`,
        );
    }
    if (problems.length === 0) return { ...report, result: "passed" };
    fail(problems.join("\n"));
    return { ...report, result: "warned" };
}
