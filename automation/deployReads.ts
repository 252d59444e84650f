/**
 * deploy's third phase: every read that waits on something outside this process, started at once
 * so that the waits overlap: the stack outputs (the Pulumi CLI, in child processes), the build
 * server's source credentials (a local lookup, no AWS call), the credential endpoint's port, and
 * the verified gate's read of the upstream environment's Attini record with its history reader,
 * and then the upstream alarms with the same reader.
 * Each is awaited later, by the phase that needs it (deploying.ts). The soak time (soak.ts), which
 * builds on the verified gate's report, reads with the same reader when it is asked.
 */
import type { StackConfig } from "../lib/config/types";
import { alarmsFromOutput, type DeployRoleOutputs } from "../lib/outputs";
import { type AwsContext, awsDeadline, awsStep, type Deadline, type SourceCredentials } from "./awsCall";
import { resolveCommit } from "./branch";
import { CredentialEndpoint } from "./credentialEndpoint";
import type { Checked, DeployOptions, Target } from "./deployTypes";
import { DriverError, Exit } from "./errors";
import { readerOf, type StackReader, stackReader } from "./history";
import { type Caller, type RoleAccess, roleAccess, sessionTags } from "./roleSession";
import type { Services } from "./services";
import { applySoak, type SoakReport } from "./soak";
import { checkUpstreamAlarms, type UpstreamAlarmsReport } from "./upstreamAlarms";
import { applyVerifiedGate, type VerifiedGateReport } from "./verifiedGate";

/** What a phase leaves to be undone however the deploy ends (the credential endpoint). */
export type OnExit = (fn: () => Promise<unknown>) => void;

/** A step started now and awaited later: its result or its error, never an unhandled rejection. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
function settled<T>(p: Promise<T>): Promise<Settled<T>> {
    return p.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
    );
}

export interface Reads {
    outputs: Promise<Settled<DeployRoleOutputs>>;
    /** The loopback endpoint attini will read credentials from (none with --static-credentials or in a dry run). */
    endpoint?: Promise<CredentialEndpoint>;
    verified?: Promise<Settled<VerifiedGateReport | undefined>>;
    /** The upstream-alarm gate, once the verified gate has found the upstream deployment. */
    alarms?: Promise<Settled<UpstreamAlarmsReport | undefined>>;
    /** The verified gate once more (stage may have changed while this deploy waited for the lease). */
    reverify?: () => Promise<VerifiedGateReport>;
    /** The upstream-alarm gate once more, on the verified gate's new report; may refuse. */
    realarm?: (outputs: DeployRoleOutputs, verified: VerifiedGateReport) => Promise<UpstreamAlarmsReport | undefined>;
    /**
     * The soak time on a verified gate's report, with soakMinutes and the gate's mode as provisioned
     * (in a dry run that could not read the outputs, the stack file's); may refuse.
     */
    soak: (verified: VerifiedGateReport | undefined, outputs: DeployRoleOutputs | undefined) => Promise<SoakReport>;
    access: RoleAccess;
    commit?: string;
    /** Who asks STS, within the deadline: the build server, or the GitHub Actions job with a fresh token. */
    caller: (deadline: Deadline) => Promise<Caller>;
    /** An AWS step's limits: each gets its own --aws-timeout. */
    step: (region: string) => AwsContext;
}

/** The endpoint, started now so that attini's start does not wait for it; closed however the deploy ends. */
function startEndpoint(o: DeployOptions, s: Services, onExit: OnExit): Promise<CredentialEndpoint> | undefined {
    if (o.dryRun || o.staticCredentials) return undefined;
    const starting = CredentialEndpoint.start({
        log: (line) => s.log.info(line),
        servedLifetimeMs: s.servedCredentialLifetimeMs,
    }).catch((e: Error) => {
        throw new DriverError(
            Exit.CREDENTIALS,
            `could not start the credential endpoint for attini on 127.0.0.1: ${e.message}. Use --static-credentials to pass the credentials as environment variables instead.`,
        );
    });
    starting.catch(() => {}); // reported where it is awaited
    onExit(async () => (await starting.catch(() => undefined))?.close());
    return starting;
}

/**
 * The upstream-alarm gate on the alarms the outputs pin (in a dry run that could not read them, the
 * stack file's), for a verified gate's report; may refuse.
 */
function alarmsGate(o: DeployOptions, s: Services, stack: StackConfig, upstream: StackConfig, reader: StackReader) {
    return async (provisioned: DeployRoleOutputs | undefined, verified: VerifiedGateReport | undefined) => {
        const pinned = provisioned ? alarmsFromOutput(provisioned.upstreamAlarms) : [...stack.upstreamAlarms];
        if (pinned === undefined)
            throw new DriverError(
                Exit.NOT_PROVISIONED,
                `stack ${stack.stack}'s output upstreamAlarms is not a JSON list of alarm ARNs: run \`pulumi up -s ${stack.stack}\` in account ${stack.accountId}.`,
            );
        return checkUpstreamAlarms({
            stack,
            upstream,
            alarms: pinned,
            verified,
            dryRun: o.dryRun,
            now: s.now,
            log: (l) => s.log.info(l),
            describe: (names) => reader.alarms(names),
            history: (name, since, until) => reader.alarmHistory(name, since, until),
        });
    };
}

