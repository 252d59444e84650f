// Hostile rows in Attini's deployment-data table (automation/dynamodb.ts): a deploymentTime that
// no JavaScript Date can hold (past year 275760), or that is not a whole number of ms, made
// deploy's verified gate and status crash with exit 70 where they format the time. Such a row is
// unreadable, like a row without its environment, and everything that formats what
// recordedDeployment returns (describeDeployment, isoTime) never throws.
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import test from "ava";
import { describeDeployment, isoTime, MAX_DATE_MS } from "../automation/deployments";
import { recordedDeployment } from "../automation/dynamodb";

/** A row as Attini's backend writes it, with the deploymentTime given (as DynamoDB's N text). */
const row = (time: string, extra: Record<string, AttributeValue> = {}): Record<string, AttributeValue> => ({
    deploymentName: { S: "acc-platform" },
    deploymentTime: { N: time },
    distributionName: { S: "platform" },
    environment: { S: "acc" },
    distributionId: { S: "b42" },
    deploymentPlanCount: { N: "1" },
    deploymentPlanStatus: { S: "SUCCEEDED" },
    ...extra,
});

const UNREADABLE_TIMES = [
    "8640000000000001", // one ms past the last Date
    "9007199254740993", // past the safe integers too
    "1e300",
    "Infinity",
    "NaN",
    "1700000000000.5", // not a whole number of ms
    "-1",
    "0", // the time-0 copy
];

test("a deploymentTime that a Date cannot hold, or that is not a whole number of ms, makes the row unreadable", (t) => {
    for (const time of UNREADABLE_TIMES) t.is(recordedDeployment(row(time)), undefined, time);
    // The edges that a Date holds are read, and formatted.
    const last = recordedDeployment(row(String(MAX_DATE_MS)));
    t.like(last, { time: MAX_DATE_MS, status: "succeeded" });
    t.is(isoTime(last!.time), "+275760-09-13T00:00:00Z");
    t.like(recordedDeployment(row("1")), { time: 1 });
});

test("describeDeployment and isoTime never throw for anything recordedDeployment returns", (t) => {
    const times = [
        ...UNREADABLE_TIMES,
        "1",
        "1700000000000",
        String(MAX_DATE_MS - 1),
        String(MAX_DATE_MS),
        "8.64e15",
        "0x10",
        "",
        " 5 ",
    ];
    const extras: Record<string, AttributeValue>[] = [
        {},
        { errorCode: { S: "CloudformationError" }, errorMessage: { S: "rolled back" } },
        { deploymentPlanStatus: { S: "RUNNING" } },
        { distributionId: { N: "42" } },
    ];
    let read = 0;
    for (const time of times) {
        for (const extra of extras) {
            const d = recordedDeployment(row(time, extra));
            if (!d) continue;
            read++;
            t.notThrows(() => describeDeployment(d), `${time} ${JSON.stringify(extra)}`);
            t.notThrows(() => isoTime(d.time), time);
        }
    }
    t.true(read > 0, "some rows were read");
});
