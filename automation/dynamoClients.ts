/**
 * One DynamoDB client per set of credentials and settings, shared by every DynamoDB call made with
 * them: the ledger's (ledgerDynamo.ts) and the reads of Attini's table (dynamodb.ts). Its
 * configuration is resolved once and its connection (a TLS handshake with DynamoDB) serves the
 * whole deploy, instead of one of each per call. An idle connection does not keep the driver
 * running (Node unrefs a kept-alive socket); the clients of credentials that have expired by this
 * machine's clock are retired as the next client is asked for, and destroyed (their connections
 * closed) once no call uses them, so a long deploy whose session is refreshed keeps the clients of
 * its live sets only, and no call loses its client while it runs.
 */
import type { AwsClientConfig, TemporaryCredentials } from "./awsCall";

type Ddb = typeof import("@aws-sdk/client-dynamodb");
type Client = import("@aws-sdk/client-dynamodb").DynamoDBClient;

/** A kept client, and how many calls are using it: it is destroyed once retired and unused. */
interface Kept {
    client: Client;
    inUse: number;
    retired: boolean;
}

const kept = new Map<TemporaryCredentials, Map<string, Kept>>();

/** What a client is made with besides its credentials: the region, the request limits, and the endpoint the SDK reads from the environment. */
function settingsOf(config: AwsClientConfig): string {
    const env = process.env;
    return JSON.stringify([
        config.region,
        config.requestHandler,
        env.AWS_ENDPOINT_URL_DYNAMODB ?? null,
        env.AWS_ENDPOINT_URL ?? null,
    ]);
}

/** Retires the clients of credentials that have expired; each is destroyed now, or when the last call using it ends. */
function forgetExpired(now: number): void {
    for (const [creds, clients] of kept) {
        if (creds.expiration === undefined || creds.expiration.getTime() > now) continue;
        for (const k of clients.values()) {
            k.retired = true;
            if (k.inUse === 0) k.client.destroy();
        }
        kept.delete(creds);
    }
}

/**
 * The client for `creds` with `config`'s settings, made the first time they are asked for, for one
 * call: callAws "destroys" what it is given when its call ends, which here only says that the call
 * no longer uses the client (a retired client is destroyed then).
 */
export function keptClient(
    ddb: Ddb,
    creds: TemporaryCredentials,
    config: AwsClientConfig,
): { client: Client; destroy: () => void } {
    forgetExpired(Date.now());
    const clients = kept.get(creds) ?? new Map<string, Kept>();
    kept.set(creds, clients);
    const settings = settingsOf(config);
    const using = clients.get(settings) ?? { client: new ddb.DynamoDBClient(config), inUse: 0, retired: false };
    clients.set(settings, using);
    using.inUse++;
    let ended = false;
    return {
        client: using.client,
        destroy: () => {
            if (ended) return;
            ended = true;
            using.inUse--;
            if (using.retired && using.inUse === 0) using.client.destroy();
        },
    };
}
