import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { historyReaderTrust } from "../lib/config/readers";
import type { StackConfig } from "../lib/config/types";
import { historyReaderPolicy } from "../lib/historyReader";
import { trustPolicy } from "../lib/policies";
import { roleTags } from "../lib/tags";

/** Arguments of {@link HistoryReader}. */
export interface HistoryReaderArgs {
    /** The validated stack config (see lib/config/validate.ts). */
    config: StackConfig;
    /** The ExternalId AssumeRole must carry, when `config.externalIdRequired` (as for the deploy role). */
    externalId?: pulumi.Input<string>;
    /** The GitHub Actions OIDC provider the deploy role trusts, when the stack uses GitHub OIDC. */
    oidcProviderArn?: pulumi.Input<string>;
}

/**
 * The history reader of one environment: a role that may only Query this environment's records in
 * Attini's deployment-data table and read the status of Attini's deployment plan executions in its
 * account (lib/historyReader.ts), trusted by the build servers and GitHub
 * branches of the stacks promoted from this one. Their verified promotion gate assumes it.
 */
export class HistoryReader extends pulumi.ComponentResource {
    public readonly role: aws.iam.Role;
    public readonly roleArn: pulumi.Output<string>;

    constructor(name: string, args: HistoryReaderArgs, opts?: pulumi.ComponentResourceOptions) {
        super("attini-gitops:index:HistoryReader", name, {}, opts);
        const c = args.config;
        const assumeRolePolicy = pulumi
            .all([args.externalId, args.oidcProviderArn])
            .apply(([externalId, oidc]) => JSON.stringify(trustPolicy(c, externalId, oidc, historyReaderTrust(c))));
        this.role = new aws.iam.Role(
            name,
            {
                name: c.historyReader.roleName,
                path: c.rolePath,
                description: `Reads Attini deployments of ${c.attiniEnvironment} for the promotion gate (managed by attini-gitops)`,
                assumeRolePolicy,
                permissionsBoundary: c.permissionsBoundaryArn,
                tags: roleTags(c),
            },
            { parent: this },
        );
        const policy = new aws.iam.RolePolicy(
            `${name}-read`,
            { role: this.role.name, policy: JSON.stringify(historyReaderPolicy(c)) },
            { parent: this },
        );
        // Published once the role can read.
        this.roleArn = pulumi.all([this.role.arn, policy.urn]).apply(([arn]) => arn);
        this.registerOutputs({ roleArn: this.roleArn });
    }
}
