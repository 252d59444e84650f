/**
 * `attini-gitops status`: for each environment, its branch tip beside the last deployment Attini
 * recorded there (read with the environment's history reader), and every promotion link's state
 * from the local clone.
 */
import type { StackConfig } from "../lib/config/types";
import { type Aws, realAws } from "./aws";
import { type AwsTimeouts, awsDeadline, awsStep, type SourceCredentials } from "./awsCall";
import { type Commit, gitIn, remoteRef, tipOf } from "./git";
import { HistoryUnreadable, type RecordedDeployment, readStackHistory } from "./history";
import { findProjectDir, loadValidStacks } from "./project";
import { type LinkStatus, linkStatus } from "./promotion";
import { cleanSessionName, cleanTagValue, sourceIdentity } from "./session";

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
    /** Where the AWS calls go (the real AWS unless a test says otherwise). */
    aws?: Aws;
    env: NodeJS.ProcessEnv;
    log: (line: string) => void;
    /** Registers secrets with the output's redactor. */
    redact: (...secrets: string[]) => void;
}

export async function status(o: StatusOptions): Promise<StatusReport> {
    const projectDir = findProjectDir(o.cwd);
    const { configs } = loadValidStacks(projectDir);
    const git = gitIn(projectDir);
    const links = configs.flatMap((down) => {
        const up = configs.find((c) => c.stack === down.promotedFrom);
        return up ? [linkStatus(git, o.remote, up, down)] : [];
    });
    const deployed = await recorded(configs, o);
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
): Promise<Pick<EnvironmentStatus, "deployed" | "unknown">[]> {
    const name = o.distributionName;
    if (name === undefined)
        return configs.map(() => ({
            unknown: "not read: pass --distribution-name NAME (or --dist PATH) to show what Attini recorded",
        }));
    const aws = o.aws ?? realAws;
    let source: SourceCredentials;
    try {
        source = await aws.findSourceCredentials(awsDeadline(o.timeouts));
    } catch (e) {
        const why = `not read: ${(e as Error).message}`;
        return configs.map(() => ({ unknown: why }));
    }
    return Promise.all(
        configs.map(async (c) => {
            try {
                const history = await readStackHistory(
                    aws,
                    c,
                    {
                        source,
                        branch: c.branch,
                        sessionName: cleanSessionName(`status-${name}`),
                        externalId: o.externalId,
                        sourceIdentity: sourceIdentity(o.env),
                        redact: o.redact,
                        tags: {
                            "attini-gitops:stack": cleanTagValue(c.stack),
                            "attini-gitops:environment": cleanTagValue(c.attiniEnvironment),
                        },
                    },
                    awsStep(o.timeouts, c.region, o.log),
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

const plural = (n: number, word: string, words = `${word}s`) => `${n} ${n === 1 ? word : words}`;
const short = (sha: string) => sha.slice(0, 10);
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const deployment = (d: RecordedDeployment) =>
    `${d.distributionId ?? "(no id)"} at ${iso(d.time)}, ${d.status}${d.detail ? ` (${d.detail})` : ""}`;

/** How many commits of each list the text shows without --all. */
export const SHOWN_COMMITS = 10;

/** The first SHOWN_COMMITS lines (all of them with `all`), and a line saying how many more there are. */
function firstFew<T>(items: readonly T[], all: boolean, line: (item: T) => string): string[] {
    const shown = all ? items : items.slice(0, SHOWN_COMMITS);
    const rest = items.length - shown.length;
    return [
        ...shown.map(line),
        ...(rest > 0 ? [`    ... and ${plural(rest, "more commit")} (attini-gitops status --all lists them)`] : []),
    ];
}

function formatEnvironment(e: EnvironmentStatus): string[] {
    const out = [
        `${e.stack}: branch ${e.branch}, Attini environment ${e.attiniEnvironment} in account ${e.accountId} (${e.region})`,
    ];
    out.push(
        e.tip
            ? `  branch tip: ${e.tip.ref} ${short(e.tip.sha)} ${e.tip.subject} (committed ${iso(e.tip.time * 1000)})`
            : `  branch tip: unknown (${e.branch} is not in this clone; run git fetch)`,
    );
    if (!e.deployed) {
        out.push(`  deployed: unknown, ${e.unknown}`);
        return out;
    }
    const { distributionName, last, lastSucceeded } = e.deployed;
    if (!last) {
        out.push(`  deployed: ${distributionName} never deployed here`);
        return out;
    }
    out.push(`  last deployment of ${distributionName}: ${deployment(last)}`);
    if (last.status !== "succeeded")
        out.push(lastSucceeded ? `  last success: ${deployment(lastSucceeded)}` : "  last success: none recorded");
    if (e.movedOn && e.tip)
        out.push(
            `  the branch moved on, the environment did not: ${e.tip.ref} was committed after the last deployment started`,
        );
    return out;
}

export function formatStatus(report: StatusReport, now = Math.floor(Date.now() / 1000), all = false): string {
    const out: string[] = report.environments.flatMap(formatEnvironment);
    out.push("");
    if (report.links.length === 0)
        out.push("No promotion links: set promotedFrom in the stack files (e.g. prod ← stage ← dev).");
    for (const l of report.links) {
        out.push(
            `${l.upstream.stack} (${l.upstream.ref}) → ${l.downstream.stack} (${l.downstream.ref}), promotion gate: ${l.downstream.gate}`,
        );
        if (l.missing.length > 0) {
            out.push(`  unknown: ${l.missing.join(" and ")} not in this clone; run git fetch (with full history)`);
            continue;
        }
        for (const w of l.warnings) out.push(`  warning: ${w}`);
        out.push(
            l.waiting.length === 0
                ? `  waiting for promotion: none`
                : `  waiting for promotion: ${plural(l.waiting.length, "commit")}, oldest ${plural(l.oldestWaitingDays ?? 0, "day")} old`,
        );
        out.push(
            ...firstFew(
                l.waiting,
                all,
                (c) => `    ${short(c.sha)} ${c.subject} (${plural(Math.floor((now - c.time) / 86_400), "day")})`,
            ),
        );
        const hotfixes = l.downstreamOnly.filter((c) => c.kind === "hotfix").length;
        out.push(
            l.downstreamOnly.length === 0
                ? `  only in ${l.downstream.branch}, never in ${l.upstream.branch}: none`
                : `  only in ${l.downstream.branch}, never in ${l.upstream.branch}: ${plural(l.downstreamOnly.length, "commit")} (${plural(hotfixes, "hotfix", "hotfixes")}, ${plural(l.downstreamOnly.length - hotfixes, "cherry-pick")})`,
        );
        out.push(...firstFew(l.downstreamOnly, all, (c) => `    ${short(c.sha)} ${c.subject} (${c.kind})`));
        out.push(`  trees: ${l.treesEqual ? "equal" : "differ"}`);
    }
    return out.join("\n");
}
