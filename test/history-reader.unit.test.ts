// The history reader (lib/historyReader.ts): its keys, the wiring across stack files that
// `validate` checks, and, in the IAM policy simulator, who may assume it and what it may do.
import { createValidatedPolicy, validateTrustPolicy } from "@cloud-copilot/iam-policy";
import { runSimulation, runUnsafeSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import test, { type ExecutionContext } from "ava";
import { deployDataTableArn, historyReaderArn } from "../lib/arns";
import { historyReaderTrust, validateHistoryReaders } from "../lib/config/readers";
import type { RawValue, StackConfig } from "../lib/config/types";
import { requireStackConfig, validateStackConfig } from "../lib/config/validate";
import { historyReaderPolicy } from "../lib/historyReader";
import { buildServerPolicy, trustPolicy } from "../lib/policies";
import { rawConfig } from "./support/config";

const STAGE = "222222222222";
const BUILD_SERVER = "arn:aws:iam::999999999999:role/attini-build-server";
const PROD_BUILD_SERVER = "arn:aws:iam::888888888888:role/prod-build-server";
const STRANGER = "arn:aws:iam::999999999999:role/some-other-pipeline";
const ANY = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };

function stack(
    name: string,
    account: string,
    branch: string,
    env: string,
    extra: Record<string, RawValue> = {},
): StackConfig {
    return requireStackConfig(
        name,
        rawConfig({
            "aws:region": "eu-west-1",
            "aws:allowedAccountIds": [account],
            "attini-gitops:branch": branch,
            "attini-gitops:attiniEnvironment": env,
            "attini-gitops:accountId": account,
            "attini-gitops:buildServerPrincipals": [BUILD_SERVER],
            ...extra,
        }),
    );
}
const stage = (extra: Record<string, RawValue> = {}) => stack("stage", STAGE, "stage", "acc", extra);
const prod = (extra: Record<string, RawValue> = {}) =>
    stack("prod", "333333333333", "main", "prod", { "attini-gitops:promotedFrom": "stage", ...extra });

test("defaults: attini-history-reader-<region> on the deploy role's path, trusted like the deploy role", (t) => {
    const c = stage({ "attini-gitops:rolePath": "/attini/" });
    t.is(c.historyReader.roleName, "attini-history-reader-eu-west-1");
    t.is(historyReaderArn(c), `arn:aws:iam::${STAGE}:role/attini/attini-history-reader-eu-west-1`);
    t.deepEqual(historyReaderTrust(c), { principals: [BUILD_SERVER], branches: ["stage"] });
});

test("one build server and no OIDC: nothing to wire", (t) => {
    t.deepEqual(validateHistoryReaders([stage(), prod()]).map(String), []);
});

test("prod's own build server must be listed in stage's historyReaderPrincipals", (t) => {
    const errors = validateHistoryReaders([
        stage(),
        prod({ "attini-gitops:buildServerPrincipals": [PROD_BUILD_SERVER] }),
    ]);
    t.deepEqual(errors.map(String), [
        `stack 'stage', key 'attini-gitops:historyReaderPrincipals' = []: does not list ${PROD_BUILD_SERVER}, the build server of stack prod (promoted from stage), so its promotion gate cannot read stage's deployments. Fix: add "${PROD_BUILD_SERVER}" to historyReaderPrincipals in Pulumi.stage.yaml, then run pulumi up --stack stage`,
    ]);
    const fixed = stage({ "attini-gitops:historyReaderPrincipals": [PROD_BUILD_SERVER] });
    t.deepEqual(
        validateHistoryReaders([fixed, prod({ "attini-gitops:buildServerPrincipals": [PROD_BUILD_SERVER] })]),
        [],
    );
    // Listed, but no stack promoted from stage uses it: refused, it would only widen the trust.
    t.deepEqual(
        validateHistoryReaders([fixed, prod()]).map((e) => [e.stack, e.key]),
        [["stage", "attini-gitops:historyReaderPrincipals[0]"]],
    );
});

