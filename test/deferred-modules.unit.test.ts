// deferredModules.ts: a placeholder stands for a module until it is used, and then behaves as the
// module would, for the ways a module is used that JavaScript lets a placeholder see. Each case
// runs in a Node process of its own, since the placeholders are process-wide.

import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import test from "ava";
import { ROOT } from "./support/tools";

/** Runs `body` in a new Node process after deferUnusedModules(); what it prints, parsed. */
async function afterDeferral(body: string): Promise<unknown> {
    const script = `
        require(${JSON.stringify(path.join(ROOT, "dist", "automation", "deferredModules.js"))}).deferUnusedModules();
        const path = require("node:path");
        const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [${JSON.stringify(ROOT)}] }));
        const fileOf = (m) => require.resolve(m, { paths: [pulumiDir] });
        const loaded = (m) => !!require.cache[fileOf(m)]?.children?.length;
        ${body}`;
    const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], { cwd: ROOT });
    return JSON.parse(stdout);
}

test("a module imported with __importStar is taken as it is, unloaded; it loads when a property is read", async (t) => {
    const seen = await afterDeferral(`
        const grpc = require(fileOf("@grpc/grpc-js"));
        const esModule = grpc.__esModule;
        const before = loaded("@grpc/grpc-js");
        const credentials = typeof grpc.credentials.createInsecure;
        console.log(JSON.stringify({ esModule, before, credentials, after: loaded("@grpc/grpc-js") }));`);
    t.deepEqual(seen, { esModule: true, before: false, credentials: "function", after: true });
});

test("a non-configurable property defined through a placeholder is defined, and read back, without a TypeError", async (t) => {
    const seen = await afterDeferral(`
        const otel = require(fileOf("@opentelemetry/api"));
        Object.defineProperty(otel, "pinned", { value: 7, configurable: false, enumerable: true });
        const d = Object.getOwnPropertyDescriptor(otel, "pinned");
        const real = require(fileOf("@opentelemetry/api"));
        console.log(JSON.stringify({ value: d.value, configurable: d.configurable, onReal: real.pinned, deleted: delete otel.pinned, keys: Object.keys(otel).includes("pinned") }));`);
    t.deepEqual(seen, { value: 7, configurable: false, onReal: 7, deleted: false, keys: true });
});

test("a module imported with __importDefault is wrapped, and can be called, constructed and extended", async (t) => {
    const seen = await afterDeferral(`
        const imported = require(fileOf("normalize-package-data"));
        const wrapped = imported && imported.__esModule ? "taken as it is" : "wrapped";
        const pkg = { name: "x", version: "1.0.0", repository: "github:example/app" };
        imported(pkg);
        const tail = require(fileOf("@logdna/tail-file"));
        class Named extends tail { name() { return "named"; } }
        const named = new Named(__filename, { startPos: 0 });
        const plain = new tail(__filename, { startPos: 0 });
        const Real = require(fileOf("@logdna/tail-file"));
        console.log(JSON.stringify({ wrapped, url: pkg.repository.url, named: named instanceof Named && named.name(), plain: plain instanceof Real }));`);
    t.deepEqual(seen, {
        wrapped: "wrapped",
        url: "git+https://github.com/example/app.git",
        named: "named",
        plain: true,
    });
});
