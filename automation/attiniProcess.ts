/**
 * Runs attini as a child process, without a shell. attini leads a process group of its own:
 * SIGINT/SIGTERM (and SIGHUP, as SIGTERM) are forwarded to the group, --timeout and the SIGKILL
 * after the grace period reach all of it, and nothing it started outlives it, not even when the
 * driver itself is killed with SIGKILL (a watchdog stops the group then). Streams its output and
 * returns its exit code. What it runs with is attini.ts's.
 */
import { type ChildProcess, spawn } from "node:child_process";
import type * as net from "node:net";
import * as os from "node:os";
import { DriverError, Exit } from "./errors";

/** The shell convention for death by signal: 128 + its number (SIGHUP 129, SIGINT 130, SIGTERM 143). */
export const signalExit = (sig: NodeJS.Signals) => 128 + (os.constants.signals[sig] ?? 0);

/** How long attini's process group gets between SIGTERM and SIGKILL by default. */
export const DEFAULT_KILL_GRACE_MS = 10_000;

/** The longest delay Node's timers can hold (2^31-1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * setTimeout for any delay: a delay beyond what one timer holds is waited for in several steps.
 * Returns the function that cancels it.
 */
export function longTimeout(fn: () => void, ms: number): () => void {
    let timer: NodeJS.Timeout;
    const due = Date.now() + ms;
    const arm = () => {
        const left = due - Date.now();
        timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(fn, Math.max(0, left));
    };
    arm();
    return () => clearTimeout(timer);
}

export interface RunOptions {
    bin: string;
    args: string[];
    env: NodeJS.ProcessEnv;
    /** Seconds; 0 means no limit. */
    timeoutSeconds: number;
    /** Where attini's stdout goes: ours, or our stderr (when --json keeps stdout for the summary). */
    stdoutToStderr: boolean;
    log: (line: string) => void;
    /** Grace period between SIGTERM and SIGKILL (--kill-grace). */
    killGraceMs?: number;
    /** Stops attini's process group (SIGTERM, then SIGKILL after the grace period) when aborted. */
    stop?: AbortSignal;
}

export interface AttiniResult {
    /** The exit code to exit with: attini's own, 124 on --timeout, 128+n when a signal ended it. */
    exitCode: number;
    ended: "exit" | "timeout" | "signal" | "stopped";
}

/** The signals the driver forwards to attini's process group; SIGHUP (a closed terminal or CI agent) is handled like SIGTERM. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * The watchdog's script, run by /bin/sh: it waits on a pipe from the driver. The driver writes
 * "done" once attini's process group is empty; if the pipe closes first, the driver has died
 * without cleaning up (SIGKILL, which no handler sees, or a crash), and the watchdog stops the
 * group as the driver would have: SIGTERM, then SIGKILL once the grace period is over.
 * $1: attini's process group; $2: the grace period in whole seconds.
 */
const WATCHDOG_SCRIPT = `read -r said
[ "$said" = done ] && exit 0
kill -TERM -"$1" 2>/dev/null || exit 0
i=0
while [ "$i" -lt "$2" ] && kill -0 -"$1" 2>/dev/null; do sleep 1; i=$((i + 1)); done
kill -KILL -"$1" 2>/dev/null
exit 0`;

/** The name the watchdog runs under (its $0), so that `ps` says what it is. */
export const WATCHDOG_NAME = "attini-gitops-watchdog";

export interface Watchdog {
    /** Tells the watchdog that attini's group is empty and the driver is done with it: it exits without a signal. */
    release(): void;
}

/**
 * Starts the watchdog of attini's process group: a shell in a session of its own (so that a
 * signal to the driver's process group, or a CI runner killing that group, does not take it
 * along), whose stdin is a pipe from the driver that only the driver holds. The kernel closes the
 * pipe whenever the driver dies, however it dies, and the watchdog then stops the group (see
 * WATCHDOG_SCRIPT). Without /bin/sh (or on Windows) there is no watchdog: one line says so, and
 * the rest of the driver's process handling works as before.
 */
export function startWatchdog(pgid: number, graceMs: number, log: (line: string) => void, shell = "/bin/sh"): Watchdog {
    const noWatchdog = (why: string) =>
        log(`attini may outlive this driver if the driver is killed with SIGKILL: ${why}`);
    const nothing: Watchdog = { release() {} };
    if (process.platform === "win32") {
        noWatchdog("there is no process-group watchdog on Windows");
        return nothing;
    }
    if (!Number.isSafeInteger(pgid) || pgid <= 1) {
        noWatchdog(`${pgid} is not a process group the watchdog can stop`);
        return nothing;
    }
    let watchdog: ChildProcess;
    try {
        watchdog = spawn(
            shell,
            ["-c", WATCHDOG_SCRIPT, WATCHDOG_NAME, String(pgid), String(Math.ceil(graceMs / 1000))],
            {
                stdio: ["pipe", "ignore", "ignore"],
                detached: true,
                // Only what sh needs to find sleep: none of the driver's variables.
                env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
            },
        );
    } catch (e) {
        noWatchdog(`its watchdog (${shell}) could not start: ${(e as Error).message}`);
        return nothing;
    }
    watchdog.on("error", (e) => noWatchdog(`its watchdog (${shell}) could not start: ${e.message}`));
    const pipe = watchdog.stdin as net.Socket | null;
    pipe?.on("error", () => {
        /* the watchdog is gone: there is nothing to tell it */
    });
    // Neither keeps the driver running once it is done.
    watchdog.unref();
    pipe?.unref();
    return {
        release: () => {
            if (pipe && !pipe.destroyed) pipe.end("done\n");
        },
    };
}

