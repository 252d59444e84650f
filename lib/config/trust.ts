/**
 * Who may assume the stack's roles: build-server principals, an ExternalId, GitHub Actions jobs
 * (OIDC), and the history reader's extra principals and branches.
 */
import { ACCOUNT_ID_RE, PARTITION_PATTERN } from "../arns";
import { branchNameProblem } from "../branchName";
import { isSecret } from "./errors";
import type { ConfigReader } from "./values";

const PRINCIPAL_RE = new RegExp(
    `^arn:${PARTITION_PATTERN}:iam::(\\d{12}):(role|user)(/(?:[\\x21-\\x7E]*/)?)?([\\w+=,.@-]{1,64})$`,
);
const ROOT_RE = new RegExp(`^arn:${PARTITION_PATTERN}:iam::(\\d{12}):root$`);
const OIDC_PROVIDER_ARN_RE = new RegExp(
    `^arn:${PARTITION_PATTERN}:iam::(\\d{12}):oidc-provider/token\\.actions\\.githubusercontent\\.com$`,
);
/** The characters STS accepts in an ExternalId (AssumeRole API reference). */
export const EXTERNAL_ID_RE = /^[\w+=,.@:/-]{2,1224}$/;
const GITHUB_REPO_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;

/** A list of principals to trust: each must name one role or user exactly. */
function principalList(
    r: ConfigReader,
    key: string,
    allowAccountPrincipals: boolean | undefined,
): string[] | undefined {
    const listed = r.list(key, "arn:aws:iam::123456789012:role/build-server");
    listed?.forEach((p, i) => {
        const bad = (problem: string, fix: string) => r.failItem(key, i, p, problem, fix);
        if (listed.indexOf(p) !== i) bad("is listed twice", "remove the duplicate");
        if (p.includes("*") || p.includes("?")) {
            bad(
                "contains a wildcard; a trust policy must name the build server exactly",
                "list the build server's role or user ARN, e.g. arn:aws:iam::123456789012:role/codebuild-attini",
            );
        } else if (ACCOUNT_ID_RE.test(p) || ROOT_RE.test(p)) {
            if (!allowAccountPrincipals) {
                bad(
                    "trusts a whole account: every principal in it whose own policy allows sts:AssumeRole could deploy",
                    `name the build server's role ARN instead, or, if that is really intended, \`${r.setCmd("allowAccountPrincipals", "true")}\``,
                );
            }
        } else if (/^arn:[^:]+:sts::/.test(p)) {
            bad(
                "is an STS session ARN, which a trust policy cannot name",
                "use the role ARN (arn:aws:iam::<account>:role/<name>) that the session belongs to",
            );
        } else if (!PRINCIPAL_RE.test(p)) {
            bad(
                "is not an IAM role or user ARN",
                "use the form arn:aws:iam::<12-digit account>:role/<name> or arn:aws:iam::<account>:user/<name>",
            );
        }
    });
    return listed;
}

/** The ExternalId: required when set, and then only as a secret STS accepts. */
function externalIdRule(r: ConfigReader): { externalIdRequired: boolean; externalId?: string } {
    const externalIdRaw = r.get("externalId");
    let externalId: string | undefined;
    const externalIdRequired = externalIdRaw !== undefined && externalIdRaw !== null && externalIdRaw !== "";
    if (externalIdRequired) {
        if (!isSecret(externalIdRaw)) {
            r.fail(
                "externalId",
                "is stored in plain text in the stack file",
                `store it encrypted: \`${r.setCmd("externalId", "<id>", "--secret ")}\``,
            );
        } else if (externalIdRaw.plaintext !== undefined) {
            externalId = externalIdRaw.plaintext;
            if (!EXTERNAL_ID_RE.test(externalId)) {
                r.fail(
                    "externalId",
                    "must be 2 to 1224 characters of letters, digits and +=,.@:/- (the characters STS accepts)",
                    `set a new one: \`${r.setCmd("externalId", "<id>", "--secret ")}\``,
                );
            }
        }
    }

    return { externalIdRequired, externalId };
}

