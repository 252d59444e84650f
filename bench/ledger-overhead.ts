/**
 * `npm run bench` (the ledger's cost): the driver as it is against the driver as it was before the
 * ledger (commit 381fbbd, the parent of the first ledger commit), in one run against the same local
 * emulator and file backend: start → attini start, and start → the driver's exit (its whole own
 * time, attini being a script that records its start and ends at once). The two drivers take turns
 * going first, run by run; the figures are medians of RUNS runs each (default 21). The ledger's
 * DynamoDB calls per deploy are counted at a loopback front to the emulator (one extra run of each
 * driver, not timed). The baseline is built once, from `git archive`, into
 * ~/.cache/attini-gitops/bench-baseline-381fbbd; a clone without that commit (a shallow one) says
 * so and skips the comparison. `--readme` writes the figures into docs/performance.md.
 */

import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { jobEnv } from "../test/support/driver";
import { DynamoFront } from "../test/support/dynamoFront";
import { provision } from "../test/support/project";
import { CLI, pulumiCli, ROOT } from "../test/support/tools";
import { median, runBench, writeFigures } from "./figures";

const RUNS = Math.max(3, Number(process.env.RUNS ?? 21));
/** The driver before the ledger: the parent of the first ledger commit (ce2daa8). */
const BASELINE = "381fbbd";
const TARGET_MS = 100;

/** Wall-clock milliseconds, comparable across processes (attini's start mark is written with `date +%s%N`). */
const wallMs = () => performance.timeOrigin + performance.now();
const signed = (ms: number) => `${ms >= 0 ? "+" : "−"}${Math.abs(ms).toFixed(0)} ms`;

/**
 * The baseline driver's cli.js, built once into the cache: the commit's files from `git archive`,
 * this checkout's node_modules linked in, compiled with its own tsconfig.json. A string is why there
 * is none (the commit is not in this clone).
 */
