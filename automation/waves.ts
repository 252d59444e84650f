/**
 * `deploy` on a branch with several targets and no --stack: every target, wave by wave. Why child
 * processes: deploy() owns the process's signal handling, and a process per target guarantees
 * that no credentials, endpoint, lease or attini process group is shared between targets. Each
 * target runs as `<node> <cli.js> deploy --stack <name> --json <the user's other options>`, exactly
 * as one target deployed alone; this module only orders them, bounds how many run at once,
 * reads their stack outputs once and hands them over (handoff.ts), prefixes their stderr lines,
 * forwards signals, and reports a table and one exit code.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pLimit from "p-limit";
import type { StackConfig } from "../lib/config/types";
import { FORWARDED_SIGNALS, signalExit } from "./attiniProcess";
import { resolveBranch } from "./branch";
import type { CommandContext } from "./commands/command";
import { DriverError, Exit } from "./errors";
import { gitIn } from "./git";
import { HANDOFF_ENV, HANDOFF_STDIN } from "./handoff";
import { printable } from "./log";
import { describeWaves, type ProjectStacks, targetsFor, wavesOf } from "./project";
import { table } from "./summaryMarkdown";
import { publishSummary, type SummaryDestinations } from "./summaryOutput";

/** What the parent knows of a target before it runs: validated stack-file values only. */
export interface WaveTarget {
    stack: string;
    accountId: string;
    region: string;
    wave: number;
}

export interface Wave {
    wave: number;
    targets: WaveTarget[];
}

/** The waves to run, first wave first; each wave's targets in the order given (targetsFor's). Pure. */
export function planWaves(targets: readonly WaveTarget[]): Wave[] {
    return wavesOf(targets).map((w) => ({ wave: w.wave, targets: w.stacks }));
}

/** --parallel's default and bounds. */
export const DEFAULT_PARALLEL = 4;
export const PARALLEL_RANGE = { min: 1, max: 64 } as const;

/**
 * How long, past the kill grace and the time a child's ledger record may take to complete, the
 * parent waits for signalled children before SIGKILL (childWaitMs). The record may take four AWS
 * steps, each bounded by --aws-timeout (its write in flight; the transaction that completes it and
 * releases the lease; if that fails, the completion alone, then the lease's release), after a
 * renewal of the lease in flight (at most a third of --lease-ttl).
 */
export const CHILD_WAIT_MARGIN_MS = 15_000;

/** How long after a signal the parent waits for its children before SIGKILL: see CHILD_WAIT_MARGIN_MS. */
export function childWaitMs(killGraceMs: number, awsTotalMs: number, leaseTtlMs: number): number {
    return killGraceMs + 4 * awsTotalMs + Math.ceil(leaseTtlMs / 3) + CHILD_WAIT_MARGIN_MS;
}

/** The most of a child's stdout (its --json summary) that is kept; more is dropped and reported. */
export const MAX_CHILD_STDOUT = 1024 * 1024;

/** The longest partial stderr line kept before it is printed as it is (a child that never ends a line). */
export const MAX_LINE = 16 * 1024;

/** How a target ended, as the table and --json show it. */
export type TargetResult = "deployed" | "dry-run" | "failed" | "error" | "interrupted" | "not started";

export interface TargetReport extends WaveTarget {
    result: TargetResult;
    /** The child's exit code (128+signal if it died by one); undefined when it was not started. */
    exitCode?: number;
    durationMs: number;
    startedAt?: number;
    endedAt?: number;
    /** The child's own --json output (its summary or its error report), when it printed one that parsed. */
    report?: unknown;
    /** Why there is no report, or why the target did not start. */
    note?: string;
}

/** A target deployed (or passed its dry run): exit 0 and a summary that says so; nothing else counts. */
export const succeeded = (r: { exitCode?: number; result: TargetResult }) =>
    r.exitCode === 0 && (r.result === "deployed" || r.result === "dry-run");

/**
 * The exit code of a multi-target deploy: 128+signal when the parent itself was ended by one;
 * else 0 when every target succeeded(); else SOME_TARGETS_FAILED. Pure.
 */
export function wavesExitCode(
    reports: readonly { exitCode?: number; result: TargetResult }[],
    signal?: NodeJS.Signals,
): number {
    if (signal) return signalExit(signal);
    return reports.every(succeeded) ? Exit.OK : Exit.SOME_TARGETS_FAILED;
}

/**
 * Splits a child's stderr into whole lines, each written as `[<stack>] <line>`, made printable
 * (the child has escaped its own text; attini's, passed through, is escaped here). A partial
 * line waits for its end, up to MAX_LINE characters.
 */
