// Every stack-config mistake gets an error naming the stack, the key, the bad value and the fix.
import test from "ava";
import type { ConfigError } from "../lib/config/errors";
import { validateStackSet, validateTargets } from "../lib/config/stackSet";
import type { RawValue } from "../lib/config/types";
import { requireStackConfig, validateStackConfig } from "../lib/config/validate";
import { loadStacks } from "../lib/stackFiles";
import { rawConfig } from "./support/config";
import { scratchProject } from "./support/project";
import { ROOT } from "./support/tools";

const VALID: Record<string, RawValue> = {
    "aws:region": "eu-west-1",
    "aws:allowedAccountIds": ["111111111111"],
    "attini-gitops:branch": "dev",
    "attini-gitops:attiniEnvironment": "dev",
    "attini-gitops:accountId": "111111111111",
    "attini-gitops:buildServerPrincipals": ["arn:aws:iam::999999999999:role/attini-build-server"],
};

function errorsFor(changes: Record<string, RawValue>, stack = "dev"): ConfigError[] {
    return validateStackConfig(stack, rawConfig({ ...VALID, ...changes })).errors;
}

/** Exactly one error, for `key`, whose text names the stack, key, value and a fix. */
function expectOne(
    t: import("ava").ExecutionContext,
    changes: Record<string, RawValue>,
    key: string,
    value: string,
    problem: RegExp,
    fix: RegExp,
) {
    const errors = errorsFor(changes);
    t.is(errors.length, 1, errors.join("\n"));
    const e = errors[0];
    t.is(e.stack, "dev");
    t.is(e.key, key);
    t.is(e.value, value);
    t.regex(e.problem, problem);
    t.regex(e.fix, fix);
    t.true(String(e).startsWith(`stack 'dev', key '${key}' = ${value}: `));
    t.regex(String(e), /Fix: /);
}

test("a valid config yields a typed StackConfig with defaults", (t) => {
    const c = requireStackConfig("dev", rawConfig(VALID));
    t.is(c.roleName, "attini-deploy-role-eu-west-1");
    t.is(c.maxSessionDuration, 3600);
    t.is(c.rolePath, "/");
    t.false(c.externalIdRequired);
    t.is(c.partition, "aws");
    t.is(c.promotionGate, "off");
});

test("missing required key", (t) => {
    expectOne(
        t,
        { "attini-gitops:attiniEnvironment": undefined },
        "attini-gitops:attiniEnvironment",
        "(not set)",
        /is required/,
        /pulumi config set attiniEnvironment dev --stack dev/,
    );
});

test("empty branch", (t) => {
    expectOne(
        t,
        { "attini-gitops:branch": "" },
        "attini-gitops:branch",
        '""',
        /is required/,
        /pulumi config set branch dev --stack dev/,
    );
    expectOne(t, { "attini-gitops:branch": "  " }, "attini-gitops:branch", '"  "', /is empty/, /short branch name/);
});

test("malformed account id, and aws:allowedAccountIds that does not pin it", (t) => {
    const errors = errorsFor({ "attini-gitops:accountId": "1234567890" });
    t.is(errors.length, 1);
    t.regex(
        String(errors[0]),
        /key 'attini-gitops:accountId' = "1234567890": must be a 12-digit AWS account id\. Fix: quote it/,
    );
    expectOne(
        t,
        { "aws:allowedAccountIds": ["222222222222"] },
        "aws:allowedAccountIds",
        '["222222222222"]',
        /must be exactly \["111111111111"\]/,
        /aws:allowedAccountIds:\n\s+- "111111111111"/,
    );
    expectOne(
        t,
        { "aws:allowedAccountIds": undefined },
        "aws:allowedAccountIds",
        "(not set)",
        /must be exactly/,
        /aws:allowedAccountIds/,
    );
});

