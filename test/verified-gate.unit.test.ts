// The verified promotion gate's decisions (automation/verifiedGate.ts), the reading of Attini's
// deployment records (automation/dynamodb.ts) and of a distribution's attini-config
// (automation/attiniConfig.ts): pure, or on real files, with the upstream history handed in.

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import { ArtifactError, readAttiniConfig } from "../automation/attiniConfig";
import { HistoryUnreadable, type RecordedDeployment } from "../automation/deployments";
import { recordedDeployment } from "../automation/dynamodb";
import { DriverError, Exit } from "../automation/errors";
import type { LedgerRun } from "../automation/ledgerTypes";
import { applyVerifiedGate, judge, refusal, type VerifiedGateOptions } from "../automation/verifiedGate";
import type { StackConfig } from "../lib/config/types";
import { loadStacks } from "../lib/stackFiles";
import { ROOT } from "./support/tools";
import { writeZip } from "./support/zip";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-verified-"));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const zip = (entries: Record<string, string>) => writeZip(path.join(dir, `d${n++}.zip`), entries);

const T = Date.parse("2026-11-20T10:00:00Z");
const dep = (
    distributionId: string | undefined,
    status: RecordedDeployment["status"],
    minutes: number,
    detail?: string,
): RecordedDeployment => ({
    environment: "acc",
    distributionName: "platform",
    distributionId,
    time: T + minutes * 60_000,
    status,
    ...(detail ? { detail } : {}),
});

test("the verdict: the newest deployment of the id decides; absent and other ids are told apart", (t) => {
    t.deepEqual(judge([], "b42"), { case: "never-deployed" });
    t.like(judge([dep("b42", "succeeded", 5)], "b42"), { case: "succeeded", matched: { distributionId: "b42" } });
    t.like(judge([dep("b43", "failed", 9), dep("b42", "succeeded", 5)], "b42"), {
        case: "succeeded",
        last: { distributionId: "b43" },
    });
    // A later failed (or running) deployment of the same id outweighs an earlier success.
    t.like(judge([dep("b42", "failed", 9), dep("b42", "succeeded", 5)], "b42"), {
        case: "failed",
        matched: { time: T + 9 * 60_000 },
    });
    // The message names the matched deployment once, and the newest one when it is another.
    const failedThenOther = judge([dep("b43", "running", 12), dep("b42", "failed", 9)], "b42");
    t.regex(
        refusal(failedThenOther, { upstream: stage, distributionName: "platform", distributionId: "b42" }),
        /failed in acc .* at 2026-11-20T10:09:00Z\. The last deployment of platform there: b43 at 2026-11-20T10:12:00Z, running\. Fix it/,
    );
    t.notRegex(
        refusal(judge([dep("b42", "failed", 9)], "b42"), {
            upstream: stage,
            distributionName: "platform",
            distributionId: "b42",
        }),
        /The last deployment/,
    );
    t.like(judge([dep("b42", "running", 9), dep("b42", "succeeded", 5)], "b42"), { case: "running" });
    t.like(judge([dep("b41", "succeeded", 9)], "b42"), { case: "other-id", last: { distributionId: "b41" } });
});

/** A row as Attini's backend writes it (attini-framework), with the given changes. */
const row = (extra: Record<string, unknown> = {}) => ({
    deploymentName: { S: "acc-platform" },
    deploymentTime: { N: String(T) },
    distributionName: { S: "platform" },
    environment: { S: "acc" },
    distributionId: { S: "b42" },
    objectIdentifier: { S: "acc/platform/platform.zip#v1" },
    executionArns: { M: {} },
    initStackErrors: { L: [] },
    errors: { M: {} },
    deploymentType: { S: "platform" },
    initStackUnchanged: { BOOL: false },
    ...extra,
});

