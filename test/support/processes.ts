/**
 * Processes as the tests see them: whether one still runs, and a bounded wait for a condition.
 * No harness: unit tests may use it too.
 */
import * as fs from "node:fs";

/** Whether a process exists and is not a zombie waiting to be reaped. */
export function alive(pid: number): boolean {
    try {
        return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
        return false;
    }
}

/** Polls `ok` (which may ask asynchronously) every 50 ms until it holds or `ms` have passed; whether it held. Never asserts on time itself. */
export async function eventually(ok: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!(await ok()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return ok();
}
