// The driver with the real Attini CLI (built from source by scripts/ensure-attini.sh), end to end:
// the real Pulumi CLI, STS on the emulator, and attini's own calls (STS, DynamoDB, S3) reaching the
// same emulator through the test-only interceptor. Attini's footprint (tables, bucket,
// environments) is in each environment account, and a stand-in for Attini's backend records each
// deployment once its distribution has landed, so that attini's follow ends.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import { Exit } from "../automation/errors";
import { AttiniAccount, AttiniBackend, packageDistribution, realAttini } from "./support/attini";
import { createLedgerTable } from "./support/ledger";
import { startMoto } from "./support/moto";
import { deployReal } from "./support/realDeploy";
import { motoServerBin } from "./support/tools";
import { moto, project, sts, useWorld } from "./support/world";

const ENVIRONMENTS = [
    // branch, stack, Attini environment, account, environment type
    ["dev", "dev", "dev", "111111111111", "test"],
    ["stage", "stage", "acc", "222222222222", "test"],
    ["main", "prod", "prod", "333333333333", "production"],
] as const;

let accounts: AttiniAccount[] = [];
let attiniBackend: AttiniBackend;

useWorld(test, {
    ready: async () => {
        realAttini();
        accounts = await Promise.all(ENVIRONMENTS.map(([, , , account]) => AttiniAccount.connect(moto, account)));
        for (const [i, [, , env, , type]] of ENVIRONMENTS.entries()) {
            await accounts[i].setup();
            await accounts[i].createEnvironment(env, type);
        }
        attiniBackend = new AttiniBackend(accounts);
        await attiniBackend.start();
        // A packaged distribution (`attini distribution package`), outside git: built once, promoted.
        packageDistribution(project.distribution, path.join(project.dir, "platform.zip"));
    },
});
test.after.always(() => {
    attiniBackend?.stop();
    for (const a of accounts) a.close();
});
test.beforeEach(() => attiniBackend.outcome.clear());

/** A marker in attini's environment, to find its processes in /proc afterwards. */
function javaWithMarker(marker: string): number[] {
    const pids: number[] = [];
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        try {
            if (fs.readFileSync(`/proc/${pid}/environ`, "utf8").includes(`ATTINI_GITOPS_TEST_MARKER=${marker}`))
                pids.push(Number(pid));
        } catch {
            /* gone, or not ours */
        }
    }
    return pids;
}

async function uploadsByAccount(): Promise<Record<string, string[]>> {
    return Object.fromEntries(await Promise.all(accounts.map(async (a) => [a.account, await a.uploads()] as const)));
}

for (const [branch, stack, env, account] of ENVIRONMENTS) {
    for (const kind of ["folder", "zip"] as const) {
        test.serial(
            `real attini: a push to ${branch} deploys the ${kind} to Attini environment ${env} in account ${account} only, and the follow ends with exit 0`,
            async (t) => {
                const dist = kind === "folder" ? "distribution/platform" : "platform.zip";
                // Prod takes only what stage deployed (its ledger, and Attini's record there).
                if (stack === "prod") t.is((await deployReal(t, [dist], { BRANCH: "stage" })).code, 0);
                const before = await uploadsByAccount();
                const r = await deployReal(t, [dist, "--json"], { BRANCH: branch });
                t.is(r.code, 0, r.stderr);
                const summary = JSON.parse(r.stdout);
                t.like(summary, { result: "deployed", stack, attiniEnvironment: env, accountId: account });
                // The follow ended because the deployment was recorded, not because anything gave up.
                t.regex(r.stderr, /Published distribution/);
                t.regex(r.stderr, new RegExp(`Environment: ${env}\\b`));
                const after = await uploadsByAccount();
                for (const a of accounts) {
                    const added = after[a.account].filter((u) => !before[a.account].includes(u));
                    if (a.account === account) {
                        t.is(added.length, 1, `one upload in ${a.account}`);
                        t.true(added[0].startsWith(`${env}/platform/platform.zip#`), added[0]);
                    } else {
                        t.deepEqual(added, [], `nothing landed in account ${a.account}`);
                    }
                }
                // The prod environment (type production) asks for confirmation without -f; there is no TTY here.
                if (stack === "prod") t.notRegex(r.stderr, /Are you sure|TTY|Console/i);
                // A CI log gets no colour codes.
                t.false((r.stdout + r.stderr).includes("\x1b["), "no ANSI escape codes");
                if (kind === "folder") {
                    t.true(
                        fs.existsSync(path.join(project.distribution, "attini_dist", "platform.zip")),
                        "attini leaves its package in <folder>/attini_dist/",
                    );
                }
            },
        );
    }
}

