/**
 * The history readers' rules: whom each stack's reader trusts, and the wiring across stack files
 * that `validate` checks (every stack promoted from another can assume that one's reader, and a
 * reader trusts nothing beyond the stacks promoted from it).
 */
import type { Trusted } from "../policies";
import { ConfigError } from "./errors";
import { PROJECT, type StackConfig } from "./types";

/**
 * Who may assume the reader: the stack's build server and the build servers of the stacks promoted
 * from it; with GitHub OIDC, jobs on the stack's own branch and on those stacks' branches.
 */
export function historyReaderTrust(c: StackConfig): Trusted {
    return {
        principals: [...c.buildServerPrincipals, ...c.historyReader.principals],
        branches: [c.branch, ...c.historyReader.branches],
    };
}

/**
 * The reader wiring across stack files: every stack promoted from another must be able to assume
 * that one's reader (its build server listed there, its branch listed there when it uses GitHub
 * OIDC), and a reader trusts nothing beyond the stacks promoted from it.
 */
export function validateHistoryReaders(configs: readonly StackConfig[]): ConfigError[] {
    const errors: ConfigError[] = [];
    for (const up of configs) {
        const downs = configs.filter((c) => c.promotedFrom === up.stack);
        const trust = historyReaderTrust(up);
        const err = (key: string, value: string, problem: string, fix: string) =>
            errors.push(new ConfigError(up.stack, `${PROJECT}:${key}`, value, problem, fix));
        for (const down of downs) {
            for (const p of down.buildServerPrincipals) {
                if (!trust.principals.includes(p)) {
                    err(
                        "historyReaderPrincipals",
                        JSON.stringify(up.historyReader.principals),
                        `does not list ${p}, the build server of stack ${down.stack} (promoted from ${up.stack}), so its promotion gate cannot read ${up.stack}'s deployments`,
                        `add "${p}" to historyReaderPrincipals in Pulumi.${up.stack}.yaml, then run pulumi up --stack ${up.stack}`,
                    );
                }
            }
            if (down.githubOidc && !up.githubOidc) {
                err(
                    "githubRepository",
                    "(not set)",
                    `is not set, but stack ${down.stack} (promoted from ${up.stack}) deploys from GitHub Actions jobs of ${down.githubOidc.repository}, whose promotion gate must read ${up.stack}'s deployments`,
                    `set githubRepository to ${down.githubOidc.repository} and historyReaderBranches to ["${down.branch}"] in Pulumi.${up.stack}.yaml`,
                );
            } else if (down.githubOidc && up.githubOidc && down.githubOidc.repository !== up.githubOidc.repository) {
                err(
                    "githubRepository",
                    JSON.stringify(up.githubOidc.repository),
                    `differs from stack ${down.stack}'s (${down.githubOidc.repository}), whose jobs must read ${up.stack}'s deployments`,
                    "use one repository for the promotion chain",
                );
            } else if (down.githubOidc && !trust.branches.includes(down.branch)) {
                err(
                    "historyReaderBranches",
                    JSON.stringify(up.historyReader.branches),
                    `does not list ${down.branch}, the branch of stack ${down.stack} (promoted from ${up.stack}), so its GitHub Actions jobs cannot read ${up.stack}'s deployments`,
                    `add "${down.branch}" to historyReaderBranches in Pulumi.${up.stack}.yaml, then run pulumi up --stack ${up.stack}`,
                );
            }
        }
        const downBranches = downs.map((d) => d.branch);
        const downPrincipals = downs.flatMap((d) => d.buildServerPrincipals);
        up.historyReader.branches.forEach((b, i) => {
            if (!downBranches.includes(b)) {
                err(
                    `historyReaderBranches[${i}]`,
                    JSON.stringify(b),
                    `lets jobs on ${b} read ${up.stack}'s deployments, but no stack promoted from ${up.stack} deploys from ${b}`,
                    downs.length ? `list only ${downBranches.join(", ")}, or remove it` : "remove it",
                );
            }
        });
        up.historyReader.principals.forEach((p, i) => {
            if (!downPrincipals.includes(p)) {
                err(
                    `historyReaderPrincipals[${i}]`,
                    JSON.stringify(p),
                    `lets ${p} read ${up.stack}'s deployments, but it is the build server of no stack promoted from ${up.stack}`,
                    "remove it",
                );
            }
        });
    }
    return errors;
}

/**
 * Attini keys an environment's deployment records `<environment>-<distribution>` in one table per
 * account and region, and IAM can limit the history reader only by a key prefix (`<environment>-*`).
 * Two environments in the same account and region where one name, followed by `-`, starts the
 * other (acc and acc-eu) would let acc's reader read acc-eu's records, and their keys can collide
 * (acc + eu-platform, acc-eu + platform). Such a pair is refused.
 */
export function validateRecordKeys(configs: readonly StackConfig[]): ConfigError[] {
    const errors: ConfigError[] = [];
    for (const a of configs)
        for (const b of configs) {
            if (a === b || a.accountId !== b.accountId || a.region !== b.region) continue;
            if (!b.attiniEnvironment.startsWith(`${a.attiniEnvironment}-`)) continue;
            errors.push(
                new ConfigError(
                    b.stack,
                    `${PROJECT}:attiniEnvironment`,
                    JSON.stringify(b.attiniEnvironment),
                    `starts with "${a.attiniEnvironment}-", and stack ${a.stack}'s environment ${a.attiniEnvironment} is in the same account ${a.accountId} and region ${a.region}: Attini keys deployment records <environment>-<distribution>, so ${a.stack}'s history reader (allowed keys ${a.attiniEnvironment}-*) could read ${b.attiniEnvironment}'s records, and the two environments' keys can collide`,
                    `rename one of the two Attini environments so that neither name followed by "-" starts the other, or keep them in different accounts or regions`,
                ),
            );
        }
    return errors;
}
