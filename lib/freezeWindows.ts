/**
 * Freeze windows' arithmetic: when each window of a stack is in force, which start within the next
 * 24 hours, and when a deploy may next happen (the end of the merged freeze, across windows that
 * overlap or chain). Why a module of its own: `deploy`, `status` and `plan` all ask it the same
 * question, and the config validator (lib/config/freeze.ts) uses its zone and recurrence helpers.
 *
 * Every bit of recurrence and zone arithmetic is cron-parser's (with its tz option) or luxon's.
 * Pure: no I/O, and the clock is the caller's `now` (epoch ms). Start inclusive, end exclusive.
 */

import type { FreezeWindow, RecurringFreeze } from "./config/types";
import { cronParser, luxon } from "./timeLibraries";

/** One occurrence of a window: [start, end) in epoch ms. */
export interface FreezeOccurrence {
    readonly name: string;
    readonly timeZone: string;
    readonly start: number;
    readonly end: number;
}

/** What the windows say at `now`. */
export interface FreezeState {
    /** The occurrences in force at `now` (start <= now < end). */
    readonly inForce: readonly FreezeOccurrence[];
    /** The occurrences that start after `now` and within the next 24 hours, by start. */
    readonly upcoming: readonly FreezeOccurrence[];
    /**
     * When frozen: the first moment no window is in force (the end of the merged freeze, following
     * windows that overlap or chain). `exact` false: no opening was found within FREEZE_HORIZON_MS
     * (or FREEZE_STEPS steps), and `at` is only the earliest it could be.
     */
    readonly openAt?: { readonly at: number; readonly exact: boolean };
}

export const UPCOMING_MS = 24 * 3600_000;
/** How far, and through how many windows, the merged freeze is followed before `openAt` says "not before". */
export const FREEZE_HORIZON_MS = 400 * 24 * 3600_000;
export const FREEZE_STEPS = 100;
/** The local wall-time format of a one-off window's start and end. */
export const LOCAL_FORMAT = "yyyy-MM-dd'T'HH:mm";

export const isRecurring = (w: FreezeWindow): w is RecurringFreeze => "cron" in w;

/** The end of a recurring occurrence that starts at `start`: luxon adds the duration in the window's zone. */
export function occurrenceEnd(w: RecurringFreeze, start: number): number {
    return luxon()
        .DateTime.fromMillis(start, { zone: w.timeZone })
        .plus(luxon().Duration.fromISO(w.duration))
        .toMillis();
}

/**
 * The instants a local wall time names in `zone`: none in a gap (clocks skip it), two in a fold
 * (clocks repeat it), else one. Luxon's offsets decide; undefined when the text is not a local time.
 */
export function localInstants(text: string, zone: string): number[] | undefined {
    const guess = luxon().DateTime.fromFormat(text, LOCAL_FORMAT, { zone });
    if (!guess.isValid) return undefined;
    const asUtc = luxon().DateTime.fromFormat(text, LOCAL_FORMAT, { zone: "UTC" }).toMillis();
    const offsets = new Set(
        [-1, 0, 1].map((d) => luxon().DateTime.fromMillis(guess.toMillis() + d * 86_400_000, { zone }).offset),
    );
    return [...offsets]
        .map((o) => asUtc - o * 60_000)
        .filter((ms) => luxon().DateTime.fromMillis(ms, { zone }).toFormat(LOCAL_FORMAT) === text)
        .filter((ms, i, all) => all.indexOf(ms) === i)
        .sort((a, b) => a - b);
}

/**
 * A one-off window's [start, end): a wall time the clocks repeat starts at its first instant and
 * ends at its last, so the freeze covers all of it (the validator refuses times the clocks skip).
 */
export function oneOffSpan(start: string, end: string, zone: string): { start: number; end: number } | undefined {
    const s = localInstants(start, zone);
    const e = localInstants(end, zone);
    if (!s?.length || !e?.length) return undefined;
    return { start: s[0], end: e[e.length - 1] };
}

/** The cron expression in the window's zone, iterating from `from`. */
export function cronFrom(w: RecurringFreeze, from: number) {
    return cronParser().CronExpressionParser.parse(w.cron, { tz: w.timeZone, currentDate: from });
}

