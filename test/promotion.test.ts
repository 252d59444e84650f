// Guardrails for branch-per-environment on real git repositories: a bare origin, a developer's
// clone that pushes, and a CI clone that fetches and runs `status` and `deploy`. The stand-in
// attini reports whether attini was reached; the real attini is in test/attini-real.test.ts.

import * as fs from "node:fs";
import * as path from "node:path";
import test, { type ExecutionContext } from "ava";
import { Exit } from "../automation/errors";
import { gitIn } from "../automation/git";
import { compareTrees } from "../automation/gitGate";
import { loadStacks } from "../lib/stackFiles";
import { type Backend, fileBackend } from "./support/backend";
import { jobEnv, runCli } from "./support/driver";
import { bulkCommits, countingGit, GitWorld } from "./support/gitWorld";
import { git, provision, scratchProject } from "./support/project";
import { treeDigestIfCommitted, vouch } from "./support/vouch";
import { backend, moto, reports, sts, useWorld } from "./support/world";
import { writeZip } from "./support/zip";

const WARN_PROD = {
    "Pulumi.prod.yaml": (s: string) =>
        s.replace("attini-gitops:promotionGate: enforce", "attini-gitops:promotionGate: warn"),
};

/**
 * The driver takes prod's gate from what was provisioned, so the warn cases run against a second
 * backend whose prod stack was provisioned with promotionGate: warn.
 */
let warnBackend: Backend;
useWorld(test, {
    ready: async () => {
        warnBackend = fileBackend();
        const warnProject = scratchProject(WARN_PROD);
        try {
            await provision(warnProject, warnBackend, undefined, {}, moto);
        } finally {
            warnProject.dispose();
        }
    },
});
test.after.always(() => warnBackend?.dispose());

/** The backend whose prod gate is the one the checkout's Pulumi.prod.yaml says. */
function backendFor(dir: string): Backend {
    const prod = fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8");
    return prod.includes("attini-gitops:promotionGate: warn") ? warnBackend : backend;
}

/**
 * Deploys the checkout's folder for `branch`. These tests are about the git gate: for prod, stage's
 * ledger and Attini's record first say that this content was deployed there (when it is committed),
 * so that the verified gate agrees and the git gate decides.
 */
async function deploy(t: ExecutionContext, dir: string, branch: string, args: string[] = []) {
    if (branch === "main") {
        const stage = loadStacks(dir).configs.find((c) => c.stack === "stage");
        const digest = treeDigestIfCommitted(dir);
        if (stage && digest) await vouch(moto, stage, digest);
    }
    const j = jobEnv({ moto, backend: backendFor(dir), reports, stsEndpoint: sts.endpoint, extra: { BRANCH: branch } });
    t.teardown(j.dispose);
    return runCli(["deploy", "distribution/platform", ...args], j.env, dir);
}

async function status(t: ExecutionContext, dir: string, json = false) {
    const j = jobEnv({ moto, backend });
    t.teardown(j.dispose);
    const r = await runCli(["status", ...(json ? ["--json"] : [])], j.env, dir);
    t.is(r.code, 0, r.stderr);
    return r.stdout;
}

/**
 * Under enforce: refused with exit 7 before any AWS call or attini. Under warn: deployed, with
 * `result` as the gate's verdict in the --json summary, which is returned.
 */
