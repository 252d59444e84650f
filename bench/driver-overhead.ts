/**
 * `npm run bench`: how long the driver takes from its start to attini's start, next to the bash
 * flow it replaces (Attini's GitOps example: `aws sts assume-role` + jq, role hard-coded) and to a
 * floor measured in the same run (a bare Node start + one `pulumi stack output --json` on the same
 * backend + one STS AssumeRole round trip). Medians of RUNS runs (default 11), all against the same
 * local emulator and file backend. attini is a tiny script that records when it started.
 * `npm run bench -- --readme` also writes the figures into docs/performance.md.
 */

import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { jobEnv } from "../test/support/driver";
import { awsEnvFor } from "../test/support/moto";
import { provision } from "../test/support/project";
import { CLI, motoServerBin, pulumiCli } from "../test/support/tools";
import { median, runBench, writeFigures } from "./figures";

const RUNS = Math.max(10, Number(process.env.RUNS ?? 11));
/** Runs of each credential mode (endpoint, static) for the endpoint's cost. */
const PAIRS = Math.max(RUNS, Number(process.env.PAIRS ?? 41));
const ROLE = "arn:aws:iam::111111111111:role/attini-deploy-role-eu-west-1";

const nowMs = () => Number(process.hrtime.bigint() / 1000n) / 1000;
/** Wall-clock milliseconds, comparable across processes (attini's start mark is written with `date +%s%N`). */
const wallMs = () => performance.timeOrigin + performance.now();

function main(): void {
    const pulumi = pulumiCli();
    const aws = path.join(path.dirname(motoServerBin()), "aws");
    runBench(async ({ moto, backend, project, work }) => {
        await provision(project, backend, ["dev"], {}, moto);
        const mark = path.join(work, "attini-started");
        const fakeAttini = path.join(work, "attini");
        fs.writeFileSync(fakeAttini, `#!/bin/sh\ndate +%s%N > "${mark}"\n`, { mode: 0o755 });
        const job = jobEnv({ moto, backend, extra: { ATTINI_BIN: fakeAttini, BRANCH: "dev" } });
        const startToAttini = (run: () => void) => {
            fs.rmSync(mark, { force: true });
            const t0 = wallMs();
            run();
            return Number(BigInt(fs.readFileSync(mark, "utf8").trim()) / 1000n) / 1000 - t0;
        };

        // The bash flow from Attini's GitOps example, minus its writing the credentials to a file.
        const bashFlow = path.join(work, "deploy.sh");
        fs.writeFileSync(
            bashFlow,
            `#!/bin/bash
set -euo pipefail
if [ "$BRANCH" = "dev" ]; then ROLE=${ROLE}; ENV=dev; else exit 3; fi
CREDS=$("${aws}" sts assume-role --role-arn "$ROLE" --role-session-name deploy-platform --output json)
export AWS_ACCESS_KEY_ID=$(echo "$CREDS" | jq -r .Credentials.AccessKeyId)
export AWS_SECRET_ACCESS_KEY=$(echo "$CREDS" | jq -r .Credentials.SecretAccessKey)
export AWS_SESSION_TOKEN=$(echo "$CREDS" | jq -r .Credentials.SessionToken)
"$ATTINI_BIN" deploy run distribution/platform -e "$ENV" -f
`,
            { mode: 0o755 },
        );

        const driver: number[] = [];
        const driverStatic: number[] = [];
        const bash: number[] = [];
        const nodeStart: number[] = [];
        const stackOutput: number[] = [];
        const stsTrip: number[] = [];
        const sts = new STSClient({
            region: "eu-west-1",
            endpoint: moto.endpoint,
            credentials: {
                accessKeyId: awsEnvFor(moto).AWS_ACCESS_KEY_ID,
                secretAccessKey: awsEnvFor(moto).AWS_SECRET_ACCESS_KEY,
            },
        });
        await sts.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "warm-up" }));
        const run = (cmd: string, args: string[]) => {
            const r = spawnSync(cmd, args, { cwd: project.dir, env: job.env, stdio: ["ignore", "ignore", "pipe"] });
            if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
        };
        /** One run of each credential mode; they take turns going first, so that neither gains from the order. */
        const bothModes = (i: number) => {
            const endpointRun = () =>
                driver.push(startToAttini(() => run(process.execPath, [CLI, "deploy", "distribution/platform"])));
            const staticRun = () =>
                driverStatic.push(
                    startToAttini(() =>
                        run(process.execPath, [CLI, "deploy", "distribution/platform", "--static-credentials"]),
                    ),
                );
            if (i % 2 === 0) {
                endpointRun();
                staticRun();
            } else {
                staticRun();
                endpointRun();
            }
        };
        for (let i = 0; i < RUNS; i++) {
            bothModes(i);
            bash.push(startToAttini(() => run("bash", [bashFlow])));
            let t = nowMs();
            execFileSync(process.execPath, ["-e", ""]);
            nodeStart.push(nowMs() - t);
            t = nowMs();
            run(pulumi, ["stack", "output", "--json", "--stack", "dev"]);
            stackOutput.push(nowMs() - t);
            t = nowMs();
            await sts.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: `bench-${i}` }));
            stsTrip.push(nowMs() - t);
        }
        // The credential endpoint's cost is small next to a run's spread (±50 ms here): more runs of
        // the two modes, each first in turn, for their medians.
        for (let i = RUNS; i < PAIRS; i++) bothModes(i);
        sts.destroy();
        job.dispose();

        const floor = median(nodeStart) + median(stackOutput) + median(stsTrip);
        const rows: [string, number][] = [
            [`attini-gitops deploy (start → attini start; ${PAIRS} runs)`, median(driver)],
            [`attini-gitops deploy --static-credentials (${PAIRS} runs)`, median(driverStatic)],
            ["bash flow: aws sts assume-role + jq", median(bash)],
            ["floor: node start + pulumi stack output + STS", floor],
            ["  node start", median(nodeStart)],
            ["  pulumi stack output --json (file backend)", median(stackOutput)],
            ["  STS AssumeRole round trip", median(stsTrip)],
        ];
        console.log(`\nmedians of ${RUNS} runs (ms), ${os.cpus().length} cores, Node ${process.version}\n`);
        for (const [k, v] of rows) console.log(`${k.padEnd(50)} ${v.toFixed(0).padStart(6)}`);
        const endpointCost = median(driver) - median(driverStatic);
        console.log(
            `\ndriver / bash flow: ${(median(driver) / median(bash)).toFixed(2)}×   driver / floor: ${(median(driver) / floor).toFixed(2)}×   credential endpoint: ${endpointCost.toFixed(1)} ms over static`,
        );
        if (process.argv.includes("--readme")) {
            writeFigures("bench", [
                "| flow | median |",
                "| --- | --- |",
                ...rows.slice(0, 4).map(([k, v]) => `| ${k} | ${v.toFixed(0)} ms |`),
                "",
                `The driver is ${(median(driver) / median(bash)).toFixed(2)}× the bash flow and ${(median(driver) / floor).toFixed(2)}× the floor. ` +
                    `The refreshing credential endpoint (the default) costs ${endpointCost.toFixed(1)} ms over --static-credentials (difference of the medians of ${PAIRS} runs each; target ≤ 10 ms).`,
            ]);
        }
    });
}

main();
