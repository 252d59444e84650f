// Hostile input on the way to attini (automation/attini.ts): arguments that picocli, attini's
// command-line parser, would replace with the contents of a file ("@file"), and Java option
// variables that would make the JVM read options from a file. Either could carry what the driver
// owns or withholds (-e/-r/-p/-f, -Daws.* credentials) past the checks that read only the text
// they are given, so both are refused or withheld, and these tests show it.
import test from "ava";
import { attiniArgs } from "../automation/attini";
import { Exit } from "../automation/errors";

/** The usage error attiniArgs throws, or undefined when it accepts the command line. */
function refusal(fn: () => unknown): (Error & { exitCode?: number }) | undefined {
    try {
        fn();
    } catch (err) {
        return err as Error & { exitCode?: number };
    }
    return undefined;
}

test("an argument after -- that starts with '@' is refused: picocli would expand the file it names", (t) => {
    for (const extra of [
        ["@args"],
        ["--json", "@args"],
        ["@@args"],
        ["@/tmp/region-args"],
        ["-i", "@id-file"],
        ["@"],
    ]) {
        const arg = extra.find((a) => a.startsWith("@"))!;
        const e = refusal(() => attiniArgs("dist", "dev", extra));
        t.truthy(e, `${extra.join(" ")} was accepted`);
        t.is(e!.exitCode, Exit.USAGE, extra.join(" "));
        t.true(e!.message.includes(`attini argument ${JSON.stringify(arg)} starts with '@'`), e!.message);
        t.regex(e!.message, /picocli/);
        t.regex(e!.message, /-e, -r, -p or -f, which attini-gitops owns/);
    }
    // An '@' that does not start the argument is not an @file to picocli.
    t.deepEqual(attiniArgs("dist", "dev", ["-i", "release@2026", "--distribution-id=a@b"]).slice(6), [
        "-i",
        "release@2026",
        "--distribution-id=a@b",
    ]);
});

test("a distribution path that starts with '@' is refused with the ./ hint, and ./@name is passed unchanged", (t) => {
    const e = refusal(() => attiniArgs("@dist.zip", "dev", []));
    t.truthy(e);
    t.is(e!.exitCode, Exit.USAGE);
    t.regex(e!.message, /distribution path "@dist\.zip" starts with '@'.*picocli.*Write it as \.\/@dist\.zip\./);
    t.deepEqual(attiniArgs("./@dist.zip", "dev", []), ["deploy", "run", "./@dist.zip", "-e", "dev", "-f"]);
});
