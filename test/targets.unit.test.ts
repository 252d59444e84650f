// Several stacks on one branch are that branch's targets (issue 21, first half): validate refuses
// any two that would make the same resource and bad waves, each with the fix; deploy without
// --stack on a branch with several targets is refused before any AWS call; plan shows the waves
// and prints the CI matrix; build-server-policy covers every target's roles.

import * as fs from "node:fs";
import * as path from "node:path";
import test from "ava";
import { planMatrix, waveOption } from "../automation/ciMatrix";
import { DriverError, Exit } from "../automation/errors";
import { freezeViewAt } from "../automation/freezeGate";
import { formatPlan, type PlanRow } from "../automation/planning";
import { chainOrder, stackFor, targetsFor } from "../automation/project";
import { allStacksBuildServerPolicy } from "../automation/serverPolicy";
import { validateHistoryReaders } from "../lib/config/readers";
import { validateTargets } from "../lib/config/stackSet";
import type { RawValue, StackConfig } from "../lib/config/types";
import { requireStackConfig, validateStackConfig } from "../lib/config/validate";
import { loadStacks } from "../lib/stackFiles";
import { rawConfig } from "./support/config";
import { fakeAws, fakeServices } from "./support/fakeAws";
import { git, MULTI_REGION_MAIN_MATRIX, multiRegionProject } from "./support/project";

const SERVER = "arn:aws:iam::999999999999:role/attini-build-server";

/** A valid stack on main: prod-eu in 333333333333 eu-west-1 unless `changes` say otherwise. */
function target(stack: string, changes: Record<string, RawValue> = {}): StackConfig {
    const account = String(changes["attini-gitops:accountId"] ?? "333333333333");
    return requireStackConfig(
        stack,
        rawConfig({
            "aws:region": "eu-west-1",
            "aws:allowedAccountIds": [account],
            "attini-gitops:branch": "main",
            "attini-gitops:attiniEnvironment": stack,
            "attini-gitops:buildServerPrincipals": [SERVER],
            ...changes,
            "attini-gitops:accountId": account,
        }),
    );
}

/** A scratch project with prod-eu (wave 1) and prod-us (wave 2) on main, removed after the test. */
function project(t: import("ava").ExecutionContext): string {
    const p = multiRegionProject();
    t.teardown(p.dispose);
    return p.dir;
}

/** Rewrites a stack file of the scratch project with `edit`. */
function edit(dir: string, stack: string, change: (text: string) => string): void {
    const f = path.join(dir, `Pulumi.${stack}.yaml`);
    fs.writeFileSync(f, change(fs.readFileSync(f, "utf8")));
}

test("the multi-region project is valid: prod-eu and prod-us on main, both promoted from stage", (t) => {
    const loaded = loadStacks(project(t));
    t.deepEqual(loaded.errors.map(String), []);
    const targets = targetsFor(chainOrder(loaded.configs), "main");
    t.deepEqual(
        targets.map((c) => [c.stack, c.wave, c.accountId, c.region, c.promotedFrom]),
        [
            ["prod-eu", 1, "333333333333", "eu-west-1", "stage"],
            ["prod-us", 2, "444444444444", "us-east-1", "stage"],
        ],
    );
    t.deepEqual(
        loaded.configs.filter((c) => c.stack === "dev").map((c) => c.wave),
        [1],
        "wave defaults to 1",
    );
});

test("validate refuses two stacks with the same account, region and Attini environment, naming the fix", (t) => {
    const dir = project(t);
    edit(dir, "prod-us", (s) =>
        s.replace(/444444444444/g, "333333333333").replace("aws:region: us-east-1", "aws:region: eu-west-1"),
    );
    const errors = loadStacks(dir).errors.map(String);
    t.true(
        errors.some((e) =>
            e.startsWith(
                `stack 'prod-us', key 'attini-gitops:attiniEnvironment' = "prod": is stack prod-eu's too, in the same account 333333333333 and region eu-west-1: both stacks would be one target (one Attini environment, one ledger table attini-gitops-ledger-prod)`,
            ),
        ),
        errors.join("\n"),
    );
    t.true(
        errors.some((e) =>
            /Fix: give one of prod-eu and prod-us its own Attini environment, account or region/.test(e),
        ),
    );
    // The same environment name in another region of the same account is another target.
    const regions = validateTargets([
        target("a", { "attini-gitops:attiniEnvironment": "prod" }),
        target("b", { "attini-gitops:attiniEnvironment": "prod", "aws:region": "us-east-1" }),
    ]);
    t.deepEqual(regions.map(String), []);
});