export class LinePrefixer {
    private partial = "";
    constructor(
        private readonly prefix: string,
        private readonly write: (line: string) => void,
        private readonly maxLine = MAX_LINE,
    ) {}

    push(chunk: string): void {
        const parts = (this.partial + chunk).split("\n");
        this.partial = parts.pop() ?? "";
        for (const line of parts) this.emit(line);
        while (this.partial.length > this.maxLine) {
            this.emit(this.partial.slice(0, this.maxLine));
            this.partial = this.partial.slice(this.maxLine);
        }
    }

    /** The last line, if the child ended without a line break. */
    end(): void {
        if (this.partial !== "") this.emit(this.partial);
        this.partial = "";
    }

    private emit(line: string): void {
        this.write(`[${this.prefix}] ${printable(line.replace(/\r$/, ""))}\n`);
    }
}

/** "12.3s" */
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** Each target's cells: its stack, account, region, wave, result, exit code and duration. Pure. */
function tableRows(reports: readonly TargetReport[]): string[][] {
    return reports.map((r) => [
        r.stack,
        r.accountId,
        r.region,
        String(r.wave),
        r.result,
        r.exitCode === undefined ? "-" : String(r.exitCode),
        r.exitCode === undefined ? "-" : seconds(r.durationMs),
    ]);
}

/** The table printed at the end: target, account, region, wave, result, exit code, duration. Pure. */
export function formatTable(reports: readonly TargetReport[]): string {
    const rows = [["target", "account", "region", "wave", "result", "exit", "duration"], ...tableRows(reports)];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
    return rows
        .map((row) =>
            row
                .map((cell, i) => cell.padEnd(widths[i]))
                .join("  ")
                .trimEnd(),
        )
        .join("\n");
}

/**
 * The same table in Markdown, for the job summary (summaryMarkdown.ts's table). Its cells are
 * validated stack names, account ids and regions, numbers and fixed words. Pure.
 */
export function markdownTable(reports: readonly TargetReport[]): string {
    return table(["target", "account", "region", "wave", "result", "exit code", "duration"], tableRows(reports));
}

/** The options a child must not get from the parent: it gets its own --stack, --json and summary file. */
const PARENT_ONLY = new Set(["stack", "json", "parallel", "help", "summary-file", "no-step-summary"]);

/**
 * A child's arguments: `deploy`, every option the user gave (but PARENT_ONLY's) unchanged, the
 * distribution, then --stack, --json and, when the parent publishes a summary, the child's own
 * summary file (and never $GITHUB_STEP_SUMMARY: the parent appends each child's summary in
 * order), then `-- ATTINI_ARGS`. String values as `--name=value`, so that one starting with '-'
 * stays a value. Pure.
 */
export function childArgs(
    values: Record<string, string | boolean | undefined>,
    positionals: readonly string[],
    extra: readonly string[],
    stack: string,
    summaryFile: string | undefined,
): string[] {
    const args = ["deploy"];
    for (const [name, value] of Object.entries(values)) {
        if (PARENT_ONLY.has(name) || value === undefined || value === false) continue;
        args.push(value === true ? `--${name}` : `--${name}=${value}`);
    }
    args.push(...positionals, `--stack=${stack}`, "--json", "--no-step-summary");
    if (summaryFile !== undefined) args.push(`--summary-file=${summaryFile}`);
    if (extra.length > 0) args.push("--", ...extra);
    return args;
}

/** One running target, as the runner sees it (a real child process, or a fake in the unit tests). */
export interface TargetProcess {
    readonly pid?: number;
    readonly stdout: NodeJS.ReadableStream;
    readonly stderr: NodeJS.ReadableStream;
    kill(signal: NodeJS.Signals): void;
    /** Its exit code, or 128+signal when a signal ended it; once its output streams have closed. */
    readonly exited: Promise<number>;
}

/** Starts a target's child with its arguments and, when given, its hand-off line (handoff.ts) on stdin. */
export type SpawnTarget = (args: readonly string[], handoff?: string) => TargetProcess;

/**
 * The real launcher: this driver's own cli.js under this node, in the parent's folder and
 * environment. Each child leads a process group of its own, so that a signal reaches it once,
 * forwarded by the parent (a terminal's Ctrl-C goes to the parent's group only), as attini's
 * group gets it once from its driver. With a hand-off, the child's stdin is a pipe that only this
 * process holds: it carries the hand-off line, then stays open until this process ends (however
 * it ends), which the child takes as the signal to stop (handoff.ts).
 */
