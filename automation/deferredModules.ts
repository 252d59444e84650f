/**
 * Importing the Automation API's LocalWorkspace imports all of @pulumi/pulumi, and with it modules
 * the driver never uses but pays to load on every deploy, on the cores the Pulumi CLIs reading the
 * outputs need:
 * - the TypeScript compiler (9 MB of JavaScript), which the closure serializer loads at import
 *   through `@pulumi/pulumi/typescript-shim`: about half of what the driver's start cost before
 *   it could read a stack's outputs;
 * - normalize-package-data (with spdx-correct and the license list, about 25 ms), which the
 *   closure serializer's code-path search uses on package.json files.
 * The driver never serializes a closure.
 *
 * `deferUnusedModules()` registers each as a module whose exports load the real one the first
 * time anything is read from them, or they are called. Nothing else changes: whoever uses one
 * gets the real module, only later. One that cannot be found (another @pulumi/pulumi layout) or is
 * already loaded is left alone.
 */
import Module from "node:module";
import * as path from "node:path";

/**
 * Registers `file` as a placeholder whose exports are the real module's, loaded on first use. A
 * function export (`callable`) can be called through it. `__esModule` is answered without loading:
 * TypeScript's `__importDefault` asks it at import, and the real module (CommonJS) has none.
 */
function defer(file: string, callable: boolean): void {
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
    const target = callable ? () => undefined : {};
    placeholder.exports = new Proxy(target, {
        get: (_, key) => (key === "__esModule" && real === undefined ? undefined : Reflect.get(load(), key)),
        has: (_, key) => Reflect.has(load(), key),
        ownKeys: () => [...new Set([...Reflect.ownKeys(load()), ...Reflect.ownKeys(target)])],
        getOwnPropertyDescriptor: (_, key) => {
            const d = Reflect.getOwnPropertyDescriptor(load(), key) ?? Reflect.getOwnPropertyDescriptor(target, key);
            return d && { ...d, configurable: true };
        },
        getPrototypeOf: () => Reflect.getPrototypeOf(load()),
        apply: (_, self, args) => Reflect.apply(load() as (...a: unknown[]) => unknown, self, args),
    });
    require.cache[file] = placeholder;
}

/** `specifier` as @pulumi/pulumi would resolve it; undefined when it cannot be found. */
function resolvedForPulumi(specifier: string): string | undefined {
    try {
        const pulumi = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
        return require.resolve(specifier, { paths: [pulumi] });
    } catch {
        return undefined;
    }
}

export function deferUnusedModules(): void {
    const shim = resolvedForPulumi("@pulumi/pulumi/typescript-shim");
    if (shim) defer(shim, false);
    const normalize = resolvedForPulumi("normalize-package-data");
    if (normalize) defer(normalize, true);
}
