// The deployment ledger (lib/ledger.ts) in the IAM policy simulator: the deploy role writes its own
// environment's ledger and no other; the history reader only reads; no one, not even an
// administrator of the account, deletes a record or the table while the resource policy stands.
import { createValidatedPolicy, validateIdentityPolicy, validateResourcePolicy } from "@cloud-copilot/iam-policy";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import test, { type ExecutionContext } from "ava";
import { historyReaderArn, roleArn } from "../lib/arns";
import type { RawValue, StackConfig } from "../lib/config/types";
import { requireStackConfig } from "../lib/config/validate";
import { historyReaderPolicy } from "../lib/historyReader";
import {
    LEDGER_DELETE_ACTIONS,
    LEDGER_PARTIQL_WRITE_ACTIONS,
    LEDGER_READ_ACTIONS,
    LEDGER_WRITE_ACTIONS,
    ledgerResourcePolicy,
    ledgerTableArn,
    ledgerWriterStatement,
} from "../lib/ledger";
import type { PolicyDocument, PolicyStatement } from "../lib/policies";
import { rawConfig } from "./support/config";

const DEV = "111111111111";
const STAGE = "222222222222";
const BUILD_SERVER = "arn:aws:iam::999999999999:role/attini-build-server";

function stack(name: string, account: string, env: string, extra: Record<string, RawValue> = {}): StackConfig {
    return requireStackConfig(
        name,
        rawConfig({
            "aws:region": "eu-west-1",
            "aws:allowedAccountIds": [account],
            "attini-gitops:branch": name,
            "attini-gitops:attiniEnvironment": env,
            "attini-gitops:accountId": account,
            "attini-gitops:buildServerPrincipals": [BUILD_SERVER],
            ...extra,
        }),
    );
}
const dev = stack("dev", DEV, "dev");
const stage = stack("stage", STAGE, "acc");

const policy = (...Statement: PolicyStatement[]): PolicyDocument => ({ Version: "2012-10-17", Statement });
const writerPolicy = (c: StackConfig) => policy(ledgerWriterStatement(c));
const DYNAMODB_ANYTHING = policy({ Effect: "Allow", Action: "dynamodb:*", Resource: "*" });
const ADMIN = policy({ Effect: "Allow", Action: "*", Resource: "*" });
/** A ledger's resource policy, as the Ledger component attaches it (writer: the stack's deploy role). */
const resourcePolicyOf = (c: StackConfig) => ledgerResourcePolicy(ledgerTableArn(c), roleArn(c));

/** Who makes a request: a role's session, as AWS sees it (aws:PrincipalArn is the role, path included). */
interface Caller {
    role: string;
    identity: PolicyDocument[];
}
const sessionOf = (role: string) => {
    const [, partition, , , account, resource] = role.split(":");
    return `arn:${partition}:sts::${account}:assumed-role/${resource.split("/").pop()}/attini-gitops-42`;
};

/**
 * One request on `c`'s ledger, with or without its resource policy. The simulator does not fill in
 * aws:PrincipalArn itself, so it is passed as AWS would: the caller's role ARN.
 */
async function decide(
    t: ExecutionContext,
    caller: Caller,
    action: string,
    c: StackConfig,
    withResourcePolicy = true,
): Promise<string> {
    const r = await runSimulation(
        {
            request: {
                principal: sessionOf(caller.role),
                action,
                resource: { resource: ledgerTableArn(c), accountId: c.accountId },
                contextVariables: { "aws:PrincipalArn": caller.role },
            },
            identityPolicies: caller.identity.map((policy, i) => ({ name: `identity-${i}`, policy })),
            serviceControlPolicies: [],
            resourceControlPolicies: [],
            ...(withResourcePolicy ? { resourcePolicy: resourcePolicyOf(c) } : {}),
        },
        {},
    );
    if (r.resultType === "error") {
        t.fail(`simulator rejected the input: ${JSON.stringify(r.errors)}`);
        return "error";
    }
    if (r.resultType !== "single") {
        t.fail(`unexpected ${r.resultType} result`);
        return "error";
    }
    t.deepEqual(r.result.ignoredContextKeys ?? [], [], "every context key must be evaluated, none ignored");
    return r.overallResult;
}