test("Attini's rows: succeeded, failed, running, and the time-0 copy left out", (t) => {
    const status = (extra: Record<string, unknown>) => recordedDeployment(row(extra) as never)?.status;
    t.is(status({ deploymentPlanCount: { N: "1" }, deploymentPlanStatus: { S: "SUCCEEDED" } }), "succeeded");
    t.is(status({ deploymentPlanCount: { N: "0" } }), "succeeded", "no deployment plan to run");
    for (const s of ["FAILED", "TIMED_OUT", "ABORTED"])
        t.is(status({ deploymentPlanCount: { N: "1" }, deploymentPlanStatus: { S: s } }), "failed", s);
    t.like(
        recordedDeployment(
            row({ errorCode: { S: "CloudformationError" }, errorMessage: { S: "stack rolled back" } }) as never,
        ),
        { status: "failed", detail: "CloudformationError: stack rolled back" },
    );
    t.is(status({ initStackErrors: { L: [{ M: { resourceName: { S: "Bucket" } } }] } }), "failed");
    t.like(recordedDeployment(row() as never), { status: "running", detail: "init stack not done" });
    t.like(recordedDeployment(row({ deploymentPlanCount: { N: "2" } }) as never), {
        status: "running",
        detail: "deployment plan not done",
    });
    t.is(recordedDeployment(row({ deploymentTime: { N: "0" } }) as never), undefined, "the time-0 copy");
    t.is(recordedDeployment(row({ environment: undefined }) as never), undefined);
    t.like(
        recordedDeployment(
            row({
                distributionId: undefined,
                deploymentPlanCount: { N: "1" },
                deploymentPlanStatus: { S: "SUCCEEDED" },
            }) as never,
        ),
        { distributionId: undefined, status: "succeeded", time: T },
    );
    // deploymentPlanStatus is last-writer-wins across plans: with several, or an unknown number, a
    // SUCCEEDED does not show that every plan succeeded, so the deployment is still running (unless
    // the plans' executions, which the record names, all succeeded: deployment-plans.unit.test.ts).
    t.like(
        recordedDeployment(row({ deploymentPlanCount: { N: "2" }, deploymentPlanStatus: { S: "SUCCEEDED" } }) as never),
        { status: "running", detail: "2 deployment plans, and the record names 0 started execution(s)" },
    );
    t.like(recordedDeployment(row({ deploymentPlanStatus: { S: "SUCCEEDED" } }) as never), {
        status: "running",
        detail: "a deployment plan SUCCEEDED, but the record does not say how many plans there are",
    });
});

test("attini-config: read from a .zip (yaml, yml or json) or a folder; more than one, none, a bad zip are errors", async (t) => {
    t.deepEqual(
        await readAttiniConfig(
            zip({ "attini-config.yaml": "distributionName: platform\ndistributionId: b42\n", "templates/x.yaml": "x" }),
        ),
        { file: "attini-config.yaml", distributionName: "platform", distributionId: "b42" },
    );
    t.deepEqual(
        await readAttiniConfig(zip({ "attini-config.json": '{"distributionName":"platform","distributionId":"b42"}' })),
        { file: "attini-config.json", distributionName: "platform", distributionId: "b42" },
    );
    t.like(await readAttiniConfig(zip({ "attini-config.yml": "distributionName: platform\n" })), {
        distributionName: "platform",
        distributionId: undefined,
    });
    // Not at the root: Attini reads only the root.
    t.like(
        await readAttiniConfig(
            zip({
                "attini-config.yaml": "distributionName: platform\n",
                "sub/attini-config.yaml": "distributionId: nested\n",
            }),
        ),
        { distributionId: undefined },
    );
    t.like(
        await readAttiniConfig(zip({ "attini-config.yaml": "distributionName: platform\ndistributionId: 42\n" })),
        { distributionId: "42" },
        "Attini reads an unquoted number as its text",
    );
    const err = (p: string) => t.throwsAsync(readAttiniConfig(p), { instanceOf: ArtifactError });
    t.regex(
        (await err(zip({ "attini-config.yaml": "distributionName: a\n", "attini-config.json": "{}" })))!.message,
        /has attini-config.yaml and attini-config.json; Attini refuses more than one attini-config/,
    );
    t.regex((await err(zip({ "readme.md": "x" })))!.message, /has no attini-config.yaml, .yml or .json at its root/);
    t.regex(
        (await err(zip({ "attini-config.yaml": "distributionName: [unclosed\n" })))!.message,
        /attini-config.yaml in d\d+.zip cannot be parsed/,
    );
    const fake = path.join(dir, "fake.zip");
    fs.writeFileSync(fake, "PK\u0003\u0004 not really a zip");
    t.regex((await err(fake))!.message, /fake.zip is not a readable \.zip/);
    const folder = path.join(dir, "folder");
    fs.mkdirSync(folder);
    fs.writeFileSync(
        path.join(folder, "attini-config.yaml"),
        "distributionName: platform\ndistributionId: from-folder\n",
    );
    t.like(await readAttiniConfig(folder), { distributionId: "from-folder" });
});

