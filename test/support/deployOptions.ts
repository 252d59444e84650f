// deploy()'s options as the command builds them from an empty command line (no flags), for the
// unit tests that call deploy() on the fake AWS: static credentials, no lease wait, --json.

import { DEFAULT_AWS_TIMEOUTS } from "../../automation/awsCall";
import type { DeployOptions } from "../../automation/deploying";

export function unitDeployOptions(
    distributionPath: string,
    attiniBin: string,
    cwd: string,
    more: Partial<DeployOptions> = {},
): DeployOptions {
    return {
        distributionPath,
        extraArgs: [],
        allowUnmapped: false,
        attiniBin,
        githubOidc: false,
        remote: "origin",
        skipPromotionCheck: false,
        durationSeconds: 3600,
        timeoutSeconds: 60,
        killGraceMs: 1000,
        staticCredentials: true,
        aws: DEFAULT_AWS_TIMEOUTS,
        outputsTimeoutMs: 10_000,
        dryRun: false,
        allowRollback: false,
        releaseHold: false,
        leaseTtlMs: 60_000,
        leaseWaitMs: 0,
        json: true,
        cwd,
        ...more,
    };
}
