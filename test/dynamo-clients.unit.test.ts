// dynamoClients.ts: the ledger's DynamoDB calls and the reads of Attini's table, made with the
// same credentials in the same region, share one client (its configuration and its connection);
// refreshed credentials or another region get their own.

import * as ddb from "@aws-sdk/client-dynamodb";
import test from "ava";
import type { AwsClientConfig, TemporaryCredentials } from "../automation/awsCall";
import { keptClient } from "../automation/dynamoClients";

const config = (region: string): AwsClientConfig => ({
    region,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1000, requestTimeout: 1000, throwOnRequestTimeout: true },
});
const creds = (): TemporaryCredentials => ({ accessKeyId: "AKIA", secretAccessKey: "s", sessionToken: "t" });

test("one client per set of credentials and region, which callAws's destroy leaves standing", async (t) => {
    const deployRole = creds();
    const first = keptClient(ddb, deployRole, config("eu-west-1"));
    first.destroy(); // what callAws does after each call
    t.is(keptClient(ddb, deployRole, config("eu-west-1")).client, first.client);
    t.is(await first.client.config.region(), "eu-west-1");
    t.not(keptClient(ddb, creds(), config("eu-west-1")).client, first.client, "refreshed credentials: another client");
    t.not(keptClient(ddb, deployRole, config("us-east-1")).client, first.client, "another region: another client");
});
