#!/usr/bin/env node
/**
 * attini-gitops: the CI driver. Run `attini-gitops --help`.
 */
// Cache compiled code (Node >= 22.1) so that the Automation API, a large module graph, loads in
// about half the time on every run after the first. The cache holds no data, only bytecode.
// eslint-disable-next-line @typescript-eslint/no-require-imports
(require("node:module") as { enableCompileCache?: () => unknown }).enableCompileCache?.();
import * as fs from "node:fs";
import { parseArgs, ParseArgsConfig } from "node:util";
import { deploy, DeploySummary } from "./deploy";
import { DriverError, Exit, usage } from "./errors";
import { Logger, Redactor } from "./log";
import { allStacksBuildServerPolicy, formatPlan, plan, validate } from "./plan";
import { DEFAULT_KILL_GRACE_MS } from "./attini";
import { ArtifactError, readAttiniConfig } from "./artifact";
import { DEFAULT_OUTPUTS_TIMEOUT_MS } from "./outputs";
import { formatStatus, SHOWN_COMMITS, status } from "./status";
import { DEFAULT_AWS_TIMEOUTS } from "./sts";

const EXIT_CODES = `Exit codes:
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
  ${Exit.INTERNAL}   internal error in attini-gitops
  ${Exit.TIMEOUT}  attini did not finish within --timeout
  129/130/143  interrupted by SIGHUP/SIGINT/SIGTERM (SIGTERM, or SIGINT, sent to attini's process group)`;

