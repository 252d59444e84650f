// The verified promotion gate end to end, on the real Attini CLI and the emulator: prod gets a
// .zip only if stage's own Attini record (AttiniDeployDataV1 in stage's account, rows written the
// way Attini's backend writes them) shows a successful deployment of the same distributionId,
// read with stage's history reader. The zips are packaged by the real attini with fixed ids.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CreateStateMachineCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from "@aws-sdk/client-sfn";
import test, { type ExecutionContext } from "ava";
import { Exit } from "../automation/errors";
import { loadStacks } from "../lib/stackFiles";
import { AttiniAccount, AttiniBackend, credentialsIn, packageDistribution, realAttini } from "./support/attini";
import { fileBackend } from "./support/backend";
import { githubTokenService, jobEnv, runCli } from "./support/driver";
import { StepFunctionsFront } from "./support/moto";
import { provision, scratchProject } from "./support/project";
import { vouch } from "./support/vouch";
import { backend, moto, project, sts, useWorld } from "./support/world";
import { writeZip } from "./support/zip";

const DEV = "111111111111";
const STAGE = "222222222222";
const PROD = "333333333333";
const READER = `arn:aws:iam::${STAGE}:role/attini-history-reader-eu-west-1`;

let accounts: AttiniAccount[] = [];
let attiniBackend: AttiniBackend;
const account = (id: string) => accounts.find((a) => a.account === id)!;

useWorld(test, {
    ready: async () => {
        realAttini();
        accounts = await Promise.all([DEV, STAGE, PROD].map((a) => AttiniAccount.connect(moto, a)));
        for (const [a, env, type] of [
            [DEV, "dev", "test"],
            [STAGE, "acc", "test"],
            [PROD, "prod", "production"],
        ] as const) {
            await account(a).setup();
            await account(a).createEnvironment(env, type);
        }
        attiniBackend = new AttiniBackend(accounts);
        await attiniBackend.start();
        for (const id of ["build-41", "build-42", "build-44"])
            packageDistribution(project.distribution, path.join(project.dir, `${id}.zip`), id);
    },
});
test.after.always(() => {
    attiniBackend?.stop();
    for (const a of accounts) a.close();
});
test.beforeEach(() => attiniBackend.outcome.clear());

async function deploy(t: ExecutionContext, branch: string, args: string[], extra: Record<string, string> = {}) {
    const j = jobEnv({
        moto,
        backend,
        stsEndpoint: sts.endpoint,
        extra: { ATTINI_BIN: realAttini(), BRANCH: branch, ...extra },
    });
    t.teardown(j.dispose);
    return runCli(["deploy", ...args], j.env, project.dir);
}

const prodUploads = () => account(PROD).uploads();

/**
 * Runs `fn` with prod's promotionGate set to `gate` in the project's stack file and provisioned
 * (the driver takes the gate from the outputs), then restores both.
 */
async function withProdGate<T>(gate: "warn" | "enforce", fn: () => Promise<T>): Promise<T> {
    const file = path.join(project.dir, "Pulumi.prod.yaml");
    const text = fs.readFileSync(file, "utf8");
    fs.writeFileSync(
        file,
        text.replace("attini-gitops:promotionGate: enforce", `attini-gitops:promotionGate: ${gate}`),
    );
    try {
        await provision(project, backend, ["prod"], {}, moto);
        return await fn();
    } finally {
        fs.writeFileSync(file, text);
        await provision(project, backend, ["prod"], {}, moto);
    }
}