/** Every action's decision, as `{ action: result }`, so a failure shows them all. */
async function decisions(
    t: ExecutionContext,
    caller: Caller,
    actions: readonly string[],
    c: StackConfig,
    withResourcePolicy = true,
): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const a of actions) out[a] = await decide(t, caller, a, c, withResourcePolicy);
    return out;
}
const all = (actions: readonly string[], result: string) => Object.fromEntries(actions.map((a) => [a, result]));

const stageDeployRole: Caller = { role: roleArn(stage), identity: [writerPolicy(stage)] };
const devDeployRole: Caller = { role: roleArn(dev), identity: [writerPolicy(dev)] };

test("the policies are valid IAM: the writer's and reader's identity policies, the table's resource policy", (t) => {
    for (const c of [dev, stage]) {
        t.deepEqual(createValidatedPolicy(writerPolicy(c), validateIdentityPolicy).errors, []);
        t.deepEqual(createValidatedPolicy(historyReaderPolicy(c), validateIdentityPolicy).errors, []);
        t.deepEqual(createValidatedPolicy(resourcePolicyOf(c), validateResourcePolicy).errors, []);
    }
});

test("stage's deploy role reads and writes stage's ledger", async (t) => {
    const actions = [...LEDGER_READ_ACTIONS, ...LEDGER_WRITE_ACTIONS];
    t.deepEqual(await decisions(t, stageDeployRole, actions, stage), all(actions, "Allowed"));
});

test("dev's deploy role cannot write stage's ledger: another account, and the resource policy names only stage's role", async (t) => {
    // Its own grant names dev's table only, and a cross-account request needs the table to allow it.
    t.deepEqual(
        await decisions(t, devDeployRole, LEDGER_WRITE_ACTIONS, stage, false),
        all(LEDGER_WRITE_ACTIONS, "ImplicitlyDenied"),
    );
    // With the resource policy, a write by anyone but stage's deploy role is denied outright, even
    // when dev's role is granted every DynamoDB action on every table.
    const broad: Caller = { ...devDeployRole, identity: [writerPolicy(dev), DYNAMODB_ANYTHING] };
    t.deepEqual(await decisions(t, broad, LEDGER_WRITE_ACTIONS, stage), all(LEDGER_WRITE_ACTIONS, "ExplicitlyDenied"));
    // Nor can it read there: nothing in stage's account grants it.
    t.deepEqual(await decisions(t, broad, LEDGER_READ_ACTIONS, stage), all(LEDGER_READ_ACTIONS, "ImplicitlyDenied"));
});

test("another role in stage's own account, granted dynamodb:* on everything, cannot write stage's ledger", async (t) => {
    const other: Caller = { role: `arn:aws:iam::${STAGE}:role/some-other-pipeline`, identity: [DYNAMODB_ANYTHING] };
    t.deepEqual(await decisions(t, other, LEDGER_WRITE_ACTIONS, stage), all(LEDGER_WRITE_ACTIONS, "ExplicitlyDenied"));
    // PartiQL's writes are actions of their own: denied the same way (and PartiQLDelete to everyone).
    const partiql = [...LEDGER_PARTIQL_WRITE_ACTIONS, "dynamodb:PartiQLDelete"];
    t.deepEqual(await decisions(t, other, partiql, stage), all(partiql, "ExplicitlyDenied"));
    // A role of the same name on another path is another role.
    const pathed: Caller = { role: `arn:aws:iam::${STAGE}:role/x/attini-deploy-role-eu-west-1`, identity: [ADMIN] };
    t.deepEqual(await decisions(t, pathed, LEDGER_WRITE_ACTIONS, stage), all(LEDGER_WRITE_ACTIONS, "ExplicitlyDenied"));
    // What the resource policy does not do: reads are left to identity policies.
    t.deepEqual(await decisions(t, other, LEDGER_READ_ACTIONS, stage), all(LEDGER_READ_ACTIONS, "Allowed"));
});

