// The git gate compares content, and the driver takes the gate's settings from what was
// provisioned: each case here got through the gate of the earlier (commit-list and patch-id) design
// under enforce, and is now refused with nothing uploaded to prod: a hotfix that also switches
// prod's gate off, a change made inside a merge commit, a whitespace twin of a stage commit, a
// cherry-pick of a stage commit that stage later reverted, and local edits hidden from `git
// status` (skip-worktree, assume-unchanged). Real git repositories, the real Pulumi CLI and backend,
// the emulator and the stand-in attini (which reports whether attini was reached).

import * as fs from "node:fs";
import * as path from "node:path";
import test, { type ExecutionContext } from "ava";
import { Exit } from "../automation/errors";
import { jobEnv, runCli } from "./support/driver";
import { GitWorld } from "./support/gitWorld";
import { git } from "./support/project";
import { backend, moto, reports, sts, useWorld } from "./support/world";

useWorld(test);

/** `deploy <distribution> --json` in the CI clone `dir`, as a push to `branch`. */
async function deploy(t: ExecutionContext, dir: string, branch: string, distribution = "distribution/platform") {
    const j = jobEnv({ moto, backend, reports, stsEndpoint: sts.endpoint, extra: { BRANCH: branch } });
    t.teardown(j.dispose);
    return runCli(["deploy", distribution, "--json"], j.env, dir);
}

/** Refused before any AWS call: no STS call, attini never started, so nothing reached prod's bucket. */
function refusedBeforeAws(t: ExecutionContext, r: { code: number | null; stderr: string }, code: number) {
    t.is(r.code, code, r.stderr);
    t.is(sts.calls.length, 0, "no STS call");
    t.is(reports.reports.length, 0, "attini never ran");
}

/** Runs git in the developer clone. */
const dev = (w: GitWorld, ...args: string[]) => git(w.dev, ...args);

/** Writes a file in the developer clone and stages it. */
function write(w: GitWorld, file: string, text: string) {
    fs.mkdirSync(path.dirname(path.join(w.dev, file)), { recursive: true });
    fs.writeFileSync(path.join(w.dev, file), text);
    dev(w, "add", file);
}

test.serial(
    "a hotfix on main that also switches prod's gate off in the same commit is refused: the gate is what was provisioned",
    async (t) => {
        const w = new GitWorld(t);
        dev(w, "checkout", "-q", "main");
        write(w, "distribution/platform/fix.yaml", "hotfix\n");
        const prodFile = path.join(w.dev, "Pulumi.prod.yaml");
        fs.writeFileSync(
            prodFile,
            fs.readFileSync(prodFile, "utf8").replace("promotionGate: enforce", "promotionGate: off"),
        );
        dev(w, "add", "Pulumi.prod.yaml");
        dev(w, "commit", "-q", "-m", "Hotfix, and no more gate");
        dev(w, "push", "-q", "origin", "main");
        const r = await deploy(t, w.ci("main"), "main");
        refusedBeforeAws(t, r, Exit.NOT_PROVISIONED);
        t.regex(
            r.stderr,
            /stack prod's outputs differ from Pulumi\.prod\.yaml and Pulumi\.stage\.yaml in this checkout \(promotionGate: provisioned enforce, the checkout says off\)/,
        );
        t.regex(r.stderr, /takes effect only through `pulumi up -s prod` in account 333333333333/);
    },
);

test.serial("a change made inside a merge commit on main (an evil merge) is refused", async (t) => {
    const w = new GitWorld(t);
    w.commit("dev", "distribution/platform/feature.yaml", "Feature");
    w.merge("dev", "stage");
    dev(w, "checkout", "-q", "main");
    dev(w, "merge", "-q", "--no-ff", "--no-commit", "stage");
    write(w, "distribution/platform/backdoor.yaml", "never in stage\n");
    dev(w, "commit", "-q", "--no-edit");
    dev(w, "push", "-q", "origin", "main");
    const ci = w.ci("main");
    t.is(
        git(ci, "log", "--no-merges", "--format=%s", "origin/stage..HEAD"),
        "",
        "no commit of its own names the change",
    );
    const r = await deploy(t, ci, "main");
    refusedBeforeAws(t, r, Exit.REFUSED);
    t.regex(r.stderr, /promotion gate \(enforce\): what is about to be deployed to prod is not content that stage has/);
    t.regex(
        r.stderr,
        /1 file\(s\) differ from origin\/stage .*:\n    A distribution\/platform\/backdoor\.yaml\n  1 commit\(s\) here are not on origin\/stage, newest first:\n\s+[0-9a-f]{10} Merge branch 'stage'/,
    );
});

