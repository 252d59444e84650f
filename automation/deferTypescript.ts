/**
 * Importing the Automation API's LocalWorkspace imports all of @pulumi/pulumi, and with it the
 * closure serializer, which loads the TypeScript compiler (9 MB of JavaScript) at import time
 * through `@pulumi/pulumi/typescript-shim`. The driver never serializes a closure, so that load is
 * about half of what the driver's start costs before it can read a stack's outputs.
 *
 * `deferTypescript()` registers the shim as a module whose exports load the real shim (and so
 * TypeScript) the first time anything is read from them. Nothing else changes: whoever uses the
 * shim gets the real TypeScript, only later. When the shim cannot be found (another @pulumi/pulumi
 * layout) or is already loaded, it does nothing.
 */
import Module from "node:module";

const SHIM = "@pulumi/pulumi/typescript-shim";

export function deferTypescript(): void {
    let file: string;
    try {
        file = require.resolve(SHIM);
    } catch {
        return;
    }
    if (require.cache[file]) return;
    const placeholder = new Module(file, module);
    let real: object | undefined;
    const load = (): object => {
        if (real === undefined) {
            if (require.cache[file] === placeholder) delete require.cache[file];
            // require(): the real module, loaded on first use in place of the placeholder.
            real = require(file) as object;
        }
        return real;
    };
    placeholder.filename = file;
    placeholder.loaded = true;
    placeholder.exports = new Proxy(
        {},
        {
            get: (_, key) => Reflect.get(load(), key),
            has: (_, key) => Reflect.has(load(), key),
            ownKeys: () => Reflect.ownKeys(load()),
            getOwnPropertyDescriptor: (_, key) => {
                const d = Reflect.getOwnPropertyDescriptor(load(), key);
                return d && { ...d, configurable: true };
            },
            getPrototypeOf: () => Reflect.getPrototypeOf(load()),
        },
    );
    require.cache[file] = placeholder;
}
