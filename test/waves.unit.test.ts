// A deploy of several targets (automation/waves.ts), without a child process: the waves planned
// from the targets, the exit-code rule, the [stack] prefix on whole lines (partial, hostile,
// endless), the table, the children's arguments, and the runner against a fake launcher that
// records what started when: a wave after the one before, a failure stopping the rest, a signal.
import { PassThrough } from "node:stream";
import test from "ava";
import { parallelOf } from "../automation/commands/deploy";
import { DriverError, Exit } from "../automation/errors";
import {
    CHILD_WAIT_MARGIN_MS,
    childArgs,
    childWaitMs,
    formatTable,
    LinePrefixer,
    MAX_LINE,
    planWaves,
    runWaves,
    type SignalSource,
    type TargetProcess,
    type TargetReport,
    type WavesRun,
    type WaveTarget,
    wavesExitCode,
    wavesMarkdown,
} from "../automation/waves";

const T = (stack: string, wave: number, accountId = "333333333333", region = "eu-west-1"): WaveTarget => ({
    stack,
    accountId,
    region,
    wave,
});

test("planWaves groups by wave, first wave first, keeping the targets' order within a wave", (t) => {
    const waves = planWaves([T("a", 1), T("c", 1), T("b", 3), T("d", 2)]);
    t.deepEqual(
        waves.map((w) => [w.wave, w.targets.map((x) => x.stack)]),
        [
            [1, ["a", "c"]],
            [2, ["d"]],
            [3, ["b"]],
        ],
    );
    t.deepEqual(planWaves([]), []);
});

test("the exit code: 0 when every target exited 0 with its summary; 12 when any did not, printed none, or did not start; 128+signal when signalled", (t) => {
    const ok = { exitCode: 0, result: "deployed" as const };
    t.is(wavesExitCode([ok, { exitCode: 0, result: "dry-run" }]), Exit.OK);
    t.is(wavesExitCode([ok, { exitCode: 1, result: "failed" }]), Exit.SOME_TARGETS_FAILED);
    t.is(wavesExitCode([ok, { result: "not started" }]), Exit.SOME_TARGETS_FAILED);
    t.is(wavesExitCode([ok, { exitCode: 0, result: "error" }]), Exit.SOME_TARGETS_FAILED, "exit 0 without a summary");
    t.is(wavesExitCode([{ exitCode: 143, result: "interrupted" }], "SIGTERM"), 143);
    t.is(wavesExitCode([ok], "SIGINT"), 130);
    t.is(Exit.SOME_TARGETS_FAILED, 12);
});

test("lines are prefixed whole: a line split across chunks is written once, the last unterminated line at the end", (t) => {
    const out: string[] = [];
    const p = new LinePrefixer("prod-eu", (l) => out.push(l));
    p.push("first li");
    t.deepEqual(out, []);
    p.push("ne\nsecond\nthi");
    p.push("rd\r\n");
    p.push("tail");
    t.deepEqual(out, ["[prod-eu] first line\n", "[prod-eu] second\n", "[prod-eu] third\n"]);
    p.end();
    t.is(out[3], "[prod-eu] tail\n");
    p.end();
    t.is(out.length, 4, "end twice writes nothing more");
});

test("hostile text in a child's lines is escaped: no escape sequence, carriage return or forged line reaches the terminal", (t) => {
    const out: string[] = [];
    const p = new LinePrefixer("prod-us", (l) => out.push(l));
    p.push("\u001b[2J\u001b]0;owned\u0007 ok\rattini-gitops: passed\n");
    t.is(out.length, 1);
    t.true(
        [...out[0].slice(0, -1)].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f),
        out[0],
    );
    t.true(out[0].startsWith("[prod-us] \\u001b[2J"));
    t.regex(out[0], /\\u000d/);
});

test("a line longer than MAX_LINE is written in pieces as it comes, so memory stays bounded", (t) => {
    const out: string[] = [];
    const p = new LinePrefixer("x", (l) => out.push(l), 10);
    p.push("a".repeat(25));
    t.deepEqual(out, ["[x] aaaaaaaaaa\n", "[x] aaaaaaaaaa\n"]);
    p.end();
    t.is(out[2], "[x] aaaaa\n");
    t.true(MAX_LINE >= 4096);
});

