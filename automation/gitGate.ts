/**
 * The git promotion gate that `deploy` applies to a stack with promotedFrom: every commit being
 * deployed that touches the distribution must exist on the upstream branch, and a folder must be
 * committed. It never reports "passed" for what it did not check: a clone that cannot tell is
 * "unverified" (refused under enforce).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { StackConfig } from "../lib/config/types";
import { ATTINI_OUTPUT_DIR } from "./artifact";
import { object } from "./gateMode";
import { type Commit, exists, freshnessWarnings, type GitRunner, remoteRef } from "./git";

export interface GateFinding {
    commit: Commit;
    paths: string[];
}

/**
 * The shallow clone's boundary commits (their parents were not fetched) among the commits the
 * gate compares, `upstreamRef...HEAD`: any of them means the history needed is not in the clone.
 * An empty list for a full clone; undefined for a shallow clone whose boundary cannot be read.
 */
export function shallowBoundary(git: GitRunner, upstreamRef: string): string[] | undefined {
    const isShallow = git(["rev-parse", "--is-shallow-repository"]);
    if (isShallow === "false") return [];
    if (isShallow !== "true") return undefined; // git could not say: not known to be complete
    // Absolute: `--git-path` alone is relative to the current folder, which may be below the top.
    const file = git(["rev-parse", "--path-format=absolute", "--git-path", "shallow"]);
    let shallow: Set<string>;
    try {
        shallow = new Set(
            fs
                .readFileSync(file ?? "", "utf8")
                .split("\n")
                .filter(Boolean),
        );
    } catch {
        return undefined;
    }
    const compared = git(["rev-list", `${upstreamRef}...HEAD`]);
    if (compared === undefined) return [...shallow];
    return compared.split("\n").filter((sha) => shallow.has(sha));
}

/**
 * The promotion gate: commits in HEAD whose change does not exist on the upstream branch (neither
 * the commit nor an equal cherry-pick), restricted to `pathspec` (the distribution) when given,
 * each with the paths it touches there. At most two git runs, however many commits there are: a
 * count of HEAD's side, and when it has any, one `git log` pass: every
 * commit that touches the path (--full-history, so no side branch is simplified away), root
 * commits with all their files, equal changes (patch ids, over the path) left out. Undefined when
 * git could not answer. Assumes the history is complete (see shallowBoundary).
 */
export function unpromoted(git: GitRunner, upstreamRef: string, pathspec?: string): GateFinding[] | undefined {
    // Nothing on HEAD's side (the usual case: upstream ahead, or equal) needs no diff at all; the
    // pass below would also diff every upstream commit for its patch id.
    const ahead = git(["rev-list", "--count", `${upstreamRef}..HEAD`]);
    if (ahead === undefined) return undefined;
    if (ahead === "0") return [];
    const out = git([
        "log",
        "--no-merges",
        "--full-history",
        "--root",
        "--cherry-pick",
        "--right-only",
        "--format=%x00%H%x09%ct%x09%s",
        "--name-only",
        `${upstreamRef}...HEAD`,
        ...(pathspec ? ["--", pathspec] : []),
    ]);
    if (out === undefined) return undefined;
    return out
        .split("\0")
        .filter(Boolean)
        .map((chunk) => {
            const [header, ...files] = chunk.split("\n");
            const [sha, time, ...subject] = header.split("\t");
            return { commit: { sha, time: Number(time), subject: subject.join("\t") }, paths: files.filter(Boolean) };
        })
        .filter((f) => f.paths.length > 0);
}

/**
 * Content under a folder distribution that no commit vouches for: untracked, ignored, modified or
 * staged files (`git status` lines), leaving out attini's own output folder (attini_dist/).
 */
export function uncommittedUnder(git: GitRunner, pathspec: string): string[] | undefined {
    const out = git(["status", "--porcelain=v1", "--untracked-files=all", "--ignored=matching", "--", pathspec]);
    if (out === undefined) return undefined;
    // `XY path`, the path relative to the repository root; an ignored folder is one `!! folder/` line.
    const attiniOutput = path.posix.normalize(
        `${git(["rev-parse", "--show-prefix"]) ?? ""}${pathspec}/${ATTINI_OUTPUT_DIR}/`,
    );
    return out.split("\n").filter((line) => line !== "" && !line.slice(3).startsWith(attiniOutput));
}

export interface GateOptions {
    git: GitRunner;
    remote: string;
    stack: StackConfig;
    upstream: StackConfig;
    /**
     * What is deployed: a folder (its path relative to the project, or undefined when it lies
     * outside the repository), or a .zip, which git does not vouch for (its bytes are pinned by
     * --expect-sha256; the gate vouches for the commit it was built from).
     */
    distribution: { kind: "folder"; pathspec?: string } | { kind: "zip" };
    skip: boolean;
    log: (line: string) => void;
}

