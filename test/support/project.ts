/**
 * A scratch copy of the project (Pulumi.yaml, the stack files, a distribution folder) and its
 * deploy-role stacks provisioned on a throwaway backend with the real CLI. The stacks' outputs come
 * from an inline program that exports what index.ts exports, computed from the same validated
 * config (the AWS provider plugin, which index.ts needs, cannot be had here).
 */

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { historyReaderArn, roleArn } from "../../lib/arns";
import type { StackConfig } from "../../lib/config/types";
import { requireStackConfig } from "../../lib/config/validate";
import { configFromEngine } from "../../lib/engineConfig";
import { configOutputs, type DeployRoleOutputs } from "../../lib/outputs";
import { buildServerPolicy } from "../../lib/policies";
import { upstreamConfigOf } from "../../lib/stackFiles";
import type { Backend } from "./backend";
import { createLedgerTable } from "./ledger";
import type { Moto } from "./moto";
import { ROOT } from "./tools";

export const STACKS = ["dev", "stage", "prod"] as const;

export interface ScratchProject {
    dir: string;
    /** A distribution folder to deploy, `<dir>/distribution/platform`. */
    distribution: string;
    dispose(): void;
}

/** Runs git in `dir` as a throwaway identity; returns its trimmed stdout. */
export function git(dir: string, ...args: string[]): string {
    return execFileSync(
        "git",
        ["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main", ...args],
        { cwd: dir, encoding: "utf8" },
    ).trim();
}

/**
 * Appends `n` commits to `ref` (a branch, or any ref such as refs/remotes/origin/dev) in one
 * `git fast-import`, however large n is: commit i changes `file(i)` and is titled `subject(i)`.
 */
export function appendCommits(
    dir: string,
    ref: string,
    n: number,
    file: (i: number) => string,
    subject: (i: number) => string,
): void {
    const parent = git(dir, "rev-parse", ref);
    // Never older than the parent: git's range walks assume committer dates do not go backwards.
    const when = Math.max(Math.floor(Date.now() / 1000), Number(git(dir, "log", "-1", "--format=%ct", parent)));
    const fullRef = ref.startsWith("refs/") ? ref : `refs/heads/${ref}`;
    const chunks: string[] = [];
    for (let i = 0; i < n; i++) {
        const msg = `${subject(i)}\n`;
        const body = `change ${i}\n`;
        chunks.push(
            `commit ${fullRef}\ncommitter Test <test@example.com> ${when} +0000\ndata ${Buffer.byteLength(msg)}\n${msg}${i === 0 ? `from ${parent}\n` : ""}M 100644 inline ${file(i)}\ndata ${Buffer.byteLength(body)}\n${body}\n`,
        );
    }
    execFileSync("git", ["fast-import", "--quiet", "--force"], { cwd: dir, input: chunks.join("") });
}

/**
 * A scratch copy of the project, committed to a git repository on `main` whose remote-tracking
 * branches origin/dev, origin/stage and origin/main all point at that commit: a CI checkout in
 * which everything has been promoted.
 */
export function scratchProject(edit: Partial<Record<string, (text: string) => string>> = {}): ScratchProject {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-project-"));
    for (const f of ["Pulumi.yaml", ...STACKS.map((s) => `Pulumi.${s}.yaml`)]) {
        const text = fs.readFileSync(path.join(ROOT, f), "utf8");
        fs.writeFileSync(path.join(dir, f), (edit[f] ?? ((x: string) => x))(text));
    }
    const distribution = path.join(dir, "distribution", "platform");
    fs.mkdirSync(distribution, { recursive: true });
    fs.writeFileSync(path.join(distribution, "attini-config.yaml"), "distributionName: platform\n");
    // attini deploy run <folder> writes its package to <folder>/attini_dist/: never committed.
    fs.writeFileSync(path.join(dir, ".gitignore"), "attini_dist/\n");
    git(dir, "init", "-q");
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "-m", "initial");
    for (const b of ["dev", "stage", "main"]) git(dir, "update-ref", "-m", "fetch", `refs/remotes/origin/${b}`, "HEAD");
    return { dir, distribution, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** What `plan --matrix github` prints for main in multiRegionProject: its two targets, wave by wave. */
export const MULTI_REGION_MAIN_MATRIX = {
    include: [
        {
            stack: "prod-eu",
            wave: 1,
            branch: "main",
            attiniEnvironment: "prod",
            account: "333333333333",
            region: "eu-west-1",
        },
        {
            stack: "prod-us",
            wave: 2,
            branch: "main",
            attiniEnvironment: "prod",
            account: "444444444444",
            region: "us-east-1",
        },
    ],
} as const;

/**
 * The scratch project with a multi-region prod: Pulumi.prod.yaml replaced by prod-eu (333333333333,
 * eu-west-1, wave 1) and prod-us (444444444444, us-east-1, wave 2), both on main and promoted from
 * stage (test/fixtures/multi-region), committed, with origin/dev, stage and main at that commit.
 */
export function multiRegionProject(): ScratchProject {
    const p = scratchProject();
    fs.rmSync(path.join(p.dir, "Pulumi.prod.yaml"));
    for (const s of ["prod-eu", "prod-us"])
        fs.copyFileSync(
            path.join(ROOT, "test", "fixtures", "multi-region", `Pulumi.${s}.yaml`),
            path.join(p.dir, `Pulumi.${s}.yaml`),
        );
    git(p.dir, "add", "-A");
    git(p.dir, "commit", "-q", "-m", "prod in two regions");
    for (const b of ["dev", "stage", "main"])
        git(p.dir, "update-ref", "-m", "fetch", `refs/remotes/origin/${b}`, "HEAD");
    return p;
}

/** What index.ts exports for a stack with this config, in the project at `projectDir` (its upstream's file is there). */
export function outputsFor(c: StackConfig, projectDir: string): DeployRoleOutputs {
    const arn = roleArn(c);
    return {
        ...configOutputs(c, upstreamConfigOf(projectDir, c)),
        deployRoleArn: arn,
        deployRoleName: c.roleName,
        historyReaderArn: historyReaderArn(c),
        buildServerPolicy: JSON.stringify(buildServerPolicy([arn], [historyReaderArn(c)])),
    };
}

/** An inline program that exports what index.ts exports, from the engine's validated config. */
const deployRoleOutputs = (projectDir: string, override: Record<string, unknown>) => async () => ({
    ...outputsFor(requireStackConfig(pulumi.getStack(), configFromEngine()), projectDir),
    ...override,
});

/**
 * Runs `up` for the given stacks of the scratch project on the backend; with the emulator, also
 * makes each stack's ledger table there, as the program's Ledger component would.
 */
export async function provision(
    project: ScratchProject,
    backend: Backend,
    stacks: readonly string[] = STACKS,
    override: Record<string, unknown> = {},
    emulator?: Moto,
): Promise<void> {
    for (const stackName of stacks) {
        const stack = await LocalWorkspace.createOrSelectStack(
            { stackName, projectName: "attini-gitops", program: deployRoleOutputs(project.dir, override) },
            { workDir: project.dir, envVars: backend.env, secretsProvider: "passphrase" },
        );
        const { outputs } = await stack.up();
        const o = (k: string) => String(outputs[k]?.value ?? "");
        if (emulator) await createLedgerTable(emulator, o("accountId"), o("region"), o("ledgerTableName"));
    }
}
