// plan, validate, build-server-policy and --help, as a user runs them.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test, { type ExecutionContext } from "ava";
import { Exit } from "../automation/errors";
import { jobEnv, runCli } from "./support/driver";
import { mermaidBlocks, parseMermaid } from "./support/mermaid";
import { scratchProject } from "./support/project";
import { pulumiCli } from "./support/tools";
import { backend, moto, project, useWorld } from "./support/world";

useWorld(test, { stacks: ["dev", "prod"] }); // stage is not provisioned yet

async function cli(
    t: ExecutionContext,
    args: string[],
    cwd = project.dir,
    extra: Record<string, string | undefined> = {},
) {
    const j = jobEnv({ moto, backend, extra });
    t.teardown(j.dispose);
    return runCli(args, j.env, cwd);
}

test("plan shows every stack in promotion order, with the role from outputs or derived from config", async (t) => {
    const r = await cli(t, ["plan"]);
    t.is(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n");
    t.regex(lines[0], /^BRANCH\s+STACK\s+ATTINI ENV\s+ACCOUNT\s+REGION\s+ROLE$/);
    t.regex(
        lines[1],
        /^dev\s+dev\s+dev\s+111111111111\s+eu-west-1\s+arn:aws:iam::111111111111:role\/attini-deploy-role-eu-west-1$/,
    );
    t.regex(
        lines[2],
        /^stage\s+stage\s+acc\s+222222222222\s+eu-west-1\s+arn:aws:iam::222222222222:role\/attini-deploy-role-eu-west-1 \(derived from config\)$/,
    );
    t.regex(
        lines[3],
        /^main\s+prod\s+prod\s+333333333333\s+eu-west-1\s+arn:aws:iam::333333333333:role\/attini-deploy-role-eu-west-1$/,
    );
    t.regex(
        r.stdout,
        /stage: role derived from config because stack stage is not provisioned \(no such stack on the current backend\): run `pulumi up -s stage` in account 222222222222/,
    );

    const json = JSON.parse((await cli(t, ["plan", "--json", "--branch", "refs/heads/main"])).stdout);
    t.is(json.length, 1);
    t.like(json[0], {
        branch: "main",
        stack: "prod",
        attiniEnvironment: "prod",
        accountId: "333333333333",
        roleSource: "outputs",
        promotedFrom: "stage",
    });
    t.is((await cli(t, ["plan", "--branch", "feature/x"])).code, Exit.UNMAPPED_BRANCH);
});

test("validate lists every problem, each with stack, key, value and fix, and exits 2", async (t) => {
    const ok = await cli(t, ["validate"]);
    t.is(ok.code, 0);
    t.regex(ok.stdout, /^OK: Pulumi.yaml and 3 stack files \(dev, prod, stage\) are valid\./);

    const broken = scratchProject({
        "Pulumi.dev.yaml": (s) =>
            s.replace('attini-gitops:accountId: "111111111111"', 'attini-gitops:accountId: "11111"'),
        "Pulumi.prod.yaml": (s) =>
            s
                .replace("arn:aws:iam::999999999999:role/attini-build-server", '"*"')
                .replace("attini-gitops:branch: main", "attini-gitops:branch: stage"),
    });
    t.teardown(broken.dispose);
    const r = await cli(t, ["validate"], broken.dir);
    t.is(r.code, Exit.USAGE);
    t.regex(
        r.stdout,
        /stack 'dev', key 'attini-gitops:accountId' = "11111": must be a 12-digit AWS account id\. Fix: /,
    );
    t.regex(r.stdout, /stack 'prod', key 'attini-gitops:buildServerPrincipals\[0\]' = "\*": contains a wildcard/);
    // Two stacks on one branch are that branch's targets, not a problem (test/targets.test.ts).
    t.notRegex(r.stdout, /key 'attini-gitops:branch'/);

    // deploy refuses to start on invalid config, with the same messages.
    const d = await cli(t, ["deploy", "--branch", "dev", "--dry-run"], broken.dir);
    t.is(d.code, Exit.USAGE);
    t.regex(d.stderr, /the stack config has \d problem\(s\)[\s\S]*must be a 12-digit AWS account id/);
});

test("build-server-policy grants AssumeRole, TagSession and SetSourceIdentity on every deploy role and history reader, nothing more", async (t) => {
    const r = await cli(t, ["build-server-policy"]);
    t.is(r.code, 0, r.stderr);
    t.deepEqual(JSON.parse(r.stdout), {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AssumeAttiniDeployRoles",
                Effect: "Allow",
                Action: ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
                Resource: ["111111111111", "222222222222", "333333333333"].map(
                    (a) => `arn:aws:iam::${a}:role/attini-deploy-role-eu-west-1`,
                ),
            },
            {
                Sid: "ReadAttiniDeploymentHistory",
                Effect: "Allow",
                Action: ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
                Resource: ["111111111111", "222222222222", "333333333333"].map(
                    (a) => `arn:aws:iam::${a}:role/attini-history-reader-eu-west-1`,
                ),
            },
        ],
    });
});

