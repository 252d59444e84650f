// The emulator helper: a clean slate on demand, and no emulator left behind when the process
// that started it is interrupted.

import { spawn } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import { CreateBucketCommand, ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import test from "ava";
import { awsEnvFor, startMoto } from "./support/moto";

const s3For = (endpoint: string) => {
    const aws = awsEnvFor({ endpoint } as never);
    return new S3Client({
        endpoint,
        region: "eu-west-1",
        forcePathStyle: true,
        credentials: { accessKeyId: aws.AWS_ACCESS_KEY_ID, secretAccessKey: aws.AWS_SECRET_ACCESS_KEY },
    });
};

test("reset() forgets everything the emulator held", async (t) => {
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    const s3 = s3For(moto.endpoint);
    await s3.send(
        new CreateBucketCommand({
            Bucket: "before-reset",
            CreateBucketConfiguration: { LocationConstraint: "eu-west-1" },
        }),
    );
    t.deepEqual(
        (await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name),
        ["before-reset"],
    );
    await moto.reset();
    t.deepEqual((await s3.send(new ListBucketsCommand({}))).Buckets ?? [], []);
    s3.destroy();
});

const listening = (port: number) =>
    new Promise<boolean>((resolve) => {
        const sock = net.connect(port, "127.0.0.1");
        sock.once("connect", () => {
            sock.destroy();
            resolve(true);
        });
        sock.once("error", () => resolve(false));
    });

for (const sig of ["SIGINT", "SIGTERM"] as const) {
    test(`an interrupted run (${sig}) leaves no emulator running`, async (t) => {
        // A process that starts the emulator, reports its port, and waits to be interrupted.
        const script = `require(${JSON.stringify(path.join(__dirname, "support", "moto"))}).startMoto().then((m) => { console.log(m.port); setInterval(() => {}, 1000); });`;
        const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
        const port = await new Promise<number>((resolve) =>
            child.stdout!.once("data", (d) => resolve(Number(String(d).trim()))),
        );
        t.true(await listening(port));
        const exited = new Promise((r) => child.once("exit", r));
        child.kill(sig);
        await exited;
        let up = true;
        for (let i = 0; i < 50 && up; i++) {
            up = await listening(port);
            if (up) await new Promise((r) => setTimeout(r, 100));
        }
        t.false(up, `moto_server still listening on ${port} after ${sig}`);
    });
}
