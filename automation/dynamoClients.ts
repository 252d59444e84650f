/**
 * One DynamoDB client per set of credentials and region, shared by every DynamoDB call made with
 * them: the ledger's (ledgerDynamo.ts) and the reads of Attini's table (dynamodb.ts). Its
 * configuration is resolved once and its connection (a TLS handshake with DynamoDB) serves the
 * whole deploy, instead of one of each per call. An idle connection does not keep the driver
 * running (Node unrefs a kept-alive socket), and credentials no longer used take their clients
 * with them (a WeakMap).
 */
import type { AwsClientConfig, TemporaryCredentials } from "./awsCall";

type Ddb = typeof import("@aws-sdk/client-dynamodb");
type Client = import("@aws-sdk/client-dynamodb").DynamoDBClient;

const kept = new WeakMap<TemporaryCredentials, Map<string, Client>>();

/**
 * The client for `creds` in `config`'s region, made with `config` the first time (every caller
 * gives the deploy's --aws-timeout settings). Handed in a shell: callAws destroys what it is given
 * after each call, and this client outlives the call.
 */
export function keptClient(
    ddb: Ddb,
    creds: TemporaryCredentials,
    config: AwsClientConfig,
): { client: Client; destroy: () => void } {
    let byRegion = kept.get(creds);
    if (byRegion === undefined) {
        byRegion = new Map();
        kept.set(creds, byRegion);
    }
    let client = byRegion.get(config.region);
    if (client === undefined) {
        client = new ddb.DynamoDBClient(config);
        byRegion.set(config.region, client);
    }
    return { client, destroy: () => undefined };
}
