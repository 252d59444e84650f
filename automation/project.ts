/**
 * The project as the driver sees it: Pulumi.yaml and the stack files, read offline and validated
 * with the same code the Pulumi program runs, and the branch → stack mapping.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { StackConfig } from "../lib/config/types";
import { byStackName, type LoadedStacks, loadStacks } from "../lib/stackFiles";
import { DriverError, Exit, usage } from "./errors";

/** The folder with Pulumi.yaml: --cwd, or the current directory or one above it. */
export function findProjectDir(cwd: string): string {
    for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
        if (dir === path.dirname(dir))
            throw usage(
                `no Pulumi.yaml in ${path.resolve(cwd)} or above it. Run attini-gitops in the attini-gitops project (or pass --cwd <dir>).`,
            );
    }
}

/** The project's folder and its validated stacks, in promotion order, as one command reads them once. */
export interface ProjectStacks {
    projectDir: string;
    configs: StackConfig[];
}

/** The project around `cwd` (findProjectDir) and its validated stacks (loadValidStacks). */
export function projectStacks(cwd: string): ProjectStacks {
    const projectDir = findProjectDir(cwd);
    return { projectDir, configs: loadValidStacks(projectDir).configs };
}

/** Loads every stack; throws a usage error listing every problem if any stack file is invalid. */
export function loadValidStacks(projectDir: string): LoadedStacks {
    let loaded: LoadedStacks;
    try {
        loaded = loadStacks(projectDir);
    } catch (e) {
        throw usage((e as Error).message);
    }
    if (loaded.errors.length > 0) {
        throw usage(
            `the stack config has ${loaded.errors.length} problem(s); run \`attini-gitops validate\` after fixing:\n${loaded.errors.map((e) => `  - ${e}`).join("\n")}`,
        );
    }
    if (loaded.configs.length === 0) throw usage(`no Pulumi.<stack>.yaml files in ${projectDir}`);
    return { ...loaded, configs: chainOrder(loaded.configs) };
}

/** Stacks in promotion order (dev, stage, prod): by the length of their promotedFrom chain, then name. */
export function chainOrder(configs: readonly StackConfig[]): StackConfig[] {
    const depth = (c: StackConfig, seen = new Set<string>()): number => {
        const up = configs.find((x) => x.stack === c.promotedFrom);
        if (!up || seen.has(up.stack)) return 0;
        seen.add(c.stack);
        return 1 + depth(up, seen);
    };
    return [...configs].sort((a, b) => depth(a) - depth(b) || byStackName(a, b));
}

/** "dev→dev, stage→stage, main→prod" */
export function describeMapping(configs: readonly StackConfig[]): string {
    return configs.map((c) => `${c.branch}→${c.stack}`).join(", ");
}

/**
 * The targets of a branch: every stack that claims it, by wave, then in promotion order (the
 * order `configs` has). None → DriverError(UNMAPPED_BRANCH).
 */
export function targetsFor(configs: readonly StackConfig[], branch: string): StackConfig[] {
    const targets = configs.filter((c) => c.branch === branch);
    if (targets.length === 0)
        throw new DriverError(
            Exit.UNMAPPED_BRANCH,
            `branch ${JSON.stringify(branch)} maps to no environment (known: ${describeMapping(configs)})`,
        );
    return targets
        .map((c, i) => ({ c, i }))
        .sort((a, b) => a.c.wave - b.c.wave || a.i - b.i)
        .map((x) => x.c);
}

/** A branch's targets grouped by wave, first wave first (targets in targetsFor's order). */
export function wavesOf<T extends { wave: number }>(targets: readonly T[]): { wave: number; stacks: T[] }[] {
    const waves = [...new Set(targets.map((c) => c.wave))].sort((a, b) => a - b);
    return waves.map((wave) => ({ wave, stacks: targets.filter((c) => c.wave === wave) }));
}

/** "wave 1: prod-eu (333333333333 eu-west-1); wave 2: prod-us (444444444444 us-east-1)" (validated names only). */
export function describeWaves(
    targets: readonly { stack: string; accountId: string; region: string; wave: number }[],
): string {
    return wavesOf(targets)
        .map((w) => `wave ${w.wave}: ${w.stacks.map((c) => `${c.stack} (${c.accountId} ${c.region})`).join(", ")}`)
        .join("; ");
}

/**
 * deploy() deploys one target: a branch with several is deployed by the `deploy` command, one
 * child process per target (waves.ts), each with --stack. Reaching this is a caller's mistake.
 */
export function severalTargetsRefusal(branch: string, targets: readonly StackConfig[]): DriverError {
    return usage(
        `branch ${JSON.stringify(branch)} has ${targets.length} targets (${describeWaves(targets)}), and this deploy names none: ` +
            "name one with `--stack <name>`, or run `attini-gitops deploy` without --stack, which deploys them all in waves " +
            '(see "Several targets per branch" in docs/driver.md). Nothing was deployed.',
    );
}

/**
 * The stack a branch deploys to. --stack picks among the stacks of the build's own branch, never
 * another branch's: a build of dev cannot deploy to prod. Unmapped → DriverError(UNMAPPED_BRANCH);
 * a branch with several targets and no --stack → a usage error (severalTargetsRefusal).
 */
export function stackFor(configs: readonly StackConfig[], branch: string, stackFlag?: string): StackConfig {
    if (stackFlag !== undefined) {
        const s = configs.find((c) => c.stack === stackFlag);
        if (!s) throw usage(`--stack ${stackFlag}: no such stack (known: ${configs.map((c) => c.stack).join(", ")})`);
        if (s.branch !== branch)
            throw usage(
                `--stack ${stackFlag}: that stack deploys branch ${s.branch}, and this build is for branch ${JSON.stringify(branch)}. A build deploys only to the stacks of its own branch (${describeMapping(configs)}); run the ${s.branch} branch's pipeline to deploy to ${stackFlag}.`,
            );
        return s;
    }
    const targets = targetsFor(configs, branch);
    if (targets.length > 1) throw severalTargetsRefusal(branch, targets);
    return targets[0];
}