test.serial(
    "the demo's story: a failed stage deployment stops prod; once it succeeds in stage, prod gets it",
    async (t) => {
        // build-41 fails in stage.
        attiniBackend.outcome.set(STAGE, {
            result: "failed",
            code: "CloudformationError",
            message: "Stack platform-acc rolled back",
        });
        const inStage = await deploy(t, "stage", ["build-41.zip"]);
        t.is(inStage.code, 1, inStage.stderr);

        sts.reset();
        const before = await prodUploads();
        const refused = await deploy(t, "main", ["build-41.zip", "--json"]);
        t.is(refused.code, Exit.REFUSED, refused.stderr);
        t.regex(
            refused.stderr,
            /promotion gate \(enforce\): distributionId build-41 failed in acc \(stack stage, account 222222222222\) at \d{4}-\d\d-\d\dT[\d:.]+Z \(CloudformationError: Stack platform-acc rolled back\)\. Fix it and deploy it to stage successfully first\./,
        );
        const error = JSON.parse(refused.stdout);
        t.like(error, {
            result: "error",
            exitCode: Exit.REFUSED,
            verifiedPromotion: {
                result: "refused",
                case: "failed",
                distributionId: "build-41",
                upstream: { stack: "stage", attiniEnvironment: "acc", accountId: STAGE },
                matched: { status: "failed" },
            },
        });
        t.deepEqual(await prodUploads(), before, "nothing reached prod");
        // The history was read with stage's reader; prod's deploy role was never assumed.
        t.deepEqual(
            sts.calls.filter((c) => c.action === "AssumeRole").map((c) => c.params.get("RoleArn")),
            [READER],
        );

        // Deployed to stage again, it succeeds: now prod takes it.
        attiniBackend.outcome.set(STAGE, { result: "succeeded" });
        const again = await deploy(t, "stage", ["build-41.zip"]);
        t.is(again.code, 0, again.stderr);
        const promoted = await deploy(t, "main", ["build-41.zip", "--json"]);
        t.is(promoted.code, 0, promoted.stderr);
        const summary = JSON.parse(promoted.stdout);
        t.like(summary, {
            result: "deployed",
            stack: "prod",
            verifiedPromotion: {
                result: "passed",
                case: "succeeded",
                distributionName: "platform",
                distributionId: "build-41",
                matched: { distributionId: "build-41", status: "succeeded", environment: "acc" },
            },
        });
        t.regex(promoted.stderr, /verified promotion gate: platform build-41 succeeded in acc \(stack stage\) at /);
        t.is((await prodUploads()).length, before.length + 1, "one upload in prod");
    },
);

test.serial(
    "the real attini reads the same record: `attini deploy history` in stage lists what the gate matched",
    async (t) => {
        const creds = await credentialsIn(moto, STAGE, "eu-west-1");
        const out = execFileSync(realAttini(), ["deploy", "history", "-n", "platform", "-e", "acc", "--json"], {
            env: {
                ...process.env,
                AWS_ENDPOINT_URL: moto.endpoint,
                AWS_REGION: "eu-west-1",
                AWS_ACCESS_KEY_ID: creds.accessKeyId,
                AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
                AWS_SESSION_TOKEN: creds.sessionToken,
                ATTINI_DISABLE_CLI_VERSION_CHECK: "true",
            },
            encoding: "utf8",
        });
        const history = JSON.parse(out.slice(out.indexOf("["))) as {
            distributionId: string;
            deploymentPlanStatus?: string;
            errorCode?: string;
        }[];
        t.true(
            history.some((d) => d.distributionId === "build-41" && d.deploymentPlanStatus === "SUCCEEDED"),
            out,
        );
        t.true(
            history.some((d) => d.distributionId === "build-41" && d.errorCode === "CloudformationError"),
            out,
        );
    },
);

test.serial(
    "still running, never deployed, or only another id in stage: refused under enforce, each named",
    async (t) => {
        const before = await prodUploads();
        // build-44 was uploaded to stage and Attini's record shows no end yet.
        await account(STAGE).recordDeployment({
            environment: "acc",
            distributionName: "platform",
            objectIdentifier: "acc/platform/platform.zip#running",
            distributionId: "build-44",
            outcome: { result: "running" },
        });
        const running = await deploy(t, "main", ["build-44.zip"]);
        t.is(running.code, Exit.REFUSED, running.stderr);
        t.regex(
            running.stderr,
            /distributionId build-44 has not finished in acc \(stack stage, account 222222222222\): started at [\dT:.-]+Z, init stack not done\. Wait until it has succeeded there\./,
        );

        writeZip(path.join(project.dir, "billing.zip"), {
            "attini-config.yaml": "distributionName: billing\ndistributionId: billing-7\n",
        });
        const never = await deploy(t, "main", ["billing.zip"]);
        t.is(never.code, Exit.REFUSED, never.stderr);
        t.regex(
            never.stderr,
            /billing was never deployed to acc \(stack stage, account 222222222222\), so distributionId billing-7 has not been verified there\. Deploy this \.zip to stage first\./,
        );

        const other = await deploy(t, "main", ["build-42.zip"]);
        t.is(other.code, Exit.REFUSED, other.stderr);
        t.regex(
            other.stderr,
            /acc \(stack stage, account 222222222222\) has no deployment of distributionId build-42\. The last deployment of platform there: build-44 at [\dT:.Z-]+, running \(init stack not done\)\. Promote the artifact that succeeded in stage/,
        );
        t.deepEqual(await prodUploads(), before, "nothing reached prod");
    },
);

