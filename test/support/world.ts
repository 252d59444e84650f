/**
 * The shared fixture of the driver's integration tests: the emulator, a file backend, a scratch
 * project whose stacks are provisioned on it, the stand-in attini's report server, and the STS
 * front. `useWorld(test)` sets it up once per test file (ava runs each file in its own process)
 * and tears it down always; the bindings below are live once `test.before` has run. Each test
 * starts with empty ledgers.
 */
import type { TestFn } from "ava";
import { ledgerTableName } from "../../lib/ledger";
import { loadStacks } from "../../lib/stackFiles";
import { type Backend, fileBackend } from "./backend";
import { ReportServer, StsFront } from "./driver";
import { resetLedgers } from "./ledger";
import { type Moto, startMoto } from "./moto";
import { provision, type ScratchProject, STACKS, scratchProject } from "./project";
import { pulumiCli } from "./tools";

export let moto: Moto;
export let backend: Backend;
export let project: ScratchProject;
export let reports: ReportServer;
export let sts: StsFront;

export function useWorld(
    test: TestFn,
    opts: {
        stacks?: readonly string[];
        edit?: Parameters<typeof scratchProject>[0];
        ready?: () => void | Promise<void>;
    } = {},
): void {
    test.before(async () => {
        pulumiCli();
        moto = await startMoto();
        backend = fileBackend();
        project = scratchProject(opts.edit);
        reports = await ReportServer.start();
        sts = await StsFront.start(moto);
        await provision(project, backend, opts.stacks ?? STACKS, {}, moto);
        await opts.ready?.();
    });
    test.after.always(async () => {
        await reports?.close();
        await sts?.close();
        await moto?.stop();
        backend?.dispose();
        project?.dispose();
    });
    test.beforeEach(async () => {
        reports.reset();
        sts.reset();
        await resetLedgers(
            moto,
            loadStacks(project.dir).configs.map((c) => ({ ...c, ledgerTable: ledgerTableName(c) })),
        );
    });
}
