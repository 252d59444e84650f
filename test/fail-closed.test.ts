// The driver fails closed, end to end: attini's command line is the driver's, outputs must name
// the stack's own role, every wait is bounded (a silent STS, a silent state backend), resets are
// retried, odd inputs are refused, and nothing attini starts outlives the driver. The stand-in
// attini shows the environment attini receives, which the real CLI does not print.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import test, { type ExecutionContext } from "ava";
import { Exit } from "../automation/errors";
import { type Backend, fileBackend } from "./support/backend";
import { jobEnv, runCli } from "./support/driver";
import { alive, eventually } from "./support/processes";
import { provision, scratchProject } from "./support/project";
import { STAND_IN_ATTINI } from "./support/tools";
import { backend, moto, project, reports, sts, useWorld } from "./support/world";
import { writeZip } from "./support/zip";

useWorld(test, { stacks: ["dev"] });

const DIST = "distribution/platform";

async function job(
    t: ExecutionContext,
    args: string[],
    extra: Record<string, string | undefined> = {},
    opts: { cwd?: string; backend?: Backend } = {},
) {
    const j = jobEnv({
        moto,
        backend: opts.backend ?? backend,
        reports,
        stsEndpoint: sts.endpoint,
        extra: { BRANCH: "dev", ...extra },
    });
    t.teardown(j.dispose);
    return runCli(args, j.env, opts.cwd ?? project.dir);
}

test.serial("arguments after -- may not set the environment, region, profile or force flag", async (t) => {
    for (const owned of [
        ["-e", "prod"],
        ["-eprod"],
        ["--environment=prod"],
        ["--region", "us-east-1"],
        ["--profile", "admin"],
        ["-f"],
    ]) {
        const r = await job(t, ["deploy", DIST, "--", "--json", ...owned]);
        t.is(r.code, Exit.USAGE, `${owned.join(" ")}\n${r.stderr}`);
        t.regex(r.stderr, /which attini-gitops owns/);
    }
    t.is(sts.calls.length, 0);
    t.is(reports.reports.length, 0);
});

test.serial("a distribution path that starts with '-', or is a FIFO, is a usage error", async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-fifo-"));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const fifo = path.join(dir, "dist.zip");
    execFileSync("mkfifo", [fifo]);
    const r = await job(t, ["deploy", fifo]);
    t.is(r.code, Exit.USAGE, r.stderr);
    t.regex(r.stderr, /is neither a folder nor a file \(a FIFO, socket or device\?\)/);
    t.notRegex(r.stderr, /internal error|    at /);

    fs.mkdirSync(path.join(project.dir, "-platform"));
    t.teardown(() => fs.rmSync(path.join(project.dir, "-platform"), { recursive: true }));
    const leading = await job(t, ["deploy", "-platform", "--dry-run"]);
    t.is(leading.code, Exit.USAGE);
    t.regex(
        leading.stderr,
        /"-platform" starts with '-', which would be read as an option\. Write the distribution path as \.\/-platform/,
    );
    t.is(reports.reports.length, 0);
});

test.serial("a --session-name that breaks STS's rules is rewritten, and the name used is printed", async (t) => {
    const r = await job(t, ["deploy", DIST, "--session-name", "release 2.0 (hotfix)"]);
    t.is(r.code, 0, r.stderr);
    t.regex(
        r.stderr,
        /--session-name "release 2\.0 \(hotfix\)" does not fit STS's rules .*; using release-2\.0-hotfix/,
    );
    t.is(sts.calls.find((c) => c.action === "AssumeRole")!.params.get("RoleSessionName"), "release-2.0-hotfix");
});

