/** `attini-gitops deploy`: its options and help; the work is automation/deploying.ts. */
import { DEFAULT_KILL_GRACE_MS } from "../attiniProcess";
import { DEFAULT_AWS_TIMEOUTS } from "../awsCall";
import { ciRunPage } from "../ciRun";
import { type DeploySummary, deploy } from "../deploying";
import { type DeployOutcome, type DeployTarget, deployMarkdown } from "../deploySummary";
import type { DeployOptions } from "../deployTypes";
import { DriverError, Exit, usage } from "../errors";
import { childServices, cliRead, handoffReader } from "../handoff";
import { DEFAULT_LEASE_TTL_MS, DEFAULT_LEASE_WAIT_MS, LEASE_TTL_RANGE_MS } from "../leasing";
import { DEFAULT_OUTPUTS_TIMEOUT_MS, outputReaders } from "../outputs";
import { projectStacks } from "../project";
import { tagValueProblem } from "../session";
import { publishSummary, SUMMARY_HELP, SUMMARY_OPTIONS, summaryDestinations } from "../summaryOutput";
import { DEFAULT_PARALLEL, deployAllTargets, type HandoffFor, PARALLEL_RANGE, severalTargets } from "../waves";
import {
    awsTimeouts,
    COMMON,
    type Command,
    type CommandContext,
    durationMs,
    durationSeconds,
    EXIT_CODES,
    externalIdOf,
    flag,
    servicesOf,
    text,
    type Values,
} from "./command";

/** --parallel N: how many targets of a wave deploy at once, within its bounds. */
export function parallelOf(values: Values): number {
    const given = text(values, "parallel");
    if (given === undefined) return DEFAULT_PARALLEL;
    const n = Number(given);
    const { min, max } = PARALLEL_RANGE;
    if (!/^[0-9]+$/.test(given) || n < min || n > max)
        throw usage(
            `--parallel ${JSON.stringify(given)}: give a whole number of targets from ${min} to ${max} (default ${DEFAULT_PARALLEL})`,
        );
    return n;
}

/** --lease-ttl, within its bounds. */
function leaseTtl(values: Parameters<typeof text>[0]): number {
    const ms = durationMs(values, "lease-ttl", DEFAULT_LEASE_TTL_MS);
    const { min, max } = LEASE_TTL_RANGE_MS;
    if (ms < min || ms > max)
        throw usage(
            `--lease-ttl ${text(values, "lease-ttl")}: give between ${min / 1000}s and ${max / 1000}s (default ${DEFAULT_LEASE_TTL_MS / 1000}s)`,
        );
    return ms;
}

/**
 * --break-glass "<reason>": trimmed, and refused (never altered) when empty or when a session tag
 * could not carry it as it is, since it goes to CloudTrail in the deploy role's session tags.
 */
export function breakGlassReason(values: Parameters<typeof text>[0]): string | undefined {
    const given = text(values, "break-glass");
    if (given === undefined) return undefined;
    const reason = given.trim();
    if (reason === "")
        throw usage(
            '--break-glass needs a reason, e.g. --break-glass "INC-4711 payment outage hotfix": it is recorded in CloudTrail and the ledger',
        );
    // AssumeRoleWithWebIdentity takes no session tags: the reason would reach the ledger only.
    if (values["github-oidc"] === true)
        throw usage(
            "--break-glass cannot be used with --github-oidc: AssumeRoleWithWebIdentity takes no session tags, so the reason would not reach CloudTrail. Run the break-glass deploy with the build server's own credentials (without --github-oidc)",
        );
    const problem = tagValueProblem(reason);
    if (problem)
        throw usage(
            `--break-glass: the reason cannot be recorded as given (${problem}). It goes into the deploy role's session tags as it is, so write it with those characters, e.g. "INC-4711 payment outage hotfix"`,
        );
    return reason;
}

