// AssumeRole's errors explained (explainStsError, automation/sts.ts): what failed on which role and,
// where STS says why, what to change.
import test from "ava";
import { explainStsError } from "../automation/sts";

const awsError = (name: string, status: number) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

test("STS errors are explained", (t) => {
    const req = {
        roleArn: "arn:aws:iam::1:role/r",
        region: "eu-west-1",
        sessionName: "s",
        durationSeconds: 7200,
        tags: {},
    };
    t.regex(
        explainStsError(req, awsError("ValidationError", 400)),
        /AssumeRole on arn:aws:iam::1:role\/r failed: ValidationError/,
    );
    t.regex(
        explainStsError(
            req,
            Object.assign(awsError("ValidationError", 400), {
                message: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            }),
        ),
        /longer than the role's maxSessionDuration/,
    );
});
