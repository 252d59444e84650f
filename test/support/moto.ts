/**
 * The AWS API emulator (moto's server) on a free 127.0.0.1 port, for tests and the demo.
 * It is always stopped: by stop(), and by exit/signal hooks if a test run dies or is interrupted.
 * Its log (a line per request) goes to a file, not a pipe to this process: a pipe nobody drains
 * while this process waits in spawnSync (the benches) fills, and moto stops answering.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { LoopbackFront } from "./loopback";
import { motoServerBin, ROOT } from "./tools";

export interface Moto {
    readonly endpoint: string;
    readonly port: number;
    /** Forgets every resource (IAM roles, buckets, ...): a clean slate for the next test. */
    reset(): Promise<void>;
    stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
/** The folders of the running servers' logs, removed as each stops. */
const logDirs = new Set<string>();
let hooked = false;
function hookExit(): void {
    if (hooked) return;
    hooked = true;
    const killAll = () => {
        for (const p of running) p.kill("SIGKILL");
        for (const dir of logDirs) fs.rmSync(dir, { recursive: true, force: true });
    };
    process.on("exit", killAll);
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(sig, () => {
            killAll();
            process.kill(process.pid, sig);
        });
    }
}

export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const { port } = srv.address() as net.AddressInfo;
            srv.close(() => resolve(port));
        });
    });
}

/** The last 4,000 characters of the server's log ("" once it is gone). */
function logTail(file: string): string {
    try {
        const text = fs.readFileSync(file, "utf8");
        return text.slice(-4000);
    } catch {
        return "";
    }
}

async function waitUntilUp(endpoint: string, proc: ChildProcess, timeoutMs: number, log: () => string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (proc.exitCode !== null) throw new Error(`moto_server exited with code ${proc.exitCode}:\n${log()}`);
        try {
            const res = await fetch(`${endpoint}/moto-api/data.json`);
            if (res.ok) return;
        } catch {
            /* not listening yet */
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`moto_server did not answer on ${endpoint} within ${timeoutMs} ms:\n${log()}`);
}

/** Starts moto's server on 127.0.0.1 and waits until it answers. */
export async function startMoto(opts: { accountId?: string } = {}): Promise<Moto> {
    hookExit();
    const bin = motoServerBin();
    for (let attempt = 1; ; attempt++) {
        const port = await freePort();
        const env: NodeJS.ProcessEnv = { ...process.env };
        if (opts.accountId) env.MOTO_ACCOUNT_ID = opts.accountId;
        // moto's own server, run by motoServer.py so that DynamoDB's requests are atomic, as on AWS.
        const python = path.join(path.dirname(bin), "python");
        const server = path.join(ROOT, "test", "support", "motoServer.py");
        const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-moto-"));
        logDirs.add(logDir);
        const logFile = path.join(logDir, "moto.log");
        const fd = fs.openSync(logFile, "a");
        const proc = spawn(python, [server, "-H", "127.0.0.1", "-p", String(port)], {
            env,
            stdio: ["ignore", "ignore", fd],
        });
        fs.closeSync(fd);
        running.add(proc);
        proc.on("exit", () => {
            running.delete(proc);
            logDirs.delete(logDir);
            fs.rmSync(logDir, { recursive: true, force: true });
        });
        const endpoint = `http://127.0.0.1:${port}`;
        try {
            await waitUntilUp(endpoint, proc, 30_000, () => logTail(logFile));
        } catch (e) {
            const said = logTail(logFile);
            proc.kill("SIGKILL");
            if (attempt < 3 && /in use/i.test(said)) continue; // lost the race for the port
            throw e;
        }
        return {
            endpoint,
            port,
            async reset() {
                const res = await fetch(`${endpoint}/moto-api/reset`, { method: "POST" });
                if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
            },
            stop() {
                return new Promise<void>((resolve) => {
                    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
                    proc.once("exit", () => resolve());
                    proc.kill("SIGTERM");
                    setTimeout(() => proc.kill("SIGKILL"), 3000).unref();
                });
            },
        };
    }
}

/** Environment that points AWS SDKs and CLIs at the emulator with throwaway source credentials. */
export function awsEnvFor(moto: Moto, region = "eu-west-1"): Record<string, string> {
    return {
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_ACCESS_KEY_ID: "AKIAEMULATORSOURCEKEY",
        AWS_SECRET_ACCESS_KEY: "emulator-source-secret-key",
        AWS_REGION: region,
        AWS_DEFAULT_REGION: region,
        AWS_EC2_METADATA_DISABLED: "true",
    };
}

/**
 * A loopback front for the emulator's Step Functions (moto 5.1.18), for AWS_ENDPOINT_URL_SFN. moto
 * answers dates as ISO strings where AWS answers epoch seconds, which the AWS SDK for JavaScript
 * refuses to parse; the front passes every request on unchanged and turns those dates into
 * numbers, and records each call's X-Amz-Target. (moto's executions stay RUNNING until stopped,
 * then ABORTED. Its option to run state machines for real, which would end them SUCCEEDED or
 * FAILED, starts only the first execution of an account and region: every later StartExecution
 * fails deep-copying the first one's lock.)
 */
export class StepFunctionsFront extends LoopbackFront {
    readonly calls: string[] = [];
    private constructor(server: http.Server) {
        super(server);
    }

    static async start(moto: Moto): Promise<StepFunctionsFront> {
        let self!: StepFunctionsFront;
        const server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on("data", (d: Buffer) => chunks.push(d));
            req.on("end", async () => {
                self.calls.push(String(req.headers["x-amz-target"] ?? ""));
                const upstream = await fetch(`${moto.endpoint}${req.url}`, {
                    method: req.method,
                    headers: req.headers as Record<string, string>,
                    body: Buffer.concat(chunks),
                });
                const text = await upstream.text();
                const json = text.replace(
                    /"(\w*Date)": "(\d{4}-\d\d-\d\dT[\d:.]+Z)"/g,
                    (_, key: string, iso: string) => `"${key}": ${Date.parse(iso) / 1000}`,
                );
                res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "" });
                res.end(json);
            });
        });
        self = new StepFunctionsFront(server);
        await StepFunctionsFront.listen(server);
        return self;
    }
}
