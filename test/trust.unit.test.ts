// What the deploy role's trust really allows, evaluated by an IAM policy simulator rather than
// string-matched. @cloud-copilot/iam-simulate is AGPL and used here only, as a test tool.
import { createValidatedPolicy, validateTrustPolicy } from "@cloud-copilot/iam-policy";
import { runSimulation, runUnsafeSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import test, { type ExecutionContext } from "ava";
import { roleArn } from "../lib/arns";
import type { RawValue, StackConfig } from "../lib/config/types";
import { requireStackConfig } from "../lib/config/validate";
import { buildServerPolicy, trustPolicy } from "../lib/policies";
import { rawConfig } from "./support/config";

const TARGET = "111111111111";
const TOOLING = "999999999999";
const BUILD_SERVER = `arn:aws:iam::${TOOLING}:role/attini-build-server`;
const OTHER_IN_TOOLING = `arn:aws:iam::${TOOLING}:role/some-other-pipeline`;
const ADMIN_IN_TARGET = `arn:aws:iam::${TARGET}:role/Admin`;
const STRANGER = `arn:aws:iam::444444444444:role/attini-build-server`;
const ANY_ASSUME = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:*", Resource: "*" }] };

function config(extra: Record<string, RawValue> = {}): StackConfig {
    const raw = rawConfig({
        "aws:region": "eu-west-1",
        "aws:allowedAccountIds": [TARGET],
        "attini-gitops:branch": "main",
        "attini-gitops:attiniEnvironment": "prod",
        "attini-gitops:accountId": TARGET,
        "attini-gitops:buildServerPrincipals": [BUILD_SERVER],
        ...extra,
    });
    return requireStackConfig("prod", raw);
}

/** Evaluates one STS request against the role's trust policy and the caller's identity policy. */
async function decide(
    t: ExecutionContext,
    c: StackConfig,
    principal: string,
    action: string,
    ctx: Record<string, string>,
    identity: object,
    externalId?: string,
) {
    const sim: Simulation = {
        request: {
            principal,
            action,
            resource: { resource: roleArn(c), accountId: c.accountId },
            contextVariables: ctx,
        },
        identityPolicies: [{ name: "caller", policy: identity }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: trustPolicy(c, externalId),
    };
    const r = await runSimulation(sim, {});
    if (r.resultType === "error") return t.fail(`simulator rejected the input: ${JSON.stringify(r.errors)}`);
    if (r.resultType !== "single") return t.fail(`unexpected ${r.resultType} result`);
    t.deepEqual(r.result.ignoredContextKeys ?? [], [], "every context key must be evaluated, none ignored");
    return r.overallResult;
}

const buildServerIdentity = (c: StackConfig) => buildServerPolicy([roleArn(c)]);

test("the configured build server may assume the role, tag the session and set a source identity", async (t) => {
    const c = config();
    for (const action of ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]) {
        t.is(await decide(t, c, BUILD_SERVER, action, {}, buildServerIdentity(c)), "Allowed", action);
    }
});

test("no other principal may assume it, whatever its own policy allows", async (t) => {
    const c = config();
    for (const who of [
        OTHER_IN_TOOLING,
        ADMIN_IN_TARGET,
        STRANGER,
        `arn:aws:iam::${TOOLING}:user/alice`,
        `arn:aws:iam::${TARGET}:user/bob`,
    ]) {
        t.is(await decide(t, c, who, "sts:AssumeRole", {}, ANY_ASSUME), "ImplicitlyDenied", who);
    }
});

test("the build server's identity policy grants exactly the deploy roles, nothing else", async (t) => {
    const c = config();
    const elsewhere = { ...c, roleName: "SomethingElse" };
    const sim: Simulation = {
        request: {
            principal: BUILD_SERVER,
            action: "sts:AssumeRole",
            resource: { resource: roleArn(elsewhere), accountId: TARGET },
            contextVariables: {},
        },
        identityPolicies: [{ name: "caller", policy: buildServerIdentity(c) }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: {
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { AWS: BUILD_SERVER }, Action: "sts:AssumeRole" }],
        },
    };
    const r = await runSimulation(sim, {});
    t.is(r.resultType, "single");
    t.is(r.resultType === "single" ? r.overallResult : undefined, "ImplicitlyDenied");
});