test("malformed, wildcard, session and whole-account principals", (t) => {
    const key = "attini-gitops:buildServerPrincipals[0]";
    expectOne(
        t,
        { "attini-gitops:buildServerPrincipals": ["arn:aws:iam::99999:role/x"] },
        key,
        '"arn:aws:iam::99999:role/x"',
        /not an IAM role or user ARN/,
        /arn:aws:iam::<12-digit account>:role\/<name>/,
    );
    expectOne(t, { "attini-gitops:buildServerPrincipals": ["*"] }, key, '"*"', /wildcard/, /role or user ARN/);
    expectOne(
        t,
        { "attini-gitops:buildServerPrincipals": ["arn:aws:iam::999999999999:role/build-*"] },
        key,
        '"arn:aws:iam::999999999999:role/build-*"',
        /wildcard/,
        /role or user ARN/,
    );
    expectOne(
        t,
        { "attini-gitops:buildServerPrincipals": ["arn:aws:iam::999999999999:root"] },
        key,
        '"arn:aws:iam::999999999999:root"',
        /trusts a whole account/,
        /allowAccountPrincipals true/,
    );
    expectOne(
        t,
        { "attini-gitops:buildServerPrincipals": ["999999999999"] },
        key,
        '"999999999999"',
        /trusts a whole account/,
        /allowAccountPrincipals true/,
    );
    expectOne(
        t,
        { "attini-gitops:buildServerPrincipals": ["arn:aws:sts::999999999999:assumed-role/b/s"] },
        key,
        '"arn:aws:sts::999999999999:assumed-role/b/s"',
        /STS session ARN/,
        /role ARN/,
    );
    t.deepEqual(
        errorsFor({
            "attini-gitops:buildServerPrincipals": ["999999999999"],
            "attini-gitops:allowAccountPrincipals": true,
        }),
        [],
    );
    expectOne(
        t,
        { "attini-gitops:buildServerPrincipals": [] },
        "attini-gitops:buildServerPrincipals",
        "[]",
        /nothing could assume/,
        /githubRepository/,
    );
});

test("region that does not match the role name; role name over 64 characters", (t) => {
    expectOne(
        t,
        { "attini-gitops:roleName": "attini-deploy-role-us-east-1" },
        "attini-gitops:roleName",
        '"attini-deploy-role-us-east-1"',
        /names region us-east-1 but the stack's aws:region is eu-west-1/,
        /attini-deploy-role-eu-west-1/,
    );
    const long = `attini-deploy-role-eu-west-1-${"x".repeat(40)}`;
    expectOne(
        t,
        { "attini-gitops:roleName": long },
        "attini-gitops:roleName",
        JSON.stringify(long),
        /is 69 characters; IAM allows at most 64/,
        /shorten it/,
    );
    expectOne(
        t,
        { "aws:region": "europe" },
        "aws:region",
        '"europe"',
        /not an AWS region/,
        /pulumi config set aws:region eu-west-1/,
    );
});

test("session duration outside 3600-43200", (t) => {
    for (const bad of [3599, 43201, "900"]) {
        expectOne(
            t,
            { "attini-gitops:maxSessionDuration": bad },
            "attini-gitops:maxSessionDuration",
            JSON.stringify(bad),
            /between 3600 and 43200/,
            /maxSessionDuration 3600/,
        );
    }
    expectOne(
        t,
        { "attini-gitops:maxSessionDuration": "an hour" },
        "attini-gitops:maxSessionDuration",
        '"an hour"',
        /whole number/,
        /maxSessionDuration 3600/,
    );
    t.deepEqual(errorsFor({ "attini-gitops:maxSessionDuration": "43200" }), []);
});

test("ExternalId: characters outside STS's set, and plain text; the value is never shown", (t) => {
    expectOne(
        t,
        { "attini-gitops:externalId": { secret: true, plaintext: "has space!" } },
        "attini-gitops:externalId",
        "(secret, not shown)",
        /2 to 1224 characters/,
        /--secret externalId/,
    );
    expectOne(
        t,
        { "attini-gitops:externalId": "in-plain-text" },
        "attini-gitops:externalId",
        '"in-plain-text"',
        /plain text/,
        /pulumi config set --secret externalId <id> --stack dev/,
    );
    const errors = errorsFor({ "attini-gitops:externalId": { secret: true, plaintext: "bad value" } });
    t.false(errors.join("\n").includes("bad value"));
    t.deepEqual(errorsFor({ "attini-gitops:externalId": { secret: true, plaintext: "Good_id-1+=,.@:/" } }), []);
});

test("GitHub OIDC settings", (t) => {
    expectOne(
        t,
        { "attini-gitops:githubRepository": "acme/*" },
        "attini-gitops:githubRepository",
        '"acme/*"',
        /exactly owner\/repo/,
        /githubRepository my-org\/my-repo/,
    );
    expectOne(
        t,
        {
            "attini-gitops:githubOidcProviderArn":
                "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com",
        },
        "attini-gitops:githubOidcProviderArn",
        '"arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"',
        /githubRepository is not/,
        /githubRepository my-org\/my-repo/,
    );
    expectOne(
        t,
        {
            "attini-gitops:githubRepository": "acme/x",
            "attini-gitops:githubOidcProviderArn":
                "arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com",
        },
        "attini-gitops:githubOidcProviderArn",
        '"arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com"',
        /not this stack's account 111111111111/,
        /remove the key/,
    );
});

test("every problem is reported, not only the first", (t) => {
    const errors = errorsFor({
        "attini-gitops:accountId": "x",
        "attini-gitops:branch": "",
        "attini-gitops:maxSessionDuration": 1,
    });
    t.deepEqual(errors.map((e) => e.key).sort(), [
        "attini-gitops:accountId",
        "attini-gitops:branch",
        "attini-gitops:maxSessionDuration",
    ]);
});

