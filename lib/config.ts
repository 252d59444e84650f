/**
 * Stack configuration: the typed shape of a `Pulumi.<stack>.yaml`, and the one validator that the
 * Pulumi program (index.ts) and the CI driver (`attini-gitops validate|plan|deploy`) both run.
 *
 * Pure: no Pulumi engine, no AWS, no file system. Callers hand in raw values keyed by their full
 * config key (`attini-gitops:branch`, `aws:region`, ...), with Pulumi.yaml's defaults already applied.
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
    /** Who may read this environment's Attini deployment history (lib/historyReader.ts). */
    readonly historyReader: HistoryReaderConfig;
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
}

export interface GithubOidcConfig {
    /** `owner/repo` */
    readonly repository: string;
    /** An existing provider to reference; when absent the stack creates one. */
    readonly providerArn?: string;
}

/** One problem in one key of one stack, with the fix. */
export class ConfigError {
    constructor(
        readonly stack: string,
        readonly key: string,
        /** The offending value as shown to the user; secrets are never shown. */
        readonly value: string,
        readonly problem: string,
        readonly fix: string,
    ) {}

    toString(): string {
        return `stack '${this.stack}', key '${this.key}' = ${this.value}: ${this.problem}. Fix: ${this.fix}`;
    }
}

/** Thrown when a stack's configuration is invalid; the message lists every problem. */
export class ConfigValidationError extends Error {
    constructor(readonly errors: readonly ConfigError[]) {
        super(
            `invalid stack configuration (${errors.length} problem${errors.length === 1 ? "" : "s"}):\n` +
                errors.map((e) => `  - ${e}`).join("\n"),
        );
        this.name = "ConfigValidationError";
    }
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
    "historyReaderRoleName",
    "historyReaderPrincipals",
    "historyReaderBranches",
] as const;
export type ProjectKey = (typeof PROJECT_KEYS)[number];

export const REGION_RE = /^(?:[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2})$/;
const REGION_IN_NAME_RE = /[a-z]{2}(?:-gov|-iso[a-z]?)?-(?:north|south|east|west|central|northeast|northwest|southeast|southwest)-\d{1,2}/g;
const ACCOUNT_RE = /^\d{12}$/;
const PARTITION_RE = "aws(?:-cn|-us-gov|-iso(?:-[a-z])?)?";
const PRINCIPAL_RE = new RegExp(`^arn:${PARTITION_RE}:iam::(\\d{12}):(role|user)(/(?:[\\x21-\\x7E]*/)?)?([\\w+=,.@-]{1,64})$`);
const ROOT_RE = new RegExp(`^arn:${PARTITION_RE}:iam::(\\d{12}):root$`);
const POLICY_ARN_RE = new RegExp(`^arn:${PARTITION_RE}:iam::(\\d{12}|aws):policy/(?:[\\x21-\\x7E]*/)?[\\w+=,.@-]{1,128}$`);
const OIDC_PROVIDER_ARN_RE = new RegExp(`^arn:${PARTITION_RE}:iam::(\\d{12}):oidc-provider/token\\.actions\\.githubusercontent\\.com$`);
const ROLE_NAME_RE = /^[\w+=,.@-]+$/;
const ROLE_PATH_RE = /^\/(?:[\x21-\x7E]+\/)?$/;
/** The characters STS accepts in an ExternalId (AssumeRole API reference). */
export const EXTERNAL_ID_RE = /^[\w+=,.@:/-]{2,1224}$/;
const ATTINI_ENV_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const GITHUB_REPO_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
export const STACK_NAME_RE = /^[A-Za-z0-9_.-]{1,100}$/;

export const MIN_SESSION = 3600;
export const MAX_SESSION = 43200;
export const MAX_ROLE_NAME = 64;

/** The AWS partition a region belongs to. */
export function partitionOf(region: string): string {
    if (region.startsWith("cn-")) return "aws-cn";
    if (region.startsWith("us-gov-")) return "aws-us-gov";
    if (region.startsWith("us-iso-")) return "aws-iso";
    if (region.startsWith("us-isob-")) return "aws-iso-b";
    return "aws";
}