test.serial("a whitespace twin of a stage commit (same patch id, other bytes) is refused", async (t) => {
    const w = new GitWorld(t);
    dev(w, "checkout", "-q", "dev");
    write(w, "distribution/platform/flags.yaml", "feature:\n  Enabled: true\n");
    dev(w, "commit", "-q", "-m", "Enable the feature");
    dev(w, "push", "-q", "origin", "dev");
    w.merge("dev", "stage");
    dev(w, "checkout", "-q", "main");
    write(w, "distribution/platform/flags.yaml", "feature:\n  Ena bled: true\n");
    dev(w, "commit", "-q", "-m", "Enable the feature");
    dev(w, "push", "-q", "origin", "main");
    const ci = w.ci("main");
    // git itself calls the two equal: the earlier design counted it as a cherry-pick that went through stage.
    t.regex(
        git(ci, "log", "--cherry-mark", "--right-only", "--format=%m %s", "origin/stage...HEAD"),
        /^= Enable the feature$/m,
    );
    const r = await deploy(t, ci, "main");
    refusedBeforeAws(t, r, Exit.REFUSED);
    t.regex(r.stderr, /not content that stage has[\s\S]*Enable the feature/);
    // status still calls it a cherry-pick, as git does, and says what that is worth.
    const j = jobEnv({ moto, backend });
    t.teardown(j.dispose);
    const status = await runCli(["status"], j.env, ci);
    t.regex(
        status.stdout,
        /only in main, never in stage: 1 commit \(0 hotfixes, 1 cherry-pick\)\n.*Enable the feature \(cherry-pick\)\n  \(a cherry-pick has the same patch as a commit on stage, whitespace ignored; it says nothing about content: the trees line does\)\n  trees: differ \(main's content is not stage's/,
    );
});

test.serial("a cherry-pick of a stage commit that stage later reverted is refused", async (t) => {
    const w = new GitWorld(t);
    const bad = w.commit("dev", "distribution/platform/bad.yaml", "Risky change");
    w.merge("dev", "stage");
    dev(w, "checkout", "-q", "stage");
    dev(w, "revert", "--no-edit", "-m", "1", "HEAD");
    dev(w, "push", "-q", "origin", "stage");
    w.cherryPick(bad, "main");
    const r = await deploy(t, w.ci("main"), "main");
    refusedBeforeAws(t, r, Exit.REFUSED);
    t.regex(r.stderr, /not content that stage has[\s\S]*Risky change/);
});

for (const hide of ["--skip-worktree", "--assume-unchanged"]) {
    test.serial(`a local edit hidden from git status with ${hide} counts as uncommitted`, async (t) => {
        const w = new GitWorld(t);
        const ci = w.ci("main");
        const file = "distribution/platform/attini-config.yaml";
        fs.appendFileSync(path.join(ci, file), "# edited in the workspace\n");
        git(ci, "update-index", hide, file);
        t.is(git(ci, "status", "--porcelain"), "", "git status shows nothing");
        const r = await deploy(t, ci, "main");
        refusedBeforeAws(t, r, Exit.REFUSED);
        t.regex(r.stderr, /1 file\(s\) under distribution\/platform are not committed as git sees them/);
        t.regex(r.stderr, new RegExp(`${hide.slice(2)} ${file}`));
    });
}

test.serial(
    "a distribution reached through a symbolic link is refused: git would vouch for the link, not the folder",
    async (t) => {
        const w = new GitWorld(t);
        w.commit("dev", "other/attini-config.yaml", "distributionName: platform");
        w.merge("dev", "stage");
        w.merge("stage", "main");
        dev(w, "checkout", "-q", "main");
        fs.symlinkSync("../other", path.join(w.dev, "distribution", "linked"));
        dev(w, "add", "distribution/linked");
        dev(w, "commit", "-q", "-m", "A link to a folder stage has");
        dev(w, "push", "-q", "origin", "main");
        const ci = w.ci("main");
        const r = await deploy(t, ci, "main", "distribution/linked");
        refusedBeforeAws(t, r, Exit.REFUSED);
        t.regex(r.stderr, /the distribution folder is reached through a symbolic link/);
    },
);

test.serial("bytes a .gitattributes rewrites on checkout are not the committed content", async (t) => {
    const w = new GitWorld(t);
    dev(w, "checkout", "-q", "main");
    write(w, ".gitattributes", "distribution/platform/*.yaml text eol=crlf\n");
    dev(w, "commit", "-q", "-m", "Line endings");
    dev(w, "push", "-q", "origin", "main");
    const ci = w.ci("main");
    t.is(git(ci, "status", "--porcelain"), "", "git calls the checkout clean");
    t.is(
        git(ci, "rev-parse", "HEAD:distribution/platform"),
        git(ci, "rev-parse", "origin/stage:distribution/platform"),
        "the folder's tree is stage's",
    );
    const r = await deploy(t, ci, "main");
    refusedBeforeAws(t, r, Exit.REFUSED);
    t.regex(r.stderr, /checked out other than committed: distribution\/platform\/attini-config\.yaml/);
});

test.serial("a folder whose name is pathspec magic gets the committed-content check too", async (t) => {
    const w = new GitWorld(t);
    const folder = ":(glob)zz";
    dev(w, "checkout", "-q", "dev");
    fs.mkdirSync(path.join(w.dev, folder));
    fs.writeFileSync(path.join(w.dev, folder, "attini-config.yaml"), "distributionName: platform\n");
    dev(w, "add", "-A");
    dev(w, "commit", "-q", "-m", "A folder named like pathspec magic");
    dev(w, "push", "-q", "origin", "dev");
    w.merge("dev", "stage");
    w.merge("stage", "main");
    const ci = w.ci("main");
    fs.appendFileSync(path.join(ci, folder, "attini-config.yaml"), "# edited in the workspace\n");
    fs.writeFileSync(path.join(ci, folder, "extra.yaml"), "untracked\n");
    const r = await deploy(t, ci, "main", `./${folder}`);
    refusedBeforeAws(t, r, Exit.REFUSED);
    t.regex(r.stderr, /2 file\(s\) under :\(glob\)zz are not committed/);
});
