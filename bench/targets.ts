/**
 * `npm run bench` (several targets, issue 21): `deploy` of a branch with 1, 4 and 16 targets in one
 * wave (--parallel N, so that all of a wave run at once), in one run against the same local
 * emulator and file backend, as medians of RUNS runs each (default 5), the sizes taking turns.
 * The single target is the ordinary deploy (no child process); 4 and 16 run one child driver per
 * target. attini is the stand-in script (test/fixtures/attini), which "follows its deployment" for
 * ATTINI_SLEEP seconds (default 3): a deployment that takes a while, as real ones do. Peak memory is
 * the sum of the RSS of the driver and every process under it (its children, their Pulumi CLIs and
 * attini), sampled from /proc every 20 ms, and the same without attini's processes: the driver's
 * own. Targets: 16 targets in at most 3× the wall time of 1, the driver's peak memory below 1.5 GB
 * (attini's own memory is attini's: the real one is a JVM per target, whatever the driver does).
 * `--readme` writes the figures into docs/performance.md.
 */

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { jobEnv } from "../test/support/driver";
import { git, provision } from "../test/support/project";
import { CLI, pulumiCli } from "../test/support/tools";
import { writeZip } from "../test/support/zip";
import { measured, median, runBench, writeFigures } from "./figures";

const RUNS = Math.max(3, Number(process.env.RUNS ?? 5));
const SLEEP_S = Number(process.env.ATTINI_SLEEP ?? 3);
const SIZES = [1, 4, 16] as const;
const MAX_RATIO = 3;
const MAX_PEAK_BYTES = 1.5 * 2 ** 30;

/** The stack file of target `i` of the branch for `size` targets: an account of its own, not promoted. */
function stackFile(size: number, i: number): { name: string; text: string } {
    const account = String(500_000_000_000 + size * 100 + i);
    return {
        name: `t${size}-${i}`,
        text: `config:
  aws:allowedAccountIds:
    - "${account}"
  aws:region: eu-west-1
  attini-gitops:accountId: "${account}"
  attini-gitops:branch: bench-${size}
  attini-gitops:attiniEnvironment: bench
  attini-gitops:buildServerPrincipals:
    - arn:aws:iam::999999999999:role/attini-build-server
`,
    };
}

function main(): void {
    pulumiCli(); // on PATH for provision()
    runBench(async ({ moto, backend, project, work }) => {
        const stacks: string[] = [];
        for (const size of SIZES)
            for (let i = 0; i < size; i++) {
                const f = stackFile(size, i);
                fs.writeFileSync(path.join(project.dir, `Pulumi.${f.name}.yaml`), f.text);
                stacks.push(f.name);
            }
        git(project.dir, "add", "-A");
        git(project.dir, "commit", "-q", "-m", "bench targets");
        console.log(`provisioning ${stacks.length} stacks ...`);
        await provision(project, backend, stacks, {}, moto);
        const zip = writeZip(path.join(work, "platform.zip"), { "attini-config.yaml": "distributionName: platform\n" });
        const job = jobEnv({ moto, backend, extra: { ATTINI_STANDIN_SLEEP: String(SLEEP_S) } });
        const deploy = (size: number) =>
            measured(process.execPath, [CLI, "deploy", zip, "--parallel", String(size)], {
                cwd: project.dir,
                env: { ...job.env, BRANCH: `bench-${size}` },
            });
        for (const size of SIZES) await deploy(size); // warm-up: each must deploy (exit 0) before it is measured
        const runs = new Map<number, { ms: number; peakBytes: number; peakDriverBytes: number }[]>(
            SIZES.map((s) => [s, []]),
        );
        for (let r = 0; r < RUNS; r++)
            for (const size of r % 2 === 0 ? SIZES : [...SIZES].reverse()) runs.get(size)?.push(await deploy(size));
        const wall = (s: number) => median((runs.get(s) ?? []).map((x) => x.ms));
        const peak = (s: number) => Math.max(...(runs.get(s) ?? []).map((x) => x.peakBytes));
        const peakDriver = (s: number) => Math.max(...(runs.get(s) ?? []).map((x) => x.peakDriverBytes));
        const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
        const lines = [
            "",
            `medians of ${RUNS} runs, ${os.availableParallelism()} cores, Node ${process.version}; attini: the stand-in, following its deployment for ${SLEEP_S} s; peak memory: the highest of the runs, the RSS summed over the driver and every process under it, sampled every 20 ms: the driver's own (its Node processes, their Pulumi CLIs and watchdogs) and in all (with the stand-in attini processes) (targets: 16 targets ≤ ${MAX_RATIO}× the wall time of 1, the driver's peak < 1.5 GB)`,
            "",
            "| targets in one wave | wall (median) | against 1 target | peak memory, the driver's | peak memory, with attini |",
            "| --- | --- | --- | --- | --- |",
            ...SIZES.map(
                (s) =>
                    `| ${s} | ${(wall(s) / 1000).toFixed(2)} s | ${s === 1 ? "" : `${(wall(s) / wall(1)).toFixed(2)}×`} | ${mb(peakDriver(s))} | ${mb(peak(s))} |`,
            ),
            "",
        ];
        console.log(lines.join("\n"));
        const ratio = wall(16) / wall(1);
        console.log(
            `16 targets: ${ratio.toFixed(2)}× of 1 (target ≤ ${MAX_RATIO}×: ${ratio <= MAX_RATIO ? "met" : "NOT met"}); the driver's peak ${mb(peakDriver(16))} (target < 1536 MB: ${peakDriver(16) < MAX_PEAK_BYTES ? "met" : "NOT met"}); with the stand-in attini ${mb(peak(16))}`,
        );
        if (process.argv.includes("--readme")) writeFigures("bench-targets", lines);
        job.dispose();
    });
}

main();
