// The CI driver end to end: the built CLI, the real Pulumi CLI on a file backend, STS on the
// emulator (behind a loopback front that can refuse or throttle), and the stand-in attini.
// The stand-in is used here because these tests assert what only it shows: the exact argv, the
// whole environment attini receives, and the identity its credentials resolve to. The real
// attini runs end to end in test/attini-real.test.ts.

import * as fs from "node:fs";
import * as path from "node:path";
import test, { type ExecutionContext } from "ava";
import { Exit } from "../automation/errors";
import { ledgerTableName } from "../lib/ledger";
import { loadStacks } from "../lib/stackFiles";
import { fileBackend } from "./support/backend";
import { githubTokenService, jobEnv, runCli } from "./support/driver";
import { DynamoFront } from "./support/dynamoFront";
import { LedgerView } from "./support/ledger";
import { startMoto } from "./support/moto";
import { provision, scratchProject } from "./support/project";
import { treeDigest, vouch } from "./support/vouch";
import { backend, moto, project, reports, sts, useWorld } from "./support/world";

useWorld(test);

/** Runs the driver as a CI job would; returns its result and what the stand-in attini saw. */
async function job(
    t: ExecutionContext,
    args: string[],
    extra: Record<string, string | undefined> = {},
    cwd: string = project.dir,
    prepareHome?: (home: string) => void,
) {
    const j = jobEnv({ moto, backend, reports, stsEndpoint: sts.endpoint, extra });
    t.teardown(j.dispose);
    prepareHome?.(j.home);
    const r = await runCli(args, j.env, cwd);
    return { ...r, start: reports.event("start"), job: j };
}

const DIST = "distribution/platform";

/** A stack of the project at `dir`, as its stack files say. */
const stackOf = (dir: string, stack: string) => loadStacks(dir).configs.find((c) => c.stack === stack)!;

for (const [branch, stack, env, account] of [
    ["dev", "dev", "dev", "111111111111"],
    ["stage", "stage", "acc", "222222222222"],
    ["main", "prod", "prod", "333333333333"],
]) {
    test.serial(
        `branch ${branch} deploys to stack ${stack} with \`attini deploy run ${DIST} -e ${env} -f\` as the target account`,
        async (t) => {
            // Prod takes only content that stage deployed (the verified gate): this content was.
            if (stack === "prod") await vouch(moto, stackOf(project.dir, "stage"), treeDigest(project.dir));
            // Source credentials from a named profile, as on many build servers: the profile must not reach attini.
            const r = await job(
                t,
                ["deploy", DIST],
                {
                    BRANCH: branch,
                    AWS_PROFILE: "build-server",
                    AWS_ACCESS_KEY_ID: undefined,
                    AWS_SECRET_ACCESS_KEY: undefined,
                },
                project.dir,
                (home) => {
                    fs.mkdirSync(path.join(home, ".aws"));
                    fs.writeFileSync(
                        path.join(home, ".aws", "credentials"),
                        "[build-server]\naws_access_key_id = AKIAEMULATORSOURCEKEY\naws_secret_access_key = emulator-source-secret-key\n",
                    );
                },
            );
            t.is(r.code, 0, r.stderr);
            const s = r.start!;
            t.deepEqual(s.argv, ["deploy", "run", DIST, "-e", env, "-f"]);
            t.is(s.identity?.account, account, JSON.stringify(s.identity));
            t.regex(
                s.identity!.arn!,
                new RegExp(`:sts::${account}:assumed-role/attini-deploy-role-eu-west-1/deploy-platform$`),
            );
            t.is(s.env!.AWS_REGION, "eu-west-1");
            t.is(s.env!.AWS_DEFAULT_REGION, "eu-west-1");
            t.is(s.env!.ATTINI_DISABLE_CLI_VERSION_CHECK, "true");
            t.is(s.env!.AWS_PROFILE, undefined);
            t.is(s.env!.AWS_SHARED_CREDENTIALS_FILE, "/dev/null", "attini cannot fall back on the profile's keys");
            // No keys in attini's environment: a loopback endpoint serves the role's temporary credentials.
            t.is(s.env!.AWS_ACCESS_KEY_ID, undefined);
            t.is(s.env!.AWS_SECRET_ACCESS_KEY, undefined);
            t.is(s.env!.AWS_SESSION_TOKEN, undefined);
            t.regex(s.env!.AWS_CONTAINER_CREDENTIALS_FULL_URI!, /^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}$/);
            t.true(s.env!.AWS_CONTAINER_AUTHORIZATION_TOKEN!.length >= 43, "a token of 256 bits");
            // The endpoint served only while attini ran: its port is closed now.
            await t.throwsAsync(
                fetch(s.env!.AWS_CONTAINER_CREDENTIALS_FULL_URI!, {
                    headers: { authorization: s.env!.AWS_CONTAINER_AUTHORIZATION_TOKEN! },
                }),
            );
            t.not(s.credentials!.accessKeyId, "AKIAEMULATORSOURCEKEY", "no long-lived keys");
            t.truthy(s.credentials!.sessionToken, "temporary credentials carry a session token");
            t.is(s.env!.PULUMI_CONFIG_PASSPHRASE, undefined, "the backend passphrase does not reach attini");
            t.regex(
                r.stderr,
                new RegExp(
                    `branch ${branch} \\(from BRANCH\\) → stack ${stack} → Attini environment ${env} in account ${account}`,
                ),
            );
            t.regex(r.stdout, /stand-in attini: deploy run/);

            // The upstream's history reader (for the verified gate) comes first, then the deploy role.
            const assume = sts.calls.find(
                (c) => c.action === "AssumeRole" && c.params.get("RoleArn")?.includes("attini-deploy-role"),
            )!;
            t.is(assume.params.get("RoleArn"), `arn:aws:iam::${account}:role/attini-deploy-role-eu-west-1`);
            t.is(assume.params.get("RoleSessionName"), "deploy-platform");
            t.is(assume.params.get("DurationSeconds"), "3600");
            t.is(assume.params.get("SourceIdentity"), "attini-gitops");
            const tags = Object.fromEntries(
                [1, 2, 3, 4].map((i) => [
                    assume.params.get(`Tags.member.${i}.Key`),
                    assume.params.get(`Tags.member.${i}.Value`),
                ]),
            );
            t.like(tags, {
                "attini-gitops:branch": branch,
                "attini-gitops:environment": env,
                "attini-gitops:stack": stack,
            });
        },
    );
}

