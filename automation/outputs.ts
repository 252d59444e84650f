/**
 * Reads a deploy-role stack's outputs through the Pulumi Automation API: a LocalWorkspace whose
 * workDir is the project root, on whatever backend the user is logged in to or
 * PULUMI_BACKEND_URL names.
 */
import { execFile as execFileCb } from "node:child_process";
import * as os from "node:os";
import { promisify } from "node:util";
import { roleArn } from "../lib/arns";
import type { StackConfig } from "../lib/config/types";
import { CONFIG_OUTPUT_NAMES, configOutputs, type DeployRoleOutputs, OUTPUT_NAMES } from "../lib/outputs";
import { Deadline, DeadlineExceeded } from "./awsCall";
import { deferUnusedModules } from "./deferredModules";
import { DriverError, Exit, usage } from "./errors";

const execFile = promisify(execFileCb);
/** The CLI the workspace uses: `pulumi` on PATH (PulumiCommand.get() with no install root). */
const PULUMI = "pulumi";

/**
 * The Go runtime's tuning for the driver's short Pulumi CLI runs: no garbage collection until the
 * heap nears 256 MiB. It saves about a quarter of each run's CPU time (the CLI allocates while it
 * starts) for about 20 MB more memory. A GOGC or GOMEMLIMIT the user set is kept.
 */
const GO_TUNING: Readonly<Record<string, string>> = { GOGC: "off", GOMEMLIMIT: "256MiB" };

function goTuning(env: NodeJS.ProcessEnv): Readonly<Record<string, string>> {
    return env.GOGC !== undefined || env.GOMEMLIMIT !== undefined ? {} : GO_TUNING;
}

/** The environment for the driver's Pulumi CLI runs. */
function cliEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    return { ...env, ...goTuning(env), PULUMI_SKIP_UPDATE_CHECK: "true" };
}

/** The outputs that are booleans, and those that are whole numbers; every other output is a string. */
const BOOLEAN_OUTPUTS = ["externalIdRequired", "requireDistributionId"] as const;
const NUMBER_OUTPUTS = ["soakMinutes"] as const;
const STRING_OUTPUTS = OUTPUT_NAMES.filter(
    (n) => !(BOOLEAN_OUTPUTS as readonly string[]).includes(n) && !(NUMBER_OUTPUTS as readonly string[]).includes(n),
);

function notProvisioned(c: StackConfig, why: string): DriverError {
    return new DriverError(
        Exit.NOT_PROVISIONED,
        `stack ${c.stack} is not provisioned (${why}): run \`pulumi up -s ${c.stack}\` in account ${c.accountId}.`,
    );
}

/** The stack `c` is promoted from, among the validated stacks. */
function upstreamOf(c: StackConfig, configs: readonly StackConfig[]): StackConfig | undefined {
    return configs.find((x) => x.stack === c.promotedFrom);
}

/**
 * Checks the raw outputs against the contract and against the stack files of the checkout (the
 * stack's own, and its upstream's): every setting that decides where and what may deploy is taken
 * from what `pulumi up` provisioned, and a checkout that says otherwise is refused.
 */
