/**
 * Whether a folder distribution is what was committed, as git sees it and beyond: untracked,
 * ignored, modified or staged files, files git is told not to look at (skip-worktree,
 * assume-unchanged), and files a .gitattributes filter or conversion rewrote on checkout. The git
 * gate (gitGate.ts) refuses a folder with any of them.
 */
import * as path from "node:path";
import { ATTINI_OUTPUT_DIR } from "./artifact";
import type { GitRunner } from "./git";

/**
 * Content under a folder distribution that no commit vouches for: untracked, ignored, modified or
 * staged files (`git status` lines), and files git is told not to look at (skip-worktree `S`,
 * assume-unchanged: a lowercase tag in `git ls-files -v`), whose edits `git status` hides. Leaves
 * out attini's own output folder (attini_dist/).
 */
export function uncommittedUnder(git: GitRunner, pathspec: string): string[] | undefined {
    // --no-renames: a rename is its two sides, so a file renamed out of attini_dist/ is not hidden.
    const status = git([
        "status",
        "--porcelain=v1",
        "--no-renames",
        "--untracked-files=all",
        "--ignored=matching",
        "--",
        pathspec,
    ]);
    const flagged = git(["ls-files", "-v", "--full-name", "--", pathspec]);
    // Where the runner's folder is in the repository: git status and the lists above name paths from the top.
    const prefix = git(["rev-parse", "--show-prefix"]);
    if (status === undefined || flagged === undefined || prefix === undefined) return undefined;
    // `XY path`, the path relative to the repository root; an ignored folder is one `!! folder/` line.
    const attiniOutput = path.posix.normalize(`${prefix}${pathspec}/${ATTINI_OUTPUT_DIR}/`);
    const hidden = flagged
        .split("\n")
        .filter((line) => line[0] === "S" || (line[0] >= "a" && line[0] <= "z"))
        .map((line) => `${line[0] === "S" ? "skip-worktree" : "assume-unchanged"} ${line.slice(2)}`);
    const rewritten = rewrittenUnder(git, pathspec, prefix);
    if (rewritten === undefined) return undefined;
    const listed = [
        ...status.split("\n").filter((line) => line !== "" && !line.slice(3).startsWith(attiniOutput)),
        ...hidden,
    ];
    // A modified or hidden file's bytes differ too: it is listed once, for what git says of it.
    const named = new Set(listed.map((line) => line.slice(line.indexOf(" ", 2) + 1)));
    return [...listed, ...rewritten.filter((f) => !named.has(f)).map((f) => `checked out other than committed: ${f}`)];
}

/**
 * Files whose checked-out bytes are not the committed blob although git calls them unmodified: a
 * .gitattributes filter, working-tree-encoding or eol conversion (from any folder above, or from
 * .git/info/attributes) rewrote them on checkout, and attini packages the rewritten bytes. Compared
 * by hashing the working tree without filters (`git hash-object --no-filters`); links and
 * submodules are left to the tree comparison, and deleted files to `git status`. Paths are returned
 * from the repository's top: `prefix` is the runner's folder there (`git rev-parse --show-prefix`).
 */
export function rewrittenUnder(git: GitRunner, pathspec: string, prefix: string): string[] | undefined {
    const staged = git(["ls-files", "-s", "-z", "--", pathspec]);
    const deleted = git(["ls-files", "--deleted", "-z", "--", pathspec]);
    if (staged === undefined || deleted === undefined) return undefined;
    const gone = new Set(deleted.split("\0").filter(Boolean));
    const files = staged
        .split("\0")
        .filter(Boolean)
        .map((entry) => {
            const [meta, file] = entry.split("\t");
            const [mode, blob] = meta.split(" ");
            return { mode, blob, file };
        })
        .filter((f) => (f.mode === "100644" || f.mode === "100755") && !gone.has(f.file));
    if (files.length === 0) return [];
    // One run for the whole folder, the paths on standard input.
    const hashed = git(["hash-object", "--no-filters", "--stdin-paths"], `${files.map((f) => f.file).join("\n")}\n`);
    if (hashed === undefined) return undefined;
    const hashes = hashed.split("\n");
    return files.filter((f, i) => hashes[i] !== f.blob).map((f) => `${prefix}${f.file}`);
}
