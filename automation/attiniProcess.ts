/**
 * Runs attini as a child process, without a shell. attini leads a process group of its own:
 * SIGINT/SIGTERM (and SIGHUP, as SIGTERM) are forwarded to the group, --timeout and the SIGKILL
 * after the grace period reach all of it, and nothing it started outlives it. Streams its output
 * and returns its exit code. What it runs with is attini.ts's.
 */
import { spawn } from "node:child_process";
import * as os from "node:os";
import { DriverError, Exit } from "./errors";

/** The shell convention for death by signal: 128 + its number (SIGHUP 129, SIGINT 130, SIGTERM 143). */
const signalExit = (sig: NodeJS.Signals) => 128 + (os.constants.signals[sig] ?? 0);

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
}

export interface AttiniResult {
    /** The exit code to exit with: attini's own, 124 on --timeout, 128+n when a signal ended it. */
    exitCode: number;
    ended: "exit" | "timeout" | "signal";
}

/** The signals the driver forwards to attini's process group; SIGHUP (a closed terminal or CI agent) is handled like SIGTERM. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

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
            stdio: ["inherit", o.stdoutToStderr ? 2 : "inherit", "inherit"],
            shell: false,
            detached: true,
        });
        const pgid = child.pid;
        let timedOut = false;
        let forwarded: NodeJS.Signals | undefined;
        const grace = o.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
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
        const done = () => {
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
            if (killTimer) clearTimeout(killTimer);
            reject(new DriverError(Exit.USAGE, `could not start attini (${o.bin}): ${err.message}`));
        });
        child.on("exit", (code, signal) => {
            done();
            void reapGroup().finally(() => {
                if (killTimer) clearTimeout(killTimer);
                if (timedOut) return resolve({ exitCode: Exit.TIMEOUT, ended: "timeout" });
                if (forwarded) return resolve({ exitCode: signalExit(forwarded), ended: "signal" });
                if (signal) return resolve({ exitCode: signalExit(signal), ended: "signal" });
                resolve({ exitCode: code ?? 1, ended: "exit" });
            });
        });
    });
}
