/**
 * The real Attini CLI in the test loop (and the demo): its launcher, built from source by
 * scripts/ensure-attini.sh with the test-only emulator interceptor on its classpath, and Attini's
 * footprint in each environment account of the emulator, as `attini setup` and
 * `attini environment create` would leave it:
 *   - AttiniResourceStatesV1, which lists the environments;
 *   - AttiniDeployDataV1, with its objectIdentifier index, where Attini's backend records each
 *     deployment (and where `attini deploy run` follows it);
 *   - the deployment-origin bucket, attini-deployment-origin-<region>-<account>, versioned, so
 *     that each upload is a deployment of its own (`<key>#<versionId>`).
 * AttiniBackend stands in for the backend's part: when a distribution lands in the bucket, it
 * records the deployment, finished or failed, so that attini's follow ends.
 */

import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    CreateTableCommand,
    type CreateTableCommandInput,
    DynamoDBClient,
    PutItemCommand,
    QueryCommand,
} from "@aws-sdk/client-dynamodb";
import {
    type BucketLocationConstraint,
    CreateBucketCommand,
    GetObjectCommand,
    ListObjectVersionsCommand,
    PutBucketVersioningCommand,
    S3Client,
} from "@aws-sdk/client-s3";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { load } from "js-yaml";
import { DEPLOY_DATA_TABLE } from "../../lib/arns";
import { awsEnvFor, type Moto } from "./moto";
import { ensure } from "./tools";

let launcher: string | undefined;
/** The real attini's launcher (JVM jar + emulator interceptor), built once per machine. */
export function realAttini(): string {
    launcher ??= ensure("ensure-attini.sh", "--emulator");
    return launcher;
}

export { DEPLOY_DATA_TABLE };

/**
 * `attini distribution package` of a copy of `folder` (optionally with `-i distributionId`), the
 * package copied to `zip`: a distribution built once, ready to promote.
 */