test.serial(
    "real attini with --json: stdout is the driver's one JSON summary; attini's JSON lines go to stderr",
    async (t) => {
        const r = await deployReal(t, ["platform.zip", "--json", "--", "--json"], { BRANCH: "dev" });
        t.is(r.code, 0, r.stderr);
        t.is(r.stdout.trim().split("\n").length, 1, r.stdout);
        const summary = JSON.parse(r.stdout);
        t.is(summary.result, "deployed");
        // attini deploys the private copy of the checked bytes (see docs/driver.md, the preflight).
        t.deepEqual(summary.command.slice(0, 3), ["attini", "deploy", "run"]);
        t.regex(summary.command[3], /\/attini-gitops-dist-[^/]+\/platform\.zip$/);
        t.deepEqual(summary.command.slice(4), ["-e", "dev", "-f", "--json"]);
        const attiniLines = r.stderr.split("\n").filter((l) => l.startsWith("{"));
        t.true(attiniLines.length >= 2, r.stderr);
        for (const l of attiniLines) t.truthy(JSON.parse(l).type, l);
    },
);

test.serial("a deployment Attini records as failed: attini's exit 1 and its message are passed through", async (t) => {
    attiniBackend.outcome.set("222222222222", {
        result: "failed",
        code: "ValidationError",
        message: "Template format error: unresolved resource dependencies",
    });
    const r = await deployReal(t, ["platform.zip"], { BRANCH: "stage" });
    t.is(r.code, 1, r.stderr);
    t.regex(r.stdout + r.stderr, /Template format error: unresolved resource dependencies/);
    t.regex(r.stderr, /attini exited with 1/);
});

test.serial(
    "a follow that never ends is stopped by --timeout with exit 124, and no java process is left",
    async (t) => {
        attiniBackend.outcome.set("111111111111", { result: "never" });
        const r = await deployReal(t, ["platform.zip", "--timeout", "8s", "--kill-grace", "2s"], { BRANCH: "dev" });
        t.is(r.code, Exit.TIMEOUT, r.stderr);
        t.regex(r.stdout, /Publishing distribution/);
        t.regex(r.stderr, /attini did not finish within --timeout 8s/);
        t.deepEqual(javaWithMarker(r.marker), [], "attini's JVM is gone");
    },
);

test.serial("an account without Attini, or without the environment: attini's exit 1 and its own message", async (t) => {
    const bare = await startMoto();
    t.teardown(() => bare.stop());
    // dev's account has Attini and an environment qa, but no dev; stage's account has no Attini at all.
    const dev = await AttiniAccount.connect(bare, "111111111111");
    t.teardown(() => dev.close());
    await dev.setup();
    await dev.createEnvironment("qa", "test");
    // pulumi up made each stack's ledger there; Attini's setup is what is missing.
    await createLedgerTable(bare, "111111111111", "eu-west-1", "attini-gitops-ledger-dev");
    await createLedgerTable(bare, "222222222222", "eu-west-1", "attini-gitops-ledger-acc");
    const noEnv = await deployReal(t, ["platform.zip"], { BRANCH: "dev" }, { on: bare });
    t.is(noEnv.code, 1, noEnv.stderr);
    t.regex(noEnv.stdout + noEnv.stderr, /Current account and region does not contain environment = dev/);
    const noAttini = await deployReal(t, ["platform.zip"], { BRANCH: "stage" }, { on: bare });
    t.is(noAttini.code, 1, noAttini.stderr);
    t.regex(noAttini.stdout + noAttini.stderr, /The Attini Framework is not installed in the given account or region/);
    t.deepEqual(await dev.keys(), [], "nothing was uploaded");
});

