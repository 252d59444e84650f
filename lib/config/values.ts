/**
 * Reading raw config values for the validator: each reader checks one key's type, and every
 * problem goes into one error list, with the `pulumi config set` command that fixes it. No
 * defaults here: Pulumi.yaml holds them, and both the Pulumi engine (for the program) and
 * lib/stackFiles.ts (offline) apply them before the validator runs.
 */
import { ConfigError, isSecret, showValue } from "./errors";
import { PROJECT, type RawConfig, type RawValue } from "./types";

/** An integer as Pulumi stores one: a number, or a string of digits (how `pulumi config set` writes it). */
export function integerValue(v: unknown): number | undefined {
    if (typeof v === "number") return Number.isInteger(v) ? v : undefined;
    return typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : undefined;
}

/** A boolean as Pulumi stores one: true/false, or the strings "true"/"false". */
export function booleanValue(v: unknown): boolean | undefined {
    if (v === true || v === "true") return true;
    if (v === false || v === "false") return false;
    return undefined;
}

const unset = (v: RawValue) => v === undefined || v === null || v === "";

/** One stack's raw config, read key by key; `errors` collects every problem found. */
export class ConfigReader {
    readonly errors: ConfigError[] = [];

    constructor(
        readonly stack: string,
        private readonly raw: RawConfig,
    ) {}

    /** The full key: `attini-gitops:<key>` unless it names its namespace (`aws:region`). */
    key(k: string): string {
        return k.includes(":") ? k : `${PROJECT}:${k}`;
    }

    get(k: string): RawValue {
        return this.raw.get(this.key(k));
    }

    /** A problem with key `k` (its value shown, never a secret). */
    fail(k: string, problem: string, fix: string): void {
        this.errors.push(new ConfigError(this.stack, this.key(k), showValue(this.get(k)), problem, fix));
    }

    /** A problem with item `i` of list key `k`. */
    failItem(k: string, i: number, item: string, problem: string, fix: string): void {
        this.errors.push(new ConfigError(this.stack, `${this.key(k)}[${i}]`, JSON.stringify(item), problem, fix));
    }

    /** The command that sets key `k` in this stack. */
    setCmd(k: string, example: string, flags = ""): string {
        return `pulumi config set ${flags}${k} ${example} --stack ${this.stack}`;
    }

    /** A plain-text string; undefined when not set (an error if `required`) or not a string. */
    str(k: string, required: boolean, example: string): string | undefined {
        const v = this.get(k);
        if (unset(v)) {
            if (required)
                this.fail(
                    k,
                    "is required but not set",
                    `run \`${this.setCmd(k, example)}\` or add it to Pulumi.${this.stack}.yaml`,
                );
            return undefined;
        }
        if (isSecret(v)) {
            this.fail(k, "must not be a secret", `store it in plain text: \`${this.setCmd(k, example)}\``);
            return undefined;
        }
        if (typeof v !== "string") {
            this.fail(
                k,
                "must be a string",
                `quote it in Pulumi.${this.stack}.yaml, e.g. ${k.replace(/^.*:/, "")}: "${example}"`,
            );
            return undefined;
        }
        return v;
    }

    /** A whole number (Pulumi.yaml gives the default). */
    int(k: string, example: string): number | undefined {
        return this.typed(k, example, integerValue, "must be a whole number");
    }

    /** true or false (Pulumi.yaml gives the default). */
    bool(k: string, example: string): boolean | undefined {
        return this.typed(k, example, booleanValue, "must be true or false");
    }

    /** A value `parse` accepts; otherwise says it is not set (Pulumi.yaml should give it) or gives `problem`. */
    private typed<T>(k: string, example: string, parse: (v: unknown) => T | undefined, problem: string): T | undefined {
        const v = this.get(k);
        const parsed = parse(v);
        if (parsed === undefined) {
            this.fail(
                k,
                unset(v) ? "is not set (Pulumi.yaml should give its default)" : problem,
                `run \`${this.setCmd(k, example)}\``,
            );
        }
        return parsed;
    }

    /** A list of strings (a YAML list, or its JSON text from the engine); not set means empty. */
    list(k: string, example: string): string[] | undefined {
        let v = this.get(k);
        if (unset(v)) return [];
        if (typeof v === "string") {
            try {
                v = JSON.parse(v) as RawValue;
            } catch {
                /* reported below */
            }
        }
        if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
            this.fail(
                k,
                "must be a list of strings",
                `write it as a YAML list in Pulumi.${this.stack}.yaml, e.g.\n      ${k.replace(/^.*:/, "")}:\n        - ${example}`,
            );
            return undefined;
        }
        return v as string[];
    }
}
