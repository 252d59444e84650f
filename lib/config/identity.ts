/** The environment's identity: its branch, Attini environment, account and region. */
import { ACCOUNT_ID_RE } from "../arns";
import { branchNameProblem } from "../branchName";
import type { ConfigReader } from "./values";

export const REGION_RE = /^(?:[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2})$/;
const ATTINI_ENV_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

export function identityRules(r: ConfigReader) {
    const branch = r.str("branch", true, "dev");
    if (branch !== undefined) {
        const p = branchNameProblem(branch);
        if (p)
            r.fail(
                "branch",
                `is not a usable git branch name: it ${p}`,
                `set it to the short branch name that deploys here, e.g. \`${r.setCmd("branch", "dev")}\``,
            );
    }
    const attiniEnvironment = r.str("attiniEnvironment", true, "dev");
    if (attiniEnvironment !== undefined && !ATTINI_ENV_RE.test(attiniEnvironment)) {
        r.fail(
            "attiniEnvironment",
            "must be an Attini environment name (letters, digits, '-' and '_', at most 63)",
            `use the name given to \`attini environment create\`, e.g. \`${r.setCmd("attiniEnvironment", "dev")}\``,
        );
    }
    const accountId = r.str("accountId", true, "123456789012");
    if (accountId !== undefined && !ACCOUNT_ID_RE.test(accountId)) {
        r.fail(
            "accountId",
            "must be a 12-digit AWS account id",
            `quote it so YAML keeps leading zeros: accountId: "012345678901", or run \`${r.setCmd("accountId", "012345678901")}\``,
        );
    }
    const region = r.str("aws:region", true, "eu-west-1");
    if (region !== undefined && !REGION_RE.test(region)) {
        r.fail("aws:region", "is not an AWS region name", `run \`${r.setCmd("aws:region", "eu-west-1")}\``);
    }

    // The AWS provider refuses to touch any account not listed here: the wrong-account guard for `pulumi up`.
    const allowed = r.list("aws:allowedAccountIds", accountId ?? "123456789012");
    if (allowed !== undefined && accountId !== undefined && ACCOUNT_ID_RE.test(accountId)) {
        if (allowed.length !== 1 || allowed[0] !== accountId) {
            r.fail(
                "aws:allowedAccountIds",
                `must be exactly ["${accountId}"] (the stack's accountId), so that the AWS provider refuses every other account`,
                `set it in Pulumi.${r.stack}.yaml:\n      aws:allowedAccountIds:\n        - "${accountId}"`,
            );
        }
    }
    return { branch, attiniEnvironment, accountId, region };
}
