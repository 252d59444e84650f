// A multi-region prod with the real CLI (issue 21, first half): prod-eu (wave 1) and prod-us
// (wave 2) on main, both promoted from stage, provisioned (with stage) on a file backend with the emulator.
// plan shows the waves and prints the GitHub matrix; deploy --dry-run on main without --stack
// dry-runs both, wave by wave, each as a child; --stack still picks one; status lists every target.
import * as fs from "node:fs";
import * as path from "node:path";
import test from "ava";
import { Exit } from "../automation/errors";
import { type Backend, fileBackend } from "./support/backend";
import { jobEnv, runCli } from "./support/driver";
import { mermaidBlocks, parseMermaid } from "./support/mermaid";
import { type Moto, startMoto } from "./support/moto";
import { MULTI_REGION_MAIN_MATRIX, multiRegionProject, provision, type ScratchProject } from "./support/project";
import { pulumiCli } from "./support/tools";

let moto: Moto;
let backend: Backend;
let project: ScratchProject;
test.before(async () => {
    pulumiCli();
    moto = await startMoto();
    backend = fileBackend();
    project = multiRegionProject();
    await provision(project, backend, ["stage", "prod-eu", "prod-us"], {}, moto);
});
test.after.always(async () => {
    project?.dispose();
    backend?.dispose();
    await moto?.stop();
});

const MAIN = { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "push", GITHUB_REF: "refs/heads/main" };

async function cli(t: import("ava").ExecutionContext, args: string[], extra: Record<string, string> = MAIN) {
    const j = jobEnv({ moto, backend, extra: { ...extra, GITHUB_STEP_SUMMARY: undefined } });
    t.teardown(j.dispose);
    return runCli(args, j.env, project.dir);
}

test("plan --matrix github prints main's two targets, and nothing else on stdout; plan shows them by wave", async (t) => {
    const r = await cli(t, ["plan", "--matrix", "github"]);
    t.is(r.code, 0, r.stderr);
    t.deepEqual(JSON.parse(r.stdout), MULTI_REGION_MAIN_MATRIX);
    t.is(r.stdout.trim().split("\n").length, 1, "one JSON document");
    const gitlab = await cli(t, ["plan", "--matrix", "gitlab", "--wave", "2"]);
    t.is(gitlab.code, 0, gitlab.stderr);
    t.deepEqual(
        JSON.parse(gitlab.stdout).matrix.map((m: { STACK: string }) => m.STACK),
        ["prod-us"],
    );
    const late = await cli(t, ["plan", "--matrix", "github", "--max-wave", "1"]);
    t.is(late.code, Exit.USAGE);
    t.regex(late.stderr, /prod-us: wave 2/);
    t.is(late.stdout, "", "a refusal prints no matrix");
    t.is((await cli(t, ["plan", "--matrix", "github", "--wave", "0"])).code, Exit.USAGE);
    t.is((await cli(t, ["plan", "--matrix", "github", "--branch", "feature/x"])).code, Exit.UNMAPPED_BRANCH);

    const text = await cli(t, ["plan"]);
    t.is(text.code, 0, text.stderr);
    t.regex(
        text.stdout,
        /^main\s+prod-eu\s+prod\s+333333333333\s+eu-west-1\s+arn:aws:iam::333333333333:role\/attini-deploy-role-eu-west-1$/m,
    );
    t.regex(
        text.stdout,
        /^main\s+prod-us\s+prod\s+444444444444\s+us-east-1\s+arn:aws:iam::444444444444:role\/attini-deploy-role-us-east-1$/m,
    );
    t.regex(text.stdout, /^ {2}main: wave 1: prod-eu; wave 2: prod-us$/m);
    const json = await cli(t, ["plan", "--json", "--branch", "main"]);
    t.deepEqual(
        JSON.parse(json.stdout).map((r: { stack: string; wave: number; roleSource: string }) => [
            r.stack,
            r.wave,
            r.roleSource,
        ]),
        [
            ["prod-eu", 1, "outputs"],
            ["prod-us", 2, "outputs"],
        ],
    );
});

test("validate with the real CLI: two targets on main are valid; the same account, region and environment twice is refused with the fix", async (t) => {
    const ok = await cli(t, ["validate"]);
    t.is(ok.code, 0, ok.stdout);
    t.regex(ok.stdout, /^OK: Pulumi.yaml and 4 stack files \(dev, prod-eu, prod-us, stage\) are valid\./);
    const copy = multiRegionProject();
    t.teardown(copy.dispose);
    const file = path.join(copy.dir, "Pulumi.prod-us.yaml");
    fs.writeFileSync(
        file,
        fs
            .readFileSync(file, "utf8")
            .replace(/444444444444/g, "333333333333")
            .replace("aws:region: us-east-1", "aws:region: eu-west-1"),
    );
    const j = jobEnv({ moto, backend, extra: MAIN });
    t.teardown(j.dispose);
    const r = await runCli(["validate"], j.env, copy.dir);
    t.is(r.code, Exit.USAGE);
    t.regex(
        r.stdout,
        /stack 'prod-us', key 'attini-gitops:attiniEnvironment' = "prod": is stack prod-eu's too, in the same account 333333333333 and region eu-west-1.*Fix: give one of prod-eu and prod-us its own Attini environment, account or region/,
    );
    t.regex(
        r.stdout,
        /stack 'prod-us', key 'attini-gitops:roleName' = "attini-deploy-role-eu-west-1": is the name of stack prod-eu's deploy role/,
    );
});

