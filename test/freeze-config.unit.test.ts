// The freezeWindows key's rules (lib/config/freeze.ts): every refusal names the stack, the key (down
// to the window's field), the value and the fix; a valid list is typed, and reads the same from a
// YAML list (stack file), from the engine's JSON text, and back from the pinned output.
import test from "ava";
import type { ConfigError } from "../lib/config/errors";
import { freezeWindowsOf, MAX_FREEZE_WINDOWS } from "../lib/config/freeze";
import type { RawValue } from "../lib/config/types";
import { requireStackConfig, validateStackConfig } from "../lib/config/validate";
import { canonicalFreezeWindows } from "../lib/freezeWindows";
import { loadStacks } from "../lib/stackFiles";
import { rawConfig } from "./support/config";
import { scratchProject } from "./support/project";

const VALID: Record<string, RawValue> = {
    "aws:region": "eu-west-1",
    "aws:allowedAccountIds": ["111111111111"],
    "attini-gitops:branch": "dev",
    "attini-gitops:attiniEnvironment": "dev",
    "attini-gitops:accountId": "111111111111",
    "attini-gitops:buildServerPrincipals": ["arn:aws:iam::999999999999:role/attini-build-server"],
};
const KEY = "attini-gitops:freezeWindows";
const WEEKEND = { name: "weekend", cron: "0 17 * * FRI", duration: "PT63H", timeZone: "Europe/Stockholm" };
const HOLIDAYS = { name: "holidays", start: "2026-12-23T00:00", end: "2027-01-02T00:00", timeZone: "Europe/Stockholm" };

function errorsFor(windows: unknown): ConfigError[] {
    return validateStackConfig("dev", rawConfig({ ...VALID, [KEY]: windows as RawValue })).errors;
}

/** Exactly one error, for `key`, whose problem and fix match, and whose text names stack, key and value. */
function refused(
    t: import("ava").ExecutionContext,
    windows: unknown,
    key: string,
    problem: RegExp,
    fix: RegExp = /./,
): void {
    const errors = errorsFor(windows);
    t.is(errors.length, 1, errors.join("\n"));
    const e = errors[0];
    t.is(e.stack, "dev");
    t.is(e.key, `${KEY}${key}`);
    t.regex(e.problem, problem);
    t.regex(e.fix, fix);
    t.true(String(e).startsWith(`stack 'dev', key '${KEY}${key}' = ${e.value}: `));
    t.regex(String(e), /Fix: ./);
}

test("valid windows are typed; not set means none; YAML list and engine JSON read the same", (t) => {
    t.deepEqual(requireStackConfig("dev", rawConfig(VALID)).freezeWindows, []);
    const c = requireStackConfig("dev", rawConfig({ ...VALID, [KEY]: [WEEKEND, HOLIDAYS] as unknown as RawValue }));
    t.deepEqual(c.freezeWindows, [WEEKEND, HOLIDAYS]);
    const fromEngine = requireStackConfig("dev", rawConfig({ ...VALID, [KEY]: JSON.stringify([WEEKEND, HOLIDAYS]) }));
    t.deepEqual(fromEngine.freezeWindows, c.freezeWindows);
    // The output's canonical text reads back to the same windows, whatever the key order written.
    const reordered = { timeZone: WEEKEND.timeZone, duration: WEEKEND.duration, cron: WEEKEND.cron, name: "weekend" };
    const d = requireStackConfig("dev", rawConfig({ ...VALID, [KEY]: [reordered] as unknown as RawValue }));
    t.is(canonicalFreezeWindows(d.freezeWindows), canonicalFreezeWindows([WEEKEND]));
    t.deepEqual(freezeWindowsOf("dev", canonicalFreezeWindows(c.freezeWindows)), c.freezeWindows);
    t.throws(() => freezeWindowsOf("dev", '[{"name":"x"}]'), { message: /invalid stack configuration/ });
});

test("unknown time zone", (t) => {
    refused(
        t,
        [{ ...WEEKEND, timeZone: "Mars/Olympus" }],
        "[0].timeZone",
        /not an IANA time zone/,
        /Europe\/Stockholm/,
    );
    refused(t, [{ ...HOLIDAYS, timeZone: undefined }], "[0].timeZone", /not an IANA time zone/);
});

test("bad cron: not five fields, out of range, never fires", (t) => {
    refused(t, [{ ...WEEKEND, cron: "0 0 17 * * FRI" }], "[0].cron", /five cron fields/, /0 17 \* \* FRI/);
    refused(t, [{ ...WEEKEND, cron: "61 17 * * FRI" }], "[0].cron", /not a cron expression/);
    refused(t, [{ ...WEEKEND, cron: "0 0 30 2 *" }], "[0].cron", /not a cron expression|never fires/);
    refused(t, [{ ...WEEKEND, cron: 5 }], "[0].cron", /five cron fields/);
    // H is hashed at random on every parse (the window would move between checks); ? is not needed.
    for (const cron of ["H 17 * * FRI", "0 H(16-18) * * FRI", "H/15 17 * * FRI", "0 17 ? * FRI"])
        refused(t, [{ ...WEEKEND, cron }], "[0].cron", /may use only digits, month and weekday names/);
});