export function spawnCli(env: NodeJS.ProcessEnv, cliPath = path.join(__dirname, "cli.js")): SpawnTarget {
    return (args, handoff) => {
        const child = spawn(process.execPath, [cliPath, ...args], {
            stdio: ["pipe", "pipe", "pipe"],
            env: handoff === undefined ? env : { ...env, [HANDOFF_ENV]: HANDOFF_STDIN },
            detached: true,
        });
        child.stdin.on("error", () => {
            /* the child is gone: its exit code says how it ended */
        });
        if (handoff === undefined) child.stdin.end();
        else {
            child.stdin.write(handoff);
            (child.stdin as unknown as { unref?: () => void }).unref?.();
        }
        const exited = new Promise<number>((resolve) => {
            child.on("error", () => resolve(Exit.INTERNAL));
            child.on("close", (code, signal) => resolve(code ?? (signal ? signalExit(signal) : Exit.INTERNAL)));
        });
        return {
            pid: child.pid,
            stdout: child.stdout,
            stderr: child.stderr,
            kill: (sig) => {
                if (child.exitCode === null && child.signalCode === null) child.kill(sig);
            },
            exited,
        };
    };
}

/** The hand-off line for a target's child (handoff.ts's handoffReader); `stop` is aborted by a signal. */
export type HandoffFor = (target: WaveTarget, stop: AbortSignal) => Promise<string>;

/** Subscribes to the signals the parent forwards; returns the unsubscribe. */
export type SignalSource = (handler: (sig: NodeJS.Signals) => void) => () => void;

export interface WavesRun {
    targets: readonly WaveTarget[];
    parallel: number;
    /** The child's arguments for a target, given its summary file (undefined: no summary). */
    argsFor: (stack: string, summaryFile: string | undefined) => string[];
    /** How long after a signal the children get before SIGKILL (childWaitMs; the unit tests shorten it). */
    waitMs: number;
    /** A folder for the children's summaries, when the parent publishes one. */
    summaryDir?: string;
    spawnTarget: SpawnTarget;
    /** The hand-off line for a target's child (its stack outputs, read by this process); none: the child reads them. */
    handoff?: HandoffFor;
    signals: SignalSource;
    now: () => number;
    /** One line of the parent's own (made printable by the caller's logger). */
    info: (line: string) => void;
    /** Writes prefixed child lines to stderr. */
    writeErr: (text: string) => void;
}

export interface WavesOutcome {
    reports: TargetReport[];
    exitCode: number;
    signal?: NodeJS.Signals;
    /** Each target's own Markdown summary, in target order (those that wrote one). */
    summaries: string[];
}

/** Reads a child's stdout up to MAX_CHILD_STDOUT characters; the rest is counted and dropped. */
function collect(stream: NodeJS.ReadableStream): () => { text: string; overflow: boolean } {
    let text = "";
    let overflow = false;
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
        if (text.length + chunk.length > MAX_CHILD_STDOUT) overflow = true;
        else text += chunk;
    });
    return () => ({ text, overflow });
}

/** The target's result from its exit code and its --json output. */
function resultOf(exitCode: number, out: { text: string; overflow: boolean }, signalled: boolean) {
    if (out.overflow) return { result: "error" as const, note: `its output was over ${MAX_CHILD_STDOUT} bytes` };
    let report: unknown;
    try {
        report = JSON.parse(out.text);
    } catch {
        const result: TargetResult = signalled || exitCode > 128 ? "interrupted" : "error";
        return { result, note: "it printed no JSON summary" };
    }
    const said = (report as { result?: unknown })?.result;
    const known: TargetResult[] = ["deployed", "dry-run", "failed"];
    const result: TargetResult =
        exitCode === 0 && known.includes(said as TargetResult)
            ? (said as TargetResult)
            : exitCode > 128
              ? "interrupted"
              : said === "error"
                ? "error"
                : "failed";
    return { result, report };
}

/** Runs one target's child to its end, its stderr prefixed; the report says how it ended. */
async function runTarget(
    run: WavesRun,
    target: WaveTarget,
    index: number,
    running: Set<TargetProcess>,
    isSignalled: () => boolean,
    handoff: string | undefined,
): Promise<TargetReport> {
    const summaryFile = run.summaryDir ? path.join(run.summaryDir, `${index}.md`) : undefined;
    const startedAt = run.now();
    run.info(`${target.stack}: starting (wave ${target.wave}, account ${target.accountId}, ${target.region})`);
    const child = run.spawnTarget(run.argsFor(target.stack, summaryFile), handoff);
    running.add(child);
    const lines = new LinePrefixer(target.stack, run.writeErr);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => lines.push(chunk));
    const out = collect(child.stdout);
    const exitCode = await child.exited;
    running.delete(child);
    lines.end();
    const endedAt = run.now();
    const { result, report, note } = { report: undefined, ...resultOf(exitCode, out(), isSignalled()) };
    run.info(`${target.stack}: ${result} (exit ${exitCode})${note ? `; ${note}` : ""}`);
    return { ...target, result, exitCode, durationMs: endedAt - startedAt, startedAt, endedAt, report, note };
}

