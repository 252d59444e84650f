/**
 * What the tests' loopback HTTP fronts share (the STS, Step Functions and DynamoDB fronts to the
 * emulator): a server on 127.0.0.1 at a port of the system's choosing, its endpoint, and closing
 * it with the calls it left unanswered on purpose. Why: three fronts had three copies of it.
 */
import type * as http from "node:http";
import type * as net from "node:net";

export class LoopbackFront {
    protected constructor(private readonly server: http.Server) {}

    /** Listens on 127.0.0.1 at a free port. */
    protected static async listen(server: http.Server): Promise<void> {
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    }

    get endpoint(): string {
        return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
    }

    close(): Promise<void> {
        this.server.closeAllConnections(); // including calls left unanswered on purpose
        return new Promise((r) => this.server.close(() => r()));
    }
}
