import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { attiniPolicyArn } from "../lib/arns";
import type { StackConfig } from "../lib/config/types";
import { ledgerWriterStatement } from "../lib/ledger";
import { GITHUB_OIDC_URL, STS_AUDIENCE, trustPolicy } from "../lib/policies";
import { roleTags } from "../lib/tags";

/** Arguments of {@link DeployRole}. */
export interface DeployRoleArgs {
    /** The validated stack config (see lib/config/validate.ts). */
    config: StackConfig;
    /**
     * The ExternalId AssumeRole must carry, when `config.externalIdRequired`. Kept secret: it only
     * reaches the trust policy, which Pulumi stores encrypted because of it.
     */
    externalId?: pulumi.Input<string>;
    /** ARN of Attini's managed policy, as found by {@link findAttiniPolicy}. */
    attiniPolicyArn: string;
}

/**
 * Looks up Attini's managed policy `attini-cli-user-<region>`, which Attini's setup stack creates.
 * Called before any resource is created, so a missing setup stack stops `pulumi up` with the fix
 * instead of leaving a role that can deploy nothing.
 */
export async function findAttiniPolicy(c: StackConfig): Promise<string> {
    const arn = attiniPolicyArn(c);
    try {
        return (await aws.iam.getPolicy({ arn })).arn;
    } catch (err) {
        throw new Error(
            `Attini's managed policy ${arn} was not found in account ${c.accountId}. Deploy Attini's setup stack ` +
                `(attini-setup) in account ${c.accountId}, region ${c.region} first, then run \`pulumi up --stack ${c.stack}\` again. ` +
                `(lookup error: ${err instanceof Error ? err.message : String(err)})`,
        );
    }
}

/**
 * The Attini deploy role of one environment: `attini-deploy-role-<region>` with Attini's managed
 * policy `attini-cli-user-<region>` attached, trusted by the build server only (and optionally by
 * GitHub Actions jobs on this environment's branch), allowed to write its deployment ledger, plus
 * an optional CloudTrail trail.
 */
export class DeployRole extends pulumi.ComponentResource {
    public readonly role: aws.iam.Role;
    public readonly roleArn: pulumi.Output<string>;
    public readonly roleName: pulumi.Output<string>;
    /** The GitHub Actions OIDC provider the role trusts, when the stack uses GitHub OIDC. */
    public readonly oidcProviderArn?: pulumi.Output<string>;

    constructor(name: string, args: DeployRoleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("attini-gitops:index:DeployRole", name, {}, opts);
        const c = args.config;

        let oidcProviderArn: pulumi.Input<string> | undefined;
        if (c.githubOidc) {
            oidcProviderArn =
                c.githubOidc.providerArn ??
                new aws.iam.OpenIdConnectProvider(
                    `${name}-github`,
                    { url: GITHUB_OIDC_URL, clientIdLists: [STS_AUDIENCE] },
                    { parent: this },
                ).arn;
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
                tags: roleTags(c),
            },
            { parent: this },
        );

        const ready: pulumi.Resource[] = [];
        ready.push(
            new aws.iam.RolePolicyAttachment(
                `${name}-attini-cli-user`,
                { role: this.role.name, policyArn: args.attiniPolicyArn },
                { parent: this },
            ),
        );
        // Its own deployment ledger (components/ledger.ts): read, add and complete records; nothing else.
        ready.push(
            new aws.iam.RolePolicy(
                `${name}-ledger`,
                {
                    role: this.role.name,
                    policy: JSON.stringify({ Version: "2012-10-17", Statement: [ledgerWriterStatement(c)] }),
                },
                { parent: this },
            ),
        );

        if (c.auditTrail) {
            // For accounts without an organization trail: records every AssumeRole of this role
            // (STS is a global service, so global service events must be included).
            ready.push(
                new awsx.cloudtrail.Trail(
                    `${name}-audit`,
                    {
                        includeGlobalServiceEvents: true,
                        isMultiRegionTrail: true,
                        enableLogFileValidation: true,
                        enableLogging: true,
                    },
                    { parent: this },
                ),
            );
        }

        // The ARN is only published once the role can deploy (policies in place, audit trail too),
        // so the CI driver never picks up a half-made role.
        this.roleArn = pulumi.all([this.role.arn, ...ready.map((r) => r.urn)]).apply(([arn]) => arn);
        this.roleName = this.role.name;
        this.oidcProviderArn = oidcProviderArn === undefined ? undefined : pulumi.output(oidcProviderArn);
        this.registerOutputs({ roleArn: this.roleArn, roleName: this.roleName });
    }
}
