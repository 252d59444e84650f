// scripts/ensure-attini.sh: which attini the tests and the demo run, the checks on the source it
// builds from, what it says without a JDK, and that a second run reuses the cached build.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test, { type ExecutionContext } from "ava";
import { realAttini } from "./support/attini";
import { ROOT } from "./support/tools";

/** A copy of the scripts in a folder of its own (with a shared/ beside it), a PATH of chosen tools, and an empty cache. */
function sandbox(t: ExecutionContext, tools: string[]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-ensure-attini-"));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const project = path.join(dir, "project");
    fs.mkdirSync(path.join(project, "scripts"), { recursive: true });
    for (const f of ["ensure-attini.sh", "cache.sh"])
        fs.copyFileSync(path.join(ROOT, "scripts", f), path.join(project, "scripts", f));
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    for (const tool of [
        "bash",
        "sed",
        "head",
        "dirname",
        "basename",
        "mktemp",
        "rm",
        "cat",
        "mkdir",
        "cut",
        "sha256sum",
        "sleep",
        "tail",
        "gzip",
        "git",
        "tar",
        "find",
        ...tools,
    ]) {
        const real = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
        if (real) fs.symlinkSync(real, path.join(bin, tool));
    }
    const run = (env: Record<string, string> = {}, ...args: string[]) =>
        spawnSync("bash", [path.join(project, "scripts", "ensure-attini.sh"), ...args], {
            encoding: "utf8",
            env: { PATH: bin, HOME: dir, XDG_CACHE_HOME: path.join(dir, "cache"), ...env },
        });
    return { dir, project, run };
}

test("ATTINI_BIN is used as it is", (t) => {
    const s = sandbox(t, []);
    const attini = path.join(s.dir, "my-attini");
    fs.writeFileSync(attini, "#!/bin/sh\necho 2.6.0\n", { mode: 0o755 });
    const r = s.run({ ATTINI_BIN: attini });
    t.is(r.status, 0, r.stderr);
    t.is(r.stdout.trim(), attini);
    const missing = s.run({ ATTINI_BIN: path.join(s.dir, "nope") });
    t.is(missing.status, 1);
    t.regex(missing.stderr, /ATTINI_BIN=.*nope is not an executable file/);
});

test("without a JDK and Maven it fails, naming how to get them", (t) => {
    const s = sandbox(t, []);
    const r = s.run();
    t.is(r.status, 1);
    t.is(r.stdout, "");
    t.regex(r.stderr, /building the Attini CLI needs a JDK 17 or newer \(java, javac\) and Maven 3\.8\+/);
    t.regex(r.stderr, /missing: java javac mvn/);
    t.regex(r.stderr, /apt-get install openjdk-17-jdk-headless maven/);
});

test("a shared source tarball that is not the pinned commit is refused before any build", (t) => {
    const s = sandbox(t, ["java", "javac", "mvn"]);
    const shared = path.join(s.dir, "shared", "attini-cli");
    fs.mkdirSync(shared, { recursive: true });
    spawnSync("bash", [
        "-c",
        `cd "${s.dir}" && mkdir -p src && echo x > src/pom.xml && tar -czf "${shared}/attini-cli-src.tar.gz" src`,
    ]);
    const r = s.run();
    t.is(r.status, 1, r.stderr);
    t.regex(r.stderr, /attini-cli-src\.tar\.gz is not the pinned source: sha256 [0-9a-f]{64} \(want 347d849f/);
    t.false(
        fs.existsSync(
            path.join(
                s.dir,
                "cache",
                "attini-gitops",
                "attini",
                "9589088df4f9c6507fc6123c308576614c17b525",
                ".complete",
            ),
        ),
    );
});

test("a second run reuses the cached build, stamped with version and commit", (t) => {
    const launcher = realAttini();
    const r = spawnSync("bash", [path.join(ROOT, "scripts", "ensure-attini.sh"), "--emulator"], {
        encoding: "utf8",
        env: { ...process.env, ATTINI_BIN: "" },
    });
    t.is(r.status, 0, r.stderr);
    t.is(r.stdout.trim(), launcher);
    t.regex(r.stderr, /using cached attini-cli 2\.6\.0 commit 9589088df4f9c6507fc6123c308576614c17b525/);
    t.notRegex(r.stderr, /building|compiling/);
    const version = spawnSync(launcher, ["--version"], { encoding: "utf8" });
    t.is(version.stdout.trim().split("\n").pop(), "2.6.0");
});
