/**
 * luxon and cron-parser, loaded the first time a stack's time rules need them (a freeze window,
 * a soak time shown), not when the driver starts: most stacks list no window, and loading both
 * costs every command about 15 ms. Pure: only the moment of loading changes.
 */
import type * as CronParser from "cron-parser";
import type * as Luxon from "luxon";

let luxonModule: typeof Luxon | undefined;
let cronModule: typeof CronParser | undefined;

/** luxon (DateTime, Duration, IANAZone), loaded on first use. */
export function luxon(): typeof Luxon {
    // require(): CommonJS output; an import statement would load it with this module.
    luxonModule ??= require("luxon") as typeof Luxon;
    return luxonModule;
}

/** cron-parser (CronExpressionParser), loaded on first use. */
export function cronParser(): typeof CronParser {
    cronModule ??= require("cron-parser") as typeof CronParser;
    return cronModule;
}
