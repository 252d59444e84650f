/**
 * The hand-off between the parent of a deploy of several targets (waves.ts) and its child drivers.
 * Why: a child that read its own stack outputs started a Pulumi workspace and two or three Pulumi
 * CLIs of its own (about 100 MB each), so N targets at once cost N times that. The parent reads
 * every target's outputs (and its upstream's) once, through one workspace and no more CLIs at once
 * than the machine has cores, and writes them, raw, as one JSON line on the child's stdin. The
 * child checks them exactly as it checks outputs it read itself (checkedOutputs), so the same
 * settings decide, from the same backend; a stack it was handed nothing for is refused, never read
 * from elsewhere.
 *
 * The pipe stays open while the child runs: only the parent holds its other end, and the kernel
 * closes that whenever the parent dies, however it dies (SIGKILL too). The child takes the end of
 * its stdin as a SIGTERM to itself, so a killed parent leaves no deploy running.
 */
import pLimit from "p-limit";
import type { StackConfig } from "../lib/config/types";
import { DriverError, Exit } from "./errors";
import { checkedOutputs, openWorkspace, type readOutputs, readRawOutputs, type Workspace } from "./outputs";
import type { Services } from "./services";

/** Set by the parent in a child's environment: the outputs come on stdin, and the parent's end closes with it. */
export const HANDOFF_ENV = "ATTINI_GITOPS_HANDOFF";
export const HANDOFF_STDIN = "stdin";

/**
 * The most characters a hand-off line may hold (a target's two stacks, each read with the Pulumi
 * CLI's 16 MiB bound), and how long a child waits for it.
 */
export const MAX_HANDOFF_CHARS = 2 * 16 * 1024 * 1024 + 1024;
export const HANDOFF_WAIT_MS = 60_000;

/** A stack's outputs as the parent read them, or the DriverError its read ended with. */
export type HandedStack = { raw: Record<string, unknown> } | { error: { exitCode: number; message: string } };

/** The hand-off: every stack the child's deploy reads, by name. */
export type Handoff = Record<string, HandedStack>;

/** What a child says when its hand-off cannot be used: for whoever set the variable by hand, and otherwise. */
function handoffProblem(what: string): DriverError {
    return new DriverError(
        Exit.INTERNAL,
        `${what}. If you set ${HANDOFF_ENV} yourself, unset it (attini-gitops sets it for its own child drivers only); otherwise deploy this target alone, with --stack.`,
    );
}

/** The parent's read of one stack, as it is handed on: a failure becomes its exit code and message. */
export async function handedStack(read: () => Promise<Record<string, unknown>>): Promise<HandedStack> {
    try {
        return { raw: await read() };
    } catch (e) {
        return e instanceof DriverError
            ? { error: { exitCode: e.exitCode, message: e.message } }
            : { error: { exitCode: Exit.INTERNAL, message: `internal error: ${(e as Error)?.message ?? String(e)}` } };
    }
}

/** How the parent reads one stack's raw outputs; `stop` kills the read. */
export type RawRead = (c: StackConfig, stop: AbortSignal) => Promise<Record<string, unknown>>;

/** The real read: readRawOutputs through one workspace for all, opened at the first read. */
export function cliRead(projectDir: string, timeoutMs: number): RawRead {
    let workspace: Workspace | undefined;
    return (c, stop) => {
        workspace ??= openWorkspace(projectDir);
        return readRawOutputs(projectDir, c, timeoutMs, workspace, stop);
    };
}

/**
 * The parent's reader: the hand-off line for a target, its own stack's outputs and its upstream's,
 * read when its wave starts. Within a wave each stack is read once however many targets need it;
 * a later wave reads again (an upstream may have been provisioned anew meanwhile). No more reads
 * at once than `readers`. Once `stop` is aborted (a signal), reads running are killed and none
 * more start.
 */
export function handoffReader(
    configs: readonly StackConfig[],
    readers: number,
    read: RawRead,
): (target: { stack: string; wave: number }, stop: AbortSignal) => Promise<string> {
    const limit = pLimit(readers);
    const memo = new Map<string, Promise<HandedStack>>();
    const once = (c: StackConfig, wave: number, stop: AbortSignal) => {
        const key = `${wave}\u0000${c.stack}`;
        let entry = memo.get(key);
        if (entry === undefined) {
            entry = limit(() =>
                handedStack(() => {
                    if (stop.aborted) throw new Error("stopped before the read began");
                    return read(c, stop);
                }),
            );
            memo.set(key, entry);
        }
        return entry;
    };
    return async ({ stack, wave }, stop) => {
        const c = configs.find((x) => x.stack === stack);
        if (c === undefined) throw new Error(`no stack ${stack} among the validated stacks`);
        const upstream = configs.find((x) => x.stack === c.promotedFrom);
        const [own, up] = await Promise.all([once(c, wave, stop), upstream ? once(upstream, wave, stop) : undefined]);
        return encodeHandoff({ [c.stack]: own, ...(upstream && up ? { [upstream.stack]: up } : {}) });
    };
}

