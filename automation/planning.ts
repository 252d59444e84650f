/**
 * What `attini-gitops plan` shows: branch → stack → Attini environment → account/region → role,
 * from the stack files and, when the backend can be reached, the stacks' outputs; each stack's
 * freeze windows in force now or starting within 24 hours (from the stack files: plan is offline);
 * and the waves of each branch with several targets. (`plan --matrix` is ciMatrix.ts.)
 */
import pLimit from "p-limit";
import { roleArn } from "../lib/arns";
import type { StackConfig } from "../lib/config/types";
import { resolveBranch } from "./branch";
import { DriverError } from "./errors";
import { type FreezeView, freezeLines, freezeViewAt } from "./freezeGate";
import { gitIn } from "./git";
import { openWorkspace, outputReaders, type Workspace } from "./outputs";
import { findProjectDir, loadValidStacks, targetsFor, wavesOf } from "./project";
import type { Services } from "./services";

export interface PlanRow {
    branch: string;
    stack: string;
    attiniEnvironment: string;
    accountId: string;
    region: string;
    roleArn: string;
    /** "outputs", or "config" (derived; the reason it could not come from outputs follows). */
    roleSource: string;
    promotedFrom?: string;
    /** The stack file's freeze windows in force now or starting within 24 hours (the outputs', once read, are equal: stale ones are refused). */
    freeze: FreezeView;
    /** When the stack deploys among its branch's targets (1 first; config key wave, from the stack file). */
    wave: number;
}

export interface PlanOptions {
    cwd: string;
    /** Show only the stacks (targets) this branch deploys to. */
    branch?: string;
}

async function row(
    projectDir: string,
    workspace: Workspace,
    c: StackConfig,
    configs: readonly StackConfig[],
    s: Services,
): Promise<PlanRow> {
    const base = {
        branch: c.branch,
        stack: c.stack,
        attiniEnvironment: c.attiniEnvironment,
        accountId: c.accountId,
        region: c.region,
        promotedFrom: c.promotedFrom,
        freeze: freezeViewAt(c.freezeWindows, s.now()),
        wave: c.wave,
    };
    try {
        const o = await s.readOutputs(projectDir, c, configs, undefined, workspace);
        return { ...base, roleArn: o.deployRoleArn, roleSource: "outputs" };
    } catch (e) {
        if (!(e instanceof DriverError)) throw e;
        return { ...base, roleArn: roleArn(c), roleSource: `config (${e.message})` };
    }
}

export async function plan(o: PlanOptions, s: Services): Promise<PlanRow[]> {
    const projectDir = findProjectDir(o.cwd);
    const { configs } = loadValidStacks(projectDir);
    const shown =
        o.branch === undefined
            ? configs
            : targetsFor(configs, resolveBranch(o.branch, s.env, gitIn(projectDir), false).branch);
    const workspace = openWorkspace(projectDir);
    // One Pulumi CLI per stack, but no more at once than the machine has cores: each takes about
    // 100 MB, and they are CPU-bound, so more at once would only add memory, not speed.
    const limit = pLimit(outputReaders(s.env));
    return Promise.all(shown.map((c) => limit(() => row(projectDir, workspace, c, configs, s))));
}

/**
 * The waves of each branch with several targets (or a target outside wave 1), one line per
 * branch: "main: wave 1: prod-eu; wave 2: prod-us". Empty when every branch has one target in wave 1.
 */
function formatWaves(rows: readonly PlanRow[]): string[] {
    const branches = [...new Set(rows.map((r) => r.branch))];
    const lines = branches.flatMap((branch) => {
        const mine = rows.filter((r) => r.branch === branch);
        if (mine.length === 1 && mine[0].wave === 1) return [];
        const waves = wavesOf(mine);
        return [
            `  ${branch}: ${waves.map((w) => `wave ${w.wave}: ${w.stacks.map((x) => x.stack).join(", ")}`).join("; ")}`,
        ];
    });
    return lines.length ? ["", "Targets by wave (each branch with several deploys them in this order):", ...lines] : [];
}

export function formatPlan(rows: readonly PlanRow[]): string {
    const head = ["BRANCH", "STACK", "ATTINI ENV", "ACCOUNT", "REGION", "ROLE"];
    const body = rows.map((r) => [
        r.branch,
        r.stack,
        r.attiniEnvironment,
        r.accountId,
        r.region,
        r.roleSource === "outputs" ? r.roleArn : `${r.roleArn} (derived from config)`,
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const line = (cells: string[]) =>
        cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ");
    const notes = rows
        .filter((r) => r.roleSource !== "outputs")
        .map((r) => `  ${r.stack}: role derived from config because ${r.roleSource.replace(/^config \(|\)$/g, "")}`);
    const freezes = rows
        .filter((r) => r.freeze.inForce.length > 0 || r.freeze.upcoming.length > 0)
        .flatMap((r) => [`  ${r.stack}:`, ...freezeLines(r.freeze, "    ")]);
    const waves = formatWaves(rows);
    return [
        line(head),
        ...body.map(line),
        ...(notes.length ? ["", ...notes] : []),
        ...waves,
        ...(freezes.length ? ["", ...freezes] : []),
    ].join("\n");
}
