// committedContent.ts on real git repositories: the tree a folder is recorded by, only when its
// checked-out bytes are that tree's (hashed here as git hashes a blob, in either object format),
// and nothing vouched for where git cannot place the folder. The git gate's use of the same list,
// through deploys, is in content-gate.test.ts.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test, { type ExecutionContext } from "ava";
import { committedTree, headAndFolder, uncommittedUnder } from "../automation/committedContent";
import { type GitRunner, gitIn } from "../automation/git";
import { compareTrees } from "../automation/gitGate";
import { git } from "./support/project";

/** The tree deploy records `distribution` by, as it reads it: headAndFolder, then committedTree. */
const treeOf = (runner: GitRunner, distribution: string) =>
    committedTree(runner, headAndFolder(runner, distribution).folder);

/** A repository in a scratch folder with `files` committed (paths from its top); its top. */
function repo(t: ExecutionContext, files: Record<string, string | Buffer>, init: string[] = []): string {
    const top = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-content-"));
    t.teardown(() => fs.rmSync(top, { recursive: true, force: true }));
    git(top, "init", "-q", ...init);
    for (const [file, body] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(top, file)), { recursive: true });
        fs.writeFileSync(path.join(top, file), body);
    }
    git(top, "add", "-A");
    git(top, "commit", "-q", "-m", "content");
    return top;
}

/** Has a filter rewrite `file` (from the top) on checkout, and checks it out again: git status calls it unmodified. */
function stampOnCheckout(top: string, file: string): void {
    fs.writeFileSync(path.join(top, ".git/info/attributes"), `${path.basename(file)} filter=stamp\n`);
    git(top, "config", "filter.stamp.smudge", "sed 's/{}/{ Stamped: true }/'");
    git(top, "config", "filter.stamp.clean", "sed 's/{ Stamped: true }/{}/'");
    fs.rmSync(path.join(top, file));
    git(top, "checkout", "--", file);
}

/** Bytes of every kind a blob can hold: binary, CRLF, a NUL, none at all. */
const FILES = {
    "app/dist/template.yaml": "Resources: {}\n",
    "app/dist/crlf.txt": "one\r\ntwo\r\n",
    "app/dist/sub/binary.bin": Buffer.from([0, 255, 10, 13, 0, 128]),
    "app/dist/empty": "",
    "other/readme.md": "elsewhere\n",
};

test("a committed folder is recorded by the tree git names, from the repository's top or a folder below it", (t) => {
    const top = repo(t, FILES);
    const tree = git(top, "rev-parse", "HEAD:app/dist");
    t.is(treeOf(gitIn(top), path.join(top, "app/dist")), tree);
    t.is(treeOf(gitIn(path.join(top, "app")), path.join(top, "app/dist")), tree);
    // A distribution outside the project but inside the repository: the same tree.
    t.is(treeOf(gitIn(path.join(top, "other")), path.join(top, "app/dist")), tree);
    t.deepEqual(uncommittedUnder(gitIn(path.join(top, "app")), "dist"), []);
    // A project reached through a symbolic link from elsewhere: the way up is from the real folder.
    const link = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-link-")), "project");
    t.teardown(() => fs.rmSync(path.dirname(link), { recursive: true, force: true }));
    fs.symlinkSync(path.join(top, "app"), link);
    t.is(treeOf(gitIn(link), path.join(link, "dist")), tree);
    // HEAD's commit comes from the same git run, and without a folder (a .zip) from its own.
    const head = git(top, "rev-parse", "HEAD");
    t.is(headAndFolder(gitIn(path.join(top, "app")), path.join(top, "app/dist")).commit, head);
    t.deepEqual(headAndFolder(gitIn(top)), { commit: head });
});

test("in a repository that names objects by sha256, the checked-out bytes are hashed by sha256", (t) => {
    const top = repo(t, FILES, ["--object-format=sha256"]);
    const tree = git(top, "rev-parse", "HEAD:app/dist");
    t.regex(tree, /^[0-9a-f]{64}$/);
    t.is(treeOf(gitIn(top), path.join(top, "app/dist")), tree);
    stampOnCheckout(top, "app/dist/template.yaml");
    t.is(git(top, "status", "--porcelain"), "");
    t.is(treeOf(gitIn(top), path.join(top, "app/dist")), undefined);
});

