/**
 * What every command module shares: the options all commands take, the context a command runs
 * in, typed readers of the parsed options (text, flag, durations), the real services a flow is
 * handed, and the exit codes that every help text lists.
 */
import type { ParseArgsConfig } from "node:util";
import { Exit, usage } from "../errors";
import type { Logger, Redactor } from "../log";
import { realServices, type Services } from "../services";

export const EXIT_CODES = `Exit codes:
  0    success (also: branch maps to no environment, with --allow-unmapped)
  1    attini failed (attini's own exit code is passed through unchanged)
  ${Exit.USAGE}    usage or stack-config error
  ${Exit.UNMAPPED_BRANCH}    the branch maps to no environment
  ${Exit.NOT_PROVISIONED}    the stack is not provisioned, its outputs are stale or name another role, or the
       backend cannot be read (or did not answer within --outputs-timeout)
  ${Exit.CREDENTIALS}    no source AWS credentials, or STS refused/failed AssumeRole (or did not answer
       within --aws-timeout), or attini failed after a refresh of its credentials failed
  ${Exit.WRONG_ACCOUNT}    the deploy role (in the outputs, or as assumed) is not in the stack's account
       (attini was not run)
  ${Exit.REFUSED}    a promotion gate (git, or Attini's record upstream) or --expect-sha256 refused the
       deployment
  ${Exit.OUTDATED}    the ledger refused: the environment already has a newer commit (--allow-rollback
       deploys it anyway), or this content is held after a rollback (--release-hold)
  ${Exit.LEASE_WAIT}    another run held the environment's lease for longer than --lease-wait
  ${Exit.LEASE_LOST}   this run lost its lease while attini ran (renewals failed); attini was stopped
  ${Exit.SOME_TARGETS_FAILED}   a deploy of several targets: one or more did not deploy (each target's own
       exit code is in the table and in --json)
  ${Exit.INTERNAL}   internal error in attini-gitops
  ${Exit.TIMEOUT}  attini did not finish within --timeout
  129/130/143  interrupted by SIGHUP/SIGINT/SIGTERM (SIGTERM, or SIGINT, sent to attini's process group)`;

/** The options every command takes. */
export const COMMON = {
    help: { type: "boolean", short: "h" },
    json: { type: "boolean" },
    cwd: { type: "string" },
} as const;

/** The parsed option values of a command line. */
export type Values = Record<string, string | boolean | undefined>;

/** Where a command runs: its environment, folder, output and log. */
export interface CommandContext {
    env: NodeJS.ProcessEnv;
    cwd: string;
    json: boolean;
    /** Writes one line (or block) to stdout. */
    print: (text: string) => void;
    log: Logger;
    redactor: Redactor;
}

/** One `attini-gitops <command>`: its line in the main help, its own help and options, and what it does. */
export interface Command {
    /** The command's lines in `attini-gitops --help` (name and description, aligned). */
    summary: string;
    /** `attini-gitops <command> --help`. */
    help: string;
    options: NonNullable<ParseArgsConfig["options"]>;
    /** Whether it takes arguments (deploy's DISTRIBUTION_PATH and `-- ATTINI_ARGS`); the others take none. */
    takesArguments?: boolean;
    /** Runs it; returns the exit code. */
    run(values: Values, positionals: string[], extra: string[], ctx: CommandContext): Promise<number>;
}

/** The longest duration any option accepts: 366 days. */
export const MAX_DURATION_SECONDS = 366 * 86_400;

/** Parses "900", "90s", "30m", "2h" into seconds, from 1 second to 366 days. */
export function parseDuration(flag: string, v: string): number {
    const m = /^(\d+)\s*([smh]?)$/.exec(v.trim());
    if (!m) throw usage(`${flag} ${JSON.stringify(v)}: use seconds (900) or a number with s, m or h (90s, 30m, 2h)`);
    const seconds = Number(m[1]) * { "": 1, s: 1, m: 60, h: 3600 }[m[2] as "" | "s" | "m" | "h"];
    if (seconds < 1 || seconds > MAX_DURATION_SECONDS)
        throw usage(`${flag} ${JSON.stringify(v)}: must be between 1 second and 366 days`);
    return seconds;
}

/** A string option's value, when given (parseArgs has checked its type). */
export function text(v: Values, name: string): string | undefined {
    const given = v[name];
    return typeof given === "string" ? given : undefined;
}

/** Whether a boolean option was given. */
export function flag(v: Values, name: string): boolean {
    return v[name] === true;
}

/** A duration option in ms, or its default. */
export function durationMs(v: Values, name: string, defaultMs: number): number {
    const given = text(v, name);
    return given === undefined ? defaultMs : parseDuration(`--${name}`, given) * 1000;
}

/** A duration option in seconds, or its default. */
export function durationSeconds(v: Values, name: string, defaultSeconds: number): number {
    const given = text(v, name);
    return given === undefined ? defaultSeconds : parseDuration(`--${name}`, given);
}

/** The ExternalId: --external-id, else ATTINI_GITOPS_EXTERNAL_ID; registered with the redactor, never printed. */
export function externalIdOf(values: Values, ctx: CommandContext): string | undefined {
    const externalId = text(values, "external-id") ?? ctx.env.ATTINI_GITOPS_EXTERNAL_ID;
    ctx.redactor.add(externalId);
    return externalId;
}

/** The AWS time limits (--aws-timeout, --aws-request-timeout) of a command line. */
export function awsTimeouts(v: Values, defaults: { totalMs: number; requestMs: number }) {
    return {
        totalMs: durationMs(v, "aws-timeout", defaults.totalMs),
        requestMs: durationMs(v, "aws-request-timeout", defaults.requestMs),
    };
}

/** The real services for a flow run by this command. */
export function servicesOf(ctx: CommandContext): Services {
    return realServices(ctx.env, ctx.log);
}
