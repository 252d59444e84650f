/**
 * Importing the Automation API's LocalWorkspace imports all of @pulumi/pulumi, and with it modules
 * the driver never uses but pays to load on every deploy, on the cores the Pulumi CLIs reading the
 * outputs need:
 * - the TypeScript compiler (9 MB of JavaScript), which the closure serializer loads at import
 *   through `@pulumi/pulumi/typescript-shim`: about half of what the driver's start cost before
 *   it could read a stack's outputs;
 * - normalize-package-data (with spdx-correct and the license list, about 25 ms), which the
 *   closure serializer's code-path search uses on package.json files;
 * - gRPC (@grpc/grpc-js, 65 modules) and the SDK's gRPC service stubs (`proto/*_grpc_pb.js`), for
 *   talking to the Pulumi engine while a program runs, OpenTelemetry's API (44 modules) for
 *   tracing such a run, and @logdna/tail-file for following a `pulumi up`'s events: together
 *   about 60 ms of CPU.
 * The driver never serializes a closure, runs a program or follows an update: it only reads outputs.
 *
 * `deferUnusedModules()` registers each as a module whose exports load the real one the first
 * time anything is read from them, or they are called or constructed. Nothing else changes:
 * whoever uses one gets the real module, only later. One that cannot be found (another
 * @pulumi/pulumi layout) or is already loaded is left alone. A message module (`proto/*_pb.js`)
 * the SDK reads at import (resource_pb.js, for its feature names) loads then, as before.
 */
import * as fs from "node:fs";
import Module from "node:module";
import * as path from "node:path";

/**
 * How a deferred module is imported, which decides what its placeholder answers before it loads:
 * - "namespace": with TypeScript's `__importStar` (`import * as grpc`), or an ES module compiled to
 *   CommonJS (OpenTelemetry's API). The placeholder says it is an ES module (`__esModule`), so
 *   `__importStar` takes it as it is, where it would otherwise copy every export, and so load it,
 *   at import.
 * - "function": with `__importDefault`, then called or constructed (`new TailFile()`). The
 *   placeholder says it is not an ES module, as the real one (CommonJS) would, so that it is
 *   wrapped, and can be called and constructed.
 * - "object": with a plain `require()`, its exports read later.
 */
type Imported = "namespace" | "function" | "object";

/** Registers `file` as a placeholder whose exports are the real module's, loaded on first use. */
function defer(file: string, imported: Imported): void {
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
    // A bound function can be called and constructed, and has no own `prototype`, which a proxy
    // would have to report as the target's own and not as the real module's.
    const target = imported === "function" ? function deferred() {}.bind(null) : {};
    const exports: object = new Proxy(target, {
        get: (_, key) =>
            key === "__esModule" && real === undefined
                ? imported === "namespace" || undefined
                : Reflect.get(load(), key),
        set: (_, key, value) => Reflect.set(load(), key, value),
        has: (_, key) => Reflect.has(load(), key),
        ownKeys: () => [...new Set([...Reflect.ownKeys(load()), ...Reflect.ownKeys(target)])],
        // A proxy may call a property non-configurable only when its target has it so: one defined
        // so through the placeholder is kept on the target too (defineProperty), and told as it is.
        getOwnPropertyDescriptor: (_, key) => {
            const fixed = Reflect.getOwnPropertyDescriptor(target, key);
            if (fixed?.configurable === false) return fixed;
            const d = Reflect.getOwnPropertyDescriptor(load(), key) ?? fixed;
            return d && { ...d, configurable: true };
        },
        defineProperty: (_, key, descriptor) =>
            Reflect.defineProperty(load(), key, descriptor) &&
            (descriptor.configurable !== false || Reflect.defineProperty(target, key, descriptor)),
        deleteProperty: (_, key) => Reflect.deleteProperty(load(), key),
        getPrototypeOf: () => Reflect.getPrototypeOf(load()),
        apply: (_, self, args) => Reflect.apply(load() as (...a: unknown[]) => unknown, self, args),
        // `new Placeholder()` makes the real class's object; a subclass's `new` makes the subclass's.
        construct: (_, args, newTarget) => {
            const cls = load() as new (...a: unknown[]) => object;
            return Reflect.construct(cls, args, newTarget === exports ? cls : newTarget);
        },
    });
    placeholder.exports = exports;
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

/** The SDK's gRPC service stubs (each `*_grpc_pb.js` in its proto folder, and below), imported with `__importStar`. */
function grpcStubs(): string[] {
    const proto = resolvedForPulumi("@pulumi/pulumi/proto/engine_grpc_pb");
    if (proto === undefined) return [];
    const dir = path.dirname(proto);
    return fs
        .readdirSync(dir, { recursive: true, encoding: "utf8" })
        .filter((f) => f.endsWith("_grpc_pb.js"))
        .map((f) => path.join(dir, f));
}

export function deferUnusedModules(): void {
    const modules: [string, Imported][] = [
        ["@pulumi/pulumi/typescript-shim", "object"],
        ["normalize-package-data", "function"],
        ["@grpc/grpc-js", "namespace"],
        ["@opentelemetry/api", "namespace"],
        ["@logdna/tail-file", "function"],
    ];
    for (const [specifier, imported] of modules) {
        const file = resolvedForPulumi(specifier);
        if (file) defer(file, imported);
    }
    for (const stub of grpcStubs()) defer(stub, "namespace");
}
