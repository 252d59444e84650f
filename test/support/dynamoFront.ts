/**
 * A loopback front for the emulator's DynamoDB (AWS_ENDPOINT_URL_DYNAMODB): it records each call by
 * its action and passes it on, and `hold` may keep a call waiting first (a slow table, seen from
 * the driver). Why here: the ledger's bench counts a deploy's calls with it, and the driver's
 * tests hold the record's completion to deliver a signal at that moment.
 */
import * as http from "node:http";
import { LoopbackFront } from "./loopback";
import type { Moto } from "./moto";

export class DynamoFront extends LoopbackFront {
    /** The actions called, in order ("PutItem", "Query", ...), and each call's request body. */
    readonly calls: string[] = [];
    readonly bodies: string[] = [];
    /** Milliseconds from each call's arrival to the emulator's answer, summed. */
    readonly spent = { ms: 0 };
    /** Resolves when the call may go on; undefined: at once. */
    hold: (action: string, body: string) => Promise<void> | undefined = () => undefined;
    /**
     * Whether to lose the emulator's answer to a call that it has carried out: the caller gets a
     * 500 instead (an answer lost on the way back), and `lost` runs before it does.
     */
    lose: (action: string, body: string) => boolean = () => false;
    lost: () => Promise<void> = async () => undefined;
    /** An answer given instead of the emulator's, the call not passed on (an error DynamoDB gives, say); undefined: pass it on. */
    answer: (action: string, body: string) => { status: number; type: string } | undefined = () => undefined;

    private constructor(server: http.Server) {
        super(server);
    }

    static async start(moto: Moto): Promise<DynamoFront> {
        let self!: DynamoFront;
        const server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on("data", (d: Buffer) => chunks.push(d));
            req.on("end", async () => {
                const action = String(req.headers["x-amz-target"] ?? "").replace(/^DynamoDB_\d+\./, "");
                const text = Buffer.concat(chunks).toString();
                self.calls.push(action);
                self.bodies.push(text);
                await self.hold(action, text);
                const instead = self.answer(action, text);
                if (instead) {
                    res.writeHead(instead.status, { "content-type": "application/x-amz-json-1.0" });
                    res.end(JSON.stringify({ __type: instead.type, message: instead.type }));
                    return;
                }
                const t0 = performance.now();
                try {
                    const upstream = await fetch(`${moto.endpoint}${req.url}`, {
                        method: req.method,
                        headers: req.headers as Record<string, string>,
                        body: Buffer.concat(chunks),
                    });
                    const body = Buffer.from(await upstream.arrayBuffer());
                    self.spent.ms += performance.now() - t0;
                    if (self.lose(action, text)) {
                        await self.lost();
                        res.writeHead(500, { "content-type": "application/x-amz-json-1.0" });
                        res.end(JSON.stringify({ __type: "InternalServerError", message: "answer lost" }));
                    } else {
                        res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "" });
                        res.end(body);
                    }
                } catch (e) {
                    res.writeHead(502).end(String(e));
                }
            });
        });
        self = new DynamoFront(server);
        await DynamoFront.listen(server);
        return self;
    }
}
