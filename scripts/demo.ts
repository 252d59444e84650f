/**
 * `npm run demo`: the CI driver's main job on local defaults. No AWS account, no Attini install:
 * AWS is the moto emulator on 127.0.0.1, the Pulumi state is a temporary file:// backend, and
 * attini is the recording stand-in from test/fixtures (ATTINI_BIN), which prints what a real
 * attini would receive and who it runs as. Everything else is the real thing: the Pulumi CLI,
 * the Automation API, STS AssumeRole and GetCallerIdentity, the driver as CI runs it.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileBackend } from "../test/support/backend";
import { jobEnv } from "../test/support/driver";
import { startMoto } from "../test/support/moto";
import { git, provision, scratchProject } from "../test/support/project";
import { CLI, pulumiCli } from "../test/support/tools";

function step(title: string): void {
    process.stdout.write(`\n\x1b[1m== ${title}\x1b[0m\n`);
}

async function main(): Promise<number> {
    pulumiCli();
    const moto = await startMoto();
    const backend = fileBackend();
    const project = scratchProject();
    let failures = 0;
    try {
        step(`local AWS emulator on ${moto.endpoint}; Pulumi state in ${backend.url}; project copy in ${project.dir}`);
        const job = jobEnv({ moto, backend });
        const run = (args: string[], extra: Record<string, string> = {}, expect = 0) => {
            process.stdout.write(`$ ${Object.entries(extra).map(([k, v]) => `${k}=${v} `).join("")}attini-gitops ${args.join(" ")}\n`);
            const r = spawnSync(process.execPath, [CLI, ...args], { cwd: project.dir, env: { ...job.env, ...extra }, stdio: "inherit" });
            process.stdout.write(`(exit ${r.status})\n`);
            if (r.status !== expect) failures++;
        };

        step("check the stack files offline");
        run(["validate"]);

        step("provision the dev, stage and prod deploy-role stacks (their outputs; `pulumi up` in each account in real life)");
        await provision(project, backend);
        run(["plan"]);
        run(["status"]);

        for (const branch of ["dev", "stage", "main"]) {
            step(`a push to ${branch}`);
            run(["deploy", "distribution/platform"], { BRANCH: branch });
        }

        step("a hotfix committed straight on main never ran in stage: status shows it, and prod's promotion gate (enforce) refuses it");
        fs.writeFileSync(path.join(project.distribution, "hotfix.yaml"), "timeout: 30\n");
        git(project.dir, "add", "distribution");
        git(project.dir, "commit", "-q", "-m", "Hotfix: raise timeout");
        git(project.dir, "update-ref", "-m", "push", "refs/remotes/origin/main", "HEAD");
        run(["status"]);
        run(["deploy", "distribution/platform"], { BRANCH: "main" }, 7);

        step("a push to a feature branch maps to no environment");
        run(["deploy", "distribution/platform", "--branch", "feature/login"], {}, 3);
        run(["deploy", "distribution/platform", "--branch", "feature/login", "--allow-unmapped"]);
        job.dispose();
    } finally {
        await moto.stop();
        backend.dispose();
        project.dispose();
    }
    step(failures === 0 ? "demo finished: every step behaved as expected" : `demo finished with ${failures} unexpected exit code(s)`);
    return failures === 0 ? 0 : 1;
}

main().then(
    (code) => (process.exitCode = code),
    (e) => {
        process.stderr.write(`demo failed: ${(e as Error).stack ?? e}\n`);
        process.exitCode = 1;
    },
);
