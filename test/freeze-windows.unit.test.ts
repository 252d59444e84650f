// Freeze windows' arithmetic (lib/freezeWindows.ts) with the clock in the test's hands: across the
// daylight-saving changes of Europe/Stockholm and America/New_York, on a leap day, at the exact
// edges (start inclusive, end exclusive), and windows that overlap or chain into one freeze.
import test from "ava";
import type { FreezeWindow } from "../lib/config/types";
import { freezeState, occurrenceAt, showInstant } from "../lib/freezeWindows";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const STHLM = "Europe/Stockholm";
const NY = "America/New_York";

const weekend = (duration: string): FreezeWindow => ({
    name: "weekend",
    cron: "0 17 * * FRI",
    duration,
    timeZone: STHLM,
});

/** The occurrence of `w` in force at `t`, as ISO instants; undefined when none. */
function span(w: FreezeWindow, t: string) {
    const o = occurrenceAt(w, at(t));
    return o && { start: iso(o.start), end: iso(o.end) };
}

test("Stockholm spring forward (2027-03-28): the cron's 17:00 is local; PT63H is exact hours, P2DT15H calendar days", (t) => {
    // Friday 17:00 CET is 16:00 UTC; 63 hours later the clocks have moved: 07:00 UTC is 09:00 CEST.
    t.deepEqual(span(weekend("PT63H"), "2027-03-27T12:00:00Z"), {
        start: "2027-03-26T16:00:00.000Z",
        end: "2027-03-29T07:00:00.000Z",
    });
    // Two calendar days reach Sunday 17:00 CEST (15:00 UTC), then 15 hours: Monday 08:00 CEST.
    t.deepEqual(span(weekend("P2DT15H"), "2027-03-27T12:00:00Z"), {
        start: "2027-03-26T16:00:00.000Z",
        end: "2027-03-29T06:00:00.000Z",
    });
    t.is(showInstant(at("2027-03-29T06:00:00Z"), STHLM), "2027-03-29 08:00 Europe/Stockholm (2027-03-29 06:00 UTC)");
    // The next Friday's 17:00 is CEST: 15:00 UTC.
    t.deepEqual(span(weekend("P2DT15H"), "2027-04-02T15:00:00Z"), {
        start: "2027-04-02T15:00:00.000Z",
        end: "2027-04-05T06:00:00.000Z",
    });
});

test("Stockholm fall back (2026-10-25 and 2027-10-31): the weekend ends Monday 08:00 CET with calendar days", (t) => {
    t.deepEqual(span(weekend("PT63H"), "2026-10-24T00:00:00Z"), {
        start: "2026-10-23T15:00:00.000Z",
        end: "2026-10-26T06:00:00.000Z", // 07:00 CET: 63 hours include the repeated hour
    });
    t.deepEqual(span(weekend("P2DT15H"), "2026-10-24T00:00:00Z"), {
        start: "2026-10-23T15:00:00.000Z",
        end: "2026-10-26T07:00:00.000Z", // 08:00 CET
    });
    t.deepEqual(span(weekend("P2DT15H"), "2027-10-31T01:30:00Z"), {
        start: "2027-10-29T15:00:00.000Z",
        end: "2027-11-01T07:00:00.000Z",
    });
});

test("exact edges: 1 ms before the start open, at the start frozen, 1 ms before the end frozen, at the end open", (t) => {
    const w = [weekend("P2DT15H")];
    const start = at("2027-10-29T15:00:00Z");
    const end = at("2027-11-01T07:00:00Z");
    t.is(freezeState(w, start - 1).inForce.length, 0);
    t.is(freezeState(w, start).inForce.length, 1);
    t.is(freezeState(w, end - 1).inForce.length, 1);
    t.deepEqual(freezeState(w, end - 1).openAt, { at: end, exact: true });
    t.is(freezeState(w, end).inForce.length, 0);
    t.is(freezeState(w, end).openAt, undefined);
    // One-off windows have the same edges.
    const holidays: FreezeWindow = {
        name: "holidays",
        start: "2026-12-23T00:00",
        end: "2027-01-02T00:00",
        timeZone: STHLM,
    };
    const s = at("2026-12-22T23:00:00Z");
    const e = at("2027-01-01T23:00:00Z");
    t.deepEqual(
        [s - 1, s, e - 1, e].map((n) => freezeState([holidays], n).inForce.length),
        [0, 1, 1, 0],
    );
});

