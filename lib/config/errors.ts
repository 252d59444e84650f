/** Config errors: each names the stack, the key, the value (never a secret) and the fix. */
import type { RawValue, SecretValue } from "./types";

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

/** Shows a raw value in an error message. Secrets are never shown. */
export function showValue(v: RawValue): string {
    if (v === undefined || v === null) return "(not set)";
    if (isSecret(v)) return "(secret, not shown)";
    return JSON.stringify(v);
}

export function isSecret(v: RawValue): v is SecretValue {
    return typeof v === "object" && v !== null && !Array.isArray(v) && (v as SecretValue).secret === true;
}