test("deploy --dry-run on main without --stack dry-runs both targets in their waves, each in a child; --stack picks one", async (t) => {
    const r = await cli(t, ["deploy", project.distribution, "--dry-run", "--json"]);
    t.is(r.code, 0, r.stderr);
    t.regex(
        r.stderr,
        /branch main has 2 targets, deployed wave by wave, at most 4 at once \(dry run\): wave 1: prod-eu \(333333333333 eu-west-1\); wave 2: prod-us \(444444444444 us-east-1\)/,
    );
    t.regex(
        r.stderr,
        /^\[prod-eu\] attini-gitops: dry run: would assume arn:aws:iam::333333333333:role\/attini-deploy-role-eu-west-1/m,
    );
    t.regex(
        r.stderr,
        /^\[prod-us\] attini-gitops: dry run: would assume arn:aws:iam::444444444444:role\/attini-deploy-role-us-east-1/m,
    );
    t.regex(r.stderr, /the distribution is a folder, .*: the targets run one at a time/);
    t.regex(r.stderr, /^prod-eu +333333333333 +eu-west-1 +1 +dry-run +0 /m);
    t.regex(r.stderr, /^prod-us +444444444444 +us-east-1 +2 +dry-run +0 /m);
    const out = JSON.parse(r.stdout);
    t.is(out.exitCode, 0);
    t.like(out.targets[0], { stack: "prod-eu", wave: 1, result: "dry-run", exitCode: 0, report: { stack: "prod-eu" } });
    t.like(out.targets[1], {
        stack: "prod-us",
        wave: 2,
        result: "dry-run",
        report: { roleArn: "arn:aws:iam::444444444444:role/attini-deploy-role-us-east-1" },
    });
    t.true(out.targets[1].startedAt >= out.targets[0].endedAt, "wave 2 after wave 1");
    const bad = await cli(t, ["deploy", project.distribution, "--dry-run", "--parallel", "0"]);
    t.is(bad.code, Exit.USAGE, bad.stderr);
    t.notRegex(bad.stderr, /\[prod-/);
    const one = await cli(t, ["deploy", project.distribution, "--stack", "prod-us", "--dry-run", "--json"]);
    t.is(one.code, 0, one.stderr);
    t.like(JSON.parse(one.stdout), {
        result: "dry-run",
        stack: "prod-us",
        roleArn: "arn:aws:iam::444444444444:role/attini-deploy-role-us-east-1",
        roleSource: "outputs",
    });
});

test("status lists every target: both on main, each linked from stage, each a node of its own", async (t) => {
    const r = await cli(t, ["status", "--json"]);
    t.is(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    t.deepEqual(
        report.environments.map((e: { stack: string; branch: string }) => [e.stack, e.branch]),
        [
            ["dev", "dev"],
            ["stage", "stage"],
            ["prod-eu", "main"],
            ["prod-us", "main"],
        ],
    );
    t.like(report.environments[3], { accountId: "444444444444", region: "us-east-1", attiniEnvironment: "prod" });
    t.deepEqual(
        report.links.map((l: { upstream: { stack: string }; downstream: { stack: string } }) => [
            l.upstream.stack,
            l.downstream.stack,
        ]),
        [
            ["dev", "stage"],
            ["stage", "prod-eu"],
            ["stage", "prod-us"],
        ],
    );
    const md = await cli(t, ["status", "--format", "markdown"]);
    t.is(md.code, 0, md.stderr);
    const [chart] = mermaidBlocks(md.stdout);
    t.is(await parseMermaid(chart), "flowchart-v2");
    t.regex(chart, /subgraph branch\d+ \["branch main"\]/, "the two main targets grouped");
    const ids = [...chart.matchAll(/^\s+(env\d+)\[/gm)].map((m) => m[1]);
    t.is(ids.length, 4);
    t.is(new Set(ids).size, 4, "every target a node of its own");
    t.is(chart.match(/-->\|/g)?.length, 3, "one edge per link: dev -> stage, stage -> prod-eu, stage -> prod-us");
    t.regex(chart, /env1 -->\|.*\| env2/);
    t.regex(chart, /env1 -->\|.*\| env3/);
});