test("two stacks on one branch are its targets; the same account, region and Attini environment twice is refused", (t) => {
    const a = requireStackConfig("dev", rawConfig(VALID));
    const b = requireStackConfig("dev2", rawConfig(VALID));
    t.deepEqual(validateStackSet([a, b]), [], "sharing a branch is allowed: each stack is one target");
    const errors = validateTargets([a, b]).filter((e) => e.key === "attini-gitops:attiniEnvironment");
    t.is(errors.length, 1);
    t.regex(
        String(errors[0]),
        /^stack 'dev2', key 'attini-gitops:attiniEnvironment' = "dev": is stack dev's too, in the same account 111111111111 and region eu-west-1: .*one ledger table attini-gitops-ledger-dev.*\. Fix: give one of dev and dev2 its own Attini environment, account or region/,
    );
});

/** A scratch copy of the project (test/support/project.ts), removed after the test. */
function scratch(t: import("ava").ExecutionContext, edit: Parameters<typeof scratchProject>[0] = {}): string {
    const p = scratchProject(edit);
    t.teardown(p.dispose);
    return p.dir;
}

test("the shipped stack files are valid and map dev, stage and main", (t) => {
    const loaded = loadStacks(ROOT);
    t.deepEqual(loaded.errors.map(String), []);
    t.deepEqual(
        loaded.configs.map((c) => [c.stack, c.branch, c.attiniEnvironment, c.accountId]),
        [
            ["dev", "dev", "dev", "111111111111"],
            ["prod", "main", "prod", "333333333333"],
            ["stage", "stage", "acc", "222222222222"],
        ],
    );
});

test("stack files: a typo'd key, a wrong YAML type and a promotion cycle are all reported (a shared branch is not an error)", (t) => {
    const dir = scratch(t, {
        "Pulumi.stage.yaml": (s) =>
            s
                .replace("attini-gitops:branch: stage", "attini-gitops:branch: dev")
                .replace(
                    "attini-gitops:promotionGate: warn",
                    "attini-gitops:promotionGate: warn\n  attini-gitops:maxSesionDuration: 7200",
                ),
        "Pulumi.prod.yaml": (s) =>
            s.replace(
                "- arn:aws:iam::999999999999:role/attini-build-server",
                "arn:aws:iam::999999999999:role/attini-build-server",
            ),
        "Pulumi.dev.yaml": (s) => `${s}  attini-gitops:promotedFrom: prod\n`,
    });
    const errors = loadStacks(dir).errors.map(String);
    t.true(
        errors.some((e) =>
            e.startsWith(
                `stack 'stage', key 'attini-gitops:maxSesionDuration' = 7200: is not a key this project reads. Fix: did you mean attini-gitops:maxSessionDuration?`,
            ),
        ),
        errors.join("\n"),
    );
    t.true(
        errors.some((e) =>
            /^stack 'prod', key 'attini-gitops:buildServerPrincipals' = "arn:aws:iam::999999999999:role\/attini-build-server": must be of type array of string \(Pulumi.yaml\)/.test(
                e,
            ),
        ),
        errors.join("\n"),
    );
    t.false(
        errors.some((e) => e.includes("key 'attini-gitops:branch'")),
        `two stacks on branch dev are its targets, not an error: ${errors.join("\n")}`,
    );
    t.true(
        errors.some((e) => /^stack 'dev', key 'attini-gitops:promotedFrom' = "prod": forms a cycle/.test(e)),
        errors.join("\n"),
    );
});

test("stack files: a file that is not valid YAML gets one error with the parser's words; the others are still checked", (t) => {
    const dir = scratch(t, {
        "Pulumi.stage.yaml": (s) => s.replace("attini-gitops:branch: stage", "attini-gitops:branch: [stage"),
        "Pulumi.dev.yaml": (s) => `${s}  attini-gitops:accountId: "444444444444"\n`,
    });
    const errors = loadStacks(dir).errors.map(String);
    const stage = errors.filter((e) => e.startsWith("stack 'stage'"));
    t.is(stage.length, 1, errors.join("\n"));
    t.regex(
        stage[0],
        /^stack 'stage', key '\(file\)' = Pulumi.stage.yaml: is not valid YAML: .+\(\d+:\d+\)\. Fix: fix the syntax in Pulumi.stage.yaml$/,
    );
    t.regex(
        errors.join("\n"),
        /stack 'dev', key '\(file\)' = Pulumi.dev.yaml: is not valid YAML: duplicated mapping key/,
    );
    // prod is promoted from stage, whose file exists but cannot be read: that is not "no such stack".
    t.false(
        errors.some((e) => e.includes("names no stack")),
        errors.join("\n"),
    );
});