export type GateResult = "passed" | "warned" | "unverified" | "skipped" | "off";

export interface GateReport {
    /**
     * passed: every deployed commit went through upstream, and the content is committed;
     * warned: under warn, the gate found what enforce would refuse; unverified: under warn, the
     * gate could not check (no history, no upstream branch, ...). `enforce` throws instead.
     */
    result: GateResult;
    /** What the gate vouches for, when it ran. */
    scope?: string;
    findings: GateFinding[];
    /** Files under a folder distribution that no commit vouches for. */
    uncommitted: string[];
    /** Why the gate could not check, when it could not. */
    unverified?: string;
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
            `${o.remote}/${upstream.branch} (the ${upstream.stack} branch) is not in this clone, so what went through ${upstream.stack} is unknown. Fetch it: git fetch ${o.remote} ${upstream.branch} (with full history, e.g. fetch-depth: 0).`,
        );
    }
    const boundary = shallowBoundary(o.git, ref);
    if (boundary === undefined || boundary.length > 0) {
        const where =
            boundary === undefined
                ? "at commits it could not read"
                : `at ${boundary.map((s) => s.slice(0, 10)).join(", ")}`;
        return cannotCheck(
            `this clone is shallow and its history stops (${where}) before the commits being deployed meet ${o.remote}/${upstream.branch}, so which of them went through ${upstream.stack} is unknown. ` +
                `Fetch full history: fetch-depth: 0 (GitHub Actions checkout), GIT_DEPTH: 0 (GitLab), or git fetch --unshallow.`,
        );
    }
    if (o.distribution.kind === "folder" && o.distribution.pathspec === undefined) {
        return cannotCheck(
            `the distribution folder lies outside this git repository, so no commit vouches for its content. Deploy a folder of the repository, or a .zip built from it.`,
        );
    }
    for (const w of freshnessWarnings(o.git, [ref], Math.floor(Date.now() / 1000))) o.log(`promotion gate: ${w}`);
    const head = o.git(["rev-parse", "HEAD"]);
    if (head === undefined) return cannotCheck("git could not read HEAD, so what is deployed is unknown.");
    const pathspec = o.distribution.kind === "folder" ? o.distribution.pathspec : undefined;
    report.scope =
        o.distribution.kind === "folder"
            ? `the committed content of ${pathspec} at ${head.slice(0, 10)}`
            : `commit ${head.slice(0, 10)}, which the .zip is taken to be built from (its bytes are pinned only by --expect-sha256)`;
    const findings = unpromoted(o.git, ref, pathspec);
    if (findings === undefined)
        return cannotCheck(
            `git log failed for ${ref}...HEAD, so which commits went through ${upstream.stack} is unknown.`,
        );
    report.findings = findings;
    if (pathspec !== undefined) {
        const uncommitted = uncommittedUnder(o.git, pathspec);
        if (uncommitted === undefined)
            return cannotCheck(`git status failed for ${pathspec}, so whether its content is committed is unknown.`);
        report.uncommitted = uncommitted;
    }
    const problems: string[] = [];
    if (report.findings.length > 0) {
        const paths = [...new Set(report.findings.flatMap((f) => f.paths))].sort();
        const list = report.findings.map((f) => `    ${f.commit.sha.slice(0, 10)} ${f.commit.subject}`).join("\n");
        problems.push(
            `${report.findings.length} commit(s) about to be deployed to ${stack.stack} never went through ${upstream.stack} (${o.remote}/${upstream.branch}):\n${list}\n  paths: ${paths.join(", ")}\n` +
                `  Promote them through ${upstream.branch} first (merge or cherry-pick there), or pass --skip-promotion-check for an emergency.`,
        );
    }
    if (report.uncommitted.length > 0) {
        const shown = report.uncommitted.slice(0, 20).map((l) => `    ${l}`);
        if (report.uncommitted.length > 20) shown.push(`    ... and ${report.uncommitted.length - 20} more`);
        problems.push(
            `${report.uncommitted.length} file(s) under ${pathspec} are not committed (untracked ??, ignored !!, modified or staged), so no commit that went through ${upstream.stack} vouches for them:\n${shown.join("\n")}\n` +
                `  Deploy from a clean checkout (git clean -fdx, git checkout -- ${pathspec}), or package a .zip in CI and deploy that.`,
        );
    }
    if (problems.length === 0) return { ...report, result: "passed" };
    fail(problems.join("\n"));
    return { ...report, result: "warned" };
}
