// One `deploy` job for every target of a branch (issue 21, second half), on the built driver, the
// real Attini CLI, the real Pulumi CLI (a file backend) and the emulator. Branch main has three
// targets in two accounts and two regions: w-eu (333333333333 eu-west-1) and w-us (444444444444
// us-east-1) in wave 1, w-us2 (333333333333 us-east-1) in wave 2. What a user sees: each upload in
// its own account and region's deployment-origin bucket, wave 2 after wave 1, a failure that stops
// wave 2 (exit 12, the table), and SIGTERM during a wave ending every process (exit 143).
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test, { type ExecutionContext } from "ava";
import { Exit } from "../automation/errors";
import { ledgerTableName } from "../lib/ledger";
import { loadStacks } from "../lib/stackFiles";
import { AttiniAccount, AttiniBackend, packageDistribution, realAttini } from "./support/attini";
import { type Backend, fileBackend } from "./support/backend";
import { jobEnv, runCli } from "./support/driver";
import { LedgerView, resetLedgers } from "./support/ledger";
import { type Moto, startMoto } from "./support/moto";
import { eventually } from "./support/processes";
import { git, provision, type ScratchProject, scratchProject } from "./support/project";
import { pulumiCli } from "./support/tools";

const TARGETS = [
    { stack: "w-eu", account: "333333333333", region: "eu-west-1", wave: 1 },
    { stack: "w-us", account: "444444444444", region: "us-east-1", wave: 1 },
    { stack: "w-us2", account: "333333333333", region: "us-east-1", wave: 2 },
] as const;

/** A stack file for one target: on main, Attini environment prod, not promoted (no gates to satisfy). */
const stackFile = (t: (typeof TARGETS)[number]) => `config:
  aws:allowedAccountIds:
    - "${t.account}"
  aws:region: ${t.region}
  attini-gitops:accountId: "${t.account}"
  attini-gitops:branch: main
  attini-gitops:attiniEnvironment: prod
  attini-gitops:buildServerPrincipals:
    - arn:aws:iam::999999999999:role/attini-build-server
  attini-gitops:wave: ${t.wave}
`;

let moto: Moto;
let backend: Backend;
let project: ScratchProject;
let zip: string;
let accounts: AttiniAccount[];
let attiniBackend: AttiniBackend;

test.before(async () => {
    pulumiCli();
    realAttini();
    moto = await startMoto();
    backend = fileBackend();
    project = scratchProject();
    fs.rmSync(path.join(project.dir, "Pulumi.prod.yaml"));
    for (const t of TARGETS) fs.writeFileSync(path.join(project.dir, `Pulumi.${t.stack}.yaml`), stackFile(t));
    git(project.dir, "add", "-A");
    git(project.dir, "commit", "-q", "-m", "prod in three targets");
    for (const b of ["dev", "stage", "main"])
        git(project.dir, "update-ref", "-m", "fetch", `refs/remotes/origin/${b}`, "HEAD");
    await provision(
        project,
        backend,
        TARGETS.map((t) => t.stack),
        {},
        moto,
    );
    accounts = [];
    for (const t of TARGETS) {
        const a = await AttiniAccount.connect(moto, t.account, t.region);
        await a.setup();
        await a.createEnvironment("prod", "production");
        accounts.push(a);
    }
    attiniBackend = new AttiniBackend(accounts);
    await attiniBackend.start();
    zip = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-waves-zip-")), "platform.zip");
    packageDistribution(project.distribution, zip);
});
test.after.always(async () => {
    attiniBackend?.stop();
    for (const a of accounts ?? []) a.close();
    await moto?.stop();
    backend?.dispose();
    project?.dispose();
});
test.beforeEach(async () => {
    attiniBackend.outcome.clear();
    await resetLedgers(
        moto,
        loadStacks(project.dir).configs.map((c) => ({ ...c, ledgerTable: ledgerTableName(c) })),
    );
});

const MAIN = { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "push", GITHUB_REF: "refs/heads/main" };

/** `deploy <zip> ARGS` on main with the real attini; every process it starts carries `marker`. */
async function deployAll(
    t: ExecutionContext,
    args: string[],
    marker: string,
    during?: (c: ChildProcess) => void,
    env: Record<string, string> = {},
) {
    const j = jobEnv({
        moto,
        backend,
        extra: {
            ...MAIN,
            GITHUB_STEP_SUMMARY: undefined,
            ATTINI_BIN: realAttini(),
            ATTINI_GITOPS_TEST_MARKER: marker,
            ...env,
        },
    });
    t.teardown(j.dispose);
    return runCli(["deploy", zip, ...args], j.env, project.dir, during);
}

