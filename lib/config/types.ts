/**
 * Stack configuration: the typed shape of a `Pulumi.<stack>.yaml` as the Pulumi program
 * (index.ts) and the CI driver both see it once it is valid, and the keys this project reads.
 * Pure types and names; the validator is lib/config/validate.ts.
 */

export const PROJECT = "attini-gitops";

/** A value as it reaches the validator: typed (from YAML) or a string (from the Pulumi engine). */
export type RawValue = string | number | boolean | unknown[] | SecretValue | null | undefined;

/** A secret config value. `plaintext` is known inside the program; the offline reader only knows it is set. */
export interface SecretValue {
    readonly secret: true;
    readonly plaintext?: string;
}

export type RawConfig = ReadonlyMap<string, RawValue>;

export type PromotionGate = "off" | "warn" | "enforce";

/** Whether `deploy --break-glass` may pass a freeze window or an unmet soak time on a stack. */
export type BreakGlassPolicy = "allowed" | "forbidden";

/** Validated configuration of one stack (= one environment in one AWS account). */
export interface StackConfig {
    readonly stack: string;
    /** Git branch that deploys to this environment. */
    readonly branch: string;
    /** Attini environment name passed to `attini deploy run -e`. */
    readonly attiniEnvironment: string;
    /** The AWS account this stack (and its deploy role) belongs to. */
    readonly accountId: string;
    readonly region: string;
    readonly partition: string;
    readonly roleName: string;
    readonly rolePath: string;
    readonly maxSessionDuration: number;
    readonly permissionsBoundaryArn?: string;
    /** IAM role and user ARNs of the build server(s) allowed to assume the deploy role. */
    readonly buildServerPrincipals: readonly string[];
    readonly allowAccountPrincipals: boolean;
    /** Whether AssumeRole must carry an ExternalId. The id itself is only known inside the program. */
    readonly externalIdRequired: boolean;
    readonly externalId?: string;
    readonly githubOidc?: GithubOidcConfig;
    readonly auditTrail: boolean;
    /** The stack this one is promoted from (prod <- stage <- dev), if any. */
    readonly promotedFrom?: string;
    readonly promotionGate: PromotionGate;
    /** Under enforce, whether a .zip without a distributionId is refused (the verified gate cannot match it upstream). */
    readonly requireDistributionId: boolean;
    /** Minutes the upstream environment must have held this content before it deploys here (0: none; lib/config/soak.ts). */
    readonly soakMinutes: number;
    /** Whether `deploy --break-glass "<reason>"` is allowed here (lib/config/breakGlass.ts). */
    readonly breakGlass: BreakGlassPolicy;
    /** Who may read this environment's Attini deployment history (lib/historyReader.ts). */
    readonly historyReader: HistoryReaderConfig;
    /** When deploys are refused (lib/freezeWindows.ts); empty for none. */
    readonly freezeWindows: readonly FreezeWindow[];
    /** CloudWatch alarm ARNs in the upstream (promotedFrom) environment that refuse a promotion (lib/config/alarms.ts). */
    readonly upstreamAlarms: readonly string[];
    /**
     * When this stack deploys among the stacks that share its branch (1 first). The order of one
     * pipeline's jobs only: not pinned in the outputs, since it decides no account, environment or content.
     */
    readonly wave: number;
}

/**
 * A freeze window: while one is in force, `deploy` refuses (exit 11). Recurring: it starts whenever
 * `cron` fires in `timeZone` and lasts `duration` (ISO 8601). One-off: from `start` to `end`, local
 * wall times in `timeZone`. Start inclusive, end exclusive.
 */
export type FreezeWindow = RecurringFreeze | OneOffFreeze;

export interface RecurringFreeze {
    readonly name: string;
    readonly timeZone: string;
    /** Five cron fields (minute hour day-of-month month day-of-week), as cron-parser reads them. */
    readonly cron: string;
    /** ISO 8601 duration (luxon): days and longer are calendar units in timeZone, hours and shorter exact. */
    readonly duration: string;
}

export interface OneOffFreeze {
    readonly name: string;
    readonly timeZone: string;
    /** yyyy-MM-ddTHH:mm, local wall time in timeZone. */
    readonly start: string;
    readonly end: string;
}

/**
 * The history-reader role: read-only access to this environment's Attini deployment records, for
 * the verified promotion gate of the stacks promoted from this one.
 */
export interface HistoryReaderConfig {
    readonly roleName: string;
    /** GitHub Actions branches (besides this stack's own) whose jobs may assume it: the branches of the stacks promoted from this one. */
    readonly branches: readonly string[];
    /** IAM principals (besides buildServerPrincipals) that may assume it: the build servers of the stacks promoted from this one. */
    readonly principals: readonly string[];
    /** CloudWatch alarm ARNs (in this stack's account and region) it may read: those the stacks promoted from this one list in upstreamAlarms. */
    readonly alarms: readonly string[];
}

export interface GithubOidcConfig {
    /** `owner/repo` */
    readonly repository: string;
    /** An existing provider to reference; when absent the stack creates one. */
    readonly providerArn?: string;
}

/** Every key this project reads, as written in Pulumi.yaml (project namespace implied). */
export const PROJECT_KEYS = [
    "branch",
    "attiniEnvironment",
    "accountId",
    "buildServerPrincipals",
    "allowAccountPrincipals",
    "externalId",
    "roleName",
    "rolePath",
    "maxSessionDuration",
    "permissionsBoundaryArn",
    "githubRepository",
    "githubOidcProviderArn",
    "auditTrail",
    "promotedFrom",
    "promotionGate",
    "requireDistributionId",
    "historyReaderRoleName",
    "historyReaderPrincipals",
    "historyReaderBranches",
    "freezeWindows",
    "historyReaderAlarms",
    "upstreamAlarms",
    "soakMinutes",
    "breakGlass",
    "wave",
] as const;
export type ProjectKey = (typeof PROJECT_KEYS)[number];

/** What Pulumi accepts as a stack name (and so in a Pulumi.<stack>.yaml file name, and in promotedFrom). */
export const STACK_NAME_RE = /^[A-Za-z0-9_.-]{1,100}$/;
