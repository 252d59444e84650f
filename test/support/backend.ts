/**
 * Throwaway self-managed ("DIY") Pulumi backends: a file:// folder with the passphrase secrets
 * provider, or an S3 bucket on the emulator (what a team shares once it outgrows one laptop).
 */

import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type BucketLocationConstraint, CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { awsEnvFor, type Moto } from "./moto";

export interface Backend {
    readonly kind: "file" | "s3";
    readonly url: string;
    /** Environment for the Pulumi CLI (and the driver) to use this backend. */
    readonly env: Record<string, string>;
    dispose(): void;
}

function passphraseEnv(home: string): Record<string, string> {
    return {
        PULUMI_CONFIG_PASSPHRASE: randomBytes(12).toString("hex"),
        PULUMI_HOME: home,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
}

export function fileBackend(): Backend {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-state-"));
    const url = `file://${dir}`;
    return {
        kind: "file",
        url,
        env: { PULUMI_BACKEND_URL: url, ...passphraseEnv(path.join(dir, ".pulumi-home")) },
        dispose: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
}

export async function s3Backend(moto: Moto, region = "eu-west-1"): Promise<Backend> {
    const bucket = `pulumi-state-${randomBytes(4).toString("hex")}`;
    const aws = awsEnvFor(moto, region);
    const s3 = new S3Client({
        endpoint: moto.endpoint,
        region,
        forcePathStyle: true,
        credentials: { accessKeyId: aws.AWS_ACCESS_KEY_ID, secretAccessKey: aws.AWS_SECRET_ACCESS_KEY },
    });
    await s3.send(
        new CreateBucketCommand({
            Bucket: bucket,
            CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint },
        }),
    );
    s3.destroy();
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-home-"));
    const url = `s3://${bucket}?endpoint=${encodeURIComponent(moto.endpoint)}&region=${region}&use_path_style=true`;
    return {
        kind: "s3",
        url,
        env: { PULUMI_BACKEND_URL: url, ...aws, ...passphraseEnv(home) },
        dispose: () => fs.rmSync(home, { recursive: true, force: true }),
    };
}
