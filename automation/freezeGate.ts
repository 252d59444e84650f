/**
 * deploy's freeze gate: refuses (exit 11) while a freeze window of the stack is in force, by the
 * windows `pulumi up` pinned in the stack outputs, never the checkout's; `--break-glass` lets the
 * deploy through and logs why. Why a module of its own: one call site in deploying.ts, before the
 * deploy role is assumed, so that nothing is written anywhere before a refusal; and the report it
 * makes is what the `--json` summary and error carry. The clock is Services.now().
 */
import { freezeWindowsOf } from "../lib/config/freeze";
import type { FreezeWindow } from "../lib/config/types";
import { type FreezeOccurrence, type FreezeState, freezeState, showInstant } from "../lib/freezeWindows";
import type { DeployRoleOutputs } from "../lib/outputs";
import type { DeployOptions, Target } from "./deployTypes";
import { DriverError, Exit } from "./errors";
import { printableField } from "./log";
import type { Services } from "./services";

/** One occurrence as the reports show it: ISO instants (UTC) and the same in the window's zone. */
export interface ShownOccurrence {
    name: string;
    timeZone: string;
    start: string;
    end: string;
    startLocal: string;
    endLocal: string;
}

/** What the windows say at one moment, as deploy, status and plan report it. */
export interface FreezeView {
    /** How many windows the stack has. */
    windows: number;
    inForce: ShownOccurrence[];
    upcoming: ShownOccurrence[];
    /** When frozen: the first moment no window is in force; `exact` false means "not before". */
    openAt?: { at: string; exact: boolean };
}

/** What the freeze gate checked and decided. */
export interface FreezeReport extends FreezeView {
    /** frozen: refused (in a dry run: would be); break-glass: frozen, let through by --break-glass. */
    result: "open" | "frozen" | "break-glass";
    /** "outputs", or "config" when a dry run could not read them. */
    windowsFrom: "outputs" | "config";
    /** The clock's reading the verdict is for (ISO, UTC). */
    checkedAt: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function showOccurrence(o: FreezeOccurrence): ShownOccurrence {
    const local = (ms: number) => showInstant(ms, o.timeZone).replace(/ \(.*$/, "");
    return {
        name: o.name,
        timeZone: o.timeZone,
        start: iso(o.start),
        end: iso(o.end),
        startLocal: local(o.start),
        endLocal: local(o.end),
    };
}

/** The view of `state` over `count` windows. */
export function freezeView(state: FreezeState, count: number): FreezeView {
    return {
        windows: count,
        inForce: state.inForce.map(showOccurrence),
        upcoming: state.upcoming.map(showOccurrence),
        ...(state.openAt ? { openAt: { at: iso(state.openAt.at), exact: state.openAt.exact } } : {}),
    };
}

/** The view of `windows` at `now`: for status and plan. */
export function freezeViewAt(windows: readonly FreezeWindow[], now: number): FreezeView {
    return freezeView(freezeState(windows, now), windows.length);
}

/** The lines status and plan print for a view, each starting with `indent`; names escaped. */
export function freezeLines(v: FreezeView, indent: string): string[] {
    const span = (o: ShownOccurrence) =>
        `${printableField(o.name)} from ${o.startLocal} until ${o.endLocal} (${o.start} to ${o.end})`;
    const opening = v.openAt
        ? `; deploying may next happen ${v.openAt.exact ? "at" : "not before"} ${v.openAt.at}`
        : "";
    if (v.inForce.length === 0 && v.upcoming.length === 0)
        return [`${indent}freeze windows: none in force or starting within 24 h (${v.windows} listed)`];
    return [
        ...v.inForce.map((o, i) => `${indent}frozen: ${span(o)}${i === 0 ? opening : ""}`),
        ...v.upcoming.map((o) => `${indent}freeze window starting within 24 h: ${span(o)}`),
    ];
}

/** The report of `state`, taken at `now` over `count` windows. */
export function freezeReport(
    state: FreezeState,
    now: number,
    count: number,
    windowsFrom: FreezeReport["windowsFrom"],
    breakGlass: boolean,
): FreezeReport {
    const frozen = state.inForce.length > 0;
    return {
        result: !frozen ? "open" : breakGlass ? "break-glass" : "frozen",
        windowsFrom,
        checkedAt: iso(now),
        ...freezeView(state, count),
    };
}

/** `weekend (Europe/Stockholm, until 2027-03-29 08:00 Europe/Stockholm (2027-03-29 06:00 UTC))`, escaped. */
export function describeInForce(state: FreezeState): string {
    return state.inForce
        .map((o) => `${printableField(o.name)} (${o.timeZone}, until ${showInstant(o.end, o.timeZone)})`)
        .join(", ");
}

/** When deploying may next happen, in the first window's zone and UTC. */
export function describeOpening(state: FreezeState): string {
    const open = state.openAt;
    if (!open) return "now";
    const zone = state.inForce[0]?.timeZone ?? "UTC";
    return open.exact ? showInstant(open.at, zone) : `not before ${showInstant(open.at, zone)}`;
}

/** The stack's windows: the outputs' (checked against the checkout by then), else a dry run's stack file. */
function windowsFor(t: Target, outputs: DeployRoleOutputs | undefined): readonly FreezeWindow[] {
    if (!outputs) return t.stack.freezeWindows;
    try {
        return freezeWindowsOf(t.stack.stack, outputs.freezeWindows);
    } catch (e) {
        throw new DriverError(
            Exit.NOT_PROVISIONED,
            `stack ${t.stack.stack}'s output freezeWindows is not a valid list of windows (${printableField((e as Error).message)}). Run \`pulumi up -s ${t.stack.stack}\` in account ${t.stack.accountId}.`,
        );
    }
}

/**
 * Refuses (DriverError FROZEN) while a window is in force, unless --break-glass gives a reason:
 * then the deploy goes ahead and one line names the windows and the reason. A dry run says what
 * it would do. Returns the report for the summary.
 */
export function freezeGate(
    o: DeployOptions,
    t: Target,
    outputs: DeployRoleOutputs | undefined,
    s: Services,
): FreezeReport {
    const windows = windowsFor(t, outputs);
    const now = s.now();
    const state = freezeState(windows, now);
    const report = freezeReport(state, now, windows.length, outputs ? "outputs" : "config", !!o.breakGlass);
    const stack = t.stack.stack;
    const from = outputs ? "from the outputs" : `from Pulumi.${stack}.yaml: the outputs could not be read`;
    if (state.inForce.length === 0) {
        if (o.dryRun)
            s.log.info(
                `dry run: freeze windows (${from}): none of ${windows.length} in force at ${iso(now)}${state.upcoming.length ? `; starting within 24 h: ${state.upcoming.map((u) => `${printableField(u.name)} at ${showInstant(u.start, u.timeZone)}`).join(", ")}` : ""}`,
            );
        return report;
    }
    const what = `stack ${stack} is frozen by ${describeInForce(state)}; deploying may next happen at ${describeOpening(state)}`;
    if (o.breakGlass) {
        s.log.info(`break-glass: ${what}; deploying anyway, reason: ${printableField(o.breakGlass)}`);
        return report;
    }
    if (o.dryRun) {
        s.log.info(`dry run: would refuse (exit ${Exit.FROZEN}): ${what} (windows ${from})`);
        return report;
    }
    throw new DriverError(
        Exit.FROZEN,
        `${what}. Nothing was assumed or written. Deploy after the freeze, or, in an emergency, with --break-glass "<reason>" if the stack allows it.`,
        { freeze: report },
    );
}
