import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { attiniPolicyArn, StackConfig } from "../lib/config";
import { buildServerPolicy, GITHUB_OIDC_URL, STS_AUDIENCE, trustPolicy } from "../lib/policies";

/** Arguments of {@link DeployRole}. */
export interface DeployRoleArgs {
    /** The validated stack config (see lib/config.ts). */
    config: StackConfig;
    /**
     * The ExternalId AssumeRole must carry, when `config.externalIdRequired`. Kept secret: it only
     * reaches the trust policy, which Pulumi stores encrypted because of it.
     */
    externalId?: pulumi.Input<string>;
}

/**
 * The Attini deploy role of one environment: `attini-deploy-role-<region>` with Attini's managed
 * policy `attini-cli-user-<region>` attached, trusted by the build server only (and optionally by
 * GitHub Actions jobs on this environment's branch), plus an optional CloudTrail trail.
 */
export class DeployRole extends pulumi.ComponentResource {
    public readonly role: aws.iam.Role;
    public readonly roleArn: pulumi.Output<string>;
    public readonly roleName: pulumi.Output<string>;
    /** The identity policy (JSON) the build server needs to assume this role. */
    public readonly buildServerPolicy: pulumi.Output<string>;

    constructor(name: string, args: DeployRoleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("attini-gitops:index:DeployRole", name, {}, opts);
        const c = args.config;

        // Attini's setup stack creates this policy; without it the role could deploy nothing.
        const policyArn = attiniPolicyArn(c);
        const attiniPolicy = aws.iam.getPolicy({ arn: policyArn }, { parent: this }).then(
            (p) => p.arn,
            (err: unknown) => {
                throw new Error(
                    `Attini's managed policy ${policyArn} was not found in account ${c.accountId} (${c.region}). ` +
                        `Deploy Attini's setup stack (attini-setup) in this account and region first ` +
                        `then run \`pulumi up --stack ${c.stack}\` again. (lookup error: ${err instanceof Error ? err.message : String(err)})`,
                );
            },
        );

        let oidcProviderArn: pulumi.Input<string> | undefined;
        if (c.githubOidc) {
            oidcProviderArn =
                c.githubOidc.providerArn ??
                new aws.iam.OpenIdConnectProvider(`${name}-github`, { url: GITHUB_OIDC_URL, clientIdLists: [STS_AUDIENCE] }, { parent: this }).arn;
        }

        const assumeRolePolicy = pulumi
            .all([args.externalId, oidcProviderArn])
            .apply(([externalId, oidc]) => JSON.stringify(trustPolicy(c, externalId, oidc)));

        this.role = new aws.iam.Role(
            name,
            {
                name: c.roleName,
                path: c.rolePath,
                description: `Attini deployments to ${c.attiniEnvironment} from branch ${c.branch} (managed by attini-gitops)`,
                assumeRolePolicy,
                maxSessionDuration: c.maxSessionDuration,
                permissionsBoundary: c.permissionsBoundaryArn,
                tags: { "attini-gitops:environment": c.attiniEnvironment, "attini-gitops:branch": c.branch, "managed-by": "attini-gitops" },
            },
            { parent: this },
        );

        new aws.iam.RolePolicyAttachment(`${name}-attini-cli-user`, { role: this.role.name, policyArn: attiniPolicy }, { parent: this });

        if (c.auditTrail) {
            // For accounts without an organization trail: records every AssumeRole of this role
            // (STS is a global service, so global service events must be included).
            new awsx.cloudtrail.Trail(
                `${name}-audit`,
                { includeGlobalServiceEvents: true, isMultiRegionTrail: true, enableLogFileValidation: true, enableLogging: true },
                { parent: this },
            );
        }

        this.roleArn = this.role.arn;
        this.roleName = this.role.name;
        this.buildServerPolicy = this.role.arn.apply((arn) => JSON.stringify(buildServerPolicy([arn])));
        this.registerOutputs({ roleArn: this.roleArn, roleName: this.roleName, buildServerPolicy: this.buildServerPolicy });
    }
}
