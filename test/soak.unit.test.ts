// The soak time's rule (automation/soak.ts, pure) and its verdicts under enforce, warn and
// --break-glass, on evidence handed in and a clock the test sets; and the --break-glass reason's
// checks (automation/commands/deploy.ts), hostile reasons included. The deploy paths on the fake
// AWS are in soak-deploy.unit.test.ts; end to end in soak.test.ts.

import test from "ava";
import { breakGlassReason } from "../automation/commands/deploy";
import { HistoryUnreadable, type RecordedDeployment } from "../automation/deployments";
import { type DriverError, Exit } from "../automation/errors";
import type { LedgerRun } from "../automation/ledgerTypes";
import { applySoak, humanDuration, judgeSoak, type SoakEvidence, type SoakOptions } from "../automation/soak";
import type { VerifiedGateReport } from "../automation/verifiedGate";

const MIN = 60_000;
const T = Date.parse("2026-12-01T10:00:00Z");

/** A ledger run of `digest` in stage that started at T + `start` minutes and ended `took` minutes later. */
const run = (digest: string, start: number, took = 2, result: LedgerRun["result"] = "deployed"): LedgerRun => ({
    entry: `run#${String(T + start * MIN).padStart(15, "0")}#r${start}`,
    runId: `r${start}`,
    environment: "acc",
    distributionName: "platform",
    commit: "a".repeat(40),
    branch: "stage",
    digest,
    sha256: "0".repeat(64),
    ciSystem: "local",
    sessionName: "deploy-platform",
    sourceIdentity: "ci",
    startedAt: T + start * MIN,
    ...(result === "started" ? {} : { endedAt: T + (start + took) * MIN }),
    attiniTime: T + start * MIN + 5_000,
    result,
});
/** Attini's record of the deployment a run made (its attiniTime). */
const deployment = (r: LedgerRun, status: RecordedDeployment["status"] = "succeeded"): RecordedDeployment => ({
    environment: "acc",
    distributionName: "platform",
    distributionId: "build-7",
    time: r.attiniTime as number,
    status,
});

const A = "sha256:aaaa";
const B = "sha256:bbbb";
/** Stage holds A, deployed by one run at T that ended at T + 2 min. */
const held = (): SoakEvidence => {
    const r = run(A, 0);
    return { run: r, deployment: deployment(r), lastDeployment: deployment(r), newestRun: r };
};

test("not met: the verdict names when the soak started and when it will be ready", (t) => {
    const v = judgeSoak(60, held(), T + 14 * MIN, "stage");
    t.deepEqual(v, { case: "not-met", since: T + 2 * MIN, soakedMs: 12 * MIN, readyAt: T + 62 * MIN });
});

test("met once the minimum has passed, to the millisecond", (t) => {
    t.like(judgeSoak(60, held(), T + 62 * MIN, "stage"), { case: "met", readyAt: T + 62 * MIN });
    t.like(judgeSoak(60, held(), T + 62 * MIN - 1, "stage"), { case: "not-met" });
    t.like(judgeSoak(0, held(), T + 2 * MIN, "stage"), { case: "met" });
});

test("the soak starts at the later of the ledger run's end and Attini's deploymentTime", (t) => {
    const e = held();
    // Attini's record of that run is later than the ledger's end (a slow build server clock, say).
    const late = { ...e.deployment, time: T + 10 * MIN };
    const v = judgeSoak(60, { ...e, deployment: late, lastDeployment: late }, T + 20 * MIN, "stage");
    t.like(v, { case: "not-met", since: T + 10 * MIN, readyAt: T + 70 * MIN });
    // And the ledger's end when that is the later one.
    t.like(judgeSoak(60, e, T + 20 * MIN, "stage"), { since: T + 2 * MIN });
});

test("a newer upstream deployment of the same content restarts the soak: it counts from the newest run", (t) => {
    // The gate hands in the newest run of this content, which is then also the newest run there.
    const again = run(A, 50);
    const e = { run: again, deployment: deployment(again), lastDeployment: deployment(again), newestRun: again };
    t.like(judgeSoak(60, held(), T + 70 * MIN, "stage"), { case: "met" }, "the first deployment alone would be met");
    t.like(judgeSoak(60, e, T + 70 * MIN, "stage"), { case: "not-met", since: T + 52 * MIN, readyAt: T + 112 * MIN });
});

test("another content deployed upstream after this one, whatever its result: no longer held, not a wait", (t) => {
    for (const result of ["deployed", "failed", "started", "interrupted"] as const) {
        const v = judgeSoak(60, { ...held(), newestRun: run(B, 30, 2, result) }, T + 500 * MIN, "stage");
        t.is(v.case, "not-held", result);
        if (v.case === "not-held")
            t.regex(v.reason, /^stage no longer holds this content: its ledger has a newer run of the distribution/);
    }
});