export function checkOutputs(
    c: StackConfig,
    configs: readonly StackConfig[],
    raw: Record<string, unknown>,
): DeployRoleOutputs {
    const missing = OUTPUT_NAMES.filter((k) => raw[k] === undefined);
    if (missing.length > 0)
        throw notProvisioned(
            c,
            Object.keys(raw).length === 0 ? "it has no outputs" : `outputs missing: ${missing.join(", ")}`,
        );
    const bad = [
        ...STRING_OUTPUTS.filter((k) => typeof raw[k] !== "string"),
        ...BOOLEAN_OUTPUTS.filter((k) => typeof raw[k] !== "boolean"),
        // A number, never its text: `pulumi stack output --json` keeps the program's number.
        ...NUMBER_OUTPUTS.filter((k) => typeof raw[k] !== "number" || !Number.isSafeInteger(raw[k])),
    ];
    if (bad.length > 0) throw notProvisioned(c, `outputs of the wrong type: ${bad.join(", ")}`);
    const o = raw as unknown as DeployRoleOutputs;
    // The stack files may have been edited since the last `pulumi up` (by the very commit being
    // deployed, say): then what the checkout says about the account, the branch, the gate or the
    // upstream is not what was provisioned, and deploying on it would trust the commit.
    const upstream = upstreamOf(c, configs);
    const fromFiles = configOutputs(c, upstream);
    const shown = (v: unknown) => (v === "" ? "(none)" : String(v));
    const stale = CONFIG_OUTPUT_NAMES.filter((k) => o[k] !== fromFiles[k]);
    if (stale.length > 0) {
        const files = upstream ? `Pulumi.${c.stack}.yaml and Pulumi.${upstream.stack}.yaml` : `Pulumi.${c.stack}.yaml`;
        throw new DriverError(
            Exit.NOT_PROVISIONED,
            `stack ${c.stack}'s outputs differ from ${files} in this checkout (${stale.map((k) => `${k}: provisioned ${shown(o[k])}, the checkout says ${shown(fromFiles[k])}`).join("; ")}). The driver deploys by what was provisioned: a change to a stack file takes effect only through \`pulumi up -s ${c.stack}\` in account ${c.accountId}; until then it is refused.`,
        );
    }
    // The role must be the one the stack file implies, not merely some role in the account (an
    // administrator's OrganizationAccountAccessRole, say): refused before any STS call.
    const expected = roleArn(c);
    if (o.deployRoleArn !== expected) {
        const account = /^arn:[^:]+:iam::(\d{12}):role\//.exec(o.deployRoleArn)?.[1];
        if (account !== c.accountId) {
            throw new DriverError(
                Exit.WRONG_ACCOUNT,
                `stack ${c.stack}'s output deployRoleArn is ${o.deployRoleArn}, ${account ? `a role in account ${account}` : "not an IAM role ARN"}, not in the stack's account ${c.accountId} (expected ${expected}). Nothing was assumed. Check which backend the outputs came from, and run \`pulumi up -s ${c.stack}\` in account ${c.accountId}.`,
            );
        }
        throw new DriverError(
            Exit.NOT_PROVISIONED,
            `stack ${c.stack}'s output deployRoleArn is ${o.deployRoleArn}, but Pulumi.${c.stack}.yaml implies ${expected} (from aws:region, accountId, rolePath and roleName). Nothing was assumed. Run \`pulumi up -s ${c.stack}\` in account ${c.accountId}, or fix the stack file.`,
        );
    }
    return o;
}

/** An Automation API workspace being opened (see openWorkspace): the LocalWorkspace, or why it could not be. */
export type Workspace = Promise<import("@pulumi/pulumi/automation/localWorkspace").LocalWorkspace>;

/**
 * Opens the Automation API workspace: a LocalWorkspace whose workDir is the project root, on the
 * backend the user is logged in to or PULUMI_BACKEND_URL names. The CLI's version check
 * (PulumiCommand.get runs `pulumi version`) starts at once; the large LocalWorkspace module loads
 * while it runs.
 */
export function openWorkspace(projectDir: string): Workspace {
    deferUnusedModules();
    // require(), not import: the Automation API loads here, once deferUnusedModules() is in place,
    // and not at start-up for commands that never read outputs.
    const { PulumiCommand } =
        require("@pulumi/pulumi/automation/cmd") as typeof import("@pulumi/pulumi/automation/cmd");
    // PulumiCommand.get takes no environment: it spawns `pulumi version` at once with this
    // process's, so the tuning is put there for that synchronous call only.
    const tuning = goTuning(process.env);
    Object.assign(process.env, tuning);
    let checking: ReturnType<typeof PulumiCommand.get>;
    try {
        checking = PulumiCommand.get();
    } finally {
        for (const k of Object.keys(tuning)) delete process.env[k];
    }
    checking.catch(() => {}); // reported by readOutputs
    const ready = import("@pulumi/pulumi/automation/localWorkspace").then(async ({ LocalWorkspace }) =>
        LocalWorkspace.create({ workDir: projectDir, pulumiCommand: await checking }),
    );
    ready.catch(() => {}); // reported by readOutputs
    return ready;
}

/** How many stacks' outputs are read at once: ATTINI_GITOPS_OUTPUT_READERS, else the machine's cores. */
export function outputReaders(env: NodeJS.ProcessEnv): number {
    const given = env.ATTINI_GITOPS_OUTPUT_READERS;
    if (given === undefined || given === "") return Math.max(1, os.availableParallelism());
    if (!/^[1-9]\d{0,3}$/.test(given))
        throw usage(
            `ATTINI_GITOPS_OUTPUT_READERS=${JSON.stringify(given)}: must be a whole number from 1 to 9999 (how many stacks' outputs are read at once)`,
        );
    return Number(given);
}

/** How long reading the outputs may take by default (--outputs-timeout). */
export const DEFAULT_OUTPUTS_TIMEOUT_MS = 120_000;

/**
 * Reads and checks the stack's outputs with the workspace's CLI (readRawOutputs, then
 * checkedOutputs). Throws DriverError(NOT_PROVISIONED) with the fix.
 */