export function packageDistribution(folder: string, zip: string, distributionId?: string): string {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-package-"));
    try {
        const copy = path.join(work, path.basename(folder));
        fs.cpSync(folder, copy, { recursive: true });
        execFileSync(
            realAttini(),
            ["distribution", "package", copy, ...(distributionId ? ["-i", distributionId] : [])],
            { env: { ...process.env, ATTINI_DISABLE_CLI_VERSION_CHECK: "true" }, stdio: "ignore" },
        );
        const [built] = fs.readdirSync(path.join(copy, "attini_dist")).filter((f) => f.endsWith(".zip"));
        fs.copyFileSync(path.join(copy, "attini_dist", built), zip);
        return zip;
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}
export const RESOURCE_STATES_TABLE = "AttiniResourceStatesV1";

export function originBucket(account: string, region: string): string {
    return `attini-deployment-origin-${region}-${account}`;
}

/** Temporary credentials that act in `account` (the emulator does not check the role exists or trusts anyone). */
export async function credentialsIn(moto: Moto, account: string, region: string) {
    const aws = awsEnvFor(moto, region);
    const sts = new STSClient({
        endpoint: moto.endpoint,
        region,
        credentials: { accessKeyId: aws.AWS_ACCESS_KEY_ID, secretAccessKey: aws.AWS_SECRET_ACCESS_KEY },
    });
    try {
        const out = await sts.send(
            new AssumeRoleCommand({
                RoleArn: `arn:aws:iam::${account}:role/attini-gitops-test-setup`,
                RoleSessionName: "attini-footprint",
            }),
        );
        const c = out.Credentials!;
        return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
    } finally {
        sts.destroy();
    }
}

export interface DeploymentRecord {
    environment: string;
    distributionName: string;
    /** The object attini uploaded: `<env>/<name>/<name>.zip#<versionId>`. */
    objectIdentifier: string;
    /** The id in the distribution's attini-config (the backend makes one up when there is none). */
    distributionId: string;
    /**
     * How it went: succeeded (the deployment plan ended SUCCEEDED), failed (Attini's error: attini
     * then exits 1 with its message), or running (recorded, no end yet).
     */
    outcome: { result: "succeeded" } | { result: "failed"; code: string; message: string } | { result: "running" };
    /** When it started, ms since the epoch (default: now). */
    time?: number;
    /**
     * For a succeeded deployment of several deployment plans: their Step Functions executions,
     * which each plan's first step adds to executionArns (keyed by state machine name); the
     * deploymentPlanStatus then is the last plan's to end, SUCCEEDED here.
     */
    executions?: string[];
}

/** AttiniDeployDataV1 as attini-setup makes it: by deployment name and time, with the objectIdentifier index. */
const DEPLOY_DATA_TABLE_SCHEMA: CreateTableCommandInput = {
    TableName: DEPLOY_DATA_TABLE,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
        { AttributeName: "deploymentName", AttributeType: "S" },
        { AttributeName: "deploymentTime", AttributeType: "N" },
        { AttributeName: "objectIdentifier", AttributeType: "S" },
    ],
    KeySchema: [
        { AttributeName: "deploymentName", KeyType: "HASH" },
        { AttributeName: "deploymentTime", KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: [
        {
            IndexName: "objectIdentifier",
            KeySchema: [
                { AttributeName: "objectIdentifier", KeyType: "HASH" },
                { AttributeName: "deploymentName", KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "ALL" },
        },
    ],
};

/** Attini's footprint in one account and region of the emulator. */
export class AttiniAccount {
    readonly bucket: string;
    private constructor(
        readonly account: string,
        readonly region: string,
        readonly s3: S3Client,
        readonly dynamo: DynamoDBClient,
    ) {
        this.bucket = originBucket(account, region);
    }

    static async connect(moto: Moto, account: string, region = "eu-west-1"): Promise<AttiniAccount> {
        const credentials = await credentialsIn(moto, account, region);
        return new AttiniAccount(
            account,
            region,
            new S3Client({ endpoint: moto.endpoint, region, forcePathStyle: true, credentials }),
            new DynamoDBClient({ endpoint: moto.endpoint, region, credentials }),
        );
    }

    /** Attini's deployment-data table, made unless it is there (for tests that only need Attini's record). */
    async ensureDeployDataTable(): Promise<void> {
        try {
            await this.dynamo.send(new CreateTableCommand(DEPLOY_DATA_TABLE_SCHEMA));
        } catch (e) {
            if ((e as Error).name !== "ResourceInUseException") throw e;
        }
    }

    /** What `attini setup` leaves behind: the two tables and the bucket. */
    async setup(): Promise<void> {
        await this.dynamo.send(
            new CreateTableCommand({
                TableName: RESOURCE_STATES_TABLE,
                BillingMode: "PAY_PER_REQUEST",
                AttributeDefinitions: [
                    { AttributeName: "resourceType", AttributeType: "S" },
                    { AttributeName: "name", AttributeType: "S" },
                ],
                KeySchema: [
                    { AttributeName: "resourceType", KeyType: "HASH" },
                    { AttributeName: "name", KeyType: "RANGE" },
                ],
            }),
        );
        await this.dynamo.send(new CreateTableCommand(DEPLOY_DATA_TABLE_SCHEMA));
        await this.s3.send(
            new CreateBucketCommand({
                Bucket: this.bucket,
                // us-east-1 takes no location constraint (S3 refuses one naming it)
                ...(this.region === "us-east-1"
                    ? {}
                    : { CreateBucketConfiguration: { LocationConstraint: this.region as BucketLocationConstraint } }),
            }),
        );
        await this.s3.send(
            new PutBucketVersioningCommand({ Bucket: this.bucket, VersioningConfiguration: { Status: "Enabled" } }),
        );
    }

    /** What `attini environment create <name> --env-type <type>` records. */
    async createEnvironment(name: string, type: "production" | "test"): Promise<void> {
        await this.dynamo.send(
            new PutItemCommand({
                TableName: RESOURCE_STATES_TABLE,
                Item: { resourceType: { S: "Environment" }, name: { S: name }, environmentType: { S: type } },
            }),
        );
    }

    /** Every upload to the deployment-origin bucket, as `<key>#<versionId>` (none without the bucket). */
    async uploads(): Promise<string[]> {
        try {
            const out = await this.s3.send(new ListObjectVersionsCommand({ Bucket: this.bucket }));
            return (out.Versions ?? []).map((v) => `${v.Key}#${v.VersionId}`).sort();
        } catch (e) {
            if ((e as Error).name === "NoSuchBucket") return [];
            throw e;
        }
    }

    /** The newest upload to `key` (its current version), as `<key>#<versionId>`. */
    async latest(key: string): Promise<string | undefined> {
        const out = await this.s3.send(new ListObjectVersionsCommand({ Bucket: this.bucket, Prefix: key }));
        const v = (out.Versions ?? []).find((x) => x.Key === key && x.IsLatest);
        return v ? `${v.Key}#${v.VersionId}` : undefined;
    }

    /** The keys in the deployment-origin bucket. */
    async keys(): Promise<string[]> {
        return [...new Set((await this.uploads()).map((u) => u.slice(0, u.lastIndexOf("#"))))];
    }

    /**
     * Records a deployment the way Attini's backend does (attini-framework): the deploy-origin
     * function writes the row twice, at the deployment's time and at time 0 ("the latest"); the
     * step guard adds deploymentPlanCount; the end of the deployment plan sets deploymentPlanStatus
     * to the Step Functions status, and errorCode/errorMessage when it failed.
     */
    async recordDeployment(r: DeploymentRecord): Promise<void> {
        const o = r.outcome;
        const item = {
            deploymentName: { S: `${r.environment}-${r.distributionName}` },
            distributionName: { S: r.distributionName },
            environment: { S: r.environment },
            distributionId: { S: r.distributionId },
            objectIdentifier: { S: r.objectIdentifier },
            executionArns: {
                M: Object.fromEntries((r.executions ?? []).map((arn) => [arn.split(":")[6], { S: arn }])),
            },
            initStackErrors: { L: [] },
            errors: { M: {} },
            deploymentType: { S: "platform" },
            initStackUnchanged: { BOOL: false },
            ...(o.result === "running"
                ? {}
                : {
                      deploymentPlanCount: { N: String(r.executions?.length ?? 1) },
                      deploymentPlanStatus: { S: o.result === "succeeded" ? "SUCCEEDED" : "FAILED" },
                  }),
            ...(o.result === "failed" ? { errorCode: { S: o.code }, errorMessage: { S: o.message } } : {}),
        };
        for (const time of ["0", String(r.time ?? Date.now())]) {
            await this.dynamo.send(
                new PutItemCommand({ TableName: DEPLOY_DATA_TABLE, Item: { ...item, deploymentTime: { N: time } } }),
            );
        }
    }

    /** The distributionId in an uploaded distribution's attini-config (read with Python's zipfile, apart from the driver's reader), or a new one as the backend would make. */
    async uploadedDistributionId(upload: string): Promise<string> {
        const hash = upload.lastIndexOf("#");
        const out = await this.s3.send(
            new GetObjectCommand({
                Bucket: this.bucket,
                Key: upload.slice(0, hash),
                VersionId: upload.slice(hash + 1),
            }),
        );
        const zip = Buffer.from(await out.Body!.transformToByteArray());
        const text = execFileSync(
            "python3",
            [
                "-c",
                "import io,sys,zipfile\nz=zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read()))\nn=[x for x in z.namelist() if x in ('attini-config.yaml','attini-config.yml','attini-config.json')]\nsys.stdout.write(z.read(n[0]).decode() if n else '')",
            ],
            { input: zip, encoding: "utf8" },
        );
        const config = (text ? load(text) : {}) as { distributionId?: unknown };
        return typeof config.distributionId === "string" ? config.distributionId : randomUUID();
    }

    /** The deployments recorded for a distribution in an environment. */
    async deployments(environment: string, distributionName: string): Promise<number> {
        const out = await this.dynamo.send(
            new QueryCommand({
                TableName: DEPLOY_DATA_TABLE,
                KeyConditionExpression: "deploymentName = :n",
                ExpressionAttributeValues: { ":n": { S: `${environment}-${distributionName}` } },
            }),
        );
        return out.Count ?? 0;
    }

    close(): void {
        this.s3.destroy();
        this.dynamo.destroy();
    }
}

/** What the stand-in backend does with the next distribution that lands in an account. */
export type Outcome =
    | { result: "succeeded"; afterMs?: number; until?: Promise<unknown> }
    | { result: "failed"; code: string; message: string }
    | { result: "never" };

/**
 * A stand-in for Attini's backend: it watches the deployment-origin buckets and, for each
 * distribution that lands, records a deployment (finished, or failed with an error) under the
 * distributionId in its attini-config, unless told never to, in which case attini's follow goes on
 * until it is stopped. The real backend writes the row when the deployment starts and fills in
 * the end later; attini's follow, seeing a row without an init stack, would end at once, so the
 * stand-in writes the row when the outcome is known.
 */
export class AttiniBackend {
    /** What happens in each account; succeeded by default. */
    readonly outcome = new Map<string, Outcome>();
    private seen = new Map<string, Set<string>>();
    private timer: NodeJS.Timeout | undefined;
    private busy = false;

    constructor(readonly accounts: readonly AttiniAccount[]) {}

    async start(): Promise<void> {
        for (const a of this.accounts) this.seen.set(a.account, new Set(await a.uploads()));
        // A failed poll (the emulator stopping under it at the end of a run) is not an unhandled
        // rejection; a deployment it should have recorded shows as a follow that does not end.
        this.timer = setInterval(() => void this.poll().catch((e: Error) => (this.lastError = e)), 200);
    }

    /** The last error a poll met, if any. */
    lastError: Error | undefined;

    private async poll(): Promise<void> {
        if (this.busy) return;
        this.busy = true;
        try {
            for (const a of this.accounts) {
                const seen = this.seen.get(a.account)!;
                for (const upload of await a.uploads()) {
                    if (seen.has(upload)) continue;
                    seen.add(upload);
                    const [environment, distributionName] = upload.split("/");
                    const outcome = this.outcome.get(a.account) ?? { result: "succeeded" };
                    if (outcome.result === "never") continue;
                    const distributionId = await a.uploadedDistributionId(upload);
                    const record = () =>
                        a.recordDeployment({
                            environment,
                            distributionName,
                            objectIdentifier: upload,
                            distributionId,
                            outcome: outcome.result === "failed" ? outcome : { result: "succeeded" },
                        });
                    // A deployment that takes a while (or until the test says): attini follows it until it is recorded.
                    if (outcome.result === "succeeded" && (outcome.afterMs || outcome.until)) {
                        const after = new Promise((r) => setTimeout(r, outcome.afterMs ?? 0));
                        void Promise.all([after, outcome.until])
                            .then(record)
                            .catch((e: Error) => (this.lastError = e));
                    } else await record();
                }
            }
        } finally {
            this.busy = false;
        }
    }

    stop(): void {
        if (this.timer) clearInterval(this.timer);
    }
}