test("--help on every command; unknown commands and flags are usage errors", async (t) => {
    const main = await cli(t, ["--help"]);
    t.is(main.code, 0);
    for (const c of ["deploy", "plan", "validate", "build-server-policy"]) {
        t.regex(main.stdout, new RegExp(`^  ${c}`, "m"));
        const h = await cli(t, [c, "--help"]);
        t.is(h.code, 0);
        t.regex(h.stdout, new RegExp(`^Usage: attini-gitops ${c}`));
    }
    t.regex((await cli(t, ["deploy", "--help"])).stdout, /124\s+attini did not finish within --timeout/);
    const unknown = await cli(t, ["deploi"]);
    t.is(unknown.code, Exit.USAGE);
    t.regex(unknown.stderr, /unknown command "deploi"/);
    const flag = await cli(t, ["deploy", "--brnach", "dev"]);
    t.is(flag.code, Exit.USAGE);
    t.regex(flag.stderr, /Unknown option '--brnach'/);
    const empty = fs.mkdtempSync("/tmp/attini-gitops-empty-");
    t.teardown(() => fs.rmSync(empty, { recursive: true, force: true }));
    const outside = await cli(t, ["plan"], empty);
    t.is(outside.code, Exit.USAGE);
    t.regex(outside.stderr, /no Pulumi\.yaml in .* or above it/);
});

test("plan reads many stacks' outputs with no more Pulumi CLIs at once than the machine has cores", async (t) => {
    const p = scratchProject();
    t.teardown(p.dispose);
    const dev = fs.readFileSync(`${p.dir}/Pulumi.dev.yaml`, "utf8");
    for (let i = 1; i <= 12; i++) {
        const account = String(400000000000 + i);
        fs.writeFileSync(
            `${p.dir}/Pulumi.qa${i}.yaml`,
            dev
                .replaceAll("111111111111", account)
                .replace("attini-gitops:branch: dev", `attini-gitops:branch: qa${i}`)
                .replace("attini-gitops:attiniEnvironment: dev", `attini-gitops:attiniEnvironment: qa${i}`),
        );
    }
    // A pulumi that logs when each `stack output` starts and ends, first on PATH.
    const shimDir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-pulumi-shim-"));
    t.teardown(() => fs.rmSync(shimDir, { recursive: true, force: true }));
    const log = path.join(shimDir, "runs");
    fs.writeFileSync(
        path.join(shimDir, "pulumi"),
        `#!/bin/sh\nif [ "$1" = stack ]; then echo "start $$" >> "${log}"; "${pulumiCli()}" "$@"; rc=$?; echo "end $$" >> "${log}"; exit $rc; fi\nexec "${pulumiCli()}" "$@"\n`,
        { mode: 0o755 },
    );
    const r = await cli(t, ["plan", "--json"], p.dir, { PATH: `${shimDir}:${process.env.PATH}` });
    t.is(r.code, 0, r.stderr);
    t.is(JSON.parse(r.stdout).length, 15);
    let running = 0;
    let most = 0;
    const events = fs.readFileSync(log, "utf8").trim().split("\n");
    for (const e of events) {
        running += e.startsWith("start") ? 1 : -1;
        most = Math.max(most, running);
    }
    t.is(events.filter((e) => e.startsWith("start")).length, 15, "one read per stack");
    t.true(most <= os.availableParallelism(), `${most} CLIs at once on ${os.availableParallelism()} cores`);
    t.true(most >= 1);
});

