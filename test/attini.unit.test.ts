// What the driver hands attini, decided without running it (automation/attini.ts, attiniProcess.ts): the command
// line it owns, the environment it withholds, and the timers that bound attini's run.
import test from "ava";
import {
    attiniArgs,
    attiniEnv,
    ownedOption,
    staticCredentialVars,
    WITHHELD_VARS,
    withoutAwsProperties,
} from "../automation/attini";
import { longTimeout, MAX_TIMER_MS } from "../automation/attiniProcess";
import { Exit } from "../automation/errors";

test("attini's command line and environment", (t) => {
    t.deepEqual(attiniArgs("dist", "prod", ["--json"]), ["deploy", "run", "dist", "-e", "prod", "-f", "--json"]);
    const parent = Object.fromEntries(WITHHELD_VARS.map((k) => [k, `parent-${k}`]));
    const env = attiniEnv(
        { ...parent, PATH: "/bin", AWS_ENDPOINT_URL: "http://127.0.0.1:1" },
        staticCredentialVars({ accessKeyId: "ASIATEMP", secretAccessKey: "tempsecret", sessionToken: "temptoken" }),
        "eu-north-1",
    );
    t.like(env, {
        PATH: "/bin",
        AWS_ENDPOINT_URL: "http://127.0.0.1:1",
        AWS_ACCESS_KEY_ID: "ASIATEMP",
        AWS_SECRET_ACCESS_KEY: "tempsecret",
        AWS_SESSION_TOKEN: "temptoken",
        AWS_REGION: "eu-north-1",
        AWS_DEFAULT_REGION: "eu-north-1",
        ATTINI_DISABLE_CLI_VERSION_CHECK: "true",
    });
    for (const k of WITHHELD_VARS) t.false(String(env[k]).startsWith("parent-"), k);
});

test("extra arguments may not set the environment, region, profile or force flag, in any spelling", (t) => {
    const owned: [string, string][] = [
        ["-e", "-e"],
        ["-eprod", "-e"],
        ["-e=prod", "-e"],
        ["--environment", "--environment"],
        ["--environment=prod", "--environment"],
        ["--region", "--region"],
        ["--region=us-east-1", "--region"],
        ["-r", "-r"],
        ["-rus-east-1", "-r"],
        ["--profile", "--profile"],
        ["--profile=x", "--profile"],
        ["-p", "-p"],
        ["-px", "-p"],
        ["-f", "-f"],
        ["--force", "--force"],
        ["-bf", "-f"],
        ["-be", "-e"],
    ];
    for (const [arg, option] of owned) {
        t.is(ownedOption(arg), option, arg);
        const e = t.throws(() => attiniArgs("dist", "dev", ["--json", arg, "x"]), undefined, arg);
        t.is((e as { exitCode?: number }).exitCode, Exit.USAGE);
        t.true(
            e!.message.includes(`attini argument ${JSON.stringify(arg)} sets ${option}, which attini-gitops owns`),
            e!.message,
        );
    }
    // attini's other options pass, including the ones whose names contain those letters.
    for (const ok of [
        "--json",
        "--debug",
        "-b",
        "--dont-follow",
        "-ec",
        "-ec=./env.sh",
        "--environment-config-script",
        "-crl",
        "-cb",
        "-i",
        "-iprod-release",
        "-v",
        "-v1.2.3",
        "--distribution-id=prefix",
        "--skip-commands",
        "value-e",
        "prod",
    ]) {
        t.is(ownedOption(ok), undefined, ok);
    }
    t.deepEqual(attiniArgs("dist", "prod", ["--json", "-ec", "env.sh", "-i", "abc"]), [
        "deploy",
        "run",
        "dist",
        "-e",
        "prod",
        "-f",
        "--json",
        "-ec",
        "env.sh",
        "-i",
        "abc",
    ]);
});

test("a distribution path starting with '-' is refused with the ./ hint", (t) => {
    const e = t.throws(() => attiniArgs("-e", "dev", []));
    t.is((e as { exitCode?: number }).exitCode, Exit.USAGE);
    t.regex(e!.message, /starts with '-'.*Write it as \.\/-e/);
    t.deepEqual(attiniArgs("./-e", "dev", []).slice(0, 3), ["deploy", "run", "./-e"]);
});

test("-Daws.* properties are removed from the Java options variables, and the rest is kept as it was", (t) => {
    t.is(
        withoutAwsProperties(
            '-Xmx1g -Daws.accessKeyId=AKIA  -Dfoo="a b" "-Daws.secretAccessKey=x y" -Daws.profile=p -XX:+UseG1GC',
        ),
        '-Xmx1g  -Dfoo="a b" -XX:+UseG1GC',
    );
    t.is(withoutAwsProperties("-Daws.region=us-east-1"), "");
    t.is(withoutAwsProperties("-Dawsome=1 -Dsoftware.aws.x=2"), "-Dawsome=1 -Dsoftware.aws.x=2");
    const creds = { accessKeyId: "ASIATEMP", secretAccessKey: "tempsecret", sessionToken: "temptoken" };
    const env = attiniEnv(
        {
            PATH: "/bin",
            JAVA_TOOL_OPTIONS: "-Daws.accessKeyId=AKIAOTHER -Daws.secretAccessKey=other -Xss4m",
            JDK_JAVA_OPTIONS: "-Daws.profile=admin",
            _JAVA_OPTIONS: "-Daws.sessionToken=tok -Dhttps.proxyHost=proxy",
            JAVA_OPTS: "-Daws.webIdentityTokenFile=/t",
            AWS_ACCESS_KEY: "AKIALEGACY",
            AWS_SECRET_KEY: "legacy-secret",
        },
        staticCredentialVars(creds),
        "eu-west-1",
    );
    t.is(env.JAVA_TOOL_OPTIONS, "-Xss4m");
    t.false("JDK_JAVA_OPTIONS" in env);
    t.is(env._JAVA_OPTIONS, "-Dhttps.proxyHost=proxy");
    t.false("JAVA_OPTS" in env);
    t.false("AWS_ACCESS_KEY" in env);
    t.false("AWS_SECRET_KEY" in env);
    t.is(env.AWS_ACCESS_KEY_ID, "ASIATEMP");
});

test("a --timeout longer than one Node timer holds is waited for in steps, not fired at once", async (t) => {
    // 600 hours is past 2^31-1 ms: a plain setTimeout would fire after 1 ms.
    const ms = 600 * 3600 * 1000;
    t.true(ms > MAX_TIMER_MS);
    let fired = false;
    const cancel = longTimeout(() => (fired = true), ms);
    await new Promise((r) => setTimeout(r, 50));
    t.false(fired);
    cancel();
    let short = false;
    longTimeout(() => (short = true), 10);
    await new Promise((r) => setTimeout(r, 60));
    t.true(short);
});
