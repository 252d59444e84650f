/**
 * Git access: one runner per clone (git's own CLI, never a shell), and the reads the driver makes
 * of it: refs, commits, and where a folder lies in the repository.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export type GitRunner = (args: string[]) => string | undefined;

/** Runs git in `cwd`; undefined when git fails or is missing. */
export function gitIn(cwd: string): GitRunner {
    return (args) => {
        try {
            return execFileSync("git", args, {
                cwd,
                encoding: "utf8",
                stdio: ["ignore", "pipe", "ignore"],
                maxBuffer: 256 * 1024 * 1024,
            }).trimEnd(); // porcelain lines may start with a space
        } catch {
            return undefined;
        }
    };
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
    if (top === undefined) return undefined;
    const inRepo = path.relative(fs.realpathSync(top), fs.realpathSync(distribution));
    if (inRepo.startsWith("..") || path.isAbsolute(inRepo)) return undefined;
    return path.relative(fs.realpathSync(projectDir), fs.realpathSync(distribution)) || ".";
}
