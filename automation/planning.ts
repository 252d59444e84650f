/**
 * What `attini-gitops plan` shows: branch → stack → Attini environment → account/region → role,
 * from the stack files and, when the backend can be reached, the stacks' outputs; and each stack's
 * freeze windows in force now or starting within 24 hours (from the stack files: plan is offline).
 */
import * as os from "node:os";
import pLimit from "p-limit";
import { roleArn } from "../lib/arns";
import type { StackConfig } from "../lib/config/types";
import { resolveBranch } from "./branch";
import { DriverError, usage } from "./errors";
import { type FreezeView, freezeLines, freezeViewAt } from "./freezeGate";
import { gitIn } from "./git";
import { openWorkspace, type Workspace } from "./outputs";
import { findProjectDir, loadValidStacks, stackFor } from "./project";
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
}

export interface PlanOptions {
    cwd: string;
    /** Show only the stack this branch deploys to. */
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
            : [stackFor(configs, resolveBranch(o.branch, s.env, gitIn(projectDir), false).branch)];
    const workspace = openWorkspace(projectDir);
    // One Pulumi CLI per stack, but no more at once than the machine has cores: each takes about
    // 100 MB, and they are CPU-bound, so more at once would only add memory, not speed.
    const limit = pLimit(outputReaders(s.env));
    return Promise.all(shown.map((c) => limit(() => row(projectDir, workspace, c, configs, s))));
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
    return [
        line(head),
        ...body.map(line),
        ...(notes.length ? ["", ...notes] : []),
        ...(freezes.length ? ["", ...freezes] : []),
    ].join("\n");
}
