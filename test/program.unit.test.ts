// The real program (index.ts) under Pulumi's mocks, with each shipped stack file's own config.
import test from "ava";
import { engineConfigOf, isSecretInput, type Registered, runProgram } from "./support/program";

const SHIPPED = [
    { stack: "dev", account: "111111111111", branch: "dev", env: "dev", gate: "off" },
    { stack: "stage", account: "222222222222", branch: "stage", env: "acc", gate: "warn", up: "dev" },
    { stack: "prod", account: "333333333333", branch: "main", env: "prod", gate: "enforce", up: "stage" },
];
const BUILD_SERVER = "arn:aws:iam::999999999999:role/attini-build-server";

const one = (resources: Registered[], type: string, name?: string) => {
    const found = resources.filter((r) => r.type === type && (name === undefined || r.inputs.name === name));
    if (found.length !== 1) throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}, got ${found.length}`);
    return found[0];
};
const DEPLOY_ROLE = "attini-deploy-role-eu-west-1";
const READER = "attini-history-reader-eu-west-1";
/** The one inline policy of the role named `role`. */
const inlinePolicyOf = (resources: Registered[], role: string) =>
    one(
        resources.filter((r) => r.inputs.role === role),
        "aws:iam/rolePolicy:RolePolicy",
    );
const ledgerArn = (account: string, env: string) =>
    `arn:aws:dynamodb:eu-west-1:${account}:table/attini-gitops-ledger-${env}`;

for (const s of SHIPPED) {
    test.serial(`Pulumi.${s.stack}.yaml: role, trust, Attini policy attachment and every output`, async (t) => {
        const { outputs, resources } = await runProgram(s.stack, engineConfigOf(s.stack), { callerAccount: s.account });
        const role = one(resources, "aws:iam/role:Role", DEPLOY_ROLE);
        t.is(role.inputs.name, "attini-deploy-role-eu-west-1");
        t.is(role.inputs.path, "/");
        t.is(role.inputs.maxSessionDuration, 3600);
        t.deepEqual(role.inputs.tags, {
            "attini-gitops:environment": s.env,
            "attini-gitops:branch": s.branch,
            "managed-by": "attini-gitops",
        });
        const trust = JSON.parse(role.inputs.assumeRolePolicy);
        t.deepEqual(trust.Statement, [
            {
                Sid: "BuildServerAssumeRole",
                Effect: "Allow",
                Principal: { AWS: [BUILD_SERVER] },
                Action: "sts:AssumeRole",
            },
            {
                Sid: "BuildServerAuditTrail",
                Effect: "Allow",
                Principal: { AWS: [BUILD_SERVER] },
                Action: ["sts:TagSession", "sts:SetSourceIdentity"],
            },
        ]);

        const attach = one(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment");
        t.is(attach.inputs.policyArn, `arn:aws:iam::${s.account}:policy/attini-cli-user-eu-west-1`);
        t.is(attach.inputs.role, "attini-deploy-role-eu-west-1");
        t.is(resources.filter((r) => r.type.startsWith("awsx:")).length, 0, "no audit trail unless asked for");
        t.is(one(resources, "attini-gitops:index:DeployRole").name, "deploy-role");

        // The history reader: same trust, and it may only Query this environment's deployment records
        // and read its account's deployment plan executions.
        const reader = one(resources, "aws:iam/role:Role", READER);
        t.deepEqual(JSON.parse(reader.inputs.assumeRolePolicy).Statement, trust.Statement);
        t.is(reader.inputs.maxSessionDuration, undefined);
        const readPolicy = inlinePolicyOf(resources, READER);
        t.deepEqual(JSON.parse(readPolicy.inputs.policy).Statement, [
            {
                Sid: "ReadThisEnvironmentsLedger",
                Effect: "Allow",
                Action: ["dynamodb:GetItem", "dynamodb:Query"],
                Resource: ledgerArn(s.account, s.env),
            },
            {
                Sid: "ReadThisEnvironmentsDeployments",
                Effect: "Allow",
                Action: "dynamodb:Query",
                Resource: `arn:aws:dynamodb:eu-west-1:${s.account}:table/AttiniDeployDataV1`,
                Condition: {
                    "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${s.env}-*`] },
                    Null: { "dynamodb:LeadingKeys": "false" },
                },
            },
            {
                Sid: "ReadAttiniDeploymentPlanExecutions",
                Effect: "Allow",
                Action: "states:DescribeExecution",
                Resource: `arn:aws:states:eu-west-1:${s.account}:execution:AttiniDeploymentPlanSfn*`,
            },
        ]);
        t.is(one(resources, "attini-gitops:index:HistoryReader").name, "history-reader");

        const roleArn = `arn:aws:iam::${s.account}:role/attini-deploy-role-eu-west-1`;
        const readerArn = `arn:aws:iam::${s.account}:role/${READER}`;
        t.deepEqual(Object.keys(outputs).sort(), [
            "accountId",
            "attiniEnvironment",
            "branch",
            "breakGlass",
            "buildServerPolicy",
            "deployRoleArn",
            "deployRoleName",
            "externalIdRequired",
            "freezeWindows",
            "historyReaderArn",
            "ledgerTableName",
            "promotedFrom",
            "promotionGate",
            "region",
            "requireDistributionId",
            "soakMinutes",
            "upstreamAccountId",
            "upstreamAlarms",
            "upstreamAttiniEnvironment",
            "upstreamBranch",
            "upstreamHistoryReaderArn",
            "upstreamLedgerTableName",
            "upstreamRegion",
        ]);
        // What decides what may deploy here is pinned in the outputs, upstream's identity included.
        const up = SHIPPED.find((x) => x.stack === s.up);
        t.like(outputs, {
            promotionGate: s.gate,
            requireDistributionId: true,
            soakMinutes: 0,
            breakGlass: "allowed",
            promotedFrom: up?.stack ?? "",
            upstreamBranch: up?.branch ?? "",
            upstreamAccountId: up?.account ?? "",
            upstreamRegion: up ? "eu-west-1" : "",
            upstreamAttiniEnvironment: up?.env ?? "",
            upstreamHistoryReaderArn: up ? `arn:aws:iam::${up.account}:role/${READER}` : "",
            ledgerTableName: `attini-gitops-ledger-${s.env}`,
            upstreamLedgerTableName: up ? `attini-gitops-ledger-${up.env}` : "",
            // The shipped stack files list no freeze window: pinned as an empty list.
            freezeWindows: "[]",
            upstreamAlarms: "[]",
        });
        t.is(outputs.historyReaderArn, readerArn);
        t.is(outputs.deployRoleArn, roleArn);
        t.is(outputs.deployRoleName, "attini-deploy-role-eu-west-1");
        t.is(outputs.accountId, s.account);
        t.is(outputs.region, "eu-west-1");
        t.is(outputs.attiniEnvironment, s.env);
        t.is(outputs.branch, s.branch);
        t.false(outputs.externalIdRequired);
        t.deepEqual(JSON.parse(outputs.buildServerPolicy), {
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "AssumeAttiniDeployRoles",
                    Effect: "Allow",
                    Action: ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
                    Resource: [roleArn],
                },
                {
                    Sid: "ReadAttiniDeploymentHistory",
                    Effect: "Allow",
                    Action: ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
                    Resource: [readerArn],
                },
            ],
        });
    });
}