/**
 * The latest start of `w` at or before `t`, as next() counts starts. cron-parser's prev() and
 * next() disagree on the days clocks change (prev() skips a start in the gap that next() moves
 * after it, and sees a start twice in the fold that next() sees once), so prev() only finds an
 * anchor two starts back, and next() decides. The validator holds each duration under the gap
 * to the next start, so no earlier occurrence can still be running.
 */
function latestStart(w: RecurringFreeze, t: number): number | undefined {
    const back = cronFrom(w, t + 1);
    let anchor: number | undefined;
    for (let i = 0; i < 2 && back.hasPrev(); i++) anchor = back.prev().getTime();
    if (anchor === undefined) return undefined;
    const it = cronFrom(w, anchor - 1);
    let latest: number | undefined;
    while (it.hasNext()) {
        const start = it.next().getTime();
        if (start > t) break;
        latest = start;
    }
    return latest;
}

/** The occurrence of `w` in force at `t`, if any. */
export function occurrenceAt(w: FreezeWindow, t: number): FreezeOccurrence | undefined {
    if (!isRecurring(w)) {
        const span = oneOffSpan(w.start, w.end, w.timeZone);
        return span && span.start <= t && t < span.end ? { name: w.name, timeZone: w.timeZone, ...span } : undefined;
    }
    const start = latestStart(w, t);
    if (start === undefined) return undefined;
    const end = occurrenceEnd(w, start);
    return t < end ? { name: w.name, timeZone: w.timeZone, start, end } : undefined;
}

/** The first occurrence of `w` that starts after `t` and at or before `until`, if any. */
function nextStart(w: FreezeWindow, t: number, until: number): FreezeOccurrence | undefined {
    if (!isRecurring(w)) {
        const span = oneOffSpan(w.start, w.end, w.timeZone);
        return span && t < span.start && span.start <= until
            ? { name: w.name, timeZone: w.timeZone, ...span }
            : undefined;
    }
    const it = cronFrom(w, t);
    if (!it.hasNext()) return undefined;
    const start = it.next().getTime();
    return start <= until ? { name: w.name, timeZone: w.timeZone, start, end: occurrenceEnd(w, start) } : undefined;
}

/**
 * The first moment at or after `from` when none of the windows is in force: each step jumps to the
 * latest end among the occurrences in force, so overlapping and chained windows merge.
 */
function openingAfter(windows: readonly FreezeWindow[], from: number): { at: number; exact: boolean } {
    let t = from;
    for (let step = 0; step < FREEZE_STEPS && t - from <= FREEZE_HORIZON_MS; step++) {
        const ends = windows.flatMap((w) => occurrenceAt(w, t)?.end ?? []);
        if (ends.length === 0) return { at: t, exact: true };
        t = Math.max(...ends);
    }
    return { at: t, exact: false };
}

/** What the windows say at `now`: those in force, those starting within 24 hours, and when deploying may next happen. */
export function freezeState(windows: readonly FreezeWindow[], now: number): FreezeState {
    const inForce = windows.flatMap((w) => occurrenceAt(w, now) ?? []);
    const upcoming = windows
        .flatMap((w) => nextStart(w, now, now + UPCOMING_MS) ?? [])
        .sort((a, b) => a.start - b.start);
    return inForce.length === 0 ? { inForce, upcoming } : { inForce, upcoming, openAt: openingAfter(windows, now) };
}

/** An instant as the window's zone and UTC show it: `2026-12-23 00:00 Europe/Stockholm (2026-12-22 23:00 UTC)`. */
export function showInstant(ms: number, timeZone: string): string {
    const local = luxon().DateTime.fromMillis(ms, { zone: timeZone }).toFormat("yyyy-MM-dd HH:mm");
    const utc = luxon().DateTime.fromMillis(ms, { zone: "UTC" }).toFormat("yyyy-MM-dd HH:mm");
    return `${local} ${timeZone} (${utc} UTC)`;
}

/** The canonical text of a stack's windows, pinned in the `freezeWindows` output: fixed key order. */
export function canonicalFreezeWindows(windows: readonly FreezeWindow[]): string {
    return JSON.stringify(
        windows.map((w) =>
            isRecurring(w)
                ? { name: w.name, cron: w.cron, duration: w.duration, timeZone: w.timeZone }
                : { name: w.name, start: w.start, end: w.end, timeZone: w.timeZone },
        ),
    );
}
