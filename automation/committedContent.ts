/**
 * Whether a folder distribution is what was committed, as git sees it and beyond: untracked,
 * ignored, modified or staged files, files git is told not to look at (skip-worktree,
 * assume-unchanged), files a .gitattributes filter or conversion rewrote on checkout, symbolic
 * links checked out as files, and submodules, whose folders this does not look into. The git gate
 * (gitGate.ts) refuses a folder with any of them; the ledger records a folder by its committed
 * tree only when it has none (committedTree).
 *
 * Three git runs, whatever the folder's size: one `git rev-parse` (where the folder lies and its
 * tree; the ledger's read of HEAD's commit too), `git status`, and `git ls-files` (the index's
 * blobs and flags). The checked-out bytes are hashed here as git hashes a blob, rather than by one
 * more git run: each git process is CPU that a deploy's Pulumi CLIs wait for
 * (docs/performance.md).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ATTINI_OUTPUT_DIR } from "./artifact";
import { folderAt, type GitRunner, insideRepository, projectPathspec } from "./git";

/** Where the runner's folder lies in its repository. */
interface Whereabouts {
    /** HEAD's commit, when it was asked for. */
    commit?: string;
    /** The repository's top, as a path (git's: symbolic links resolved). */
    top: string;
    /** The runner's folder from the top (`git rev-parse --show-prefix`): "" or ending in "/". */
    prefix: string;
    /** The tree at HEAD of the folder asked for, when it was asked for and is committed. */
    tree?: string;
}

const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * One `git rev-parse`: HEAD's commit when `commit`, the runner's folder from the top
 * (`--show-prefix`), HEAD's tree at `treeOf` when given (named as folderAt names it), the top
 * (`--show-toplevel`), and `--is-inside-work-tree`, in that order. The last line is "true" so that the runner's trimming of trailing white space
 * reaches neither the top (a path may end in a space) nor an empty prefix. A folder named with a
 * newline adds a line: then nothing is trusted (undefined), as when HEAD has no commit or no such
 * tree.
 */
function whereabouts(git: GitRunner, ask: { commit?: boolean; treeOf?: string } = {}): Whereabouts | undefined {
    const commit = ask.commit ? ["HEAD^{commit}"] : [];
    const tree = ask.treeOf === undefined ? [] : [folderAt("HEAD", ask.treeOf)];
    const args = ["rev-parse", ...commit, "--show-prefix", ...tree, "--show-toplevel", "--is-inside-work-tree"];
    const lines = git(args)?.split("\n");
    if (lines === undefined || lines.length !== 3 + commit.length + tree.length || lines.at(-1) !== "true")
        return undefined;
    const found = {
        commit: commit.length ? lines[0] : undefined,
        tree: tree.length ? lines[lines.length - 3] : undefined,
    };
    if (Object.values(found).some((id) => id !== undefined && !OBJECT_ID.test(id))) return undefined;
    const top = lines[lines.length - 2];
    if (!path.isAbsolute(top)) return undefined;
    return {
        top,
        prefix: lines[commit.length],
        ...(found.commit ? { commit: found.commit } : {}),
        ...(found.tree ? { tree: found.tree } : {}),
    };
}

/** One index entry of `git ls-files -s -v -z --full-name`: `TAG MODE BLOB STAGE<TAB>PATH`. */
interface IndexEntry {
    tag: string;
    mode: string;
    blob: string;
    stage: string;
    /** From the repository's top. */
    file: string;
}

function indexEntries(out: string): IndexEntry[] {
    return out
        .split("\0")
        .filter(Boolean)
        .map((entry) => {
            const tab = entry.indexOf("\t");
            const [mode, blob, stage] = entry.slice(2, tab).split(" ");
            return { tag: entry[0], mode, blob, stage, file: entry.slice(tab + 1) };
        });
}

/**
 * A file's blob id as git computes it for `git hash-object --no-filters` (the bytes as they are),
 * in the hash of the id it is compared with: sha256 for a 64-digit id, else sha1.
 */
function blobId(like: string, bytes: Buffer): string {
    return createHash(like.length === 64 ? "sha256" : "sha1")
        .update(`blob ${bytes.length}\0`)
        .update(bytes)
        .digest("hex");
}

/**
 * Files whose checked-out bytes are not the committed blob although git calls them unmodified: a
 * .gitattributes filter, working-tree-encoding or eol conversion (from any folder above, or from
 * .git/info/attributes) rewrote them on checkout, and attini packages the rewritten bytes; and
 * symbolic links checked out as files (core.symlinks=false), which attini packages where it leaves
 * a link out. Submodules are listed by the caller. A file that is not there under its name is
 * listed too: deleted (git status says so as well, and it is listed once), or named in bytes that
 * are not UTF-8, which the runner's text cannot name, so its bytes go unchecked. Undefined when a
 * file cannot be read for another reason.
 */