test.serial(
    "under warn the same case is a warning: prod deploys, and the summary says what the gate saw",
    async (t) => {
        const r = await withProdGate("warn", () => deploy(t, "main", ["build-42.zip", "--json"]));
        t.is(r.code, 0, r.stderr);
        t.regex(
            r.stderr,
            /promotion gate \(warn\): acc \(stack stage, account 222222222222\) has no deployment of distributionId build-42/,
        );
        t.like(JSON.parse(r.stdout), {
            result: "deployed",
            verifiedPromotion: {
                result: "warned",
                case: "other-id",
                distributionId: "build-42",
                last: { distributionId: "build-44", status: "running" },
            },
        });
    },
);

test.serial(
    "stage's history reader cannot be assumed: a clear error; refused under enforce, unverified under warn",
    async (t) => {
        sts.respond = (c) =>
            c.action === "AssumeRole" && c.params.get("RoleArn") === READER
                ? { status: 403, code: "AccessDenied", message: "not authorized to perform sts:AssumeRole" }
                : undefined;
        const before = await prodUploads();
        const refused = await deploy(t, "main", ["build-41.zip", "--json"]);
        t.is(refused.code, Exit.REFUSED, refused.stderr);
        t.regex(
            refused.stderr,
            new RegExp(
                `promotion gate \\(enforce\\): cannot read what stage deployed: cannot use stage's history reader ${READER.replace(/[/.]/g, "\\$&")}: STS denied AssumeRole`,
            ),
        );
        t.regex(refused.stderr, /buildServerPrincipals and historyReaderPrincipals of Pulumi\.stage\.yaml/);
        t.like(JSON.parse(refused.stdout), {
            exitCode: Exit.REFUSED,
            verifiedPromotion: { result: "refused", distributionId: "build-41" },
        });
        t.deepEqual(await prodUploads(), before);

        const warned = await withProdGate("warn", () => deploy(t, "main", ["build-41.zip", "--json"]));
        t.is(warned.code, 0, warned.stderr);
        t.like(JSON.parse(warned.stdout), { result: "deployed", verifiedPromotion: { result: "unverified" } });
    },
);

test.serial("--dry-run reads no history and says what the gate would require", async (t) => {
    sts.reset();
    const r = await deploy(t, "main", ["build-41.zip", "--dry-run", "--json"]);
    t.is(r.code, 0, r.stderr);
    t.like(JSON.parse(r.stdout), {
        result: "dry-run",
        verifiedPromotion: { result: "not-checked", distributionId: "build-41" },
    });
    t.regex(
        r.stderr,
        /dry run: the verified promotion gate would require stage's ledger to hold a deployed run of this content \(sha256:[0-9a-f]{64}\), and Attini's record in acc to show distributionId build-41 succeeded/,
    );
    t.is(sts.calls.length, 0);
});

