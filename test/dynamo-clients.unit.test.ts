// dynamoClients.ts: the ledger's DynamoDB calls and the reads of Attini's table, made with the
// same credentials and settings, share one client (its configuration and its connection);
// refreshed credentials, another region, other request limits or another endpoint get their own,
// and the clients of expired credentials are destroyed.

import * as ddb from "@aws-sdk/client-dynamodb";
import test from "ava";
import type { AwsClientConfig, TemporaryCredentials } from "../automation/awsCall";
import { keptClient } from "../automation/dynamoClients";

const config = (region: string, requestTimeout = 1000): AwsClientConfig => ({
    region,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1000, requestTimeout, throwOnRequestTimeout: true },
});
const creds = (expiresInMs = 3_600_000): TemporaryCredentials => ({
    accessKeyId: "AKIA",
    secretAccessKey: "s",
    sessionToken: "t",
    expiration: new Date(Date.now() + expiresInMs),
});

test.serial("one client per set of credentials and settings, which callAws's destroy leaves standing", async (t) => {
    const deployRole = creds();
    const first = keptClient(ddb, deployRole, config("eu-west-1"));
    first.destroy(); // what callAws does after each call: the client is kept
    t.is(keptClient(ddb, deployRole, config("eu-west-1")).client, first.client);
    t.is(await first.client.config.region(), "eu-west-1");
    t.not(keptClient(ddb, creds(), config("eu-west-1")).client, first.client, "refreshed credentials: another client");
    t.not(keptClient(ddb, deployRole, config("us-east-1")).client, first.client, "another region: another client");
    t.not(
        keptClient(ddb, deployRole, config("eu-west-1", 60_000)).client,
        first.client,
        "other limits: another client",
    );
    const before = process.env.AWS_ENDPOINT_URL_DYNAMODB;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = "http://127.0.0.1:9";
    t.teardown(() => {
        if (before === undefined) delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
        else process.env.AWS_ENDPOINT_URL_DYNAMODB = before;
    });
    t.not(keptClient(ddb, deployRole, config("eu-west-1")).client, first.client, "another endpoint: another client");
});

test.serial(
    "the clients of expired credentials are destroyed when the next client is asked for, once no call uses them",
    async (t) => {
        const watch = (client: ddb.DynamoDBClient) => {
            const seen = { destroyed: 0 };
            const destroy = client.destroy.bind(client);
            client.destroy = () => {
                seen.destroyed++;
                destroy();
            };
            return seen;
        };
        const expiring = creds(50);
        const idle = keptClient(ddb, expiring, config("eu-west-1"));
        idle.destroy(); // its call ended
        const busy = keptClient(ddb, expiring, config("us-east-1")); // a call still running
        const idleSeen = watch(idle.client);
        const busySeen = watch(busy.client);
        keptClient(ddb, creds(), config("eu-west-1")).destroy();
        t.is(idleSeen.destroyed, 0, "still valid: kept");
        await new Promise((r) => setTimeout(r, 80));
        keptClient(ddb, creds(), config("eu-west-1")).destroy();
        t.is(idleSeen.destroyed, 1, "expired and unused: destroyed");
        t.is(busySeen.destroyed, 0, "expired but in use: kept until its call ends");
        busy.destroy();
        busy.destroy(); // a second end of the same call counts once
        t.is(busySeen.destroyed, 1);
        t.not(keptClient(ddb, expiring, config("eu-west-1")).client, idle.client, "forgotten: a new client");
    },
);