test("validate refuses two stacks whose roles would share a name in one account (IAM names are per account)", (t) => {
    // Two environments in one account and region: the default role names collide.
    const same = validateTargets([target("prod-a"), target("prod-b")]);
    t.deepEqual(
        same.map((e) => [e.stack, e.key, e.value]),
        [
            ["prod-b", "attini-gitops:roleName", '"attini-deploy-role-eu-west-1"'],
            ["prod-b", "attini-gitops:historyReaderRoleName", '"attini-history-reader-eu-west-1"'],
        ],
    );
    t.regex(
        String(same[0]),
        /is the name of stack prod-a's deploy role in the same account 333333333333; IAM role names are unique in an account.*Fix: set roleName to a name of its own in Pulumi\.prod-b\.yaml, e\.g\. `pulumi config set roleName attini-deploy-role-eu-west-1-prod-b --stack prod-b`/,
    );
    // A name set by hand collides across regions too: IAM is global.
    const named = validateTargets([
        target("eu", { "attini-gitops:roleName": "deployer" }),
        target("us", { "aws:region": "us-east-1", "attini-gitops:historyReaderRoleName": "deployer" }),
    ]);
    t.deepEqual(
        named.map((e) => [e.stack, e.key]),
        [["us", "attini-gitops:historyReaderRoleName"]],
    );
    t.regex(String(named[0]), /is the name of stack eu's deploy role/);
    // Own names, or another account: nothing collides.
    t.deepEqual(
        validateTargets([
            target("prod-a"),
            target("prod-b", {
                "attini-gitops:roleName": "attini-deploy-role-eu-west-1-b",
                "attini-gitops:historyReaderRoleName": "attini-history-reader-eu-west-1-b",
            }),
            target("prod-c", { "attini-gitops:accountId": "555555555555" }),
        ]).map(String),
        [],
    );
});

test("validate refuses two stacks in one account that would both create its GitHub OIDC provider", (t) => {
    const oidc = { "attini-gitops:githubRepository": "acme/platform" };
    const errors = validateTargets([target("eu", oidc), target("us", { ...oidc, "aws:region": "us-east-1" })]);
    t.deepEqual(
        errors.map((e) => [e.stack, e.key, e.value]),
        [["us", "attini-gitops:githubOidcProviderArn", "(not set)"]],
    );
    t.regex(
        String(errors[0]),
        /which stack eu creates too.*Fix: reference the provider of stack eu: `pulumi config set githubOidcProviderArn arn:aws:iam::333333333333:oidc-provider\/token\.actions\.githubusercontent\.com --stack us`/,
    );
    const referenced = validateTargets([
        target("eu", oidc),
        target("us", {
            ...oidc,
            "aws:region": "us-east-1",
            "attini-gitops:githubOidcProviderArn":
                "arn:aws:iam::333333333333:oidc-provider/token.actions.githubusercontent.com",
        }),
    ]);
    t.deepEqual(referenced.map(String), []);
});

test("validate refuses a wave that is not a whole number from 1 to 20, naming the fix", (t) => {
    for (const [wave, problem] of [
        [0, /must be a whole number from 1 to 20/],
        [-1, /must be a whole number from 1 to 20/],
        [21, /must be a whole number from 1 to 20/],
        [1.5, /must be a whole number/],
        ["two", /must be a whole number/],
    ] as const) {
        const { errors } = validateStackConfig(
            "prod-us",
            rawConfig({
                "aws:region": "us-east-1",
                "aws:allowedAccountIds": ["444444444444"],
                "attini-gitops:branch": "main",
                "attini-gitops:attiniEnvironment": "prod",
                "attini-gitops:accountId": "444444444444",
                "attini-gitops:buildServerPrincipals": [SERVER],
                "attini-gitops:wave": wave,
            }),
        );
        t.is(errors.length, 1, String(wave));
        t.is(errors[0].key, "attini-gitops:wave");
        t.is(errors[0].value, JSON.stringify(wave));
        t.regex(String(errors[0]), problem);
        t.regex(errors[0].fix, /pulumi config set wave 1 --stack prod-us/);
    }
    const dir = project(t);
    edit(dir, "prod-us", (s) => s.replace("attini-gitops:wave: 2", "attini-gitops:wave: 2.5"));
    const errors = loadStacks(dir).errors.map(String);
    t.true(
        errors.some((e) => e.startsWith(`stack 'prod-us', key 'attini-gitops:wave' = 2.5: must be of type integer`)),
        errors.join("\n"),
    );
});

test("a target promoted from another on its own branch must be in a later wave; a chain prod-eu -> prod-us is fine", (t) => {
    const dir = project(t);
    edit(dir, "prod-us", (s) => s.replace("promotedFrom: stage", "promotedFrom: prod-eu"));
    t.deepEqual(loadStacks(dir).errors.map(String), [], "prod-us (wave 2) promoted from prod-eu (wave 1)");
    for (const [eu, us] of [
        [1, 1],
        [2, 1],
    ]) {
        edit(dir, "prod-eu", (s) => s.replace(/wave: \d+/, `wave: ${eu}`));
        edit(dir, "prod-us", (s) => s.replace(/wave: \d+/, `wave: ${us}`));
        const errors = loadStacks(dir).errors.map(String);
        t.deepEqual(
            errors,
            [
                `stack 'prod-us', key 'attini-gitops:wave' = ${us}: is not after the wave of stack prod-eu (${eu}), which prod-us is promoted from on the same branch main: its promotion gate would check a deployment of prod-eu that has not happened yet. Fix: set wave to ${eu + 1} (\`pulumi config set wave ${eu + 1} --stack prod-us\`), or promote prod-us from another branch's stack`,
            ],
            `prod-eu wave ${eu}, prod-us wave ${us}`,
        );
    }
    edit(dir, "prod-eu", (s) => s.replace(/wave: \d+/, "wave: 20"));
    edit(dir, "prod-us", (s) => s.replace(/wave: \d+/, "wave: 20"));
    t.regex(
        loadStacks(dir).errors.map(String).join("\n"),
        /Fix: lower the wave of prod-eu, then give prod-us a later one/,
    );
    // Different branches: waves order one pipeline only, so no rule across branches.
    t.deepEqual(
        validateTargets([
            target("stage", { "attini-gitops:branch": "stage", "attini-gitops:wave": 3 }),
            target("prod", { "attini-gitops:accountId": "444444444444", "attini-gitops:promotedFrom": "stage" }),
        ]).map(String),
        [],
    );
});

test("the history readers' rules hold for every downstream target: two on one branch need that branch listed once", (t) => {
    const oidc = { "attini-gitops:githubRepository": "acme/platform" };
    const stage = (readerBranches: string[]) =>
        target("stage", {
            ...oidc,
            "attini-gitops:branch": "stage",
            "attini-gitops:accountId": "222222222222",
            "attini-gitops:historyReaderBranches": readerBranches,
        });
    const eu = target("prod-eu", { ...oidc, "attini-gitops:promotedFrom": "stage" });
    const us = target("prod-us", {
        ...oidc,
        "aws:region": "us-east-1",
        "attini-gitops:accountId": "444444444444",
        "attini-gitops:promotedFrom": "stage",
    });
    t.deepEqual(validateHistoryReaders([stage(["main"]), eu, us]).map(String), []);
    const missing = validateHistoryReaders([stage([]), eu, us]);
    t.deepEqual(
        missing.map((e) => [e.stack, e.key]),
        [
            ["stage", "attini-gitops:historyReaderBranches"],
            ["stage", "attini-gitops:historyReaderBranches"],
        ],
        "each downstream target's jobs must be able to read stage",
    );
    t.regex(String(missing[1]), /the branch of stack prod-us \(promoted from stage\)/);
    // A chain on one branch: prod-us's jobs (main) may read prod-eu's reader as its own branch's.
    const chained = target("prod-us", {
        ...oidc,
        "aws:region": "us-east-1",
        "attini-gitops:accountId": "444444444444",
        "attini-gitops:promotedFrom": "prod-eu",
        "attini-gitops:wave": 2,
    });
    t.deepEqual(
        validateHistoryReaders([
            stage(["main"]),
            target("prod-eu", { ...oidc, "attini-gitops:promotedFrom": "stage" }),
            chained,
        ]).map(String),
        [],
    );
});

test("deploy's stack: --stack and one target unchanged; several targets and no --stack refused by deploy() itself (the command deploys them in waves), by wave", (t) => {
    const { configs } = loadStacks(project(t));
    const ordered = chainOrder(configs);
    t.is(stackFor(ordered, "stage").stack, "stage", "a branch with one target");
    t.is(stackFor(ordered, "main", "prod-us").stack, "prod-us");
    t.throws(() => stackFor(ordered, "dev", "prod-us"), { message: /that stack deploys branch main/ });
    const e = t.throws(() => stackFor(ordered, "main"), { instanceOf: DriverError });
    t.is(e.exitCode, Exit.USAGE);
    t.is(
        e.message,
        'branch "main" has 2 targets (wave 1: prod-eu (333333333333 eu-west-1); wave 2: prod-us (444444444444 us-east-1)), and this deploy names none: name one with `--stack <name>`, or run `attini-gitops deploy` without --stack, which deploys them all in waves (see "Several targets per branch" in docs/driver.md). Nothing was deployed.',
    );
    const unmapped = t.throws(() => stackFor(ordered, "feature/x"), { instanceOf: DriverError });
    t.is(unmapped.exitCode, Exit.UNMAPPED_BRANCH);
});

test("plan's text shows each branch's targets by wave; a project with one target per branch shows none", (t) => {
    const row = (branch: string, stack: string, wave: number): PlanRow => ({
        branch,
        stack,
        attiniEnvironment: stack,
        accountId: "333333333333",
        region: "eu-west-1",
        roleArn: "arn:aws:iam::333333333333:role/attini-deploy-role-eu-west-1",
        roleSource: "outputs",
        wave,
        freeze: freezeViewAt([], 0),
    });
    const text = formatPlan([
        row("stage", "stage", 1),
        row("main", "prod-us", 2),
        row("main", "prod-eu", 1),
        row("main", "prod-ap", 2),
    ]);
    t.regex(
        text,
        /^Targets by wave \(each branch with several deploys them in this order\):\n {2}main: wave 1: prod-eu; wave 2: prod-us, prod-ap$/m,
    );
    t.notRegex(text, /stage: wave/);
    t.notRegex(formatPlan([row("stage", "stage", 1), row("main", "prod", 1)]), /wave/);
});

test("plan --matrix github: one include entry per target with its wave, and --wave / --max-wave", (t) => {
    const dir = project(t);
    const s = fakeServices(fakeAws().aws, { PATH: process.env.PATH });
    const matrix = (o: { wave?: number; maxWave?: number; branch?: string } = {}) =>
        JSON.parse(planMatrix({ cwd: dir, format: "github", branch: "main", ...o }, s));
    t.deepEqual(matrix(), MULTI_REGION_MAIN_MATRIX);
    t.deepEqual(
        matrix({ wave: 2 }).include.map((x: { stack: string }) => x.stack),
        ["prod-us"],
    );
    t.is(planMatrix({ cwd: dir, format: "github", branch: "main", wave: 3 }, s), '{"include":[]}');
    t.deepEqual(
        matrix({ branch: "stage" }).include.map((x: { stack: string }) => x.stack),
        ["stage"],
        "a branch with one target: one job",
    );
    const late = t.throws(() => matrix({ maxWave: 1 }), { instanceOf: DriverError });
    t.is(late.exitCode, Exit.USAGE);
    t.regex(late.message, /targets in waves after 1 \(prod-us: wave 2\).*would never deploy/);
    t.notThrows(() => matrix({ maxWave: 2 }));
    // The branch comes from the CI system as for deploy.
    git(dir, "checkout", "-q", "-b", "stage");
    const fromGit = JSON.parse(planMatrix({ cwd: dir, format: "github" }, s));
    t.deepEqual(
        fromGit.include.map((x: { stack: string }) => x.stack),
        ["stage"],
    );
    const unmapped = t.throws(() => matrix({ branch: "feature/x" }), { instanceOf: DriverError });
    t.is(unmapped.exitCode, Exit.UNMAPPED_BRANCH);
    const bad = t.throws(() => planMatrix({ cwd: dir, format: "jenkins", branch: "main" }, s), {
        instanceOf: DriverError,
    });
    t.is(bad.exitCode, Exit.USAGE);
});

test("plan --matrix gitlab: parallel:matrix's shape, a list of maps of variable -> string, one per target", (t) => {
    const dir = project(t);
    const s = fakeServices(fakeAws().aws, { PATH: process.env.PATH });
    const out = JSON.parse(planMatrix({ cwd: dir, format: "gitlab", branch: "main" }, s));
    t.deepEqual(Object.keys(out), ["matrix"]);
    t.true(Array.isArray(out.matrix));
    for (const entry of out.matrix) {
        for (const [k, v] of Object.entries(entry)) {
            t.regex(k, /^[A-Z0-9_]+$/, "GitLab variable names: letters, digits, underscores");
            t.is(typeof v, "string", `${k} is a string, as GitLab requires`);
        }
    }
    t.deepEqual(out.matrix, [
        {
            STACK: "prod-eu",
            WAVE: "1",
            BRANCH: "main",
            ATTINI_ENVIRONMENT: "prod",
            AWS_ACCOUNT: "333333333333",
            AWS_REGION: "eu-west-1",
        },
        {
            STACK: "prod-us",
            WAVE: "2",
            BRANCH: "main",
            ATTINI_ENVIRONMENT: "prod",
            AWS_ACCOUNT: "444444444444",
            AWS_REGION: "us-east-1",
        },
    ]);
    t.deepEqual(JSON.parse(planMatrix({ cwd: dir, format: "gitlab", branch: "main", wave: 1 }, s)).matrix.length, 1);
});

test("build-server-policy covers every target's deploy role and history reader, in each account and region", (t) => {
    const policy = allStacksBuildServerPolicy(project(t));
    const [deploy, read] = policy.Statement;
    t.deepEqual(deploy.Resource, [
        "arn:aws:iam::111111111111:role/attini-deploy-role-eu-west-1",
        "arn:aws:iam::222222222222:role/attini-deploy-role-eu-west-1",
        "arn:aws:iam::333333333333:role/attini-deploy-role-eu-west-1",
        "arn:aws:iam::444444444444:role/attini-deploy-role-us-east-1",
    ]);
    t.deepEqual(read.Resource, [
        "arn:aws:iam::111111111111:role/attini-history-reader-eu-west-1",
        "arn:aws:iam::222222222222:role/attini-history-reader-eu-west-1",
        "arn:aws:iam::333333333333:role/attini-history-reader-eu-west-1",
        "arn:aws:iam::444444444444:role/attini-history-reader-us-east-1",
    ]);
});

/** Whether text holds a raw C0 control character (a terminal escape could ride on it). */
const hasControl = (text: string) => [...text].some((ch) => ch.charCodeAt(0) < 0x20);

test("hostile --matrix, --wave, --max-wave and --branch values are refused as usage errors, shown escaped, before any output", (t) => {
    const dir = project(t);
    const s = fakeServices(fakeAws().aws, { PATH: process.env.PATH });
    for (const v of ["-1", "0", "21", "1.5", "1e1", " 1", "1\n", "\u001b[2J", "999999999999"]) {
        const e = t.throws(() => waveOption("--wave", v), { instanceOf: DriverError }, JSON.stringify(v));
        t.is(e.exitCode, Exit.USAGE);
        t.false(hasControl(e.message), "no raw control character in the message");
    }
    t.is(waveOption("--wave", "20"), 20);
    t.is(waveOption("--wave", undefined), undefined);
    const format = t.throws(() => planMatrix({ cwd: dir, format: "github\u001b]8;;x\u0007", branch: "main" }, s), {
        instanceOf: DriverError,
    });
    t.is(format.exitCode, Exit.USAGE);
    t.regex(format.message, /\\u001b\]8;;x\\u0007/);
    for (const branch of ["main\u001b[2J", "refs/tags/main", "main..x", "-x"]) {
        const e = t.throws(() => planMatrix({ cwd: dir, format: "github", branch }, s), { instanceOf: DriverError });
        t.is(e.exitCode, Exit.USAGE, JSON.stringify(branch));
        t.false(hasControl(e.message), "no raw control character in the message");
    }
});