/** deploy()'s options from the command line; every usage error of an option is thrown here. */
function deployOptions(
    values: Values,
    positionals: string[],
    extra: string[],
    ctx: CommandContext,
    onTarget: (t: DeployTarget) => void,
): DeployOptions {
    const externalId = externalIdOf(values, ctx);
    return {
        distributionPath: positionals[0] ?? ".",
        extraArgs: extra,
        branch: text(values, "branch"),
        stack: text(values, "stack"),
        allowUnmapped: flag(values, "allow-unmapped"),
        attiniBin: text(values, "attini-bin") ?? ctx.env.ATTINI_BIN ?? "attini",
        externalId,
        githubOidc: flag(values, "github-oidc"),
        staticCredentials: flag(values, "static-credentials"),
        remote: text(values, "remote") ?? "origin",
        skipPromotionCheck: flag(values, "skip-promotion-check"),
        expectSha256: text(values, "expect-sha256"),
        durationSeconds: durationSeconds(values, "duration", 3600),
        sessionName: text(values, "session-name"),
        timeoutSeconds: durationSeconds(values, "timeout", 0),
        killGraceMs: durationMs(values, "kill-grace", DEFAULT_KILL_GRACE_MS),
        outputsTimeoutMs: durationMs(values, "outputs-timeout", DEFAULT_OUTPUTS_TIMEOUT_MS),
        aws: awsTimeouts(values, DEFAULT_AWS_TIMEOUTS),
        dryRun: flag(values, "dry-run"),
        allowRollback: flag(values, "allow-rollback"),
        releaseHold: flag(values, "release-hold"),
        breakGlass: breakGlassReason(values),
        leaseTtlMs: leaseTtl(values),
        leaseWaitMs: durationMs(values, "lease-wait", DEFAULT_LEASE_WAIT_MS),
        json: ctx.json,
        cwd: ctx.cwd,
        onTarget,
    };
}

