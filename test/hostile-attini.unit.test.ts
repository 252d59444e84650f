// Hostile input on the way to attini (automation/attini.ts): arguments that picocli, attini's
// command-line parser, would replace with the contents of a file ("@file"), and Java option
// variables that would make the JVM read options from a file. Either could carry what the driver
// owns or withholds (-e/-r/-p/-f, -Daws.* credentials) past the checks that read only the text
// they are given, so both are refused or withheld, and these tests show it.
import test from "ava";
import { attiniArgs, attiniEnv, JAVA_OPTION_VARS, javaOptionsForAttini } from "../automation/attini";
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

test("Java option files are withheld: -XX:VMOptionsFile=... and @argfiles, quoted or not; the rest is kept", (t) => {
    t.is(
        javaOptionsForAttini(
            '-Xmx1g -XX:VMOptionsFile=/tmp/aws-opts -Dfoo="a b" "-XX:VMOptionsFile=/tmp/a b" @/tmp/args \'@/tmp/c d\' -XX:+UseG1GC',
        ),
        '-Xmx1g -Dfoo="a b" -XX:+UseG1GC',
    );
    t.is(javaOptionsForAttini("@argfile"), "");
    t.is(javaOptionsForAttini("-XX:VMOptionsFile=f"), "");
    // An '@' or the flag's name inside another option is not an option file; -Daws.* still goes.
    t.is(
        javaOptionsForAttini("-Dmail.to=ops@example.com -XX:VMOptionsFileless -Daws.profile=admin"),
        "-Dmail.to=ops@example.com -XX:VMOptionsFileless",
    );
});

test("attini's environment has no Java option file in any of the four Java option variables", (t) => {
    const parent: NodeJS.ProcessEnv = {
        PATH: "/bin",
        JAVA_TOOL_OPTIONS: "-XX:VMOptionsFile=/ci/jvm.opts -Xss4m",
        JDK_JAVA_OPTIONS: "@/ci/jdk.args",
        _JAVA_OPTIONS: "-Dhttps.proxyHost=proxy -XX:VMOptionsFile=/ci/other.opts",
        JAVA_OPTS: "@/ci/opts -Xmx2g",
    };
    const env = attiniEnv(parent, { AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1:1/x" }, "eu-west-1");
    t.is(env.JAVA_TOOL_OPTIONS, "-Xss4m");
    t.false("JDK_JAVA_OPTIONS" in env, "a variable left empty is removed");
    t.is(env._JAVA_OPTIONS, "-Dhttps.proxyHost=proxy");
    t.is(env.JAVA_OPTS, "-Xmx2g");
    for (const k of JAVA_OPTION_VARS) {
        t.false(/VMOptionsFile|(^|\s)["']?@/.test(env[k] ?? ""), `${k}=${env[k]}`);
    }
    // Whatever the variables held, the parent's environment is not changed.
    t.is(parent.JDK_JAVA_OPTIONS, "@/ci/jdk.args");
});
