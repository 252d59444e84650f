import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../lib/config/types";
import { LEDGER_PARTITION_KEY, LEDGER_SORT_KEY, ledgerResourcePolicy, ledgerTableName } from "../lib/ledger";
import { roleTags } from "../lib/tags";

/** Arguments of {@link Ledger}. */
export interface LedgerArgs {
    /** The validated stack config (see lib/config/validate.ts). */
    config: StackConfig;
    /** The environment's deploy role: the one principal the table's resource policy lets write. */
    deployRoleArn: pulumi.Input<string>;
}

/**
 * The environment's deployment ledger (lib/ledger.ts): a DynamoDB table under a resource policy
 * that lets no one delete a record or the table, and no one but the deploy role write one. The
 * deploy role's own grant is in DeployRole, the history reader's in lib/historyReader.ts.
 *
 * Why these settings: the records are the environment's history, so nothing the program does may
 * remove them. `pulumi destroy` refuses while the table is protected, and once unprotected leaves
 * the table (and its resource policy) in the account instead of deleting it; deletion protection
 * stops a DeleteTable from anywhere else, and point-in-time recovery keeps 35 days of every record
 * for whoever can remove the resource policy (an account administrator).
 */
export class Ledger extends pulumi.ComponentResource {
    public readonly table: aws.dynamodb.Table;
    /** The table's name, published once its resource policy is in place. */
    public readonly tableName: pulumi.Output<string>;

    constructor(name: string, args: LedgerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("attini-gitops:index:Ledger", name, {}, opts);
        const c = args.config;
        this.table = new aws.dynamodb.Table(
            name,
            {
                name: ledgerTableName(c),
                billingMode: "PAY_PER_REQUEST",
                hashKey: LEDGER_PARTITION_KEY,
                rangeKey: LEDGER_SORT_KEY,
                attributes: [
                    { name: LEDGER_PARTITION_KEY, type: "S" },
                    { name: LEDGER_SORT_KEY, type: "S" },
                ],
                pointInTimeRecovery: { enabled: true },
                serverSideEncryption: { enabled: true },
                deletionProtectionEnabled: true,
                tags: roleTags(c),
            },
            { parent: this, protect: true, retainOnDelete: true },
        );
        // Retained too: deleting it would lift the deny on deletes from a table that stays.
        const policy = new aws.dynamodb.ResourcePolicy(
            `${name}-policy`,
            {
                resourceArn: this.table.arn,
                policy: pulumi
                    .all([this.table.arn, args.deployRoleArn])
                    .apply(([table, role]) => JSON.stringify(ledgerResourcePolicy(table, role))),
            },
            { parent: this, retainOnDelete: true },
        );
        this.tableName = pulumi.all([this.table.name, policy.urn]).apply(([n]) => n);
        this.registerOutputs({ tableName: this.tableName });
    }
}
