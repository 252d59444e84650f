// deploy()'s freeze gate (automation/freezeGate.ts) on the fake AWS, with the clock set by the test:
// a frozen deploy exits 11 before any AWS call that assumes or writes; --break-glass goes ahead and
// logs the window and the reason (escaped); the windows come from the outputs, and a checkout
// whose windows differ from them is refused (exit 4); --dry-run says what it would do. And what
// status and plan print for a window in force and one starting within 24 hours.
import * as path from "node:path";
import test, { type ExecutionContext } from "ava";
import type { DeployOptions } from "../automation/deploying";
import { deploy } from "../automation/deploying";
import { DriverError, Exit } from "../automation/errors";
import { type FreezeReport, freezeViewAt } from "../automation/freezeGate";
import { checkOutputs } from "../automation/outputs";
import { formatPlan, type PlanRow } from "../automation/planning";
import { statusMarkdown } from "../automation/statusMarkdown";
import { formatStatus } from "../automation/statusText";
import type { StackConfig } from "../lib/config/types";
import { unitDeployOptions } from "./support/deployOptions";
import { fakeAws, fakeServices } from "./support/fakeAws";
import { outputsFor, scratchProject } from "./support/project";

const WINDOWS = `  attini-gitops:freezeWindows:
    - name: new-year
      start: "2027-01-01T00:00"
      end: "2027-01-08T00:00"
      timeZone: Europe/Stockholm
    - name: weekend
      cron: "0 17 * * FRI"
      duration: P2DT15H
      timeZone: Europe/Stockholm
    - name: release
      start: "2027-02-10T00:00"
      end: "2027-02-12T17:00"
      timeZone: Europe/Stockholm
`;
const project = scratchProject({ "Pulumi.dev.yaml": (text) => text + WINDOWS });
test.after.always(() => project.dispose());

const at = (iso: string) => Date.parse(iso);
/** In the new-year window (Monday 2027-01-04). */
const FROZEN_AT = at("2027-01-04T12:00:00Z");

async function run(now: number, more: Partial<DeployOptions> = {}, stale = false, offline = false) {
    const { aws, calls } = fakeAws();
    const services = fakeServices(aws, { PATH: process.env.PATH, BRANCH: "dev" });
    services.now = () => now;
    if (offline)
        services.readOutputs = async () => {
            throw new DriverError(Exit.NOT_PROVISIONED, "the backend cannot be read");
        };
    if (stale)
        // What `pulumi up` provisioned before the windows were added to the stack file.
        services.readOutputs = async (dir: string, c: StackConfig, configs: readonly StackConfig[]) =>
            checkOutputs(c, configs, { ...outputsFor(c, dir), freezeWindows: "[]" } as Record<string, unknown>);
    const o = unitDeployOptions(project.distribution, path.join(project.dir, "no-attini"), project.dir, {
        attiniBin: "/bin/true",
        ...more,
    });
    const result = await deploy(o, services).then(
        (summary) => ({ summary, error: undefined }),
        (error: DriverError) => ({ summary: undefined, error }),
    );
    return { ...result, calls, log: services.lines.join("") };
}

