// A driver killed with SIGKILL runs no handler, so nothing in it can stop attini's process group.
// The watchdog (automation/attiniProcess.ts) does: it holds the read end of a pipe that only the
// driver writes to, and stops the group when that pipe closes without the driver's "done". These
// tests run runAttini in a throwaway Node process with a fake attini (a shell script whose child
// ignores SIGTERM), SIGKILL that process, and wait, with a deadline, for the whole group to go.
// Also: a released watchdog signals nothing, and without a shell one line says what is lost.
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import { startWatchdog, WATCHDOG_NAME } from "../automation/attiniProcess";
import { alive, eventually } from "./support/processes";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-watchdog-"));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** The pids of the watchdogs that watch process group `pgid` (their argv: sh -c SCRIPT NAME PGID GRACE). */
function watchdogsOf(pgid: number): number[] {
    return fs
        .readdirSync("/proc")
        .filter((d) => /^\d+$/.test(d))
        .filter((d) => {
            try {
                const argv = fs.readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
                return argv[3] === WATCHDOG_NAME && argv[4] === String(pgid) && alive(Number(d));
            } catch {
                return false;
            }
        })
        .map(Number);
}

/** A fake attini: records its pid, starts a child that ignores SIGTERM (and records its pid), then sleeps. */
function fakeAttini(): { bin: string; pids: () => { attini?: number; child?: number } } {
    const dir = path.join(tmp, `attini-${n++}`);
    fs.mkdirSync(dir);
    const bin = path.join(dir, "attini");
    fs.writeFileSync(
        bin,
        `#!/bin/sh
sh -c 'trap "" TERM INT HUP; echo $$ > "${dir}/child.pid.tmp"; mv "${dir}/child.pid.tmp" "${dir}/child.pid"; while :; do sleep 1; done' &
echo $$ > "${dir}/attini.pid.tmp"; mv "${dir}/attini.pid.tmp" "${dir}/attini.pid"
exec sleep 600
`,
        { mode: 0o755 },
    );
    const read = (f: string) => {
        try {
            return Number(fs.readFileSync(path.join(dir, f), "utf8").trim());
        } catch {
            return undefined;
        }
    };
    return { bin, pids: () => ({ attini: read("attini.pid"), child: read("child.pid") }) };
}

/** A stand-in driver: a Node process that runs attini through runAttini, as deploy does. */
function driver(bin: string): ChildProcess {
    const script = `const { runAttini } = require(${JSON.stringify(require.resolve("../automation/attiniProcess"))});
runAttini({ bin: ${JSON.stringify(bin)}, args: ["deploy", "run", "dist"], env: process.env, timeoutSeconds: 0,
    stdoutToStderr: false, killGraceMs: 1000, log: (l) => process.stderr.write(l + "\\n") });`;
    return spawn(process.execPath, ["-e", script], { stdio: ["ignore", "ignore", "pipe"] });
}

test("a driver killed with SIGKILL leaves no process of attini's group behind, not even one that ignores SIGTERM", async (t) => {
    const attini = fakeAttini();
    const d = driver(attini.bin);
    let stderr = "";
    d.stderr!.on("data", (b) => (stderr += b));
    t.teardown(() => {
        const { attini: a, child } = attini.pids();
        for (const pid of [a, child]) if (pid && alive(pid)) process.kill(pid, "SIGKILL");
    });
    t.true(await eventually(() => attini.pids().child !== undefined && attini.pids().attini !== undefined, 20_000));
    const { attini: pgid, child } = attini.pids() as { attini: number; child: number };
    t.true(await eventually(() => watchdogsOf(pgid).length === 1, 10_000), "the watchdog is running");
    t.true(alive(pgid) && alive(child));
    const exited = new Promise((r) => d.on("exit", (_code, signal) => r(signal)));
    d.kill("SIGKILL");
    t.is(await exited, "SIGKILL");
    t.true(await eventually(() => !alive(pgid), 20_000), `attini (${pgid}) outlived the driver`);
    t.true(await eventually(() => !alive(child), 20_000), `attini's child (${child}) outlived the driver`);
    t.true(await eventually(() => watchdogsOf(pgid).length === 0, 20_000), "the watchdog ends too");
    t.notRegex(stderr, /may outlive/);
});

test("a released watchdog signals nothing: on the driver's normal path it only exits", async (t) => {
    const sleeper = spawn("sleep", ["600"], { detached: true, stdio: "ignore" });
    t.teardown(() => sleeper.kill("SIGKILL"));
    const pgid = sleeper.pid!;
    const lines: string[] = [];
    const w = startWatchdog(pgid, 1000, (l) => lines.push(l));
    t.true(await eventually(() => watchdogsOf(pgid).length === 1, 10_000));
    w.release();
    t.true(await eventually(() => watchdogsOf(pgid).length === 0, 10_000), "the watchdog exits once released");
    t.true(alive(pgid), "the group it watched was left alone");
    t.deepEqual(lines, []);
});

test("without a shell to run the watchdog, one line says that attini may outlive a killed driver", async (t) => {
    const lines: string[] = [];
    const said = new Promise<void>((resolve) => {
        const w = startWatchdog(
            4_000_000,
            1000,
            (l) => {
                lines.push(l);
                resolve();
            },
            path.join(tmp, "no-such-shell"),
        );
        w.release(); // harmless when there is no watchdog
    });
    await said;
    t.is(lines.length, 1);
    t.regex(
        lines[0],
        /^attini may outlive this driver if the driver is killed with SIGKILL: its watchdog \(.*no-such-shell\) could not start: .*ENOENT/,
    );
    // Nor for a process group that no watchdog may signal (0 and 1 would reach far more than attini).
    for (const pgid of [0, 1, -5, 1.5]) {
        const before = lines.length;
        startWatchdog(pgid, 1000, (l) => lines.push(l));
        t.is(lines.length, before + 1, String(pgid));
        t.regex(lines.at(-1)!, /is not a process group the watchdog can stop/);
    }
});
