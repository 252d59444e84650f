// What an upstream environment holds once a driver has deployed some content there and Attini's
// backend has recorded it succeeded: a deployed run of that content in its ledger, and Attini's
// record of the deployment that run made. Tests of the git gate, which are not about the verified
// gate, put this in place for prod's deploys rather than run a stage deploy each time; the ledger
// end-to-end tests (ledger.test.ts) make it by deploying for real.

import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { gitIn } from "../../automation/git";
import { contentDigest } from "../../automation/ledgering";
import type { StackConfig } from "../../lib/config/types";
import { ledgerTableName } from "../../lib/ledger";
import { AttiniAccount } from "./attini";
import { LedgerView } from "./ledger";
import type { Moto } from "./moto";

/** The content digest deploy records for the committed folder `distribution` of the checkout at `dir`. */
export function treeDigest(dir: string, distribution = "distribution/platform"): string {
    const tree = execFileSync("git", ["rev-parse", `HEAD:${distribution}`], { cwd: dir, encoding: "utf8" }).trim();
    return `tree:${tree}`;
}

/** The digest deploy records for the folder when it is exactly what was committed (its tree), else undefined. */
export function treeDigestIfCommitted(dir: string, distribution = "distribution/platform"): string | undefined {
    const digest = contentDigest(
        { git: gitIn(dir) },
        { kind: "folder", distribution: path.join(dir, distribution), sha256: "-" },
    );
    return digest.startsWith("tree:") ? digest : undefined;
}

/**
 * Records in `upstream`'s environment that `digest` was deployed there just now and succeeded:
 * a ledger run, and Attini's record of it (under `distributionId`, for a zip that declares one).
 */
export async function vouch(
    moto: Moto,
    upstream: StackConfig,
    digest: string,
    { distributionName = "platform", distributionId = "vouched" } = {},
): Promise<void> {
    // Now: the newest run of this content there, and the newest deployment of its id.
    const started = Date.now();
    await new LedgerView(moto, upstream.accountId, ledgerTableName(upstream), upstream.region).put({
        distribution: { S: distributionName },
        entry: { S: `run#${String(started).padStart(15, "0")}#vouched` },
        ...(distributionId === "vouched" ? {} : { distributionId: { S: distributionId } }),
        runId: { S: "vouched" },
        environment: { S: upstream.attiniEnvironment },
        distributionName: { S: distributionName },
        commit: { S: "0".repeat(40) },
        branch: { S: upstream.branch },
        digest: { S: digest },
        sha256: { S: digest.replace(/^\w+:/, "") },
        ciSystem: { S: "local" },
        sessionName: { S: "deploy-platform" },
        sourceIdentity: { S: "test" },
        startedAt: { N: String(started) },
        endedAt: { N: String(started + 2) },
        attiniTime: { N: String(started + 1) },
        result: { S: "deployed" },
    });
    const attini = await AttiniAccount.connect(moto, upstream.accountId, upstream.region);
    try {
        await attini.ensureDeployDataTable();
        await attini.recordDeployment({
            environment: upstream.attiniEnvironment,
            distributionName,
            objectIdentifier: `${upstream.attiniEnvironment}/${distributionName}/${distributionName}.zip#vouched`,
            distributionId,
            outcome: { result: "succeeded" },
            time: started + 1,
        });
    } finally {
        attini.close();
    }
}
