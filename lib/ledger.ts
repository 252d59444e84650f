/**
 * The deployment ledger: a DynamoDB table in each environment's account, created by `pulumi up`
 * beside the deploy role, where the CI driver records what it deployed there (commit, content
 * digest, run, result), holds the one-at-a-time lease, and keeps rollback holds. The upstream's
 * ledger is what the verified gate checks content against; `status` reads it.
 *
 * Why a table of the driver's own: Attini's record (AttiniDeployDataV1) knows neither the commit
 * nor the content, and anyone with attini-cli-user may write a deployment there; this one is
 * written only by the environment's deploy role.
 *
 * Pure: the table's name and keys, and what the deploy role, the history reader and everyone else
 * may do with it (the Ledger component wires them in; tests run them in the IAM simulator).
 */
import type { StackConfig } from "./config/types";
import type { PolicyDocument, PolicyStatement } from "./policies";

/** The partition key: the distribution's name (the table is the environment's own, so no prefix). */
export const LEDGER_PARTITION_KEY = "distribution";
/** The sort key: `lease`, `run#<started ms, 15 digits>#<run id>` or `hold#<digest>`. */
export const LEDGER_SORT_KEY = "entry";

/** The ledger table's name in the environment's account and region. */
export function ledgerTableName(c: Pick<StackConfig, "attiniEnvironment">): string {
    return `attini-gitops-ledger-${c.attiniEnvironment}`;
}

/** ARN of the environment's ledger table. */
export function ledgerTableArn(
    c: Pick<StackConfig, "partition" | "accountId" | "region" | "attiniEnvironment">,
): string {
    return `arn:${c.partition}:dynamodb:${c.region}:${c.accountId}:table/${ledgerTableName(c)}`;
}

/** What the deploy role does with its ledger: read, add records, complete them; never delete. */
export const LEDGER_WRITE_ACTIONS = ["dynamodb:PutItem", "dynamodb:UpdateItem"];
/** Writes through PartiQL, which IAM names apart: denied to everyone but the deploy role too. */
export const LEDGER_PARTIQL_WRITE_ACTIONS = ["dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate"];
export const LEDGER_READ_ACTIONS = ["dynamodb:GetItem", "dynamodb:Query"];
/** What removes records: nobody may, not even the deploy role. */
export const LEDGER_DELETE_ACTIONS = [
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLDelete",
    "dynamodb:DeleteTable",
];

/** The deploy role's statement on its own ledger. */
export function ledgerWriterStatement(c: StackConfig): PolicyStatement {
    return {
        Sid: "WriteThisEnvironmentsLedger",
        Effect: "Allow",
        Action: [...LEDGER_READ_ACTIONS, ...LEDGER_WRITE_ACTIONS],
        Resource: ledgerTableArn(c),
    };
}

/** The history reader's statement: read the ledger, nothing else. */
export function ledgerReaderStatement(c: StackConfig): PolicyStatement {
    return {
        Sid: "ReadThisEnvironmentsLedger",
        Effect: "Allow",
        Action: LEDGER_READ_ACTIONS,
        Resource: ledgerTableArn(c),
    };
}

/**
 * The table's resource policy: no one deletes a record or the table, and no one but the deploy
 * role writes one, whatever their identity policies allow (an account administrator can still
 * remove this policy; the table's deletion protection and point-in-time recovery remain).
 */
export function ledgerResourcePolicy(tableArn: string, deployRoleArn: string): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "NothingDeletesTheLedger",
                Effect: "Deny",
                Principal: { AWS: "*" },
                Action: LEDGER_DELETE_ACTIONS,
                Resource: tableArn,
            },
            {
                Sid: "OnlyTheDeployRoleWrites",
                Effect: "Deny",
                Principal: { AWS: "*" },
                Action: [...LEDGER_WRITE_ACTIONS, ...LEDGER_PARTIQL_WRITE_ACTIONS],
                Resource: tableArn,
                Condition: { ArnNotEquals: { "aws:PrincipalArn": deployRoleArn } },
            },
        ],
    };
}