function baselineCli(): { cli: string } | { missing: string } {
    let full: string;
    try {
        full = execFileSync("git", ["rev-parse", "--verify", "--quiet", `${BASELINE}^{commit}`], {
            cwd: ROOT,
            encoding: "utf8",
            stdio: ["ignore", "pipe", "ignore"],
        }).trim();
    } catch {
        return {
            missing: `commit ${BASELINE} (the driver before the ledger) is not in this clone (a shallow clone?): the comparison with it cannot be made`,
        };
    }
    const cache = path.join(
        process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"),
        "attini-gitops",
        `bench-baseline-${BASELINE}`,
    );
    const cli = path.join(cache, "dist", "automation", "cli.js");
    const stamp = path.join(cache, ".built-from");
    if (fs.existsSync(cli) && fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8").trim() === full) return { cli };
    console.log(`building the baseline driver (${BASELINE}) into ${cache} (once) ...`);
    fs.mkdirSync(path.dirname(cache), { recursive: true });
    const tmp = fs.mkdtempSync(`${cache}.tmp-`);
    try {
        execFileSync("bash", ["-c", 'git archive "$1" | tar -x -C "$2"', "archive", full, tmp], { cwd: ROOT });
        fs.symlinkSync(fs.realpathSync(path.join(ROOT, "node_modules")), path.join(tmp, "node_modules"));
        execFileSync(path.join(tmp, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], {
            cwd: tmp,
            stdio: "inherit",
        });
        fs.writeFileSync(path.join(tmp, ".built-from"), `${full}\n`);
        fs.rmSync(cache, { recursive: true, force: true });
        fs.renameSync(tmp, cache);
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
    return { cli };
}

/** "Query ×3, PutItem ×2, UpdateItem ×2" in the order first seen. */
const tally = (calls: string[]) => {
    const n = new Map<string, number>();
    for (const c of calls) n.set(c, (n.get(c) ?? 0) + 1);
    return n.size === 0 ? "none" : [...n].map(([k, v]) => `${k} ×${v}`).join(", ");
};

function main(): void {
    pulumiCli(); // on PATH for provision()
    const baseline = baselineCli();
    runBench(async ({ moto, backend, project, work }) => {
        await provision(project, backend, ["dev"], {}, moto); // also makes dev's ledger table
        const mark = path.join(work, "attini-started");
        const fakeAttini = path.join(work, "attini");
        fs.writeFileSync(fakeAttini, `#!/bin/sh\ndate +%s%N > "${mark}"\n`, { mode: 0o755 });
        const job = jobEnv({ moto, backend, extra: { ATTINI_BIN: fakeAttini, BRANCH: "dev" } });

        /** One deploy of the project's commit to dev: ms to attini's start and to the driver's exit. */
        // Not spawnSync: the counting front answers from this process's event loop.
        const deploy = async (cli: string, env: NodeJS.ProcessEnv = job.env) => {
            fs.rmSync(mark, { force: true });
            const t0 = wallMs();
            const child = spawn(process.execPath, [cli, "deploy", "distribution/platform"], {
                cwd: project.dir,
                env,
                stdio: ["ignore", "ignore", "pipe"],
            });
            let log = "";
            child.stderr.on("data", (d: Buffer) => (log += d));
            const status = await new Promise<number | null>((resolve, reject) => {
                child.on("error", reject);
                child.on("exit", (code) => resolve(code));
            });
            const exit = wallMs() - t0;
            if (status !== 0 || !fs.existsSync(mark))
                throw new Error(`${cli} deploy exited ${status} (attini started: ${fs.existsSync(mark)}):\n${log}`);
            const toAttini = Number(BigInt(fs.readFileSync(mark, "utf8").trim()) / 1000n) / 1000 - t0;
            return { toAttini, exit, log };
        };

        const drivers: {
            name: string;
            cli: string;
            toAttini: number[];
            exit: number[];
            calls?: string[];
            callMs?: number;
        }[] = [{ name: "current driver (with the ledger)", cli: CLI, toAttini: [], exit: [] }];
        if ("cli" in baseline)
            drivers.push({
                name: `baseline driver (${BASELINE}, before the ledger)`,
                cli: baseline.cli,
                toAttini: [],
                exit: [],
            });
        else console.log(baseline.missing);

        // Each must deploy (exit 0, attini started) before it is measured; the current one must use the ledger.
        for (const d of drivers) {
            const { log } = await deploy(d.cli);
            if (d.cli === CLI && !/recorded run .* in the ledger/.test(log))
                throw new Error(`the current driver deployed without recording a run in the ledger:\n${log}`);
            await deploy(d.cli); // a second warm-up: Node's compile cache is written by the first run
        }

        // The DynamoDB calls of one deploy of each, counted at a front (not timed).
        const front = await DynamoFront.start(moto);
        for (const d of drivers) {
            front.calls.length = 0;
            front.spent.ms = 0;
            await deploy(d.cli, { ...job.env, AWS_ENDPOINT_URL_DYNAMODB: front.endpoint });
            d.calls = [...front.calls];
            d.callMs = front.spent.ms;
        }
        await front.close();

        // The timed runs: the two drivers take turns going first.
        for (let i = 0; i < RUNS; i++) {
            for (const d of i % 2 === 0 ? drivers : [...drivers].reverse()) {
                const r = await deploy(d.cli);
                d.toAttini.push(r.toAttini);
                d.exit.push(r.exit);
            }
        }
        job.dispose();

        const [current, before] = drivers;
        const rows: [string, number, number][] = drivers.map((d) => [d.name, median(d.toAttini), median(d.exit)]);
        console.log(
            `\nthe ledger's cost: medians of ${RUNS} runs each (ms), ${os.cpus().length} cores, Node ${process.version}\n`,
        );
        console.log(`${"driver".padEnd(48)} ${"start → attini".padStart(15)} ${"start → exit".padStart(13)}`);
        for (const [k, a, b] of rows)
            console.log(`${k.padEnd(48)} ${a.toFixed(0).padStart(15)} ${b.toFixed(0).padStart(13)}`);
        const diff = before
            ? {
                  toAttini: median(current.toAttini) - median(before.toAttini),
                  exit: median(current.exit) - median(before.exit),
              }
            : undefined;
        const verdict = (ms: number) => (ms <= TARGET_MS ? "within" : "OVER");
        if (diff)
            console.log(
                `\ncurrent − baseline: start → attini ${signed(diff.toAttini)}, start → exit ${signed(diff.exit)} (target ≤ +${TARGET_MS} ms: ${verdict(diff.toAttini)}, ${verdict(diff.exit)})`,
            );
        for (const d of drivers)
            console.log(
                `DynamoDB calls per deploy, ${d.name}: ${d.calls?.length} (${tally(d.calls ?? [])}), ${d.callMs?.toFixed(0)} ms in the emulator (one run)`,
            );

        if (process.argv.includes("--readme")) {
            const lines = [
                `medians of ${RUNS} runs each, ${os.cpus().length} cores, Node ${process.version}`,
                "",
                "| driver | start → attini start | start → driver exit | DynamoDB calls per deploy |",
                "| --- | --- | --- | --- |",
                ...drivers.map(
                    (d) =>
                        `| ${d.name} | ${median(d.toAttini).toFixed(0)} ms | ${median(d.exit).toFixed(0)} ms | ${d.calls?.length} (${tally(d.calls ?? [])}) |`,
                ),
            ];
            if (diff)
                lines.push(
                    `| current − baseline (target ≤ +${TARGET_MS} ms) | ${signed(diff.toAttini)} | ${signed(diff.exit)} | |`,
                );
            else lines.push("", `Not compared: ${"missing" in baseline ? baseline.missing : ""}.`);
            lines.push(
                "",
                `The emulator took ${current.callMs?.toFixed(0)} ms to answer one deploy's ${current.calls?.length} DynamoDB calls (one counted run, not one of the timed ones).`,
            );
            writeFigures("bench-ledger", lines);
        }
    });
}

main();