test.serial(
    "status shows what each environment last deployed beside its branch tip, and says so where it cannot read",
    async (t) => {
        // main moves on after prod's last deployment.
        const before = execFileSync("git", ["rev-parse", "refs/remotes/origin/main"], {
            cwd: project.dir,
            encoding: "utf8",
        }).trim();
        t.teardown(() => execFileSync("git", ["update-ref", "refs/remotes/origin/main", before], { cwd: project.dir }));
        const tree = execFileSync("git", ["rev-parse", `${before}^{tree}`], {
            cwd: project.dir,
            encoding: "utf8",
        }).trim();
        const next = execFileSync(
            "git",
            [
                "-c",
                "user.name=T",
                "-c",
                "user.email=t@example.com",
                "commit-tree",
                tree,
                "-p",
                before,
                "-m",
                "Raise the Lambda timeout",
            ],
            {
                cwd: project.dir,
                encoding: "utf8",
                env: { ...process.env, GIT_COMMITTER_DATE: `${Math.floor(Date.now() / 1000) + 5} +0000` },
            },
        ).trim();
        execFileSync("git", ["update-ref", "refs/remotes/origin/main", next], { cwd: project.dir });

        const j = jobEnv({ moto, backend, stsEndpoint: sts.endpoint });
        t.teardown(j.dispose);
        // Each test starts with empty ledgers, so here every deployment Attini recorded was made
        // without a recorded driver run (ledger.test.ts shows status with runs in the ledger).
        const text = await runCli(["status", "--distribution-name", "platform"], j.env, project.dir);
        t.is(text.code, 0, text.stderr);
        t.regex(
            text.stdout,
            /^dev: branch dev, Attini environment dev in account 111111111111 \(eu-west-1\)\n  branch tip: origin\/dev [0-9a-f]{10} initial \(committed [\dT:-]+Z\)\n  deployed by attini-gitops: nothing yet\n  deployed: platform never deployed here$/m,
        );
        t.regex(
            text.stdout,
            /^stage: branch stage, .*\n  branch tip: .*\n  deployed by attini-gitops: nothing yet\n  deployed outside attini-gitops: .*\n  last deployment of platform: build-44 at [\dT:.-]+Z, running \(init stack not done\)\n  last success: build-41 at [\dT:.-]+Z, succeeded$/m,
        );
        t.regex(
            text.stdout,
            /^prod: branch main, .*\n  branch tip: origin\/main [0-9a-f]{10} Raise the Lambda timeout .*\n  deployed by attini-gitops: nothing yet\n  deployed outside attini-gitops: .*\n  last deployment of platform: \S+ at [\dT:.-]+Z, succeeded\n  the branch moved on, the environment did not: origin\/main was committed after the last deployment started \(an estimate from commit times: the ledger has no deployed commit to count from\)$/m,
        );
        // Each environment's record was read with its own history reader.
        t.deepEqual(
            sts.calls
                .filter((c) => c.action === "AssumeRole")
                .map((c) => c.params.get("RoleArn"))
                .sort(),
            [DEV, STAGE, PROD].map((a) => `arn:aws:iam::${a}:role/attini-history-reader-eu-west-1`),
        );

        const json = await runCli(["status", "--dist", "build-41.zip", "--json"], j.env, project.dir);
        t.is(json.code, 0, json.stderr);
        const report = JSON.parse(json.stdout);
        t.like(report.environments[2], {
            stack: "prod",
            movedOn: true,
            tip: { subject: "Raise the Lambda timeout" },
            deployed: {
                distributionName: "platform",
                last: { status: "succeeded" },
                lastSucceeded: { status: "succeeded" },
            },
        });
        t.like(report.environments[1], {
            stack: "stage",
            deployed: {
                last: { distributionId: "build-44", status: "running" },
                lastSucceeded: { distributionId: "build-41" },
            },
        });
        t.is(report.links.length, 2);

        // Without credentials, or with a reader that cannot be assumed: it says so instead of guessing.
        const noCreds = await runCli(
            ["status", "--distribution-name", "platform", "--json"],
            { ...j.env, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined } as NodeJS.ProcessEnv,
            project.dir,
        );
        t.is(noCreds.code, 0, noCreds.stderr);
        for (const e of JSON.parse(noCreds.stdout).environments) {
            t.is(e.deployed, undefined);
            t.regex(e.unknown, /^not read: no source AWS credentials for the build server/);
        }
        sts.respond = (c) =>
            c.action === "AssumeRole" && c.params.get("RoleArn") === READER
                ? { status: 403, code: "AccessDenied", message: "denied" }
                : undefined;
        const denied = await runCli(["status", "--distribution-name", "platform"], j.env, project.dir);
        t.regex(
            denied.stdout,
            /^stage: .*\n  branch tip: .*\n  deployed: unknown, not read: cannot use stage's history reader arn:aws:iam::222222222222:role\/attini-history-reader-eu-west-1: STS denied AssumeRole/m,
        );
        t.regex(denied.stdout, /^prod: .*\n  branch tip: .*\n(  .*\n)*  last deployment of platform: \S+ at/m);

        const unnamed = await runCli(["status"], j.env, project.dir);
        t.regex(
            unnamed.stdout,
            /deployed: unknown, not read: pass --distribution-name NAME \(or --dist PATH\) to show what Attini recorded/,
        );
    },
);

