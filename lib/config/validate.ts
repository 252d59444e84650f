/**
 * The one validator of a stack's config, which the Pulumi program (index.ts) and the CI driver
 * (`attini-gitops validate|plan|deploy`) both run. Each section's rules (identity.ts, role.ts,
 * trust.ts, promotion.ts, wave.ts, freeze.ts, alarms.ts, soak.ts, breakGlass.ts) add to one error
 * list, so that every problem is reported, not the first.
 *
 * Pure: no Pulumi engine, no AWS, no file system. Callers hand in raw values keyed by their full
 * config key (`attini-gitops:branch`, `aws:region`, ...), with Pulumi.yaml's defaults applied.
 */
import { partitionOf } from "../arns";
import { historyReaderPolicy } from "../historyReader";
import { alarmRules } from "./alarms";
import { breakGlassRules } from "./breakGlass";
import { ConfigError, ConfigValidationError } from "./errors";
import { freezeRules } from "./freeze";
import { identityRules } from "./identity";
import { promotionRules } from "./promotion";
import { roleRules } from "./role";
import { soakRules } from "./soak";
import { trustRules } from "./trust";
import { PROJECT, type RawConfig, type StackConfig } from "./types";
import { ConfigReader } from "./values";
import { waveRules } from "./wave";

/** IAM's bound on a role's inline policies, together, in characters (whitespace not counted). */
export const MAX_INLINE_POLICY_CHARS = 10_240;

/**
 * The history reader's one inline policy must fit IAM's bound: its alarm ARNs count in full, so 50
 * long alarm names would make `pulumi up` fail in AWS, after the reader's role was created. It is
 * the policy `pulumi up` sends, so it is checked once the rest of the config is valid. Spaces in
 * alarm names are counted, though IAM may not count them: near the bound it refuses, never passes.
 */
function readerPolicyProblem(c: StackConfig): ConfigError | undefined {
    const size = JSON.stringify(historyReaderPolicy(c)).length; // JSON.stringify writes no whitespace
    if (size <= MAX_INLINE_POLICY_CHARS) return undefined;
    return new ConfigError(
        c.stack,
        `${PROJECT}:historyReaderAlarms`,
        `${c.historyReader.alarms.length} alarms`,
        `make the history reader's policy ${size} characters, over the ${MAX_INLINE_POLICY_CHARS} IAM allows a role's inline policies`,
        "list fewer alarms, or alarms with shorter names (each ARN counts in full)",
    );
}

/** Validates one stack's raw config. Returns every problem found, never just the first. */
export function validateStackConfig(stack: string, raw: RawConfig): { config?: StackConfig; errors: ConfigError[] } {
    const r = new ConfigReader(stack, raw);
    const { branch, attiniEnvironment, accountId, region } = identityRules(r);
    const role = roleRules(r, region);
    const trust = trustRules(r, { branch, accountId });
    const { promotedFrom, promotionGate, requireDistributionId } = promotionRules(r);
    const freezeWindows = freezeRules(r);
    const { upstreamAlarms, readerAlarms } = alarmRules(r, { accountId, region, promotedFrom, promotionGate });
    const { soakMinutes } = soakRules(r, { promotedFrom, promotionGate });
    const { breakGlass } = breakGlassRules(r);
    const { wave } = waveRules(r);
    const { errors } = r;
    if (
        errors.length > 0 ||
        !branch ||
        !attiniEnvironment ||
        !accountId ||
        !region ||
        !role.roleName ||
        !role.readerRoleName ||
        !role.rolePath ||
        role.maxSessionDuration === undefined ||
        role.auditTrail === undefined ||
        trust.allowAccountPrincipals === undefined ||
        !trust.principals ||
        !trust.readerPrincipals ||
        !trust.readerBranches ||
        !promotionGate ||
        requireDistributionId === undefined ||
        !freezeWindows ||
        !upstreamAlarms ||
        !readerAlarms ||
        soakMinutes === undefined ||
        !breakGlass ||
        wave === undefined
    ) {
        return { errors };
    }
    const config: StackConfig = {
        stack,
        branch,
        attiniEnvironment,
        accountId,
        region,
        partition: partitionOf(region),
        roleName: role.roleName,
        rolePath: role.rolePath,
        maxSessionDuration: role.maxSessionDuration,
        permissionsBoundaryArn: role.permissionsBoundaryArn,
        buildServerPrincipals: trust.principals,
        allowAccountPrincipals: trust.allowAccountPrincipals,
        externalIdRequired: trust.externalIdRequired,
        externalId: trust.externalId,
        githubOidc: trust.githubOidc,
        auditTrail: role.auditTrail,
        promotedFrom,
        promotionGate,
        requireDistributionId,
        soakMinutes,
        breakGlass,
        historyReader: {
            roleName: role.readerRoleName,
            branches: trust.readerBranches,
            principals: trust.readerPrincipals,
            alarms: readerAlarms,
        },
        freezeWindows,
        upstreamAlarms,
        wave,
    };
    const tooLarge = readerPolicyProblem(config);
    if (tooLarge) return { errors: [tooLarge] };
    return { config, errors };
}

/** Validates and returns the config, or throws ConfigValidationError listing every problem. */
export function requireStackConfig(stack: string, raw: RawConfig): StackConfig {
    const { config, errors } = validateStackConfig(stack, raw);
    if (errors.length > 0 || !config) throw new ConfigValidationError(errors);
    return config;
}
