/**
 * What `attini-gitops status` gathers: for each environment, its branch tip beside the last
 * deployment Attini recorded there (read with the environment's history reader, all environments
 * at once), and every promotion link's state from the local clone. statusText.ts writes it out.
 */
import type { StackConfig } from "../lib/config/types";
import { type AwsTimeouts, awsDeadline, awsStep, type SourceCredentials } from "./awsCall";
import { HistoryUnreadable, type RecordedDeployment } from "./deployments";
import { type Commit, gitIn, remoteRef, tipOf } from "./git";
import { readerOf, readStackHistory } from "./history";
import { findProjectDir, loadValidStacks } from "./project";
import { type LinkStatus, linkStatus } from "./promotionLinks";
import { roleAccess, sessionTags } from "./roleSession";
import type { Services } from "./services";
import { cleanSessionName } from "./session";

/** What Attini recorded about one distribution in one environment. */
export interface DeployedState {
    distributionName: string;
    /** The newest deployment, whatever its outcome (none: never deployed there). */
    last?: RecordedDeployment;
    /** The newest successful one. */
    lastSucceeded?: RecordedDeployment;
}

export interface EnvironmentStatus {
    stack: string;
    branch: string;
    attiniEnvironment: string;
    accountId: string;
    region: string;
    /** The remote-tracking branch's newest commit (absent when it is not in this clone). */
    tip?: Commit & { ref: string };
    /** What Attini recorded, when it could be read. */
    deployed?: DeployedState;
    /** Why `deployed` is absent: no distribution named, no credentials, or the reader's error. */
    unknown?: string;
    /** The branch tip was committed after the last deployment started: the branch moved on, the environment did not. */
    movedOn?: boolean;
}

export interface StatusReport {
    environments: EnvironmentStatus[];
    links: LinkStatus[];
}

export interface StatusOptions {
    cwd: string;
    remote: string;
    /** The distribution whose deployments to show (from --distribution-name, or --dist's attini-config). */
    distributionName?: string;
    externalId?: string;
    timeouts: AwsTimeouts;
}

export async function status(o: StatusOptions, s: Services): Promise<StatusReport> {
    const projectDir = findProjectDir(o.cwd);
    const { configs } = loadValidStacks(projectDir);
    const git = gitIn(projectDir);
    const links = configs.flatMap((down) => {
        const up = configs.find((c) => c.stack === down.promotedFrom);
        return up ? [linkStatus(git, o.remote, up, down)] : [];
    });
    const deployed = await recorded(configs, o, s);
    const environments = configs.map((c, i): EnvironmentStatus => {
        const tip = tipOf(git, remoteRef(o.remote, c.branch));
        const d = deployed[i];
        const e: EnvironmentStatus = {
            stack: c.stack,
            branch: c.branch,
            attiniEnvironment: c.attiniEnvironment,
            accountId: c.accountId,
            region: c.region,
            ...d,
        };
        if (tip) e.tip = { ...tip, ref: `${o.remote}/${c.branch}` };
        if (tip && d.deployed?.last) e.movedOn = tip.time * 1000 > d.deployed.last.time;
        return e;
    });
    return { environments, links };
}

/** Each stack's deployed state, or why it is unknown; read with each stack's history reader, all at once. */
async function recorded(
    configs: readonly StackConfig[],
    o: StatusOptions,
    s: Services,
): Promise<Pick<EnvironmentStatus, "deployed" | "unknown">[]> {
    const name = o.distributionName;
    if (name === undefined)
        return configs.map(() => ({
            unknown: "not read: pass --distribution-name NAME (or --dist PATH) to show what Attini recorded",
        }));
    let source: SourceCredentials;
    try {
        source = await s.aws.findSourceCredentials(awsDeadline(o.timeouts));
    } catch (e) {
        const why = `not read: ${(e as Error).message}`;
        return configs.map(() => ({ unknown: why }));
    }
    return Promise.all(
        configs.map(async (c) => {
            try {
                const access = roleAccess({
                    env: s.env,
                    branch: c.branch,
                    sessionName: cleanSessionName(`status-${name}`),
                    externalId: o.externalId,
                    tags: sessionTags(c),
                    redact: (...secrets) => s.log.redactor.add(...secrets),
                });
                const history = await readStackHistory(
                    s.aws,
                    readerOf(c),
                    access,
                    { source },
                    awsStep(o.timeouts, c.region, (line) => s.log.info(line)),
                    { distributionName: name, until: (d) => d.status === "succeeded" },
                );
                return {
                    deployed: {
                        distributionName: name,
                        last: history[0],
                        lastSucceeded: history.find((d) => d.status === "succeeded"),
                    },
                };
            } catch (e) {
                if (!(e instanceof HistoryUnreadable)) throw e;
                return { unknown: `not read: ${e.message}` };
            }
        }),
    );
}
