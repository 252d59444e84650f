/**
 * Git access: one runner per clone (git's own CLI, never a shell), and the reads the driver makes
 * of it: refs, commits, where a folder lies in the repository, and whether remote-tracking
 * branches look stale.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** A commit or tree id as the driver shows it: its first ten characters. */
export const short = (sha: string) => sha.slice(0, 10);

/** Runs git with `args` (and `input` on its standard input); its output, or undefined when git fails. */
export interface GitRunner {
    (args: string[], input?: string): string | undefined;
    /** The folder git runs in (gitIn's), which relative paths in its arguments and output start from. */
    readonly dir?: string;
}

/** Runs git in `cwd`; undefined when git fails or is missing. */
export function gitIn(cwd: string): GitRunner {
    const run = (args: string[], input?: string) => {
        try {
            return execFileSync("git", args, {
                cwd,
                input,
                // A path is a path: `:(glob)x` or `*` in a folder name is no pathspec magic.
                env: { ...process.env, GIT_LITERAL_PATHSPECS: "1" },
                encoding: "utf8",
                stdio: [input === undefined ? "ignore" : "pipe", "pipe", "ignore"],
                maxBuffer: 256 * 1024 * 1024,
            }).trimEnd(); // porcelain lines may start with a space
        } catch {
            return undefined;
        }
    };
    return Object.assign(run, { dir: cwd });
}

export interface Commit {
    sha: string;
    /** Committer time, seconds since the epoch. */
    time: number;
    subject: string;
}

/** One `git log` pass: commits with their `%m` mark (with --cherry-mark, `=` for an equal change on the other side). */
export function logWithMarks(git: GitRunner, args: string[]): (Commit & { mark: string })[] | undefined {
    const out = git(["log", "--format=%m%x09%H%x09%ct%x09%s", ...args]);
    if (out === undefined) return undefined;
    return out
        .split("\n")
        .filter(Boolean)
        .map((line) => {
            const [mark, sha, time, ...subject] = line.split("\t");
            return { mark, sha, time: Number(time), subject: subject.join("\t") };
        });
}

/** The commits a `git log` with `args` lists. */
export function commits(git: GitRunner, args: string[]): Commit[] {
    return (logWithMarks(git, args) ?? []).map(({ sha, time, subject }) => ({ sha, time, subject }));
}

/** The newest commit of a ref, or undefined when the ref does not exist here. */
export function tipOf(git: GitRunner, ref: string): Commit | undefined {
    return exists(git, ref) ? commits(git, ["-1", ref])[0] : undefined;
}

export function remoteRef(remote: string, branch: string): string {
    return `refs/remotes/${remote}/${branch}`;
}

/** Whether `ref` names a commit in this clone. */
export function exists(git: GitRunner, ref: string): boolean {
    return git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]) !== undefined;
}

/** The distribution folder as a git pathspec (relative to the project), when it lies inside the repository. */
export function repositoryPathspec(git: GitRunner, projectDir: string, distribution: string): string | undefined {
    const top = git(["rev-parse", "--show-toplevel"]);
    return top === undefined ? undefined : pathspecIn(top, projectDir, distribution);
}

/** The distribution folder as a pathspec relative to the project, when it lies inside the repository whose top is `top`. */
function pathspecIn(top: string, projectDir: string, distribution: string): string | undefined {
    return insideRepository(top, distribution) ? projectPathspec(projectDir, distribution) : undefined;
}

/** Whether `distribution` lies inside the repository whose top is `top` (symbolic links resolved). */
export function insideRepository(top: string, distribution: string): boolean {
    const inRepo = path.relative(fs.realpathSync(top), fs.realpathSync(distribution));
    return !inRepo.startsWith("..") && !path.isAbsolute(inRepo);
}

/**
 * `rev`'s object at the folder `pathspec` (from the runner's folder; "." for that folder itself),
 * named with a trailing slash: `HEAD:./..` would be read as a range, `HEAD:./../` is a path.
 */
export function folderAt(rev: string, pathspec: string): string {
    return `${rev}:./${pathspec === "." ? "" : `${pathspec}/`}`;
}

/** The distribution folder as a pathspec relative to the project ("." for the project itself). */
export function projectPathspec(projectDir: string, distribution: string): string {
    return path.relative(fs.realpathSync(projectDir), fs.realpathSync(distribution)) || ".";
}

const STALE_AFTER_HOURS = 24;

/** Hints that remote-tracking branches may be out of date. */
export function freshnessWarnings(git: GitRunner, refs: string[], now: number): string[] {
    const warnings: string[] = [];
    if (git(["rev-parse", "--is-shallow-repository"]) === "true") {
        warnings.push(
            "this clone is shallow, so history may be cut off; fetch full history (e.g. fetch-depth: 0, GIT_DEPTH: 0, or git fetch --unshallow)",
        );
    }
    // When the remote-tracking branches were last brought up to date: the last fetch (FETCH_HEAD)
    // or the ref's own reflog. A fresh clone has neither, and is fresh.
    const gitDir = git(["rev-parse", "--absolute-git-dir"]);
    let fetchedAt: number | undefined;
    try {
        if (gitDir) fetchedAt = fs.statSync(path.join(gitDir, "FETCH_HEAD")).mtimeMs / 1000;
    } catch {
        /* never fetched since the clone */
    }
    for (const ref of refs) {
        const logged = /@\{(\d+)\}/.exec(git(["reflog", "show", "--date=unix", "--format=%gd", "-n", "1", ref]) ?? "");
        const times = [fetchedAt, logged ? Number(logged[1]) : undefined].filter((x): x is number => x !== undefined);
        if (times.length === 0) continue;
        const updated = Math.max(...times);
        if (now - updated > STALE_AFTER_HOURS * 3600) {
            warnings.push(
                `${ref.replace("refs/remotes/", "")} was last updated ${Math.floor((now - updated) / 3600)} h ago and may be stale; run git fetch`,
            );
        }
    }
    return warnings;
}
