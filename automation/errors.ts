/**
 * Exit codes of the `attini-gitops` CLI, and the error type that carries one. Attini's own exit
 * code is passed through unchanged (Attini exits 1 on every failure), so none of ours is 1.
 */
export const Exit = {
    OK: 0,
    /** Bad flags or arguments, or invalid stack config. */
    USAGE: 2,
    /** The branch maps to no environment (and --allow-unmapped was not given). */
    UNMAPPED_BRANCH: 3,
    /** The stack is not provisioned, its outputs are missing or stale, or the backend cannot be read. */
    NOT_PROVISIONED: 4,
    /** No source AWS credentials, or STS refused or failed AssumeRole. */
    CREDENTIALS: 5,
    /** The assumed role is not in the stack's account. */
    WRONG_ACCOUNT: 6,
    /** The promotion gate or the artifact digest check refused the deployment. */
    REFUSED: 7,
    /** The ledger refused: a newer commit is already deployed there, or this content is held after a rollback. */
    OUTDATED: 8,
    /** Another run held the environment's lease for longer than --lease-wait. */
    LEASE_WAIT: 9,
    /** This run lost its lease while attini ran (attini was stopped), or before its run was recorded (attini never ran). */
    LEASE_LOST: 10,
    /** A freeze window of the stack is in force (and --break-glass was not given). */
    FROZEN: 11,
    /** One or more targets of a multi-target deploy did not deploy; each target's own code is in the table and --json. */
    SOME_TARGETS_FAILED: 12,
    /** A bug in attini-gitops itself. */
    INTERNAL: 70,
    /** attini did not finish within --timeout. */
    TIMEOUT: 124,
} as const;

export class DriverError extends Error {
    constructor(
        readonly exitCode: number,
        message: string,
        /** What the `--json` error report carries besides the message (e.g. what a gate saw). */
        readonly details: Record<string, unknown> = {},
    ) {
        super(message);
        this.name = "DriverError";
    }
}

/** A ledger that could not be read or written (exit 4): the table, the permission or the network. */
export class LedgerUnavailable extends DriverError {
    constructor(message: string) {
        super(Exit.NOT_PROVISIONED, message);
        this.name = "LedgerUnavailable";
    }
}

/**
 * A ledger write that only the lease's holder may make, refused because this run no longer holds
 * it (exit 10): nothing of it was written.
 */
export class LeaseNotHeld extends DriverError {
    constructor(message: string) {
        super(Exit.LEASE_LOST, message);
        this.name = "LeaseNotHeld";
    }
}

export const usage = (msg: string) => new DriverError(Exit.USAGE, msg);