export async function readOutputs(
    projectDir: string,
    c: StackConfig,
    configs: readonly StackConfig[],
    timeoutMs = DEFAULT_OUTPUTS_TIMEOUT_MS,
    workspace?: Workspace,
): Promise<DeployRoleOutputs> {
    return checkedOutputs(c, configs, await readRawOutputs(projectDir, c, timeoutMs, workspace));
}

/**
 * Reads the stack's outputs, unchecked, with the workspace's CLI. Throws DriverError(NOT_PROVISIONED)
 * with the fix.
 *
 * The outputs are read as `pulumi stack output --json`, not with `stack.outputs()`: the latter
 * also runs `--show-secrets`, which needs the stack's secrets passphrase (and a slow key
 * derivation) although these outputs hold no secret. So CI needs read access to the backend, never
 * the passphrase. The read starts at once, then the workspace is opened (unless one is given, as
 * `plan` does for all stacks), its version check running beside the read; the result is used only
 * once the workspace stands and runs that same CLI. `stop` kills the CLI (a deploy of several
 * targets that was signalled).
 */
export async function readRawOutputs(
    projectDir: string,
    c: StackConfig,
    timeoutMs = DEFAULT_OUTPUTS_TIMEOUT_MS,
    workspace?: Workspace,
    stop?: AbortSignal,
): Promise<Record<string, unknown>> {
    const deadline = new Deadline(timeoutMs, "--outputs-timeout");
    const reading = execFile(PULUMI, ["stack", "output", "--json", "--stack", c.stack], {
        cwd: projectDir,
        env: cliEnv(process.env),
        maxBuffer: 16 * 1024 * 1024,
        timeout: timeoutMs,
        killSignal: "SIGKILL",
        ...(stop ? { signal: stop } : {}),
    });
    reading.catch(() => {}); // reported below, after the workspace's own errors
    const opened = workspace ?? openWorkspace(projectDir);
    let raw: Record<string, unknown>;
    try {
        const ws = await deadline.run(`opening the Pulumi workspace (\`${PULUMI} version\`)`, () => opened);
        if (ws.workDir !== projectDir)
            throw new Error(`the workspace is at ${ws.workDir}, not at ${projectDir} where the outputs were read`);
        if (ws.pulumiCommand.command !== PULUMI)
            throw new Error(`the workspace runs ${ws.pulumiCommand.command}, not the ${PULUMI} that read the outputs`);
        raw = JSON.parse((await reading).stdout) as Record<string, unknown>;
    } catch (err) {
        const e = err as Error & { stderr?: string; killed?: boolean };
        if (err instanceof DeadlineExceeded || e.killed) {
            throw new DriverError(
                Exit.NOT_PROVISIONED,
                `cannot read stack ${c.stack}'s outputs: the Pulumi CLI did not finish within ${timeoutMs / 1000}s (--outputs-timeout), so the Pulumi backend did not answer in time. Check that it is reachable from the build server, or raise --outputs-timeout.`,
            );
        }
        const msg = `${e.stderr ?? ""}\n${e.message ?? String(err)}`;
        if (/ENOENT/.test(msg)) {
            throw new DriverError(
                Exit.NOT_PROVISIONED,
                "cannot read stack outputs: the Pulumi CLI (`pulumi`) is not on PATH. Install it (https://www.pulumi.com/docs/install/, or scripts/ensure-pulumi.sh).",
            );
        }
        if (/no stack named/i.test(msg)) throw notProvisioned(c, "no such stack on the current backend");
        throw new DriverError(
            Exit.NOT_PROVISIONED,
            `cannot read stack ${c.stack}'s outputs from the Pulumi backend: ${firstLine(msg)}. Log in to the backend that holds the deploy-role stacks (\`pulumi login <url>\` or PULUMI_BACKEND_URL).`,
        );
    }
    return raw;
}

/**
 * The outputs checked (checkOutputs), as read by readRawOutputs here or by the parent of a deploy
 * of several targets (handoff.ts). Throws DriverError(NOT_PROVISIONED) with the fix.
 */
export function checkedOutputs(
    c: StackConfig,
    configs: readonly StackConfig[],
    raw: Record<string, unknown>,
): DeployRoleOutputs {
    const secret = Object.keys(raw).filter((k) => raw[k] === "[secret]");
    if (secret.length > 0)
        throw notProvisioned(
            c,
            `outputs ${secret.join(", ")} are secret, but the deploy-role outputs never are; run the attini-gitops program`,
        );
    return checkOutputs(c, configs, raw);
}

function firstLine(msg: string): string {
    const lines = msg
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => /error/i.test(l));
    return (lines[0] ?? msg.split("\n")[0]).replace(/^error:\s*/i, "").slice(0, 400);
}