test.serial(
    "arguments after -- reach attini; --json prints one summary and keeps attini's output off stdout; no stack passphrase needed",
    async (t) => {
        // The outputs hold no secret, so CI reads them without the stack's secrets passphrase.
        const r = await job(
            t,
            ["deploy", DIST, "--branch", "dev", "--json", "--", "--json", "--config-file", "x y.json"],
            { PULUMI_CONFIG_PASSPHRASE: undefined },
        );
        t.is(r.code, 0, r.stderr);
        t.deepEqual(r.start!.argv, ["deploy", "run", DIST, "-e", "dev", "-f", "--json", "--config-file", "x y.json"]);
        const lines = r.stdout.trim().split("\n");
        t.is(lines.length, 1, r.stdout);
        const summary = JSON.parse(lines[0]);
        t.like(summary, {
            result: "deployed",
            exitCode: 0,
            branch: "dev",
            branchSource: "--branch",
            stack: "dev",
            attiniEnvironment: "dev",
            accountId: "111111111111",
            roleSource: "outputs",
        });
        t.deepEqual(summary.command, [
            "attini",
            "deploy",
            "run",
            DIST,
            "-e",
            "dev",
            "-f",
            "--json",
            "--config-file",
            "x y.json",
        ]);
        t.regex(r.stderr, /stand-in attini: deploy run/);
    },
);

test.serial(
    "an unmapped branch exits 3 with the known mapping, or 0 with --allow-unmapped; attini never runs",
    async (t) => {
        const r = await job(t, ["deploy", DIST, "--branch", "feature/login"]);
        t.is(r.code, Exit.UNMAPPED_BRANCH);
        t.regex(r.stderr, /branch "feature\/login" maps to no environment \(known: dev→dev, stage→stage, main→prod\)/);
        const ok = await job(t, ["deploy", DIST, "--branch", "feature/login", "--allow-unmapped"]);
        t.is(ok.code, 0);
        t.regex(ok.stderr, /nothing to deploy/);
        t.is(reports.reports.length, 0);
        t.is(sts.calls.length, 0);
    },
);

