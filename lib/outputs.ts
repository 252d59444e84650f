/**
 * The deploy-role stack's outputs: the contract between the Pulumi program (index.ts), which
 * exports them, and the CI driver (automation/outputs.ts), which reads and checks them before each
 * deploy. One type and one list of names; the program, the driver and the test helpers build on
 * them. Pure.
 */
import type { Input } from "@pulumi/pulumi";
import type { StackConfig } from "./config/types";

/** The outputs as the driver reads them. None is secret: CI needs no stack passphrase. */
export interface DeployRoleOutputs {
    deployRoleArn: string;
    deployRoleName: string;
    /** The history reader: read-only access to this environment's Attini deployments (lib/historyReader.ts). */
    historyReaderArn: string;
    accountId: string;
    region: string;
    attiniEnvironment: string;
    branch: string;
    /** Whether AssumeRole needs an ExternalId (never the id itself). */
    externalIdRequired: boolean;
    /** The identity policy (JSON) the build server needs for this stack's two roles. */
    buildServerPolicy: string;
}

/** What the program returns: the same names, each value possibly still an Output. */
export type ProgramOutputs = { [K in keyof DeployRoleOutputs]: Input<DeployRoleOutputs[K]> };

/** Every output name. */
export const OUTPUT_NAMES = [
    "deployRoleArn",
    "deployRoleName",
    "historyReaderArn",
    "accountId",
    "region",
    "attiniEnvironment",
    "branch",
    "externalIdRequired",
    "buildServerPolicy",
] as const satisfies readonly (keyof DeployRoleOutputs)[];

/** The outputs that follow from the stack file alone; the driver compares them with the file to find stale outputs. */
export function configOutputs(
    c: StackConfig,
): Pick<DeployRoleOutputs, "accountId" | "region" | "attiniEnvironment" | "branch" | "externalIdRequired"> {
    return {
        accountId: c.accountId,
        region: c.region,
        attiniEnvironment: c.attiniEnvironment,
        branch: c.branch,
        externalIdRequired: c.externalIdRequired,
    };
}
