/**
 * What attini is run with: its command line, which the driver owns (`attini deploy run <path> -e
 * <env> -f`, with no extra argument that sets the environment, region, profile or force flag), and
 * its environment, in which the deploy role's temporary credentials are the only credentials it
 * can find. Also where the attini executable is. attiniProcess.ts runs it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { TemporaryCredentials } from "./awsCall";
import { usage } from "./errors";

/**
 * Variables that could hand attini another identity than the deploy role (profiles, static keys,
 * container or web-identity credentials, credential files), or that carry the driver's own
 * secrets. None of them reaches attini.
 */
export const WITHHELD_VARS = [
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    // The AWS SDK for Java's own names (attini is Java): legacy keys and its credentials file.
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_CREDENTIAL_PROFILES_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "ATTINI_GITOPS_EXTERNAL_ID",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_CONFIG_PASSPHRASE_FILE",
    "PULUMI_ACCESS_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
];

/**
 * `attini deploy run`'s options that the driver owns (picocli names, from the Attini CLI's
 * CreateAndDeployDistributionCommand and RegionAndProfileOption): the environment, the region,
 * the profile and the force flag. The extra arguments may not set them in any spelling.
 */
const OWNED_LONG = ["--environment", "--region", "--profile", "--force"];
const OWNED_SHORT = new Set(["e", "r", "p", "f"]);
/** Short options of `deploy run` that are whole words, not clusters: -ec VALUE, -crl, -cb. */
const WORD_SHORT = new Set(["-ec", "-crl", "-cb"]);
/** Single-letter options that take a value (the rest of a cluster is that value): -i, -v. */
const SHORT_WITH_VALUE = new Set(["i", "v"]);

/** The owned option an extra argument sets, or undefined. Handles `-e x`, `-ex`, `-e=x`, `-bf`, `--environment=x`. */
export function ownedOption(arg: string): string | undefined {
    if (arg.startsWith("--")) {
        const name = arg.split("=")[0];
        return OWNED_LONG.includes(name) ? name : undefined;
    }
    if (!arg.startsWith("-") || arg.length < 2 || WORD_SHORT.has(arg.split("=")[0])) return undefined;
    // A picocli cluster: flags one after another, until one that takes a value eats the rest.
    for (const c of arg.slice(1)) {
        if (OWNED_SHORT.has(c)) return `-${c}`;
        if (SHORT_WITH_VALUE.has(c) || c === "=") return undefined;
    }
    return undefined;
}

/**
 * Whether picocli, attini's command-line parser, would replace an argument with the contents of a
 * file: it expands every argument that starts with `@` (an "@file"), wherever it stands, and the
 * file's arguments could set what the driver owns (`--region x`) where no check sees them.
 */
export function isAtFile(arg: string): boolean {
    return arg.startsWith("@");
}

/** The exact attini command line: `attini deploy run <path> -e <env> -f [extra...]`. */
export function attiniArgs(distributionPath: string, attiniEnvironment: string, extra: readonly string[]): string[] {
    if (distributionPath.startsWith("-")) {
        throw usage(
            `distribution path ${JSON.stringify(distributionPath)} starts with '-', which attini would read as an option. Write it as ./${distributionPath}.`,
        );
    }
    if (isAtFile(distributionPath)) {
        throw usage(
            `distribution path ${JSON.stringify(distributionPath)} starts with '@', which attini's command-line parser (picocli) would replace with the arguments written in that file. Write it as ./${distributionPath}.`,
        );
    }
    for (const arg of extra) {
        if (isAtFile(arg)) {
            throw usage(
                `attini argument ${JSON.stringify(arg)} starts with '@': attini's command-line parser (picocli) would replace it with the arguments written in that file, and those could set -e, -r, -p or -f, which attini-gitops owns. Pass those arguments themselves after --.`,
            );
        }
        const owned = ownedOption(arg);
        if (owned) {
            throw usage(
                `attini argument ${JSON.stringify(arg)} sets ${owned}, which attini-gitops owns: the environment, region and profile come from the stack, and -f is always passed. Remove it from the arguments after --.`,
            );
        }
    }
    // -f: skip the production confirmation prompt, which crashes without a TTY.
    return ["deploy", "run", distributionPath, "-e", attiniEnvironment, "-f", ...extra];
}

/** The credentials as environment variables, for --static-credentials. */
export function staticCredentialVars(c: TemporaryCredentials): Record<string, string> {
    return {
        AWS_ACCESS_KEY_ID: c.accessKeyId,
        AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
        AWS_SESSION_TOKEN: c.sessionToken,
    };
}

/** The variables the JVM (and launcher scripts) read options from. */
export const JAVA_OPTION_VARS = ["JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS", "JAVA_OPTS"];

