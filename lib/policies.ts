/**
 * The IAM policy documents of a deploy role, as pure functions of the validated stack config.
 * Tests evaluate these with an IAM policy simulator; the DeployRole component only wires them in.
 */
import { GITHUB_OIDC_HOST, githubOidcProviderArn } from "./arns";
import type { StackConfig } from "./config/types";

export interface PolicyStatement {
    Sid?: string;
    Effect: "Allow" | "Deny";
    Principal?: { AWS?: string | string[]; Federated?: string };
    Action: string | string[];
    Resource?: string | string[];
    Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: PolicyStatement[];
}

export const GITHUB_OIDC_URL = `https://${GITHUB_OIDC_HOST}`;
export const STS_AUDIENCE = "sts.amazonaws.com";

/** What the build server's AssumeRole call needs: the role itself, session tags and a source identity. */
export const ASSUME_ACTIONS = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"];

/** The `sub` claim a GitHub Actions job on this stack's branch presents. Never a wildcard. */
export function githubSubject(repository: string, branch: string): string {
    const sub = `repo:${repository}:ref:refs/heads/${branch}`;
    if (/[*?]/.test(sub)) throw new Error(`refusing an OIDC subject with a wildcard: ${sub}`);
    return sub;
}

/** Who a role trusts: IAM principals, and the branches whose GitHub Actions jobs may assume it. */
export interface Trusted {
    principals: readonly string[];
    branches: readonly string[];
}

/**
 * A role's trust policy: exactly the given build-server principals (with the ExternalId condition
 * when the stack requires one) and, optionally, GitHub Actions jobs of one repository running on
 * the given branches. By default, the deploy role's: the stack's build server and branch.
 *
 * @param externalId the plaintext ExternalId; required when `c.externalIdRequired`.
 * @param oidcProviderArn the provider to trust; defaults to the one in the stack's account.
 */
export function trustPolicy(
    c: StackConfig,
    externalId?: string,
    oidcProviderArn?: string,
    trusted: Trusted = { principals: c.buildServerPrincipals, branches: [c.branch] },
): PolicyDocument {
    const statements: PolicyStatement[] = [];
    const principals = trusted.principals.map((p) => (/^\d{12}$/.test(p) ? `arn:${c.partition}:iam::${p}:root` : p));
    for (const p of principals) {
        if (p.includes("*")) throw new Error(`refusing a wildcard principal in a trust policy: ${p}`);
        if (/:root$/.test(p) && !c.allowAccountPrincipals)
            throw new Error(`refusing a whole-account principal without allowAccountPrincipals: ${p}`);
    }
    if (principals.length > 0) {
        const assume: PolicyStatement = {
            Sid: "BuildServerAssumeRole",
            Effect: "Allow",
            Principal: { AWS: principals },
            Action: "sts:AssumeRole",
        };
        if (c.externalIdRequired) {
            if (!externalId)
                throw new Error(`stack ${c.stack} requires an ExternalId but none was given to the trust policy`);
            assume.Condition = { StringEquals: { "sts:ExternalId": externalId } };
        }
        // Session tags and a source identity only ever ride along with the AssumeRole above (which is
        // where the ExternalId is checked: STS does not offer sts:ExternalId on these two actions).
        statements.push(assume, {
            Sid: "BuildServerAuditTrail",
            Effect: "Allow",
            Principal: { AWS: principals },
            Action: ["sts:TagSession", "sts:SetSourceIdentity"],
        });
    }
    if (c.githubOidc && trusted.branches.length > 0) {
        const { repository } = c.githubOidc;
        statements.push({
            Sid: "GithubActionsOnBranch",
            Effect: "Allow",
            Principal: { Federated: oidcProviderArn ?? c.githubOidc.providerArn ?? githubOidcProviderArn(c) },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: {
                StringEquals: {
                    [`${GITHUB_OIDC_HOST}:aud`]: STS_AUDIENCE,
                    [`${GITHUB_OIDC_HOST}:sub`]: oneOrMany(trusted.branches.map((b) => githubSubject(repository, b))),
                },
            },
        });
    }
    if (statements.length === 0)
        throw new Error(`stack ${c.stack} trusts nobody: configure buildServerPrincipals or githubRepository`);
    return { Version: "2012-10-17", Statement: statements };
}

/** One value as itself, several as a list (the form IAM shows back). */
function oneOrMany(values: string[]): string | string[] {
    return values.length === 1 ? values[0] : values;
}

/**
 * The identity policy a build server needs to assume the given deploy roles and history readers
 * (one stack's output, or all stacks' for `attini-gitops build-server-policy`).
 */
export function buildServerPolicy(
    deployRoleArns: readonly string[],
    historyReaderArns: readonly string[] = [],
): PolicyDocument {
    const sorted = (arns: readonly string[]) => [...new Set(arns)].sort();
    if (deployRoleArns.length === 0) throw new Error("no deploy roles to grant");
    const statements: PolicyStatement[] = [
        { Sid: "AssumeAttiniDeployRoles", Effect: "Allow", Action: ASSUME_ACTIONS, Resource: sorted(deployRoleArns) },
    ];
    if (historyReaderArns.length > 0)
        statements.push({
            Sid: "ReadAttiniDeploymentHistory",
            Effect: "Allow",
            Action: ASSUME_ACTIONS,
            Resource: sorted(historyReaderArns),
        });
    return { Version: "2012-10-17", Statement: statements };
}