test("stage's history reader reads stage's ledger and cannot write or delete at all", async (t) => {
    const reader: Caller = { role: historyReaderArn(stage), identity: [historyReaderPolicy(stage)] };
    t.deepEqual(await decisions(t, reader, LEDGER_READ_ACTIONS, stage), all(LEDGER_READ_ACTIONS, "Allowed"));
    const writes = [...LEDGER_WRITE_ACTIONS, ...LEDGER_DELETE_ACTIONS];
    // Its own policy grants no write, and the table denies them.
    t.deepEqual(await decisions(t, reader, writes, stage, false), all(writes, "ImplicitlyDenied"));
    t.deepEqual(await decisions(t, reader, writes, stage), all(writes, "ExplicitlyDenied"));
    t.is(await decide(t, reader, "dynamodb:Scan", stage), "ImplicitlyDenied", "a Query or GetItem, not a Scan");
    // Another environment's ledger is not its to read.
    const devReader: Caller = { role: historyReaderArn(dev), identity: [historyReaderPolicy(dev)] };
    t.deepEqual(
        await decisions(t, devReader, LEDGER_READ_ACTIONS, stage),
        all(LEDGER_READ_ACTIONS, "ImplicitlyDenied"),
    );
});

test("no one deletes a record or the table: not the deploy role, not an administrator of the account", async (t) => {
    const callers: Record<string, Caller> = {
        "stage's deploy role": stageDeployRole,
        "stage's deploy role, granted dynamodb:*": {
            ...stageDeployRole,
            identity: [writerPolicy(stage), DYNAMODB_ANYTHING],
        },
        "an administrator (*:*)": { role: `arn:aws:iam::${STAGE}:role/Admin`, identity: [ADMIN] },
    };
    for (const [who, caller] of Object.entries(callers))
        t.deepEqual(
            await decisions(t, caller, LEDGER_DELETE_ACTIONS, stage),
            all(LEDGER_DELETE_ACTIONS, "ExplicitlyDenied"),
            who,
        );
});

test("sharing an account, one environment's deploy role cannot write another's ledger: its grant names one table", async (t) => {
    // dev and stage in one account and region, so their deploy roles need different names.
    const sharedDev = stack("dev", STAGE, "dev", { "attini-gitops:roleName": "attini-dev-deploy-role-eu-west-1" });
    const sharedDevRole: Caller = { role: roleArn(sharedDev), identity: [writerPolicy(sharedDev)] };
    const actions = [...LEDGER_READ_ACTIONS, ...LEDGER_WRITE_ACTIONS];
    t.deepEqual(await decisions(t, sharedDevRole, actions, sharedDev), all(actions, "Allowed"), "its own ledger");
    t.deepEqual(
        await decisions(t, sharedDevRole, actions, stage, false),
        all(actions, "ImplicitlyDenied"),
        "stage's ledger, by its own policy alone",
    );
    t.deepEqual(
        await decisions(t, sharedDevRole, LEDGER_WRITE_ACTIONS, stage),
        all(LEDGER_WRITE_ACTIONS, "ExplicitlyDenied"),
        "stage's ledger, under stage's resource policy",
    );
    // The grant is the exact table: no wildcard reaches a table whose name starts the same.
    t.is(
        ledgerWriterStatement(sharedDev).Resource,
        `arn:aws:dynamodb:eu-west-1:${STAGE}:table/attini-gitops-ledger-dev`,
    );
    const devEu = stack("dev-eu", STAGE, "dev-eu", { "attini-gitops:roleName": "attini-deveu-deploy-role-eu-west-1" });
    t.deepEqual(await decisions(t, sharedDevRole, actions, devEu, false), all(actions, "ImplicitlyDenied"), "dev-eu");
});