/**
 * Whether a Java option makes the JVM read more options from a file: `-XX:VMOptionsFile=<file>`
 * (honoured in all four variables) or an `@argfile` (the java launcher expands it in
 * JDK_JAVA_OPTIONS and on its command line, where JAVA_OPTS ends up). Such a file could hold
 * `-Daws.*` properties that no filter here sees, so it is withheld whole.
 */
export function isJavaOptionFile(option: string): boolean {
    return /^-XX:VMOptionsFile(?:=|$)/.test(option) || option.startsWith("@");
}

/**
 * A Java options string without the tokens `withheld` names (it is given each token without its
 * quotes), the rest exactly as it was. Tokens are split on white space; a token may be quoted
 * ("-Daws.x=a b").
 */
function withoutJavaOptions(options: string, withheld: (bare: string) => boolean): string {
    let out = "";
    const token = /(\s*)((?:"[^"]*"|'[^']*'|\S)+)/gy;
    let rest = 0;
    for (let m = token.exec(options); m !== null; m = token.exec(options)) {
        rest = token.lastIndex;
        if (withheld(m[2].replace(/["']/g, ""))) continue;
        out += m[1] + m[2];
    }
    return (out + options.slice(rest)).trimStart();
}

const isAwsProperty = (option: string) => /^-Daws\./.test(option);

/**
 * Removes every `-Daws.*` system property from a Java options string, leaving the rest exactly as
 * it was. The AWS SDK for Java reads system properties (aws.accessKeyId, aws.secretAccessKey,
 * aws.sessionToken, aws.profile, aws.roleArn, aws.webIdentityTokenFile, aws.region, ...) before
 * environment variables, so any of them could give attini another identity or region.
 */
export function withoutAwsProperties(options: string): string {
    return withoutJavaOptions(options, isAwsProperty);
}

/**
 * What attini gets of a Java options variable: neither `-Daws.*` properties nor the option files
 * that could hold them (`-XX:VMOptionsFile=...`, `@argfile`); everything else as it was.
 */
export function javaOptionsForAttini(options: string): string {
    return withoutJavaOptions(options, (o) => isAwsProperty(o) || isJavaOptionFile(o));
}

/**
 * The child's environment: the parent's minus other credential sources (the Java option
 * variables keep only what javaOptionsForAttini lets through), plus the role's
 * (`credentialVars`: the endpoint's address and token, or static keys). When
 * attini's output does not go to a terminal (a CI log), ATTINI_DISABLE_ANSI_COLOR=true keeps
 * colour codes out of it, unless the user set that variable.
 */
export function attiniEnv(
    parent: NodeJS.ProcessEnv,
    credentialVars: Readonly<Record<string, string>>,
    region: string,
    outputIsTerminal = false,
): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...parent };
    for (const k of WITHHELD_VARS) delete env[k];
    for (const k of JAVA_OPTION_VARS) {
        const v = env[k];
        if (v === undefined) continue;
        const kept = javaOptionsForAttini(v);
        if (kept.trim() === "") delete env[k];
        else env[k] = kept;
    }
    return {
        ...env,
        ...credentialVars,
        // Attini reads the region from AWS_REGION only; AWS_DEFAULT_REGION is for other AWS tools.
        AWS_REGION: region,
        AWS_DEFAULT_REGION: region,
        // No credential files and no instance role to fall back on: the role's credentials or nothing.
        AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
        AWS_CONFIG_FILE: "/dev/null",
        AWS_EC2_METADATA_DISABLED: "true",
        ATTINI_DISABLE_CLI_VERSION_CHECK: "true",
        ...(env.ATTINI_DISABLE_ANSI_COLOR === undefined && !outputIsTerminal
            ? { ATTINI_DISABLE_ANSI_COLOR: "true" }
            : {}),
    };
}

/** Finds the attini executable: an explicit path, or `attini` on PATH. */
export function findAttini(bin: string, env: NodeJS.ProcessEnv): string {
    const candidates = bin.includes(path.sep)
        ? [path.resolve(bin)]
        : (env.PATH ?? "")
              .split(path.delimiter)
              .filter(Boolean)
              .map((d) => path.join(d, bin));
    for (const c of candidates) {
        try {
            fs.accessSync(c, fs.constants.X_OK);
            if (fs.statSync(c).isFile()) return c;
        } catch {
            /* try the next */
        }
    }
    throw usage(
        bin.includes(path.sep)
            ? `attini executable ${bin} does not exist or is not executable (--attini-bin / ATTINI_BIN).`
            : `attini is not on PATH. Install the Attini CLI (https://docs.attini.io) in the build image, or point --attini-bin / ATTINI_BIN at it.`,
    );
}