test.serial(
    "attini gets no stdin: with the driver's stdin an open pipe (a child driver's is), attini's is /dev/null",
    async (t) => {
        const j = jobEnv({ moto, backend, reports, stsEndpoint: sts.endpoint, extra: { BRANCH: "dev" } });
        t.teardown(j.dispose);
        const r = await runCli(["deploy", DIST], j.env, project.dir, undefined, "pipe");
        t.is(r.code, 0, r.stderr);
        t.is(reports.event("start")?.stdin, "character device");
    },
);

test.serial("a stack with no outputs exits 4 and says which `pulumi up` to run, in which account", async (t) => {
    const empty = fileBackend();
    t.teardown(() => empty.dispose());
    const j = jobEnv({ moto, backend: empty, reports, stsEndpoint: sts.endpoint, extra: { BRANCH: "stage" } });
    t.teardown(j.dispose);
    const r = await runCli(["deploy", DIST], j.env, project.dir);
    t.is(r.code, Exit.NOT_PROVISIONED, r.stderr);
    t.regex(
        r.stderr,
        /stack stage is not provisioned \(no such stack on the current backend\): run `pulumi up -s stage` in account 222222222222/,
    );
    t.is(sts.calls.length, 0);
});

test.serial("STS refusing AssumeRole exits 5 at once with what to check; attini never runs", async (t) => {
    sts.respond = (c) =>
        c.action === "AssumeRole"
            ? { status: 403, code: "AccessDenied", message: "User is not authorized to perform: sts:AssumeRole" }
            : undefined;
    const r = await job(t, ["deploy", DIST, "--branch", "dev"]);
    t.is(r.code, Exit.CREDENTIALS);
    t.regex(
        r.stderr,
        /STS denied AssumeRole on arn:aws:iam::111111111111:role\/attini-deploy-role-eu-west-1: the caller is not trusted by the role/,
    );
    t.regex(r.stderr, /buildServerPolicy/);
    t.is(sts.count("AssumeRole"), 1, "permanent errors are not retried");
    t.is(r.start, undefined);
});

test.serial("throttling is retried with backoff, then the deployment goes ahead", async (t) => {
    sts.respond = (c, n) =>
        c.action === "AssumeRole" && n <= 2 ? { status: 400, code: "Throttling", message: "Rate exceeded" } : undefined;
    const r = await job(t, ["deploy", DIST, "--branch", "dev"]);
    t.is(r.code, 0, r.stderr);
    t.is(sts.count("AssumeRole"), 3);
    t.regex(r.stderr, /AssumeRole attempt 1 failed \(Throttling\); retrying in \d+ ms/);
    t.regex(r.stderr, /AssumeRole attempt 2 failed \(Throttling\)/);
});

test.serial("throttling that never ends gives up after 4 attempts with exit 5", async (t) => {
    sts.respond = (c) =>
        c.action === "AssumeRole" ? { status: 503, code: "ServiceUnavailable", message: "try later" } : undefined;
    const r = await job(t, ["deploy", DIST, "--branch", "dev"]);
    t.is(r.code, Exit.CREDENTIALS);
    t.is(sts.count("AssumeRole"), 4);
});

test.serial("a session longer than role chaining allows is explained", async (t) => {
    sts.respond = (c) =>
        c.action === "AssumeRole"
            ? {
                  status: 400,
                  code: "ValidationError",
                  message:
                      "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
              }
            : undefined;
    const prodLong = scratchProject({ "Pulumi.dev.yaml": (s) => `${s}  attini-gitops:maxSessionDuration: 7200\n` });
    t.teardown(prodLong.dispose);
    const b = fileBackend();
    t.teardown(() => b.dispose());
    await provision(prodLong, b, ["dev"], {}, moto);
    const j = jobEnv({ moto, backend: b, reports, stsEndpoint: sts.endpoint });
    t.teardown(j.dispose);
    const r = await runCli(["deploy", DIST, "--branch", "dev", "--duration", "2h"], j.env, prodLong.dir);
    t.is(r.code, Exit.CREDENTIALS, r.stderr);
    t.regex(r.stderr, /AWS caps sessions obtained by role chaining at 1 hour\. Use --duration 3600 or less/);
});

