// The hand-off of stack outputs from the parent of a deploy of several targets to its children
// (automation/handoff.ts): the child checks handed outputs exactly as outputs it read itself, refuses
// a stack it was handed nothing for, passes on the parent's refusal unchanged, refuses a malformed
// or oversized hand-off, and stops when the parent's end of its stdin closes. End to end (a parent
// killed with SIGKILL): test/waves.test.ts.
import { PassThrough } from "node:stream";
import test from "ava";
import { DriverError, Exit } from "../automation/errors";
import {
    decodeHandoff,
    encodeHandoff,
    type Handoff,
    handedOutputs,
    handedStack,
    receiveHandoff,
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

test("a malformed hand-off is refused, naming the variable to unset", (t) => {
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
        t.regex(e.message, /ATTINI_GITOPS_HANDOFF is set only by attini-gitops/, line);
    }
});

/** A stand-in for the child's stdin, and the hand-off received from it. */
function stdin(limits = { maxBytes: 1024, waitMs: 5_000 }) {
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
    const large = stdin({ maxBytes: 10, waitMs: 5_000 });
    large.stream.write("x".repeat(11));
    t.regex((await refusal(large.received)).message, /more than 10 bytes/);
    const late = stdin({ maxBytes: 10, waitMs: 50 });
    t.regex((await refusal(late.received)).message, /none came within 0.05s/);
});