export function defaultRoleName(region: string): string {
    return `attini-deploy-role-${region}`;
}

export function defaultHistoryReaderRoleName(region: string): string {
    return `attini-history-reader-${region}`;
}

/** ARN of a role, from its parts. */
export function roleArn(c: Pick<StackConfig, "partition" | "accountId" | "rolePath" | "roleName">): string {
    return `arn:${c.partition}:iam::${c.accountId}:role${c.rolePath}${c.roleName}`;
}

/** ARN of the managed policy that Attini's setup stack (attini-setup) creates in each account and region. */
export function attiniPolicyArn(c: Pick<StackConfig, "partition" | "accountId" | "region">): string {
    return `arn:${c.partition}:iam::${c.accountId}:policy/attini-cli-user-${c.region}`;
}

/**
 * Why a git branch name is unusable, or undefined when it is fine. Follows `git check-ref-format`
 * and also refuses what could never be a short branch name in a CI variable (whitespace, control
 * characters, a `refs/` prefix).
 */
export function branchNameProblem(branch: string): string | undefined {
    if (branch.trim() === "") return "is empty";
    if (/[\s\x00-\x1f\x7f]/u.test(branch)) return "contains whitespace or control characters";
    if (/[~^:?*[\\]/.test(branch)) return "contains one of ~ ^ : ? * [ \\, which git does not allow in branch names";
    if (branch.includes("..")) return "contains '..'";
    if (branch.includes("@{")) return "contains '@{'";
    if (branch === "@") return "is '@'";
    if (branch.startsWith("-")) return "starts with '-'";
    if (branch.startsWith("/") || branch.endsWith("/") || branch.includes("//")) return "has an empty path component";
    if (branch.endsWith(".") || branch.endsWith(".lock")) return "ends with '.' or '.lock'";
    if (branch.split("/").some((part) => part.startsWith("."))) return "has a path component starting with '.'";
    if (branch.startsWith("refs/")) return "is a full ref; use the short branch name";
    return undefined;
}

/** Shows a raw value in an error message. Secrets are never shown. */
export function showValue(v: RawValue): string {
    if (v === undefined || v === null) return "(not set)";
    if (isSecret(v)) return "(secret, not shown)";
    return JSON.stringify(v);
}

export function isSecret(v: RawValue): v is SecretValue {
    return typeof v === "object" && v !== null && !Array.isArray(v) && (v as SecretValue).secret === true;
}

/**
 * Validates one stack's raw config. Returns every problem found, never just the first.
 */
export function validateStackConfig(stack: string, raw: RawConfig): { config?: StackConfig; errors: ConfigError[] } {
    const errors: ConfigError[] = [];
    const full = (k: string) => (k.includes(":") ? k : `${PROJECT}:${k}`);
    const get = (k: string) => raw.get(full(k));
    const fail = (k: string, problem: string, fix: string) => errors.push(new ConfigError(stack, full(k), showValue(get(k)), problem, fix));
    const setCmd = (k: string, example: string, flags = "") => `pulumi config set ${flags}${k} ${example} --stack ${stack}`;

    const str = (k: string, required: boolean, example: string): string | undefined => {
        const v = get(k);
        if (v === undefined || v === null || v === "") {
            if (required) fail(k, "is required but not set", `run \`${setCmd(k, example)}\` or add it to Pulumi.${stack}.yaml`);
            return undefined;
        }
        if (isSecret(v)) {
            fail(k, "must not be a secret", `store it in plain text: \`${setCmd(k, example)}\``);
            return undefined;
        }
        if (typeof v !== "string") {
            fail(k, "must be a string", `quote it in Pulumi.${stack}.yaml, e.g. ${k.replace(/^.*:/, "")}: "${example}"`);
            return undefined;
        }
        return v;
    };
    const int = (k: string, dflt: number): number | undefined => {
        const v = get(k);
        if (v === undefined || v === null || v === "") return dflt;
        const n = typeof v === "number" ? v : typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
        if (!Number.isInteger(n)) {
            fail(k, "must be a whole number", `run \`${setCmd(k, String(dflt))}\``);
            return undefined;
        }
        return n;
    };
    const bool = (k: string, dflt: boolean): boolean | undefined => {
        const v = get(k);
        if (v === undefined || v === null || v === "") return dflt;
        if (v === true || v === "true") return true;
        if (v === false || v === "false") return false;
        fail(k, "must be true or false", `run \`${setCmd(k, String(dflt))}\``);
        return undefined;
    };
    const list = (k: string, example: string): string[] | undefined => {
        let v = get(k);
        if (v === undefined || v === null || v === "") return [];
        if (typeof v === "string") {
            try {
                v = JSON.parse(v) as RawValue;
            } catch {
                /* reported below */
            }
        }
        if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
            fail(k, "must be a list of strings", `write it as a YAML list in Pulumi.${stack}.yaml, e.g.\n      ${k.replace(/^.*:/, "")}:\n        - ${example}`);
            return undefined;
        }
        return v as string[];
    };

    // --- identity of the environment -------------------------------------------------------------
    const branch = str("branch", true, "dev");
    if (branch !== undefined) {
        const p = branchNameProblem(branch);
        if (p) fail("branch", `is not a usable git branch name: it ${p}`, `set it to the short branch name that deploys here, e.g. \`${setCmd("branch", "dev")}\``);
    }
    const attiniEnvironment = str("attiniEnvironment", true, "dev");
    if (attiniEnvironment !== undefined && !ATTINI_ENV_RE.test(attiniEnvironment)) {
        fail("attiniEnvironment", "must be an Attini environment name (letters, digits, '-' and '_', at most 63)", `use the name given to \`attini environment create\`, e.g. \`${setCmd("attiniEnvironment", "dev")}\``);
    }
    const accountId = str("accountId", true, "123456789012");
    if (accountId !== undefined && !ACCOUNT_RE.test(accountId)) {
        fail("accountId", "must be a 12-digit AWS account id", `quote it so YAML keeps leading zeros: accountId: "012345678901", or run \`${setCmd("accountId", "012345678901")}\``);
    }
    const region = str("aws:region", true, "eu-west-1");
    if (region !== undefined && !REGION_RE.test(region)) {
        fail("aws:region", "is not an AWS region name", `run \`${setCmd("aws:region", "eu-west-1")}\``);
    }

    // The AWS provider refuses to touch any account not listed here: the wrong-account guard for `pulumi up`.
    const allowed = list("aws:allowedAccountIds", accountId ?? "123456789012");
    if (allowed !== undefined && accountId !== undefined && ACCOUNT_RE.test(accountId)) {
        if (allowed.length !== 1 || allowed[0] !== accountId) {
            fail(
                "aws:allowedAccountIds",
                `must be exactly ["${accountId}"] (the stack's accountId), so that the AWS provider refuses every other account`,
                `set it in Pulumi.${stack}.yaml:\n      aws:allowedAccountIds:\n        - "${accountId}"`,
            );
        }
    }

    // --- the role ----------------------------------------------------------------------------------
    /** A role name key: set, or the default for the region; IAM's rules and the region it names are checked. */
    const roleNameKey = (k: string, dflt: (region: string) => string): string | undefined => {
        const set = str(k, false, dflt("eu-west-1"));
        if (set === undefined) return region ? dflt(region) : undefined;
        if (set.length > MAX_ROLE_NAME) {
            fail(k, `is ${set.length} characters; IAM allows at most ${MAX_ROLE_NAME}`, `shorten it, or remove it to use the default ${dflt(region ?? "<region>")}`);
        } else if (!ROLE_NAME_RE.test(set)) {
            fail(k, "contains characters IAM does not allow in role names (allowed: letters, digits and +=,.@_-)", "remove the other characters");
        }
        const named = set.match(REGION_IN_NAME_RE) ?? [];
        if (region && named.some((r) => r !== region)) {
            fail(k, `names region ${named.find((r) => r !== region)} but the stack's aws:region is ${region}`, `rename it for ${region} (e.g. ${dflt(region)}), or fix aws:region`);
        }
        return set;
    };
    const roleName = roleNameKey("roleName", defaultRoleName);
    const readerRoleName = roleNameKey("historyReaderRoleName", defaultHistoryReaderRoleName);
    if (roleName !== undefined && roleName === readerRoleName) {
        fail("historyReaderRoleName", "is the deploy role's name", `give the history reader a name of its own, or remove the key to use ${defaultHistoryReaderRoleName(region ?? "<region>")}`);
    }
    const rolePath = str("rolePath", false, "/attini/") ?? "/";
    if (!ROLE_PATH_RE.test(rolePath) || rolePath.length > 512) {
        fail("rolePath", "must start and end with '/' and contain only printable ASCII (e.g. / or /attini/)", `run \`${setCmd("rolePath", "/")}\``);
    }
    const maxSessionDuration = int("maxSessionDuration", MIN_SESSION);
    if (maxSessionDuration !== undefined && (maxSessionDuration < MIN_SESSION || maxSessionDuration > MAX_SESSION)) {
        fail("maxSessionDuration", `must be between ${MIN_SESSION} and ${MAX_SESSION} seconds (1 to 12 hours)`, `run \`${setCmd("maxSessionDuration", String(MIN_SESSION))}\``);
    }
    const permissionsBoundaryArn = str("permissionsBoundaryArn", false, "arn:aws:iam::123456789012:policy/boundary");
    if (permissionsBoundaryArn !== undefined && !POLICY_ARN_RE.test(permissionsBoundaryArn)) {
        fail("permissionsBoundaryArn", "is not an IAM managed policy ARN", `use the form arn:aws:iam::<account>:policy/<name>, or remove the key`);
    }

    // --- who may assume it ---------------------------------------------------------------------------
    const allowAccountPrincipals = bool("allowAccountPrincipals", false);
    /** A list of principals to trust: each must name one role or user exactly. */
    const principalList = (key: string): string[] | undefined => {
        const listed = list(key, "arn:aws:iam::123456789012:role/build-server");
        listed?.forEach((p, i) => {
            const bad = (problem: string, fix: string) => errors.push(new ConfigError(stack, `${PROJECT}:${key}[${i}]`, JSON.stringify(p), problem, fix));
            if (listed.indexOf(p) !== i) bad("is listed twice", "remove the duplicate");
            if (p.includes("*") || p.includes("?")) {
                bad("contains a wildcard; a trust policy must name the build server exactly", "list the build server's role or user ARN, e.g. arn:aws:iam::123456789012:role/codebuild-attini");
            } else if (ACCOUNT_RE.test(p) || ROOT_RE.test(p)) {
                if (!allowAccountPrincipals) {
                    bad(
                        "trusts a whole account: every principal in it whose own policy allows sts:AssumeRole could deploy",
                        `name the build server's role ARN instead, or, if that is really intended, \`${setCmd("allowAccountPrincipals", "true")}\``,
                    );
                }
            } else if (/^arn:[^:]+:sts::/.test(p)) {
                bad("is an STS session ARN, which a trust policy cannot name", "use the role ARN (arn:aws:iam::<account>:role/<name>) that the session belongs to");
            } else if (!PRINCIPAL_RE.test(p)) {
                bad("is not an IAM role or user ARN", "use the form arn:aws:iam::<12-digit account>:role/<name> or arn:aws:iam::<account>:user/<name>");
            }
        });
        return listed;
    };
    const principals = principalList("buildServerPrincipals");
    const readerPrincipals = principalList("historyReaderPrincipals");
    readerPrincipals?.forEach((p, i) => {
        if (principals?.includes(p)) {
            errors.push(new ConfigError(stack, `${PROJECT}:historyReaderPrincipals[${i}]`, JSON.stringify(p), "is already in buildServerPrincipals, which the history reader trusts anyway", "remove it from historyReaderPrincipals"));
        }
    });

    const externalIdRaw = get("externalId");
    let externalId: string | undefined;
    const externalIdRequired = externalIdRaw !== undefined && externalIdRaw !== null && externalIdRaw !== "";
    if (externalIdRequired) {
        if (!isSecret(externalIdRaw)) {
            fail("externalId", "is stored in plain text in the stack file", `store it encrypted: \`${setCmd("externalId", "<id>", "--secret ")}\``);
        } else if (externalIdRaw.plaintext !== undefined) {
            externalId = externalIdRaw.plaintext;
            if (!EXTERNAL_ID_RE.test(externalId)) {
                fail("externalId", "must be 2 to 1224 characters of letters, digits and +=,.@:/- (the characters STS accepts)", `set a new one: \`${setCmd("externalId", "<id>", "--secret ")}\``);
            }
        }
    }

    const githubRepository = str("githubRepository", false, "my-org/my-repo");
    const githubOidcProviderArn = str("githubOidcProviderArn", false, "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com");
    if (githubRepository !== undefined && !GITHUB_REPO_RE.test(githubRepository)) {
        fail("githubRepository", "must be exactly owner/repo; wildcards would let other repositories assume the role", `run \`${setCmd("githubRepository", "my-org/my-repo")}\``);
    }
    if (githubOidcProviderArn !== undefined) {
        const m = OIDC_PROVIDER_ARN_RE.exec(githubOidcProviderArn);
        if (!m) {
            fail("githubOidcProviderArn", "is not the ARN of a GitHub Actions OIDC provider", "use arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com, or remove it to have the stack create the provider");
        } else if (accountId && m[1] !== accountId) {
            fail("githubOidcProviderArn", `is in account ${m[1]}, not this stack's account ${accountId}`, "reference the provider in this stack's account, or remove the key to create one");
        }
        if (githubRepository === undefined) {
            fail("githubOidcProviderArn", "is set but githubRepository is not, so no job could be trusted", `run \`${setCmd("githubRepository", "my-org/my-repo")}\` or remove githubOidcProviderArn`);
        }
    }
    if (principals !== undefined && principals.length === 0 && githubRepository === undefined) {
        fail("buildServerPrincipals", "is empty and GitHub OIDC is off, so nothing could assume the deploy role", `list the build server's role ARN in Pulumi.${stack}.yaml, or set githubRepository`);
    }

    const readerBranches = list("historyReaderBranches", "main");
    readerBranches?.forEach((b, i) => {
        const bad = (problem: string, fix: string) => errors.push(new ConfigError(stack, `${PROJECT}:historyReaderBranches[${i}]`, JSON.stringify(b), problem, fix));
        const p = branchNameProblem(b);
        if (p || /[*?]/.test(b)) bad(`is not a usable git branch name: it ${p ?? "contains a wildcard"}`, "list the exact branches of the stacks promoted from this one, e.g. main");
        else if (b === branch) bad("is this stack's own branch, whose jobs may read its history anyway", "remove it");
        else if (readerBranches.indexOf(b) !== i) bad("is listed twice", "remove the duplicate");
    });
    if (readerBranches !== undefined && readerBranches.length > 0 && githubRepository === undefined) {
        fail("historyReaderBranches", "is set but githubRepository is not, so no GitHub Actions job could be trusted", `run \`${setCmd("githubRepository", "my-org/my-repo")}\` or remove historyReaderBranches`);
    }

    const auditTrail = bool("auditTrail", false);

    // --- promotion chain -----------------------------------------------------------------------------
    const promotedFrom = str("promotedFrom", false, "stage");
    if (promotedFrom !== undefined && promotedFrom === stack) fail("promotedFrom", "names the stack itself", "name the stack this one is promoted from, e.g. stage for prod, or remove the key");
    else if (promotedFrom !== undefined && !STACK_NAME_RE.test(promotedFrom)) fail("promotedFrom", "is not a stack name", "name the stack this one is promoted from, e.g. stage");
    const gateRaw = str("promotionGate", false, "enforce") ?? (promotedFrom ? "warn" : "off");
    const promotionGate = (["off", "warn", "enforce"] as const).find((g) => g === gateRaw);
    if (promotionGate === undefined) fail("promotionGate", "must be one of off, warn, enforce", `run \`${setCmd("promotionGate", "enforce")}\``);

    if (errors.length > 0 || !branch || !attiniEnvironment || !accountId || !region || !roleName || !readerRoleName || principals === undefined || !readerPrincipals || !readerBranches) {
        return { errors };
    }
    const config: StackConfig = {
        stack,
        branch,
        attiniEnvironment,
        accountId,
        region,
        partition: partitionOf(region),
        roleName,
        rolePath,
        maxSessionDuration: maxSessionDuration!,
        permissionsBoundaryArn,
        buildServerPrincipals: principals,
        allowAccountPrincipals: allowAccountPrincipals!,
        externalIdRequired,
        externalId,
        githubOidc: githubRepository ? { repository: githubRepository, providerArn: githubOidcProviderArn } : undefined,
        auditTrail: auditTrail!,
        promotedFrom,
        promotionGate: promotionGate!,
        historyReader: { roleName: readerRoleName, branches: readerBranches, principals: readerPrincipals },
    };
    return { config, errors };
}

