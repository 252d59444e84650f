/**
 * Runs `attini deploy run` as a child process, without a shell, with the deploy role's temporary
 * credentials as the only credentials it can find, and owns its command line. attini leads a
 * process group of its own: SIGINT/SIGTERM (and SIGHUP, as SIGTERM) are forwarded to the group,
 * --timeout and the SIGKILL after the grace period reach all of it, and nothing it started
 * outlives it. Streams its output and returns its exit code.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { TemporaryCredentials } from "./awsCall";
import { DriverError, Exit, usage } from "./errors";

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

/** The exact attini command line: `attini deploy run <path> -e <env> -f [extra...]`. */
export function attiniArgs(distributionPath: string, attiniEnvironment: string, extra: readonly string[]): string[] {
    if (distributionPath.startsWith("-")) {
        throw usage(
            `distribution path ${JSON.stringify(distributionPath)} starts with '-', which attini would read as an option. Write it as ./${distributionPath}.`,
        );
    }
    for (const arg of extra) {
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
 * Removes every `-Daws.*` system property from a Java options string, leaving the rest exactly as
 * it was. The AWS SDK for Java reads system properties (aws.accessKeyId, aws.secretAccessKey,
 * aws.sessionToken, aws.profile, aws.roleArn, aws.webIdentityTokenFile, aws.region, ...) before
 * environment variables, so any of them could give attini another identity or region.
 * Tokens are split on white space; a token may be quoted ("-Daws.x=a b").
 */
export function withoutAwsProperties(options: string): string {
    let out = "";
    const token = /(\s*)((?:"[^"]*"|'[^']*'|\S)+)/gy;
    let rest = 0;
    for (let m = token.exec(options); m !== null; m = token.exec(options)) {
        rest = token.lastIndex;
        const bare = m[2].replace(/["']/g, "");
        if (/^-Daws\./.test(bare)) continue;
        out += m[1] + m[2];
    }
    return (out + options.slice(rest)).trimStart();
}

/**
 * The child's environment: the parent's minus other credential sources, plus the role's
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
        const kept = withoutAwsProperties(v);
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

/** The shell convention for death by signal: 128 + its number (SIGHUP 129, SIGINT 130, SIGTERM 143). */
const signalExit = (sig: NodeJS.Signals) => 128 + (os.constants.signals[sig] ?? 0);

/** How long attini's process group gets between SIGTERM and SIGKILL by default. */
export const DEFAULT_KILL_GRACE_MS = 10_000;

/** The longest delay Node's timers can hold (2^31-1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * setTimeout for any delay: a delay beyond what one timer holds is waited for in several steps.
 * Returns the function that cancels it.
 */
export function longTimeout(fn: () => void, ms: number): () => void {
    let timer: NodeJS.Timeout;
    const due = Date.now() + ms;
    const arm = () => {
        const left = due - Date.now();
        timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(fn, Math.max(0, left));
    };
    arm();
    return () => clearTimeout(timer);
}

export interface RunOptions {
    bin: string;
    args: string[];
    env: NodeJS.ProcessEnv;
    /** Seconds; 0 means no limit. */
    timeoutSeconds: number;
    /** Where attini's stdout goes: ours, or our stderr (when --json keeps stdout for the summary). */
    stdoutToStderr: boolean;
    log: (line: string) => void;
    /** Grace period between SIGTERM and SIGKILL (--kill-grace). */
    killGraceMs?: number;
}

export interface AttiniResult {
    /** The exit code to exit with: attini's own, 124 on --timeout, 128+n when a signal ended it. */
    exitCode: number;
    ended: "exit" | "timeout" | "signal";
}

/** The signals the driver forwards to attini's process group; SIGHUP (a closed terminal or CI agent) is handled like SIGTERM. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** Sends a signal to every process of a group; false when the group has no process left. */
function signalGroup(pgid: number, sig: NodeJS.Signals | 0): boolean {
    try {
        process.kill(-pgid, sig);
        return true;
    } catch {
        return false;
    }
}

/**
 * Runs attini and resolves with how it ended. attini leads a process group of its own, so that a
 * forwarded signal, the --timeout and the SIGKILL after the grace period reach every process it
 * started (a launcher script's JVM, say), and none of them outlives the driver: once attini has
 * exited, whatever is left of its group gets SIGTERM and, after the grace period, SIGKILL.
 */
export function runAttini(o: RunOptions): Promise<AttiniResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(o.bin, o.args, {
            env: o.env,
            stdio: ["inherit", o.stdoutToStderr ? 2 : "inherit", "inherit"],
            shell: false,
            detached: true,
        });
        const pgid = child.pid;
        let timedOut = false;
        let forwarded: NodeJS.Signals | undefined;
        const grace = o.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
        let killTimer: NodeJS.Timeout | undefined;
        const terminate = (sig: NodeJS.Signals) => {
            if (pgid === undefined) return;
            signalGroup(pgid, sig);
            killTimer ??= setTimeout(() => signalGroup(pgid, "SIGKILL"), grace);
        };
        const handlers = FORWARDED_SIGNALS.map((sig) => {
            const handler = () => {
                forwarded = sig;
                o.log(`received ${sig}; forwarding ${sig === "SIGHUP" ? "SIGTERM" : sig} to attini's process group`);
                terminate(sig === "SIGHUP" ? "SIGTERM" : sig);
            };
            process.on(sig, handler);
            return [sig, handler] as const;
        });
        const cancelTimeout =
            o.timeoutSeconds > 0
                ? longTimeout(() => {
                      timedOut = true;
                      o.log(`attini did not finish within --timeout ${o.timeoutSeconds}s; stopping it`);
                      terminate("SIGTERM");
                  }, o.timeoutSeconds * 1000)
                : undefined;
        const done = () => {
            cancelTimeout?.();
            for (const [sig, handler] of handlers) process.off(sig, handler);
        };
        /** Waits until attini's group is empty, ending what is left of it (TERM, then KILL after the grace period). */
        const reapGroup = async () => {
            if (pgid === undefined || !signalGroup(pgid, 0)) return;
            o.log("attini left processes running in its process group; stopping them");
            terminate("SIGTERM");
            const until = Date.now() + grace + 1000;
            while (signalGroup(pgid, 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
            signalGroup(pgid, "SIGKILL");
        };
        child.on("error", (err) => {
            done();
            if (killTimer) clearTimeout(killTimer);
            reject(new DriverError(Exit.USAGE, `could not start attini (${o.bin}): ${err.message}`));
        });
        child.on("exit", (code, signal) => {
            done();
            void reapGroup().finally(() => {
                if (killTimer) clearTimeout(killTimer);
                if (timedOut) return resolve({ exitCode: Exit.TIMEOUT, ended: "timeout" });
                if (forwarded) return resolve({ exitCode: signalExit(forwarded), ended: "signal" });
                if (signal) return resolve({ exitCode: signalExit(signal), ended: "signal" });
                resolve({ exitCode: code ?? 1, ended: "exit" });
            });
        });
    });
}
