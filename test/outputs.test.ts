/**
 * Reading a stack's outputs through the Automation API (automation/outputs.ts), on the real CLI and
 * a file backend, in a fresh Node process each time, as the driver runs: what the CLI runs see,
 * what the driver's own process is left with, and that what the driver never uses (TypeScript,
 * gRPC, OpenTelemetry) is only loaded when used.
 */

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import test from "ava";
import { type Backend, fileBackend } from "./support/backend";
import { provision, type ScratchProject, scratchProject } from "./support/project";
import { pulumiCli, ROOT } from "./support/tools";

let backend: Backend;
let project: ScratchProject;
/** A folder with a `pulumi` that logs each run (its arguments, GOGC, GOMEMLIMIT) and runs the real CLI. */
let wrapperDir: string;
let runLog: string;

test.before(async () => {
    const real = pulumiCli();
    backend = fileBackend();
    project = scratchProject();
    await provision(project, backend, ["dev"]);
    wrapperDir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-pulumi-wrapper-"));
    runLog = path.join(wrapperDir, "runs.log");
    fs.writeFileSync(
        path.join(wrapperDir, "pulumi"),
        `#!/bin/sh\necho "$* | GOGC=\${GOGC-unset} GOMEMLIMIT=\${GOMEMLIMIT-unset}" >> "${runLog}"\nexec "${real}" "$@"\n`,
        { mode: 0o755 },
    );
});

test.after.always(() => {
    backend?.dispose();
    project?.dispose();
    if (wrapperDir) fs.rmSync(wrapperDir, { recursive: true, force: true });
});

interface ChildResult {
    outputs: Record<string, unknown>;
    typescriptBeforeUse: boolean;
    typescriptAfterUse: boolean;
    serialized: string;
    normalizeBeforeUse: boolean;
    normalizeAfterUse: boolean;
    normalized: unknown;
    /** Which of the modules deferred for a program's run were loaded once the outputs were read. */
    deferredLoaded: Record<string, boolean>;
    driverEnv: { GOGC: string | null; GOMEMLIMIT: string | null };
}

/** Reads the dev stack's outputs in a new Node process, then asks the Pulumi SDK to serialize a function (which needs TypeScript). */
async function readInChild(env: Record<string, string | undefined>): Promise<{ result: ChildResult; runs: string[] }> {
    fs.rmSync(runLog, { force: true });
    const dist = path.join(ROOT, "dist", "automation");
    const script = `
        const { readOutputs } = require(${JSON.stringify(path.join(dist, "outputs.js"))});
        const { loadValidStacks } = require(${JSON.stringify(path.join(dist, "project.js"))});
        const typescriptFile = require.resolve("typescript", { paths: [${JSON.stringify(ROOT)}] });
        const typescriptLoaded = () => typescriptFile in require.cache;
        const pulumiDir = require("node:path").dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [${JSON.stringify(ROOT)}] }));
        const normalizeFile = require.resolve("normalize-package-data", { paths: [pulumiDir] });
        // What the SDK's code-path search holds after its import, as TypeScript's __importDefault builds it.
        const normalizeLoaded = () => require.cache[normalizeFile]?.loaded === true && !!require.cache[normalizeFile].children?.length;
        // Each of these requires others when it really loads; its placeholder requires none.
        const deferred = ["@grpc/grpc-js", "@opentelemetry/api", "@logdna/tail-file", "@pulumi/pulumi/proto/language_grpc_pb", "@pulumi/pulumi/proto/resource_grpc_pb"];
        const deferredLoaded = () => Object.fromEntries(deferred.map((m) => [m, !!require.cache[require.resolve(m, { paths: [pulumiDir] })]?.children?.length]));
        const dev = loadValidStacks(process.cwd()).configs.find((c) => c.stack === "dev");
        readOutputs(process.cwd(), dev, [dev]).then(async (outputs) => {
            const typescriptBeforeUse = typescriptLoaded();
            const normalizeBeforeUse = normalizeLoaded();
            const deferredBeforeUse = deferredLoaded();
            const imported = require(normalizeFile);
            const normalize = imported && imported.__esModule ? imported : { default: imported };
            const pkg = { name: undefined, version: undefined, repository: "github:example/app" };
            normalize.default(pkg);
            const driverEnv = { GOGC: process.env.GOGC ?? null, GOMEMLIMIT: process.env.GOMEMLIMIT ?? null };
            const pulumi = require(require.resolve("@pulumi/pulumi", { paths: [${JSON.stringify(ROOT)}] }));
            const f = await pulumi.runtime.serializeFunction(function answer() { return 6 * 7; });
            console.log(JSON.stringify({ outputs, typescriptBeforeUse, typescriptAfterUse: typescriptLoaded(), serialized: f.text, driverEnv, normalizeBeforeUse, normalizeAfterUse: normalizeLoaded(), normalized: pkg.repository, deferredLoaded: deferredBeforeUse }));
        });`;
    const base = {
        ...process.env,
        ...backend.env,
        PULUMI_CONFIG_PASSPHRASE: undefined,
        GOGC: undefined,
        GOMEMLIMIT: undefined,
        PATH: `${wrapperDir}${path.delimiter}${process.env.PATH}`,
    };
    const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], {
        cwd: project.dir,
        env: { ...base, ...env } as NodeJS.ProcessEnv,
    });
    return {
        result: JSON.parse(stdout) as ChildResult,
        runs: fs.readFileSync(runLog, "utf8").trim().split("\n").sort(),
    };
}