/** The line the parent writes on a child's stdin. */
export function encodeHandoff(handoff: Handoff): string {
    return `${JSON.stringify(handoff)}\n`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Parses a hand-off line; throws (INTERNAL) on anything but the shape encodeHandoff writes. */
export function decodeHandoff(line: string): Handoff {
    const bad = (why: string) =>
        handoffProblem(`the stack outputs handed over by the parent driver cannot be used (${why})`);
    let parsed: unknown;
    try {
        parsed = JSON.parse(line);
    } catch {
        throw bad("not JSON");
    }
    if (!isRecord(parsed)) throw bad("not an object of stacks");
    for (const [stack, entry] of Object.entries(parsed)) {
        const ok =
            isRecord(entry) &&
            (isRecord(entry.raw) ||
                (isRecord(entry.error) &&
                    Number.isInteger(entry.error.exitCode) &&
                    typeof entry.error.message === "string"));
        if (!ok) throw bad(`stack ${JSON.stringify(stack).slice(0, 80)} has neither outputs nor an error`);
    }
    return parsed as Handoff;
}

/**
 * A readOutputs for the child: the handed outputs, checked as if it had read them itself. A stack
 * missing from the hand-off is refused (the parent reads every stack the child's deploy reads).
 */
export function handedOutputs(handoff: Handoff): typeof readOutputs {
    return async (_projectDir: string, c: StackConfig, configs: readonly StackConfig[]) => {
        const entry = Object.hasOwn(handoff, c.stack) ? handoff[c.stack] : undefined;
        if (entry === undefined)
            throw new DriverError(
                Exit.INTERNAL,
                `the parent driver handed over no outputs for stack ${c.stack}: this is a bug in attini-gitops. Deploy this target alone with --stack ${c.stack}.`,
            );
        if ("error" in entry) throw new DriverError(entry.error.exitCode, entry.error.message);
        return checkedOutputs(c, configs, entry.raw);
    };
}

/**
 * Reads the hand-off line from the child's stdin (bounded in size and time), then watches for the
 * end of the stream: `onParentGone` runs once, when the parent's end closes. The stream no longer
 * keeps the process alive once the line is read.
 */
export function receiveHandoff(
    stdin: NodeJS.ReadStream,
    onParentGone: () => void,
    limits = { maxChars: MAX_HANDOFF_CHARS, waitMs: HANDOFF_WAIT_MS },
): Promise<Handoff> {
    return new Promise((resolve, reject) => {
        let text = "";
        let got = false; // settled, either way
        let handed = false; // settled with the hand-off
        const fail = (why: string) => {
            if (got) return;
            got = true;
            clearTimeout(timer);
            reject(handoffProblem(`no stack outputs from the parent driver: ${why}`));
        };
        const timer = setTimeout(() => fail(`none came within ${limits.waitMs / 1000}s`), limits.waitMs);
        stdin.setEncoding("utf8");
        stdin.on("data", (chunk: string) => {
            if (got) return;
            text += chunk;
            const newline = text.indexOf("\n");
            if (newline < 0) {
                if (text.length > limits.maxChars)
                    fail(`more than ${limits.maxChars} characters without an end of line`);
                return;
            }
            got = true;
            clearTimeout(timer);
            (stdin as NodeJS.ReadStream & { unref?: () => void }).unref?.();
            try {
                resolve(decodeHandoff(text.slice(0, newline)));
                handed = true;
            } catch (e) {
                reject(e);
            }
        });
        let gone = false;
        const parentGone = () => {
            if (!handed) return fail("the parent driver ended before it handed them over");
            if (gone) return;
            gone = true;
            onParentGone();
        };
        stdin.on("end", parentGone);
        stdin.on("close", parentGone);
        stdin.on("error", parentGone);
    });
}

/**
 * What a child does when its parent's end of stdin closes: what a SIGTERM does to it, through the
 * handlers the deploy has in place (they forward it to attini, or undo what is half-done). With
 * none in place, after attini has ended or before the deploy has begun, it does nothing: the deploy
 * completes its record and exits, instead of dying with it half-written. It runs on the next turn
 * of the event loop, so that a deploy about to begin has its handlers in place.
 */
export function stopAsOnSigterm(proc: Pick<NodeJS.Process, "listenerCount" | "emit"> = process): () => void {
    return () =>
        setImmediate(() => {
            if (proc.listenerCount("SIGTERM") > 0) proc.emit("SIGTERM", "SIGTERM");
        });
}

/**
 * A child's services: when its parent handed over the outputs (HANDOFF_ENV), readOutputs serves
 * them, and the parent's end stops this process as a SIGTERM would (stopAsOnSigterm). Otherwise the
 * services as they are. The variable goes no further (not to attini).
 */
export async function childServices(s: Services, stack: string | undefined): Promise<Services> {
    const mode = s.env[HANDOFF_ENV];
    if (mode === undefined) return s;
    delete s.env[HANDOFF_ENV];
    if (mode !== HANDOFF_STDIN || stack === undefined)
        throw new DriverError(
            Exit.USAGE,
            `${HANDOFF_ENV} is set only by attini-gitops for its own child drivers (each with --stack): unset it and run deploy again.`,
        );
    // With the parent gone its pipes are closed: cli.ts keeps a failed write from ending this process.
    const stop = stopAsOnSigterm();
    const handoff = await receiveHandoff(process.stdin, () => {
        s.log.info("the parent driver has ended: stopping as on SIGTERM");
        stop();
    });
    return { ...s, readOutputs: handedOutputs(handoff) };
}
