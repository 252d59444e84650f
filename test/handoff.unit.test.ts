// The hand-off of stack outputs from the parent of a deploy of several targets to its children
// (automation/handoff.ts): the child checks handed outputs exactly as outputs it read itself, refuses
// a stack it was handed nothing for, passes on the parent's refusal unchanged, refuses a malformed
// or oversized hand-off, and stops when the parent's end of its stdin closes; the parent reads each
// stack once a wave, a promoted target's upstream too, and a signal stops its reads. End to end (a
// parent killed with SIGKILL; the children run no Pulumi CLI): test/waves.test.ts.
import { EventEmitter } from "node:events";
import { PassThrough } from "node:stream";
import test from "ava";
import { DriverError, Exit } from "../automation/errors";
import {
    decodeHandoff,
    encodeHandoff,
    type Handoff,
    handedOutputs,
    handedStack,
    handoffReader,
    type RawRead,
    receiveHandoff,
    stopAsOnSigterm,
} from "../automation/handoff";
import { loadStacks } from "../lib/stackFiles";
import { outputsFor } from "./support/project";
import { ROOT } from "./support/tools";

const configs = loadStacks(ROOT).configs;
const named = (stack: string) => configs.find((c) => c.stack === stack)!;
const stage = named("stage");
const prod = named("prod");

/** The DriverError `p` rejects with. */
async function refusal(p: Promise<unknown>): Promise<DriverError> {
    try {
        await p;
    } catch (e) {
        if (e instanceof DriverError) return e;
        throw e;
    }
    throw new Error("not refused");
}

test("handed outputs are checked as read ones: the good pass, stale or secret ones are refused with the same fix", async (t) => {
    const good = outputsFor(prod, ROOT);
    const read = handedOutputs(decodeHandoff(encodeHandoff({ prod: { raw: { ...good } } })));
    t.deepEqual(await read(ROOT, prod, configs), good);
    const stale = handedOutputs({ prod: { raw: { ...good, attiniEnvironment: "dev" } } });
    const e = await refusal(stale(ROOT, prod, configs));
    t.is(e.exitCode, Exit.NOT_PROVISIONED);
    t.regex(e.message, /pulumi up/);
    const secret = handedOutputs({ prod: { raw: { ...good, deployRoleArn: "[secret]" } } });
    t.regex((await refusal(secret(ROOT, prod, configs))).message, /outputs deployRoleArn are secret/);
});

test("a stack the parent handed nothing for is refused, never read from elsewhere", async (t) => {
    const read = handedOutputs({ prod: { raw: { ...outputsFor(prod, ROOT) } } });
    const e = await refusal(read(ROOT, stage, configs));
    t.is(e.exitCode, Exit.INTERNAL);
    t.regex(e.message, /handed over no outputs for stack stage.*--stack stage/);
    // Not an inherited property either.
    const proto = handedOutputs(decodeHandoff('{"prod":{"raw":{}}}'));
    t.regex((await refusal(proto(ROOT, { ...stage, stack: "constructor" }, configs))).message, /no outputs/);
});

test("the parent's failed read reaches the child as the same exit code and message", async (t) => {
    const failed = await handedStack(async () => {
        throw new DriverError(
            Exit.NOT_PROVISIONED,
            "stack prod is not provisioned (no such stack): run `pulumi up -s prod`",
        );
    });
    const read = handedOutputs(decodeHandoff(encodeHandoff({ prod: failed })));
    const e = await refusal(read(ROOT, prod, configs));
    t.is(e.exitCode, Exit.NOT_PROVISIONED);
    t.is(e.message, "stack prod is not provisioned (no such stack): run `pulumi up -s prod`");
    const crashed = await handedStack(async () => {
        throw new TypeError("boom");
    });
    t.deepEqual(crashed, { error: { exitCode: Exit.INTERNAL, message: "internal error: boom" } });
});

test("a malformed hand-off is refused, saying what to do whoever set the variable", (t) => {
    for (const line of [
        "",
        "not json",
        "[]",
        "null",
        '{"prod":1}',
        '{"prod":{}}',
        '{"prod":{"raw":[]}}',
        '{"prod":{"error":{"exitCode":"4","message":"x"}}}',
    ]) {
        const e = t.throws(() => decodeHandoff(line), { instanceOf: DriverError }, line) as DriverError;
        t.is(e.exitCode, Exit.INTERNAL, line);
        t.regex(
            e.message,
            /If you set ATTINI_GITOPS_HANDOFF yourself, unset it.*otherwise deploy this target alone/,
            line,
        );
    }
});

/** A stand-in for the child's stdin, and the hand-off received from it. */
function stdin(limits = { maxChars: 1024, waitMs: 5_000 }) {
    const stream = new PassThrough() as unknown as NodeJS.ReadStream & PassThrough;
    let gone = 0;
    const received = receiveHandoff(stream, () => gone++, limits);
    received.catch(() => {});
    return { stream, received, gone: () => gone };
}