test("bytes rewritten on checkout, edits hidden from git status, and a deleted file leave no tree", (t) => {
    const top = repo(t, FILES);
    const dist = path.join(top, "app/dist");
    const app = gitIn(path.join(top, "app"));
    // A filter rewrites the file on checkout: git status calls it unmodified, the bytes differ.
    stampOnCheckout(top, "app/dist/template.yaml");
    t.is(git(top, "status", "--porcelain"), "");
    t.is(treeOf(app, dist), undefined);
    t.deepEqual(uncommittedUnder(app, "dist"), ["checked out other than committed: app/dist/template.yaml"]);
    fs.rmSync(path.join(top, ".git/info/attributes"));
    fs.rmSync(path.join(dist, "template.yaml")); // else git may call the stamped file up to date
    git(top, "checkout", "--", "app/dist/template.yaml");
    t.is(treeOf(app, dist), git(top, "rev-parse", "HEAD:app/dist"));

    git(top, "update-index", "--skip-worktree", "app/dist/empty");
    fs.writeFileSync(path.join(dist, "empty"), "not empty\n");
    t.is(treeOf(app, dist), undefined);
    t.deepEqual(uncommittedUnder(app, "dist"), ["skip-worktree app/dist/empty"]);
    git(top, "update-index", "--no-skip-worktree", "app/dist/empty");
    git(top, "checkout", "--", "app/dist/empty");

    fs.rmSync(path.join(dist, "sub"), { recursive: true });
    t.is(treeOf(app, dist), undefined);
    t.deepEqual(uncommittedUnder(app, "dist"), [" D app/dist/sub/binary.bin"]);
});

test("a file named in bytes that are not UTF-8 cannot be checked, so the folder is not vouched for", (t) => {
    const top = repo(t, FILES);
    // r\xe9sum\xe9.yaml in Latin-1: git keeps the bytes, its text output cannot.
    const name = Buffer.concat([
        Buffer.from(path.join(top, "app/dist/r")),
        Buffer.from([0xe9]),
        Buffer.from("sum.yaml"),
    ]);
    fs.writeFileSync(name, "a: 1\n");
    git(top, "add", "-A");
    git(top, "commit", "-q", "-m", "latin-1");
    t.is(git(top, "status", "--porcelain"), "");
    t.is(treeOf(gitIn(top), path.join(top, "app/dist")), undefined);
    t.deepEqual(uncommittedUnder(gitIn(top), "app/dist"), [
        "checked out other than committed: app/dist/r\ufffdsum.yaml",
    ]);
});

test("a submodule inside the folder is listed: its tree names a commit, not the ignored files in its folder", (t) => {
    const lib = repo(t, { "lib.yaml": "a: 1\n", ".gitignore": "*.env\n" });
    const top = repo(t, FILES);
    git(top, "-c", "protocol.file.allow=always", "submodule", "add", "-q", lib, "app/dist/lib");
    git(top, "commit", "-q", "-m", "submodule");
    fs.writeFileSync(path.join(top, "app/dist/lib/prod.env"), "SECRET=1\n"); // packaged, ignored by git
    t.is(git(top, "status", "--porcelain", "--ignored=matching"), "");
    t.is(treeOf(gitIn(top), path.join(top, "app/dist")), undefined);
    t.deepEqual(uncommittedUnder(gitIn(top), "app/dist"), ["submodule app/dist/lib"]);
});

