/**
 * `npm run bench` (second part): costs that grow with the work, each next to its baseline in the
 * same run, as medians:
 *   - a prod deploy with 10,000 unpromoted hotfix commits (outside the distribution, so the gate
 *     lets it through), against the same deploy from a one-commit repository;
 *   - a prod deploy that the gate refuses, with 10,000 unpromoted commits in the distribution,
 *     against one with a single such commit (the gate compares trees; the refusal lists ten): once
 *     with every commit changing one file (only the history grows), once with each adding a file
 *     of its own (the distribution grows to 10,000 files too);
 *   - a stage deploy with dev 10,000 commits ahead, against the same;
 *   - `plan` at 3, 30 and 100 stacks: wall time and peak memory summed over every process;
 *   - the CI install, `npm ci --omit=dev --omit=optional`, against the full `npm ci`, npm's cache
 *     warm, and the driver deploying from the lean install.
 * The deploy is timed from the driver's start to attini's start (attini is a script that records
 * the moment). Before each deploy, untimed, every environment's ledger is emptied (the copies'
 * histories differ, and a deploy of one would be refused as older than another's), and the
 * upstream environment is made to hold a deployed run of the content and Attini's record of it
 * (vouch), as a real upstream deploy would leave them: the verified gate asks for both.
 * `--readme` writes the figures into docs/performance.md.
 */

import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { StackConfig } from "../lib/config/types";
import { ledgerTableName } from "../lib/ledger";
import { loadStacks } from "../lib/stackFiles";
import { fileBackend } from "../test/support/backend";
import { jobEnv } from "../test/support/driver";
import { resetLedgers } from "../test/support/ledger";
import { startMoto } from "../test/support/moto";
import { appendCommits, git, provision, scratchProject } from "../test/support/project";
import { CLI, pulumiCli, ROOT } from "../test/support/tools";
import { treeDigest, vouch } from "../test/support/vouch";
import { measured, median, writeFigures } from "./figures";

const RUNS = Math.max(5, Number(process.env.RUNS ?? 11));
const PLAN_RUNS = Math.max(3, Number(process.env.PLAN_RUNS ?? 3));
const INSTALL_RUNS = Math.max(1, Number(process.env.INSTALL_RUNS ?? 3));
const COMMITS = 10_000;

const wallMs = () => performance.timeOrigin + performance.now();

/** Copies a provisioned project (stack files with their secrets salt, and .git). */
function copyProject(from: string): string {
    const to = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-bench-copy-"));
    fs.cpSync(from, to, { recursive: true });
    return to;
}

/**
 * Adds stacks qa1..qaN to a project and to its file backend: the stack files, and each stack's
 * state cloned from dev's with its own name and outputs (provisioning a hundred stacks through
 * the engine would take minutes and measure nothing `plan` does).
 */
function addStacks(projectDir: string, stateDir: string, n: number): void {
    const devFile = fs.readFileSync(path.join(projectDir, "Pulumi.dev.yaml"), "utf8");
    const stacksDir = path.join(stateDir, ".pulumi", "stacks", "attini-gitops");
    const devState = fs.readFileSync(path.join(stacksDir, "dev.json"), "utf8");
    for (let i = 1; i <= n; i++) {
        const account = String(400000000000 + i);
        const name = `qa${i}`;
        fs.writeFileSync(
            path.join(projectDir, `Pulumi.${name}.yaml`),
            devFile
                .replaceAll("111111111111", account)
                .replace("attini-gitops:branch: dev", `attini-gitops:branch: ${name}`)
                .replace("attini-gitops:attiniEnvironment: dev", `attini-gitops:attiniEnvironment: ${name}`),
        );
        const state = devState
            .replaceAll("111111111111", account)
            .replaceAll('"attiniEnvironment": "dev"', `"attiniEnvironment": "${name}"`)
            .replaceAll('"branch": "dev"', `"branch": "${name}"`)
            .replaceAll("attini-gitops/dev", `attini-gitops/${name}`)
            .replaceAll("urn:pulumi:dev::", `urn:pulumi:${name}::`)
            .replaceAll("attini-gitops-dev", `attini-gitops-${name}`);
        fs.writeFileSync(path.join(stacksDir, `${name}.json`), state);
    }
}