test("stack files: an externalId in plain text is refused, an encrypted one marks the stack as requiring it", (t) => {
    const plain = scratch(t, { "Pulumi.dev.yaml": (s) => `${s}  attini-gitops:externalId: not-so-secret\n` });
    t.regex(
        loadStacks(plain).errors.map(String).join("\n"),
        /stack 'dev', key 'attini-gitops:externalId' = "not-so-secret": is stored in plain text/,
    );
    const enc = scratch(t, { "Pulumi.dev.yaml": (s) => `${s}  attini-gitops:externalId:\n    secure: v1:abc:def\n` });
    const loaded = loadStacks(enc);
    t.deepEqual(loaded.errors.map(String), []);
    t.true(loaded.configs.find((c) => c.stack === "dev")!.externalIdRequired);
});

test("stack files: the history readers' wiring is checked across them (validate)", (t) => {
    const prodBuildServer = "arn:aws:iam::888888888888:role/prod-build-server";
    const dir = scratch(t, {
        "Pulumi.prod.yaml": (s) => s.replace("arn:aws:iam::999999999999:role/attini-build-server", prodBuildServer),
    });
    t.deepEqual(
        loadStacks(dir).errors.map((e) => [e.stack, e.key]),
        [["stage", "attini-gitops:historyReaderPrincipals"]],
    );
    const fixed = scratch(t, {
        "Pulumi.prod.yaml": (s) => s.replace("arn:aws:iam::999999999999:role/attini-build-server", prodBuildServer),
        "Pulumi.stage.yaml": (s) => `${s}  attini-gitops:historyReaderPrincipals:\n    - ${prodBuildServer}\n`,
    });
    t.deepEqual(loadStacks(fixed).errors.map(String), []);
});

/** A stack promoted from stage, with the changes. */
const PROMOTED = { "attini-gitops:promotedFrom": "stage", "attini-gitops:promotionGate": "enforce" };

test("soakMinutes and breakGlass: defaults, and a valid soak on a promoted stack", (t) => {
    const plain = requireStackConfig("dev", rawConfig(VALID));
    t.is(plain.soakMinutes, 0, "no soak time by default");
    t.is(plain.breakGlass, "allowed");
    const soaked = requireStackConfig(
        "dev",
        rawConfig({
            ...VALID,
            ...PROMOTED,
            "attini-gitops:soakMinutes": "60",
            "attini-gitops:breakGlass": "forbidden",
        }),
    );
    t.is(soaked.soakMinutes, 60, "as `pulumi config set` writes it: a string of digits");
    t.is(soaked.breakGlass, "forbidden");
    t.is(
        requireStackConfig("dev", rawConfig({ ...VALID, ...PROMOTED, "attini-gitops:soakMinutes": 43200 })).soakMinutes,
        43200,
    );
});

test("soakMinutes: negative, not whole, too large, on an unpromoted stack or with the gate off are refused with the fix", (t) => {
    const key = "attini-gitops:soakMinutes";
    expectOne(
        t,
        { ...PROMOTED, [key]: -5 },
        key,
        "-5",
        /is negative/,
        /set 0 for no soak time.*soakMinutes 60 --stack dev/,
    );
    expectOne(t, { ...PROMOTED, [key]: "-1" }, key, '"-1"', /is negative/, /pulumi config set soakMinutes/);
    expectOne(
        t,
        { ...PROMOTED, [key]: 1.5 },
        key,
        "1.5",
        /must be a whole number/,
        /pulumi config set soakMinutes 60 --stack dev/,
    );
    expectOne(t, { ...PROMOTED, [key]: "an hour" }, key, '"an hour"', /must be a whole number/, /soakMinutes 60/);
    expectOne(t, { ...PROMOTED, [key]: 43201 }, key, "43201", /more than 43200 \(30 days\)/, /at most 43200 minutes/);
    expectOne(t, { [key]: 60 }, key, "60", /promoted from no other/, /set promotedFrom.*soakMinutes 0/);
    expectOne(
        t,
        { ...PROMOTED, "attini-gitops:promotionGate": "off", [key]: 60 },
        key,
        "60",
        /promotionGate is off/,
        /promotionGate enforce/,
    );
    t.deepEqual(errorsFor({ [key]: 0 }), [], "0 (none) is fine anywhere");
});

test("breakGlass: only allowed or forbidden", (t) => {
    const key = "attini-gitops:breakGlass";
    expectOne(
        t,
        { [key]: "never" },
        key,
        '"never"',
        /must be allowed or forbidden/,
        /breakGlass forbidden --stack dev/,
    );
    expectOne(t, { [key]: true }, key, "true", /must be a string/, /breakGlass: "forbidden"/);
});
