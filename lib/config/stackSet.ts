/**
 * Rules across stack files: promotion links that name stacks and end, and the targets of each
 * branch. Several stacks may share a branch: each is one target (its own account, region, Attini
 * environment, deploy role, history reader and ledger), so no two stacks may make the same
 * resource, and a target promoted from another on its own branch deploys in a later wave.
 */
import { GITHUB_OIDC_HOST, githubOidcProviderArn } from "../arns";
import { ledgerTableName } from "../ledger";
import { ConfigError } from "./errors";
import { PROJECT, type StackConfig } from "./types";
import { MAX_WAVE } from "./wave";

/** What the cross-stack rules look at in each stack. */
export type StackLink = Pick<StackConfig, "stack" | "branch" | "promotedFrom">;

/**
 * Rules that span stacks: promotion links name existing stacks without forming a cycle. (Several
 * stacks may share a branch: validateTargets checks them.) `stackNames` are all the stacks there are (by default
 * the linked ones), including any whose file could not be read.
 */
export function validateStackSet(
    configs: readonly StackLink[],
    stackNames: readonly string[] = configs.map((c) => c.stack),
): ConfigError[] {
    const errors: ConfigError[] = [];
    const names = new Set(stackNames);
    for (const c of configs) {
        if (c.promotedFrom === undefined) continue;
        if (!names.has(c.promotedFrom)) {
            errors.push(
                new ConfigError(
                    c.stack,
                    `${PROJECT}:promotedFrom`,
                    JSON.stringify(c.promotedFrom),
                    `names no stack (known: ${[...names].join(", ")})`,
                    "name an existing stack, or remove the key",
                ),
            );
            continue;
        }
        const seen = new Set([c.stack]);
        const named = (stack: string | undefined) => configs.find((x) => x.stack === stack);
        for (let up = named(c.promotedFrom); up; up = named(up.promotedFrom)) {
            if (seen.has(up.stack)) {
                errors.push(
                    new ConfigError(
                        c.stack,
                        `${PROJECT}:promotedFrom`,
                        JSON.stringify(c.promotedFrom),
                        `forms a cycle (${[...seen, up.stack].join(" <- ")})`,
                        "make the chain end at the first environment (e.g. dev has no promotedFrom)",
                    ),
                );
                break;
            }
            seen.add(up.stack);
        }
    }
    return errors;
}

const err = (stack: string, key: string, value: string, problem: string, fix: string) =>
    new ConfigError(stack, `${PROJECT}:${key}`, value, problem, fix);

/** Pairs (earlier, later) of the stacks, in the order given: each collision is reported once, on the later one. */
function pairs<T>(xs: readonly T[]): [T, T][] {
    return xs.flatMap((a, i) => xs.slice(i + 1).map((b): [T, T] => [a, b]));
}

/**
 * Two stacks with the same account, region and Attini environment are one target twice: the same
 * Attini environment and the same ledger table (attini-gitops-ledger-<environment>, per account
 * and region), so `pulumi up` of the second would fail, and two pipelines would deploy one place.
 */
function duplicateTargets(configs: readonly StackConfig[]): ConfigError[] {
    return pairs(configs)
        .filter(([a, b]) => a.accountId === b.accountId && a.region === b.region)
        .filter(([a, b]) => a.attiniEnvironment === b.attiniEnvironment)
        .map(([a, b]) =>
            err(
                b.stack,
                "attiniEnvironment",
                JSON.stringify(b.attiniEnvironment),
                `is stack ${a.stack}'s too, in the same account ${a.accountId} and region ${a.region}: both stacks would be one target (one Attini environment, one ledger table ${ledgerTableName(a)}), which two pipelines would deploy and two \`pulumi up\` would create`,
                `give one of ${a.stack} and ${b.stack} its own Attini environment, account or region (one stack per account, region and environment)`,
            ),
        );
}

/**
 * IAM role names are unique in an account (whatever the region or path): two stacks in one account
 * whose deploy roles or history readers share a name would both create that role. The defaults
 * (attini-deploy-role-<region>, attini-history-reader-<region>) collide for two stacks in one
 * account and region.
 */