for (const s of SHIPPED) {
    test.serial(
        `Pulumi.${s.stack}.yaml: the ledger table, kept by pulumi destroy; only the deploy role writes it`,
        async (t) => {
            const { outputs, resources, dependencies } = await runProgram(s.stack, engineConfigOf(s.stack), {
                callerAccount: s.account,
            });
            const tableArn = ledgerArn(s.account, s.env);
            const table = one(resources, "aws:dynamodb/table:Table");
            t.like(table.inputs, {
                name: `attini-gitops-ledger-${s.env}`,
                billingMode: "PAY_PER_REQUEST",
                hashKey: "distribution",
                rangeKey: "entry",
                deletionProtectionEnabled: true,
                pointInTimeRecovery: { enabled: true },
                serverSideEncryption: { enabled: true },
            });
            t.deepEqual(table.inputs.attributes, [
                { name: "distribution", type: "S" },
                { name: "entry", type: "S" },
            ]);
            t.deepEqual(table.inputs.tags, {
                "attini-gitops:environment": s.env,
                "attini-gitops:branch": s.branch,
                "managed-by": "attini-gitops",
            });
            // pulumi destroy refuses while it is protected, and then leaves it in the account.
            t.deepEqual(table.options, { protect: true, retainOnDelete: true });
            t.is(one(resources, "attini-gitops:index:Ledger").name, "ledger");

            // Its resource policy: no one deletes, no one but this stack's deploy role writes.
            const policy = one(resources, "aws:dynamodb/resourcePolicy:ResourcePolicy");
            t.is(policy.inputs.resourceArn, tableArn);
            t.true(policy.options.retainOnDelete, "deleting the policy would lift the deny from a table that stays");
            t.deepEqual(JSON.parse(policy.inputs.policy), {
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "NothingDeletesTheLedger",
                        Effect: "Deny",
                        Principal: { AWS: "*" },
                        Action: [
                            "dynamodb:DeleteItem",
                            "dynamodb:BatchWriteItem",
                            "dynamodb:PartiQLDelete",
                            "dynamodb:DeleteTable",
                        ],
                        Resource: tableArn,
                    },
                    {
                        Sid: "OnlyTheDeployRoleWrites",
                        Effect: "Deny",
                        Principal: { AWS: "*" },
                        Action: [
                            "dynamodb:PutItem",
                            "dynamodb:UpdateItem",
                            "dynamodb:PartiQLInsert",
                            "dynamodb:PartiQLUpdate",
                        ],
                        Resource: tableArn,
                        Condition: { ArnNotEquals: { "aws:PrincipalArn": outputs.deployRoleArn } },
                    },
                ],
            });
            t.is(outputs.deployRoleArn, `arn:aws:iam::${s.account}:role/${DEPLOY_ROLE}`);

            // The deploy role's grant: read and write this table, nothing else.
            t.deepEqual(JSON.parse(inlinePolicyOf(resources, DEPLOY_ROLE).inputs.policy), {
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "WriteThisEnvironmentsLedger",
                        Effect: "Allow",
                        Action: ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                        Resource: tableArn,
                    },
                ],
            });
            t.is(outputs.ledgerTableName, table.inputs.name);

            // Published once in place: the table's name once its resource policy is; the deploy role
            // once it can write its ledger too (and, as before, once Attini's policy is attached).
            const waitsFor = (output: string, type: string, name: string) =>
                t.true(
                    dependencies[output].some((urn) => urn.endsWith(`${type}::${name}`)),
                    `${output} waits for ${name}: ${dependencies[output].join(", ")}`,
                );
            waitsFor("ledgerTableName", "aws:dynamodb/table:Table", "ledger");
            waitsFor("ledgerTableName", "aws:dynamodb/resourcePolicy:ResourcePolicy", "ledger-policy");
            for (const output of ["deployRoleArn", "buildServerPolicy"]) {
                waitsFor(output, "aws:dynamodb/resourcePolicy:ResourcePolicy", "ledger-policy");
                waitsFor(output, "aws:iam/rolePolicy:RolePolicy", "deploy-role-ledger");
                waitsFor(output, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "deploy-role-attini-cli-user");
            }
        },
    );
}

