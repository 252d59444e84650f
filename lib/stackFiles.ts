/**
 * Offline reading of Pulumi.yaml and the Pulumi.<stack>.yaml files: no backend, no credentials.
 * Applies Pulumi.yaml's defaults and type schema the way the Pulumi engine does, then runs the
 * shared validator (lib/config/validate.ts) over every stack and across them (lib/config/stackSet.ts,
 * lib/config/readers.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { closest, distance } from "fastest-levenshtein";
import { load as parse } from "js-yaml";
import { validateAlarmGrants } from "./config/alarms";
import { ConfigError, ConfigValidationError, showValue } from "./config/errors";
import { validateHistoryReaders, validateRecordKeys } from "./config/readers";
import { validateStackSet, validateTargets } from "./config/stackSet";
import { PROJECT, type RawValue, STACK_NAME_RE, type StackConfig } from "./config/types";
import { validateStackConfig } from "./config/validate";
import { booleanValue, integerValue } from "./config/values";

export interface KeySchema {
    type: "string" | "integer" | "boolean" | "array";
    description: string;
    default?: unknown;
    secret?: boolean;
    items?: { type: string };
}

export interface ProjectSchema {
    name: string;
    keys: Map<string, KeySchema>;
}

export interface StackFile {
    stack: string;
    file: string;
    raw: Map<string, RawValue>;
}

export interface LoadedStacks {
    schema: ProjectSchema;
    files: StackFile[];
    /** Stacks whose config is valid. */
    configs: StackConfig[];
    /** Every problem in every stack file, and across them. */
    errors: ConfigError[];
}

const STACK_FILE_RE = /^Pulumi\.([^.]+(?:\.[^.]+)*)\.ya?ml$/;

export function readProjectSchema(projectDir: string): ProjectSchema {
    const file = path.join(projectDir, "Pulumi.yaml");
    let doc: { name?: unknown; config?: Record<string, KeySchema>; backend?: unknown };
    try {
        doc = (parse(fs.readFileSync(file, "utf8")) as typeof doc | undefined) ?? {};
    } catch (e) {
        throw new Error(
            `cannot read ${file}: ${(e as Error).message}. Run attini-gitops from the project root (the folder with Pulumi.yaml), or pass --cwd.`,
        );
    }
    if (doc.name !== PROJECT) throw new Error(`${file} is for project '${String(doc.name)}', not '${PROJECT}'`);
    // The Pulumi CLI reads the stacks from Pulumi.yaml's backend.url before `pulumi login`'s: a
    // commit could point the driver at outputs it forged. The backend is the CI job's to name.
    if (doc.backend !== undefined)
        throw new Error(
            `${file} sets backend: the deploy-role stacks' outputs must come from the backend the CI job names (\`pulumi login\` or PULUMI_BACKEND_URL), never from the commit being deployed. Remove the backend key from Pulumi.yaml.`,
        );
    return { name: PROJECT, keys: new Map(Object.entries(doc.config ?? {})) };
}

/**
 * Orders by stack name, code unit by code unit: the same on every machine, and without the ICU
 * collator that localeCompare loads on first use (about 5 ms of the driver's start).
 */
export function byStackName(a: { stack: string }, b: { stack: string }): number {
    return a.stack < b.stack ? -1 : a.stack > b.stack ? 1 : 0;
}

/** Names of the stacks that have a Pulumi.<stack>.yaml in projectDir, sorted. */
export function stackFileNames(projectDir: string): { stack: string; file: string }[] {
    return fs
        .readdirSync(projectDir)
        .map((f) => ({ f, m: STACK_FILE_RE.exec(f) }))
        .filter((x): x is { f: string; m: RegExpExecArray } => x.m !== null)
        .map((x) => ({ stack: x.m[1], file: path.join(projectDir, x.f) }))
        .sort(byStackName);
}

/**
 * Whether a stack-file value fits the Pulumi.yaml type. Like the Pulumi CLI, integers and booleans
 * may be written as strings ("7200", "true"): `pulumi config set` and `pulumi up` store them so.
 */
function typeMatches(s: KeySchema, v: unknown): boolean {
    switch (s.type) {
        case "string":
            return typeof v === "string";
        case "integer":
            return integerValue(v) !== undefined;
        case "boolean":
            return booleanValue(v) !== undefined;
        case "array":
            return Array.isArray(v) && v.every((x) => itemMatches(s.items?.type, x));
    }
}

/** Whether one item of an array value fits the Pulumi.yaml items type (only string and object items are declared). */
function itemMatches(type: string | undefined, x: unknown): boolean {
    if (type === "string") return typeof x === "string";
    if (type === "object") return typeof x === "object" && x !== null && !Array.isArray(x);
    return true;
}

/** Nearest known key within 3 edits, for "did you mean" hints. */
function nearest(key: string, known: Iterable<string>): string | undefined {
    const candidates = [...known];
    if (candidates.length === 0) return undefined;
    const best = closest(
        key.toLowerCase(),
        candidates.map((k) => k.toLowerCase()),
    );
    return distance(key.toLowerCase(), best) <= 3 ? candidates.find((k) => k.toLowerCase() === best) : undefined;
}

/**
 * Parses one stack file into raw values (defaults applied) plus the schema-level problems.
 * `parsed` is false when the file is not valid YAML: then its one error says so, and nothing
 * else about it can be told.
 */
