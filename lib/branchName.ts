/** Git branch names: the rules the stack files and the CI variables are held to. Pure. */

/**
 * Why a git branch name is unusable, or undefined when it is fine. Follows `git check-ref-format`
 * and also refuses what could never be a short branch name in a CI variable (whitespace, control
 * characters, a `refs/` prefix).
 */
export function branchNameProblem(branch: string): string | undefined {
    if (branch.trim() === "") return "is empty";
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point: git refuses them in ref names
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