test("an Attini deployment that is not this content's run, after it: no longer held", (t) => {
    const e = held();
    const other = { ...e.deployment, distributionId: "manual", time: T + 30 * MIN };
    const v = judgeSoak(60, { ...e, lastDeployment: other }, T + 500 * MIN, "stage");
    t.is(v.case, "not-held");
    if (v.case === "not-held")
        t.regex(
            v.reason,
            /Attini's record there has a newer deployment of the distribution, manual at 2026-12-01T10:30:00Z/,
        );
});

test("evidence that cannot say: unknown, never met", (t) => {
    const e = held();
    t.is(judgeSoak(60, { ...e, newestRun: undefined }, T + 500 * MIN, "stage").case, "unknown");
    t.is(judgeSoak(60, { ...e, lastDeployment: undefined }, T + 500 * MIN, "stage").case, "unknown");
    const { endedAt: _, ...noEnd } = e.run;
    t.is(judgeSoak(60, { ...e, run: noEnd, newestRun: noEnd }, T + 500 * MIN, "stage").case, "unknown");
});

test("durations for people, in whole seconds", (t) => {
    t.is(humanDuration(0), "0 sec");
    t.is(humanDuration(-5000), "0 sec", "a clock behind the soak's start");
    t.is(humanDuration(12 * MIN + 5_999), "12 min, 5 sec");
    t.is(humanDuration(60 * MIN), "1 hr");
    t.is(humanDuration(43200 * MIN), "30 days");
});

/** The verified gate's report as it passes with the evidence `e`. */
const passed = (e: SoakEvidence): VerifiedGateReport => ({
    result: "passed",
    upstream: { stack: "stage", attiniEnvironment: "acc", accountId: "222222222222" },
    distributionName: "platform",
    distributionId: "build-7",
    case: "succeeded",
    matched: e.deployment,
    last: e.lastDeployment,
    content: { digest: e.run.digest, case: "deployed", run: e.run },
});

function options(now: number, more: Partial<SoakOptions> = {}, e = held()): SoakOptions & { lines: string[] } {
    const lines: string[] = [];
    return {
        minutes: 60,
        mode: "enforce",
        stack: "prod",
        upstream: "stage",
        verified: passed(e),
        newestRun: async () => e.newestRun,
        now: () => now,
        dryRun: false,
        log: (l) => lines.push(l),
        lines,
        ...more,
    };
}

const refusal = async (o: SoakOptions) => {
    const e = await applySoak(o).then(
        () => undefined,
        (err: DriverError) => err,
    );
    if (!e) throw new Error("not refused");
    return e;
};

test("enforce: not met is exit 7, naming how long it has soaked, the minimum and the UTC time it is ready", async (t) => {
    const e = await refusal(options(T + 14 * MIN));
    t.is(e.exitCode, Exit.REFUSED);
    t.is(
        e.message,
        "soak time (enforce): stage has held this content for 12 min, since 2026-12-01T10:02:00Z (the later of its ledger run's end and Attini's deploymentTime of that run); prod requires 1 hr (soakMinutes 60): ready at 2026-12-01T11:02:00Z. Deploy again then, or, if it cannot wait, with --break-glass \"<reason>\" (recorded in the session tags and prod's ledger).",
    );
    t.like(e.details.soak, {
        result: "refused",
        case: "not-met",
        minimumMinutes: 60,
        since: "2026-12-01T10:02:00Z",
        soakedMinutes: 12,
        readyAt: "2026-12-01T11:02:00Z",
    });
});

test("met: passed, and the log says how long", async (t) => {
    const o = options(T + 62 * MIN);
    t.like(await applySoak(o), { result: "passed", case: "met", soakedMinutes: 60 });
    t.regex(o.lines.join("\n"), /soak time: stage has held this content for 1 hr, since .*: met/);
});

test("warn: not met is a warning and the deploy goes on", async (t) => {
    const o = options(T + 14 * MIN, { mode: "warn" });
    t.like(await applySoak(o), { result: "warned", case: "not-met", readyAt: "2026-12-01T11:02:00Z" });
    t.regex(
        o.lines.join("\n"),
        /soak time \(warn\): stage has held this content for 12 min.*ready at 2026-12-01T11:02:00Z/,
    );
});

test("--break-glass passes a soak not met, and the log and the report carry the reason", async (t) => {
    const o = options(T + 14 * MIN, { breakGlass: "INC-4711 payment outage" });
    t.like(await applySoak(o), { result: "broken-glass", case: "not-met", breakGlass: "INC-4711 payment outage" });
    t.regex(
        o.lines.join("\n"),
        /soak time not met: .*ready at .*--break-glass: deploying anyway, for: "INC-4711 payment outage"/,
    );
});

test("--break-glass does not pass content the upstream no longer holds", async (t) => {
    const e = { ...held(), newestRun: run(B, 30) };
    const err = await refusal(options(T + 14 * MIN, { breakGlass: "INC-4711" }, e));
    t.is(err.exitCode, Exit.REFUSED);
    t.regex(
        err.message,
        /^soak time \(enforce\): stage no longer holds this content: .*--break-glass does not pass this/,
    );
    t.like(err.details.soak, { case: "not-held", result: "refused" });
});