const HELP: Record<string, string> = {
    main: `attini-gitops: deploy with Attini from one git branch per environment, each in its own AWS account.

Usage: attini-gitops <command> [options]

Commands:
  deploy [DISTRIBUTION_PATH] [-- ATTINI_ARGS...]
                        map the branch to its stack, assume that stack's deploy role and run
                        \`attini deploy run <path> -e <env> -f\` with the role's credentials
  plan                  show branch → stack → Attini environment → account/region → role
  validate              check Pulumi.yaml and every Pulumi.<stack>.yaml offline; list every problem
  build-server-policy   print the IAM policy the build server needs for all deploy roles
  status                per environment: branch tip beside the last deployment Attini recorded;
                        per promotion link: commits waiting, hotfixes and cherry-picks, equal trees

Run \`attini-gitops <command> --help\` for a command's options.

${EXIT_CODES}`,
    deploy: `Usage: attini-gitops deploy [DISTRIBUTION_PATH] [options] [-- ATTINI_ARGS...]

Maps the git branch to a stack, reads the stack's outputs (Pulumi Automation API), assumes the
stack's deploy role (STS), checks the role is in the stack's account, and runs
  attini deploy run DISTRIBUTION_PATH -e <attiniEnvironment> -f [ATTINI_ARGS...]
with the role's temporary credentials, AWS_REGION and AWS_DEFAULT_REGION. DISTRIBUTION_PATH is a
folder or a .zip (default: .).

For a stack with promotedFrom (and promotionGate warn or enforce), two gates run first:
  - git: every commit being deployed is on the upstream branch, and a folder is committed;
  - verified, for a .zip with a distributionId: the upstream environment's own Attini record,
    read with its history reader, shows a successful deployment of that same id.

Options:
  --branch NAME          the branch (default: BRANCH, then the CI system's variables, then git)
  --stack NAME           deploy to this stack, whatever the branch maps to
  --allow-unmapped       exit 0 when the branch maps to no environment
  --external-id ID       the ExternalId, when the stack requires one (or ATTINI_GITOPS_EXTERNAL_ID)
  --github-oidc          on GitHub Actions: assume the role with the job's OIDC token
                         (AssumeRoleWithWebIdentity; needs \`permissions: id-token: write\`)
  --duration SECONDS     session length (default 3600; role chaining caps it at 3600). attini
                         gets the credentials from a loopback endpoint that refreshes them before
                         they expire, so a deployment may run longer than one session
  --static-credentials   give attini the credentials as AWS_ACCESS_KEY_ID/... variables instead
                         (no refresh: a deployment must end within one session)
  --session-name NAME    STS session name (default deploy-<distribution name>)
  --timeout DURATION     stop attini after e.g. 900, 90s, 30m or 2h (default: no limit)
  --kill-grace DURATION  after SIGTERM to attini's process group (on --timeout or a signal), how
                         long before SIGKILL (default 10s)
  --outputs-timeout DURATION
                         longest wait for the stack outputs from the Pulumi backend (default 2m)
  --aws-timeout DURATION longest wait for the source credential lookup, and for each set of
                         credentials: AssumeRole with its retries plus GetCallerIdentity (default 60s)
  --aws-request-timeout DURATION
                         longest wait to connect, and then for an answer, per AWS request (default 10s)
  --attini-bin PATH      the attini executable (default: ATTINI_BIN, then attini on PATH)
  --expect-sha256 HEX    refuse unless the .zip distribution has this sha256 (promote one artifact)
  --skip-promotion-check deploy even if the promotion gates object (logged)
  --remote NAME          the git remote whose branches the promotion gate reads (default origin)
  --dry-run              resolve everything and print the attini command; call neither STS nor attini
  --json                 print one JSON summary on stdout (attini's output goes to stderr)
  --cwd DIR              the project folder (default: the current one, or above)
  -h, --help             this help

${EXIT_CODES}`,
    plan: `Usage: attini-gitops plan [--branch NAME] [--json] [--cwd DIR]

Shows every stack: branch → stack → Attini environment → account and region → deploy role.
The role comes from the stack outputs when the backend can be read; otherwise it is derived from
the stack file and marked so. With --branch, shows only the stack that branch deploys to.
Reads as many stacks' outputs at once as the machine has cores (ATTINI_GITOPS_OUTPUT_READERS=N
changes that).`,
    validate: `Usage: attini-gitops validate [--json] [--cwd DIR]

Checks Pulumi.yaml and every Pulumi.<stack>.yaml offline, with the same rules the Pulumi program
runs, and lists every problem (stack, key, value, fix). Exits ${Exit.USAGE} if there is any.`,
    status: `Usage: attini-gitops status [--distribution-name NAME | --dist PATH] [--remote NAME] [--all] [--json] [--cwd DIR]

For each environment: its branch tip (the local clone's remote-tracking branch; run git fetch
first) beside the last deployment of the distribution that Attini recorded there (its id, time
and outcome, and the last success when the last one did not succeed), and whether the branch
moved on since. The record is read with each environment's history reader, as the build server
(the default AWS credential chain); where that is not possible, status says why instead.

For each promotion link (promotedFrom in the stack files, e.g. dev → stage → prod):
  - the commits waiting to be promoted, and the age of the oldest;
  - the commits on the downstream branch that never passed through the upstream one (hotfixes,
    and cherry-picks of changes that did);
  - whether the two branches' trees are equal.
Long lists show their count, the oldest and the first ${SHOWN_COMMITS} commits; --all lists every
commit (--json always carries all of them). Says so when a remote-tracking branch is missing or
looks stale.

Options:
  --distribution-name NAME  the distribution whose deployments to show
  --dist PATH               the same, read from the distribution's attini-config (folder or .zip)
  --external-id ID          the ExternalId, for stacks that require one (or ATTINI_GITOPS_EXTERNAL_ID)
  --aws-timeout DURATION    longest wait per environment's record (default 60s)
  --aws-request-timeout DURATION  longest wait per AWS request (default 10s)
  --remote NAME             the git remote whose branches are compared (default origin)
  --all                     list every commit
  --json                    {"environments": [...], "links": [...]}`,
    "build-server-policy": `Usage: attini-gitops build-server-policy [--cwd DIR]

Prints the identity policy (JSON) the build server needs to assume every stack's deploy role.`,
};

const COMMON = { help: { type: "boolean", short: "h" }, json: { type: "boolean" }, cwd: { type: "string" } } as const;
export const OPTIONS = {
    deploy: {
        ...COMMON,
        branch: { type: "string" },
        stack: { type: "string" },
        "allow-unmapped": { type: "boolean" },
        "external-id": { type: "string" },
        duration: { type: "string" },
        "session-name": { type: "string" },
        timeout: { type: "string" },
        "kill-grace": { type: "string" },
        "outputs-timeout": { type: "string" },
        "aws-timeout": { type: "string" },
        "aws-request-timeout": { type: "string" },
        "attini-bin": { type: "string" },
        "dry-run": { type: "boolean" },
        "github-oidc": { type: "boolean" },
        "static-credentials": { type: "boolean" },
        "skip-promotion-check": { type: "boolean" },
        "expect-sha256": { type: "string" },
        remote: { type: "string" },
    },
    status: {
        ...COMMON,
        remote: { type: "string" },
        all: { type: "boolean" },
        "distribution-name": { type: "string" },
        dist: { type: "string" },
        "external-id": { type: "string" },
        "aws-timeout": { type: "string" },
        "aws-request-timeout": { type: "string" },
    },
    plan: { ...COMMON, branch: { type: "string" } },
    validate: COMMON,
    "build-server-policy": COMMON,
} satisfies Record<string, ParseArgsConfig["options"]>;

