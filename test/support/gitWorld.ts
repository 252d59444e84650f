/**
 * Real git repositories for the promotion tests: a bare origin whose main, stage and dev start from
 * a scratch project, a developer clone that commits, merges, cherry-picks and pushes, CI clones that
 * fetch, and a git that counts its own runs. Git only: no Pulumi CLI, emulator or attini.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ExecutionContext } from "ava";
import { appendCommits, git, scratchProject } from "./project";

/** origin (bare), a developer clone that pushes, and CI clones that fetch. */
export class GitWorld {
    readonly root = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-git-"));
    readonly origin = path.join(this.root, "origin.git");
    readonly dev = path.join(this.root, "developer");

    constructor(t: ExecutionContext, edit: Parameters<typeof scratchProject>[0] = {}) {
        t.teardown(() => fs.rmSync(this.root, { recursive: true, force: true }));
        const seed = scratchProject(edit);
        t.teardown(seed.dispose);
        git(this.root, "init", "-q", "--bare", this.origin);
        git(seed.dir, "remote", "add", "origin", this.origin);
        for (const b of ["main", "stage", "dev"]) git(seed.dir, "push", "-q", "origin", `HEAD:refs/heads/${b}`);
        git(this.root, "clone", "-q", this.origin, this.dev);
        for (const b of ["stage", "dev"]) git(this.dev, "branch", "-q", b, `origin/${b}`);
    }

    /** Commits a change to `file` on `branch` (optionally dated `daysAgo`) and pushes; returns the sha. */
    commit(branch: string, file: string, msg: string, daysAgo = 0): string {
        git(this.dev, "checkout", "-q", branch);
        fs.mkdirSync(path.dirname(path.join(this.dev, file)), { recursive: true });
        fs.appendFileSync(path.join(this.dev, file), `${msg}\n`);
        git(this.dev, "add", file);
        const date = new Date(Date.now() - daysAgo * 86_400_000).toISOString();
        process.env.GIT_COMMITTER_DATE = date;
        try {
            git(this.dev, "commit", "-q", "--date", date, "-m", msg);
        } finally {
            delete process.env.GIT_COMMITTER_DATE;
        }
        git(this.dev, "push", "-q", "origin", branch);
        return git(this.dev, "rev-parse", "HEAD");
    }

    cherryPick(sha: string, onto: string): void {
        git(this.dev, "checkout", "-q", onto);
        git(this.dev, "cherry-pick", "-x", sha);
        git(this.dev, "push", "-q", "origin", onto);
    }

    /** Promotes `from` into `into` with a merge commit. */
    merge(from: string, into: string): void {
        git(this.dev, "checkout", "-q", into);
        git(this.dev, "merge", "-q", "--no-ff", "--no-edit", from);
        git(this.dev, "push", "-q", "origin", into);
    }

    /** A CI checkout of `branch` with every remote-tracking branch fetched. */
    ci(branch: string): string {
        const dir = fs.mkdtempSync(path.join(this.root, "ci-"));
        git(this.root, "clone", "-q", "--branch", branch, this.origin, dir);
        return dir;
    }
}

/** Appends `n` commits to `branch` of the developer clone (one fast-import), then pushes. */
export function bulkCommits(
    w: GitWorld,
    branch: string,
    n: number,
    file: (i: number) => string,
    subject: (i: number) => string,
): void {
    git(w.dev, "checkout", "-q", branch);
    appendCommits(w.dev, branch, n, file, subject);
    git(w.dev, "reset", "-q", "--hard", branch);
    git(w.dev, "push", "-q", "origin", branch);
}

/** A git that counts its own runs: a shim first on PATH. */
export function countingGit(t: ExecutionContext): { path: string; count: () => number; reset: () => void } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-git-shim-"));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const log = path.join(dir, "runs");
    const real = execFileSync("bash", ["-c", "command -v git"], { encoding: "utf8" }).trim();
    fs.writeFileSync(path.join(dir, "git"), `#!/bin/sh\necho x >> "${log}"\nexec "${real}" "$@"\n`, { mode: 0o755 });
    return {
        path: `${dir}:${process.env.PATH}`,
        count: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").length - 1 : 0),
        reset: () => fs.rmSync(log, { force: true }),
    };
}