/** What the cross-stack rules look at in each stack. */
export type StackLink = Pick<StackConfig, "stack" | "branch" | "promotedFrom">;

/**
 * Rules that span stacks: each branch maps to exactly one stack, and promotion links name
 * existing stacks without forming a cycle. `stackNames` are all the stacks there are (by default
 * the linked ones), including any whose file could not be read.
 */
export function validateStackSet(configs: readonly StackLink[], stackNames: readonly string[] = configs.map((c) => c.stack)): ConfigError[] {
    const errors: ConfigError[] = [];
    const byBranch = new Map<string, string[]>();
    for (const c of configs) byBranch.set(c.branch, [...(byBranch.get(c.branch) ?? []), c.stack]);
    for (const [branch, stacks] of byBranch) {
        if (stacks.length > 1) {
            for (const s of stacks) {
                errors.push(
                    new ConfigError(s, `${PROJECT}:branch`, JSON.stringify(branch), `is claimed by ${stacks.length} stacks (${stacks.join(", ")}); a push could not tell which environment to deploy`, "give each stack its own branch"),
                );
            }
        }
    }
    const names = new Set(stackNames);
    for (const c of configs) {
        if (c.promotedFrom === undefined) continue;
        if (!names.has(c.promotedFrom)) {
            errors.push(new ConfigError(c.stack, `${PROJECT}:promotedFrom`, JSON.stringify(c.promotedFrom), `names no stack (known: ${[...names].join(", ")})`, "name an existing stack, or remove the key"));
            continue;
        }
        const seen = new Set([c.stack]);
        for (let up = configs.find((x) => x.stack === c.promotedFrom); up; up = configs.find((x) => x.stack === up!.promotedFrom)) {
            if (seen.has(up.stack)) {
                errors.push(new ConfigError(c.stack, `${PROJECT}:promotedFrom`, JSON.stringify(c.promotedFrom), `forms a cycle (${[...seen, up.stack].join(" <- ")})`, "make the chain end at the first environment (e.g. dev has no promotedFrom)"));
                break;
            }
            seen.add(up.stack);
        }
    }
    return errors;
}

/** Validates and returns the config, or throws ConfigValidationError listing every problem. */
export function requireStackConfig(stack: string, raw: RawConfig): StackConfig {
    const { config, errors } = validateStackConfig(stack, raw);
    if (errors.length > 0 || !config) throw new ConfigValidationError(errors);
    return config;
}