const stacks = loadStacks(ROOT).configs;
const stage = stacks.find((c) => c.stack === "stage")!;
const prod = (gate: StackConfig["promotionGate"]) => ({
    ...stacks.find((c) => c.stack === "prod")!,
    promotionGate: gate,
});

/** A run in stage's ledger: this content, started `minutes` after T, ended a minute later. */
const ledgerRun = (digest: string, result: LedgerRun["result"], minutes = 5): LedgerRun => ({
    entry: `run#${T + minutes * 60_000}#r1`,
    runId: "gha-41-1-abcd",
    environment: "acc",
    distributionName: "platform",
    commit: "a".repeat(40),
    branch: "stage",
    digest,
    sha256: digest.replace(/^\w+:/, ""),
    ciSystem: "github-actions",
    runUrl: "https://github.com/acme/platform/actions/runs/41/attempts/1",
    sessionName: "deploy-platform",
    sourceIdentity: "ci",
    startedAt: T + minutes * 60_000,
    ...(result === "started" ? {} : { endedAt: T + (minutes + 1) * 60_000 }),
    // The deployment it made in Attini's record: dep(…, minutes).
    attiniTime: T + minutes * 60_000,
    result,
});

/** The content digest deploy computes for a .zip (a folder's is its tree; these tests name one). */
const digestOf = (p: string) =>
    fs.statSync(p).isFile() ? `sha256:${createHash("sha256").update(fs.readFileSync(p)).digest("hex")}` : "tree:f0";

/**
 * The gate on `distribution`, with stage's history and ledger handed in; by default stage's ledger
 * holds a deployed run of this very content, so that Attini's record decides.
 */
function gate(o: Partial<VerifiedGateOptions> & Pick<VerifiedGateOptions, "distribution">) {
    const lines: string[] = [];
    const reads: string[][] = [];
    const digest = o.digest ?? digestOf(o.distribution);
    const run = applyVerifiedGate({
        stack: prod("enforce"),
        upstream: stage,
        kind: "zip",
        digest,
        skip: false,
        dryRun: false,
        readHistory: async (name) => {
            reads.push([name, "history"]);
            return [];
        },
        readLedger: async (name, d) => {
            reads.push([name, "ledger"]);
            return ledgerRun(d, "deployed");
        },
        readHolds: async () => [],
        log: (l) => lines.push(l),
        ...o,
    });
    return { run, lines, reads };
}
const b42 = () => zip({ "attini-config.yaml": "distributionName: platform\ndistributionId: b42\n" });

test("enforce: a success of the same id passes; each other case is refused with exit 7, saying which case and when", async (t) => {
    const ok = gate({
        distribution: b42(),
        readHistory: async () => [dep("b43", "failed", 9), dep("b42", "succeeded", 5)],
    });
    t.like(await ok.run, {
        result: "passed",
        case: "succeeded",
        distributionId: "b42",
        matched: { distributionId: "b42", time: T + 5 * 60_000 },
        upstream: { stack: "stage", attiniEnvironment: "acc", accountId: "222222222222" },
    });
    t.regex(
        ok.lines.join("\n"),
        /verified promotion gate: platform b42 succeeded in acc \(stack stage\) at 2026-11-20T10:05:00Z/,
    );

    const cases: [RecordedDeployment[], RegExp][] = [
        [
            [],
            /platform was never deployed to acc \(stack stage, account 222222222222\), so distributionId b42 has not been verified there/,
        ],
        [
            [dep("b42", "failed", 7, "CloudformationError: stack rolled back")],
            /distributionId b42 failed in acc \(stack stage, account 222222222222\) at 2026-11-20T10:07:00Z \(CloudformationError: stack rolled back\)/,
        ],
        [
            [dep("b42", "running", 8, "deployment plan not done")],
            /distributionId b42 has not finished in acc .* started at 2026-11-20T10:08:00Z, deployment plan not done/,
        ],
        [
            [dep("b41", "succeeded", 3)],
            /acc \(stack stage, account 222222222222\) has no deployment of distributionId b42\. The last deployment of platform there: b41 at 2026-11-20T10:03:00Z, succeeded\./,
        ],
    ];
    for (const [history, message] of cases) {
        const g = gate({ distribution: b42(), readHistory: async () => history });
        const e = await t.throwsAsync(g.run, { instanceOf: DriverError });
        t.is(e!.exitCode, Exit.REFUSED);
        t.regex(e!.message, /^promotion gate \(enforce\): /);
        t.regex(e!.message, message);
        t.like(e!.details, { verifiedPromotion: { result: "refused", distributionId: "b42" } });
    }
});

