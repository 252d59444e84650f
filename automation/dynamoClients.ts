/**
 * One DynamoDB client per set of credentials and settings, shared by every DynamoDB call made with
 * them: the ledger's (ledgerDynamo.ts) and the reads of Attini's table (dynamodb.ts). Its
 * configuration is resolved once and its connection (a TLS handshake with DynamoDB) serves the
 * whole deploy, instead of one of each per call. An idle connection does not keep the driver
 * running (Node unrefs a kept-alive socket); the clients of credentials that have expired, which
 * can make no call any more, are destroyed (their connections closed) as the next client is asked
 * for, so a long deploy whose session is refreshed keeps the clients of its live sets only.
 */
import type { AwsClientConfig, TemporaryCredentials } from "./awsCall";

type Ddb = typeof import("@aws-sdk/client-dynamodb");
type Client = import("@aws-sdk/client-dynamodb").DynamoDBClient;

const kept = new Map<TemporaryCredentials, Map<string, Client>>();

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

function forgetExpired(now: number): void {
    for (const [creds, clients] of kept) {
        if (creds.expiration === undefined || creds.expiration.getTime() > now) continue;
        for (const client of clients.values()) client.destroy();
        kept.delete(creds);
    }
}

/**
 * The client for `creds` with `config`'s settings, made the first time they are asked for. Handed
 * in a shell: callAws destroys what it is given after each call, and this client outlives the call.
 */
export function keptClient(
    ddb: Ddb,
    creds: TemporaryCredentials,
    config: AwsClientConfig,
): { client: Client; destroy: () => void } {
    forgetExpired(Date.now());
    let clients = kept.get(creds);
    if (clients === undefined) {
        clients = new Map();
        kept.set(creds, clients);
    }
    const settings = settingsOf(config);
    let client = clients.get(settings);
    if (client === undefined) {
        client = new ddb.DynamoDBClient(config);
        clients.set(settings, client);
    }
    return { client, destroy: () => undefined };
}
