/**
 * `attini-gitops plan --matrix github|gitlab`: a branch's targets as the CI system's own job matrix,
 * one job per target running `deploy --stack <name>`, so that dozens of targets deploy on many
 * runners, each job with the same gates and records as a single deploy. Offline: only the stack
 * files are read (each job's deploy reads its stack's outputs, the trust root, itself).
 *
 * Only validated values go into the output: stack names (Pulumi's [A-Za-z0-9_.-]), 12-digit
 * accounts, region names, Attini environment names, branch names git accepts, and wave numbers,
 * all through JSON.stringify; no text from git or AWS.
 */
import type { StackConfig } from "../lib/config/types";
import { MAX_WAVE, MIN_WAVE } from "../lib/config/wave";
import { resolveBranch } from "./branch";
import { usage } from "./errors";
import { gitIn } from "./git";
import { findProjectDir, loadValidStacks, targetsFor } from "./project";
import type { Services } from "./services";

export const MATRIX_FORMATS = ["github", "gitlab"] as const;
export type MatrixFormat = (typeof MATRIX_FORMATS)[number];

/** The most jobs one matrix may make: GitHub Actions allows 256 per workflow run's matrix, GitLab 200 per parallel:matrix. */
const MATRIX_LIMIT: Record<MatrixFormat, number> = { github: 256, gitlab: 200 };

export interface MatrixOptions {
    cwd: string;
    format: string;
    /** The branch (default: BRANCH, then the CI system's variables, then git). */
    branch?: string;
    /** Only this wave's targets (an empty matrix when it has none). */
    wave?: number;
    /** Refuse when the branch has a target in a later wave: the pipeline has jobs for waves 1..maxWave only. */
    maxWave?: number;
}

/** One target as a GitHub Actions `strategy.matrix` include entry. */
function githubEntry(c: StackConfig) {
    return {
        stack: c.stack,
        wave: c.wave,
        branch: c.branch,
        attiniEnvironment: c.attiniEnvironment,
        account: c.accountId,
        region: c.region,
    };
}

/** One target as a GitLab `parallel:matrix` entry: variable → value, every value a string (GitLab's rule). */
function gitlabEntry(c: StackConfig) {
    return {
        STACK: c.stack,
        WAVE: String(c.wave),
        BRANCH: c.branch,
        ATTINI_ENVIRONMENT: c.attiniEnvironment,
        AWS_ACCOUNT: c.accountId,
        AWS_REGION: c.region,
    };
}

/** A wave given to --wave or --max-wave: a whole number from 1 to 20, as the config key (usage error otherwise). */
export function waveOption(flag: string, v: string | undefined): number | undefined {
    if (v === undefined) return undefined;
    const n = /^\d{1,3}$/.test(v) ? Number(v) : Number.NaN;
    if (!(n >= MIN_WAVE && n <= MAX_WAVE))
        throw usage(`${flag} ${JSON.stringify(v)}: must be a wave, a whole number from ${MIN_WAVE} to ${MAX_WAVE}`);
    return n;
}

/**
 * The matrix text for a branch's targets: GitHub `{"include":[{stack, wave, ...}]}` for
 * `strategy.matrix: ${{ fromJSON(...) }}`, GitLab `{"matrix":[{STACK, WAVE, ...}]}` for `parallel:`
 * (JSON is YAML). Targets in wave order. Unmapped branch → exit 3.
 */
export function planMatrix(o: MatrixOptions, s: Services): string {
    const format = MATRIX_FORMATS.find((f) => f === o.format);
    if (!format) throw usage(`--matrix ${JSON.stringify(o.format)}: must be one of ${MATRIX_FORMATS.join(", ")}`);
    const projectDir = findProjectDir(o.cwd);
    const { configs } = loadValidStacks(projectDir);
    const { branch } = resolveBranch(o.branch, s.env, gitIn(projectDir), false);
    const targets = targetsFor(configs, branch);
    const late = o.maxWave === undefined ? [] : targets.filter((c) => c.wave > (o.maxWave ?? 0));
    if (late.length > 0)
        throw usage(
            `branch ${JSON.stringify(branch)} has targets in waves after ${o.maxWave} (${late.map((c) => `${c.stack}: wave ${c.wave}`).join(", ")}), and the pipeline has jobs for waves 1 to ${o.maxWave} only (--max-wave): they would never deploy. Add a job for each of their waves to the pipeline and raise --max-wave, or set their wave to at most ${o.maxWave}.`,
        );
    const shown = o.wave === undefined ? targets : targets.filter((c) => c.wave === o.wave);
    if (shown.length > MATRIX_LIMIT[format])
        throw usage(
            `branch ${JSON.stringify(branch)} has ${shown.length} targets in one matrix; ${format === "github" ? "GitHub Actions" : "GitLab"} runs at most ${MATRIX_LIMIT[format]} jobs from one. Split them into waves (config key wave) and print one matrix per wave with --wave N.`,
        );
    return format === "github"
        ? JSON.stringify({ include: shown.map(githubEntry) })
        : JSON.stringify({ matrix: shown.map(gitlabEntry) });
}