/** Sends a signal to every process of a group; false when the group has no process left. */
function signalGroup(pgid: number, sig: NodeJS.Signals | 0): boolean {
    try {
        process.kill(-pgid, sig);
        return true;
    } catch {
        return false;
    }
}

/**
 * Runs attini and resolves with how it ended. attini leads a process group of its own, so that a
 * forwarded signal, the --timeout and the SIGKILL after the grace period reach every process it
 * started (a launcher script's JVM, say), and none of them outlives the driver: once attini has
 * exited, whatever is left of its group gets SIGTERM and, after the grace period, SIGKILL.
 */
export function runAttini(o: RunOptions): Promise<AttiniResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(o.bin, o.args, {
            env: o.env,
            // No stdin: attini runs with -f, so it asks nothing, and a child driver's stdin is its
            // parent's hand-off pipe (handoff.ts), which never ends while the parent runs.
            stdio: ["ignore", o.stdoutToStderr ? 2 : "inherit", "inherit"],
            shell: false,
            detached: true,
        });
        const pgid = child.pid;
        let timedOut = false;
        let forwarded: NodeJS.Signals | undefined;
        const grace = o.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
        // Started at once: a SIGKILL can end the driver from here on. (Between attini's spawn and
        // this line, within one synchronous step, nothing watches the group yet.)
        const watchdog = pgid === undefined ? undefined : startWatchdog(pgid, grace, o.log);
        let killTimer: NodeJS.Timeout | undefined;
        const terminate = (sig: NodeJS.Signals) => {
            if (pgid === undefined) return;
            signalGroup(pgid, sig);
            killTimer ??= setTimeout(() => signalGroup(pgid, "SIGKILL"), grace);
        };
        const handlers = FORWARDED_SIGNALS.map((sig) => {
            const handler = () => {
                forwarded = sig;
                o.log(`received ${sig}; forwarding ${sig === "SIGHUP" ? "SIGTERM" : sig} to attini's process group`);
                terminate(sig === "SIGHUP" ? "SIGTERM" : sig);
            };
            process.on(sig, handler);
            return [sig, handler] as const;
        });
        const cancelTimeout =
            o.timeoutSeconds > 0
                ? longTimeout(() => {
                      timedOut = true;
                      o.log(`attini did not finish within --timeout ${o.timeoutSeconds}s; stopping it`);
                      terminate("SIGTERM");
                  }, o.timeoutSeconds * 1000)
                : undefined;
        let stopped = false;
        const onStop = () => {
            stopped = true;
            o.log(`stopping attini: ${String(o.stop?.reason ?? "asked to")}`);
            terminate("SIGTERM");
        };
        if (o.stop?.aborted) onStop();
        else o.stop?.addEventListener("abort", onStop, { once: true });
        const done = () => {
            o.stop?.removeEventListener("abort", onStop);
            cancelTimeout?.();
            for (const [sig, handler] of handlers) process.off(sig, handler);
        };
        /** Waits until attini's group is empty, ending what is left of it (TERM, then KILL after the grace period). */
        const reapGroup = async () => {
            if (pgid === undefined || !signalGroup(pgid, 0)) return;
            o.log("attini left processes running in its process group; stopping them");
            terminate("SIGTERM");
            const until = Date.now() + grace + 1000;
            while (signalGroup(pgid, 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
            signalGroup(pgid, "SIGKILL");
        };
        child.on("error", (err) => {
            done();
            watchdog?.release();
            if (killTimer) clearTimeout(killTimer);
            reject(new DriverError(Exit.USAGE, `could not start attini (${o.bin}): ${err.message}`));
        });
        child.on("exit", (code, signal) => {
            done();
            void reapGroup().finally(() => {
                watchdog?.release(); // the group is empty: nothing is left to watch
                if (killTimer) clearTimeout(killTimer);
                if (timedOut) return resolve({ exitCode: Exit.TIMEOUT, ended: "timeout" });
                if (stopped) return resolve({ exitCode: Exit.LEASE_LOST, ended: "stopped" });
                if (forwarded) return resolve({ exitCode: signalExit(forwarded), ended: "signal" });
                if (signal) return resolve({ exitCode: signalExit(signal), ended: "signal" });
                resolve({ exitCode: code ?? 1, ended: "exit" });
            });
        });
    });
}
