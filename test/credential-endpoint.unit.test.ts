// The refreshing credential endpoint on its own (automation/credentialEndpoint.ts): who it answers,
// what it serves, when it refreshes, and that it is gone once closed. End to end with the real
// attini and the AWS CLI: test/attini-real.test.ts.
import test from "ava";
import type { TemporaryCredentials } from "../automation/awsCall";
import { CredentialEndpoint, refreshLeadMs } from "../automation/credentialEndpoint";

let n = 0;
const set = (lifetimeMs = 3600_000): TemporaryCredentials => {
    n++;
    return {
        accessKeyId: `ASIATEST${n}`,
        secretAccessKey: `secret-${n}`,
        sessionToken: `token-${n}`,
        expiration: new Date(Date.now() + lifetimeMs),
    };
};

async function start(
    opts: Partial<Parameters<typeof CredentialEndpoint.start>[0]> & {
        refresh?: () => Promise<TemporaryCredentials>;
    } = {},
) {
    const lines: string[] = [];
    const { refresh = async () => set(), ...rest } = opts;
    const endpoint = await CredentialEndpoint.start({ log: (l) => lines.push(l), ...rest });
    endpoint.serve(set(), refresh);
    return { endpoint, lines };
}

test("it listens on 127.0.0.1 at a random path, with a token of 256 bits", async (t) => {
    const { endpoint } = await start();
    t.teardown(() => endpoint.close());
    t.regex(endpoint.url, /^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}$/);
    t.true(Buffer.from(endpoint.token, "base64url").length >= 32);
    const other = await start();
    t.teardown(() => other.endpoint.close());
    t.not(other.endpoint.token, endpoint.token);
    t.not(other.endpoint.path, endpoint.path);
    t.deepEqual(Object.keys(endpoint.env()).sort(), [
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ]);
});

test("a missing token gets 401, a wrong one 403, and neither gets a body", async (t) => {
    const { endpoint } = await start();
    t.teardown(() => endpoint.close());
    const missing = await fetch(endpoint.url);
    t.is(missing.status, 401);
    t.is(await missing.text(), "");
    for (const wrong of ["x", `${endpoint.token}x`, endpoint.token.slice(1), endpoint.token.toUpperCase()]) {
        const r = await fetch(endpoint.url, { headers: { authorization: wrong } });
        t.is(r.status, 403, wrong);
        t.is(await r.text(), "");
    }
    t.is(endpoint.setsServed, 0);
    const ok = await fetch(endpoint.url, { headers: { authorization: endpoint.token } });
    t.is(ok.status, 200);
    const body = (await ok.json()) as Record<string, string>;
    t.deepEqual(Object.keys(body).sort(), ["AccessKeyId", "Expiration", "SecretAccessKey", "Token"]);
    t.regex(body.AccessKeyId, /^ASIATEST\d+$/);
    const elsewhere = await fetch(endpoint.url.replace(endpoint.path, "/"), {
        headers: { authorization: endpoint.token },
    });
    t.is(elsewhere.status, 404);
});

test("it refreshes before the served expiry, and serves each new set", async (t) => {
    const { endpoint, lines } = await start({ servedLifetimeMs: 600 });
    t.teardown(() => endpoint.close());
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
        const r = await fetch(endpoint.url, { headers: { authorization: endpoint.token } });
        const body = (await r.json()) as { AccessKeyId: string; Expiration: string };
        t.true(Date.parse(body.Expiration) > Date.now(), "never serves an expired set");
        seen.add(body.AccessKeyId);
        await new Promise((r) => setTimeout(r, 150));
    }
    t.true(endpoint.refreshes >= 2, `${endpoint.refreshes} refreshes`);
    t.true(seen.size >= 3, `${seen.size} sets`);
    t.is(endpoint.setsServed, seen.size);
    t.regex(lines.join("\n"), /refreshed the deploy role's credentials \(refresh 1;/);
    t.is(refreshLeadMs(3600_000), 600_000, "an hour's credentials are refreshed ten minutes before they expire");
    t.is(refreshLeadMs(600), 300);
});

test("a refresh that fails is logged with its cause and retried; once the set expires the endpoint answers 500 with the cause", async (t) => {
    const { endpoint, lines } = await start({
        servedLifetimeMs: 1200,
        refresh: async () => {
            throw new Error("STS denied AssumeRole on arn:aws:iam::111111111111:role/attini-deploy-role-eu-west-1");
        },
    });
    t.teardown(() => endpoint.close());
    t.is((await fetch(endpoint.url, { headers: { authorization: endpoint.token } })).status, 200);
    await new Promise((r) => setTimeout(r, 1500));
    const r = await fetch(endpoint.url, { headers: { authorization: endpoint.token } });
    t.is(r.status, 500);
    t.regex(
        ((await r.json()) as { message: string }).message,
        /could not refresh the deploy role's credentials: STS denied AssumeRole/,
    );
    t.regex(lines.join("\n"), /refreshing the deploy role's credentials failed: STS denied AssumeRole.*; retrying/);
    t.truthy(endpoint.failure);
});

test("before it is handed the first set it serves nothing (503)", async (t) => {
    const endpoint = await CredentialEndpoint.start({ log: () => {} });
    t.teardown(() => endpoint.close());
    t.is((await fetch(endpoint.url, { headers: { authorization: endpoint.token } })).status, 503);
    t.is((await fetch(endpoint.url)).status, 401);
    endpoint.serve(set(), async () => set());
    t.is((await fetch(endpoint.url, { headers: { authorization: endpoint.token } })).status, 200);
});

test("once closed, the port is closed", async (t) => {
    const { endpoint } = await start();
    const url = endpoint.url;
    await endpoint.close();
    await t.throwsAsync(fetch(url, { headers: { authorization: endpoint.token } }));
});
