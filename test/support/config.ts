/** Raw stack config for the validator, as the engine or the stack-file reader hands it over: Pulumi.yaml's defaults applied. */
import type { RawValue } from "../../lib/config/types";
import { readProjectSchema, withDefaults } from "../../lib/stackFiles";
import { ROOT } from "./tools";

/** `entries` (full keys), plus Pulumi.yaml's defaults for every key they leave out; an undefined value removes the key. */
export function rawConfig(entries: Record<string, RawValue>): Map<string, RawValue> {
    const raw = withDefaults(readProjectSchema(ROOT), new Map(Object.entries(entries)));
    for (const [k, v] of Object.entries(entries)) if (v === undefined) raw.delete(k);
    return raw;
}