test("with an ExternalId: the right one is allowed, a wrong or missing one is denied", async (t) => {
    const c = config({ "attini-gitops:externalId": { secret: true, plaintext: "ext-id-4242" } });
    const id = buildServerIdentity(c);
    t.is(
        await decide(t, c, BUILD_SERVER, "sts:AssumeRole", { "sts:ExternalId": "ext-id-4242" }, id, "ext-id-4242"),
        "Allowed",
    );
    t.is(
        await decide(t, c, BUILD_SERVER, "sts:AssumeRole", { "sts:ExternalId": "ext-id-4243" }, id, "ext-id-4242"),
        "ImplicitlyDenied",
    );
    t.is(await decide(t, c, BUILD_SERVER, "sts:AssumeRole", {}, id, "ext-id-4242"), "ImplicitlyDenied");
    // The id does not open the door to anyone else.
    t.is(
        await decide(
            t,
            c,
            OTHER_IN_TOOLING,
            "sts:AssumeRole",
            { "sts:ExternalId": "ext-id-4242" },
            ANY_ASSUME,
            "ext-id-4242",
        ),
        "ImplicitlyDenied",
    );
});

test("a whole-account principal (only with allowAccountPrincipals) trusts every role in that account", async (t) => {
    t.throws(() => config({ "attini-gitops:buildServerPrincipals": [TOOLING] }), { message: /trusts a whole account/ });
    const c = config({
        "attini-gitops:buildServerPrincipals": [TOOLING],
        "attini-gitops:allowAccountPrincipals": true,
    });
    t.deepEqual(trustPolicy(c).Statement[0].Principal, { AWS: [`arn:aws:iam::${TOOLING}:root`] });
    // This is why it is opt-in: any principal of the account whose own policy allows it gets in.
    t.is(await decide(t, c, OTHER_IN_TOOLING, "sts:AssumeRole", {}, ANY_ASSUME), "Allowed");
    t.is(await decide(t, c, STRANGER, "sts:AssumeRole", {}, ANY_ASSUME), "ImplicitlyDenied");
});

// GitHub's OIDC condition keys are not in the simulator's key list (its validated run ignores
// them), so these use its unsafe run over a policy validated as a trust policy.
function oidcDecision(t: ExecutionContext, c: StackConfig, claims: Record<string, string>) {
    const trust = createValidatedPolicy(trustPolicy(c), validateTrustPolicy, { name: "trust" });
    t.deepEqual(trust.errors, [], "the trust policy must validate");
    const provider = `arn:aws:iam::${TARGET}:oidc-provider/token.actions.githubusercontent.com`;
    return runUnsafeSimulation(
        {
            request: {
                principal: provider,
                action: "sts:AssumeRoleWithWebIdentity",
                resource: { resource: roleArn(c), accountId: TARGET },
                contextVariables: claims,
            },
            identityPolicies: [],
            serviceControlPolicies: [],
            resourceControlPolicies: [],
            resourcePolicy: trust,
        },
        {},
    );
}

test("GitHub OIDC: only jobs of the repository on this stack's branch, with the STS audience", (t) => {
    const c = config({ "attini-gitops:githubRepository": "acme/platform" });
    const claims = (sub: string, aud = "sts.amazonaws.com") => ({
        "token.actions.githubusercontent.com:sub": sub,
        "token.actions.githubusercontent.com:aud": aud,
    });
    t.is(oidcDecision(t, c, claims("repo:acme/platform:ref:refs/heads/main")), "Allowed");
    t.is(oidcDecision(t, c, claims("repo:acme/platform:ref:refs/heads/dev")), "ImplicitlyDenied", "another branch");
    t.is(
        oidcDecision(t, c, claims("repo:acme/platform:ref:refs/heads/main-hotfix")),
        "ImplicitlyDenied",
        "a branch with the same prefix",
    );
    t.is(oidcDecision(t, c, claims("repo:acme/platform:pull_request")), "ImplicitlyDenied", "a pull request");
    t.is(
        oidcDecision(t, c, claims("repo:evil/platform:ref:refs/heads/main")),
        "ImplicitlyDenied",
        "another repository",
    );
    t.is(
        oidcDecision(t, c, claims("repo:acme/platform:ref:refs/heads/main", "https://github.com/acme")),
        "ImplicitlyDenied",
        "another audience",
    );
    t.is(
        oidcDecision(t, c, { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" }),
        "ImplicitlyDenied",
        "no subject",
    );
});
