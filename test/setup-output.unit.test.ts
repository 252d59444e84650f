// A first run that reads well: setup's helpers (scripts/cache.sh) keep a tool's own output in a log
// file and name it, with its last lines, when the tool fails; and nothing (the demo's headings,
// setup's lines) writes colour codes when its output is not a terminal.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import { colourFor, heading } from "../scripts/terminal";
import { ROOT } from "./support/tools";

/** Runs `script` in bash with scripts/cache.sh sourced, a cache of its own, and stdout and stderr to files (not terminals). */
function withCache(t: import("ava").ExecutionContext, script: string) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-setup-output-"));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const out = path.join(dir, "stdout");
    const err = path.join(dir, "stderr");
    const r = spawnSync("bash", ["-c", `source "${ROOT}/scripts/cache.sh"; ${script}`], {
        env: { PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: path.join(dir, "cache") },
        stdio: ["ignore", fs.openSync(out, "w"), fs.openSync(err, "w")],
    });
    return {
        status: r.status,
        stdout: fs.readFileSync(out, "utf8"),
        stderr: fs.readFileSync(err, "utf8"),
        logs: path.join(dir, "cache", "attini-gitops", "logs"),
    };
}

test("run_logged keeps a tool's output in its log, and prints nothing of it when the tool succeeds", (t) => {
    const r = withCache(
        t,
        `run_logged chatty "downloading" bash -c 'for i in $(seq 330); do echo "go: downloading module$i"; done'`,
    );
    t.is(r.status, 0);
    t.is(r.stdout, "");
    t.is(r.stderr, "");
    t.is(fs.readFileSync(path.join(r.logs, "chatty.log"), "utf8").split("\n").filter(Boolean).length, 330);
});

test("when the tool fails, run_logged says what failed, names its log and shows the log's last lines", (t) => {
    const r = withCache(
        t,
        `run_logged broken "building the thing" bash -c 'seq 100; echo "error: no Go toolchain" >&2; exit 3'`,
    );
    t.is(r.status, 3);
    t.regex(
        r.stderr,
        /building the thing failed \(exit 3\) after \d+s; its output is in .*\/logs\/broken\.log, which ends:/,
    );
    t.regex(r.stderr, /^ {2}\| error: no Go toolchain$/m);
    t.notRegex(r.stderr, /^ {2}\| 50$/m, "only the last lines");
    t.false(r.stderr.includes("\x1b"), "no escape codes in a log that is not a terminal");
});

test("the demo's headings are bold on a terminal only, and never with NO_COLOR", (t) => {
    const file = fs.createWriteStream(path.join(os.tmpdir(), `attini-gitops-heading-${process.pid}`));
    t.teardown(() => {
        file.destroy();
        fs.rmSync(file.path as string, { force: true });
    });
    t.false(colourFor(file, {}));
    t.is(heading("a push to dev", file, {}), "\n== a push to dev\n");
    t.is(heading("a push to dev", { isTTY: true }, {}), "\n\x1b[1m== a push to dev\x1b[0m\n");
    t.is(heading("a push to dev", { isTTY: true }, { NO_COLOR: "1" }), "\n== a push to dev\n");
});