/**
 * The soak time on a verified gate's report, with soakMinutes and the gate's mode as provisioned
 * (in a dry run that could not read the outputs, the stack file's); reads the upstream ledger's
 * newest run with the same reader; may refuse.
 */
function soakGate(
    o: DeployOptions,
    s: Services,
    stack: StackConfig,
    upstream: StackConfig | undefined,
    reader: StackReader | undefined,
) {
    return (report: VerifiedGateReport | undefined, provisioned: DeployRoleOutputs | undefined) =>
        applySoak({
            minutes: provisioned?.soakMinutes ?? stack.soakMinutes,
            mode: provisioned?.promotionGate ?? stack.promotionGate,
            stack: stack.stack,
            upstream: upstream?.stack ?? "(no upstream)",
            verified: report,
            newestRun: async (name) => (reader ? (await reader.ledgerRuns(name, 1))[0] : undefined),
            now: s.now,
            breakGlass: o.breakGlass,
            dryRun: o.dryRun,
            log: (l) => s.log.info(l),
        });
}

/** Starts every read that waits on something outside this process, so that the waits overlap. */
export function startReads(
    o: DeployOptions,
    t: Target,
    c: Checked,
    local: { head: string; digest: () => string },
    s: Services,
    onExit: OnExit,
): Reads {
    const { stack, upstream } = t;
    const endpoint = startEndpoint(o, s, onExit);
    // The ledger (and the verified gate) use the DynamoDB client: load it while the outputs are read.
    if (!o.dryRun) void import("@aws-sdk/client-dynamodb").catch(() => {});
    // The stack's outputs, and its upstream's: the settings that decide what may deploy are taken
    // from what was provisioned, and a checkout whose stack files say otherwise is refused. Both
    // reads run the Pulumi CLI in child processes at once (the stack's own failure is the one
    // reported when both fail); meanwhile this process finds the source credentials (local only).
    const outputs = settled(
        Promise.allSettled([
            s.readOutputs(t.projectDir, stack, t.configs, o.outputsTimeoutMs),
            upstream ? s.readOutputs(t.projectDir, upstream, t.configs, o.outputsTimeoutMs) : undefined,
        ]).then(([own, up]) => {
            if (own.status === "rejected") throw own.reason;
            if (up.status === "rejected") throw up.reason;
            return own.value;
        }),
    );
    // The build server's source credentials (none with --github-oidc or in a dry run), for `caller`.
    const source: Promise<SourceCredentials | undefined> =
        o.dryRun || o.githubOidc ? Promise.resolve(undefined) : s.aws.findSourceCredentials(awsDeadline(o.aws));
    source.catch(() => {}); // reported where it is awaited, after the outputs
    const commit = resolveCommit(s.env, local.head);
    const access = roleAccess({
        env: s.env,
        branch: t.branch,
        sessionName: c.sessionName,
        externalId: o.externalId,
        tags: sessionTags(stack, { branch: t.branch, sha256: c.sha256, commit }),
        redact: (...secrets) => s.log.redactor.add(...secrets),
    });
    const caller = async (deadline: Deadline): Promise<Caller> =>
        // A running job may ask GitHub for a fresh ID token at any time: each set gets its own.
        o.githubOidc ? { githubToken: await s.githubIdToken(deadline) } : { source: await source };
    const step = (region: string) => awsStep(o.aws, region, (line) => s.log.info(line));
    // The verified gate reads the upstream record and ledger, on one reader session, once the
    // outputs have confirmed which upstream that is (in a dry run, which reads nothing, at once).
    const reader =
        upstream &&
        stackReader(
            s.aws,
            readerOf(upstream),
            access,
            (ctx) => caller(ctx.deadline),
            () => step(upstream.region),
        );
    const verify =
        upstream && reader
            ? () =>
                  applyVerifiedGate({
                      stack,
                      upstream,
                      distribution: c.distribution,
                      kind: c.kind,
                      attiniConfig: c.attiniConfig,
                      digest: local.digest(),
                      skip: o.skipPromotionCheck,
                      dryRun: o.dryRun,
                      log: (l) => s.log.info(l),
                      readHistory: (distributionName, until) => reader.history({ distributionName, until }),
                      readLedger: (distributionName, d) => reader.ledgerRun(distributionName, (r) => r.digest === d),
                      readHolds: (distributionName) => reader.ledgerHolds(distributionName),
                  })
            : undefined;
    const verified = verify ? settled(outputs.then((read) => (read.ok || o.dryRun ? verify() : undefined))) : undefined;
    // The upstream alarms, once the verified gate has found the upstream deployment.
    const realarm = upstream && reader ? alarmsGate(o, s, stack, upstream, reader) : undefined;
    const alarms =
        realarm && verified
            ? settled(
                  Promise.all([outputs, verified]).then(([read, v]) =>
                      !v.ok || (!read.ok && !o.dryRun) ? undefined : realarm(read.ok ? read.value : undefined, v.value),
                  ),
              )
            : undefined;
    const soak = soakGate(o, s, stack, upstream, reader);
    return {
        outputs,
        endpoint,
        verified,
        alarms,
        reverify: o.dryRun ? undefined : verify,
        realarm: o.dryRun ? undefined : realarm,
        soak,
        access,
        commit,
        caller,
        step,
    };
}