test("warn: the same cases are warned about, and the deploy goes on", async (t) => {
    const g = gate({ stack: prod("warn"), distribution: b42(), readHistory: async () => [dep("b42", "failed", 7)] });
    t.like(await g.run, { result: "warned", case: "failed" });
    t.regex(g.lines.join("\n"), /promotion gate \(warn\): distributionId b42 failed in acc/);
});

test("what cannot be verified: unreadable history, unreadable artifacts and id-less zips refuse under enforce; folders (and id-less zips where the stack allows) fall back to git", async (t) => {
    const denied = gate({
        distribution: b42(),
        readHistory: async () =>
            Promise.reject(new HistoryUnreadable("cannot use stage's history reader: STS denied AssumeRole")),
    });
    const e = await t.throwsAsync(denied.run, { instanceOf: DriverError });
    t.is(e!.exitCode, Exit.REFUSED);
    t.regex(
        e!.message,
        /cannot read what stage deployed: cannot use stage's history reader: STS denied AssumeRole Nothing was checked\./,
    );
    const warned = gate({
        stack: prod("warn"),
        distribution: b42(),
        readHistory: async () => Promise.reject(new HistoryUnreadable("throttled")),
    });
    t.like(await warned.run, {
        result: "unverified",
        reason: "cannot read what stage deployed: throttled Nothing was checked.",
    });
    // Other failures (no source credentials) are not the gate's: they keep their own exit code.
    const noCreds = gate({
        distribution: b42(),
        readHistory: async () => Promise.reject(new DriverError(Exit.CREDENTIALS, "no source AWS credentials")),
    });
    t.is((await t.throwsAsync(noCreds.run, { instanceOf: DriverError }))!.exitCode, Exit.CREDENTIALS);

    const fake = path.join(dir, "fake-enforce.zip");
    fs.writeFileSync(fake, "PK\u0003\u0004 not really a zip");
    t.regex(
        (await t.throwsAsync(gate({ distribution: fake }).run))!.message,
        /cannot tell which distribution this is: fake-enforce.zip is not a readable \.zip/,
    );

    // A zip without an id cannot be matched upstream by id: refused under enforce
    // (requireDistributionId, the default), warned under warn; where the stack allows it, it is
    // verified by its content and the time of the ledger's run, like a folder.
    const idless = () => zip({ "attini-config.yaml": "distributionName: platform\n" });
    const refused = await t.throwsAsync(gate({ distribution: idless() }).run, { instanceOf: DriverError });
    t.is(refused!.exitCode, Exit.REFUSED);
    t.regex(
        refused!.message,
        /platform's attini-config sets no distributionId, so Attini's record in stage cannot show that this artifact succeeded there\. Package it with an id .* or set requireDistributionId: false in Pulumi\.prod\.yaml/,
    );
    t.like(await gate({ stack: prod("warn"), distribution: idless() }).run, { result: "unverified" });
});

