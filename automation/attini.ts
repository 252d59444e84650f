/**
 * Runs `attini deploy run` as a child process, without a shell, with the deploy role's temporary
 * credentials as the only credentials it can find. Streams its output, forwards SIGINT/SIGTERM,
 * enforces --timeout, and returns its exit code.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DriverError, Exit, usage } from "./errors";
import type { TemporaryCredentials } from "./sts";

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
    "ATTINI_GITOPS_EXTERNAL_ID",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_CONFIG_PASSPHRASE_FILE",
    "PULUMI_ACCESS_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
];

/** The exact attini command line: `attini deploy run <path> -e <env> -f [extra...]`. */
export function attiniArgs(distributionPath: string, attiniEnvironment: string, extra: readonly string[]): string[] {
    // -f: skip the production confirmation prompt, which crashes without a TTY.
    return ["deploy", "run", distributionPath, "-e", attiniEnvironment, "-f", ...extra];
}

/** The child's environment: the parent's minus other credential sources, plus the role's. */
export function attiniEnv(parent: NodeJS.ProcessEnv, creds: TemporaryCredentials, region: string): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...parent };
    for (const k of WITHHELD_VARS) delete env[k];
    return {
        ...env,
        AWS_ACCESS_KEY_ID: creds.accessKeyId,
        AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
        AWS_SESSION_TOKEN: creds.sessionToken,
        // Attini reads the region from AWS_REGION only; AWS_DEFAULT_REGION is for other AWS tools.
        AWS_REGION: region,
        AWS_DEFAULT_REGION: region,
        // No credential files and no instance role to fall back on: the role's credentials or nothing.
        AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
        AWS_CONFIG_FILE: "/dev/null",
        AWS_EC2_METADATA_DISABLED: "true",
        ATTINI_DISABLE_CLI_VERSION_CHECK: "true",
    };
}

/** Finds the attini executable: an explicit path, or `attini` on PATH. */
export function findAttini(bin: string, env: NodeJS.ProcessEnv): string {
    const candidates = bin.includes(path.sep) ? [path.resolve(bin)] : (env.PATH ?? "").split(path.delimiter).filter(Boolean).map((d) => path.join(d, bin));
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

/** The shell convention for death by signal: 128 + its number (SIGINT 130, SIGTERM 143). */
const signalExit = (sig: NodeJS.Signals) => 128 + (os.constants.signals[sig] ?? 0);

export interface RunOptions {
    bin: string;
    args: string[];
    env: NodeJS.ProcessEnv;
    /** Seconds; 0 means no limit. */
    timeoutSeconds: number;
    /** Where attini's stdout goes: ours, or our stderr (when --json keeps stdout for the summary). */
    stdoutToStderr: boolean;
    log: (line: string) => void;
    /** Grace period between SIGTERM and SIGKILL. */
    killGraceMs?: number;
}

export interface AttiniResult {
    /** The exit code to exit with: attini's own, 124 on --timeout, 128+n when a signal ended it. */
    exitCode: number;
    ended: "exit" | "timeout" | "signal";
}

/** Runs attini and resolves with how it ended. */
export function runAttini(o: RunOptions): Promise<AttiniResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(o.bin, o.args, { env: o.env, stdio: ["inherit", o.stdoutToStderr ? process.stderr : "inherit", "inherit"], shell: false });
        let timedOut = false;
        let forwarded: NodeJS.Signals | undefined;
        const grace = o.killGraceMs ?? 10_000;
        const terminate = (sig: NodeJS.Signals) => {
            child.kill(sig);
            setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"), grace).unref();
        };
        const onSignal = (sig: NodeJS.Signals) => {
            forwarded = sig;
            o.log(`received ${sig}; forwarding it to attini`);
            terminate(sig);
        };
        const onInt = () => onSignal("SIGINT");
        const onTerm = () => onSignal("SIGTERM");
        process.on("SIGINT", onInt);
        process.on("SIGTERM", onTerm);
        const timer =
            o.timeoutSeconds > 0
                ? setTimeout(() => {
                      timedOut = true;
                      o.log(`attini did not finish within --timeout ${o.timeoutSeconds}s; stopping it`);
                      terminate("SIGTERM");
                  }, o.timeoutSeconds * 1000)
                : undefined;
        const done = () => {
            if (timer) clearTimeout(timer);
            process.off("SIGINT", onInt);
            process.off("SIGTERM", onTerm);
        };
        child.on("error", (err) => {
            done();
            reject(new DriverError(Exit.USAGE, `could not start attini (${o.bin}): ${err.message}`));
        });
        child.on("exit", (code, signal) => {
            done();
            if (timedOut) return resolve({ exitCode: Exit.TIMEOUT, ended: "timeout" });
            if (forwarded) return resolve({ exitCode: signalExit(forwarded), ended: "signal" });
            if (signal) return resolve({ exitCode: signalExit(signal), ended: "signal" });
            resolve({ exitCode: code ?? 1, ended: "exit" });
        });
    });
}