/** The children's own summaries, in target order; a child that wrote none is skipped. */
function readSummaries(dir: string, count: number): string[] {
    const found: string[] = [];
    for (let i = 0; i < count; i++) {
        try {
            found.push(fs.readFileSync(path.join(dir, `${i}.md`), "utf8"));
        } catch {
            // not started, or ended before it wrote one: the table says how it ended
        }
    }
    return found;
}

/**
 * Runs the waves: a wave starts when every target of the one before has exited 0; a failure (any
 * other exit) starts nothing more, and targets already running finish. A signal is forwarded to
 * every running child; they get run.waitMs (childWaitMs), then SIGKILL.
 */
export async function runWaves(run: WavesRun): Promise<WavesOutcome> {
    const waves = planWaves(run.targets);
    const running = new Set<TargetProcess>();
    let signal: NodeJS.Signals | undefined;
    let stopped: string | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const stopReads = new AbortController();
    const unsubscribe = run.signals((sig) => {
        signal ??= sig;
        stopped ??= `received ${sig}`;
        stopReads.abort(); // the outputs being read for targets not yet started
        run.info(`received ${sig}; forwarding it to ${running.size} running target(s), starting no more`);
        for (const child of running) child.kill(sig);
        killTimer ??= setTimeout(() => {
            for (const child of running) child.kill("SIGKILL");
        }, run.waitMs);
    });
    const reports: TargetReport[] = [];
    try {
        let index = 0;
        for (const wave of waves) {
            if (stopped === undefined) run.info(`wave ${wave.wave}: ${wave.targets.map((t) => t.stack).join(", ")}`);
            const limit = pLimit(run.parallel);
            const jobs = wave.targets.map((target) => {
                const i = index++;
                const notStarted = (why: string): TargetReport => {
                    run.info(`${target.stack}: not started (${why})`);
                    return { ...target, result: "not started", durationMs: 0, note: why };
                };
                return limit(async (): Promise<TargetReport> => {
                    if (stopped !== undefined) return notStarted(stopped);
                    let handoff: string | undefined;
                    try {
                        handoff = run.handoff ? await run.handoff(target, stopReads.signal) : undefined;
                    } catch (e) {
                        stopped ??= `${target.stack}'s stack outputs could not be handed over`;
                        run.info(`${target.stack}: error: ${(e as Error)?.message ?? String(e)}`);
                        return { ...target, result: "error", exitCode: Exit.INTERNAL, durationMs: 0, note: stopped };
                    }
                    if (stopped !== undefined) return notStarted(stopped);
                    const r = await runTarget(run, target, i, running, () => signal !== undefined, handoff);
                    if (!succeeded(r)) stopped ??= `${target.stack} ended with exit ${r.exitCode} (${r.result})`;
                    return r;
                });
            });
            reports.push(...(await Promise.all(jobs)));
        }
    } finally {
        unsubscribe();
        if (killTimer) clearTimeout(killTimer);
    }
    const summaries = run.summaryDir ? readSummaries(run.summaryDir, reports.length) : [];
    return { reports, exitCode: wavesExitCode(reports, signal), signal, summaries };
}

/** The process's own signals, the ones attiniProcess.ts forwards to attini. */
export function processSignals(signals: readonly NodeJS.Signals[]): SignalSource {
    return (handler) => {
        for (const sig of signals) process.on(sig, handler);
        return () => {
            for (const sig of signals) process.off(sig, handler);
        };
    };
}

/** A private folder for the children's summaries; removed by the returned function. */
export function summaryFolder(): { dir: string; remove: () => void } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-waves-"));
    return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The branch's targets when it has several and the deploy names no --stack; undefined for one
 * target, or for a branch that maps to none (deploy() reports that, as for one target).
 */
export function severalTargets(
    o: { branch?: string },
    { projectDir, configs }: ProjectStacks,
    env: NodeJS.ProcessEnv,
): { branch: string; targets: WaveTarget[]; projectDir: string; configs: StackConfig[] } | undefined {
    const { branch } = resolveBranch(o.branch, env, gitIn(projectDir));
    let targets: StackConfig[];
    try {
        targets = targetsFor(configs, branch);
    } catch (e) {
        if (e instanceof DriverError && e.exitCode === Exit.UNMAPPED_BRANCH) return undefined;
        throw e;
    }
    if (targets.length < 2) return undefined;
    return {
        branch,
        projectDir,
        configs,
        targets: targets.map((c) => ({ stack: c.stack, accountId: c.accountId, region: c.region, wave: c.wave })),
    };
}