test("the table: target, account, region, wave, result, exit code and duration; a target not started shows dashes", (t) => {
    const reports: TargetReport[] = [
        { ...T("prod-eu", 1), result: "deployed", exitCode: 0, durationMs: 12_345 },
        { ...T("prod-us", 2, "444444444444", "us-east-1"), result: "not started", durationMs: 0 },
    ];
    t.is(
        formatTable(reports),
        [
            "target   account       region     wave  result       exit  duration",
            "prod-eu  333333333333  eu-west-1  1     deployed     0     12.3s",
            "prod-us  444444444444  us-east-1  2     not started  -     -",
        ].join("\n"),
    );
    const md = wavesMarkdown("main", reports, ["## prod-eu's own\n"]);
    t.regex(md, /^## attini-gitops deploy: 2 targets of branch main\n\n\| target \| account/);
    t.regex(md, /\| prod-us \| 444444444444 \| us-east-1 \| 2 \| not started \| - \| - \|\n\n## prod-eu's own$/);
});

test("a child gets every option the user gave, unchanged, plus --stack and --json; never the parent's own", (t) => {
    const args = childArgs(
        {
            "break-glass": "-INC-1 hotfix",
            timeout: "30m",
            "dry-run": true,
            "static-credentials": false,
            parallel: "2",
            json: true,
            "summary-file": "s.md",
            "no-step-summary": true,
            cwd: "proj",
        },
        ["dist.zip"],
        ["--verbose"],
        "prod-us",
        "/tmp/x/1.md",
    );
    t.deepEqual(args, [
        "deploy",
        "--break-glass=-INC-1 hotfix",
        "--timeout=30m",
        "--dry-run",
        "--cwd=proj",
        "dist.zip",
        "--stack=prod-us",
        "--json",
        "--no-step-summary",
        "--summary-file=/tmp/x/1.md",
        "--",
        "--verbose",
    ]);
    t.deepEqual(childArgs({}, [], [], "a", undefined), ["deploy", "--stack=a", "--json", "--no-step-summary"]);
});

test("--parallel: 1 to 64, default 4; anything else is a usage error naming the range", (t) => {
    t.is(parallelOf({}), 4);
    t.is(parallelOf({ parallel: "1" }), 1);
    t.is(parallelOf({ parallel: "64" }), 64);
    for (const bad of ["0", "65", "-1", "2.5", "x", "", " 3"]) {
        const e = t.throws(() => parallelOf({ parallel: bad }), { instanceOf: DriverError });
        t.is(e?.exitCode, Exit.USAGE, bad);
        t.regex(e?.message ?? "", /from 1 to 64/);
    }
});

/** A fake child: exits with `code` when `finish` is called, after writing its lines. */
interface Fake extends TargetProcess {
    stack: string;
    handoff?: string;
    finish: (code: number, json?: unknown) => void;
    signals: NodeJS.Signals[];
}

function fakeLauncher() {
    const started: Fake[] = [];
    let waiters: (() => void)[] = [];
    const spawnTarget = (args: readonly string[], handoff?: string): TargetProcess => {
        const stack = (args.find((a) => a.startsWith("--stack=")) ?? "").slice("--stack=".length);
        const stdout = new PassThrough();
        const stderr = new PassThrough();
        let end: (code: number) => void = () => {};
        const exited = new Promise<number>((r) => {
            end = r;
        });
        const fake: Fake = {
            stack,
            handoff,
            stdout,
            stderr,
            exited,
            signals: [],
            kill: (sig) => {
                fake.signals.push(sig);
                if (sig === "SIGKILL") fake.finish(137);
            },
            finish: (code, json) => {
                stderr.end(`deploying ${stack}\npartial`);
                stdout.end(json === undefined ? "" : JSON.stringify(json));
                setImmediate(() => end(code));
            },
        };
        started.push(fake);
        for (const w of waiters.splice(0)) w();
        return fake;
    };
    /** Resolves once `n` children have started. */
    const untilStarted = async (n: number) => {
        while (started.length < n) await new Promise<void>((r) => waiters.push(r));
    };
    waiters = [];
    return { started, spawnTarget, untilStarted };
}

function runner(targets: WaveTarget[], launcher: ReturnType<typeof fakeLauncher>, extra: Partial<WavesRun> = {}) {
    const lines: string[] = [];
    const info: string[] = [];
    let clock = 0;
    const run: WavesRun = {
        targets,
        parallel: 4,
        argsFor: (stack) => childArgs({}, [], [], stack, undefined),
        waitMs: 10,
        spawnTarget: launcher.spawnTarget,
        signals: () => () => {},
        now: () => ++clock,
        info: (l) => info.push(l),
        writeErr: (l) => lines.push(l),
        ...extra,
    };
    return { run, lines, info };
}

const deployed = (stack: string) => ({ result: "deployed", stack, exitCode: 0 });

test("runner: wave 2 starts only after every target of wave 1 has exited 0; --parallel bounds a wave", async (t) => {
    const l = fakeLauncher();
    const { run, lines } = runner([T("a", 1), T("b", 1), T("c", 1), T("d", 2)], l, { parallel: 2 });
    const done = runWaves(run);
    await l.untilStarted(2);
    t.deepEqual(
        l.started.map((f) => f.stack),
        ["a", "b"],
        "two at once",
    );
    l.started[0].finish(0, deployed("a"));
    await l.untilStarted(3);
    t.is(l.started[2].stack, "c");
    l.started[1].finish(0, deployed("b"));
    await new Promise((r) => setTimeout(r, 20));
    t.is(l.started.length, 3, "d waits for c");
    l.started[2].finish(0, deployed("c"));
    await l.untilStarted(4);
    l.started[3].finish(0, deployed("d"));
    const outcome = await done;
    t.is(outcome.exitCode, Exit.OK);
    t.deepEqual(
        outcome.reports.map((r) => [r.stack, r.result, r.exitCode]),
        [
            ["a", "deployed", 0],
            ["b", "deployed", 0],
            ["c", "deployed", 0],
            ["d", "deployed", 0],
        ],
    );
    t.deepEqual(outcome.reports[3].report, deployed("d"));
    const cEnd = outcome.reports[2].endedAt ?? Number.POSITIVE_INFINITY;
    t.true((outcome.reports[3].startedAt ?? 0) > cEnd);
    t.true(lines.includes("[a] deploying a\n"));
    t.true(lines.includes("[d] partial\n"));
});

test("runner: a failure in wave 1 lets the running targets finish, starts no other, and exits 12", async (t) => {
    const l = fakeLauncher();
    const { run, info } = runner([T("a", 1), T("b", 1), T("c", 1), T("d", 2)], l, { parallel: 2 });
    const done = runWaves(run);
    await l.untilStarted(2);
    l.started[0].finish(1, { result: "failed", exitCode: 1 });
    await new Promise((r) => setTimeout(r, 20));
    t.is(l.started.length, 2, "c is not started after a failed");
    t.deepEqual(l.started[1].signals, [], "b runs on");
    l.started[1].finish(0, deployed("b"));
    const outcome = await done;
    t.is(outcome.exitCode, Exit.SOME_TARGETS_FAILED);
    t.deepEqual(
        outcome.reports.map((r) => [r.stack, r.result, r.exitCode]),
        [
            ["a", "failed", 1],
            ["b", "deployed", 0],
            ["c", "not started", undefined],
            ["d", "not started", undefined],
        ],
    );
    t.true(info.includes("d: not started (a ended with exit 1 (failed))"), info.join("\n"));
});

test("runner: a child with no JSON, or with too much, is an error, never a success", async (t) => {
    const l = fakeLauncher();
    const { run } = runner([T("a", 1), T("b", 1)], l);
    const done = runWaves(run);
    await l.untilStarted(2);
    l.started[0].finish(0);
    l.started[1].finish(0, { result: "deployed", pad: "x".repeat(2 * 1024 * 1024) });
    const outcome = await done;
    t.deepEqual(
        outcome.reports.map((r) => [r.result, r.note]),
        [
            ["error", "it printed no JSON summary"],
            ["error", "its output was over 1048576 bytes"],
        ],
    );
    t.is(outcome.exitCode, Exit.SOME_TARGETS_FAILED);
});

test("runner: a target that exits 0 without a summary stops the waves after it, as a failure does", async (t) => {
    const l = fakeLauncher();
    const { run } = runner([T("a", 1), T("b", 2)], l);
    const done = runWaves(run);
    await l.untilStarted(1);
    l.started[0].finish(0);
    const outcome = await done;
    t.is(l.started.length, 1);
    t.deepEqual(
        outcome.reports.map((r) => r.result),
        ["error", "not started"],
    );
});

test("runner: a signal is forwarded to every running child, nothing more starts, a child that stays is killed; exit 128+signal", async (t) => {
    const l = fakeLauncher();
    let send: (sig: NodeJS.Signals) => void = () => {};
    let subscribed = 0;
    const signals: SignalSource = (h) => {
        send = h;
        subscribed++;
        return () => {
            subscribed--;
        };
    };
    const { run } = runner([T("a", 1), T("b", 1), T("c", 1), T("d", 2)], l, {
        parallel: 2,
        signals,
        waitMs: 10,
    });
    const done = runWaves(run);
    await l.untilStarted(2);
    t.is(subscribed, 1);
    send("SIGTERM");
    t.deepEqual(l.started[0].signals, ["SIGTERM"]);
    t.deepEqual(l.started[1].signals, ["SIGTERM"]);
    l.started[0].finish(143);
    // b ignores SIGTERM: the parent SIGKILLs it once its wait (10 ms here) is over.
    const outcome = await done;
    t.deepEqual(l.started[1].signals, ["SIGTERM", "SIGKILL"]);
    t.deepEqual(l.started[0].signals, ["SIGTERM"], "a had ended: not killed again");
    t.is(l.started.length, 2);
    t.is(outcome.exitCode, 143);
    t.is(outcome.signal, "SIGTERM");
    t.deepEqual(
        outcome.reports.map((r) => [r.stack, r.result, r.exitCode]),
        [
            ["a", "interrupted", 143],
            ["b", "interrupted", 137],
            ["c", "not started", undefined],
            ["d", "not started", undefined],
        ],
    );
    t.is(subscribed, 0, "the handlers are removed");
});

test("runner: each child is handed the line read for its own stack, read before it starts", async (t) => {
    const l = fakeLauncher();
    const asked: string[] = [];
    const { run } = runner([T("a", 1), T("b", 1)], l, {
        handoff: async ({ stack }) => {
            asked.push(stack);
            return `{"${stack}":{"raw":{}}}\n`;
        },
    });
    const done = runWaves(run);
    await l.untilStarted(2);
    t.deepEqual(
        l.started.map((f) => [f.stack, f.handoff]),
        [
            ["a", '{"a":{"raw":{}}}\n'],
            ["b", '{"b":{"raw":{}}}\n'],
        ],
    );
    t.deepEqual(asked, ["a", "b"]);
    for (const f of l.started) f.finish(0, deployed(f.stack));
    t.is((await done).exitCode, Exit.OK);
});

test("runner: a signal while a target's outputs are read starts nothing; a read that fails is an error and stops the rest", async (t) => {
    const l = fakeLauncher();
    let fire: (sig: NodeJS.Signals) => void = () => {};
    let readDone: () => void = () => {};
    let reading: AbortSignal | undefined;
    const { run } = runner([T("a", 1), T("b", 2)], l, {
        signals: (h) => {
            fire = h;
            return () => {};
        },
        handoff: (_target, stop) => {
            reading = stop;
            return new Promise((r) => (readDone = () => r("{}\n")));
        },
    });
    const done = runWaves(run);
    await new Promise((r) => setImmediate(r));
    t.false(reading?.aborted);
    fire("SIGTERM");
    t.true(reading?.aborted, "the signal stops the outputs being read");
    readDone();
    const out = await done;
    t.is(l.started.length, 0, "no child started after the signal");
    t.deepEqual(
        out.reports.map((r) => r.result),
        ["not started", "not started"],
    );
    t.is(out.exitCode, 143);

    const l2 = fakeLauncher();
    const { run: run2, info } = runner([T("a", 1), T("b", 2)], l2, {
        handoff: async () => {
            throw new Error("no stack a among the validated stacks");
        },
    });
    const out2 = await runWaves(run2);
    t.is(l2.started.length, 0);
    t.like(out2.reports[0], { result: "error", exitCode: Exit.INTERNAL });
    t.like(out2.reports[1], { result: "not started" });
    t.is(out2.exitCode, Exit.SOME_TARGETS_FAILED);
    t.true(info.some((line) => /a: error: no stack a/.test(line)));
});

test("after a signal, children get the kill grace, a renewal of the lease in flight (a third of --lease-ttl), four AWS steps for their ledger record (--aws-timeout each) and a margin before SIGKILL", (t) => {
    t.is(childWaitMs(10_000, 60_000, 60_000), 10_000 + 240_000 + 20_000 + CHILD_WAIT_MARGIN_MS);
    t.is(childWaitMs(0, 1_000, 15_000), 4_000 + 5_000 + CHILD_WAIT_MARGIN_MS);
});
