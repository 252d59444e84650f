// The stack outputs checked against the stack file (checkOutputs, automation/outputs.ts): stale or
// missing values and another role or account are refused with the exit code that says which.
// Reading the outputs through the Automation API: test/outputs.test.ts.
import test from "ava";
import { Exit } from "../automation/errors";
import { checkOutputs } from "../automation/outputs";
import { configOutputs } from "../lib/outputs";
import { loadStacks } from "../lib/stackFiles";
import { ROOT } from "./support/tools";

test("outputs are checked against the stack file: stale values, another role, another account", (t) => {
    const dev = loadStacks(ROOT).configs.find((c) => c.stack === "dev")!;
    const good = {
        deployRoleArn: "arn:aws:iam::111111111111:role/attini-deploy-role-eu-west-1",
        deployRoleName: "attini-deploy-role-eu-west-1",
        historyReaderArn: "arn:aws:iam::111111111111:role/attini-history-reader-eu-west-1",
        ...configOutputs(dev),
        buildServerPolicy: "{}",
    };
    t.deepEqual(checkOutputs(dev, good), good);
    const code = (raw: Record<string, unknown>) =>
        (t.throws(() => checkOutputs(dev, raw)) as unknown as { exitCode: number }).exitCode;
    // The stack file now requires an ExternalId, but the role was provisioned without one.
    t.is(code({ ...good, externalIdRequired: true }), Exit.NOT_PROVISIONED);
    t.is(code({ ...good, attiniEnvironment: "prod" }), Exit.NOT_PROVISIONED);
    t.is(
        code({ ...good, deployRoleArn: "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole" }),
        Exit.NOT_PROVISIONED,
    );
    t.is(
        code({ ...good, deployRoleArn: "arn:aws:iam::222222222222:role/attini-deploy-role-eu-west-1" }),
        Exit.WRONG_ACCOUNT,
    );
    t.is(code({ ...good, buildServerPolicy: undefined }), Exit.NOT_PROVISIONED);
    // Provisioned before the history reader existed, or with another name: pulumi up again.
    t.is(code({ ...good, historyReaderArn: undefined }), Exit.NOT_PROVISIONED);
    t.is(code({ ...good, historyReaderArn: "arn:aws:iam::111111111111:role/reader" }), Exit.NOT_PROVISIONED);
});