function refusedOrWarned(
    t: ExecutionContext,
    gate: "enforce" | "warn",
    r: { code: number | null; stdout: string; stderr: string },
    result: string,
) {
    if (gate === "enforce") {
        t.is(r.code, Exit.REFUSED, r.stderr);
        t.is(sts.calls.length, 0);
        t.is(reports.reports.length, 0);
        return undefined;
    }
    t.is(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    t.is(summary.promotionGate, result);
    return summary;
}

test.serial("a parked commit: status shows it waiting with its age; promoting it clears it", async (t) => {
    const w = new GitWorld(t);
    w.commit("dev", "distribution/platform/queue.yaml", "Add queue", 12);
    const out = await status(t, w.ci("dev"));
    t.regex(
        out,
        /^dev \(origin\/dev\) → stage \(origin\/stage\), promotion gate: warn\n  waiting for promotion: 1 commit, oldest 12 days old\n    [0-9a-f]{10} Add queue \(12 days\)/m,
    );
    t.regex(
        out,
        /stage \(origin\/stage\) → prod \(origin\/main\), promotion gate: enforce\n  waiting for promotion: none/,
    );
    const json = JSON.parse(await status(t, w.ci("dev"), true));
    t.is(json.links[0].waiting.length, 1);
    t.is(json.links[0].oldestWaitingDays, 12);
    t.false(json.links[0].treesEqual);

    // The gate compares content with the upstream branch's tip: stage lags behind dev's parked
    // commit, so stage's gate (warn) says so and deploys; prod equals stage and passes.
    const stage = await deploy(t, w.ci("stage"), "stage");
    t.is(stage.code, 0, stage.stderr);
    t.regex(
        stage.stderr,
        /promotion gate \(warn\): what is about to be deployed to stage is not content that dev has[\s\S]*1 commit\(s\) on origin\/dev are not here \(dev has moved on\)/,
    );
    t.deepEqual(reports.event("start")!.argv!.slice(3, 5), ["-e", "acc"]);
    reports.reset();
    const prod = await deploy(t, w.ci("main"), "main");
    t.is(prod.code, 0, prod.stderr);
    t.notRegex(prod.stderr, /promotion gate \((warn|enforce)\)/);
    t.deepEqual(reports.event("start")!.argv!.slice(3, 5), ["-e", "prod"]);

    w.merge("dev", "stage");
    const after = await status(t, w.ci("stage"));
    t.regex(
        after,
        /dev \(origin\/dev\) → stage[^\n]*\n  waiting for promotion: none\n  only in stage, never in dev: none\n  trees: equal/,
    );
    t.regex(after, /stage \(origin\/stage\) → prod[^\n]*\n  waiting for promotion: 1 commit, oldest 12 days old/);
});

for (const gate of ["enforce", "warn"] as const) {
    test.serial(
        `a hotfix straight on main: status names it; deploy to prod (${gate}) ${gate === "enforce" ? "refuses with exit 7 before any AWS call" : "warns and deploys"}`,
        async (t) => {
            const w = new GitWorld(t, gate === "warn" ? WARN_PROD : {});
            const sha = w.commit("main", "distribution/platform/fix.yaml", "Hotfix timeout");
            const ci = w.ci("main");
            t.regex(
                await status(t, ci),
                /only in main, never in stage: 1 commit \(1 hotfix, 0 cherry-picks\)\n    [0-9a-f]{10} Hotfix timeout \(hotfix\)\n  trees: differ/,
            );

            const r = await deploy(t, ci, "main");
            t.regex(
                r.stderr,
                new RegExp(
                    `promotion gate \\(${gate}\\): what is about to be deployed to prod is not content that stage has: distribution/platform at HEAD is tree [0-9a-f]{10}, on origin/stage it is tree [0-9a-f]{10}\\.\\n  1 file\\(s\\) differ from origin/stage \\(A: only here, D: only there, M: other content\\):\\n    A distribution/platform/fix.yaml\\n  1 commit\\(s\\) here are not on origin/stage, newest first:\\n\\s+${sha.slice(0, 10)} Hotfix timeout\\n`,
                ),
            );
            if (gate === "enforce") {
                t.is(r.code, Exit.REFUSED);
                t.is(sts.calls.length, 0);
                t.is(reports.reports.length, 0);
                const skipped = await deploy(t, ci, "main", ["--skip-promotion-check"]);
                t.is(skipped.code, 0, skipped.stderr);
                t.regex(
                    skipped.stderr,
                    /promotion check for stage → prod SKIPPED by --skip-promotion-check \(gate: enforce\)/,
                );
            } else {
                t.is(r.code, 0, r.stderr);
                t.deepEqual(reports.event("start")!.argv!.slice(3, 5), ["-e", "prod"]);
            }
        },
    );
}

test.serial("a change outside the distribution does not trip the gate", async (t) => {
    const w = new GitWorld(t);
    w.commit("main", "docs/runbook.md", "Update runbook");
    const r = await deploy(t, w.ci("main"), "main");
    t.is(r.code, 0, r.stderr);
});

for (const gate of ["enforce", "warn"] as const) {
    test.serial(
        `cherry-picks (${gate}): from stage onto main passes; from dev straight onto main ${gate === "enforce" ? "is refused" : "is warned about"}`,
        async (t) => {
            const w = new GitWorld(t, gate === "warn" ? WARN_PROD : {});
            const tested = w.commit("dev", "distribution/platform/a.yaml", "Feature A");
            w.merge("dev", "stage");
            w.cherryPick(tested, "main");
            let out = await status(t, w.ci("main"));
            t.regex(
                out,
                /only in main, never in stage: 1 commit \(0 hotfixes, 1 cherry-pick\)\n    [0-9a-f]{10} Feature A \(cherry-pick\)/,
            );
            const ok = await deploy(t, w.ci("main"), "main");
            t.is(ok.code, 0, ok.stderr);
            t.notRegex(ok.stderr, /promotion gate \((warn|enforce)\)/);

            const untested = w.commit("dev", "distribution/platform/b.yaml", "Feature B");
            w.cherryPick(untested, "main");
            out = await status(t, w.ci("main"));
            t.regex(out, /only in main, never in stage: 2 commits \(1 hotfix, 1 cherry-pick\)/);
            const r = await deploy(t, w.ci("main"), "main");
            t.regex(
                r.stderr,
                /not content that stage has[\s\S]*2 commit\(s\) here are not on origin\/stage[\s\S]*Feature B\n/,
            );
            t.is(r.code, gate === "enforce" ? Exit.REFUSED : 0, r.stderr);
        },
    );
}

for (const gate of ["enforce", "warn"] as const) {
    test.serial(`trees that are equal (${gate}): status says so, and the gate passes`, async (t) => {
        const w = new GitWorld(t, gate === "warn" ? WARN_PROD : {});
        w.commit("dev", "distribution/platform/c.yaml", "Feature C");
        w.merge("dev", "stage");
        w.merge("stage", "main");
        const out = await status(t, w.ci("main"));
        t.regex(
            out,
            /stage \(origin\/stage\) → prod[^\n]*\n  waiting for promotion: none\n  only in main, never in stage: none\n  trees: equal/,
        );
        const r = await deploy(t, w.ci("main"), "main", ["--json"]);
        t.is(r.code, 0, r.stderr);
        t.notRegex(r.stderr, /promotion gate \((warn|enforce)\)/);
        t.like(JSON.parse(r.stdout), { promotionGate: "passed", stack: "prod" });
    });
}

for (const gate of ["enforce", "warn"] as const) {
    test.serial(
        `a missing remote-tracking branch (${gate}): status says it is unknown; deploy ${gate === "enforce" ? "refuses" : "warns"} and says how to fetch`,
        async (t) => {
            const w = new GitWorld(t, gate === "warn" ? WARN_PROD : {});
            const ci = w.ci("main");
            git(ci, "update-ref", "-d", "refs/remotes/origin/stage");
            t.regex(
                await status(t, ci),
                /stage \(origin\/stage\) → prod \(origin\/main\), promotion gate: \w+\n  unknown: origin\/stage not in this clone; run git fetch/,
            );
            const r = await deploy(t, ci, "main");
            t.regex(
                r.stderr,
                new RegExp(
                    `promotion gate \\(${gate}\\): origin/stage \\(the stage branch\\) is not in this clone[\\s\\S]*git fetch origin stage`,
                ),
            );
            t.is(r.code, gate === "enforce" ? Exit.REFUSED : 0, r.stderr);
        },
    );
}

test.serial("remote-tracking branches fetched long ago are flagged as stale", async (t) => {
    const w = new GitWorld(t);
    const ci = w.ci("main");
    git(ci, "fetch", "-q", "origin");
    // The last fetch was three days ago.
    const old = new Date(Date.now() - 3 * 86_400_000 - 1_800_000);
    fs.utimesSync(path.join(ci, ".git", "FETCH_HEAD"), old, old);
    for (const log of ["stage", "main"].map((b) => path.join(ci, ".git", "logs", "refs", "remotes", "origin", b))) {
        if (fs.existsSync(log))
            fs.writeFileSync(
                log,
                fs.readFileSync(log, "utf8").replace(/> \d+ ([+-]\d{4})/g, `> ${Math.floor(old.getTime() / 1000)} $1`),
            );
    }
    t.regex(await status(t, ci), /warning: origin\/stage was last updated 72 h ago and may be stale; run git fetch/);
});

test.serial(
    "one artifact promoted: --expect-sha256 refuses another file before any AWS call; the digest reaches the summary and the session tags",
    async (t) => {
        const w = new GitWorld(t);
        const ci = w.ci("dev");
        const zip = path.join(ci, "platform.zip");
        writeZip(zip, { "attini-config.yaml": "distributionName: platform\n" });
        const { createHash } = await import("node:crypto");
        const digest = createHash("sha256").update(fs.readFileSync(zip)).digest("hex");
        const j = jobEnv({ moto, backend, reports, stsEndpoint: sts.endpoint, extra: { BRANCH: "dev" } });
        t.teardown(j.dispose);

        const wrong = await runCli(["deploy", "platform.zip", "--expect-sha256", "0".repeat(64)], j.env, ci);
        t.is(wrong.code, Exit.REFUSED);
        t.regex(
            wrong.stderr,
            new RegExp(
                `platform.zip has sha256 ${digest}, not the expected 0{64} \\(--expect-sha256\\): refusing to deploy a different artifact`,
            ),
        );
        t.is(sts.calls.length, 0);
        t.is(reports.reports.length, 0);

        const right = await runCli(
            ["deploy", "platform.zip", "--expect-sha256", digest.toUpperCase(), "--json"],
            j.env,
            ci,
        );
        t.is(right.code, 0, right.stderr);
        const deployed = JSON.parse(right.stdout);
        t.like(deployed, { sha256: digest, result: "deployed" });
        // attini reads a private copy of the checked bytes, not the path given (which anyone could swap).
        const argv = reports.event("start")!.argv!;
        t.deepEqual(argv.slice(0, 2), ["deploy", "run"]);
        t.regex(argv[2], /\/attini-gitops-dist-[^/]+\/platform\.zip$/);
        t.is(deployed.command[3], argv[2]);
        t.false(fs.existsSync(argv[2]), "the private copy is gone once the deploy has ended");
        const assume = sts.calls.find((c) => c.action === "AssumeRole")!;
        const tags = new Map(
            [1, 2, 3, 4, 5, 6].map((i) => [
                assume.params.get(`Tags.member.${i}.Key`),
                assume.params.get(`Tags.member.${i}.Value`),
            ]),
        );
        t.is(tags.get("attini-gitops:sha256"), digest);

        const folder = await runCli(["deploy", "distribution/platform", "--expect-sha256", digest], j.env, ci);
        t.is(folder.code, Exit.USAGE);
        t.regex(folder.stderr, /--expect-sha256 needs a packaged \.zip distribution/);
    },
);

for (const gate of ["enforce", "warn"] as const) {
    test.serial(
        `a shallow clone (--depth 1 --no-single-branch) with a hotfix on main: the gate (${gate}) compares trees, which need no history, and ${gate === "enforce" ? "refuses" : "warns"}`,
        async (t) => {
            const w = new GitWorld(t, gate === "warn" ? WARN_PROD : {});
            w.commit("main", "distribution/platform/fix.yaml", "Hotfix timeout");
            const shallow = path.join(w.root, "shallow");
            git(
                w.root,
                "clone",
                "-q",
                "--depth",
                "1",
                "--no-single-branch",
                "--branch",
                "main",
                `file://${w.origin}`,
                shallow,
            );
            t.is(git(shallow, "rev-parse", "--is-shallow-repository"), "true");
            const r = await deploy(t, shallow, "main", ["--json"]);
            t.regex(
                r.stderr,
                new RegExp(
                    `promotion gate \\(${gate}\\): what is about to be deployed to prod is not content that stage has: distribution/platform at HEAD is tree`,
                ),
            );
            const summary = refusedOrWarned(t, gate, r, "warned");
            if (summary) t.not(summary.promotion.trees.head, summary.promotion.trees.upstream);
        },
    );
}

test.serial("a shallow clone whose HEAD is the upstream branch's tip needs no history, and passes", async (t) => {
    const w = new GitWorld(t);
    w.commit("dev", "distribution/platform/a.yaml", "Feature A");
    w.merge("dev", "stage");
    w.merge("stage", "main");
    git(w.dev, "push", "-q", "origin", "main:stage");
    const shallow = path.join(w.root, "shallow");
    git(w.root, "clone", "-q", "--depth", "1", "--no-single-branch", "--branch", "main", `file://${w.origin}`, shallow);
    const r = await deploy(t, shallow, "main", ["--json"]);
    t.is(r.code, 0, r.stderr);
    t.is(JSON.parse(r.stdout).promotionGate, "passed");
});

for (const gate of ["enforce", "warn"] as const) {
    test.serial(
        `content no commit vouches for (${gate}): untracked, ignored and modified files under the distribution are ${gate === "enforce" ? "refused" : "warned about and reported"}; attini_dist/ is attini's own`,
        async (t) => {
            const w = new GitWorld(t, gate === "warn" ? WARN_PROD : {});
            const ci = w.ci("main");
            const dist = path.join(ci, "distribution", "platform");
            // What attini packaged into the folder on an earlier run in a reused workspace: attini deletes it before packaging again.
            fs.mkdirSync(path.join(dist, "attini_dist"));
            fs.writeFileSync(path.join(dist, "attini_dist", "platform.zip"), "PK\u0003\u0004 an earlier package");
            const clean = await deploy(t, ci, "main", ["--json"]);
            t.is(clean.code, 0, clean.stderr);
            t.like(JSON.parse(clean.stdout), { promotionGate: "passed", promotion: { uncommitted: [] } });

            fs.writeFileSync(path.join(dist, "extra.yaml"), "untracked\n");
            fs.appendFileSync(path.join(ci, ".git", "info", "exclude"), "*.local\n");
            fs.writeFileSync(path.join(dist, "secret.local"), "ignored\n");
            fs.appendFileSync(path.join(dist, "attini-config.yaml"), "# modified\n");
            reports.reset();
            sts.reset();
            const r = await deploy(t, ci, "main", ["--json"]);
            t.regex(
                r.stderr,
                new RegExp(`promotion gate \\(${gate}\\): 3 file\\(s\\) under distribution/platform are not committed`),
            );
            t.regex(r.stderr, / M distribution\/platform\/attini-config\.yaml/);
            t.regex(r.stderr, /\?\? distribution\/platform\/extra\.yaml/);
            t.regex(r.stderr, /!! distribution\/platform\/secret\.local/);
            t.notRegex(r.stderr, /attini_dist/);
            const summary = refusedOrWarned(t, gate, r, "warned");
            if (summary)
                t.deepEqual(summary.promotion.uncommitted.sort(), [
                    " M distribution/platform/attini-config.yaml",
                    "!! distribution/platform/secret.local",
                    "?? distribution/platform/extra.yaml",
                ]);
        },
    );
}

for (const gate of ["enforce", "warn"] as const) {
    test.serial(
        `a .zip without a distributionId (${gate}): the verified gate cannot match it upstream, so it is ${gate === "enforce" ? "refused, naming the fix" : "unverified, warned and deployed"}; the git gate vouches for the commit's whole tree`,
        async (t) => {
            const w = new GitWorld(t, gate === "warn" ? WARN_PROD : {});
            const ci = w.ci("main");
            writeZip(path.join(ci, "platform.zip"), { "attini-config.yaml": "distributionName: platform\n" });
            const j = jobEnv({
                moto,
                backend: backendFor(ci),
                reports,
                stsEndpoint: sts.endpoint,
                extra: { BRANCH: "main" },
            });
            t.teardown(j.dispose);
            const r = await runCli(["deploy", "platform.zip", "--json"], j.env, ci);
            t.regex(
                r.stderr,
                new RegExp(
                    `promotion gate \\(${gate}\\): platform's attini-config sets no distributionId[\\s\\S]*set requireDistributionId: false in Pulumi.prod.yaml \\(and run pulumi up\\)`,
                ),
            );
            if (gate === "enforce") {
                t.is(r.code, Exit.REFUSED, r.stderr);
                t.is(reports.reports.length, 0, "attini never ran");
                t.like(JSON.parse(r.stdout), {
                    verifiedPromotion: { result: "refused", distributionName: "platform" },
                });
                return;
            }
            t.is(r.code, 0, r.stderr);
            const summary = JSON.parse(r.stdout);
            t.is(summary.promotionGate, "passed");
            t.regex(
                summary.promotion.scope,
                /^the whole tree of commit [0-9a-f]{10}, which the \.zip is taken to be built from \(its bytes are pinned by --expect-sha256 and the verified gate\), against origin\/stage$/,
            );
            t.like(summary.verifiedPromotion, { result: "unverified", distributionName: "platform" });
        },
    );
}

test.serial(
    "a long history: the gate names the files that differ in the distribution and the newest commits, with as many git runs for 1,500 commits as for 3",
    async (t) => {
        const shim = countingGit(t);
        const runs: number[] = [];
        for (const n of [3, 1500]) {
            const w = new GitWorld(t);
            // Every third hotfix touches the distribution; the others only the docs.
            bulkCommits(
                w,
                "main",
                n,
                (i) => (i % 3 === 0 ? `distribution/platform/fix-${i}.yaml` : `docs/note-${i}.md`),
                (i) => `Hotfix ${i}`,
            );
            const ci = w.ci("main");
            const j = jobEnv({
                moto,
                backend,
                reports,
                stsEndpoint: sts.endpoint,
                extra: { BRANCH: "main", PATH: shim.path },
            });
            t.teardown(j.dispose);
            shim.reset();
            const r = await runCli(["deploy", "distribution/platform", "--json"], j.env, ci);
            runs.push(shim.count());
            t.is(r.code, Exit.REFUSED, r.stderr);
            // The files that differ are the distribution's own; the commits, newest first, are all of them.
            const touching = Math.ceil(n / 3);
            t.regex(
                r.stderr,
                new RegExp(
                    `promotion gate \\(enforce\\): what is about to be deployed to prod is not content that stage has[\\s\\S]*\\n  ${touching} file\\(s\\) differ from origin/stage[^\\n]*\\n    A distribution/platform/fix-${0}\\.yaml\\n`,
                ),
            );
            t.is(
                (r.stderr.match(/^ {4}A distribution\/platform\/fix-\d+\.yaml$/gm) ?? []).length,
                Math.min(touching, 20),
                "at most twenty files are listed",
            );
            t.regex(
                r.stderr,
                new RegExp(
                    `\\n  ${n} commit\\(s\\) here are not on origin/stage, newest first:\\n    [0-9a-f]{10} Hotfix ${n - 1}\\n`,
                ),
            );
            t.is(
                (r.stderr.match(/^ {4}[0-9a-f]{10} Hotfix \d+$/gm) ?? []).length,
                Math.min(n, 10),
                "at most ten are listed",
            );
            if (n > 10) t.regex(r.stderr, new RegExp(`    \\.\\.\\. and ${n - 10} more\\n`));
            t.notRegex(r.stderr, /note-/, "files outside the distribution are not named");
            t.is(sts.calls.length, 0);
        }
        t.is(runs[0], runs[1], `git runs for 3 commits: ${runs[0]}, for 1,500: ${runs[1]}`);
    },
);

test.serial(
    "a long history: status counts hotfixes and cherry-picks, shows the newest ten and says how many more; --all and --json list every one",
    async (t) => {
        const w = new GitWorld(t);
        const picked = w.commit("dev", "distribution/platform/a.yaml", "Feature A");
        w.merge("dev", "stage");
        w.cherryPick(picked, "main");
        bulkCommits(
            w,
            "main",
            300,
            (i) => `distribution/platform/fix-${i}.yaml`,
            (i) => `Hotfix ${i}`,
        );
        bulkCommits(
            w,
            "dev",
            400,
            (i) => `distribution/platform/new-${i}.yaml`,
            (i) => `Parked ${i}`,
        );
        const ci = w.ci("main");
        const out = await status(t, ci);
        t.regex(
            out,
            /dev \(origin\/dev\) → stage[^\n]*\n  waiting for promotion: 400 commits, oldest 0 days old\n(    [0-9a-f]{10} Parked \d+ \(0 days\)\n){10}    \.\.\. and 390 more commits \(attini-gitops status --all lists them\)/,
        );
        t.regex(
            out,
            /only in main, never in stage: 301 commits \(300 hotfixes, 1 cherry-pick\)\n    [0-9a-f]{10} Hotfix 299 \(hotfix\)/,
        );
        t.regex(out, /    \.\.\. and 291 more commits/);
        const j = jobEnv({ moto, backend });
        t.teardown(j.dispose);
        const all = await runCli(["status", "--all"], j.env, ci);
        t.is(all.code, 0, all.stderr);
        t.is((all.stdout.match(/^    [0-9a-f]{10} Parked \d+ /gm) ?? []).length, 400);
        t.is((all.stdout.match(/ \(hotfix\)/g) ?? []).length, 300);
        t.regex(all.stdout, /Feature A \(cherry-pick\)/);
        const json = JSON.parse(await status(t, ci, true));
        t.is(json.links[0].waiting.length, 400);
        t.is(json.links[1].downstreamOnly.length, 301);
    },
);

test.serial(
    "from a subfolder of the clone (a monorepo), the gate compares the distribution folder's own trees",
    async (t) => {
        const w = new GitWorld(t);
        w.commit("main", "distribution/platform/fix.yaml", "Hotfix in a monorepo");
        const ci = w.ci("main");
        const trees = compareTrees(gitIn(path.join(ci, "distribution")), "refs/remotes/origin/stage", "platform");
        t.is(trees?.head, git(ci, "rev-parse", "HEAD:distribution/platform"));
        t.is(trees?.upstream, git(ci, "rev-parse", "refs/remotes/origin/stage:distribution/platform"));
        t.not(trees?.head, trees?.upstream);
        const whole = compareTrees(gitIn(ci), "refs/remotes/origin/stage");
        t.is(whole?.head, git(ci, "rev-parse", "HEAD^{tree}"));
        t.is(compareTrees(gitIn(ci), "refs/remotes/origin/stage", "no/such/folder")?.head, undefined);
    },
);