test("a cron start the clocks skip or repeat: cron-parser starts it after the gap, and once in the fold", (t) => {
    const nightly: FreezeWindow = { name: "nightly", cron: "30 2 * * *", duration: "PT1H", timeZone: STHLM };
    // 2027-03-28 has no 02:30 in Stockholm: the window starts when the clocks reach 03:30 CEST.
    t.deepEqual(span(nightly, "2027-03-28T01:45:00Z"), {
        start: "2027-03-28T01:30:00.000Z",
        end: "2027-03-28T02:30:00.000Z",
    });
    // 2026-10-25 has 02:30 twice: the window starts at the first (CEST) and not again at the second.
    t.deepEqual(span(nightly, "2026-10-25T00:45:00Z"), {
        start: "2026-10-25T00:30:00.000Z",
        end: "2026-10-25T01:30:00.000Z",
    });
    t.is(span(nightly, "2026-10-25T01:45:00Z"), undefined);
});

test("New York: a nightly window across 2027-03-14 and 2027-11-07 keeps its local start", (t) => {
    const nightly: FreezeWindow = { name: "nightly", cron: "0 22 * * *", duration: "PT8H", timeZone: NY };
    // 22:00 EST is 03:00 UTC; 8 hours later it is 07:00 EDT.
    t.deepEqual(span(nightly, "2027-03-14T05:00:00Z"), {
        start: "2027-03-14T03:00:00.000Z",
        end: "2027-03-14T11:00:00.000Z",
    });
    // The next night starts at 22:00 EDT, 02:00 UTC.
    t.deepEqual(span(nightly, "2027-03-15T02:00:00Z"), {
        start: "2027-03-15T02:00:00.000Z",
        end: "2027-03-15T10:00:00.000Z",
    });
    // 22:00 EDT on 2027-11-06 (02:00 UTC); 8 hours later, past the repeated hour, it is 05:00 EST.
    t.deepEqual(span(nightly, "2027-11-07T06:30:00Z"), {
        start: "2027-11-07T02:00:00.000Z",
        end: "2027-11-07T10:00:00.000Z",
    });
    t.is(showInstant(at("2027-11-07T10:00:00Z"), NY), "2027-11-07 05:00 America/New_York (2027-11-07 10:00 UTC)");
});

test("New York: a one-off window on wall times the clocks repeat covers both of them", (t) => {
    const w: FreezeWindow = { name: "fold", start: "2027-11-07T01:30", end: "2027-11-07T01:45", timeZone: NY };
    // 01:30 first happens in EDT (05:30 UTC); 01:45 last happens in EST (06:45 UTC).
    t.deepEqual(span(w, "2027-11-07T06:00:00Z"), {
        start: "2027-11-07T05:30:00.000Z",
        end: "2027-11-07T06:45:00.000Z",
    });
    t.is(span(w, "2027-11-07T05:29:59.999Z"), undefined);
    t.is(span(w, "2027-11-07T06:45:00Z"), undefined);
});

test("leap day: a yearly window on 29 February and a one-off range across it", (t) => {
    const leap: FreezeWindow = { name: "leap", cron: "0 0 29 2 *", duration: "P1D", timeZone: STHLM };
    t.deepEqual(span(leap, "2028-02-29T12:00:00Z"), {
        start: "2028-02-28T23:00:00.000Z", // 2028-02-29 00:00 CET
        end: "2028-02-29T23:00:00.000Z", // 2028-03-01 00:00 CET
    });
    // 2027 has no 29 February: nothing in force on its 1 March.
    t.is(span(leap, "2027-02-28T23:30:00Z"), undefined);
    // The day before, it is announced as starting within 24 hours.
    const before = freezeState([leap], at("2028-02-28T00:00:00Z"));
    t.deepEqual(
        before.upcoming.map((u) => [u.name, iso(u.start), iso(u.end)]),
        [["leap", "2028-02-28T23:00:00.000Z", "2028-02-29T23:00:00.000Z"]],
    );
    t.is(freezeState([leap], at("2028-02-27T22:59:59.999Z")).upcoming.length, 0);
    const range: FreezeWindow = { name: "range", start: "2028-02-28T12:00", end: "2028-03-01T12:00", timeZone: "UTC" };
    const r = span(range, "2028-02-29T00:00:00Z");
    t.truthy(r);
    t.is(at(r!.end) - at(r!.start), 48 * 3600_000); // two days: the 29th is counted
});