function roleCollisions(configs: readonly StackConfig[]): ConfigError[] {
    const roles = (c: StackConfig) => [
        { key: "roleName", name: c.roleName },
        { key: "historyReaderRoleName", name: c.historyReader.roleName },
    ];
    return pairs(configs)
        .filter(([a, b]) => a.accountId === b.accountId && a.partition === b.partition)
        .flatMap(([a, b]) =>
            roles(b).flatMap(({ key, name }) => {
                const theirs = roles(a).find((x) => x.name === name);
                if (!theirs) return [];
                const suggestion = `${key === "roleName" ? "attini-deploy-role" : "attini-history-reader"}-${b.region}-${b.attiniEnvironment}`;
                return [
                    err(
                        b.stack,
                        key,
                        JSON.stringify(name),
                        `is the name of stack ${a.stack}'s ${theirs.key === "roleName" ? "deploy role" : "history reader"} in the same account ${a.accountId}; IAM role names are unique in an account, so \`pulumi up\` of both stacks would make (or take over) one role`,
                        `set ${key} to a name of its own in Pulumi.${b.stack}.yaml, e.g. \`pulumi config set ${key} ${suggestion.slice(0, 64)} --stack ${b.stack}\`, then run pulumi up --stack ${b.stack}`,
                    ),
                ];
            }),
        );
}

/**
 * An account has one GitHub Actions OIDC provider per URL: a stack with githubRepository and no
 * githubOidcProviderArn creates it, so only one stack per account may; the others reference it.
 */
function oidcProviderCollisions(configs: readonly StackConfig[]): ConfigError[] {
    const creates = configs.filter((c) => c.githubOidc !== undefined && c.githubOidc.providerArn === undefined);
    return pairs(creates)
        .filter(([a, b]) => a.accountId === b.accountId && a.partition === b.partition)
        .map(([a, b]) =>
            err(
                b.stack,
                "githubOidcProviderArn",
                "(not set)",
                `is not set, so stack ${b.stack} would create the GitHub Actions OIDC provider of account ${b.accountId}, which stack ${a.stack} creates too; an account has one provider for ${GITHUB_OIDC_HOST}, so the second \`pulumi up\` fails`,
                `reference the provider of stack ${a.stack}: \`pulumi config set githubOidcProviderArn ${githubOidcProviderArn(b)} --stack ${b.stack}\``,
            ),
        );
}

/**
 * A target promoted from another target of its own branch (prod-us from prod-eu, both on main)
 * checks its upstream's deployment of the same commit: it must deploy in a later wave.
 */
function waveOrder(configs: readonly StackConfig[]): ConfigError[] {
    return configs.flatMap((c) => {
        const up = configs.find((x) => x.stack === c.promotedFrom);
        if (!up || up.branch !== c.branch || c.wave > up.wave) return [];
        return [
            err(
                c.stack,
                "wave",
                String(c.wave),
                `is not after the wave of stack ${up.stack} (${up.wave}), which ${c.stack} is promoted from on the same branch ${c.branch}: its promotion gate would check a deployment of ${up.stack} that has not happened yet`,
                up.wave < MAX_WAVE
                    ? `set wave to ${up.wave + 1} (\`pulumi config set wave ${up.wave + 1} --stack ${c.stack}\`), or promote ${c.stack} from another branch's stack`
                    : `lower the wave of ${up.stack}, then give ${c.stack} a later one`,
            ),
        ];
    });
}

/**
 * The targets of every branch (valid stacks only): no two stacks make the same resource (one
 * account, region and Attini environment; an IAM role name in one account; an account's GitHub
 * OIDC provider), and a target promoted from another on its own branch deploys in a later wave.
 */
export function validateTargets(configs: readonly StackConfig[]): ConfigError[] {
    return [
        ...duplicateTargets(configs),
        ...roleCollisions(configs),
        ...oidcProviderCollisions(configs),
        ...waveOrder(configs),
    ];
}