export const deployCommand: Command = {
    summary: `  deploy [DISTRIBUTION_PATH] [-- ATTINI_ARGS...]
                        map the branch to its stack, assume that stack's deploy role and run
                        \`attini deploy run <path> -e <env> -f\` with the role's credentials`,
    help: `Usage: attini-gitops deploy [DISTRIBUTION_PATH] [options] [-- ATTINI_ARGS...]

Maps the git branch to a stack, reads the stack's outputs (Pulumi Automation API), assumes the
stack's deploy role (STS), checks the role is in the stack's account, and runs
  attini deploy run DISTRIBUTION_PATH -e <attiniEnvironment> -f [ATTINI_ARGS...]
with the role's temporary credentials, AWS_REGION and AWS_DEFAULT_REGION. DISTRIBUTION_PATH is a
folder or a .zip (default: .).

For a stack with promotedFrom (and promotionGate warn or enforce), two gates run first:
  - git: every commit being deployed is on the upstream branch, and a folder is committed;
  - verified, for a .zip with a distributionId: the upstream environment's own Attini record,
    read with its history reader, shows a successful deployment of that same id.
With soakMinutes (provisioned), the upstream must also have held that content for so long, with
no other deployment of the distribution since (exit ${Exit.REFUSED} under enforce); --break-glass passes
a soak time not yet met, and nothing else.

Options:
  --branch NAME          the branch (default: BRANCH, then the CI system's variables, then git)
  --stack NAME           deploy to this stack, one of the build branch's own stacks. Without it, a
                         branch with several stacks (targets) deploys them all, wave by wave, each
                         target a child process of its own (\`deploy --stack <name> --json\` with
                         these same options); its lines carry [<stack>], a table ends the run, and
                         exit ${Exit.SOME_TARGETS_FAILED} says one or more did not deploy
  --parallel N           with several targets: at most N of a wave at once (default ${DEFAULT_PARALLEL}, ${PARALLEL_RANGE.min} to ${PARALLEL_RANGE.max});
                         a folder distribution deploys them one at a time (deploy a .zip)
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
  --skip-promotion-check deploy even if the promotion gates object (logged); a soak time cannot
                         then be checked, so it counts as not met
  --remote NAME          the git remote whose branches the promotion gate reads (default origin)
  --allow-rollback       deploy even if the environment's ledger has a newer commit (recorded as a
                         rollback; the content rolled back from is then held)
  --release-hold         deploy content that is held after a rollback, releasing the hold
  --break-glass REASON   deploy through a freeze window or a soak time not yet met (unless the
                         stack forbids it), recording REASON in the session tags and the ledger;
                         never past the account guard, the lease or a failed upstream deployment
  --lease-wait DURATION  longest wait for another deploy of the distribution to the environment
                         to finish (default 30m; then exit ${Exit.LEASE_WAIT})
  --lease-ttl DURATION   how long the lease outlives a killed deploy (default 60s; 15s to 10m)
  --dry-run              resolve everything and print the attini command; call neither STS nor attini
  --json                 print one JSON summary on stdout (attini's output goes to stderr)
${SUMMARY_HELP}
  --cwd DIR              the project folder (default: the current one, or above)
  -h, --help             this help

In GitHub Actions the summary (branch → stack → account, each gate's verdict and reason, attini's
result, the duration, the run) is appended to $GITHUB_STEP_SUMMARY, whatever the outcome.

${EXIT_CODES}`,
    options: {
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
        "allow-rollback": { type: "boolean" },
        "release-hold": { type: "boolean" },
        "break-glass": { type: "string" },
        "lease-ttl": { type: "string" },
        "lease-wait": { type: "string" },
        parallel: { type: "string" },
        ...SUMMARY_OPTIONS,
    },
    takesArguments: true,
    async run(values, positionals, extra, ctx) {
        if (positionals.length > 1)
            throw usage(
                `deploy takes one DISTRIBUTION_PATH (got ${positionals.length}); pass attini's own arguments after --`,
            );
        const started = Date.now();
        const outcome: DeployOutcome = {
            distribution: positionals[0] ?? ".",
            durationMs: 0,
            runUrl: ciRunPage(ctx.env),
        };
        const onTarget = (t: DeployTarget) => {
            outcome.target = { branch: t.branch, branchSource: t.branchSource, stack: t.stack };
        };
        const destinations = summaryDestinations(
            { summaryFile: text(values, "summary-file"), noStepSummary: flag(values, "no-step-summary") },
            ctx.env,
        );
        const publish = () =>
            publishSummary(
                destinations,
                () => deployMarkdown({ ...outcome, durationMs: Date.now() - started }),
                ctx.log,
            );
        let summary: DeploySummary | undefined;
        let several:
            | (NonNullable<ReturnType<typeof severalTargets>> & {
                  options: DeployOptions;
                  parallel: number;
                  handoff: HandoffFor;
              })
            | undefined;
        try {
            const given = deployOptions(values, positionals, extra, ctx, onTarget);
            const parallel = parallelOf(values);
            // Without --stack, the branch may have several targets: the stacks are read once, for both.
            const options = given.stack === undefined ? { ...given, stacks: projectStacks(given.cwd) } : given;
            const found = options.stacks ? severalTargets(options, options.stacks, ctx.env) : undefined;
            if (found)
                several = {
                    ...found,
                    options,
                    parallel,
                    handoff: handoffReader(
                        found.configs,
                        outputReaders(ctx.env),
                        cliRead(found.projectDir, options.outputsTimeoutMs),
                    ),
                };
            else summary = await deploy(options, await childServices(servicesOf(ctx), options.stack));
        } catch (e) {
            outcome.stopped =
                e instanceof DriverError
                    ? { exitCode: e.exitCode, message: e.message, details: e.details }
                    : {
                          exitCode: Exit.INTERNAL,
                          message: `internal error: ${(e as Error)?.message ?? String(e)}`,
                          details: {},
                      };
            publish();
            throw e;
        }
        if (several)
            return deployAllTargets({
                ...several,
                killGraceMs: several.options.killGraceMs,
                awsTotalMs: several.options.aws.totalMs,
                leaseTtlMs: several.options.leaseTtlMs,
                dryRun: several.options.dryRun,
                command: { values, positionals, extra },
                destinations,
                ctx,
                now: servicesOf(ctx).now,
            });
        if (summary === undefined) throw new Error("deploy returned no summary");
        outcome.summary = summary;
        publish();
        if (ctx.json) ctx.print(ctx.redactor.scrub(JSON.stringify(summary)));
        return summary.exitCode;
    },
};