export function readStackFile(
    schema: ProjectSchema,
    stack: string,
    file: string,
): { raw: Map<string, RawValue>; errors: ConfigError[]; parsed: boolean } {
    const errors: ConfigError[] = [];
    const raw = new Map<string, RawValue>();
    const base = path.basename(file);
    let doc: { config?: Record<string, unknown> } | null;
    try {
        doc = parse(fs.readFileSync(file, "utf8")) as typeof doc;
    } catch (e) {
        errors.push(
            new ConfigError(
                stack,
                "(file)",
                base,
                `is not valid YAML: ${(e as Error).message.split("\n")[0]}`,
                `fix the syntax in ${base}`,
            ),
        );
        return { raw, errors, parsed: false };
    }
    if (!STACK_NAME_RE.test(stack))
        errors.push(
            new ConfigError(
                stack,
                "(file)",
                base,
                "has a stack name Pulumi does not accept",
                "rename the file to Pulumi.<letters, digits, - _ .>.yaml",
            ),
        );
    for (const [key, value] of Object.entries(doc?.config ?? {})) {
        const full = key.includes(":") ? key : `${PROJECT}:${key}`;
        const short = full.slice(PROJECT.length + 1);
        const isSecure = typeof value === "object" && value !== null && !Array.isArray(value) && "secure" in value;
        const v: RawValue = isSecure ? { secret: true } : (value as RawValue);
        raw.set(full, v);
        if (!full.startsWith(`${PROJECT}:`)) continue;
        const s = schema.keys.get(short);
        if (!s) {
            const hint = nearest(short, schema.keys.keys());
            errors.push(
                new ConfigError(
                    stack,
                    full,
                    showValue(v),
                    "is not a key this project reads",
                    hint
                        ? `did you mean ${PROJECT}:${hint}? Keys are listed in Pulumi.yaml and docs/config.md`
                        : "remove it; keys are listed in Pulumi.yaml and docs/config.md",
                ),
            );
        } else if (!isSecure && !typeMatches(s, value)) {
            errors.push(
                new ConfigError(
                    stack,
                    full,
                    showValue(v),
                    `must be of type ${s.type}${s.items ? ` of ${s.items.type}` : ""} (Pulumi.yaml)`,
                    `fix the value in ${base}; ${s.description}`,
                ),
            );
        }
    }
    return { raw: withDefaults(schema, raw), errors, parsed: true };
}

/** `raw` with Pulumi.yaml's default for every key it does not set, as the Pulumi engine applies them. */
export function withDefaults(schema: ProjectSchema, raw: ReadonlyMap<string, RawValue>): Map<string, RawValue> {
    const all = new Map(raw);
    for (const [short, s] of schema.keys) {
        const full = `${PROJECT}:${short}`;
        if (!all.has(full) && s.default !== undefined) all.set(full, s.default as RawValue);
    }
    return all;
}

/** Reads and validates every stack file in projectDir. Never throws for a bad stack file. */
export function loadStacks(projectDir: string): LoadedStacks {
    const schema = readProjectSchema(projectDir);
    const files: StackFile[] = [];
    const configs: StackConfig[] = [];
    const errors: ConfigError[] = [];
    for (const { stack, file } of stackFileNames(projectDir)) {
        const read = readStackFile(schema, stack, file);
        files.push({ stack, file, raw: read.raw });
        if (!read.parsed) {
            errors.push(...read.errors);
            continue;
        }
        // Report the validator's findings too, except for keys the schema check already flagged.
        const v = validateStackConfig(stack, read.raw);
        const flagged = new Set(read.errors.map((e) => e.key));
        errors.push(...read.errors, ...v.errors.filter((e) => !flagged.has(e.key)));
        if (v.config && read.errors.length === 0) configs.push(v.config);
    }
    // Cross-stack rules look at every stack file whose branch can be read, valid or not, so that one
    // broken file does not hide a clash with another.
    const text = (v: RawValue) => (typeof v === "string" && v !== "" ? v : undefined);
    const links = files.flatMap((f) => {
        const branch = text(f.raw.get(`${PROJECT}:branch`));
        return branch ? [{ stack: f.stack, branch, promotedFrom: text(f.raw.get(`${PROJECT}:promotedFrom`)) }] : [];
    });
    errors.push(
        ...validateStackSet(
            links,
            files.map((f) => f.stack),
        ),
        ...validateHistoryReaders(configs),
        ...validateAlarmGrants(configs),
        ...validateRecordKeys(configs),
        ...validateTargets(configs),
    );
    return { schema, files, configs, errors };
}

/**
 * The validated config of the stack `c` is promoted from (undefined for the first environment),
 * read offline from its stack file: `pulumi up` pins its identity in c's outputs. An upstream
 * whose file is missing or invalid stops `pulumi up` with every problem of that file.
 */
export function upstreamConfigOf(projectDir: string, c: StackConfig): StackConfig | undefined {
    if (c.promotedFrom === undefined) return undefined;
    const loaded = loadStacks(projectDir);
    const up = loaded.configs.find((x) => x.stack === c.promotedFrom);
    if (up) return up;
    const own = loaded.errors.filter((e) => e.stack === c.promotedFrom).map(String);
    throw new ConfigValidationError([
        new ConfigError(
            c.stack,
            `${PROJECT}:promotedFrom`,
            JSON.stringify(c.promotedFrom),
            `names stack ${c.promotedFrom}, whose Pulumi.${c.promotedFrom}.yaml is ${own.length ? `invalid (${own.join("; ")})` : "missing"}; its branch, account, environment and history reader are pinned in this stack's outputs`,
            `fix Pulumi.${c.promotedFrom}.yaml (\`attini-gitops validate\` lists every problem), then run pulumi up --stack ${c.stack} again`,
        ),
    ]);
}
