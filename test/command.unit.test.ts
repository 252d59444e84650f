// Durations on the command line (parseDuration, automation/commands/command.ts): seconds, or a number
// with s, m or h, from 1 second to 366 days.
import test from "ava";
import { parseDuration } from "../automation/commands/command";

test("durations: seconds, minutes or hours", (t) => {
    t.is(parseDuration("--timeout", "900"), 900);
    t.is(parseDuration("--timeout", "30m"), 1800);
    t.is(parseDuration("--timeout", "2h"), 7200);
    t.throws(() => parseDuration("--timeout", "soon"), { message: /--timeout "soon": use seconds/ });
});

test("durations are bounded: 1 second to 366 days", (t) => {
    t.is(parseDuration("--timeout", "600h"), 600 * 3600);
    t.throws(() => parseDuration("--timeout", "0"), {
        message: /--timeout "0": must be between 1 second and 366 days/,
    });
    t.throws(() => parseDuration("--timeout", "9000h"), { message: /must be between 1 second and 366 days/ });
    t.throws(() => parseDuration("--aws-timeout", "99999999999999999999999"), {
        message: /--aws-timeout .*must be between/,
    });
});