test.serial(
    "credentials for another account: the program stops before creating anything and names both accounts",
    async (t) => {
        const resources: Registered[] = [];
        const err = await t.throwsAsync(
            runProgram("prod", engineConfigOf("prod"), { callerAccount: "111111111111" }, resources),
        );
        t.deepEqual(resources, []);
        t.regex(
            err!.message,
            /stack 'prod' belongs to account 333333333333, but your AWS credentials are for account 111111111111/,
        );
        t.regex(err!.message, /Log in to account 333333333333/);
    },
);

test.serial(
    "no attini-setup stack in the account: the error says so and how to fix it, before anything is created",
    async (t) => {
        const resources: Registered[] = [];
        const err = await t.throwsAsync(
            runProgram(
                "dev",
                engineConfigOf("dev"),
                { callerAccount: "111111111111", attiniPolicyExists: false },
                resources,
            ),
        );
        t.regex(
            err!.message,
            /Attini's managed policy arn:aws:iam::111111111111:policy\/attini-cli-user-eu-west-1 was not found/,
        );
        t.regex(
            err!.message,
            /Deploy Attini's setup stack \(attini-setup\) in account 111111111111, region eu-west-1 first, then run `pulumi up --stack dev` again/,
        );
        t.deepEqual(resources, []);
    },
);