test.serial(
    "a deployment that outlives its credentials: the endpoint refreshes them, and every set is checked to be in the stack's account",
    async (t) => {
        // Served for 20 s each (test only), the deployment takes 25 s: attini needs more than one set.
        attiniBackend.outcome.set("111111111111", { result: "succeeded", afterMs: 25_000 });
        const r = await deployReal(t, ["platform.zip", "--json", "--timeout", "2m"], {
            BRANCH: "dev",
            ATTINI_GITOPS_TEST_CREDENTIAL_LIFETIME: "20",
        });
        t.is(r.code, 0, r.stderr);
        const summary = JSON.parse(r.stdout);
        t.is(summary.credentials.mode, "endpoint");
        t.true(summary.credentials.refreshes >= 1, JSON.stringify(summary.credentials));
        t.true(summary.credentials.setsServed >= 2, JSON.stringify(summary.credentials));
        // Each set was assumed with the same session name and checked with GetCallerIdentity before it was served.
        const assumed = sts.calls.filter((c) => c.action === "AssumeRole");
        t.true(assumed.length >= 2);
        t.deepEqual([...new Set(assumed.map((c) => c.params.get("RoleSessionName")))], ["deploy-platform"]);
        t.true(sts.count("GetCallerIdentity") >= assumed.length);
        t.regex(r.stderr, /refreshed the deploy role's credentials \(refresh 1;/);
        t.true((await accounts[0].keys()).includes("dev/platform/platform.zip"));
    },
);

test.serial("a refresh that fails mid-deploy: the cause is logged, attini fails, and the driver exits 5", async (t) => {
    attiniBackend.outcome.set("111111111111", { result: "never" });
    // The first AssumeRole succeeds; every later one (the refreshes) is denied.
    sts.respond = (c, n) =>
        c.action === "AssumeRole" && n >= 2
            ? { status: 403, code: "AccessDenied", message: "trust revoked" }
            : undefined;
    const r = await deployReal(t, ["platform.zip", "--json", "--timeout", "2m"], {
        BRANCH: "dev",
        ATTINI_GITOPS_TEST_CREDENTIAL_LIFETIME: "12",
    });
    t.is(r.code, Exit.CREDENTIALS, r.stderr);
    t.regex(
        r.stderr,
        /refreshing the deploy role's credentials failed: STS denied AssumeRole on arn:aws:iam::111111111111:role\/attini-deploy-role-eu-west-1/,
    );
    t.regex(r.stderr, /attini exited with 1 after the deploy role's credentials could not be refreshed/);
    t.like(JSON.parse(r.stdout), {
        result: "failed",
        exitCode: Exit.CREDENTIALS,
        credentials: { mode: "endpoint", refreshes: 0 },
    });
});

test.serial("a second client, the AWS CLI, gets the deploy role's credentials through the endpoint too", async (t) => {
    const aws = path.join(path.dirname(motoServerBin()), "aws");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-awscli-"));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const bin = path.join(dir, "attini");
    fs.writeFileSync(bin, `#!/bin/sh\nexec "${aws}" sts get-caller-identity --output json\n`, { mode: 0o755 });
    const r = await deployReal(t, ["platform.zip", "--attini-bin", bin], { BRANCH: "stage" });
    t.is(r.code, 0, r.stderr);
    const who = JSON.parse(r.stdout);
    t.is(who.Account, "222222222222");
    t.regex(who.Arn, /:assumed-role\/attini-deploy-role-eu-west-1\/deploy-platform$/);
});
