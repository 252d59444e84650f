/**
 * The freeze windows' rules (key freezeWindows): when deploys to a stack are refused. Why a file of
 * its own: a window is a small record (name, zone, a recurrence or a date range) with rules that
 * need the recurrence and zone arithmetic of lib/freezeWindows.ts, unlike the other keys' checks.
 * A window that is always in force, cannot end, never starts, names an unknown zone or a local time
 * the clocks skip is refused here, with the fix.
 */

import { cronFrom, LOCAL_FORMAT, localInstants, occurrenceEnd, showInstant } from "../freezeWindows";
import { luxon } from "../timeLibraries";
import { ConfigError, ConfigValidationError } from "./errors";
import { type FreezeWindow, PROJECT, type RawValue } from "./types";
import { ConfigReader } from "./values";

/** At most this many windows per stack: each costs every deploy, status and plan some arithmetic. */
export const MAX_FREEZE_WINDOWS = 20;
/** A window's name is shown in every refusal: short, printable. */
export const MAX_NAME_LENGTH = 64;
/** A recurrence is sampled from here for SAMPLE_YEARS (a leap cycle), up to SAMPLE_STARTS starts. */
const SAMPLE_FROM = Date.UTC(2024, 0, 1);
const SAMPLE_YEARS = 8;
const SAMPLE_STARTS = 200;

const KEY = "freezeWindows";
const RECURRING_EXAMPLE = `{ name: weekend, cron: "0 17 * * FRI", duration: PT63H, timeZone: Europe/Stockholm }`;
const ONE_OFF_EXAMPLE = `{ name: holidays, start: "2026-12-23T00:00", end: "2027-01-02T00:00", timeZone: Europe/Stockholm }`;
const FIELDS = new Set(["name", "timeZone", "cron", "duration", "start", "end"]);

/** One item's problems go to `err(field, value, problem, fix)`. */
type ItemError = (field: string, value: unknown, problem: string, fix: string) => void;

function itemErrors(r: ConfigReader, i: number): ItemError {
    return (field, value, problem, fix) =>
        r.errors.push(
            new ConfigError(
                r.stack,
                `${PROJECT}:${KEY}[${i}]${field ? `.${field}` : ""}`,
                JSON.stringify(value) ?? "(not set)",
                problem,
                fix,
            ),
        );
}

/** The list as written (a YAML list, or its JSON text from the engine); undefined after an error. */
function rawList(r: ConfigReader): unknown[] | undefined {
    let v: RawValue | unknown = r.get(KEY);
    if (v === undefined || v === null || v === "") return [];
    if (typeof v === "string") {
        try {
            v = JSON.parse(v);
        } catch {
            /* reported below */
        }
    }
    if (!Array.isArray(v)) {
        r.fail(
            KEY,
            "must be a list of windows",
            `write it as a YAML list in Pulumi.${r.stack}.yaml, e.g.
      freezeWindows:
        - ${RECURRING_EXAMPLE}
        - ${ONE_OFF_EXAMPLE}`,
        );
        return undefined;
    }
    if (v.length > MAX_FREEZE_WINDOWS) {
        r.fail(KEY, `lists ${v.length} windows, more than ${MAX_FREEZE_WINDOWS}`, "merge or remove windows");
        return undefined;
    }
    return v;
}

/** A printable name, no longer than MAX_NAME_LENGTH, not used by an earlier window. */
function checkName(name: unknown, seen: Set<string>, err: ItemError): name is string {
    const fix = `give the window a short printable name, unique in Pulumi.*.yaml's list, e.g. "weekend"`;
    if (typeof name !== "string" || name.trim() === "") err("name", name, "must be a non-empty string", fix);
    else if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(name)) err("name", name, "contains control characters", fix);
    else if (name.length > MAX_NAME_LENGTH) err("name", name, `is longer than ${MAX_NAME_LENGTH} characters`, fix);
    else if (seen.has(name)) err("name", name, "is the name of an earlier window", fix);
    else {
        seen.add(name);
        return true;
    }
    return false;
}

function checkZone(zone: unknown, err: ItemError): zone is string {
    if (typeof zone === "string" && luxon().IANAZone.isValidZone(zone)) return true;
    err("timeZone", zone, "is not an IANA time zone", `name one, e.g. Europe/Stockholm, America/New_York or UTC`);
    return false;
}

/** The duration as luxon reads it: valid, no negative part, longer than zero. */
function checkDuration(duration: unknown, err: ItemError): duration is string {
    const fix =
        "write an ISO 8601 duration longer than zero, e.g. PT63H (63 hours) or P2DT15H (2 calendar days and 15 hours)";
    const d = typeof duration === "string" ? luxon().Duration.fromISO(duration) : undefined;
    if (!d?.isValid) err("duration", duration, "is not an ISO 8601 duration", fix);
    else if (Object.values(d.toObject()).some((n) => (n ?? 0) < 0)) err("duration", duration, "is negative", fix);
    else if (d.as("milliseconds") <= 0) err("duration", duration, "is zero: the window would never be in force", fix);
    else return true;
    return false;
}