function rewrittenFiles(entries: IndexEntry[], top: string): string[] | undefined {
    const rewritten: string[] = [];
    const gone = (err: unknown) => ["ENOENT", "ENOTDIR", "EISDIR"].includes((err as NodeJS.ErrnoException).code ?? "");
    for (const e of entries) {
        if (e.stage !== "0") continue;
        const file = path.join(top, e.file);
        try {
            if (e.mode === "120000") {
                if (!fs.lstatSync(file).isSymbolicLink()) rewritten.push(e.file);
            } else if (e.mode === "100644" || e.mode === "100755") {
                if (blobId(e.blob, fs.readFileSync(file)) !== e.blob) rewritten.push(e.file);
            }
        } catch (err) {
            if (!gone(err)) return undefined;
            rewritten.push(e.file);
        }
    }
    return rewritten;
}

/** The list uncommittedUnder returns, for a runner whose whereabouts are known. */
function examine(git: GitRunner, pathspec: string, w: Whereabouts): string[] | undefined {
    // --no-renames: a rename is its two sides, so a file renamed out of attini_dist/ is not hidden.
    // core.ignoreCase off: a file whose name differs from a committed one's only in case is untracked
    // (attini packages both); core.quotePath off: paths are written as they are named (but for
    // control characters), so that attini_dist/ and the files listed twice are recognised.
    const status = git([
        "-c",
        "core.ignoreCase=false",
        "-c",
        "core.quotePath=false",
        "status",
        "--porcelain=v1",
        "--no-renames",
        "--untracked-files=all",
        "--ignored=matching",
        "--",
        pathspec,
    ]);
    const index = git(["ls-files", "-s", "-v", "-z", "--full-name", "--", pathspec]);
    if (status === undefined || index === undefined) return undefined;
    const entries = indexEntries(index);
    const rewritten = rewrittenFiles(entries, w.top);
    if (rewritten === undefined) return undefined;
    // `XY path`, the path relative to the repository root; an ignored folder is one `!! folder/` line.
    const attiniOutput = path.posix.normalize(`${w.prefix}${pathspec}/${ATTINI_OUTPUT_DIR}/`);
    const hidden = entries
        .filter((e) => e.tag === "S" || (e.tag >= "a" && e.tag <= "z"))
        .map((e) => `${e.tag === "S" ? "skip-worktree" : "assume-unchanged"} ${e.file}`);
    // A submodule's tree names its commit, but not the files in its folder that git status does not
    // look at there (ignored ones) nor bytes a filter rewrote there: what attini packages of it is unchecked.
    const submodules = entries.filter((e) => e.mode === "160000").map((e) => `submodule ${e.file}`);
    const listed = [
        ...status.split("\n").filter((line) => line !== "" && !line.slice(3).startsWith(attiniOutput)),
        ...hidden,
        ...submodules,
    ];
    // A modified or hidden file's bytes differ too: it is listed once, for what git says of it.
    const named = new Set(listed.map((line) => line.slice(line.indexOf(" ", 2) + 1)));
    return [...listed, ...rewritten.filter((f) => !named.has(f)).map((f) => `checked out other than committed: ${f}`)];
}

/**
 * Content under a folder distribution that no commit vouches for: untracked, ignored, modified or
 * staged files (`git status` lines), files git is told not to look at (skip-worktree `S`,
 * assume-unchanged: a lowercase tag in `git ls-files -v`), whose edits `git status` hides,
 * submodules (their folders' ignored and rewritten files go unchecked), and files checked out
 * other than committed. Leaves out attini's own output folder (attini_dist/).
 * Paths are from the repository's top. Undefined when git cannot tell.
 */
export function uncommittedUnder(git: GitRunner, pathspec: string): string[] | undefined {
    const w = whereabouts(git);
    return w && examine(git, pathspec, w);
}

/** A folder distribution as git places it: its pathspec from the runner's folder, and its tree at HEAD. */
export interface PlacedFolder {
    pathspec: string;
    at: Whereabouts & { tree: string };
}

/**
 * HEAD's commit (undefined when HEAD has none) and, for a folder `distribution`, where git places
 * it (undefined when the folder is not in HEAD's tree or not in the runner's repository): one
 * `git rev-parse` when the folder is committed, two when it is not.
 */
export function headAndFolder(git: GitRunner, distribution?: string): { commit?: string; folder?: PlacedFolder } {
    if (distribution !== undefined && git.dir !== undefined) {
        const pathspec = projectPathspec(git.dir, distribution);
        const at = whereabouts(git, { commit: true, treeOf: pathspec });
        if (at?.tree !== undefined && insideRepository(at.top, distribution))
            return { commit: at.commit, folder: { pathspec, at: { ...at, tree: at.tree } } };
    }
    return { commit: git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]) };
}

/**
 * The tree at HEAD of a folder distribution git places (headAndFolder), when its checked-out
 * content is exactly that tree (uncommittedUnder finds nothing); else undefined. The tree is the
 * same on every branch for the same content.
 */
export function committedTree(git: GitRunner, folder: PlacedFolder | undefined): string | undefined {
    if (folder === undefined) return undefined;
    return examine(git, folder.pathspec, folder.at)?.length === 0 ? folder.at.tree : undefined;
}
