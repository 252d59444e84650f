/**
 * The history reader: a role in each environment's account that may only read that environment's
 * Attini deployment records. The verified promotion gate of a downstream stack (prod) assumes the
 * upstream one's (stage's) to check that the artifact it is about to deploy succeeded there.
 *
 * Pure: what it may do (its name and ARN are in arns.ts; who it trusts, and the cross-stack wiring
 * rules that `validate` runs, are config rules in config/readers.ts). The HistoryReader component
 * (components/historyReader.ts) only wires them in.
 */
import { deployDataTableArn, deploymentPlanExecutionsArn } from "./arns";
import type { StackConfig } from "./config/types";
import { ledgerReaderStatement } from "./ledger";
import type { PolicyDocument, PolicyStatement } from "./policies";

/**
 * The upstream alarms (lib/config/alarms.ts) that the stacks promoted from this one check before a
 * promotion: their state and their state history, on exactly the alarms historyReaderAlarms lists
 * (both actions take the alarm resource, per the service authorization reference). None when it
 * lists none. Read only: no PutMetricAlarm, SetAlarmState, DeleteAlarms, no metric data.
 */
function alarmReaderStatements(c: StackConfig): PolicyStatement[] {
    if (c.historyReader.alarms.length === 0) return [];
    return [
        {
            Sid: "ReadUpstreamAlarms",
            Effect: "Allow",
            Action: ["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"],
            Resource: [...c.historyReader.alarms],
        },
    ];
}

/**
 * What the reader may do: Query the deployment-data table, for this environment's partition keys
 * only (`<environment>-<distribution>`), and DescribeExecution on Attini's deployment plans'
 * executions in its own account and region, and read the alarms it is granted. Nothing else: no write, no S3, no other table, no
 * starting or stopping of executions.
 */
export function historyReaderPolicy(c: StackConfig): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            // This environment's deployment ledger (lib/ledger.ts), read only: the one other table it reads.
            ledgerReaderStatement(c),
            {
                Sid: "ReadThisEnvironmentsDeployments",
                Effect: "Allow",
                Action: "dynamodb:Query",
                Resource: deployDataTableArn(c),
                Condition: {
                    "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${c.attiniEnvironment}-*`] },
                    Null: { "dynamodb:LeadingKeys": "false" },
                },
            },
            {
                // Where the record cannot show that every deployment plan succeeded, each plan's
                // execution's status. Step Functions has no condition key for an environment: this
                // is every Attini deployment plan's execution in the account and region.
                Sid: "ReadAttiniDeploymentPlanExecutions",
                Effect: "Allow",
                Action: "states:DescribeExecution",
                Resource: deploymentPlanExecutionsArn(c),
            },
            ...alarmReaderStatements(c),
        ],
    };
}
