/**
 * The deploy role's credentials for attini, served on a loopback container-credentials endpoint
 * (the protocol every AWS SDK knows: AWS_CONTAINER_CREDENTIALS_FULL_URI plus
 * AWS_CONTAINER_AUTHORIZATION_TOKEN), and refreshed before they expire. A deployment that is
 * followed for hours then outlives the one-hour cap AWS puts on role chaining.
 *
 * - It listens on 127.0.0.1 only, on an ephemeral port, at a random path.
 * - Every request must carry the token (at least 128 bits, compared in constant time): a missing
 *   one gets 401, a wrong one 403, and nothing else.
 * - It holds no credentials until `serve` hands it the first set, just before attini starts (it
 *   is started earlier, beside the outputs read, so that attini's start does not wait for it),
 *   and the caller closes it when attini ends.
 * - Before the served credentials expire it asks `refresh` for a new set (the caller assumes the
 *   role again and checks the account). A failed refresh is logged with its cause and retried;
 *   once the held credentials have expired, the endpoint answers 500 with the cause, which the
 *   SDK surfaces.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { TemporaryCredentials } from "./awsCall";

/** A new set of the deploy role's credentials, checked to be in the stack's account. */
export type Refresh = () => Promise<TemporaryCredentials>;

export interface EndpointOptions {
    log: (line: string) => void;
    /**
     * Longest lifetime to serve a set for, ms (test only, through ATTINI_GITOPS_TEST_CREDENTIAL_LIFETIME):
     * shorter than the real one makes refreshes happen within a short test.
     */
    servedLifetimeMs?: number;
}

/** How long before the served expiry a refresh starts: ten minutes, or half the lifetime if shorter. */
export function refreshLeadMs(lifetimeMs: number): number {
    return Math.min(10 * 60_000, Math.floor(lifetimeMs / 2));
}

/** The credentials' expiry as served: the real one, or sooner with a test lifetime. */
function servedExpiry(c: TemporaryCredentials, servedLifetimeMs?: number): number {
    const real = c.expiration?.getTime() ?? Date.now() + 3600_000;
    return servedLifetimeMs ? Math.min(real, Date.now() + servedLifetimeMs) : real;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

export class CredentialEndpoint {
    /** How many times the credentials were replaced with a new set. */
    refreshes = 0;
    /** The cause of the last failed refresh, while the held credentials are still the old ones. */
    failure: string | undefined;
    private current: TemporaryCredentials | undefined;
    private refresh: Refresh | undefined;
    private expiresAt = 0;
    private timer: NodeJS.Timeout | undefined;
    private readonly served = new Set<string>();
    private closed = false;

    private constructor(
        private readonly server: http.Server,
        private readonly opts: EndpointOptions,
        readonly token: string,
        readonly path: string,
    ) {}

    static async start(opts: EndpointOptions): Promise<CredentialEndpoint> {
        const token = randomBytes(32).toString("base64url");
        const path = `/${randomBytes(16).toString("hex")}`;
        let self!: CredentialEndpoint;
        const server = http.createServer((req, res) => self.answer(req, res));
        self = new CredentialEndpoint(server, opts, token, path);
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, "127.0.0.1", () => resolve());
        });
        return self;
    }

    /** Starts serving the first set of credentials, and refreshing them with `refresh` before they expire. */
    serve(initial: TemporaryCredentials, refresh: Refresh): void {
        this.current = initial;
        this.refresh = refresh;
        this.expiresAt = servedExpiry(initial, this.opts.servedLifetimeMs);
        this.schedule();
    }

    /** The variables attini gets: the endpoint's address and its token. */
    env(): Record<string, string> {
        return { AWS_CONTAINER_CREDENTIALS_FULL_URI: this.url, AWS_CONTAINER_AUTHORIZATION_TOKEN: this.token };
    }

    get url(): string {
        return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${this.path}`;
    }

    /** How many distinct credential sets attini was handed. */
    get setsServed(): number {
        return this.served.size;
    }

    private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
        const given = req.headers.authorization;
        if (given === undefined) return void res.writeHead(401).end();
        if (!timingSafeEqual(digest(given), digest(this.token))) return void res.writeHead(403).end();
        if (req.method !== "GET" || req.url !== this.path) return void res.writeHead(404).end();
        const c = this.current;
        if (c === undefined) return void res.writeHead(503).end();
        if (Date.now() >= this.expiresAt) {
            res.writeHead(500, { "content-type": "application/json" });
            return void res.end(
                JSON.stringify({
                    code: "CredentialsExpired",
                    message: `attini-gitops could not refresh the deploy role's credentials: ${this.failure ?? "unknown cause"}`,
                }),
            );
        }
        this.served.add(c.accessKeyId);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
            JSON.stringify({
                AccessKeyId: c.accessKeyId,
                SecretAccessKey: c.secretAccessKey,
                Token: c.sessionToken,
                Expiration: new Date(this.expiresAt).toISOString(),
            }),
        );
    }

    /** Plans the next refresh: the lead time before expiry, or soon again after a failure. */
    private schedule(retryInMs?: number): void {
        if (this.closed) return;
        const lifetime = this.expiresAt - Date.now();
        const due = retryInMs ?? Math.max(0, lifetime - refreshLeadMs(lifetime));
        this.timer = setTimeout(() => void this.renew(), due);
        this.timer.unref();
    }

    private async renew(): Promise<void> {
        try {
            if (!this.refresh) throw new Error("no credentials were served yet");
            const next = await this.refresh();
            if (this.closed) return;
            this.current = next;
            this.expiresAt = servedExpiry(next, this.opts.servedLifetimeMs);
            this.refreshes++;
            this.failure = undefined;
            this.opts.log(
                `refreshed the deploy role's credentials (refresh ${this.refreshes}; they expire at ${new Date(this.expiresAt).toISOString()})`,
            );
            this.schedule();
        } catch (e) {
            if (this.closed) return;
            this.failure = (e as Error).message;
            const left = this.expiresAt - Date.now();
            this.opts.log(
                `refreshing the deploy role's credentials failed: ${this.failure}${left > 0 ? `; retrying (the current ones expire in ${Math.ceil(left / 1000)}s)` : "; attini can get no more credentials"}`,
            );
            if (left > 0) this.schedule(Math.max(1000, Math.min(30_000, Math.floor(left / 4))));
        }
    }

    /** Stops refreshing and closes the port (again: nothing). */
    close(): Promise<void> {
        if (this.closed) return Promise.resolve();
        this.closed = true;
        if (this.timer) clearTimeout(this.timer);
        this.server.closeAllConnections();
        return new Promise((resolve) => this.server.close(() => resolve()));
    }
}