test.serial("invalid config: nothing is registered and every problem is listed", async (t) => {
    const cfg = engineConfigOf("dev", { accountId: "12345", maxSessionDuration: "60" });
    const resources: Registered[] = [];
    const err = await t.throwsAsync(runProgram("dev", cfg, { callerAccount: "111111111111" }, resources));
    t.deepEqual(resources, []);
    t.regex(err!.message, /stack 'dev', key 'attini-gitops:accountId' = "12345": must be a 12-digit AWS account id/);
    t.regex(err!.message, /key 'attini-gitops:maxSessionDuration' = "60": must be between 3600 and 43200/);
});

test.serial(
    "ExternalId, OIDC and audit trail: condition, pinned GitHub subject, provider and awsx trail; the id never reaches an output",
    async (t) => {
        const cfg = engineConfigOf("prod", {
            externalId: "ext-id-4242",
            githubRepository: "acme/platform",
            historyReaderBranches: JSON.stringify(["release"]),
            auditTrail: "true",
            maxSessionDuration: "7200",
            rolePath: "/attini/",
            permissionsBoundaryArn: "arn:aws:iam::333333333333:policy/deploy-boundary",
        });
        const { outputs, resources } = await runProgram("prod", cfg, { callerAccount: "333333333333" });
        const role = one(resources, "aws:iam/role:Role", DEPLOY_ROLE);
        t.is(role.inputs.path, "/attini/");
        t.is(role.inputs.maxSessionDuration, 7200);
        t.is(role.inputs.permissionsBoundary, "arn:aws:iam::333333333333:policy/deploy-boundary");
        // The trust policy carries the ExternalId, so Pulumi must store it encrypted.
        t.true(isSecretInput(role.inputs.assumeRolePolicy));
        const trust = JSON.parse(role.inputs.assumeRolePolicy.value);
        t.deepEqual(trust.Statement[0].Condition, { StringEquals: { "sts:ExternalId": "ext-id-4242" } });
        t.deepEqual(trust.Statement[2], {
            Sid: "GithubActionsOnBranch",
            Effect: "Allow",
            Principal: { Federated: "arn:aws:iam::333333333333:oidc-provider/token.actions.githubusercontent.com" },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: {
                StringEquals: {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": "repo:acme/platform:ref:refs/heads/main",
                },
            },
        });
        // The reader: the same ExternalId, kept secret; GitHub jobs on main and on the branches listed.
        const reader = one(resources, "aws:iam/role:Role", READER);
        t.true(isSecretInput(reader.inputs.assumeRolePolicy));
        const readerTrust = JSON.parse(reader.inputs.assumeRolePolicy.value);
        t.deepEqual(readerTrust.Statement[0].Condition, { StringEquals: { "sts:ExternalId": "ext-id-4242" } });
        t.deepEqual(readerTrust.Statement[2].Condition.StringEquals["token.actions.githubusercontent.com:sub"], [
            "repo:acme/platform:ref:refs/heads/main",
            "repo:acme/platform:ref:refs/heads/release",
        ]);
        t.is(reader.inputs.path, "/attini/");
        t.is(reader.inputs.permissionsBoundary, "arn:aws:iam::333333333333:policy/deploy-boundary");
        const oidc = one(resources, "aws:iam/openIdConnectProvider:OpenIdConnectProvider");
        t.is(oidc.inputs.url, "https://token.actions.githubusercontent.com");
        t.deepEqual(oidc.inputs.clientIdLists, ["sts.amazonaws.com"]);
        const trail = one(resources, "awsx:cloudtrail:Trail");
        t.true(trail.inputs.includeGlobalServiceEvents);
        t.true(outputs.deployRoleArn.endsWith(":role/attini/attini-deploy-role-eu-west-1"));
        // The ledger's one writer is the role as created, path included.
        t.is(
            JSON.parse(one(resources, "aws:dynamodb/resourcePolicy:ResourcePolicy").inputs.policy).Statement[1]
                .Condition.ArnNotEquals["aws:PrincipalArn"],
            outputs.deployRoleArn,
        );
        t.true(outputs.externalIdRequired);
        t.false(JSON.stringify(outputs).includes("ext-id-4242"));
    },
);