test("overlapping and chained windows: the refusal's opening is the end of the merged freeze", (t) => {
    const utc = (name: string, start: string, end: string): FreezeWindow => ({ name, start, end, timeZone: "UTC" });
    const a = utc("a", "2027-06-01T00:00", "2027-06-02T00:00");
    const b = utc("b", "2027-06-02T00:00", "2027-06-03T00:00"); // starts when a ends
    const c = utc("c", "2027-06-02T12:00", "2027-06-04T00:00"); // overlaps b
    const now = at("2027-06-01T12:00:00Z");
    t.deepEqual(freezeState([a, b], now).openAt, { at: at("2027-06-03T00:00:00Z"), exact: true });
    t.deepEqual(freezeState([a, b, c], now).openAt, { at: at("2027-06-04T00:00:00Z"), exact: true });
    t.deepEqual(
        freezeState([a, b, c], now).inForce.map((o) => o.name),
        ["a"],
    );
    // A gap of one millisecond is an opening.
    const d = utc("d", "2027-06-03T00:01", "2027-06-05T00:00");
    t.deepEqual(freezeState([a, b, d], now).openAt, { at: at("2027-06-03T00:00:00Z"), exact: true });
    // A recurring window chained onto a one-off one.
    const sunday: FreezeWindow = { name: "sunday", cron: "0 0 * * SUN", duration: "P1D", timeZone: "UTC" };
    const sat = utc("saturday", "2027-06-05T00:00", "2027-06-06T00:00");
    t.deepEqual(freezeState([sat, sunday], at("2027-06-05T10:00:00Z")).openAt, {
        at: at("2027-06-07T00:00:00Z"),
        exact: true,
    });
});

test("windows that together never end: the opening is only 'not before', and still frozen", (t) => {
    const half = (name: string, cron: string): FreezeWindow => ({ name, cron, duration: "PT13H", timeZone: "UTC" });
    const s = freezeState([half("am", "0 0 * * *"), half("pm", "0 12 * * *")], at("2027-01-01T06:00:00Z"));
    t.is(s.inForce.length, 1);
    t.false(s.openAt?.exact);
    t.true((s.openAt?.at ?? 0) > at("2027-02-01T00:00:00Z"), "at least 100 windows on");
});

test("windows that chain minute by minute: the search for an opening is bounded, and says 'not before'", (t) => {
    const even: FreezeWindow = { name: "even", cron: "0-58/2 * * * *", duration: "PT61S", timeZone: "UTC" };
    const odd: FreezeWindow = { name: "odd", cron: "1-59/2 * * * *", duration: "PT61S", timeZone: "UTC" };
    const now = at("2027-01-01T00:00:30Z");
    const s = freezeState([even, odd], now);
    t.deepEqual(
        s.inForce.map((o) => o.name),
        ["even"],
    );
    t.false(s.openAt?.exact);
    t.true((s.openAt?.at ?? 0) > now + 3600_000);
});

test("no windows, or none now: not frozen; upcoming lists only starts within the next 24 hours, in order", (t) => {
    t.deepEqual(freezeState([], at("2027-01-01T00:00:00Z")), { inForce: [], upcoming: [] });
    const w: FreezeWindow[] = [
        { name: "late", start: "2027-01-01T20:00", end: "2027-01-02T00:00", timeZone: "UTC" },
        { name: "soon", start: "2027-01-01T01:00", end: "2027-01-01T02:00", timeZone: "UTC" },
        { name: "far", start: "2027-01-02T00:00", end: "2027-01-03T00:00", timeZone: "UTC" },
        { name: "gone", start: "2026-12-01T00:00", end: "2026-12-02T00:00", timeZone: "UTC" },
    ];
    const s = freezeState(w, at("2027-01-01T00:00:00Z"));
    t.deepEqual(s.inForce, []);
    // "far" starts exactly 24 hours from now: included (within, inclusive).
    t.deepEqual(
        s.upcoming.map((u) => u.name),
        ["soon", "late", "far"],
    );
});