type Command = keyof typeof OPTIONS;

/** The longest duration any option accepts: 366 days. */
export const MAX_DURATION_SECONDS = 366 * 86_400;

/** Parses "900", "90s", "30m", "2h" into seconds, from 1 second to 366 days. */
export function parseDuration(flag: string, v: string): number {
    const m = /^(\d+)\s*([smh]?)$/.exec(v.trim());
    if (!m) throw usage(`${flag} ${JSON.stringify(v)}: use seconds (900) or a number with s, m or h (90s, 30m, 2h)`);
    const seconds = Number(m[1]) * { "": 1, s: 1, m: 60, h: 3600 }[m[2] as "" | "s" | "m" | "h"];
    if (seconds < 1 || seconds > MAX_DURATION_SECONDS) throw usage(`${flag} ${JSON.stringify(v)}: must be between 1 second and 366 days`);
    return seconds;
}

/** A duration option in ms, or its default. */
function durationMs(v: Record<string, string | boolean | undefined>, flag: string, defaultMs: number): number {
    const given = v[flag];
    return given === undefined ? defaultMs : parseDuration(`--${flag}`, given as string) * 1000;
}

/** The distributionName in a distribution's attini-config, for `status --dist`. */
async function distributionNameOf(dist: string): Promise<string> {
    try {
        const name = (await readAttiniConfig(dist)).distributionName;
        if (name) return name;
        throw usage(`--dist ${dist}: its attini-config sets no distributionName`);
    } catch (e) {
        if (e instanceof ArtifactError || (e as NodeJS.ErrnoException).code === "ENOENT") throw usage(`--dist ${dist}: ${(e as Error).message}`);
        throw e;
    }
}

function parse(command: Command, args: string[]) {
    try {
        return parseArgs({ args, options: OPTIONS[command], allowPositionals: true, strict: true });
    } catch (e) {
        // A folder named like an option: say how to pass it as the distribution path.
        const path = command === "deploy" ? args.find((a) => /^-[^-]/.test(a) && fs.existsSync(a)) : undefined;
        if (path) throw usage(`${JSON.stringify(path)} starts with '-', which would be read as an option. Write the distribution path as ./${path}.`);
        throw usage(`${(e as Error).message}. See \`attini-gitops ${command} --help\`.`);
    }
}