test.serial("an existing OIDC provider is referenced, not created", async (t) => {
    const providerArn = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com";
    const cfg = engineConfigOf("dev", { githubRepository: "acme/platform", githubOidcProviderArn: providerArn });
    const { resources } = await runProgram("dev", cfg, { callerAccount: "111111111111" });
    t.is(resources.filter((r) => r.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider").length, 0);
    const trust = JSON.parse(one(resources, "aws:iam/role:Role", DEPLOY_ROLE).inputs.assumeRolePolicy);
    t.is(trust.Statement[2].Principal.Federated, providerArn);
    t.is(
        trust.Statement[2].Condition.StringEquals["token.actions.githubusercontent.com:sub"],
        "repo:acme/platform:ref:refs/heads/dev",
    );
    t.is(
        JSON.parse(one(resources, "aws:iam/role:Role", READER).inputs.assumeRolePolicy).Statement[2].Principal
            .Federated,
        providerArn,
    );
});

test.serial(
    "freeze windows from the engine (JSON text) are pinned in the freezeWindows output; a bad one registers nothing",
    async (t) => {
        const windows = [
            { timeZone: "Europe/Stockholm", duration: "P2DT15H", cron: "0 17 * * FRI", name: "weekend" },
            { name: "holidays", start: "2026-12-23T00:00", end: "2027-01-02T00:00", timeZone: "Europe/Stockholm" },
        ];
        const { outputs } = await runProgram("dev", engineConfigOf("dev", { freezeWindows: JSON.stringify(windows) }), {
            callerAccount: "111111111111",
        });
        // Canonical: fixed key order, whatever order the stack file wrote.
        t.is(
            outputs.freezeWindows,
            '[{"name":"weekend","cron":"0 17 * * FRI","duration":"P2DT15H","timeZone":"Europe/Stockholm"},{"name":"holidays","start":"2026-12-23T00:00","end":"2027-01-02T00:00","timeZone":"Europe/Stockholm"}]',
        );
        const resources: Registered[] = [];
        const bad = engineConfigOf("dev", {
            freezeWindows: JSON.stringify([{ ...windows[0], timeZone: "Mars/Olympus" }]),
        });
        const err = await t.throwsAsync(runProgram("dev", bad, { callerAccount: "111111111111" }, resources));
        t.deepEqual(resources, []);
        t.regex(
            err!.message,
            /key 'attini-gitops:freezeWindows\[0\]\.timeZone' = "Mars\/Olympus": is not an IANA time zone/,
        );
    },
);
test("upstream alarms: stage's reader may read the alarms it lists; prod's outputs pin the alarms it lists", async (t) => {
    const alarm = "arn:aws:cloudwatch:eu-west-1:222222222222:alarm:platform-5xx";
    const stage = await runProgram("stage", engineConfigOf("stage", { historyReaderAlarms: JSON.stringify([alarm]) }), {
        callerAccount: "222222222222",
    });
    const statements = JSON.parse(inlinePolicyOf(stage.resources, READER).inputs.policy).Statement;
    t.deepEqual(statements.at(-1), {
        Sid: "ReadUpstreamAlarms",
        Effect: "Allow",
        Action: ["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"],
        Resource: [alarm],
    });
    t.is(stage.outputs.upstreamAlarms, "[]");
    const prod = await runProgram("prod", engineConfigOf("prod", { upstreamAlarms: JSON.stringify([alarm]) }), {
        callerAccount: "333333333333",
    });
    t.is(prod.outputs.upstreamAlarms, JSON.stringify([alarm]));
    t.false(
        JSON.stringify(JSON.parse(inlinePolicyOf(prod.resources, READER).inputs.policy)).includes("cloudwatch"),
        "prod's own reader is granted no alarm",
    );
});