test("frozen: exit 11 naming the window, its zone and when deploying may next happen; nothing assumed or written", async (t) => {
    const r = await run(FROZEN_AT);
    t.is(r.error?.exitCode, Exit.FROZEN, r.log);
    const m = r.error!.message;
    t.regex(m, /stack dev is frozen by new-year \(Europe\/Stockholm, until 2027-01-08 00:00 Europe\/Stockholm/);
    // The window ends on Friday 2027-01-08 00:00; the weekend starts that Friday at 17:00, so the
    // deploy may next happen between the two: the one-off's end.
    t.regex(m, /deploying may next happen at 2027-01-08 00:00 Europe\/Stockholm \(2027-01-07 23:00 UTC\)/);
    t.regex(m, /--break-glass/);
    t.false(
        r.calls.some((c) => c.startsWith("assumeRole") || c.startsWith("ledger")),
        `no role assumed, no ledger touched: ${r.calls.join(", ")}`,
    );
    const freeze = r.error!.details.freeze as FreezeReport;
    t.is(freeze.result, "frozen");
    t.is(freeze.windowsFrom, "outputs");
    t.is(freeze.checkedAt, "2027-01-04T12:00:00.000Z");
    t.deepEqual(
        freeze.inForce.map((w) => [w.name, w.end, w.endLocal]),
        [["new-year", "2027-01-07T23:00:00.000Z", "2027-01-08 00:00 Europe/Stockholm"]],
    );
});

test("windows that chain: the refusal names the end of the merged freeze, not the first window's", async (t) => {
    // release ends on Friday 2027-02-12 at 17:00, exactly when the weekend starts: no opening
    // until the weekend ends on Monday at 08:00.
    const r = await run(at("2027-02-11T12:00:00Z"));
    t.is(r.error?.exitCode, Exit.FROZEN);
    t.regex(r.error!.message, /frozen by release \(Europe\/Stockholm, until 2027-02-12 17:00 Europe\/Stockholm/);
    t.regex(r.error!.message, /may next happen at 2027-02-15 08:00 Europe\/Stockholm \(2027-02-15 07:00 UTC\)/);
    t.is((r.error!.details.freeze as FreezeReport).openAt?.at, "2027-02-15T07:00:00.000Z");
});

test("--break-glass: a frozen deploy goes ahead, and one line names the window and the reason, escaped", async (t) => {
    const r = await run(FROZEN_AT, { breakGlass: "INC-42 fix\u001b[2J prod outage" });
    t.is(r.error, undefined, r.log);
    t.is(r.summary?.exitCode, 0);
    t.is(r.summary?.freeze?.result, "break-glass");
    // One line for the freeze (beside the one that says what --break-glass may pass).
    const lines = r.log.split("\n").filter((l) => l.includes("break-glass: stack dev is frozen"));
    t.is(lines.length, 1, r.log);
    t.regex(lines[0], /new-year/);
    t.regex(lines[0], /reason: INC-42 fix\\u001b\[2J prod outage/);
    t.false(r.log.includes("\u001b"), "the reason's control characters are escaped");
    t.true(r.calls.some((c) => c.startsWith("assumeRole")));
});

test("not frozen: the deploy goes ahead, and the summary lists the window starting within 24 hours", async (t) => {
    const r = await run(at("2027-01-14T20:00:00Z"));
    t.is(r.error, undefined, r.log);
    const freeze = r.summary?.freeze;
    t.is(freeze?.result, "open");
    t.deepEqual(freeze?.inForce, []);
    t.deepEqual(
        freeze?.upcoming.map((w) => [w.name, w.startLocal, w.endLocal]),
        [["weekend", "2027-01-15 17:00 Europe/Stockholm", "2027-01-18 08:00 Europe/Stockholm"]],
    );
});

test("the checkout's windows differ from the provisioned outputs: exit 4 naming pulumi up, before anything is assumed", async (t) => {
    const r = await run(at("2027-03-01T12:00:00Z"), {}, true);
    t.is(r.error?.exitCode, Exit.NOT_PROVISIONED);
    t.regex(r.error!.message, /freezeWindows: provisioned \[\], the checkout says \[\{"name":"new-year"/);
    t.regex(r.error!.message, /pulumi up -s dev/);
    t.false(r.calls.some((c) => c.startsWith("assumeRole")));
});

test("--dry-run: says it would refuse, exits 0, and reports the windows", async (t) => {
    const r = await run(FROZEN_AT, { dryRun: true });
    t.is(r.error, undefined, r.log);
    t.is(r.summary?.result, "dry-run");
    t.is(r.summary?.freeze?.result, "frozen");
    t.regex(r.log, /dry run: would refuse \(exit 11\): stack dev is frozen by new-year.*\(windows from the outputs\)/);
    const open = await run(at("2027-03-01T12:00:00Z"), { dryRun: true });
    t.is(open.summary?.freeze?.result, "open");
    t.regex(open.log, /dry run: freeze windows \(from the outputs\): none of 3 in force at 2027-03-01T12:00:00.000Z/);
    // Without the backend, a dry run uses the stack file's windows, and says so.
    const offline = await run(FROZEN_AT, { dryRun: true }, false, true);
    t.is(offline.summary?.freeze?.windowsFrom, "config");
    t.is(offline.summary?.freeze?.result, "frozen");
    t.regex(offline.log, /\(windows from Pulumi\.dev\.yaml: the outputs could not be read\)/);
    // Outside a dry run, unreadable outputs stop the deploy (exit 4) before any window is judged.
    t.is((await run(FROZEN_AT, {}, false, true)).error?.exitCode, Exit.NOT_PROVISIONED);
});

test("status and plan text: a window in force (with the next opening) and one starting within 24 hours, in its zone", (t) => {
    const windows = [
        { name: "release", start: "2027-02-10T00:00", end: "2027-02-12T17:00", timeZone: "Europe/Stockholm" },
        { name: "weekend", cron: "0 17 * * FRI", duration: "P2DT15H", timeZone: "Europe/Stockholm" },
        { name: "ny-night", cron: "0 22 * * *", duration: "PT8H", timeZone: "America/New_York" },
    ];
    const view = freezeViewAt(windows, at("2027-02-11T12:00:00Z"));
    const expected = [
        "frozen: release from 2027-02-10 00:00 Europe/Stockholm until 2027-02-12 17:00 Europe/Stockholm (2027-02-09T23:00:00.000Z to 2027-02-12T16:00:00.000Z); deploying may next happen at 2027-02-15T11:00:00.000Z", // the weekend, then the New York night
        "freeze window starting within 24 h: ny-night from 2027-02-11 22:00 America/New_York until 2027-02-12 06:00 America/New_York (2027-02-12T03:00:00.000Z to 2027-02-12T11:00:00.000Z)",
    ];
    const status = formatStatus({
        environments: [
            {
                stack: "dev",
                branch: "dev",
                attiniEnvironment: "dev",
                accountId: "111111111111",
                region: "eu-west-1",
                unknown: "not read",
                freeze: view,
            },
        ],
        links: [],
    }).split("\n");
    for (const line of expected) t.true(status.includes(`  ${line}`), status.join("\n"));
    const md = statusMarkdown(
        {
            environments: [{ stack: "dev", branch: "dev", unknown: "not read", freeze: view }],
            links: [],
        },
        {},
        0,
    );
    t.regex(md, /^- \*\*dev\*\* frozen: release from 2027-02-10 00:00 Europe\/Stockholm/m);
    t.regex(md, /^- \*\*dev\*\* freeze window starting within 24 h: ny-night/m);
    const unknown = formatStatus({
        environments: [
            {
                stack: "dev",
                branch: "dev",
                outputsUnknown: "no such stack",
                freezeUnknown: "what was provisioned is unknown (above)",
            },
        ],
        links: [],
    });
    t.regex(unknown, /freeze windows: unknown, what was provisioned is unknown/);
    const row: PlanRow = {
        branch: "dev",
        stack: "dev",
        attiniEnvironment: "dev",
        accountId: "111111111111",
        region: "eu-west-1",
        roleArn: "arn:aws:iam::111111111111:role/attini-deploy-role-eu-west-1",
        roleSource: "outputs",
        freeze: view,
        wave: 1,
    };
    const plan = formatPlan([row]).split("\n");
    t.true(plan.includes("  dev:"), plan.join("\n"));
    for (const line of expected) t.true(plan.includes(`    ${line}`), plan.join("\n"));
    // No window in force or near: plan prints nothing more than the table.
    t.is(formatPlan([{ ...row, freeze: freezeViewAt([], 0) }]).split("\n").length, 2);
});

/**
 * A deploy to dev that waits for the lease another deploy holds, at 23:00 on New Year's Eve in
 * Stockholm (open); the wait runs past midnight, into the new-year window.
 */
function waitIntoNewYear(t: ExecutionContext, more: Partial<DeployOptions> = {}) {
    const { aws, ledgers } = fakeAws();
    void aws.ledger(
        "attini-gitops-ledger-dev",
        "111111111111",
        () => ({}) as never,
        async () => ({}) as never,
    );
    const ledger = ledgers.get("attini-gitops-ledger-dev")!;
    ledger.lease = {
        runId: "other",
        commit: "0".repeat(40),
        ciSystem: "local",
        since: 0,
        expiresAt: Date.now() + 600_000,
    };
    const services = fakeServices(aws, { PATH: process.env.PATH, BRANCH: "dev" });
    let now = at("2026-12-31T22:00:00Z");
    services.now = () => now;
    const watch = setInterval(() => {
        if (!ledger.calls.includes("takeLease platform")) return;
        clearInterval(watch);
        now = at("2026-12-31T23:30:00Z"); // the wait ran past midnight
        if (ledger.lease) ledger.lease.expiresAt = 0; // the other deploy ends
    }, 5);
    t.teardown(() => clearInterval(watch));
    const o = unitDeployOptions(project.distribution, path.join(project.dir, "no-attini"), project.dir, {
        attiniBin: "/bin/true",
        leaseWaitMs: 60_000,
        ...more,
    });
    return { deploying: deploy(o, services), ledger, log: () => services.lines.join("") };
}

test("a freeze window that begins while the deploy waits for the lease: asked again once the lease is held, exit 11, nothing recorded", async (t) => {
    const w = waitIntoNewYear(t);
    const error = await t.throwsAsync(w.deploying);
    t.is((error as DriverError).exitCode, Exit.FROZEN, w.log());
    t.regex(w.log(), /freeze windows: checking again, after \d+s waiting for the lease/);
    t.regex(error!.message, /stack dev is frozen by new-year/);
    t.deepEqual(w.ledger.runs, [], "nothing recorded");
    t.is(w.ledger.lease?.expiresAt, 0, "the lease let go");
});

test("with --break-glass, a freeze window that begins during the lease wait is passed, and the summary says so (not the verdict from before the wait)", async (t) => {
    const w = waitIntoNewYear(t, { breakGlass: "INC-9 fix" });
    const summary = await w.deploying;
    t.is(summary.exitCode, 0, w.log());
    t.is(summary.freeze?.result, "break-glass");
    t.is(summary.freeze?.inForce[0]?.name, "new-year");
});