/** Five cron fields that cron-parser reads and that fire at least once in the sampled years. */
function checkCron(w: { cron: unknown; timeZone: string }, err: ItemError): w is { cron: string; timeZone: string } {
    const fix = `write five cron fields (minute hour day-of-month month day-of-week), e.g. "0 17 * * FRI"`;
    if (typeof w.cron !== "string" || w.cron.trim().split(/\s+/).length !== 5) {
        err("cron", w.cron, "must be five cron fields", fix);
        return false;
    }
    // Only what names fixed times: cron-parser reads H as a value hashed at random on every parse,
    // and ? and the other extensions are not needed to say when a window starts.
    if (!/^[0-9A-Za-z*,\-/\s]+$/.test(w.cron) || /\bH\b|H\(|H\//.test(w.cron)) {
        err(
            "cron",
            w.cron,
            "may use only digits, month and weekday names, *, commas, - and / (H would start the window at a random minute on every check)",
            fix,
        );
        return false;
    }
    try {
        const it = cronFrom({ name: "", cron: w.cron, duration: "PT1M", timeZone: w.timeZone }, SAMPLE_FROM);
        if (it.hasNext()) return true;
    } catch (e) {
        err("cron", w.cron, `is not a cron expression cron-parser reads (${(e as Error).message})`, fix);
        return false;
    }
    err("cron", w.cron, "never fires", fix);
    return false;
}

/**
 * A recurring window must end before it starts again: one whose duration reaches its next start
 * would be in force for ever (or chain into itself). Sampled over a leap cycle of starts.
 */
function checkRecurrence(w: FreezeWindow & { cron: string; duration: string }, err: ItemError): boolean {
    const it = cronFrom(w, SAMPLE_FROM);
    const until = SAMPLE_FROM + SAMPLE_YEARS * 366 * 86_400_000;
    let prev: number | undefined;
    for (let n = 0; n < SAMPLE_STARTS && it.hasNext(); n++) {
        const start = it.next().getTime();
        if (start > until) break;
        if (prev !== undefined && occurrenceEnd(w, prev) >= start) {
            err(
                "duration",
                w.duration,
                `is not shorter than the time between two starts (${showInstant(prev, w.timeZone)} and ${showInstant(start, w.timeZone)}), so the window would never end`,
                "shorten the duration below the shortest gap between the cron's starts, or use a one-off window",
            );
            return false;
        }
        prev = start;
    }
    return true;
}

/** A one-off window's local times: each exists in the zone, and the end is after the start. */
function checkRange(w: { start: unknown; end: unknown; timeZone: string }, err: ItemError): boolean {
    let ok = true;
    const instants: Record<string, number[]> = {};
    for (const field of ["start", "end"] as const) {
        const text = w[field];
        const found = typeof text === "string" ? localInstants(text, w.timeZone) : undefined;
        if (found === undefined) {
            err(field, text, `must be a local time ${LOCAL_FORMAT.replace(/'/g, "")}`, `write e.g. "2026-12-23T00:00"`);
            ok = false;
        } else if (found.length === 0) {
            err(
                field,
                text,
                `does not exist in ${w.timeZone}: the clocks skip it (daylight saving time)`,
                "use a time after the change, e.g. an hour later",
            );
            ok = false;
        } else instants[field] = found;
    }
    if (ok && instants.end[instants.end.length - 1] <= instants.start[0]) {
        err("end", w.end, `is not after start ${JSON.stringify(w.start)}`, "set end after start");
        ok = false;
    }
    return ok;
}

/** One item: a recurring window or a one-off range, never both; undefined after an error. */
function checkWindow(item: unknown, seen: Set<string>, err: ItemError): FreezeWindow | undefined {
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
        err("", item, "is not a window", `write ${RECURRING_EXAMPLE} or ${ONE_OFF_EXAMPLE}`);
        return undefined;
    }
    const w = item as Record<string, unknown>;
    const unknown = Object.keys(w).filter((k) => !FIELDS.has(k));
    for (const k of unknown)
        err(
            k,
            w[k],
            "is not a field of a freeze window",
            "remove it; fields: name, timeZone, and cron with duration, or start with end",
        );
    const named = checkName(w.name, seen, err);
    const zoned = checkZone(w.timeZone, err);
    const recurring = w.cron !== undefined || w.duration !== undefined;
    const range = w.start !== undefined || w.end !== undefined;
    if (recurring === range) {
        err(
            "",
            item,
            "must have either cron and duration (recurring) or start and end (one-off)",
            `write ${RECURRING_EXAMPLE} or ${ONE_OFF_EXAMPLE}`,
        );
        return undefined;
    }
    if (!named || !zoned || unknown.length > 0) return undefined;
    const base = { name: w.name as string, timeZone: w.timeZone as string };
    if (recurring) {
        const cron = { cron: w.cron, timeZone: base.timeZone };
        if (!checkDuration(w.duration, err) || !checkCron(cron, err)) return undefined;
        const win = { ...base, cron: cron.cron, duration: w.duration };
        return checkRecurrence(win, err) ? win : undefined;
    }
    const span = { start: w.start, end: w.end, timeZone: base.timeZone };
    return checkRange(span, err) ? { ...base, start: w.start as string, end: w.end as string } : undefined;
}

/** The stack's freeze windows; undefined after an error (each in r.errors). */
export function freezeRules(r: ConfigReader): readonly FreezeWindow[] | undefined {
    const list = rawList(r);
    if (list === undefined) return undefined;
    const seen = new Set<string>();
    const before = r.errors.length;
    const windows = list.map((item, i) => checkWindow(item, seen, itemErrors(r, i)));
    if (r.errors.length > before) return undefined;
    return windows.filter((w): w is FreezeWindow => w !== undefined);
}

/**
 * The windows pinned in a stack's `freezeWindows` output, read back with the same rules. Throws
 * ConfigValidationError when they break them.
 */
export function freezeWindowsOf(stack: string, json: string): readonly FreezeWindow[] {
    const r = new ConfigReader(stack, new Map<string, RawValue>([[`${PROJECT}:${KEY}`, json]]));
    const windows = freezeRules(r);
    if (windows === undefined || r.errors.length > 0) throw new ConfigValidationError(r.errors);
    return windows;
}