test("configuration cannot hide content: a name in another case, a link checked out as a file, a quoted attini_dist/", (t) => {
    const top = repo(t, FILES);
    fs.symlinkSync("template.yaml", path.join(top, "app/dist/link.yaml"));
    git(top, "add", "-A");
    git(top, "commit", "-q", "-m", "link");
    const dist = path.join(top, "app/dist");
    t.is(treeOf(gitIn(top), dist), git(top, "rev-parse", "HEAD:app/dist"));
    // core.ignoreCase: git status would call TEMPLATE.yaml the committed template.yaml; attini packages both.
    git(top, "config", "core.ignoreCase", "true");
    fs.writeFileSync(path.join(dist, "TEMPLATE.yaml"), "Evil: 1\n");
    t.is(git(top, "status", "--porcelain"), "");
    t.is(treeOf(gitIn(top), dist), undefined);
    t.deepEqual(uncommittedUnder(gitIn(top), "app/dist"), ["?? app/dist/TEMPLATE.yaml"]);
    fs.rmSync(path.join(dist, "TEMPLATE.yaml"));
    // core.symlinks=false checks the link out as a file holding its target's name, which attini packages.
    git(top, "config", "core.symlinks", "false");
    fs.rmSync(path.join(dist, "link.yaml"));
    git(top, "checkout", "--", "app/dist/link.yaml");
    t.is(git(top, "status", "--porcelain"), "");
    t.is(treeOf(gitIn(top), dist), undefined);
    t.deepEqual(uncommittedUnder(gitIn(top), "app/dist"), ["checked out other than committed: app/dist/link.yaml"]);
    // attini's own output folder is left out however git would quote its folder's name.
    const other = repo(t, { "d\u00efst/template.yaml": "Resources: {}\n", ".gitignore": "attini_dist/\n" });
    fs.mkdirSync(path.join(other, "d\u00efst/attini_dist"));
    fs.writeFileSync(path.join(other, "d\u00efst/attini_dist/platform.zip"), "zip");
    t.deepEqual(uncommittedUnder(gitIn(other), "d\u00efst"), []);
    t.is(treeOf(gitIn(other), path.join(other, "d\u00efst")), git(other, "rev-parse", "HEAD:d\u00efst"));
});

test("a repository whose path ends in a space, and a distribution above the project, are placed", (t) => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-space-"));
    t.teardown(() => fs.rmSync(parent, { recursive: true, force: true }));
    const top = path.join(parent, "repo ");
    fs.mkdirSync(top);
    git(top, "init", "-q");
    for (const [file, body] of Object.entries(FILES)) {
        fs.mkdirSync(path.dirname(path.join(top, file)), { recursive: true });
        fs.writeFileSync(path.join(top, file), body);
    }
    git(top, "add", "-A");
    git(top, "commit", "-q", "-m", "content");
    t.is(treeOf(gitIn(top), path.join(top, "app/dist")), git(top, "rev-parse", "HEAD:app/dist"));
    // The project is app/dist/sub, the distribution app/dist: `HEAD:./..` would be read as a range.
    const tree = git(top, "rev-parse", "HEAD:app/dist");
    t.is(treeOf(gitIn(path.join(top, "app/dist/sub")), path.join(top, "app/dist")), tree);
    // The git gate names it the same way.
    t.deepEqual(compareTrees(gitIn(path.join(top, "app/dist/sub")), "HEAD", ".."), {
        path: "..",
        head: tree,
        upstream: tree,
    });
});

test("a folder git cannot place is never vouched for: uncommitted, outside the repository, or below a name with a newline", (t) => {
    const top = repo(t, { ...FILES, "we\nird/dist/template.yaml": "Resources: {}\n" });
    fs.mkdirSync(path.join(top, "app/new"));
    fs.writeFileSync(path.join(top, "app/new/template.yaml"), "Resources: {}\n");
    t.is(treeOf(gitIn(top), path.join(top, "app/new")), undefined);
    t.deepEqual(headAndFolder(gitIn(top), path.join(top, "app/new")), { commit: git(top, "rev-parse", "HEAD") });
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-outside-"));
    t.teardown(() => fs.rmSync(elsewhere, { recursive: true, force: true }));
    t.is(treeOf(gitIn(top), elsewhere), undefined);
    // `git rev-parse --show-prefix` would print two lines for this folder: nothing is trusted.
    const weird = gitIn(path.join(top, "we\nird"));
    t.is(treeOf(weird, path.join(top, "we\nird/dist")), undefined);
    t.is(uncommittedUnder(weird, "dist"), undefined);
    // A distribution whose own name has a newline is named in full on the command line: its tree.
    t.is(
        treeOf(gitIn(top), path.join(top, "we\nird")),
        execFileSync("git", ["rev-parse", "HEAD:we\nird"], { cwd: top, encoding: "utf8" }).trim(),
    );
    // A runner that does not say where it runs cannot be checked.
    t.is(
        treeOf(() => "", path.join(top, "app/dist")),
        undefined,
    );
    // A repository with no commit yet: no commit, no tree.
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-empty-"));
    t.teardown(() => fs.rmSync(empty, { recursive: true, force: true }));
    git(empty, "init", "-q");
    fs.mkdirSync(path.join(empty, "dist"));
    t.deepEqual(headAndFolder(gitIn(empty), path.join(empty, "dist")), { commit: undefined });
});