test("duration: unparseable, negative, zero", (t) => {
    refused(t, [{ ...WEEKEND, duration: "63 hours" }], "[0].duration", /not an ISO 8601 duration/, /PT63H/);
    refused(t, [{ ...WEEKEND, duration: "P-1D" }], "[0].duration", /negative/);
    refused(t, [{ ...WEEKEND, duration: "PT0S" }], "[0].duration", /zero/);
    refused(t, [{ ...WEEKEND, duration: undefined }], "[0].duration", /not an ISO 8601 duration/);
});

test("a recurring window that never ends: its duration reaches its next start", (t) => {
    // Weekly, for a week: always in force.
    refused(t, [{ ...WEEKEND, duration: "P7D" }], "[0].duration", /never end/, /shorten the duration/);
    refused(t, [{ ...WEEKEND, duration: "P1W" }], "[0].duration", /never end/);
    // Irregular gaps: the 1st and the 15th; 16 days fit before the 15th never, 13 days always.
    refused(t, [{ ...WEEKEND, cron: "0 0 1,15 * *", duration: "P14D" }], "[0].duration", /never end/);
    t.deepEqual(errorsFor([{ ...WEEKEND, cron: "0 0 1,15 * *", duration: "P13D" }]), []);
    // Just under a week is allowed.
    t.deepEqual(errorsFor([{ ...WEEKEND, duration: "P6DT23H59M" }]), []);
});

test("one-off: end not after start, malformed times, a local time the clocks skip", (t) => {
    refused(t, [{ ...HOLIDAYS, end: HOLIDAYS.start }], "[0].end", /not after start/);
    refused(t, [{ ...HOLIDAYS, end: "2026-12-22T00:00" }], "[0].end", /not after start/);
    refused(t, [{ ...HOLIDAYS, start: "2026-12-23" }], "[0].start", /local time yyyy-MM-ddTHH:mm/);
    refused(t, [{ ...HOLIDAYS, start: "2026-02-30T00:00" }], "[0].start", /local time/);
    refused(
        t,
        [{ ...HOLIDAYS, start: "2027-03-28T02:30", end: "2027-03-29T00:00" }],
        "[0].start",
        /does not exist in Europe\/Stockholm.*skip/,
        /after the change/,
    );
    refused(
        t,
        [{ ...HOLIDAYS, timeZone: "America/New_York", start: "2027-03-13T00:00", end: "2027-03-14T02:15" }],
        "[0].end",
        /does not exist in America\/New_York/,
    );
    // A wall time the clocks repeat is allowed (the window covers both; see freeze-windows tests).
    t.deepEqual(errorsFor([{ ...HOLIDAYS, start: "2026-10-25T02:30", end: "2026-10-25T02:45" }]), []);
});

test("names: missing, duplicate, control characters, too long", (t) => {
    refused(t, [{ ...WEEKEND, name: undefined }], "[0].name", /non-empty string/, /printable name/);
    refused(t, [{ ...WEEKEND, name: "  " }], "[0].name", /non-empty string/);
    refused(t, [WEEKEND, { ...HOLIDAYS, name: "weekend" }], "[1].name", /earlier window/);
    const esc = errorsFor([{ ...WEEKEND, name: "evil\u001b[2J" }]);
    t.is(esc.length, 1);
    t.regex(esc[0].problem, /control characters/);
    t.false(String(esc[0]).includes("\u001b"), "the value is shown escaped");
    refused(t, [{ ...WEEKEND, name: "bidi\u202eevil" }], "[0].name", /control characters/);
    refused(t, [{ ...WEEKEND, name: "x".repeat(65) }], "[0].name", /longer than 64/);
});

test("shape: not a list, not a window, both kinds or neither, unknown fields, too many", (t) => {
    refused(t, "weekend", "", /must be a list of windows/, /freezeWindows:/);
    refused(t, { name: "x" }, "", /must be a list of windows/);
    refused(t, ["weekend"], "[0]", /not a window/);
    refused(t, [{ ...WEEKEND, start: "2026-12-23T00:00", end: "2027-01-02T00:00" }], "[0]", /either cron/);
    refused(t, [{ name: "x", timeZone: "UTC" }], "[0]", /either cron/);
    refused(t, [{ ...WEEKEND, until: "monday" }], "[0].until", /not a field/);
    const many = Array.from({ length: MAX_FREEZE_WINDOWS + 1 }, (_, i) => ({ ...HOLIDAYS, name: `w${i}` }));
    refused(t, many, "", /more than 20/, /merge or remove/);
    t.deepEqual(errorsFor(many.slice(0, MAX_FREEZE_WINDOWS)), []);
});

test("a stack file's YAML list of windows passes Pulumi.yaml's type (array of object); a list of strings does not", (t) => {
    const add = (yaml: string) => (text: string) => `${text}  attini-gitops:freezeWindows:\n${yaml}`;
    const good = scratchProject({
        "Pulumi.dev.yaml": add(
            '    - name: weekend\n      cron: "0 17 * * FRI"\n      duration: PT63H\n      timeZone: Europe/Stockholm\n',
        ),
    });
    const bad = scratchProject({ "Pulumi.dev.yaml": add("    - weekend\n") });
    t.teardown(() => {
        good.dispose();
        bad.dispose();
    });
    const loaded = loadStacks(good.dir);
    t.deepEqual(loaded.errors, []);
    t.deepEqual(loaded.configs.find((c) => c.stack === "dev")?.freezeWindows, [WEEKEND]);
    const errors = loadStacks(bad.dir).errors.map(String);
    t.true(
        errors.some((e) => e.includes(`key '${KEY}'`) && /array of object/.test(e)),
        errors.join("\n"),
    );
});