test("folders, and id-less zips where the stack allows: verified by content in stage's ledger and by Attini's record of that run", async (t) => {
    const folder = fs.mkdtempSync(path.join(dir, "folder-"));
    fs.writeFileSync(path.join(folder, "attini-config.yaml"), "distributionName: platform\n");
    const idless = zip({ "attini-config.yaml": "distributionName: platform\n" });
    for (const o of [
        { distribution: folder, kind: "folder" as const, digest: "tree:0123abcd" },
        { distribution: idless, stack: { ...prod("enforce"), requireDistributionId: false } },
    ]) {
        // The ledger's run went from T+5 to T+6 minutes and recorded making Attini's deployment at T+5.
        const ok = gate({ ...o, readHistory: async () => [dep("generated-9", "succeeded", 5)] });
        t.like(await ok.run, { result: "passed", case: "succeeded", content: { case: "deployed" } });
        t.regex(
            ok.lines.join("\n"),
            /stage's ledger: this content \(\S+\) was last deployed there from commit aaaaaaaaaaaa/,
        );
        t.regex(
            ok.lines.join("\n"),
            /Attini's record in stage of that run: generated-9 at 2026-11-20T10:05:00Z, succeeded/,
        );

        const failedThere = gate({
            ...o,
            readHistory: async () => [dep("generated-9", "failed", 5, "deployment plan FAILED")],
        });
        t.regex(
            (await t.throwsAsync(failedThere.run))!.message,
            /Attini's record in stage of that run: generated-9 .* failed \(deployment plan FAILED\)/,
        );

        // An Attini deployment at another time is not the run's.
        const otherTime = gate({ ...o, readHistory: async () => [dep("generated-1", "succeeded", -60)] });
        t.regex(
            (await t.throwsAsync(otherTime.run))!.message,
            /has no deployment at 2026-11-20T10:05:00Z, the one the ledger's run recorded making/,
        );

        const never = gate({ ...o, readLedger: async () => undefined });
        const e = await t.throwsAsync(never.run, { instanceOf: DriverError });
        t.is(e!.exitCode, Exit.REFUSED);
        t.regex(
            e!.message,
            /stage's ledger has no run of this content .*: prod takes only content that was deployed there\. Deploy this content to stage first/,
        );
        t.false(
            never.reads.some(([, what]) => what === "history"),
            "no window to look in without a run",
        );
    }
});

test("content decides beside the id: the same distributionId with other bytes is refused; a run that failed or has not ended is not a pass", async (t) => {
    const succeeded = async () => [dep("b42", "succeeded", 5)];
    const otherBytes = gate({ distribution: b42(), readHistory: succeeded, readLedger: async () => undefined });
    const e = await t.throwsAsync(otherBytes.run, { instanceOf: DriverError });
    t.regex(e!.message, /An artifact with distributionId b42 but other bytes is not the one that was tested/);
    t.like(otherBytes.lines.join("\n").match(/Attini's record in stage: distributionId b42: b42 at .*, succeeded/), {
        length: 1,
    });

    for (const [result, words] of [
        ["failed", /and it ended failed/],
        ["timed-out", /and it ended timed-out/],
        ["started", /and that run has not ended \(or its driver died\)/],
    ] as const) {
        const g = gate({
            distribution: b42(),
            readHistory: succeeded,
            readLedger: async (_n, d) => ledgerRun(d, result),
        });
        t.regex((await t.throwsAsync(g.run))!.message, words);
    }
    // A ledger that cannot be read (no table: run pulumi up) is unverified, never passed.
    const noTable = gate({
        distribution: b42(),
        readHistory: succeeded,
        readLedger: async () =>
            Promise.reject(
                new HistoryUnreadable("the ledger attini-gitops-ledger-acc in account 222222222222 does not exist"),
            ),
    });
    t.regex(
        (await t.throwsAsync(noTable.run))!.message,
        /cannot read what stage deployed: the ledger attini-gitops-ledger-acc .* does not exist Nothing was checked/,
    );
});

test("off, --skip-promotion-check and --dry-run read no history", async (t) => {
    for (const [o, result] of [
        [{ stack: prod("off") }, "off"],
        [{ skip: true }, "skipped"],
        [{ dryRun: true }, "not-checked"],
    ] as const) {
        const g = gate({ distribution: b42(), ...o });
        t.like(await g.run, { result });
        t.deepEqual(g.reads, []);
    }
});