test.serial(
    "status takes each environment's account, region and reader from the outputs: a stack file that says otherwise is not used",
    async (t) => {
        // The checkout says stage is in another account (so another reader); nobody ran pulumi up for it.
        const file = path.join(project.dir, "Pulumi.stage.yaml");
        const text = fs.readFileSync(file, "utf8");
        t.teardown(() => fs.writeFileSync(file, text));
        fs.writeFileSync(file, text.replaceAll(STAGE, "444444444444"));
        const j = jobEnv({ moto, backend, stsEndpoint: sts.endpoint });
        t.teardown(j.dispose);

        const r = await runCli(["status", "--distribution-name", "platform"], j.env, project.dir);
        t.is(r.code, 0, r.stderr);
        t.regex(
            r.stdout,
            /^stage: branch stage \(this checkout's stack file\); what was provisioned is unknown: stack stage's outputs differ from Pulumi\.stage\.yaml .*historyReaderArn: provisioned arn:aws:iam::222222222222:role\/attini-history-reader-eu-west-1, the checkout says arn:aws:iam::444444444444:role\/attini-history-reader-eu-west-1; accountId: provisioned 222222222222, the checkout says 444444444444\)\. .*`pulumi up -s stage`.*\n  branch tip: origin\/stage .*\n  freeze windows: unknown, what was provisioned is unknown \(above\)\n  deployed: unknown, not read: what was provisioned for this stack is unknown \(above\)$/m,
        );
        // prod's provisioned upstream is stage as it was provisioned, which the checkout contradicts too.
        t.regex(
            r.stdout,
            /^prod: branch main \(this checkout's stack file\); what was provisioned is unknown: .*upstreamAccountId: provisioned 222222222222, the checkout says 444444444444/m,
        );
        t.regex(r.stdout, /^dev: branch dev, Attini environment dev in account 111111111111 \(eu-west-1\)\n/m);
        // Neither the checkout's reader nor stage's provisioned one was assumed: only dev's.
        t.deepEqual(
            sts.calls.filter((c) => c.action === "AssumeRole").map((c) => c.params.get("RoleArn")),
            [`arn:aws:iam::${DEV}:role/attini-history-reader-eu-west-1`],
        );

        const json = await runCli(["status", "--distribution-name", "platform", "--json"], j.env, project.dir);
        t.is(json.code, 0, json.stderr);
        const stage = JSON.parse(json.stdout).environments.find((e: { stack: string }) => e.stack === "stage");
        t.is(stage.accountId, undefined, "no account guessed from the checkout");
        t.is(stage.deployed, undefined);
        t.regex(stage.outputsUnknown, /accountId: provisioned 222222222222, the checkout says 444444444444/);

        // With the stack file as provisioned, stage is read again, from the outputs.
        fs.writeFileSync(file, text);
        sts.reset();
        const back = await runCli(["status", "--distribution-name", "platform"], j.env, project.dir);
        t.regex(back.stdout, /^stage: branch stage, Attini environment acc in account 222222222222 \(eu-west-1\)\n/m);
        t.true(sts.calls.some((c) => c.params.get("RoleArn") === READER));
    },
);

test.serial(
    "with --github-oidc, prod's job reads stage's record with the same kind of token: AssumeRoleWithWebIdentity on stage's reader, then on prod's role",
    async (t) => {
        // The wiring validate asks for: stage's reader trusts jobs on main.
        const p = scratchProject({
            "Pulumi.prod.yaml": (s) => `${s}  attini-gitops:githubRepository: acme/platform\n`,
            "Pulumi.stage.yaml": (s) =>
                `${s}  attini-gitops:githubRepository: acme/platform\n  attini-gitops:historyReaderBranches: [main]\n`,
            "Pulumi.dev.yaml": (s) =>
                `${s}  attini-gitops:githubRepository: acme/platform\n  attini-gitops:historyReaderBranches: [stage]\n`,
        });
        t.teardown(p.dispose);
        const b = fileBackend();
        t.teardown(() => b.dispose());
        await provision(p, b, ["prod", "stage"], {}, moto);
        fs.copyFileSync(path.join(project.dir, "build-41.zip"), path.join(p.dir, "build-41.zip"));
        const github = await githubTokenService("main");
        t.teardown(github.close);
        const j = jobEnv({
            moto,
            backend: b,
            stsEndpoint: sts.endpoint,
            extra: { ATTINI_BIN: realAttini(), ...github.env },
        });
        t.teardown(j.dispose);
        // build-41's bytes were deployed in stage (its Attini record is from the tests above).
        const zipDigest = createHash("sha256")
            .update(fs.readFileSync(path.join(p.dir, "build-41.zip")))
            .digest("hex");
        await vouch(moto, loadStacks(p.dir).configs.find((c) => c.stack === "stage")!, `sha256:${zipDigest}`, {
            distributionId: "build-41",
        });
        sts.reset();

        const r = await runCli(["deploy", "build-41.zip", "--github-oidc", "--json"], j.env, p.dir);
        t.is(r.code, 0, r.stderr);
        t.like(JSON.parse(r.stdout), {
            result: "deployed",
            verifiedPromotion: { result: "passed", distributionId: "build-41" },
        });
        const web = sts.calls.filter((c) => c.action === "AssumeRoleWithWebIdentity");
        t.deepEqual(
            web.map((c) => c.params.get("RoleArn")),
            [READER, "arn:aws:iam::333333333333:role/attini-deploy-role-eu-west-1"],
        );
        for (const c of web) t.is(c.params.get("WebIdentityToken"), github.token);
        t.is(sts.count("AssumeRole"), 0, "no source credentials involved");
        t.is(github.seen.length, 2, "a fresh ID token for each role");
        t.false(`${r.stdout}${r.stderr}`.includes(github.token), "the token is never printed");
    },
);

test.serial(
    "every deployment plan: stage's record names two plans' executions, and Step Functions (the emulator's) decides",
    async (t) => {
        const front = await StepFunctionsFront.start(moto);
        t.teardown(() => front.close());
        const sfn = new SFNClient({
            endpoint: front.endpoint,
            region: "eu-west-1",
            credentials: await credentialsIn(moto, STAGE, "eu-west-1"),
        });
        t.teardown(() => sfn.destroy());
        // Two of Attini's deployment plans in stage's account, each started: the emulator keeps them RUNNING.
        const plan = async (name: string) => {
            const { stateMachineArn } = await sfn.send(
                new CreateStateMachineCommand({
                    name: `AttiniDeploymentPlanSfn${name}-Q1w2E3r4T5y6`,
                    definition: JSON.stringify({ StartAt: "Run", States: { Run: { Type: "Succeed" } } }),
                    roleArn: `arn:aws:iam::${STAGE}:role/attini-deployment-plan`,
                }),
            );
            const { executionArn } = await sfn.send(
                new StartExecutionCommand({ stateMachineArn, name: `build-41-${name.toLowerCase()}` }),
            );
            return executionArn!;
        };
        const network = await plan("Network");
        const database = await plan("Database");
        // SUCCEEDED recorded: one plan (here, as it were, the network's) ended last and succeeded.
        await account(STAGE).recordDeployment({
            environment: "acc",
            distributionName: "platform",
            objectIdentifier: "acc/platform/platform.zip#two-plans",
            distributionId: "build-41",
            outcome: { result: "succeeded" },
            executions: [network, database],
        });
        const sfnEndpoint = { AWS_ENDPOINT_URL_SFN: front.endpoint };
        const before = await prodUploads();
        front.calls.length = 0;

        // Step Functions says both are still running: not finished, whatever the record's SUCCEEDED says.
        const running = await deploy(t, "main", ["build-41.zip"], sfnEndpoint);
        t.is(running.code, Exit.REFUSED, running.stderr);
        t.regex(
            running.stderr,
            /distributionId build-41 has not finished in acc \(stack stage, account 222222222222\): started at [\dT:.-]+Z, 2 deployment plans; AttiniDeploymentPlanSfnDatabase-Q1w2E3r4T5y6 RUNNING, AttiniDeploymentPlanSfnNetwork-Q1w2E3r4T5y6 RUNNING\./,
        );
        t.deepEqual(front.calls, ["AWSStepFunctions.DescribeExecution", "AWSStepFunctions.DescribeExecution"]);

        // The database plan is aborted: the deployment failed, and says which plan.
        await sfn.send(new StopExecutionCommand({ executionArn: database }));
        const aborted = await deploy(t, "main", ["build-41.zip", "--json"], sfnEndpoint);
        t.is(aborted.code, Exit.REFUSED, aborted.stderr);
        t.like(JSON.parse(aborted.stdout), {
            verifiedPromotion: {
                case: "failed",
                matched: {
                    status: "failed",
                    detail: "2 deployment plans; AttiniDeploymentPlanSfnDatabase-Q1w2E3r4T5y6 ABORTED",
                },
            },
        });
        // status judges it the same way, with each environment's reader.
        const j = jobEnv({ moto, backend, stsEndpoint: sts.endpoint, extra: sfnEndpoint });
        t.teardown(j.dispose);
        const status = await runCli(["status", "--distribution-name", "platform"], j.env, project.dir);
        t.regex(
            status.stdout,
            /^stage: .*\n  branch tip: .*\n(  .*\n)*  last deployment of platform: build-41 at [\dT:.-]+Z, failed \(2 deployment plans; AttiniDeploymentPlanSfnDatabase-Q1w2E3r4T5y6 ABORTED\)$/m,
        );
        t.deepEqual(await prodUploads(), before, "nothing reached prod");
    },
);

test.serial(
    "a folder is verified by its committed content: prod refuses it while its stage deployment failed, and takes it once one succeeded",
    async (t) => {
        const before = await prodUploads();
        attiniBackend.outcome.set(STAGE, { result: "failed", code: "CloudformationError", message: "rolled back" });
        t.is((await deploy(t, "stage", ["distribution/platform"])).code, 1);

        sts.reset();
        const refused = await deploy(t, "main", ["distribution/platform", "--json"]);
        t.is(refused.code, Exit.REFUSED, refused.stderr);
        t.regex(
            refused.stderr,
            /stage's ledger: this content \(tree:[0-9a-f]{40}\) was last deployed there from commit [0-9a-f]{12} .*, and it ended failed/,
        );
        t.regex(
            refused.stderr,
            /Attini's record in stage of that run: [0-9a-f-]{36} at .*, failed \(CloudformationError: rolled back\)/,
        );
        t.true(
            sts.calls.some((c) => c.params.get("RoleArn") === READER),
            "stage's reader read both",
        );
        t.deepEqual(await prodUploads(), before, "nothing reached prod");

        attiniBackend.outcome.set(STAGE, { result: "succeeded" });
        t.is((await deploy(t, "stage", ["distribution/platform"])).code, 0);
        const promoted = await deploy(t, "main", ["distribution/platform", "--json"]);
        t.is(promoted.code, 0, promoted.stderr);
        t.like(JSON.parse(promoted.stdout), {
            promotionGate: "passed",
            verifiedPromotion: { result: "passed", case: "succeeded", content: { case: "deployed" } },
        });
        t.is((await prodUploads()).length, before.length + 1, "one upload in prod");
    },
);

test.serial(
    "a zip with the distributionId that succeeded in stage but other bytes is refused, and nothing reaches prod; the tested bytes go through",
    async (t) => {
        t.is((await deploy(t, "stage", ["build-41.zip"])).code, 0);
        // Someone packages other content under the same id.
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-other-bytes-"));
        t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
        const folder = path.join(work, "platform");
        fs.cpSync(project.distribution, folder, { recursive: true });
        fs.appendFileSync(path.join(folder, "attini-config.yaml"), "# other content\n");
        packageDistribution(folder, path.join(project.dir, "build-41-other.zip"), "build-41");
        t.teardown(() => fs.rmSync(path.join(project.dir, "build-41-other.zip"), { force: true }));

        const before = await prodUploads();
        const other = await deploy(t, "main", ["build-41-other.zip", "--json"]);
        t.is(other.code, Exit.REFUSED, other.stderr);
        t.regex(
            other.stderr,
            /verified promotion gate: stage's ledger has no run of this content \(sha256:[0-9a-f]{64}\)/,
        );
        t.regex(other.stderr, /Attini's record in stage: distributionId build-41: build-41 at .*, succeeded/);
        t.regex(
            other.stderr,
            /An artifact with distributionId build-41 but other bytes is not the one that was tested/,
        );
        t.deepEqual(await prodUploads(), before, "nothing reached prod");

        const tested = await deploy(t, "main", ["build-41.zip", "--json"]);
        t.is(tested.code, 0, tested.stderr);
        t.like(JSON.parse(tested.stdout), { verifiedPromotion: { result: "passed", content: { case: "deployed" } } });
    },
);
