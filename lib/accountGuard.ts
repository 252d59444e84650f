/**
 * The wrong-account guard, shared by the program (before it creates anything) and the CI driver
 * (after AssumeRole, before attini runs).
 */
export class WrongAccountError extends Error {
    constructor(
        readonly stack: string,
        readonly expected: string,
        readonly actual: string,
        what: string,
        fix: string,
    ) {
        super(
            `stack '${stack}' belongs to account ${expected}, but ${what} are for account ${actual}; nothing was changed. ${fix}`,
        );
        this.name = "WrongAccountError";
    }
}

/** Throws WrongAccountError unless `actual` is the stack's account. */
export function assertAccount(
    stack: string,
    expected: string,
    actual: string | undefined,
    what: string,
    fix: string,
): void {
    if (actual !== expected) throw new WrongAccountError(stack, expected, actual ?? "(unknown)", what, fix);
}