test("with GitHub OIDC, stage's reader must trust jobs on main, and only on branches promoted from stage", (t) => {
    const oidcProd = prod({ "attini-gitops:githubRepository": "acme/platform" });
    const noOidc = validateHistoryReaders([stage(), oidcProd]);
    t.deepEqual(
        noOidc.map((e) => [e.stack, e.key]),
        [["stage", "attini-gitops:githubRepository"]],
    );
    t.regex(
        noOidc[0].fix,
        /set githubRepository to acme\/platform and historyReaderBranches to \["main"\] in Pulumi.stage.yaml/,
    );

    const missing = validateHistoryReaders([stage({ "attini-gitops:githubRepository": "acme/platform" }), oidcProd]);
    t.deepEqual(missing.map(String), [
        `stack 'stage', key 'attini-gitops:historyReaderBranches' = []: does not list main, the branch of stack prod (promoted from stage), so its GitHub Actions jobs cannot read stage's deployments. Fix: add "main" to historyReaderBranches in Pulumi.stage.yaml, then run pulumi up --stack stage`,
    ]);
    const wired = stage({
        "attini-gitops:githubRepository": "acme/platform",
        "attini-gitops:historyReaderBranches": ["main"],
    });
    t.deepEqual(validateHistoryReaders([wired, oidcProd]), []);
    t.deepEqual(historyReaderTrust(wired).branches, ["stage", "main"]);

    const extra = validateHistoryReaders([
        stage({
            "attini-gitops:githubRepository": "acme/platform",
            "attini-gitops:historyReaderBranches": ["main", "feature-x"],
        }),
        oidcProd,
    ]);
    t.deepEqual(extra.map(String), [
        `stack 'stage', key 'attini-gitops:historyReaderBranches[1]' = "feature-x": lets jobs on feature-x read stage's deployments, but no stack promoted from stage deploys from feature-x. Fix: list only main, or remove it`,
    ]);
    const otherRepo = validateHistoryReaders([
        stage({ "attini-gitops:githubRepository": "acme/other", "attini-gitops:historyReaderBranches": ["main"] }),
        oidcProd,
    ]);
    t.deepEqual(
        otherRepo.map((e) => e.key),
        ["attini-gitops:githubRepository"],
    );
});

test("the reader's own keys: role name, branches, principals", (t) => {
    const rawStage: Record<string, RawValue> = {
        "aws:region": "eu-west-1",
        "aws:allowedAccountIds": [STAGE],
        "attini-gitops:branch": "stage",
        "attini-gitops:attiniEnvironment": "acc",
        "attini-gitops:accountId": STAGE,
        "attini-gitops:buildServerPrincipals": [BUILD_SERVER],
    };
    const keys = (extra: Record<string, RawValue>) =>
        validateStackConfig("stage", rawConfig({ ...rawStage, ...extra })).errors.map((e) => `${e.key}: ${e.problem}`);
    t.deepEqual(keys({ "attini-gitops:historyReaderBranches": ["main"] }), [
        "attini-gitops:historyReaderBranches: is set but githubRepository is not, so no GitHub Actions job could be trusted",
    ]);
    t.deepEqual(keys({ "attini-gitops:githubRepository": "acme/p", "attini-gitops:historyReaderBranches": ["rel*"] }), [
        "attini-gitops:historyReaderBranches[0]: is not a usable git branch name: it contains one of ~ ^ : ? * [ \\, which git does not allow in branch names",
    ]);
    t.deepEqual(
        keys({ "attini-gitops:githubRepository": "acme/p", "attini-gitops:historyReaderBranches": ["stage"] }),
        ["attini-gitops:historyReaderBranches[0]: is this stack's own branch, whose jobs may read its history anyway"],
    );
    t.deepEqual(keys({ "attini-gitops:historyReaderRoleName": "attini-deploy-role-eu-west-1" }), [
        "attini-gitops:historyReaderRoleName: is the deploy role's name",
    ]);
    t.deepEqual(keys({ "attini-gitops:historyReaderRoleName": "reader-us-east-1" }), [
        "attini-gitops:historyReaderRoleName: names region us-east-1 but the stack's aws:region is eu-west-1",
    ]);
    t.deepEqual(keys({ "attini-gitops:historyReaderPrincipals": ["arn:aws:iam::888888888888:role/*"] }), [
        "attini-gitops:historyReaderPrincipals[0]: contains a wildcard; a trust policy must name the build server exactly",
    ]);
    t.deepEqual(keys({ "attini-gitops:historyReaderPrincipals": [BUILD_SERVER] }), [
        "attini-gitops:historyReaderPrincipals[0]: is already in buildServerPrincipals, which the history reader trusts anyway",
    ]);
    t.deepEqual(
        keys({ "attini-gitops:historyReaderPrincipals": ["888888888888"] })[0],
        "attini-gitops:historyReaderPrincipals[0]: trusts a whole account: every principal in it whose own policy allows sts:AssumeRole could deploy",
    );
});

