// Proof that the test loop is real: the Pulumi CLI (via the Automation API) on both self-managed
// backends, and STS on the emulator, as the CI driver will use them.
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import test from "ava";
import { type Backend, fileBackend, s3Backend } from "./support/backend";
import { awsEnvFor, type Moto, startMoto } from "./support/moto";
import { pulumiCli } from "./support/tools";

let moto: Moto;
test.before(async () => {
    pulumiCli();
    moto = await startMoto();
});
test.after.always(async () => moto?.stop());

const TARGET_ACCOUNT = "210987654321";

async function newStack(backend: Backend, name: string, program: pulumi.automation.PulumiFn): Promise<Stack> {
    return LocalWorkspace.createStack(
        { stackName: name, projectName: "loop-proof", program },
        {
            envVars: backend.env,
            projectSettings: { name: "loop-proof", runtime: "nodejs", backend: { url: backend.url } },
            secretsProvider: "passphrase",
        },
    );
}

const program = async () => {
    const cfg = new pulumi.Config();
    return {
        deployRoleArn: `arn:aws:iam::${TARGET_ACCOUNT}:role/${cfg.require("roleName")}`,
        greeting: cfg.require("greeting"),
        token: cfg.requireSecret("token"),
    };
};

for (const kind of ["file", "s3"] as const) {
    test.serial(`${kind} backend: real CLI stack, config, up, secret outputs, then STS on the emulator`, async (t) => {
        const backend = kind === "file" ? fileBackend() : await s3Backend(moto);
        try {
            const stack = await newStack(backend, "dev", program);
            await stack.setAllConfig({
                roleName: { value: "attini-deploy-role-eu-west-1" },
                greeting: { value: "hello" },
                token: { value: "tok-123", secret: true },
            });
            const up = await stack.up();
            t.is(up.summary.result, "succeeded");

            // A second workspace, as the CI driver would open it, sees the same outputs.
            const again = await LocalWorkspace.selectStack(
                { stackName: "dev", projectName: "loop-proof", program },
                {
                    envVars: backend.env,
                    projectSettings: { name: "loop-proof", runtime: "nodejs", backend: { url: backend.url } },
                },
            );
            const outputs = await again.outputs();
            t.is(outputs.greeting.value, "hello");
            t.false(outputs.greeting.secret);
            t.true(outputs.token.secret);
            t.is(outputs.token.value, "tok-123");

            const aws = awsEnvFor(moto);
            const sts = new STSClient({
                endpoint: moto.endpoint,
                region: "eu-west-1",
                credentials: { accessKeyId: aws.AWS_ACCESS_KEY_ID, secretAccessKey: aws.AWS_SECRET_ACCESS_KEY },
            });
            const assumed = await sts.send(
                new AssumeRoleCommand({ RoleArn: outputs.deployRoleArn.value, RoleSessionName: "loop-proof" }),
            );
            const c = assumed.Credentials!;
            const asRole = new STSClient({
                endpoint: moto.endpoint,
                region: "eu-west-1",
                credentials: {
                    accessKeyId: c.AccessKeyId!,
                    secretAccessKey: c.SecretAccessKey!,
                    sessionToken: c.SessionToken,
                },
            });
            const who = await asRole.send(new GetCallerIdentityCommand({}));
            t.is(who.Account, TARGET_ACCOUNT);
            t.regex(who.Arn ?? "", /assumed-role\/attini-deploy-role-eu-west-1\/loop-proof$/);
        } finally {
            backend.dispose();
        }
    });
}

test.serial("s3 backend: a second update of a stack is refused while the first holds the lock", async (t) => {
    const backend = await s3Backend(moto);
    try {
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        let started!: () => void;
        const running = new Promise<void>((r) => (started = r));
        const slow = await newStack(backend, "locked", async () => {
            started();
            await held;
            return { done: true };
        });
        const first = slow.up();
        await running; // the first update holds the lock while its program runs

        const second = await LocalWorkspace.selectStack(
            { stackName: "locked", projectName: "loop-proof", program: async () => ({ done: false }) },
            {
                envVars: backend.env,
                projectSettings: { name: "loop-proof", runtime: "nodejs", backend: { url: backend.url } },
            },
        );
        const err = await t.throwsAsync(second.up());
        t.regex(String(err?.message), /locked/i);

        release();
        t.is((await first).summary.result, "succeeded");
        // Once the first update ends, the lock is gone and the stack updates again.
        t.is((await second.up()).summary.result, "succeeded");
        t.false((await second.outputs()).done.value);
    } finally {
        backend.dispose();
    }
});