/** One target in `--json`: how it ended, and the child's own summary or error report. */
function jsonEntry(r: TargetReport) {
    const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    return { ...r, startedAt: iso(r.startedAt), endedAt: iso(r.endedAt) };
}

/** The job summary of a multi-target deploy: the table, then each target's own summary in order. */
export function wavesMarkdown(branch: string, reports: readonly TargetReport[], summaries: readonly string[]): string {
    return [
        `## attini-gitops deploy: ${reports.length} targets of branch ${branch}`,
        markdownTable(reports),
        ...summaries,
    ]
        .map((part) => part.trimEnd())
        .join("\n\n");
}

export interface AllTargets {
    branch: string;
    targets: WaveTarget[];
    parallel: number;
    killGraceMs: number;
    /** --aws-timeout's bound on one AWS step, and --lease-ttl: how long a signalled child's record may take (childWaitMs). */
    awsTotalMs: number;
    leaseTtlMs: number;
    dryRun: boolean;
    /** The command line as parsed, for the children's arguments. */
    command: { values: Record<string, string | boolean | undefined>; positionals: string[]; extra: string[] };
    destinations: SummaryDestinations;
    ctx: CommandContext;
    now: () => number;
    /** The hand-off line for each target's child: its stack outputs, read by this process (handoff.ts). */
    handoff: HandoffFor;
}

/** Whether the distribution is a folder (relative to the current folder, as the children read it). */
function folderDistribution(distribution: string): boolean {
    try {
        return fs.statSync(path.resolve(distribution)).isDirectory();
    } catch {
        return false; // each target reports a missing distribution itself
    }
}

/**
 * `deploy` on a branch with several targets: says what it will do, runs the waves, prints the
 * table (stderr), publishes the one job summary and prints `--json`; returns the exit code.
 */
export async function deployAllTargets(a: AllTargets): Promise<number> {
    const { ctx, command } = a;
    ctx.log.info(
        `branch ${a.branch} has ${a.targets.length} targets, deployed wave by wave, at most ${a.parallel} at once${a.dryRun ? " (dry run)" : ""}: ${describeWaves(a.targets)}`,
    );
    const parallel = folderDistribution(a.command.positionals[0] ?? ".") ? 1 : a.parallel;
    if (parallel < a.parallel)
        ctx.log.info(
            "the distribution is a folder, which attini packages into its own attini_dist/ folder, one that targets deploying at once would share: the targets run one at a time (deploy a .zip, made once with `attini distribution package`, to run them in parallel)",
        );
    const publishing = a.destinations.file !== undefined || a.destinations.stepSummary !== undefined;
    const folder = publishing ? summaryFolder() : undefined;
    try {
        const outcome = await runWaves({
            targets: a.targets,
            parallel,
            argsFor: (stack, file) => childArgs(command.values, command.positionals, command.extra, stack, file),
            waitMs: childWaitMs(a.killGraceMs, a.awsTotalMs, a.leaseTtlMs),
            summaryDir: folder?.dir,
            spawnTarget: spawnCli(ctx.env),
            handoff: a.handoff,
            signals: processSignals(FORWARDED_SIGNALS),
            now: a.now,
            info: (line) => ctx.log.info(line),
            writeErr: (text) => process.stderr.write(ctx.redactor.scrub(text)),
        });
        process.stderr.write(`${printable(formatTable(outcome.reports))}\n`);
        ctx.log.info(
            outcome.signal
                ? `stopped by ${outcome.signal} (exit ${outcome.exitCode})`
                : outcome.exitCode === Exit.OK
                  ? `every target ${a.dryRun ? "passed its dry run" : "deployed"}`
                  : `${outcome.reports.filter((r) => r.exitCode !== 0).length} of ${outcome.reports.length} targets did not deploy (exit ${outcome.exitCode})`,
        );
        publishSummary(a.destinations, () => wavesMarkdown(a.branch, outcome.reports, outcome.summaries), ctx.log);
        if (ctx.json)
            ctx.print(
                ctx.redactor.scrub(
                    JSON.stringify({ targets: outcome.reports.map(jsonEntry), exitCode: outcome.exitCode }),
                ),
            );
        return outcome.exitCode;
    } finally {
        folder?.remove();
    }
}