function print(text: string): void {
    process.stdout.write(`${text}\n`);
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
    const redactor = new Redactor();
    redactor.add(env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN, env.ATTINI_GITOPS_EXTERNAL_ID, env.PULUMI_CONFIG_PASSPHRASE, env.PULUMI_ACCESS_TOKEN, env.ACTIONS_ID_TOKEN_REQUEST_TOKEN);
    const log = new Logger(redactor);
    const [command, ...rest] = argv;
    let json = false;
    try {
        if (command === undefined || command === "-h" || command === "--help" || command === "help") {
            print(HELP.main);
            return command === undefined ? Exit.USAGE : Exit.OK;
        }
        if (!(command in OPTIONS)) throw usage(`unknown command ${JSON.stringify(command)}. Commands: ${Object.keys(OPTIONS).join(", ")}. See \`attini-gitops --help\`.`);
        const cmd = command as Command;
        const dashdash = rest.indexOf("--");
        const own = dashdash === -1 ? rest : rest.slice(0, dashdash);
        const extra = dashdash === -1 ? [] : rest.slice(dashdash + 1);
        const { values, positionals } = parse(cmd, own);
        const v = values as Record<string, string | boolean | undefined>;
        json = v.json === true;
        if (v.help) {
            print(HELP[cmd]);
            return Exit.OK;
        }
        const cwd = (v.cwd as string | undefined) ?? process.cwd();
        if (cmd !== "deploy" && (positionals.length > 0 || extra.length > 0)) throw usage(`${cmd} takes no arguments (got ${[...positionals, ...extra].join(" ")})`);

        switch (cmd) {
            case "deploy": {
                if (positionals.length > 1) throw usage(`deploy takes one DISTRIBUTION_PATH (got ${positionals.length}); pass attini's own arguments after --`);
                const externalId = (v["external-id"] as string | undefined) ?? env.ATTINI_GITOPS_EXTERNAL_ID;
                redactor.add(externalId);
                const summary: DeploySummary = await deploy(
                    {
                        distributionPath: positionals[0] ?? ".",
                        extraArgs: extra,
                        branch: v.branch as string | undefined,
                        stack: v.stack as string | undefined,
                        allowUnmapped: v["allow-unmapped"] === true,
                        attiniBin: (v["attini-bin"] as string | undefined) ?? env.ATTINI_BIN ?? "attini",
                        externalId,
                        githubOidc: v["github-oidc"] === true,
                        staticCredentials: v["static-credentials"] === true,
                        remote: (v.remote as string | undefined) ?? "origin",
                        skipPromotionCheck: v["skip-promotion-check"] === true,
                        expectSha256: v["expect-sha256"] as string | undefined,
                        durationSeconds: v.duration === undefined ? 3600 : parseDuration("--duration", v.duration as string),
                        sessionName: v["session-name"] as string | undefined,
                        timeoutSeconds: v.timeout === undefined ? 0 : parseDuration("--timeout", v.timeout as string),
                        killGraceMs: durationMs(v, "kill-grace", DEFAULT_KILL_GRACE_MS),
                        outputsTimeoutMs: durationMs(v, "outputs-timeout", DEFAULT_OUTPUTS_TIMEOUT_MS),
                        aws: { totalMs: durationMs(v, "aws-timeout", DEFAULT_AWS_TIMEOUTS.totalMs), requestMs: durationMs(v, "aws-request-timeout", DEFAULT_AWS_TIMEOUTS.requestMs) },
                        dryRun: v["dry-run"] === true,
                        json,
                        cwd,
                    },
                    env,
                    log,
                );
                if (json) print(redactor.scrub(JSON.stringify(summary)));
                return summary.exitCode;
            }
            case "plan": {
                const rows = await plan(cwd, v.branch as string | undefined, env);
                print(json ? JSON.stringify(rows) : formatPlan(rows));
                return Exit.OK;
            }
            case "validate": {
                const r = validate(cwd);
                if (json) print(JSON.stringify(r));
                else if (r.problems.length === 0) print(`OK: Pulumi.yaml and ${r.stacks.length} stack files (${r.stacks.join(", ")}) are valid.`);
                else print(`${r.problems.length} problem(s) in ${r.projectDir}:\n${r.problems.map((p) => `  - ${p}`).join("\n")}`);
                return r.problems.length === 0 ? Exit.OK : Exit.USAGE;
            }
            case "status": {
                if (v["distribution-name"] !== undefined && v.dist !== undefined) throw usage("status: pass --distribution-name or --dist, not both");
                const externalId = (v["external-id"] as string | undefined) ?? env.ATTINI_GITOPS_EXTERNAL_ID;
                redactor.add(externalId);
                const report = await status({
                    cwd,
                    remote: (v.remote as string | undefined) ?? "origin",
                    distributionName: (v["distribution-name"] as string | undefined) ?? (v.dist === undefined ? undefined : await distributionNameOf(v.dist as string)),
                    externalId,
                    aws: { totalMs: durationMs(v, "aws-timeout", DEFAULT_AWS_TIMEOUTS.totalMs), requestMs: durationMs(v, "aws-request-timeout", DEFAULT_AWS_TIMEOUTS.requestMs) },
                    env,
                    log: (line) => log.info(line),
                });
                print(redactor.scrub(json ? JSON.stringify(report) : formatStatus(report, undefined, v.all === true)));
                return Exit.OK;
            }
            case "build-server-policy":
                print(JSON.stringify(allStacksBuildServerPolicy(cwd), null, 2));
                return Exit.OK;
        }
    } catch (e) {
        const code = e instanceof DriverError ? e.exitCode : Exit.INTERNAL;
        const message = e instanceof DriverError ? e.message : `internal error: ${(e as Error)?.stack ?? String(e)}`;
        log.info(message);
        const details = e instanceof DriverError ? e.details : {};
        if (json) print(redactor.scrub(JSON.stringify({ result: "error", exitCode: code, message, ...details })));
        return code;
    }
}

if (require.main === module) {
    main(process.argv.slice(2), process.env).then(
        (code) => {
            process.exitCode = code;
            // Nothing the driver started may keep it alive once it has its answer (a Pulumi CLI
            // stopped by --outputs-timeout, say): exit a moment later if the event loop has not emptied.
            setTimeout(() => process.exit(code), 2000).unref();
        },
        (e) => {
            process.stderr.write(`attini-gitops: internal error: ${String(e)}\n`);
            process.exitCode = Exit.INTERNAL;
        },
    );
}