test("the history is read for the distribution's name up to the id being promoted; the ledger for this content", async (t) => {
    const untils: ((d: RecordedDeployment) => boolean)[] = [];
    const digests: string[] = [];
    const file = b42();
    const g = gate({
        distribution: file,
        readHistory: async (name, until) => {
            g.reads.push([name, "history"]);
            untils.push(until);
            return [dep("b42", "succeeded", 5)];
        },
        readLedger: async (name, d) => {
            g.reads.push([name, "ledger"]);
            digests.push(d);
            return ledgerRun(d, "deployed");
        },
    });
    t.like(await g.run, { result: "passed" });
    t.deepEqual(g.reads, [
        ["platform", "ledger"],
        ["platform", "history"],
    ]);
    t.true(untils[0](dep("b42", "failed", 1)));
    t.false(untils[0](dep("b43", "succeeded", 1)));
    t.deepEqual(digests, [digestOf(file)]);
});

test("ids read as Attini reads them: an unquoted number or date is that text, matched upstream; an id Attini would read otherwise is unverified, never 'no id'", async (t) => {
    for (const written of ["20261127", "2026-11-27"]) {
        const g = gate({
            distribution: zip({ "attini-config.yaml": `distributionName: platform\ndistributionId: ${written}\n` }),
            readHistory: async () => [dep(written, "failed", 7)],
        });
        const e = await t.throwsAsync(g.run, { instanceOf: DriverError });
        t.is(e!.exitCode, Exit.REFUSED, written);
        t.regex(e!.message, new RegExp(`distributionId ${written} failed in acc`), "the failed id is found upstream");
    }
    for (const written of ["yes", "0x1F", "{ a: 1 }", ""]) {
        const config = `distributionName: platform\ndistributionId: ${written}\n`;
        const refused = await t.throwsAsync(gate({ distribution: zip({ "attini-config.yaml": config }) }).run, {
            instanceOf: DriverError,
        });
        t.is(refused!.exitCode, Exit.REFUSED, written);
        t.regex(
            refused!.message,
            /platform's distributionId cannot be read as Attini reads it: .* Nothing was checked\./,
            written,
        );
        const warned = await gate({ stack: prod("warn"), distribution: zip({ "attini-config.yaml": config }) }).run;
        t.is(warned.result, "unverified", written);
    }
});

test("stage's own ledger has the last word: content it rolled back from, a folder that is not what was committed, and an id whose newest deployment is not this run's are refused", async (t) => {
    const file = b42();
    const held = gate({
        distribution: file,
        readHistory: async () => [dep("b42", "succeeded", 5)],
        readHolds: async () => [{ digest: digestOf(file), commit: "c".repeat(40), heldAt: T, heldBy: "rollback run" }],
    });
    t.regex((await t.throwsAsync(held.run))!.message, /stage rolled back from this content .* and holds it/);
    const released = gate({
        distribution: file,
        readHistory: async () => [dep("b42", "succeeded", 5)],
        readHolds: async () => [
            {
                digest: digestOf(file),
                commit: "c".repeat(40),
                heldAt: T,
                heldBy: "r",
                releasedAt: T + 1,
                releasedBy: "fix",
            },
        ],
    });
    t.like(await released.run, { result: "passed" });

    const folder = fs.mkdtempSync(path.join(dir, "dirty-"));
    fs.writeFileSync(path.join(folder, "attini-config.yaml"), "distributionName: platform\n");
    const dirty = gate({ distribution: folder, kind: "folder", digest: "files:abc" });
    t.regex((await t.throwsAsync(dirty.run))!.message, /this folder is not exactly what was committed/);
    t.deepEqual(dirty.reads, [], "nothing read for content that cannot match");

    // b42 succeeded in stage an hour after the ledger's run of these bytes: other bytes under the same id.
    const later = gate({ distribution: b42(), readHistory: async () => [dep("b42", "succeeded", 65)] });
    t.regex(
        (await t.throwsAsync(later.run))!.message,
        /Attini's newest deployment of distributionId b42 in stage .* is not the one stage's ledger run of this content made/,
    );
});
