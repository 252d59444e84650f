/**
 * Whether a folder distribution is what was committed, as git sees it and beyond: untracked,
 * ignored, modified or staged files, files git is told not to look at (skip-worktree,
 * assume-unchanged), and files a .gitattributes filter or conversion rewrote on checkout. The git
 * gate (gitGate.ts) refuses a folder with any of them; the ledger records a folder by its
 * committed tree only when it has none (committedTree).
 *
 * Three git runs, whatever the folder's size: one `git rev-parse` (where the folder lies, the hash
 * git names objects with, and the tree; the ledger's read of HEAD's commit too), `git status`, and
 * `git ls-files` (the index's blobs and flags). The checked-out bytes are hashed here as git hashes a blob, rather than by one more git
 * run: each git process is CPU that a deploy's Pulumi CLIs wait for (docs/performance.md).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ATTINI_OUTPUT_DIR } from "./artifact";
import { type GitRunner, pathspecIn } from "./git";

/** Where the runner's folder lies in its repository, and how git names objects there. */
interface Whereabouts {
    /** HEAD's commit, when it was asked for. */
    commit?: string;
    /** The repository's top, as a path. */
    top: string;
    /** The runner's folder from the top (`git rev-parse --show-prefix`): "" or ending in "/". */
    prefix: string;
    format: "sha1" | "sha256";
    /** The tree at HEAD of the folder asked for, when it was asked for and is committed. */
    tree?: string;
}

const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * One `git rev-parse`: HEAD's commit when `commit`, the way up to the top (`--show-cdup`: only
 * "../" steps), the way down (`--show-prefix`), HEAD's tree at `treeOf` when given, and the object
 * format, in that order. The format is last because the runner trims trailing empty lines, never
 * leading ones. A folder named with a newline adds a line: then nothing is trusted (undefined), as
 * when HEAD has no commit or no such tree.
 */
function whereabouts(git: GitRunner, ask: { commit?: boolean; treeOf?: string } = {}): Whereabouts | undefined {
    if (git.dir === undefined) return undefined; // a runner that does not say where it runs
    const commit = ask.commit ? ["HEAD^{commit}"] : [];
    const tree = ask.treeOf === undefined ? [] : [`HEAD:./${ask.treeOf === "." ? "" : ask.treeOf}`];
    const out = git(["rev-parse", ...commit, "--show-cdup", "--show-prefix", ...tree, "--show-object-format"]);
    const lines = out?.split("\n");
    if (lines === undefined || lines.length !== 3 + commit.length + tree.length) return undefined;
    const [cdup, prefix] = lines.slice(commit.length);
    const format = lines[lines.length - 1];
    if (format !== "sha1" && format !== "sha256") return undefined; // a git too old to say: unknown
    const found = {
        commit: commit.length ? lines[0] : undefined,
        tree: tree.length ? lines[lines.length - 2] : undefined,
    };
    if (Object.values(found).some((id) => id !== undefined && !OBJECT_ID.test(id))) return undefined;
    return {
        top: path.resolve(fs.realpathSync(git.dir), cdup), // git runs in the real folder: "../" is from there
        prefix,
        format,
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

/** A file's blob id as git computes it for `git hash-object --no-filters`: the bytes as they are. */
function blobId(format: Whereabouts["format"], bytes: Buffer): string {
    return createHash(format).update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

/**
 * Files whose checked-out bytes are not the committed blob although git calls them unmodified: a
 * .gitattributes filter, working-tree-encoding or eol conversion (from any folder above, or from
 * .git/info/attributes) rewrote them on checkout, and attini packages the rewritten bytes. Links
 * and submodules are left to the tree comparison, and deleted files to `git status`. Undefined when
 * a file cannot be read for another reason than being gone.
 */
function rewrittenFiles(entries: IndexEntry[], w: Whereabouts): string[] | undefined {
    const rewritten: string[] = [];
    for (const e of entries) {
        if (e.stage !== "0" || (e.mode !== "100644" && e.mode !== "100755")) continue;
        let bytes: Buffer;
        try {
            bytes = fs.readFileSync(path.join(w.top, e.file));
        } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") continue; // git status lists it
            return undefined;
        }
        if (blobId(w.format, bytes) !== e.blob) rewritten.push(e.file);
    }
    return rewritten;
}

/** The list uncommittedUnder returns, for a runner whose whereabouts are known. */
function examine(git: GitRunner, pathspec: string, w: Whereabouts): string[] | undefined {
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
    const index = git(["ls-files", "-s", "-v", "-z", "--full-name", "--", pathspec]);
    if (status === undefined || index === undefined) return undefined;
    const entries = indexEntries(index);
    const rewritten = rewrittenFiles(entries, w);
    if (rewritten === undefined) return undefined;
    // `XY path`, the path relative to the repository root; an ignored folder is one `!! folder/` line.
    const attiniOutput = path.posix.normalize(`${w.prefix}${pathspec}/${ATTINI_OUTPUT_DIR}/`);
    const hidden = entries
        .filter((e) => e.tag === "S" || (e.tag >= "a" && e.tag <= "z"))
        .map((e) => `${e.tag === "S" ? "skip-worktree" : "assume-unchanged"} ${e.file}`);
    const listed = [
        ...status.split("\n").filter((line) => line !== "" && !line.slice(3).startsWith(attiniOutput)),
        ...hidden,
    ];
    // A modified or hidden file's bytes differ too: it is listed once, for what git says of it.
    const named = new Set(listed.map((line) => line.slice(line.indexOf(" ", 2) + 1)));
    return [...listed, ...rewritten.filter((f) => !named.has(f)).map((f) => `checked out other than committed: ${f}`)];
}

/**
 * Content under a folder distribution that no commit vouches for: untracked, ignored, modified or
 * staged files (`git status` lines), files git is told not to look at (skip-worktree `S`,
 * assume-unchanged: a lowercase tag in `git ls-files -v`), whose edits `git status` hides, and
 * files checked out other than committed. Leaves out attini's own output folder (attini_dist/).
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
        const pathspec = path.relative(fs.realpathSync(git.dir), fs.realpathSync(distribution)) || ".";
        const at = whereabouts(git, { commit: true, treeOf: pathspec });
        if (at?.tree !== undefined && pathspecIn(at.top, git.dir, distribution) !== undefined)
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