test("in GitHub Actions, deploy and status append their Markdown summary to $GITHUB_STEP_SUMMARY; --json stays one document; an unwritable --summary-file is a warning", async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-summary-"));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const step = path.join(dir, "step-summary.md");
    fs.writeFileSync(step, "# an earlier step's summary\n");
    const github = {
        GITHUB_ACTIONS: "true",
        GITHUB_EVENT_NAME: "push",
        GITHUB_REF: "refs/heads/dev",
        GITHUB_STEP_SUMMARY: step,
        GITHUB_SERVER_URL: "https://github.com",
        GITHUB_REPOSITORY: "acme/platform",
        GITHUB_RUN_ID: "42",
    };
    const oneJson = (stdout: string) => {
        t.is(stdout.trim().split("\n").length, 1, stdout);
        return JSON.parse(stdout);
    };

    const d = await cli(t, ["deploy", project.distribution, "--dry-run", "--json"], project.dir, github);
    t.is(d.code, 0, d.stderr);
    t.is(oneJson(d.stdout).result, "dry-run");
    let summary = fs.readFileSync(step, "utf8");
    t.true(summary.startsWith("# an earlier step's summary\n## attini-gitops deploy: dry run to dev\n"), summary);
    t.regex(summary, /\| CI run \| \[.*\]\(https:\/\/github\.com\/acme\/platform\/actions\/runs\/42\) \|/);

    const s = await cli(t, ["status", "--json"], project.dir, github);
    t.is(s.code, 0, s.stderr);
    t.truthy(oneJson(s.stdout).environments);
    summary = fs.readFileSync(step, "utf8");
    t.regex(summary, /## attini-gitops deploy: dry run to dev[\s\S]*## Promotion chain/);
    const blocks = mermaidBlocks(summary);
    t.is(blocks.length, 2);
    for (const b of blocks) t.is(await parseMermaid(b), "flowchart-v2");

    // --no-step-summary: the file is left alone.
    const quiet = await cli(t, ["status", "--json", "--no-step-summary"], project.dir, github);
    t.is(quiet.code, 0, quiet.stderr);
    t.is(fs.readFileSync(step, "utf8"), summary);

    // A summary file that cannot be written: a warning, and the same exit code and JSON.
    const bad = path.join(dir, "no-such-folder", "summary.md");
    const warned = await cli(
        t,
        ["deploy", project.distribution, "--dry-run", "--json", "--summary-file", bad],
        project.dir,
        github,
    );
    t.is(warned.code, 0, warned.stderr);
    t.is(oneJson(warned.stdout).result, "dry-run");
    t.regex(warned.stderr, /warning: the summary could not be written to --summary-file .*no-such-folder/);

    // A deploy that stops still leaves its summary, with the reason, and its own exit code.
    const file = path.join(dir, "unmapped.md");
    const unmapped = await cli(
        t,
        ["deploy", project.distribution, "--branch", "feature/x", "--summary-file", file],
        project.dir,
        {},
    );
    t.is(unmapped.code, Exit.UNMAPPED_BRANCH);
    const md = fs.readFileSync(file, "utf8");
    t.regex(md, /^## attini-gitops deploy: stopped\n/);
    t.regex(md, /\| result \| \*\*stopped\*\* \(exit 3\) \|/);
    t.regex(md, /> .*feature\/x/);
    t.is(await parseMermaid(mermaidBlocks(md)[0]), "flowchart-v2");

    // Outside GitHub Actions nothing is appended; --format markdown prints the summary on stdout.
    const before = fs.readFileSync(step, "utf8");
    const m = await cli(t, ["status", "--format", "markdown"], project.dir, { GITHUB_STEP_SUMMARY: step });
    t.is(m.code, 0, m.stderr);
    t.regex(m.stdout, /^## Promotion chain\n/);
    t.is(await parseMermaid(mermaidBlocks(m.stdout)[0]), "flowchart-v2");
    t.is(fs.readFileSync(step, "utf8"), before);
    t.is((await cli(t, ["status", "--format", "html"])).code, Exit.USAGE);
});