test.serial("credentials for the wrong account: exit 6 before attini runs", async (t) => {
    // This emulator answers GetCallerIdentity for every session with account 444444444444.
    const other = await startMoto({ accountId: "444444444444" });
    t.teardown(() => other.stop());
    const j = jobEnv({ moto: other, backend, reports, extra: { BRANCH: "dev" } });
    t.teardown(j.dispose);
    const r = await runCli(["deploy", DIST], j.env, project.dir);
    t.is(r.code, Exit.WRONG_ACCOUNT, r.stderr);
    t.regex(
        r.stderr,
        /stack 'dev' belongs to account 111111111111, but the assumed deploy role's credentials \(arn:aws:iam::111111111111:role\/attini-deploy-role-eu-west-1\) are for account 444444444444; nothing was changed\. Attini was not run/,
    );
    t.is(reports.event("start"), undefined);
});

test.serial("attini's own failure exit code is passed through", async (t) => {
    const r = await job(t, ["deploy", DIST, "--branch", "dev"], { ATTINI_STANDIN_EXIT: "1" });
    t.is(r.code, 1);
    t.regex(r.stderr, /attini exited with 1/);
    t.is(reports.event("exit")?.code, 1);
});

test.serial("--timeout stops a follow that hangs and exits 124", async (t) => {
    const r = await job(t, ["deploy", DIST, "--branch", "dev", "--timeout", "2s"], { ATTINI_STANDIN_SLEEP: "60" });
    t.is(r.code, Exit.TIMEOUT, r.stderr);
    t.regex(r.stderr, /attini did not finish within --timeout 2s/);
    t.is((await reports.waitFor("signal")).signal, "SIGTERM");
});

for (const [sig, code, forwarded] of [
    ["SIGTERM", 143, "SIGTERM"],
    ["SIGINT", 130, "SIGINT"],
    // A closed terminal or a CI agent that goes away: handled like SIGTERM.
    ["SIGHUP", 129, "SIGTERM"],
] as const) {
    test.serial(
        `${sig} to the driver is forwarded to attini${sig === "SIGHUP" ? " as SIGTERM" : ""}; the driver exits ${code}`,
        async (t) => {
            const j = jobEnv({
                moto,
                backend,
                reports,
                stsEndpoint: sts.endpoint,
                extra: { BRANCH: "dev", ATTINI_STANDIN_SLEEP: "60" },
            });
            t.teardown(j.dispose);
            const r = await runCli(["deploy", DIST], j.env, project.dir, (child) => {
                void reports.waitFor("start").then(() => child.kill(sig));
            });
            t.is(r.code, code, r.stderr);
            t.regex(r.stderr, new RegExp(`received ${sig}; forwarding ${forwarded} to attini's process group`));
            t.is((await reports.waitFor("signal")).signal, forwarded);
        },
    );
}

/**
 * A deploy job on dev whose DynamoDB calls pass a front: the first call `holds` picks waits until
 * `release`; `seen` resolves when it arrives.
 */
async function heldAt(
    t: ExecutionContext,
    holds: (action: string, body: string) => boolean,
    slowMs: (action: string) => number = () => 0,
) {
    const front = await DynamoFront.start(moto);
    t.teardown(() => front.close());
    let release!: () => void;
    const released = new Promise<void>((r) => {
        release = r;
    });
    let arrived!: () => void;
    const seen = new Promise<void>((r) => {
        arrived = r;
    });
    let held = false;
    front.hold = (action, body) => {
        if (held || !holds(action, body)) {
            const ms = slowMs(action);
            return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : undefined;
        }
        held = true;
        arrived();
        return released;
    };
    const j = jobEnv({
        moto,
        backend,
        reports,
        stsEndpoint: sts.endpoint,
        extra: { BRANCH: "dev", AWS_ENDPOINT_URL_DYNAMODB: front.endpoint },
    });
    t.teardown(j.dispose);
    return { env: j.env, seen, release, front };
}

