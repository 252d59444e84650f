/**
 * `npm run demo`: the CI driver's main job on local defaults. No AWS account, no Attini install:
 * AWS is the moto emulator on 127.0.0.1, the Pulumi state is a temporary file:// backend, and
 * attini is the real Attini CLI built from source (scripts/ensure-attini.sh), whose AWS calls the
 * test-only interceptor sends to the emulator. Attini's footprint (tables, bucket, environments)
 * is set up in each environment account, and a stand-in for Attini's backend records each
 * deployment once its distribution lands. The demo promotes a folder by its committed content (what
 * stage's ledger shows deployed there), a packaged zip whose stage deployment fails, so that prod's
 * verified promotion gate refuses it until a second stage deployment succeeds, a build prod refuses
 * until it has soaked in stage for an hour and then takes with --break-glass, a hotfix the git gate
 * refuses, and an outdated pipeline the ledger refuses. Everything else is the real thing: the
 * Pulumi CLI, the Automation API, STS AssumeRole and GetCallerIdentity, the driver as CI runs it.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { AttiniAccount, AttiniBackend, packageDistribution, realAttini } from "../test/support/attini";
import { fileBackend } from "../test/support/backend";
import { jobEnv } from "../test/support/driver";
import { startMoto } from "../test/support/moto";
import { git, provision, scratchProject } from "../test/support/project";
import { CLI, pulumiCli } from "../test/support/tools";
import { heading } from "./terminal";

function step(title: string): void {
    process.stdout.write(heading(title, process.stdout));
}

async function main(): Promise<number> {
    pulumiCli();
    const attini = realAttini();
    const moto = await startMoto();
    const backend = fileBackend();
    const project = scratchProject();
    let failures = 0;
    const accounts: AttiniAccount[] = [];
    let attiniBackend: AttiniBackend | undefined;
    try {
        step(`local AWS emulator on ${moto.endpoint}; Pulumi state in ${backend.url}; project copy in ${project.dir}`);
        process.stdout.write(
            `attini: the real Attini CLI (${fs.readFileSync(path.join(path.dirname(attini), "..", "VERSION"), "utf8").trim()}), built from source: ${attini}\n`,
        );
        for (const [account, env, type] of [
            ["111111111111", "dev", "test"],
            ["222222222222", "acc", "test"],
            ["333333333333", "prod", "production"],
        ] as const) {
            const a = await AttiniAccount.connect(moto, account);
            await a.setup();
            await a.createEnvironment(env, type);
            accounts.push(a);
            process.stdout.write(
                `account ${account}: Attini set up (AttiniResourceStatesV1, AttiniDeployDataV1, bucket ${a.bucket}), environment ${env} (${type})\n`,
            );
        }
        attiniBackend = new AttiniBackend(accounts);
        await attiniBackend.start();
        const job = jobEnv({ moto, backend, extra: { ATTINI_BIN: attini } });
        // Asynchronous, so that the stand-in backend keeps recording deployments while attini follows them.
        const run = async (args: string[], extra: Record<string, string> = {}, expect = 0) => {
            process.stdout.write(
                `$ ${Object.entries(extra)
                    .map(([k, v]) => `${k}=${v} `)
                    .join("")}attini-gitops ${args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(" ")}\n`,
            );
            const child = spawn(process.execPath, [CLI, ...args], {
                cwd: project.dir,
                env: { ...job.env, ...extra },
                stdio: "inherit",
            });
            const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
            process.stdout.write(`(exit ${status})\n`);
            if (status !== expect) failures++;
        };

        step("check the stack files offline");
        await run(["validate"]);

        step(
            "provision the dev, stage and prod deploy-role stacks (their outputs; `pulumi up` in each account in real life)",
        );
        await provision(project, backend, undefined, {}, moto);
        await run(["plan"]);
        await run(["status", "--distribution-name", "platform"]);

        for (const branch of ["dev", "stage", "main"]) {
            step(
                branch === "main"
                    ? "a push to main: prod takes the folder because stage's ledger shows this same committed content (its git tree) deployed there, and Attini's record agrees"
                    : `a push to ${branch}`,
            );
            await run(["deploy", "distribution/platform"], { BRANCH: branch });
        }
        step("where each distribution landed (the deployment-origin bucket of each account)");
        for (const a of accounts) process.stdout.write(`  ${a.account}: ${(await a.keys()).join(", ") || "nothing"}\n`);

        step("build once, promote the zip: prod gets it only once Attini's record in stage shows it succeeded");
        packageDistribution(project.distribution, path.join(project.dir, "release-1.zip"), "release-1");
        process.stdout.write(
            "packaged distribution/platform as release-1.zip (attini distribution package -i release-1)\n",
        );
        await run(["deploy", "release-1.zip"], { BRANCH: "dev" });
        attiniBackend.outcome.set("222222222222", {
            result: "failed",
            code: "CloudformationError",
            message: "Stack platform-acc rolled back: bucket name taken",
        });
        await run(["deploy", "release-1.zip"], { BRANCH: "stage" }, 1);
        await run(["deploy", "release-1.zip"], { BRANCH: "main" }, 7);
        attiniBackend.outcome.delete("222222222222");
        await run(["deploy", "release-1.zip"], { BRANCH: "stage" });
        await run(["deploy", "release-1.zip"], { BRANCH: "main" });
        await run(["status", "--distribution-name", "platform"]);

        step(
            "soak time: prod now requires stage to have held a build for an hour (soakMinutes: 60, promoted and provisioned with `pulumi up -s prod`); release-2 is refused right after stage took it, then the on-call engineer breaks the glass",
        );
        const prodFile = path.join(project.dir, "Pulumi.prod.yaml");
        fs.writeFileSync(
            prodFile,
            fs.readFileSync(prodFile, "utf8").replace(/^config:\n/m, "config:\n  attini-gitops:soakMinutes: 60\n"),
        );
        git(project.dir, "commit", "-q", "-am", "prod: soak builds in stage for an hour");
        for (const b of ["dev", "stage", "main"])
            git(project.dir, "update-ref", "-m", "push", `refs/remotes/origin/${b}`, "HEAD");
        await provision(project, backend, ["prod"], {}, moto);
        packageDistribution(project.distribution, path.join(project.dir, "release-2.zip"), "release-2");
        process.stdout.write(
            "packaged distribution/platform as release-2.zip (attini distribution package -i release-2)\n",
        );
        await run(["deploy", "release-2.zip"], { BRANCH: "dev" });
        await run(["deploy", "release-2.zip"], { BRANCH: "stage" });
        await run(["deploy", "release-2.zip"], { BRANCH: "main" }, 7);
        await run(["deploy", "release-2.zip", "--break-glass", "INC-4711 payment outage: hotfix approved by @oncall"], {
            BRANCH: "main",
        });
        await run(["status", "--distribution-name", "platform"]);

        step(
            "a hotfix committed straight on main never ran in stage: status shows it, and prod's promotion gate (enforce) refuses it",
        );
        fs.writeFileSync(path.join(project.distribution, "hotfix.yaml"), "timeout: 30\n");
        git(project.dir, "add", "distribution");
        git(project.dir, "commit", "-q", "-m", "Hotfix: raise timeout");
        git(project.dir, "update-ref", "-m", "push", "refs/remotes/origin/main", "HEAD");
        await run(["status", "--distribution-name", "platform"]);
        await run(["deploy", "distribution/platform"], { BRANCH: "main" }, 7);

        step(
            "newer wins: dev gets a newer commit, then an older pipeline is re-run; the ledger refuses it (exit 8) and nothing is uploaded",
        );
        fs.writeFileSync(path.join(project.distribution, "alarms.yaml"), "topic: alerts\n");
        git(project.dir, "add", "distribution");
        git(project.dir, "commit", "-q", "-m", "Add alarm topic");
        await run(["deploy", "distribution/platform"], { BRANCH: "dev" });
        git(project.dir, "checkout", "-q", "--detach", "HEAD~1");
        await run(["deploy", "distribution/platform"], { BRANCH: "dev" }, 8);
        git(project.dir, "checkout", "-q", "-");
        git(project.dir, "update-ref", "-m", "push", "refs/remotes/origin/dev", "HEAD");
        await run(["status", "--distribution-name", "platform"]);

        step("the same status as a CI job summary (status --format markdown): a Mermaid chart, then tables");
        await run(["status", "--distribution-name", "platform", "--format", "markdown"]);

        step("a push to a feature branch maps to no environment");
        await run(["deploy", "distribution/platform", "--branch", "feature/login"], {}, 3);
        await run(["deploy", "distribution/platform", "--branch", "feature/login", "--allow-unmapped"]);
        job.dispose();
    } finally {
        attiniBackend?.stop();
        for (const a of accounts) a.close();
        await moto.stop();
        backend.dispose();
        project.dispose();
    }
    step(
        failures === 0
            ? "demo finished: every step behaved as expected"
            : `demo finished with ${failures} unexpected exit code(s)`,
    );
    return failures === 0 ? 0 : 1;
}

main().then(
    (code) => (process.exitCode = code),
    (e) => {
        process.stderr.write(`demo failed: ${(e as Error).stack ?? e}\n`);
        process.exitCode = 1;
    },
);
