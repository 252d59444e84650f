// attini-gitops: one Attini deploy role per environment, trusted by the build server only.
// Run `pulumi up --stack <dev|stage|prod>` while logged in to that environment's account.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DeployRole, findAttiniPolicy } from "./components/deployRole";
import { assertAccount } from "./lib/accountGuard";
import { requireStackConfig } from "./lib/config";
import { configFromEngine } from "./lib/engineConfig";
import { configOutputs, ProgramOutputs } from "./lib/outputs";

export = async () => {
    // Every key is validated before anything is created; errors name the stack, key, value and fix.
    const config = requireStackConfig(pulumi.getStack(), configFromEngine());

    // aws:allowedAccountIds makes the provider refuse other accounts; this says which account to log in to.
    const identity = await aws.getCallerIdentity();
    assertAccount(config.stack, config.accountId, identity.accountId, "your AWS credentials",
        `Log in to account ${config.accountId} (e.g. \`export AWS_PROFILE=<profile for ${config.accountId}>\`) and run \`pulumi up --stack ${config.stack}\` again.`);

    const deployRole = new DeployRole("deploy-role", {
        config,
        attiniPolicyArn: await findAttiniPolicy(config),
        externalId: config.externalId === undefined ? undefined : pulumi.secret(config.externalId),
    });

    // The contract with the CI driver (lib/outputs.ts), which reads these before each deploy.
    return {
        deployRoleArn: deployRole.roleArn,
        deployRoleName: deployRole.roleName,
        ...configOutputs(config),
        buildServerPolicy: deployRole.buildServerPolicy,
    } satisfies ProgramOutputs;
};
