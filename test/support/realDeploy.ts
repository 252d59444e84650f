/**
 * The built driver with the real Attini CLI, as CI runs it, on the shared world (useWorld): a CI
 * job's environment with the emulator's STS front, attini's processes marked so that they can be
 * found in /proc afterwards. Used by attini-real.test.ts and ledger.test.ts.
 */

import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { ExecutionContext } from "ava";
import { realAttini } from "./attini";
import { type CliResult, jobEnv, runCli } from "./driver";
import type { Moto } from "./moto";
import { backend, moto, project, sts } from "./world";

export interface RealDeployOptions {
    /** The emulator (default: the world's, behind its STS front). */
    on?: Moto;
    /** The checkout to deploy from (default: the world's scratch project). */
    cwd?: string;
    /** Acts on the running driver (its pid, a signal). */
    during?: (child: ChildProcess) => void;
}

/** `attini-gitops deploy ARGS` with the real attini; `marker` is in attini's environment. */
export async function deployReal(
    t: ExecutionContext,
    args: string[],
    extra: Record<string, string | undefined> = {},
    { on = moto, cwd = project.dir, during }: RealDeployOptions = {},
): Promise<CliResult & { marker: string }> {
    const marker = randomBytes(6).toString("hex");
    const j = jobEnv({
        moto: on,
        backend,
        stsEndpoint: on === moto ? sts.endpoint : undefined,
        extra: { ATTINI_BIN: realAttini(), ATTINI_GITOPS_TEST_MARKER: marker, ...extra },
    });
    t.teardown(j.dispose);
    const r = await runCli(["deploy", ...args], j.env, cwd, during);
    return { ...r, marker };
}