test("the hand-off line is read in pieces; the parent's end closing afterwards stops the child once", async (t) => {
    const handoff: Handoff = { prod: { raw: { a: "b" } } };
    const s = stdin();
    const line = encodeHandoff(handoff);
    s.stream.write(line.slice(0, 5));
    s.stream.write(line.slice(5));
    t.deepEqual(await s.received, handoff);
    t.is(s.gone(), 0, "the parent is still there");
    s.stream.end();
    s.stream.destroy();
    await new Promise((r) => setImmediate(r));
    t.is(s.gone(), 1);
});

test("no hand-off: a parent gone before it, one too large or too late is refused, and nothing is stopped", async (t) => {
    const early = stdin();
    early.stream.end();
    t.regex((await refusal(early.received)).message, /ended before it handed them over/);
    t.is(early.gone(), 0);
    const large = stdin({ maxChars: 10, waitMs: 5_000 });
    large.stream.write("x".repeat(11));
    t.regex((await refusal(large.received)).message, /more than 10 characters/);
    const late = stdin({ maxChars: 10, waitMs: 50 });
    t.regex((await refusal(late.received)).message, /none came within 0.05s/);
});

/** A read that records what it was asked and how many ran at once; each takes a few ms, or with `hold`, until stopped. */
function countingRead(hold = false) {
    const asked: string[] = [];
    let running = 0;
    let most = 0;
    const read: RawRead = async (c, stop) => {
        asked.push(c.stack);
        running++;
        most = Math.max(most, running);
        try {
            await new Promise<void>((resolve, reject) => {
                if (!hold) setTimeout(resolve, 5);
                stop.addEventListener("abort", () => reject(new Error("killed")));
            });
            return { ...outputsFor(c, ROOT) };
        } finally {
            running--;
        }
    };
    return { read, asked, most: () => most };
}

test("the parent's reader hands a promoted target its own and its upstream's outputs, each stack read once a wave, no more at once than the readers", async (t) => {
    const r = countingRead();
    const reader = handoffReader(configs, 2, r.read);
    const stop = new AbortController().signal;
    // Two targets promoted from stage in wave 1 (prod twice stands for prod-eu and prod-us), and stage itself (promoted from dev).
    const lines = await Promise.all([
        reader({ stack: "prod", wave: 1 }, stop),
        reader({ stack: "prod", wave: 1 }, stop),
        reader({ stack: "stage", wave: 1 }, stop),
    ]);
    const [a, b, c] = lines.map((l) => decodeHandoff(l.trimEnd()));
    t.deepEqual(Object.keys(a).sort(), ["prod", "stage"]);
    t.deepEqual(a, b);
    t.deepEqual(Object.keys(c).sort(), ["dev", "stage"], "stage is promoted from dev");
    t.deepEqual(await handedOutputs(a)(ROOT, prod, configs), outputsFor(prod, ROOT));
    t.deepEqual(r.asked.sort(), ["dev", "prod", "stage"], "each stack once in wave 1");
    t.true(r.most() <= 2);
    // A later wave reads its stacks again: an upstream may have been provisioned anew meanwhile.
    await reader({ stack: "prod", wave: 2 }, stop);
    t.deepEqual(r.asked.sort(), ["dev", "prod", "prod", "stage", "stage"]);
});

test("a signal stops the parent's reads: the running one is killed, queued ones never start, and each is handed on as an error", async (t) => {
    const r = countingRead(true);
    const reader = handoffReader(configs, 1, r.read);
    const stopping = new AbortController();
    const line = reader({ stack: "prod", wave: 1 }, stopping.signal);
    await new Promise((resolve) => setImmediate(resolve));
    t.deepEqual(r.asked, ["prod"], "one read at a time: stage's waits");
    stopping.abort();
    const handed = decodeHandoff((await line).trimEnd());
    t.deepEqual(r.asked, ["prod"], "stage's read never started");
    t.like(handed.prod, { error: { exitCode: Exit.INTERNAL, message: "internal error: killed" } });
    t.like(handed.stage, {
        error: { exitCode: Exit.INTERNAL, message: "internal error: stopped before the read began" },
    });
});

test("the parent's end stops the child as a SIGTERM would, through the handlers in place; with none (attini has ended), it does nothing", async (t) => {
    const proc = new EventEmitter() as EventEmitter & Pick<NodeJS.Process, "listenerCount" | "emit">;
    const got: string[] = [];
    proc.on("SIGTERM", (sig: string) => got.push(sig));
    stopAsOnSigterm(proc)();
    t.deepEqual(got, [], "not at once: a deploy about to begin gets its handlers first");
    await new Promise((r) => setImmediate(r));
    t.deepEqual(got, ["SIGTERM"]);
    proc.removeAllListeners("SIGTERM");
    const emitted: string[] = [];
    const bare = {
        listenerCount: () => 0,
        emit: (e: string) => {
            emitted.push(e);
            return false;
        },
    } as unknown as Pick<NodeJS.Process, "listenerCount" | "emit">;
    stopAsOnSigterm(bare)();
    await new Promise((r) => setImmediate(r));
    t.deepEqual(emitted, [], "no SIGTERM is raised that would kill the process with its record half-written");
});