test("a soak that cannot be judged is not met: refused under enforce, even long after, and --break-glass does not pass it", async (t) => {
    // The verified gate was skipped (--skip-promotion-check): there is no evidence.
    const skipped = await refusal(options(T + 5000 * MIN, { verified: { ...passed(held()), result: "skipped" } }));
    t.regex(skipped.message, /--skip-promotion-check skipped the verified promotion gate/);
    // Warned under warn (the gate only warned): nothing to count from.
    const warned = options(T + 5000 * MIN, {
        mode: "warn",
        verified: { ...passed(held()), result: "warned", content: undefined },
    });
    t.like(await applySoak(warned), { result: "warned", case: "unknown" });
    // Stage's ledger cannot be read.
    const unreadable = await refusal(
        options(T + 5000 * MIN, {
            newestRun: async () => {
                throw new HistoryUnreadable("AccessDenied on attini-gitops-ledger-acc");
            },
        }),
    );
    t.regex(unreadable.message, /cannot read stage's ledger: AccessDenied/);
    // A mode that is not warn is enforce: fail closed.
    t.is((await refusal(options(T + 14 * MIN, { mode: "off" }))).exitCode, Exit.REFUSED);
    // --break-glass passes only a soak judged not yet met: with no upstream evidence there is nothing to pass on.
    const glass = await refusal(options(T + 5000 * MIN, { verified: undefined, breakGlass: "INC-1" }));
    t.like(glass.details.soak, { result: "refused", case: "unknown" });
    const skippedGlass = await refusal(
        options(T + 5000 * MIN, { verified: { ...passed(held()), result: "skipped" }, breakGlass: "INC-1" }),
    );
    t.regex(skippedGlass.message, /--skip-promotion-check skipped the verified promotion gate/);
});

test("no soak time, or a dry run: nothing is read", async (t) => {
    const never = async () => {
        throw new Error("read");
    };
    t.like(await applySoak(options(T, { minutes: 0, newestRun: never })), { result: "off" });
    const dry = options(T, { dryRun: true, newestRun: never });
    t.like(await applySoak(dry), { result: "not-checked" });
    t.regex(dry.lines.join("\n"), /dry run: the soak time would require stage to have held this content for 1 hr/);
});

/** --break-glass as the command reads it, or the usage error's message. */
const reason = (given: unknown) => {
    try {
        return { reason: breakGlassReason({ "break-glass": given } as never) };
    } catch (e) {
        return { code: (e as DriverError).exitCode, message: (e as Error).message };
    }
};

test("--break-glass reason: trimmed; not given is none", (t) => {
    t.deepEqual(reason("  INC-4711 payment outage: hotfix @oncall  "), {
        reason: "INC-4711 payment outage: hotfix @oncall",
    });
    t.deepEqual(reason(undefined), { reason: undefined });
    t.deepEqual(
        reason("Störung Zahlungsverkehr 2026/12"),
        { reason: "Störung Zahlungsverkehr 2026/12" },
        "letters of any script",
    );
    t.deepEqual(reason("x".repeat(256)), { reason: "x".repeat(256) });
});

test("--break-glass reason: empty, blank, too long or with characters a session tag cannot carry is refused (exit 2), never altered", (t) => {
    for (const blank of ["", "   ", "\t\n "]) {
        t.like(reason(blank), { code: Exit.USAGE }, JSON.stringify(blank));
        t.regex(reason(blank).message ?? "", /--break-glass needs a reason/);
    }
    t.like(reason("x".repeat(257)), { code: Exit.USAGE });
    t.regex(reason("x".repeat(257)).message ?? "", /257 characters long; a session tag value holds at most 256/);
    const hostile: [string, RegExp][] = [
        ["outage, hotfix", /holds ','/],
        ["fix\u001b[31mred", /U\+001B, '\['/],
        ["line one\nline two", /U\+000A/],
        ["rtl \u202etxt.exe", /U\+202E/],
        ['quote " and ;', /'"', ';'/],
        ["$(rm -rf /)", /'\$', '\(', '\)'/],
        ["tab\there", /U\+0009/],
    ];
    for (const [given, named] of hostile) {
        const r = reason(given);
        t.is(r.code, Exit.USAGE, JSON.stringify(given));
        t.regex(r.message ?? "", named, JSON.stringify(given));
        t.regex(r.message ?? "", /use only letters, digits, spaces and _ \. : \/ = \+ - @/);
        // The message never carries the raw control characters it refuses.
        t.false((r.message ?? "").includes("\u001b") || (r.message ?? "").includes("\u202e"));
    }
});

test("--break-glass with --github-oidc is refused (exit 2): AssumeRoleWithWebIdentity takes no session tags, so the reason would not reach CloudTrail", (t) => {
    const e = t.throws(() => breakGlassReason({ "break-glass": "INC-4711", "github-oidc": true } as never));
    t.is((e as DriverError).exitCode, Exit.USAGE);
    t.regex(e?.message ?? "", /cannot be used with --github-oidc: AssumeRoleWithWebIdentity takes no session tags/);
    t.is(breakGlassReason({ "break-glass": "INC-4711" } as never), "INC-4711");
});
