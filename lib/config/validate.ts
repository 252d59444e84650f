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
import { alarmRules } from "./alarms";
import { breakGlassRules } from "./breakGlass";
import { type ConfigError, ConfigValidationError } from "./errors";
import { freezeRules } from "./freeze";
import { identityRules } from "./identity";
import { promotionRules } from "./promotion";
import { roleRules } from "./role";
import { soakRules } from "./soak";
import { trustRules } from "./trust";
import type { RawConfig, StackConfig } from "./types";
import { ConfigReader } from "./values";
import { waveRules } from "./wave";

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
    return { config, errors };
}

/** Validates and returns the config, or throws ConfigValidationError listing every problem. */
export function requireStackConfig(stack: string, raw: RawConfig): StackConfig {
    const { config, errors } = validateStackConfig(stack, raw);
    if (errors.length > 0 || !config) throw new ConfigValidationError(errors);
    return config;
}
