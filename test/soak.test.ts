// The soak time and --break-glass end to end, on the real Attini CLI and the emulator: prod
// (soakMinutes 60, provisioned) refuses a .zip right after stage deployed it, naming when it will be
// ready; the same deploy with --break-glass goes through, its reason in the deploy role's
// AssumeRole session tags, prod's ledger (read from the emulator's DynamoDB) and `status`. No
// clock is moved: an hour has simply not passed. The same paths on a fake with a set clock:
// soak-deploy.unit.test.ts.

import * as path from "node:path";
import test, { type ExecutionContext } from "ava";
import { Exit } from "../automation/errors";
import { AttiniAccount, AttiniBackend, packageDistribution, realAttini } from "./support/attini";
import { jobEnv, runCli } from "./support/driver";
import { LedgerView } from "./support/ledger";
import { backend, moto, project, sts, useWorld } from "./support/world";

const STAGE = "222222222222";
const PROD = "333333333333";
const PROD_ROLE = `arn:aws:iam::${PROD}:role/attini-deploy-role-eu-west-1`;
const REASON = "INC-4711 payment outage: hotfix approved by @oncall";

let accounts: AttiniAccount[] = [];
let attiniBackend: AttiniBackend;
const account = (id: string) => accounts.find((a) => a.account === id)!;

useWorld(test, {
    edit: { "Pulumi.prod.yaml": (text) => `${text}  attini-gitops:soakMinutes: 60\n` },
    ready: async () => {
        realAttini();
        accounts = await Promise.all([STAGE, PROD].map((a) => AttiniAccount.connect(moto, a)));
        for (const [a, env, type] of [
            [STAGE, "acc", "test"],
            [PROD, "prod", "production"],
        ] as const) {
            await account(a).setup();
            await account(a).createEnvironment(env, type);
        }
        attiniBackend = new AttiniBackend(accounts);
        await attiniBackend.start();
        packageDistribution(project.distribution, path.join(project.dir, "build-51.zip"), "build-51");
    },
});
test.after.always(() => {
    attiniBackend?.stop();
    for (const a of accounts) a.close();
});

function job(t: ExecutionContext, extra: Record<string, string> = {}) {
    const j = jobEnv({ moto, backend, stsEndpoint: sts.endpoint, extra: { ATTINI_BIN: realAttini(), ...extra } });
    t.teardown(j.dispose);
    return j.env;
}

const deploy = (t: ExecutionContext, branch: string, args: string[]) =>
    runCli(["deploy", ...args], job(t, { BRANCH: branch }), project.dir);

/** The session tags of every AssumeRole of `roleArn` the STS front saw. */
const tagsOf = (roleArn: string) =>
    sts.calls
        .filter((c) => c.action === "AssumeRole" && c.params.get("RoleArn") === roleArn)
        .map((c) => {
            const tags: Record<string, string> = {};
            for (let i = 1; c.params.has(`Tags.member.${i}.Key`); i++)
                tags[c.params.get(`Tags.member.${i}.Key`) as string] = c.params.get(`Tags.member.${i}.Value`) ?? "";
            return tags;
        });

test.serial(
    "prod right after stage: refused until the soak is met (exit 7, ready time named); --break-glass deploys, recorded in the session tags, prod's ledger and status",
    async (t) => {
        const inStage = await deploy(t, "stage", ["build-51.zip"]);
        t.is(inStage.code, 0, inStage.stderr);

        sts.reset();
        const before = await account(PROD).uploads();
        const refused = await deploy(t, "main", ["build-51.zip", "--json"]);
        t.is(refused.code, Exit.REFUSED, refused.stderr);
        t.regex(
            refused.stderr,
            /soak time \(enforce\): stage has held this content for (\d+ sec|\d+ min(, \d+ sec)?), since \d{4}-\d\d-\d\dT[\d:.]+Z \(the later of its ledger run's end and Attini's deploymentTime of that run\); prod requires 1 hr \(soakMinutes 60\): ready at \d{4}-\d\d-\d\dT[\d:.]+Z\. Deploy again then, or, if it cannot wait, with --break-glass/,
        );
        t.like(JSON.parse(refused.stdout), {
            result: "error",
            exitCode: Exit.REFUSED,
            soak: { result: "refused", case: "not-met", minimumMinutes: 60, upstream: "stage" },
        });
        t.deepEqual(await account(PROD).uploads(), before, "nothing reached prod");
        t.deepEqual(tagsOf(PROD_ROLE), [], "prod's deploy role was never assumed");

        sts.reset();
        const glass = await deploy(t, "main", ["build-51.zip", "--break-glass", `  ${REASON} `, "--json"]);
        t.is(glass.code, 0, glass.stderr);
        t.like(JSON.parse(glass.stdout), {
            result: "deployed",
            breakGlass: REASON,
            soak: { result: "broken-glass", case: "not-met", breakGlass: REASON },
            verifiedPromotion: { result: "passed" },
        });
        t.regex(
            glass.stderr,
            /--break-glass: deploying anyway, for: "INC-4711 payment outage: hotfix approved by @oncall"/,
        );
        t.is((await account(PROD).uploads()).length, before.length + 1, "one upload in prod");
        const tags = tagsOf(PROD_ROLE);
        t.true(tags.length >= 1);
        for (const set of tags) t.is(set["attini-gitops:break-glass"], REASON, "every session of the deploy role");

        const runs = await new LedgerView(moto, PROD, "attini-gitops-ledger-prod").runs("platform");
        t.is(runs.length, 1);
        t.like(runs[0], { result: "deployed", breakGlass: REASON, branch: "main" });

        const env = job(t);
        const text = await runCli(["status", "--distribution-name", "platform"], env, project.dir);
        t.is(text.code, 0, text.stderr);
        t.true(text.stdout.includes(`  deployed with --break-glass, for: "${REASON}"`), text.stdout);
        const json = await runCli(["status", "--distribution-name", "platform", "--json"], env, project.dir);
        const prod = JSON.parse(json.stdout).environments.find((e: { stack: string }) => e.stack === "prod");
        t.like(prod, { ledger: { deployed: { breakGlass: REASON } } });
    },
);

test.serial("an empty or hostile --break-glass reason is a usage error (exit 2) before any AWS call", async (t) => {
    for (const reason of ["   ", "outage; rm -rf /", "x".repeat(257)]) {
        sts.reset();
        const r = await deploy(t, "main", ["build-51.zip", "--break-glass", reason]);
        t.is(r.code, Exit.USAGE, r.stderr);
        t.regex(r.stderr, /--break-glass/);
        t.deepEqual(sts.calls, []);
    }
});
