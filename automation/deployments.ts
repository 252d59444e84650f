/**
 * Deployments as Attini recorded them: the types that the DynamoDB adapter (dynamodb.ts) returns,
 * the gates (verifiedGate.ts) judge and `status` shows, and the one line that names a deployment
 * in all of their messages. Types and pure formatting only, so that the adapter and its callers
 * share them without importing each other.
 */

/**
 * succeeded: every deployment plan ended SUCCEEDED (or the init stack was done and there was no
 * plan to run); failed: Attini recorded an error, init-stack errors, or a plan that ended FAILED,
 * TIMED_OUT or ABORTED; running: none of these yet (still running, stopped without a record, or
 * nothing can show that every plan succeeded).
 */
export type DeploymentStatus = "succeeded" | "failed" | "running";

/** One deployment of a distribution to an environment, as Attini recorded it. */
export interface RecordedDeployment {
    environment: string;
    distributionName: string;
    distributionId?: string;
    /** When Attini started it, ms since the epoch. */
    time: number;
    status: DeploymentStatus;
    /** Why it failed (Attini's error code and message, or the plan's status), or what it still waits for. */
    detail?: string;
    /**
     * Only between reading the row and judging it (history.ts): the record cannot tell, and these
     * executions decide (deploymentPlans.ts). Never in what the gates and `status` get.
     */
    plans?: PlanExecutions;
}

/** The executions that decide a deployment whose record cannot tell (several plans, SUCCEEDED recorded). */
export interface PlanExecutions {
    /** deploymentPlanCount. */
    count: number;
    /** The execution ARNs the record names (executionArns), one per plan. */
    executions: string[];
}

/** Which deployments to read: one distribution in one environment. */
export interface HistoryQuery {
    environment: string;
    distributionName: string;
    /** The account, for messages. */
    accountId: string;
    /** Reading stops at the first (newest-first) deployment this accepts, when given. */
    until?: (d: RecordedDeployment) => boolean;
}

/** Why the history could not be read, for the user. */
export class HistoryUnreadable extends Error {}

/** The latest time a JavaScript Date holds (ms since the epoch, year 275760); past it, toISOString throws. */
export const MAX_DATE_MS = 8.64e15;

/** A time as ISO 8601 UTC, with milliseconds only when there are any. */
export function isoTime(ms: number): string {
    return new Date(ms).toISOString().replace(/\.000Z$/, "Z");
}

/** The one line that names a recorded deployment: `<id> at <time>, <status> (<detail>)`. */
export function describeDeployment(d: RecordedDeployment): string {
    return `${d.distributionId ?? "(no id)"} at ${isoTime(d.time)}, ${d.status}${d.detail ? ` (${d.detail})` : ""}`;
}