async function main(): Promise<void> {
    pulumiCli();
    const moto = await startMoto();
    const backend = fileBackend();
    const base = scratchProject();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-bench-"));
    const made: string[] = [];
    const lines: string[] = [];
    const say = (l: string) => {
        console.log(l);
        lines.push(l);
    };
    try {
        await provision(base, backend, undefined, {}, moto);
        const mark = path.join(work, "attini-started");
        const fakeAttini = path.join(work, "attini");
        fs.writeFileSync(fakeAttini, `#!/bin/sh\ndate +%s%N > "${mark}"\n`, { mode: 0o755 });

        // --- the promotion gate and history ------------------------------------------------------
        const oneCommit = copyProject(base.dir);
        const hotfixes = copyProject(base.dir);
        appendCommits(
            hotfixes,
            "main",
            COMMITS,
            (i) => `docs/note-${i}.md`,
            (i) => `Hotfix ${i}`,
        );
        git(hotfixes, "reset", "-q", "--hard", "main");
        git(hotfixes, "update-ref", "refs/remotes/origin/main", "HEAD");
        const devAhead = copyProject(base.dir);
        appendCommits(
            devAhead,
            "refs/remotes/origin/dev",
            COMMITS,
            (i) => `distribution/platform/new-${i}.yaml`,
            (i) => `Parked ${i}`,
        );
        const refusedOne = copyProject(base.dir);
        const refusedMany = copyProject(base.dir);
        const refusedManyFiles = copyProject(base.dir);
        for (const [dir, n, file] of [
            [refusedOne, 1, () => "distribution/platform/fix.yaml"],
            [refusedMany, COMMITS, () => "distribution/platform/fix.yaml"],
            [refusedManyFiles, COMMITS, (i: number) => `distribution/platform/fix-${i}.yaml`],
        ] as const) {
            appendCommits(dir, "main", n, file, (i) => `Unpromoted ${i}`);
            git(dir, "reset", "-q", "--hard", "main");
            git(dir, "update-ref", "refs/remotes/origin/main", "HEAD");
        }
        made.push(oneCommit, hotfixes, devAhead, refusedOne, refusedMany, refusedManyFiles);
        /** Wall time of a deploy that the promotion gate refuses (exit 7), from start to exit. */
        const refusalMs = (dir: string) => {
            const job = jobEnv({ moto, backend, extra: { ATTINI_BIN: fakeAttini, BRANCH: "main" } });
            try {
                const t0 = wallMs();
                const r = spawnSync(process.execPath, [CLI, "deploy", "distribution/platform"], {
                    cwd: dir,
                    env: job.env,
                    stdio: ["ignore", "ignore", "pipe"],
                });
                const ms = wallMs() - t0;
                if (r.status !== 7) throw new Error(`deploy in ${dir} exited ${r.status}, not 7: ${r.stderr}`);
                return ms;
            } finally {
                job.dispose();
            }
        };
        const deployMs = (dir: string, branch: string) => {
            const job = jobEnv({ moto, backend, extra: { ATTINI_BIN: fakeAttini, BRANCH: branch } });
            try {
                fs.rmSync(mark, { force: true });
                const t0 = wallMs();
                const r = spawnSync(process.execPath, [CLI, "deploy", "distribution/platform"], {
                    cwd: dir,
                    env: job.env,
                    stdio: ["ignore", "ignore", "pipe"],
                });
                if (r.status !== 0) throw new Error(`deploy in ${dir} exited ${r.status}: ${r.stderr}`);
                return Number(BigInt(fs.readFileSync(mark, "utf8").trim()) / 1000n) / 1000 - t0;
            } finally {
                job.dispose();
            }
        };
        const series: Record<string, number[]> = {
            prodOne: [],
            prodHotfixes: [],
            refusedOne: [],
            refusedMany: [],
            refusedManyFiles: [],
            stageOne: [],
            stageDevAhead: [],
        };
        // The content every deploy that goes through takes (the hotfixes and dev's commits lie
        // outside the checkout's distribution), and the environments upstream of prod and stage.
        const digest = treeDigest(base.dir);
        const configs = loadStacks(base.dir).configs;
        const upstreamOf = (stack: string): StackConfig => {
            const found = configs.find((c) => c.stack === stack);
            if (!found) throw new Error(`no ${stack} stack in ${base.dir}`);
            return found;
        };
        const [stage, dev] = [upstreamOf("stage"), upstreamOf("dev")];
        const emptyLedgers = () =>
            resetLedgers(
                moto,
                configs.map((c) => ({ ...c, ledgerTable: ledgerTableName(c) })),
            );
        /** Empty ledgers, then `upstream` vouching for the content. */
        const freshFrom = async (upstream: StackConfig) => {
            await emptyLedgers();
            await vouch(moto, upstream, digest);
        };
        for (let i = 0; i < RUNS; i++) {
            await freshFrom(stage);
            series.prodOne.push(deployMs(oneCommit, "main"));
            await freshFrom(stage);
            series.prodHotfixes.push(deployMs(hotfixes, "main"));
            series.refusedOne.push(refusalMs(refusedOne));
            series.refusedMany.push(refusalMs(refusedMany));
            series.refusedManyFiles.push(refusalMs(refusedManyFiles));
            await freshFrom(dev);
            series.stageOne.push(deployMs(oneCommit, "stage"));
            await freshFrom(dev);
            series.stageDevAhead.push(deployMs(devAhead, "stage"));
        }
        const m = Object.fromEntries(Object.entries(series).map(([k, v]) => [k, median(v)]));
        say(
            `\nmedians of ${RUNS} runs (ms), ${os.cpus().length} cores, Node ${process.version}, git ${execFileSync("git", ["--version"], { encoding: "utf8" }).trim().split(" ")[2]}\n`,
        );
        say(`| scenario | median | against baseline |`);
        say(`| --- | --- | --- |`);
        say(`| prod deploy, one-commit repository | ${m.prodOne.toFixed(0)} ms | |`);
        say(
            `| prod deploy, ${COMMITS.toLocaleString("en")} unpromoted hotfix commits | ${m.prodHotfixes.toFixed(0)} ms | ${(m.prodHotfixes / m.prodOne).toFixed(2)}× (target ≤ 1.5×) |`,
        );
        say(`| prod deploy refused by the gate, 1 unpromoted commit | ${m.refusedOne.toFixed(0)} ms | |`);
        say(
            `| prod deploy refused by the gate, ${COMMITS.toLocaleString("en")} unpromoted commits to one file | ${m.refusedMany.toFixed(0)} ms | ${(m.refusedMany / m.refusedOne).toFixed(2)}× (target ≤ 1.5×) |`,
        );
        say(
            `| prod deploy refused by the gate, ${COMMITS.toLocaleString("en")} unpromoted commits adding ${COMMITS.toLocaleString("en")} files | ${m.refusedManyFiles.toFixed(0)} ms | ${(m.refusedManyFiles / m.refusedOne).toFixed(2)}× (the content grows too) |`,
        );
        say(`| stage deploy, one-commit repository | ${m.stageOne.toFixed(0)} ms | |`);
        say(
            `| stage deploy, dev ${COMMITS.toLocaleString("en")} commits ahead | ${m.stageDevAhead.toFixed(0)} ms | ${(m.stageDevAhead / m.stageOne).toFixed(2)}× (target ≤ 1.2×) |`,
        );

        // --- plan across many stacks ---------------------------------------------------------------
        const stateDir = backend.url.replace(/^file:\/\//, "");
        const planRows: string[] = [];
        for (const stacks of [3, 30, 100]) {
            const dir = copyProject(base.dir);
            made.push(dir);
            addStacks(dir, stateDir, stacks - 3);
            // Bounded (the default: as many at once as cores), and all at once as before, in turns.
            const bounded = jobEnv({ moto, backend });
            const unbounded = jobEnv({ moto, backend, extra: { ATTINI_GITOPS_OUTPUT_READERS: "9999" } });
            const runs: Record<"bounded" | "unbounded", Awaited<ReturnType<typeof measured>>[]> = {
                bounded: [],
                unbounded: [],
            };
            try {
                for (let i = 0; i < PLAN_RUNS; i++) {
                    runs.bounded.push(
                        await measured(process.execPath, [CLI, "plan", "--json"], { cwd: dir, env: bounded.env }),
                    );
                    runs.unbounded.push(
                        await measured(process.execPath, [CLI, "plan", "--json"], { cwd: dir, env: unbounded.env }),
                    );
                }
            } finally {
                bounded.dispose();
                unbounded.dispose();
            }
            const ms = (k: keyof typeof runs) => median(runs[k].map((r) => r.ms));
            const mb = (k: keyof typeof runs) => median(runs[k].map((r) => r.peakBytes)) / 2 ** 20;
            planRows.push(
                `| plan, ${stacks} stacks | ${ms("bounded").toFixed(0)} ms | ${mb("bounded").toFixed(0)} MB | ${ms("unbounded").toFixed(0)} ms | ${mb("unbounded").toFixed(0)} MB |`,
            );
        }
        say(
            `\nplan (medians of ${PLAN_RUNS} runs; peak memory summed over every process, sampled every 20 ms; targets: 100 stacks ≤ 400 MB, 30 stacks no slower than all at once)\n`,
        );
        say(
            `| scenario | wall, ${os.availableParallelism()} CLIs at once (default) | peak memory | wall, all at once (before) | peak memory |`,
        );
        say(`| --- | --- | --- | --- | --- |`);
        for (const r of planRows) say(r);

        // --- the CI install ------------------------------------------------------------------------
        const tree = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-bench-install-"));
        made.push(tree);
        execFileSync("bash", ["-c", `git ls-files -z | tar --null -T - -cf - | tar -xf - -C "${tree}"`], { cwd: ROOT });
        const install = async (args: string[]) => {
            fs.rmSync(path.join(tree, "node_modules"), { recursive: true, force: true });
            fs.rmSync(path.join(tree, "dist"), { recursive: true, force: true });
            return (
                await measured(
                    "npm",
                    ["ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", ...args],
                    { cwd: tree, env: process.env },
                )
            ).ms;
        };
        const full: number[] = [];
        const lean: number[] = [];
        for (let i = 0; i < INSTALL_RUNS; i++) {
            full.push(await install([]));
            lean.push(await install(["--omit=dev", "--omit=optional"]));
        }
        // The lean install's driver deploys (the tree holds the last, lean, install).
        const packages = fs.readdirSync(path.join(tree, "node_modules")).length;
        await emptyLedgers();
        const job = jobEnv({ moto, backend, extra: { ATTINI_BIN: fakeAttini, BRANCH: "dev" } });
        fs.rmSync(mark, { force: true });
        const deployed = spawnSync(
            process.execPath,
            [path.join(tree, "dist", "automation", "cli.js"), "deploy", "distribution/platform"],
            { cwd: oneCommit, env: job.env, encoding: "utf8" },
        );
        job.dispose();
        if (deployed.status !== 0 || !fs.existsSync(mark))
            throw new Error(`the driver from the lean install did not deploy: ${deployed.stderr}`);
        say(`\nCI install (medians of ${INSTALL_RUNS}, npm's cache warm)\n`);
        say(`| install | median | against the full install |`);
        say(`| --- | --- | --- |`);
        say(`| \`npm ci\` (everything) | ${(median(full) / 1000).toFixed(1)} s | |`);
        say(
            `| \`npm ci --omit=dev --omit=optional\` (the driver only) | ${(median(lean) / 1000).toFixed(1)} s | ${(median(lean) / median(full)).toFixed(2)}× (target ≤ 0.5×) |`,
        );
        say(`\nThe driver from the lean install (${packages} top-level packages) deployed to dev.`);

        if (process.argv.includes("--readme")) {
            writeFigures("bench-scaling", lines);
        }
    } finally {
        await moto.stop();
        backend.dispose();
        base.dispose();
        for (const d of [work, ...made]) fs.rmSync(d, { recursive: true, force: true });
    }
}

main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
});
