// A deployment record's identity is its attributes, not its key: Attini keys rows
// `<environment>-<distribution>`, which two pairs can share (acc + eu-platform, acc-eu + platform),
// so the reader keeps only rows whose own environment and distributionName are the query's
// (automation/dynamodb.ts); and `validate` refuses two environments in one account and region whose
// names would let one's history reader read the other's records (lib/config/readers.ts).
import test from "ava";
import type { RecordedDeployment } from "../automation/deployments";
import { takeRows } from "../automation/dynamodb";
import { validateRecordKeys } from "../lib/config/readers";
import type { StackConfig } from "../lib/config/types";
import { loadStacks } from "../lib/stackFiles";
import { ROOT } from "./support/tools";

const row = (environment: string, distributionName: string, id: string, time: number) => ({
    deploymentName: { S: `${environment}-${distributionName}` },
    deploymentTime: { N: String(time) },
    environment: { S: environment },
    distributionName: { S: distributionName },
    distributionId: { S: id },
    deploymentPlanCount: { N: "1" },
    deploymentPlanStatus: { S: "SUCCEEDED" },
});

test("rows under a colliding key count only for their own environment and distribution", (t) => {
    // Both pairs are stored under the key acc-eu-platform.
    const page = [row("acc-eu", "platform", "other-env-success", 3), row("acc", "eu-platform", "mine", 2)];
    const found: RecordedDeployment[] = [];
    t.false(takeRows(page, { environment: "acc", distributionName: "eu-platform", accountId: "1" }, found));
    t.deepEqual(
        found.map((d) => d.distributionId),
        ["mine"],
        "acc-eu's success does not pass for acc's",
    );
    const theirs: RecordedDeployment[] = [];
    takeRows(page, { environment: "acc-eu", distributionName: "platform", accountId: "1" }, theirs);
    t.deepEqual(
        theirs.map((d) => d.distributionId),
        ["other-env-success"],
    );
    const until: RecordedDeployment[] = [];
    t.true(
        takeRows(
            [row("acc", "eu-platform", "a", 5), row("acc", "eu-platform", "b", 4), row("acc", "eu-platform", "c", 3)],
            {
                environment: "acc",
                distributionName: "eu-platform",
                accountId: "1",
                until: (d) => d.distributionId === "b",
            },
            until,
        ),
    );
    t.deepEqual(
        until.map((d) => d.distributionId),
        ["a", "b"],
        "reading stops at the first row `until` accepts",
    );
});

const shipped = loadStacks(ROOT).configs;
const withEnv = (stack: string, attiniEnvironment: string, accountId?: string) =>
    shipped.map((c) =>
        c.stack === stack ? ({ ...c, attiniEnvironment, ...(accountId ? { accountId } : {}) } as StackConfig) : c,
    );

test("validate refuses environments in one account and region whose record keys one reader could both read", (t) => {
    t.deepEqual(validateRecordKeys(shipped), [], "the shipped stacks are in three accounts");
    // stage's environment becomes dev-eu, in dev's account: dev's reader (keys dev-*) would read it.
    const clash = validateRecordKeys(withEnv("stage", "dev-eu", "111111111111"));
    t.is(clash.length, 1);
    t.is(clash[0].stack, "stage");
    t.is(clash[0].key, "attini-gitops:attiniEnvironment");
    t.regex(
        String(clash[0]),
        /starts with "dev-", and stack dev's environment dev is in the same account 111111111111 and region eu-west-1[\s\S]*Fix: rename one of the two Attini environments/,
    );
    t.deepEqual(validateRecordKeys(withEnv("stage", "dev-eu")), [], "in another account it has a table of its own");
    t.deepEqual(validateRecordKeys(withEnv("stage", "develop", "111111111111")), [], "devel… is not dev-…");
});