test.serial(
    "the outputs are read with the workspace's version-checked CLI; TypeScript loads only when something uses it",
    async (t) => {
        const { result, runs } = await readInChild({});
        t.like(result.outputs, {
            deployRoleArn: "arn:aws:iam::111111111111:role/attini-deploy-role-eu-west-1",
            accountId: "111111111111",
            attiniEnvironment: "dev",
            branch: "dev",
        });
        // Two CLI runs: the Automation API's version check, and the read.
        t.deepEqual(
            runs.map((r) => r.split(" | ")[0]),
            ["stack output --json --stack dev", "version"],
        );
        t.false(result.typescriptBeforeUse, "reading outputs loaded the TypeScript compiler");
        t.true(result.typescriptAfterUse);
        t.regex(result.serialized, /6 \* 7/, "the SDK's closure serializer, which parses with TypeScript, still works");
        // normalize-package-data (the closure serializer's, about 25 ms to load) waits for its first call too.
        t.false(result.normalizeBeforeUse, "reading outputs loaded normalize-package-data");
        t.true(result.normalizeAfterUse);
        t.deepEqual(result.normalized, { type: "git", url: "git+https://github.com/example/app.git" });
        // gRPC, OpenTelemetry, the event-log tail and the gRPC service stubs (about 60 ms of CPU),
        // for running a program, wait for their first use too.
        t.deepEqual(result.deferredLoaded, {
            "@grpc/grpc-js": false,
            "@opentelemetry/api": false,
            "@logdna/tail-file": false,
            "@pulumi/pulumi/proto/language_grpc_pb": false,
            "@pulumi/pulumi/proto/resource_grpc_pb": false,
        });
    },
);

test.serial(
    "once the workspace is open, the modules it left unloaded load when used: an inline program's pulumi up runs, and the event-log tail constructs",
    async (t) => {
        const dist = path.join(ROOT, "dist", "automation");
        // The placeholders are in place once the driver has opened its workspace; then an inline
        // program (gRPC between the CLI and this process, the engine's service stubs, OpenTelemetry)
        // is deployed with the same SDK, and the tail is constructed as the SDK imports it.
        const script = `
        const path = require("node:path");
        const { openWorkspace } = require(${JSON.stringify(path.join(dist, "outputs.js"))});
        const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [${JSON.stringify(ROOT)}] }));
        const loaded = (m) => !!require.cache[require.resolve(m, { paths: [pulumiDir] })]?.children?.length;
        const grpcLoaded = () => loaded("@grpc/grpc-js");
        openWorkspace(process.cwd()).then(async () => {
            const before = grpcLoaded();
            const { LocalWorkspace } = require(path.join(pulumiDir, "automation", "localWorkspace"));
            const stack = await LocalWorkspace.createOrSelectStack(
                { stackName: "deferred", projectName: "deferred", program: async () => ({ answer: 6 * 7 }) },
                { envVars: { PULUMI_CONFIG_PASSPHRASE: "deferred-modules-test" } },
            );
            // The tail's placeholder, as the SDK's __importDefault wraps it, taken before the up loads it.
            const tailFile = require.resolve("@logdna/tail-file", { paths: [pulumiDir] });
            const imported = require(tailFile);
            const TailFile = imported && imported.__esModule ? imported.default : imported;
            const placeholder = !(tailFile in require.cache && require.cache[tailFile].children?.length);
            let events = 0;
            const up = await stack.up({ onEvent: () => { events++; } });
            const tail = new TailFile(__filename, { startPos: 0 });
            class Named extends TailFile { name() { return "named"; } }
            const named = new Named(__filename, { startPos: 0 });
            console.log(JSON.stringify({
                before,
                after: grpcLoaded(),
                answer: up.outputs.answer.value,
                result: up.summary.result,
                events: events >= 2,
                tail: placeholder && tail instanceof require(tailFile) && typeof tail.start === "function",
                subclass: named instanceof Named && named.name(),
            }));
        }).catch((err) => { console.error(err); process.exit(1); });`;
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-deferred-"));
        t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
        const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], {
            cwd: project.dir,
            env: { ...process.env, ...backend.env, PULUMI_HOME: home },
            timeout: 120_000,
        });
        t.deepEqual(JSON.parse(stdout), {
            before: false,
            after: true,
            answer: 42,
            result: "succeeded",
            events: true,
            tail: true,
            subclass: "named",
        });
    },
);

test.serial(
    "the CLI runs get GOGC=off with a 256 MiB GOMEMLIMIT; the driver's own environment (and so attini's) does not",
    async (t) => {
        const { result, runs } = await readInChild({});
        for (const run of runs) t.regex(run, / \| GOGC=off GOMEMLIMIT=256MiB$/);
        t.deepEqual(result.driverEnv, { GOGC: null, GOMEMLIMIT: null });
    },
);

test.serial("a GOGC or GOMEMLIMIT the user set is left as it is", async (t) => {
    const gogc = await readInChild({ GOGC: "50" });
    for (const run of gogc.runs) t.regex(run, / \| GOGC=50 GOMEMLIMIT=unset$/);
    t.deepEqual(gogc.result.driverEnv, { GOGC: "50", GOMEMLIMIT: null });
    const limit = await readInChild({ GOMEMLIMIT: "1GiB" });
    for (const run of limit.runs) t.regex(run, / \| GOGC=unset GOMEMLIMIT=1GiB$/);
    t.deepEqual(limit.result.driverEnv, { GOGC: null, GOMEMLIMIT: "1GiB" });
});
