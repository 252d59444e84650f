// attini-gitops: one Attini deploy role per environment, trusted by the build server only, and the
// environment's deployment ledger, which only that role writes.
// Run `pulumi up --stack <dev|stage|prod>` while logged in to that environment's account.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DeployRole, findAttiniPolicy } from "./components/deployRole";
import { HistoryReader } from "./components/historyReader";
import { Ledger } from "./components/ledger";
import { assertAccount } from "./lib/accountGuard";
import { requireStackConfig } from "./lib/config/validate";
import { configFromEngine } from "./lib/engineConfig";
import { configOutputs, type ProgramOutputs } from "./lib/outputs";
import { buildServerPolicy } from "./lib/policies";
import { upstreamConfigOf } from "./lib/stackFiles";

export = async () => {
    // Every key is validated before anything is created; errors name the stack, key, value and fix.
    const config = requireStackConfig(pulumi.getStack(), configFromEngine());
    // The stack this one is promoted from: its identity is pinned in the outputs below, and the CI
    // driver trusts those outputs, not the stack files of the commit it deploys.
    const upstream = upstreamConfigOf(process.cwd(), config);

    // aws:allowedAccountIds makes the provider refuse other accounts; this says which account to log in to.
    const identity = await aws.getCallerIdentity();
    assertAccount(
        config.stack,
        config.accountId,
        identity.accountId,
        "your AWS credentials",
        `Log in to account ${config.accountId} (e.g. \`export AWS_PROFILE=<profile for ${config.accountId}>\`) and run \`pulumi up --stack ${config.stack}\` again.`,
    );

    const externalId = config.externalId === undefined ? undefined : pulumi.secret(config.externalId);
    const deployRole = new DeployRole("deploy-role", {
        config,
        attiniPolicyArn: await findAttiniPolicy(config),
        externalId,
    });
    // Read-only access to this environment's Attini deployments, for the promotion gate downstream.
    const historyReader = new HistoryReader("history-reader", {
        config,
        externalId,
        oidcProviderArn: deployRole.oidcProviderArn,
    });
    // The deployment ledger: written only by the deploy role, read by the history reader, deleted by no one.
    const ledger = new Ledger("ledger", { config, deployRoleArn: deployRole.role.arn });
    // The deploy role is published once it can write its ledger: the table exists under its resource policy.
    const deployRoleArn = pulumi.all([deployRole.roleArn, ledger.tableName]).apply(([arn]) => arn);

    // The contract with the CI driver (lib/outputs.ts), which reads these before each deploy.
    return {
        ...configOutputs(config, upstream),
        deployRoleArn,
        deployRoleName: deployRole.roleName,
        historyReaderArn: historyReader.roleArn,
        ledgerTableName: ledger.tableName,
        buildServerPolicy: pulumi
            .all([deployRoleArn, historyReader.roleArn])
            .apply(([d, r]) => JSON.stringify(buildServerPolicy([d], [r]))),
    } satisfies ProgramOutputs;
};