test.serial("attini never sees the legacy AWS key names or -Daws.* properties in the Java options", async (t) => {
    const r = await job(t, ["deploy", DIST], {
        AWS_ACCESS_KEY: "AKIALEGACYKEY",
        AWS_SECRET_KEY: "legacy-secret-key",
        JAVA_TOOL_OPTIONS: "-Xss4m -Daws.accessKeyId=AKIAJAVAKEY -Daws.secretAccessKey=java-secret",
        JDK_JAVA_OPTIONS: "-Daws.profile=admin",
        _JAVA_OPTIONS: "-Dfile.encoding=UTF-8 -Daws.region=us-east-1",
    });
    t.is(r.code, 0, r.stderr);
    const env = reports.event("start")!.env!;
    t.is(env.AWS_ACCESS_KEY, undefined);
    t.is(env.AWS_SECRET_KEY, undefined);
    t.is(env.JAVA_TOOL_OPTIONS, "-Xss4m");
    t.is(env.JDK_JAVA_OPTIONS, undefined);
    t.is(env._JAVA_OPTIONS, "-Dfile.encoding=UTF-8");
    t.false(JSON.stringify(env).includes("java-secret"));
});

test.serial(
    "outputs that name another role in the stack's account are refused before any STS call (exit 4); a role in another account is the wrong account (exit 6)",
    async (t) => {
        for (const [arn, code, message] of [
            [
                "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole",
                Exit.NOT_PROVISIONED,
                /output deployRoleArn is arn:aws:iam::111111111111:role\/OrganizationAccountAccessRole, but Pulumi\.dev\.yaml implies arn:aws:iam::111111111111:role\/attini-deploy-role-eu-west-1/,
            ],
            [
                "arn:aws:iam::999999999999:role/attini-deploy-role-eu-west-1",
                Exit.WRONG_ACCOUNT,
                /a role in account 999999999999, not in the stack's account 111111111111/,
            ],
        ] as const) {
            const other = scratchProject();
            const state = fileBackend();
            t.teardown(() => {
                other.dispose();
                state.dispose();
            });
            await provision(other, state, ["dev"], { deployRoleArn: arn }, moto);
            sts.reset();
            const r = await job(t, ["deploy", DIST], {}, { cwd: other.dir, backend: state });
            t.is(r.code, code, r.stderr);
            t.regex(r.stderr, message);
            t.is(sts.calls.length, 0, "no STS call");
            t.is(reports.reports.length, 0);
        }
    },
);

test.serial(
    "an STS endpoint that never answers ends within --aws-timeout with exit 5; each request is bounded and retried",
    async (t) => {
        sts.respond = (c) => (c.action === "AssumeRole" ? "hang" : undefined);
        const started = Date.now();
        const r = await job(t, ["deploy", DIST, "--aws-timeout", "3s", "--aws-request-timeout", "1s"]);
        t.is(r.code, Exit.CREDENTIALS, r.stderr);
        t.regex(r.stderr, /AssumeRole did not finish within 3s \(--aws-timeout 3s\): nothing answered in time/);
        t.true(sts.count("AssumeRole") >= 2, `${sts.count("AssumeRole")} attempts: request timeouts are retried`);
        t.regex(r.stderr, /AssumeRole attempt 1 failed \(TimeoutError\/ETIMEDOUT\); retrying/);
        t.true(Date.now() - started < 30_000);
        t.is(reports.reports.length, 0);
    },
);

test.serial("a connection reset on AssumeRole is retried, then the deployment goes ahead", async (t) => {
    sts.respond = (c, n) => (c.action === "AssumeRole" && n === 1 ? "reset" : undefined);
    const r = await job(t, ["deploy", DIST]);
    t.is(r.code, 0, r.stderr);
    t.is(sts.count("AssumeRole"), 2);
    t.regex(r.stderr, /AssumeRole attempt 1 failed \([^)]*ECONNRESET\); retrying/);
    t.is(reports.event("start")!.identity?.account, "111111111111");
});

/** A Pulumi state backend (S3 protocol) on 127.0.0.1 that accepts connections and never answers: its PULUMI_BACKEND_URL. */
async function silentBackend(t: ExecutionContext): Promise<string> {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    t.teardown(() => {
        for (const s of sockets) s.destroy();
        silent.close();
    });
    const endpoint = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    return `s3://state?endpoint=${encodeURIComponent(endpoint)}&region=eu-west-1&use_path_style=true`;
}