/** One request against the reader: its trust policy (for STS actions) or its permissions. */
async function decide(t: ExecutionContext, sim: Simulation) {
    const r = await runSimulation(sim, {});
    if (r.resultType === "error") return t.fail(`simulator rejected the input: ${JSON.stringify(r.errors)}`);
    if (r.resultType !== "single") return t.fail(`unexpected ${r.resultType} result`);
    t.deepEqual(r.result.ignoredContextKeys ?? [], [], "every context key must be evaluated, none ignored");
    return r.overallResult;
}

test("trust, in the simulator: stage's and prod's build servers may assume stage's reader; no one else", async (t) => {
    const c = stage({ "attini-gitops:historyReaderPrincipals": [PROD_BUILD_SERVER] });
    const assume = (principal: string, action: string, identity: object) =>
        decide(t, {
            request: {
                principal,
                action,
                resource: { resource: historyReaderArn(c), accountId: STAGE },
                contextVariables: {},
            },
            identityPolicies: [{ name: "caller", policy: identity }],
            serviceControlPolicies: [],
            resourceControlPolicies: [],
            resourcePolicy: trustPolicy(c, undefined, undefined, historyReaderTrust(c)),
        });
    const granted = buildServerPolicy(
        [`arn:aws:iam::${STAGE}:role/attini-deploy-role-eu-west-1`],
        [historyReaderArn(c)],
    );
    for (const who of [BUILD_SERVER, PROD_BUILD_SERVER]) {
        for (const action of ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"])
            t.is(await assume(who, action, granted), "Allowed", `${who} ${action}`);
    }
    for (const who of [
        STRANGER,
        `arn:aws:iam::${STAGE}:role/Admin`,
        "arn:aws:iam::444444444444:role/attini-build-server",
    ]) {
        t.is(await assume(who, "sts:AssumeRole", ANY), "ImplicitlyDenied", who);
    }
});

test("trust, in the simulator: with GitHub OIDC, jobs on stage and on main; not on other branches", (t) => {
    const c = stage({
        "attini-gitops:githubRepository": "acme/platform",
        "attini-gitops:historyReaderBranches": ["main"],
    });
    const trust = createValidatedPolicy(
        trustPolicy(c, undefined, undefined, historyReaderTrust(c)),
        validateTrustPolicy,
        { name: "trust" },
    );
    t.deepEqual(trust.errors, [], "the trust policy must validate");
    const job = (ref: string) =>
        runUnsafeSimulation(
            {
                request: {
                    principal: `arn:aws:iam::${STAGE}:oidc-provider/token.actions.githubusercontent.com`,
                    action: "sts:AssumeRoleWithWebIdentity",
                    resource: { resource: historyReaderArn(c), accountId: STAGE },
                    contextVariables: {
                        "token.actions.githubusercontent.com:sub": `repo:acme/platform:${ref}`,
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    },
                },
                identityPolicies: [],
                serviceControlPolicies: [],
                resourceControlPolicies: [],
                resourcePolicy: trust,
            },
            {},
        );
    t.is(job("ref:refs/heads/main"), "Allowed");
    t.is(job("ref:refs/heads/stage"), "Allowed");
    t.is(job("ref:refs/heads/dev"), "ImplicitlyDenied");
    t.is(job("pull_request"), "ImplicitlyDenied");
});

test("permissions, in the simulator: it reads this environment's deployments and cannot deploy or write", async (t) => {
    const c = stage();
    const reader = historyReaderArn(c);
    const act = (action: string, resource: string, ctx: Record<string, string | string[]> = {}) =>
        decide(t, {
            request: { principal: reader, action, resource: { resource, accountId: STAGE }, contextVariables: ctx },
            identityPolicies: [{ name: "history-reader", policy: historyReaderPolicy(c) }],
            serviceControlPolicies: [],
            resourceControlPolicies: [],
        });
    const table = deployDataTableArn(c);
    t.is(await act("dynamodb:Query", table, { "dynamodb:LeadingKeys": ["acc-platform"] }), "Allowed");
    t.is(
        await act("dynamodb:Query", table, { "dynamodb:LeadingKeys": ["prod-platform"] }),
        "ImplicitlyDenied",
        "another environment's records",
    );
    t.is(await act("dynamodb:Query", table), "ImplicitlyDenied", "a query without a partition key");
    t.is(
        await act("dynamodb:Query", `arn:aws:dynamodb:eu-west-1:${STAGE}:table/AttiniResourceStatesV1`, {
            "dynamodb:LeadingKeys": ["acc-platform"],
        }),
        "ImplicitlyDenied",
    );
    t.is(await act("dynamodb:PutItem", table, { "dynamodb:LeadingKeys": ["acc-platform"] }), "ImplicitlyDenied");
    t.is(await act("dynamodb:Scan", table), "ImplicitlyDenied");
    // It cannot deploy: attini deploys by uploading to the deployment-origin bucket.
    t.is(
        await act("s3:PutObject", `arn:aws:s3:::attini-deployment-origin-eu-west-1-${STAGE}/acc/platform/platform.zip`),
        "ImplicitlyDenied",
    );
    t.is(await act("sts:AssumeRole", `arn:aws:iam::${STAGE}:role/attini-deploy-role-eu-west-1`), "ImplicitlyDenied");
});

test("permissions, in the simulator: it reads its own account's deployment plan executions, and cannot run or stop them", async (t) => {
    const c = stage();
    const reader = historyReaderArn(c);
    const act = (action: string, resource: string, accountId = STAGE) =>
        decide(t, {
            request: { principal: reader, action, resource: { resource, accountId }, contextVariables: {} },
            identityPolicies: [{ name: "history-reader", policy: historyReaderPolicy(c) }],
            serviceControlPolicies: [],
            resourceControlPolicies: [],
        });
    const execution = (
        account: string,
        region = "eu-west-1",
        machine = "AttiniDeploymentPlanSfnPlatform-AbCdEf123456",
    ) => `arn:aws:states:${region}:${account}:execution:${machine}:0d3c8a51-6f3e-4b8e-9a51-2f1c0e7d9b10`;
    t.is(await act("states:DescribeExecution", execution(STAGE)), "Allowed");
    t.is(
        await act("states:DescribeExecution", execution("333333333333"), "333333333333"),
        "ImplicitlyDenied",
        "another account's execution",
    );
    t.is(await act("states:DescribeExecution", execution(STAGE, "us-east-1")), "ImplicitlyDenied", "another region");
    t.is(
        await act("states:DescribeExecution", execution(STAGE, "eu-west-1", "PaymentsWorkflow-AbCdEf123456")),
        "ImplicitlyDenied",
        "a state machine that is not an Attini deployment plan",
    );
    const machine = `arn:aws:states:eu-west-1:${STAGE}:stateMachine:AttiniDeploymentPlanSfnPlatform-AbCdEf123456`;
    t.is(await act("states:StartExecution", machine), "ImplicitlyDenied");
    t.is(await act("states:StopExecution", execution(STAGE)), "ImplicitlyDenied");
    t.is(await act("states:RedriveExecution", execution(STAGE)), "ImplicitlyDenied");
    t.is(await act("states:GetExecutionHistory", execution(STAGE)), "ImplicitlyDenied", "no input, output or history");
    t.is(await act("states:ListExecutions", machine), "ImplicitlyDenied");
});