test.serial(
    "a SIGTERM after attini has ended waits for the ledger's record: the run is completed as deployed, and the driver exits 0",
    async (t) => {
        // The record's completion (the transaction that sets the run's result, once attini has
        // ended) waits until the signal is sent.
        const {
            env,
            seen: completingSeen,
            release,
        } = await heldAt(t, (action, body) => action === "TransactWriteItems" && /#result = :result/.test(body));
        const r = await runCli(["deploy", DIST], env, project.dir, (child) => {
            void completingSeen.then(async () => {
                child.kill("SIGTERM");
                await new Promise((wait) => setTimeout(wait, 500));
                release();
            });
        });
        t.is(r.code, 0, r.stderr);
        t.regex(r.stderr, /received SIGTERM: the ledger's record is completed before the driver exits/);
        const ledger = new LedgerView(moto, "111111111111", ledgerTableName(stackOf(project.dir, "dev")));
        t.is((await ledger.runs("platform")).at(-1)?.result, "deployed");
    },
);

test.serial(
    "signals while the run's record is written: the driver completes the record, however slowly, then releases the lease and exits 143; a second signal changes nothing",
    async (t) => {
        // The run's record (the first transaction, after the lease's take) waits while the signals
        // are sent; its completion (the second) then takes 3 s, longer than any exit timer of the CLI.
        let transactions = 0;
        const held = await heldAt(
            t,
            (action) => action === "TransactWriteItems" && ++transactions === 1,
            (action) => (action === "TransactWriteItems" && transactions++ === 1 ? 3000 : 0),
        );
        const pause = (ms: number) => new Promise((wait) => setTimeout(wait, ms));
        const r = await runCli(["deploy", DIST], held.env, project.dir, (child) => {
            void held.seen.then(async () => {
                child.kill("SIGTERM");
                await pause(300);
                child.kill("SIGTERM");
                await pause(300);
                held.release();
            });
        });
        t.is(r.code, 143, r.stderr);
        t.regex(r.stderr, /received SIGTERM while stopping; the cleanup goes on/);
        t.notRegex(r.stderr, /running: attini/, "attini never ran");
        t.notRegex(r.stderr, /internal error|stopped while claiming/, "the stop is not reported as an error");
        const ledger = new LedgerView(moto, "111111111111", ledgerTableName(stackOf(project.dir, "dev")));
        t.is((await ledger.runs("platform")).at(-1)?.result, "interrupted");
        // The run was completed as the lease was let go, in one transaction: no deploy could see it
        // `started` unheld. Nothing else let the lease go.
        const writes = held.front.bodies
            .map((b, i) => ({ call: held.front.calls[i], b }))
            .filter((w) => w.call !== "Query" && w.call !== "GetItem");
        t.deepEqual(
            writes.map((w) => w.call),
            ["UpdateItem", "TransactWriteItems", "TransactWriteItems"],
            "the take, the record, the completion",
        );
        const completion = writes[2].b;
        t.regex(completion, /"S":"interrupted"/);
        t.regex(completion, /expiresAt = :zero/);
    },
);

test.serial(
    "--stack picks only among the build's own branch's stacks: another branch's stack is a usage error",
    async (t) => {
        const r = await job(t, ["deploy", DIST, "--branch", "dev", "--stack", "stage"]);
        t.is(r.code, Exit.USAGE, r.stderr);
        t.regex(r.stderr, /--stack stage: that stack deploys branch stage, and this build is for branch "dev"/);
        t.notRegex(r.stderr, /running: attini/, "attini never ran");
        const own = await job(t, ["deploy", DIST, "--branch", "dev", "--stack", "dev"]);
        t.is(own.code, 0, own.stderr);
        t.is(own.start!.identity?.account, "111111111111");
        const unknown = await job(t, ["deploy", DIST, "--branch", "dev", "--stack", "qa"]);
        t.is(unknown.code, Exit.USAGE);
        t.regex(unknown.stderr, /--stack qa: no such stack \(known: dev, stage, prod\)/);
    },
);

test.serial(
    "preflight: a missing distribution path, a missing attini, or no source credentials stop it before any STS call",
    async (t) => {
        const missing = await job(t, ["deploy", "no/such/dist", "--branch", "dev"]);
        t.is(missing.code, Exit.USAGE);
        t.regex(missing.stderr, /distribution path no\/such\/dist does not exist/);

        const noAttini = await job(t, ["deploy", DIST, "--branch", "dev", "--attini-bin", "/nonexistent/attini"]);
        t.is(noAttini.code, Exit.USAGE);
        t.regex(noAttini.stderr, /attini executable \/nonexistent\/attini does not exist or is not executable/);

        const onPath = await job(t, ["deploy", DIST, "--branch", "dev"], {
            ATTINI_BIN: undefined,
            PATH: `${path.dirname(process.execPath)}:${path.dirname(require.resolve("../automation/errors"))}`,
        });
        t.is(onPath.code, Exit.USAGE, onPath.stderr);
        t.regex(onPath.stderr, /attini is not on PATH/);

        const noCreds = await job(t, ["deploy", DIST, "--branch", "dev"], {
            AWS_ACCESS_KEY_ID: undefined,
            AWS_SECRET_ACCESS_KEY: undefined,
        });
        t.is(noCreds.code, Exit.CREDENTIALS, noCreds.stderr);
        t.regex(noCreds.stderr, /no source AWS credentials for the build server/);
        t.is(sts.calls.length, 0);
    },
);

test.serial(
    "a stack that requires an ExternalId: refused without one, sent with AssumeRole when given, never printed",
    async (t) => {
        const p = scratchProject();
        t.teardown(p.dispose);
        const b = fileBackend();
        t.teardown(() => b.dispose());
        await provision(p, b, ["dev"], { externalIdRequired: true }, moto);
        // As `pulumi config set --secret externalId ...` leaves the stack file (read offline: only that it is set).
        const stackFile = path.join(p.dir, "Pulumi.dev.yaml");
        fs.writeFileSync(
            stackFile,
            fs
                .readFileSync(stackFile, "utf8")
                .replace("\nconfig:\n", "\nconfig:\n  attini-gitops:externalId:\n    secure: v1:c2VjcmV0:c2VjcmV0\n"),
        );
        const j = jobEnv({ moto, backend: b, reports, stsEndpoint: sts.endpoint, extra: { BRANCH: "dev" } });
        t.teardown(j.dispose);
        const without = await runCli(["deploy", DIST], j.env, p.dir);
        t.is(without.code, Exit.USAGE);
        t.regex(
            without.stderr,
            /requires an ExternalId for its deploy role: pass --external-id or set ATTINI_GITOPS_EXTERNAL_ID/,
        );
        t.is(sts.calls.length, 0);

        const withId = await runCli(
            ["deploy", DIST, "--json"],
            { ...j.env, ATTINI_GITOPS_EXTERNAL_ID: "ext-id-from-ci-secret" },
            p.dir,
        );
        t.is(withId.code, 0, withId.stderr);
        t.is(sts.calls.find((c) => c.action === "AssumeRole")!.params.get("ExternalId"), "ext-id-from-ci-secret");
        t.false(`${withId.stdout}${withId.stderr}`.includes("ext-id-from-ci-secret"));
        t.is(reports.event("start")!.env!.ATTINI_GITOPS_EXTERNAL_ID, undefined, "attini does not get the ExternalId");
    },
);

test.serial(
    "--dry-run prints the exact command without calling STS or attini, and works with no backend",
    async (t) => {
        const r = await job(t, ["deploy", DIST, "--branch", "main", "--dry-run", "--", "--json"]);
        t.is(r.code, 0, r.stderr);
        t.regex(
            r.stderr,
            /dry run: would assume arn:aws:iam::333333333333:role\/attini-deploy-role-eu-west-1 as session deploy-platform, then run: attini deploy run distribution\/platform -e prod -f --json/,
        );
        t.is(sts.calls.length, 0);
        t.is(reports.reports.length, 0);

        const offline = await job(t, ["deploy", DIST, "--branch", "main", "--dry-run", "--json"], {
            PULUMI_BACKEND_URL: "file:///nonexistent/attini-gitops-state",
        });
        t.is(offline.code, 0, offline.stderr);
        const s = JSON.parse(offline.stdout);
        t.is(s.result, "dry-run");
        t.is(s.roleArn, "arn:aws:iam::333333333333:role/attini-deploy-role-eu-west-1");
        t.regex(s.roleSource, /^config \(/);
        t.regex(offline.stderr, /derived from Pulumi\.prod\.yaml/);
    },
);

for (const mode of ["endpoint", "static"] as const) {
    test.serial(
        `no credential string reaches stdout, stderr, or any file under HOME, TMP, the project or the Pulumi state (${mode} credentials)`,
        async (t) => {
            const r = await job(t, [
                "deploy",
                DIST,
                "--branch",
                "stage",
                "--json",
                ...(mode === "static" ? ["--static-credentials"] : []),
            ]);
            t.is(r.code, 0, r.stderr);
            t.like(JSON.parse(r.stdout).credentials, { mode });
            const c = r.start!.credentials!;
            const e = r.start!.env!;
            if (mode === "static")
                t.is(
                    e.AWS_SECRET_ACCESS_KEY,
                    c.secretAccessKey,
                    "--static-credentials hands attini the keys as variables",
                );
            const secrets = [
                c.accessKeyId,
                c.secretAccessKey,
                c.sessionToken,
                "emulator-source-secret-key",
                backend.env.PULUMI_CONFIG_PASSPHRASE,
                ...(mode === "endpoint" ? [e.AWS_CONTAINER_AUTHORIZATION_TOKEN] : []),
            ];
            t.true(secrets.every((s) => typeof s === "string" && s.length >= 8));
            const haystacks: [string, string][] = [
                ["stdout", r.stdout],
                ["stderr", r.stderr],
            ];
            const walk = (dir: string) => {
                for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
                    const p = path.join(dir, ent.name);
                    if (ent.isDirectory()) walk(p);
                    else if (ent.isFile()) haystacks.push([p, fs.readFileSync(p, "latin1")]);
                }
            };
            walk(r.job.home);
            walk(r.job.tmp);
            walk(project.dir);
            walk(backend.url.replace(/^file:\/\//, "")); // the Pulumi state and PULUMI_HOME
            const scanned = haystacks.map(([w]) => w);
            t.true(scanned.includes(path.join(project.dir, "Pulumi.stage.yaml")), "the scan read the project's files");
            t.true(
                scanned.some((w) => w.includes(".pulumi")),
                "the scan read the Pulumi state",
            );
            for (const [where, text] of haystacks)
                for (const s of secrets) t.false(text.includes(s!), `a credential reached ${where}`);
        },
    );
}

test.serial(
    "GitHub Actions OIDC: the job's token is exchanged for the prod role on main; no source credentials involved",
    async (t) => {
        // Prod's jobs must be able to read stage's history (validate checks this). Here stage is not
        // promoted from dev, so dev can stay without OIDC.
        const p = scratchProject({
            "Pulumi.prod.yaml": (s) => `${s}  attini-gitops:githubRepository: acme/platform\n`,
            "Pulumi.stage.yaml": (s) =>
                `${s.replace(/^ *attini-gitops:promotedFrom: dev\n/m, "")}  attini-gitops:githubRepository: acme/platform\n  attini-gitops:historyReaderBranches: [main]\n`,
        });
        t.teardown(p.dispose);
        const b = fileBackend();
        t.teardown(() => b.dispose());
        await provision(p, b, ["prod", "stage"], {}, moto);
        const github = await githubTokenService("main");
        t.teardown(github.close);
        const gha = github.env;
        const j = jobEnv({ moto, backend: b, reports, stsEndpoint: sts.endpoint, extra: gha });
        t.teardown(j.dispose);
        await vouch(moto, stackOf(p.dir, "stage"), treeDigest(p.dir));

        const r = await runCli(["deploy", DIST, "--github-oidc"], j.env, p.dir);
        t.is(r.code, 0, r.stderr);
        // One fresh token for stage's reader (the verified gate), one for prod's deploy role.
        t.deepEqual(github.seen, [
            "/token audience=sts.amazonaws.com auth=bearer runtime-request-token",
            "/token audience=sts.amazonaws.com auth=bearer runtime-request-token",
        ]);
        const web = sts.calls.filter((c) => c.action === "AssumeRoleWithWebIdentity");
        t.is(web[0].params.get("RoleArn"), "arn:aws:iam::222222222222:role/attini-history-reader-eu-west-1");
        const call = web[1];
        t.is(call.params.get("RoleArn"), "arn:aws:iam::333333333333:role/attini-deploy-role-eu-west-1");
        t.is(call.params.get("WebIdentityToken"), "eyJhbGciOiJSUzI1NiJ9.github-oidc-token-for-main.signature");
        t.is(sts.count("AssumeRole"), 0);
        const start = reports.event("start")!;
        t.is(start.identity?.account, "333333333333");
        t.deepEqual(start.argv!.slice(3, 5), ["-e", "prod"]);
        t.is(start.env!.ACTIONS_ID_TOKEN_REQUEST_TOKEN, undefined, "attini cannot mint more tokens");
        t.false(`${r.stdout}${r.stderr}`.includes("github-oidc-token-for-main"));
        t.false(`${r.stdout}${r.stderr}`.includes("runtime-request-token"));

        reports.reset();
        const noPermission = await runCli(
            ["deploy", DIST, "--github-oidc"],
            { ...j.env, ACTIONS_ID_TOKEN_REQUEST_URL: undefined },
            p.dir,
        );
        t.is(noPermission.code, Exit.USAGE);
        t.regex(noPermission.stderr, /permissions: id-token: write/);
        const notTrusted = await runCli(["deploy", DIST, "--github-oidc", "--branch", "dev"], j.env, p.dir);
        t.is(notTrusted.code, Exit.USAGE);
        t.regex(
            notTrusted.stderr,
            /stack dev does not trust GitHub Actions OIDC\. Set githubRepository in Pulumi\.dev\.yaml/,
        );
        t.is(reports.reports.length, 0);
    },
);

test.serial(
    "a freeze window in force (pinned by pulumi up) refuses the deploy with exit 11 before STS; plan and status show it",
    async (t) => {
        // Windows relative to the real clock, in UTC wall times: one in force (yesterday to
        // tomorrow), one that starts within 24 hours (in two hours, for one).
        const wall = (ms: number) => new Date(ms).toISOString().slice(0, 16);
        const now = Date.now();
        const windows = `  attini-gitops:freezeWindows:
    - name: incident-freeze
      start: "${wall(now - 86_400_000)}"
      end: "${wall(now + 86_400_000)}"
      timeZone: UTC
    - name: soon
      start: "${wall(now + 2 * 3_600_000)}"
      end: "${wall(now + 3 * 3_600_000)}"
      timeZone: UTC
`;
        const p = scratchProject({ "Pulumi.dev.yaml": (s) => s + windows });
        t.teardown(p.dispose);
        const b = fileBackend();
        t.teardown(() => b.dispose());
        await provision(p, b, ["dev"], {}, moto);
        const j = jobEnv({ moto, backend: b, reports, stsEndpoint: sts.endpoint, extra: { BRANCH: "dev" } });
        t.teardown(j.dispose);

        const r = await runCli(["deploy", DIST, "--json"], j.env, p.dir);
        t.is(r.code, Exit.FROZEN, r.stderr);
        t.regex(
            r.stderr,
            /stack dev is frozen by incident-freeze \(UTC, until .* UTC \(.* UTC\)\); deploying may next happen at/,
        );
        const error = JSON.parse(r.stdout);
        t.like(error, { result: "error", exitCode: Exit.FROZEN, freeze: { result: "frozen", windowsFrom: "outputs" } });
        t.deepEqual(
            error.freeze.inForce.map((w: { name: string }) => w.name),
            ["incident-freeze"],
        );
        t.is(sts.calls.length, 0, "nothing assumed");
        t.is(reports.event("start"), undefined, "attini never ran");

        const plan = JSON.parse((await runCli(["plan", "--json", "--branch", "dev"], j.env, p.dir)).stdout);
        t.deepEqual(
            plan[0].freeze.inForce.map((w: { name: string }) => w.name),
            ["incident-freeze"],
        );
        t.deepEqual(
            plan[0].freeze.upcoming.map((w: { name: string }) => w.name),
            ["soon"],
        );
        const status = await runCli(["status", "--json"], j.env, p.dir);
        const dev = JSON.parse(status.stdout).environments.find((e: { stack: string }) => e.stack === "dev");
        t.deepEqual(
            dev.freeze.inForce.map((w: { name: string }) => w.name),
            ["incident-freeze"],
            status.stderr,
        );
        t.deepEqual(
            dev.freeze.upcoming.map((w: { name: string }) => w.name),
            ["soon"],
        );
        const text = await runCli(["status"], j.env, p.dir);
        t.regex(text.stdout, /frozen: incident-freeze from .* UTC until .* UTC/);
        t.regex(text.stdout, /freeze window starting within 24 h: soon/);
    },
);