/** GitHub Actions OIDC: exactly one repository, and a provider in this stack's account. */
function githubRules(r: ConfigReader, accountId: string | undefined) {
    const githubRepository = r.str("githubRepository", false, "my-org/my-repo");
    const githubOidcProviderArn = r.str(
        "githubOidcProviderArn",
        false,
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
    );
    if (githubRepository !== undefined && !GITHUB_REPO_RE.test(githubRepository)) {
        r.fail(
            "githubRepository",
            "must be exactly owner/repo; wildcards would let other repositories assume the role",
            `run \`${r.setCmd("githubRepository", "my-org/my-repo")}\``,
        );
    }
    if (githubOidcProviderArn !== undefined) {
        const m = OIDC_PROVIDER_ARN_RE.exec(githubOidcProviderArn);
        if (!m) {
            r.fail(
                "githubOidcProviderArn",
                "is not the ARN of a GitHub Actions OIDC provider",
                "use arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com, or remove it to have the stack create the provider",
            );
        } else if (accountId && m[1] !== accountId) {
            r.fail(
                "githubOidcProviderArn",
                `is in account ${m[1]}, not this stack's account ${accountId}`,
                "reference the provider in this stack's account, or remove the key to create one",
            );
        }
        if (githubRepository === undefined) {
            r.fail(
                "githubOidcProviderArn",
                "is set but githubRepository is not, so no job could be trusted",
                `run \`${r.setCmd("githubRepository", "my-org/my-repo")}\` or remove githubOidcProviderArn`,
            );
        }
    }
    return { githubRepository, githubOidcProviderArn };
}

/** The branches whose GitHub Actions jobs may also read this stack's history. */
function readerBranchRules(r: ConfigReader, branch: string | undefined, githubRepository: string | undefined) {
    const readerBranches = r.list("historyReaderBranches", "main");
    readerBranches?.forEach((b, i) => {
        const bad = (problem: string, fix: string) => r.failItem("historyReaderBranches", i, b, problem, fix);
        const p = branchNameProblem(b);
        if (p)
            bad(
                `is not a usable git branch name: it ${p}`,
                "list the exact branches of the stacks promoted from this one, e.g. main",
            );
        else if (b === branch) bad("is this stack's own branch, whose jobs may read its history anyway", "remove it");
        else if (readerBranches.indexOf(b) !== i) bad("is listed twice", "remove the duplicate");
    });
    if (readerBranches !== undefined && readerBranches.length > 0 && githubRepository === undefined) {
        r.fail(
            "historyReaderBranches",
            "is set but githubRepository is not, so no GitHub Actions job could be trusted",
            `run \`${r.setCmd("githubRepository", "my-org/my-repo")}\` or remove historyReaderBranches`,
        );
    }
    return readerBranches;
}

export function trustRules(r: ConfigReader, stack: { branch?: string; accountId?: string }) {
    const allowAccountPrincipals = r.bool("allowAccountPrincipals", "false");
    const principals = principalList(r, "buildServerPrincipals", allowAccountPrincipals);
    const readerPrincipals = principalList(r, "historyReaderPrincipals", allowAccountPrincipals);
    readerPrincipals?.forEach((p, i) => {
        if (principals?.includes(p))
            r.failItem(
                "historyReaderPrincipals",
                i,
                p,
                "is already in buildServerPrincipals, which the history reader trusts anyway",
                "remove it from historyReaderPrincipals",
            );
    });

    const { externalIdRequired, externalId } = externalIdRule(r);
    const { githubRepository, githubOidcProviderArn } = githubRules(r, stack.accountId);
    if (principals !== undefined && principals.length === 0 && githubRepository === undefined) {
        r.fail(
            "buildServerPrincipals",
            "is empty and GitHub OIDC is off, so nothing could assume the deploy role",
            `list the build server's role ARN in Pulumi.${r.stack}.yaml, or set githubRepository`,
        );
    }

    const readerBranches = readerBranchRules(r, stack.branch, githubRepository);
    return {
        allowAccountPrincipals,
        principals,
        readerPrincipals,
        readerBranches,
        externalIdRequired,
        externalId,
        githubOidc: githubRepository ? { repository: githubRepository, providerArn: githubOidcProviderArn } : undefined,
    };
}
