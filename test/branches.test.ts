// Branches as the driver meets them in the wild: from git, unicode, and hostile names that must
// never execute anything or reach the wrong environment. The stand-in attini shows whether (and
// with which -e) attini was reached at all; the real attini is in test/attini-real.test.ts.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import test, { type ExecutionContext } from "ava";
import { Exit } from "../automation/errors";
import { jobEnv, runCli } from "./support/driver";
import { backend, moto, project, reports, useWorld } from "./support/world";

// dev is claimed by a unicode branch name here; the clone is on branch stage.
useWorld(test, {
    stacks: ["dev", "stage"],
    edit: {
        "Pulumi.dev.yaml": (s) => s.replace("attini-gitops:branch: dev", 'attini-gitops:branch: "release/ünïcode"'),
    },
    ready: () => void execFileSync("git", ["checkout", "-q", "-b", "stage"], { cwd: project.dir }),
});

async function run(t: ExecutionContext, args: string[], extra: Record<string, string | undefined> = {}) {
    const j = jobEnv({ moto, backend, reports, extra });
    t.teardown(j.dispose);
    return runCli(args, j.env, project.dir);
}

test.serial("with no flag and no CI variable, the branch comes from git", async (t) => {
    const r = await run(t, ["deploy", "distribution/platform"]);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stderr, /branch stage \(from git\) → stack stage/);
    t.deepEqual(reports.event("start")!.argv!.slice(3, 5), ["-e", "acc"]);
});

test.serial("a detached HEAD with no CI variable is a usage error", async (t) => {
    execFileSync("git", ["checkout", "-q", "--detach"], { cwd: project.dir });
    t.teardown(() => execFileSync("git", ["checkout", "-q", "stage"], { cwd: project.dir }));
    const r = await run(t, ["deploy", "distribution/platform"]);
    t.is(r.code, Exit.USAGE);
    t.regex(r.stderr, /git HEAD is detached and no CI variable names the branch\. Pass --branch <name> or set BRANCH/);
    t.is(reports.reports.length, 0);
});

test.serial("a unicode branch name from a CI variable maps to its stack", async (t) => {
    const r = await run(t, ["deploy", "distribution/platform", "--json"], {
        GITHUB_ACTIONS: "true",
        GITHUB_EVENT_NAME: "push",
        GITHUB_REF: "refs/heads/release/ünïcode",
    });
    t.is(r.code, 0, r.stderr);
    t.like(JSON.parse(r.stdout), {
        branch: "release/ünïcode",
        branchSource: "GitHub Actions (GITHUB_REF)",
        stack: "dev",
    });
    t.deepEqual(reports.event("start")!.argv!.slice(3, 5), ["-e", "dev"]);
});

const HOSTILE = [
    "dev;touch CANARY",
    "$(touch CANARY)",
    "`touch CANARY`",
    "dev && touch CANARY",
    "dev\ntouch CANARY",
    "../../dev",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, to show it is never expanded
    "dev|touch${IFS}CANARY",
    "main'; touch CANARY; echo '",
];

for (const via of ["--branch", "BRANCH", "GITHUB_REF"] as const) {
    test.serial(`hostile branch names via ${via} are refused or unmapped, and execute nothing`, async (t) => {
        for (const name of HOSTILE) {
            const canary = path.join(project.dir, "CANARY");
            const args = ["deploy", "distribution/platform", ...(via === "--branch" ? ["--branch", name] : [])];
            const extra =
                via === "BRANCH"
                    ? { BRANCH: name }
                    : via === "GITHUB_REF"
                      ? { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "push", GITHUB_REF: `refs/heads/${name}` }
                      : {};
            const r = await run(t, args, extra);
            t.true(
                r.code === Exit.USAGE || r.code === Exit.UNMAPPED_BRANCH,
                `${JSON.stringify(name)}: exit ${r.code}\n${r.stderr}`,
            );
            t.false(fs.existsSync(canary), `${JSON.stringify(name)} executed a command`);
            t.is(reports.reports.length, 0, `${JSON.stringify(name)} reached attini`);
        }
    });
}

test.serial("a branch literally named origin/stage, checked out in git, maps to no environment", async (t) => {
    execFileSync("git", ["checkout", "-q", "-b", "origin/stage"], { cwd: project.dir });
    t.teardown(() => execFileSync("git", ["checkout", "-q", "stage"], { cwd: project.dir }));
    for (const extra of [
        {},
        { BRANCH: "origin/stage" },
        { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "push", GITHUB_REF: "refs/heads/origin/stage" },
    ]) {
        const r = await run(t, ["deploy", "distribution/platform"], extra);
        t.is(r.code, Exit.UNMAPPED_BRANCH, `${JSON.stringify(extra)}\n${r.stderr}`);
        t.regex(r.stderr, /branch "origin\/stage" maps to no environment/);
    }
    t.is(reports.reports.length, 0);
});

test.serial(
    "a pull_request_target build is refused even though GITHUB_REF and BRANCH name the environment branch",
    async (t) => {
        const r = await run(t, ["deploy", "distribution/platform"], {
            GITHUB_ACTIONS: "true",
            GITHUB_EVENT_NAME: "pull_request_target",
            GITHUB_REF: "refs/heads/stage",
            BRANCH: "stage",
        });
        t.is(r.code, Exit.USAGE, r.stderr);
        t.regex(r.stderr, /pull-request build on GitHub Actions \(GITHUB_EVENT_NAME=pull_request_target\)/);
        t.is(reports.reports.length, 0);
    },
);