test.serial("a state backend that never answers ends within --outputs-timeout with exit 4", async (t) => {
    const backendUrl = await silentBackend(t);
    const started = Date.now();
    const r = await job(t, ["deploy", DIST, "--outputs-timeout", "5s"], {
        PULUMI_BACKEND_URL: backendUrl,
    });
    t.is(r.code, Exit.NOT_PROVISIONED, r.stderr);
    t.regex(r.stderr, /cannot read stack dev's outputs: the Pulumi CLI did not finish within 5s \(--outputs-timeout\)/);
    t.true(Date.now() - started < 30_000);
    t.is(sts.count("AssumeRole"), 0);
});

/** A wrapper-script attini: it starts a child that ignores SIGTERM, then runs the stand-in. */
function wrapperAttini(t: ExecutionContext): { bin: string; childPid: () => number } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-wrapper-"));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const pidFile = path.join(dir, "child.pid");
    const bin = path.join(dir, "attini");
    fs.writeFileSync(
        bin,
        `#!/bin/sh\nsh -c 'trap "" TERM INT HUP; echo $$ > "${pidFile}"; while :; do sleep 1; done' &\n"${STAND_IN_ATTINI}" "$@"\n`,
        { mode: 0o755 },
    );
    return { bin, childPid: () => Number(fs.readFileSync(pidFile, "utf8").trim()) };
}

/** Whether the process is gone within two seconds. */
const gone = (pid: number) => eventually(() => !alive(pid), 2000);

test.serial(
    "--timeout ends attini's whole process group: a child that ignores SIGTERM does not outlive the driver",
    async (t) => {
        const w = wrapperAttini(t);
        const r = await job(t, ["deploy", DIST, "--timeout", "3s", "--kill-grace", "1s", "--attini-bin", w.bin], {
            ATTINI_STANDIN_SLEEP: "60",
        });
        t.is(r.code, Exit.TIMEOUT, r.stderr);
        const pid = w.childPid();
        t.true(await gone(pid), `attini's child ${pid} is still running`);
    },
);

test.serial("SIGTERM to the driver ends attini's whole process group", async (t) => {
    const w = wrapperAttini(t);
    const j = jobEnv({
        moto,
        backend,
        reports,
        stsEndpoint: sts.endpoint,
        extra: { BRANCH: "dev", ATTINI_STANDIN_SLEEP: "60" },
    });
    t.teardown(j.dispose);
    const r = await runCli(
        ["deploy", DIST, "--kill-grace", "1s", "--attini-bin", w.bin],
        j.env,
        project.dir,
        (child) => {
            void reports.waitFor("start").then(() => child.kill("SIGTERM"));
        },
    );
    t.is(r.code, 143, r.stderr);
    const pid = w.childPid();
    t.true(await gone(pid), `attini's child ${pid} is still running`);
});

test.serial("a child attini leaves behind after exiting normally is stopped too", async (t) => {
    const w = wrapperAttini(t);
    const r = await job(t, ["deploy", DIST, "--kill-grace", "1s", "--attini-bin", w.bin]);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stderr, /attini left processes running in its process group; stopping them/);
    t.true(await gone(w.childPid()));
});

test.serial(
    "a signal before attini starts removes the zip's private copy, and the driver exits 128 + the signal",
    async (t) => {
        // A state backend that never answers holds the deploy in the outputs read, after the copy was made.
        const backendUrl = await silentBackend(t);
        const zip = path.join(project.dir, "signal.zip");
        writeZip(zip, { "attini-config.yaml": "distributionName: platform\n" });
        const j = jobEnv({
            moto,
            backend,
            reports,
            stsEndpoint: sts.endpoint,
            extra: {
                BRANCH: "dev",
                PULUMI_BACKEND_URL: backendUrl,
            },
        });
        t.teardown(j.dispose);
        const copies = () => fs.readdirSync(j.tmp).filter((f) => f.startsWith("attini-gitops-dist-"));
        const r = await runCli(["deploy", "signal.zip", "--outputs-timeout", "60s"], j.env, project.dir, (child) => {
            const poll = setInterval(() => {
                if (copies().length > 0) {
                    clearInterval(poll);
                    child.kill("SIGTERM");
                }
            }, 20);
            child.on("exit", () => clearInterval(poll));
        });
        t.is(r.code, 143, r.stderr);
        t.regex(r.stderr, /received SIGTERM before attini started; stopping/);
        t.deepEqual(copies(), [], "the private copy is gone");
        t.is(sts.count("AssumeRole"), 0);
    },
);