/** A `pulumi` first on PATH that logs each command line to a file, then runs the real one. */
function countedPulumi(t: ExecutionContext): { PATH: string; calls: () => string[] } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-waves-pulumi-"));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const log = path.join(dir, "calls.log");
    fs.writeFileSync(
        path.join(dir, "pulumi"),
        `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${pulumiCli()}' "$@"\n`,
        { mode: 0o755 },
    );
    return {
        PATH: `${dir}${path.delimiter}${process.env.PATH ?? ""}`,
        calls: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trimEnd().split("\n") : []),
    };
}

/** Uploads per target, in TARGETS order. */
const uploads = () => Promise.all(accounts.map((a) => a.uploads().then((u) => u.length)));

/** Every process (driver, child driver, attini's JVM) whose environment carries the marker. */
function marked(marker: string): number[] {
    const found: number[] = [];
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        try {
            const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
            if (/^\d+ \(.*\) Z/.test(stat)) continue;
            if (fs.readFileSync(`/proc/${pid}/environ`, "utf8").includes(`ATTINI_GITOPS_TEST_MARKER=${marker}`))
                found.push(Number(pid));
        } catch {
            // gone, or not ours to read
        }
    }
    return found;
}

test.serial(
    "three targets in two accounts and two regions, two waves: each upload in its own bucket, wave 2 after wave 1",
    async (t) => {
        const before = await uploads();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-waves-summary-"));
        t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
        const summary = path.join(dir, "summary.md");
        const pulumi = countedPulumi(t);
        const r = await deployAll(t, ["--json", "--parallel", "2", "--summary-file", summary], "waves-ok", undefined, {
            PATH: pulumi.PATH,
        });
        t.is(r.code, 0, r.stderr);
        // The driver read each target's outputs once, through one workspace: no child ran a Pulumi CLI.
        const calls = pulumi.calls();
        t.deepEqual(
            calls.filter((c) => c.startsWith("stack output")).sort(),
            TARGETS.map((x) => `stack output --json --stack ${x.stack}`).sort(),
            calls.join("\n"),
        );
        t.is(calls.filter((c) => c.startsWith("version")).length, 1, calls.join("\n"));
        // One summary: the table, then each target's own, in target order.
        const md = fs.readFileSync(summary, "utf8");
        t.regex(md, /^## attini-gitops deploy: 3 targets of branch main\n\n\| target \| account \|/);
        t.regex(md, /\| w-us2 \| 333333333333 \| us-east-1 \| 2 \| deployed \| 0 \|/);
        const sections = [...md.matchAll(/^## attini-gitops deploy: deployed to (\S+)/gm)].map((m) => m[1]);
        t.deepEqual(sections, ["w-eu", "w-us", "w-us2"]);
        t.deepEqual(
            (await uploads()).map((n, i) => n - before[i]),
            [1, 1, 1],
            "one upload in each target's own account and region, and none elsewhere",
        );
        const out = JSON.parse(r.stdout);
        t.is(out.exitCode, 0);
        t.deepEqual(
            out.targets.map((x: { stack: string; wave: number; result: string; exitCode: number }) => [
                x.stack,
                x.wave,
                x.result,
                x.exitCode,
            ]),
            [
                ["w-eu", 1, "deployed", 0],
                ["w-us", 1, "deployed", 0],
                ["w-us2", 2, "deployed", 0],
            ],
        );
        for (const [i, target] of TARGETS.entries())
            t.like(out.targets[i].report, {
                result: "deployed",
                stack: target.stack,
                roleArn: `arn:aws:iam::${target.account}:role/attini-deploy-role-${target.region}`,
            });
        const wave1End = Math.max(...out.targets.slice(0, 2).map((x: { endedAt: string }) => Date.parse(x.endedAt)));
        t.true(Date.parse(out.targets[2].startedAt) >= wave1End, "wave 2 started after wave 1 ended");
        t.regex(r.stderr, /^\[w-eu\] /m);
        t.regex(r.stderr, /^\[w-us2\] /m);
        t.regex(r.stderr, /^w-us2 +333333333333 +us-east-1 +2 +deployed +0 /m);
    },
);

test.serial("a failure in wave 1 stops wave 2: nothing is uploaded there, exit 12, the table shows each", async (t) => {
    attiniBackend.outcome.set("444444444444", { result: "failed", code: "InitDeployFailed", message: "boom" });
    const before = await uploads();
    const r = await deployAll(t, ["--json"], "waves-fail");
    t.is(r.code, Exit.SOME_TARGETS_FAILED, r.stderr);
    const after = await uploads();
    t.deepEqual(
        after.map((n, i) => n - before[i]),
        [1, 1, 0],
        "w-eu and w-us uploaded; w-us2 was never started",
    );
    t.regex(r.stderr, /^w-eu +333333333333 +eu-west-1 +1 +deployed +0 /m);
    t.regex(r.stderr, /^w-us +444444444444 +us-east-1 +1 +failed +1 /m);
    t.regex(r.stderr, /^w-us2 +333333333333 +us-east-1 +2 +not started +- +-$/m);
    t.regex(r.stderr, /w-us2: not started \(w-us ended with exit 1 \(failed\)\)/);
    const out = JSON.parse(r.stdout);
    t.is(out.exitCode, Exit.SOME_TARGETS_FAILED);
    t.like(out.targets[1], { stack: "w-us", result: "failed", exitCode: 1, report: { result: "failed" } });
    t.like(out.targets[2], { stack: "w-us2", result: "not started" });
    t.is(out.targets[2].exitCode, undefined);
});

/**
 * Starts a deploy whose wave 1 never ends (each attini follows its deployment until stopped), and
 * resolves once both wave-1 targets have uploaded: the driver, two children and their attini run.
 */
async function waveOneFollowing(t: ExecutionContext, marker: string) {
    attiniBackend.outcome.set("333333333333", { result: "never" });
    attiniBackend.outcome.set("444444444444", { result: "never" });
    const before = await uploads();
    let parent!: ChildProcess;
    const done = deployAll(t, ["--kill-grace", "5s"], marker, (c) => {
        parent = c;
    });
    t.teardown(() => {
        for (const pid of marked(marker)) process.kill(pid, "SIGKILL"); // a failed test's leftovers
    });
    const both = await eventually(async () => {
        const now = await uploads();
        return now[0] > before[0] && now[1] > before[1];
    }, 120_000);
    t.true(both, "both targets of wave 1 uploaded");
    t.true(marked(marker).length >= 5, "the driver, two children and their attini are running");
    return { before, parent, done };
}

test.serial("SIGTERM during a wave reaches every attini: nothing is left running, exit 143", async (t) => {
    const marker = `waves-term-${process.pid}`;
    const { before, parent, done } = await waveOneFollowing(t, marker);
    parent.kill("SIGTERM");
    const r = await done;
    t.is(r.code, 143, r.stderr);
    t.regex(r.stderr, /received SIGTERM; forwarding it to 2 running target\(s\)/);
    t.regex(r.stderr, /^w-us2 +333333333333 +us-east-1 +2 +not started/m);
    t.true(await eventually(() => marked(marker).length === 0, 10_000), `left running: ${marked(marker).join(", ")}`);
    t.is((await uploads())[2], before[2], "wave 2 never started");
});

test.serial(
    "the parent killed with SIGKILL during a wave: each child stops its attini and records its run as interrupted; nothing is left running",
    async (t) => {
        const marker = `waves-kill-${process.pid}`;
        const { before, parent, done } = await waveOneFollowing(t, marker);
        parent.kill("SIGKILL");
        t.is((await done).signal, "SIGKILL");
        t.true(
            await eventually(() => marked(marker).length === 0, 30_000),
            `left running: ${marked(marker).join(", ")}`,
        );
        for (const target of TARGETS.slice(0, 2)) {
            const c = loadStacks(project.dir).configs.find((x) => x.stack === target.stack);
            const ledger = new LedgerView(moto, target.account, ledgerTableName(c!), target.region);
            const runs = await ledger.runs("platform");
            t.is(runs.length, 1, `${target.stack}: ${JSON.stringify(runs)}`);
            t.is(runs[0].result, "interrupted", `${target.stack}'s run is completed, not left started`);
        }
        t.is((await uploads())[2], before[2], "wave 2 never started");
    },
);
