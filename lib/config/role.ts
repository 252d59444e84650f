/** The roles a stack creates: names, path, session length, permissions boundary, audit trail. */
import { defaultHistoryReaderRoleName, defaultRoleName, PARTITION_PATTERN } from "../arns";
import type { ConfigReader } from "./values";

const REGION_IN_NAME_RE =
    /[a-z]{2}(?:-gov|-iso[a-z]?)?-(?:north|south|east|west|central|northeast|northwest|southeast|southwest)-\d{1,2}/g;
const ROLE_NAME_RE = /^[\w+=,.@-]+$/;
const ROLE_PATH_RE = /^\/(?:[\x21-\x7E]+\/)?$/;
const POLICY_ARN_RE = new RegExp(
    `^arn:${PARTITION_PATTERN}:iam::(\\d{12}|aws):policy/(?:[\\x21-\\x7E]*/)?[\\w+=,.@-]{1,128}$`,
);

export const MIN_SESSION = 3600;
export const MAX_SESSION = 43200;
export const MAX_ROLE_NAME = 64;

/** A role name key: set, or the default for the region; IAM's rules and the region it names are checked. */
function roleName(
    r: ConfigReader,
    k: string,
    region: string | undefined,
    dflt: (region: string) => string,
): string | undefined {
    const set = r.str(k, false, dflt("eu-west-1"));
    if (set === undefined) return region ? dflt(region) : undefined;
    if (set.length > MAX_ROLE_NAME) {
        r.fail(
            k,
            `is ${set.length} characters; IAM allows at most ${MAX_ROLE_NAME}`,
            `shorten it, or remove it to use the default ${dflt(region ?? "<region>")}`,
        );
    } else if (!ROLE_NAME_RE.test(set)) {
        r.fail(
            k,
            "contains characters IAM does not allow in role names (allowed: letters, digits and +=,.@_-)",
            "remove the other characters",
        );
    }
    const named = set.match(REGION_IN_NAME_RE) ?? [];
    if (region && named.some((x) => x !== region)) {
        r.fail(
            k,
            `names region ${named.find((x) => x !== region)} but the stack's aws:region is ${region}`,
            `rename it for ${region} (e.g. ${dflt(region)}), or fix aws:region`,
        );
    }
    return set;
}

export function roleRules(r: ConfigReader, region: string | undefined) {
    const deployRoleName = roleName(r, "roleName", region, defaultRoleName);
    const readerRoleName = roleName(r, "historyReaderRoleName", region, defaultHistoryReaderRoleName);
    if (deployRoleName !== undefined && deployRoleName === readerRoleName) {
        r.fail(
            "historyReaderRoleName",
            "is the deploy role's name",
            `give the history reader a name of its own, or remove the key to use ${defaultHistoryReaderRoleName(region ?? "<region>")}`,
        );
    }
    const rolePath = r.str("rolePath", true, "/");
    if (rolePath !== undefined && (!ROLE_PATH_RE.test(rolePath) || rolePath.length > 512)) {
        r.fail(
            "rolePath",
            "must start and end with '/' and contain only printable ASCII (e.g. / or /attini/)",
            `run \`${r.setCmd("rolePath", "/")}\``,
        );
    }
    const maxSessionDuration = r.int("maxSessionDuration", String(MIN_SESSION));
    if (maxSessionDuration !== undefined && (maxSessionDuration < MIN_SESSION || maxSessionDuration > MAX_SESSION)) {
        r.fail(
            "maxSessionDuration",
            `must be between ${MIN_SESSION} and ${MAX_SESSION} seconds (1 to 12 hours)`,
            `run \`${r.setCmd("maxSessionDuration", String(MIN_SESSION))}\``,
        );
    }
    const permissionsBoundaryArn = r.str("permissionsBoundaryArn", false, "arn:aws:iam::123456789012:policy/boundary");
    if (permissionsBoundaryArn !== undefined && !POLICY_ARN_RE.test(permissionsBoundaryArn)) {
        r.fail(
            "permissionsBoundaryArn",
            "is not an IAM managed policy ARN",
            `use the form arn:aws:iam::<account>:policy/<name>, or remove the key`,
        );
    }
    const auditTrail = r.bool("auditTrail", "false");
    return {
        roleName: deployRoleName,
        readerRoleName,
        rolePath,
        maxSessionDuration,
        permissionsBoundaryArn,
        auditTrail,
    };
}
