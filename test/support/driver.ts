/**
 * Runs the built CLI (dist/automation/cli.js) as a CI job would, and observes it: a loopback
 * report server for the stand-in attini, and a loopback STS front that can refuse or throttle
 * before passing requests on to the emulator.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { Backend } from "./backend";
import { LoopbackFront } from "./loopback";
import { awsEnvFor, type Moto } from "./moto";
import { CLI, pulumiCli, STAND_IN_ATTINI } from "./tools";

export interface Report {
    event: "start" | "signal" | "exit";
    pid: number;
    argv?: string[];
    env?: Record<string, string | undefined>;
    identity?: { account?: string; arn?: string; error?: string };
    /** The credentials attini's default chain resolved (test-only loopback report). */
    credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: string };
    signal?: string;
    code?: number;
    /** What attini's stdin is: "pipe", "socket", "character device" (/dev/null), "other" or "closed". */
    stdin?: string;
}

/** Collects what the stand-in attini reports. */
export class ReportServer {
    readonly reports: Report[] = [];
    private waiters: { event: string; resolve: (r: Report) => void }[] = [];
    private constructor(private readonly server: http.Server) {}

    static async start(): Promise<ReportServer> {
        let self!: ReportServer;
        const server = http.createServer((req, res) => {
            let body = "";
            req.on("data", (d) => (body += d));
            req.on("end", () => {
                const r = JSON.parse(body) as Report;
                self.reports.push(r);
                for (const w of self.waiters.filter((x) => x.event === r.event)) w.resolve(r);
                self.waiters = self.waiters.filter((w) => w.event !== r.event);
                res.end("ok");
            });
        });
        self = new ReportServer(server);
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        return self;
    }

    get url(): string {
        return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}/`;
    }

    event(name: Report["event"]): Report | undefined {
        return this.reports.find((r) => r.event === name);
    }

    waitFor(name: Report["event"]): Promise<Report> {
        const have = this.event(name);
        return have ? Promise.resolve(have) : new Promise((resolve) => this.waiters.push({ event: name, resolve }));
    }

    reset(): void {
        this.reports.length = 0;
    }

    close(): Promise<void> {
        return new Promise((r) => this.server.close(() => r()));
    }
}

export interface StsCall {
    action: string;
    params: URLSearchParams;
}

/**
 * What the STS front does with a call: answer with an error, never answer ("hang"), reset the
 * connection ("reset"), or (undefined) pass it on to the emulator.
 */
export type FrontAnswer = { status: number; code: string; message: string } | "hang" | "reset" | undefined;

/**
 * A loopback STS endpoint in front of the emulator. `respond` may answer a call itself (an error,
 * silence, a reset connection); otherwise the call is passed on to the emulator unchanged.
 */
export class StsFront extends LoopbackFront {
    readonly calls: StsCall[] = [];
    respond: (call: StsCall, n: number) => FrontAnswer = () => undefined;
    private constructor(
        server: http.Server,
        private readonly moto: Moto,
    ) {
        super(server);
    }

    static async start(moto: Moto): Promise<StsFront> {
        let self!: StsFront;
        const server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on("data", (d: Buffer) => chunks.push(d));
            req.on("end", async () => {
                const body = Buffer.concat(chunks);
                const params = new URLSearchParams(body.toString());
                const call = { action: params.get("Action") ?? "", params };
                self.calls.push(call);
                const answer = self.respond(call, self.calls.filter((c) => c.action === call.action).length);
                if (answer === "hang") return; // the socket stays open, unanswered, until the client gives up
                if (answer === "reset") return void req.socket.resetAndDestroy();
                if (answer) {
                    res.writeHead(answer.status, { "content-type": "text/xml" });
                    res.end(
                        `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${answer.code}</Code><Message>${answer.message}</Message></Error><RequestId>front-${self.calls.length}</RequestId></ErrorResponse>`,
                    );
                    return;
                }
                const upstream = await fetch(`${self.moto.endpoint}${req.url}`, {
                    method: req.method,
                    headers: req.headers as Record<string, string>,
                    body: req.method === "GET" ? undefined : body,
                });
                res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "text/xml" });
                res.end(Buffer.from(await upstream.arrayBuffer()));
            });
        });
        self = new StsFront(server, moto);
        await StsFront.listen(server);
        return self;
    }

    count(action: string): number {
        return this.calls.filter((c) => c.action === action).length;
    }

    reset(): void {
        this.calls.length = 0;
        this.respond = () => undefined;
    }
}

export interface CliResult {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
}

/** A CI job's environment: source credentials, the backend, the stand-in attini, its own HOME and TMPDIR. */
export function jobEnv(opts: {
    moto: Moto;
    backend: Backend;
    reports?: ReportServer;
    stsEndpoint?: string;
    extra?: Record<string, string | undefined>;
}): { env: NodeJS.ProcessEnv; home: string; tmp: string; dispose(): void } {
    pulumiCli();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-job-"));
    const home = path.join(root, "home");
    const tmp = path.join(root, "tmp");
    fs.mkdirSync(home);
    fs.mkdirSync(tmp);
    const aws = awsEnvFor(opts.moto);
    const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: home,
        TMPDIR: tmp,
        ...opts.backend.env,
        ...aws,
        ...(opts.stsEndpoint ? { AWS_ENDPOINT_URL_STS: opts.stsEndpoint } : {}),
        ATTINI_BIN: STAND_IN_ATTINI,
        ...(opts.reports ? { ATTINI_STANDIN_REPORT_URL: opts.reports.url } : {}),
        ...opts.extra,
    };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    return { env, home, tmp, dispose: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/** Runs `attini-gitops ARGS` and waits for it; `during` may act on the running process. */
export function runCli(
    args: string[],
    env: NodeJS.ProcessEnv,
    cwd: string,
    during?: (child: ChildProcess) => void,
    stdin: "ignore" | "pipe" = "ignore",
): Promise<CliResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [CLI, ...args], { env, cwd, stdio: [stdin, "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout!.on("data", (d) => (stdout += d));
        child.stderr!.on("data", (d) => (stderr += d));
        child.on("error", reject);
        child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
        during?.(child);
    });
}

/**
 * The GitHub Actions ID token service of a job: answers every request with `token` and records
 * the path, audience and authorization of each. `env` is the job's environment for --github-oidc
 * on a push to `branch`, without AWS keys.
 */
export async function githubTokenService(
    branch: string,
    token = `eyJhbGciOiJSUzI1NiJ9.github-oidc-token-for-${branch}.signature`,
): Promise<{ seen: string[]; env: Record<string, string | undefined>; token: string; close(): void }> {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
        const u = new URL(req.url ?? "/", "http://x");
        seen.push(`${u.pathname} audience=${u.searchParams.get("audience")} auth=${req.headers.authorization}`);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ value: token }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const env = {
        GITHUB_ACTIONS: "true",
        GITHUB_EVENT_NAME: "push",
        GITHUB_REF: `refs/heads/${branch}`,
        ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/token?api-version=2.0`,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: "runtime-request-token",
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
    };
    return { seen, env, token, close: () => server.close() };
}
