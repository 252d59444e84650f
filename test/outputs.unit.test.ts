// The stack outputs checked against the checkout's stack files (checkOutputs, automation/outputs.ts):
// stale or missing values and another role or account are refused with the exit code that says
// which. The outputs are the trust root: a commit that edits a stack file (its gate, its upstream,
// the upstream's branch, account, environment or reader) is refused until `pulumi up` provisions it.
// Reading the outputs through the Automation API: test/outputs.test.ts.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import { type DriverError, Exit } from "../automation/errors";
import { checkOutputs } from "../automation/outputs";
import type { StackConfig } from "../lib/config/types";
import { configOutputs } from "../lib/outputs";
import { loadStacks } from "../lib/stackFiles";
import { outputsFor } from "./support/project";
import { ROOT } from "./support/tools";

const configs = loadStacks(ROOT).configs;
const named = (stack: string) => configs.find((c) => c.stack === stack)!;
const dev = named("dev");
const prod = named("prod");

/** The exit code and message checkOutputs refuses `raw` with, for stack `c` among `stacks`. */
function refusal(c: StackConfig, stacks: readonly StackConfig[], raw: Record<string, unknown>) {
    const e = (() => {
        try {
            checkOutputs(c, stacks, raw);
        } catch (err) {
            return err as DriverError;
        }
        throw new Error("not refused");
    })();
    return { code: e.exitCode, message: e.message };
}

test("outputs are checked against the stack file: stale values, another role, another account", (t) => {
    const good = {
        ...configOutputs(dev, undefined),
        deployRoleArn: "arn:aws:iam::111111111111:role/attini-deploy-role-eu-west-1",
        deployRoleName: "attini-deploy-role-eu-west-1",
        historyReaderArn: "arn:aws:iam::111111111111:role/attini-history-reader-eu-west-1",
        buildServerPolicy: "{}",
    };
    t.deepEqual(checkOutputs(dev, configs, good), good);
    const code = (raw: Record<string, unknown>) => refusal(dev, configs, raw).code;
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

test("outputs from before the trust root (no gate or upstream pinned) are refused: run pulumi up", (t) => {
    const old = outputsFor(prod, ROOT) as unknown as Record<string, unknown>;
    for (const k of ["promotionGate", "promotedFrom", "upstreamBranch", "upstreamHistoryReaderArn", "upstreamAlarms"]) {
        const { [k]: _, ...without } = old;
        const r = refusal(prod, configs, without);
        t.is(r.code, Exit.NOT_PROVISIONED, k);
        t.regex(r.message, new RegExp(`outputs missing: ${k}.*pulumi up -s prod`), k);
    }
    t.is(
        refusal(prod, configs, { ...old, requireDistributionId: "true" }).code,
        Exit.NOT_PROVISIONED,
        "a string, not a boolean",
    );
    t.is(
        refusal(prod, configs, { ...old, soakMinutes: "60" }).code,
        Exit.NOT_PROVISIONED,
        "the soak time is a number, not its text",
    );
    t.is(refusal(prod, configs, { ...old, soakMinutes: 1.5 }).code, Exit.NOT_PROVISIONED, "a whole number");
    const { soakMinutes: _, ...noSoak } = old;
    t.regex(refusal(prod, configs, noSoak).message, /outputs missing: soakMinutes.*pulumi up -s prod/);
});

/** The shipped stack files, with one stack's config edited as a commit could. */
const edited = (stack: string, change: Partial<StackConfig>) =>
    configs.map((c) => (c.stack === stack ? ({ ...c, ...change } as StackConfig) : c));

test("a checkout whose stack files differ from what was provisioned is refused, naming the key and pulumi up", (t) => {
    const provisioned = outputsFor(prod, ROOT) as unknown as Record<string, unknown>;
    t.deepEqual(checkOutputs(prod, configs, provisioned), provisioned, "the shipped files match");
    const cases: [string, StackConfig[], string][] = [
        [
            "the gate switched off in the same commit",
            edited("prod", { promotionGate: "off" }),
            "promotionGate: provisioned enforce, the checkout says off",
        ],
        [
            "the gate softened to warn",
            edited("prod", { promotionGate: "warn" }),
            "promotionGate: provisioned enforce, the checkout says warn",
        ],
        [
            "no promotion any more",
            edited("prod", { promotedFrom: undefined }),
            "promotedFrom: provisioned stage, the checkout says \\(none\\)",
        ],
        [
            "promoted from dev instead",
            edited("prod", { promotedFrom: "dev" }),
            "promotedFrom: provisioned stage, the checkout says dev",
        ],
        [
            "stage's branch renamed to one the author pushed",
            edited("stage", { branch: "evil" }),
            "upstreamBranch: provisioned stage, the checkout says evil",
        ],
        [
            "stage moved to another account",
            edited("stage", { accountId: "444444444444" }),
            "upstreamAccountId: provisioned 222222222222, the checkout says 444444444444",
        ],
        [
            "stage's environment renamed",
            edited("stage", { attiniEnvironment: "acc2" }),
            "upstreamAttiniEnvironment: provisioned acc, the checkout says acc2",
        ],
        [
            "ids no longer required",
            edited("prod", { requireDistributionId: false }),
            "requireDistributionId: provisioned true, the checkout says false",
        ],
        [
            "an upstream alarm added in the same commit",
            edited("prod", { upstreamAlarms: ["arn:aws:cloudwatch:eu-west-1:222222222222:alarm:a"] }),
            'upstreamAlarms: provisioned \\[\\], the checkout says \\["arn:aws:cloudwatch:eu-west-1:222222222222:alarm:a"\\]',
        ],
        [
            "a soak time added but not provisioned",
            edited("prod", { soakMinutes: 60 }),
            "soakMinutes: provisioned 0, the checkout says 60",
        ],
        [
            "break-glass forbidden but not provisioned",
            edited("prod", { breakGlass: "forbidden" }),
            "breakGlass: provisioned allowed, the checkout says forbidden",
        ],
    ];
    for (const [what, files, says] of cases) {
        const c = files.find((x) => x.stack === "prod")!;
        const r = refusal(c, files, provisioned);
        t.is(r.code, Exit.NOT_PROVISIONED, what);
        t.regex(r.message, new RegExp(says), what);
        t.regex(r.message, /takes effect only through `pulumi up -s prod` in account 333333333333/, what);
    }
});

test("a Pulumi.yaml that names a backend is refused: the outputs come from the backend the CI job names", (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-backend-key-"));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml"]) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    t.is(loadStacks(dir).errors.length, 0);
    fs.appendFileSync(path.join(dir, "Pulumi.yaml"), "backend:\n  url: file://./.state\n");
    const e = t.throws(() => loadStacks(dir));
    t.regex(
        e!.message,
        /Pulumi\.yaml sets backend: the deploy-role stacks' outputs must come from the backend the CI job names/,
    );
});

test("a soak time and a break-glass ban dropped by the commit being deployed are refused: the outputs decide", (t) => {
    const strict = { ...prod, soakMinutes: 60, breakGlass: "forbidden" as const };
    const provisioned = outputsFor(strict, ROOT) as unknown as Record<string, unknown>;
    t.like(
        checkOutputs(
            strict,
            configs.map((c) => (c.stack === "prod" ? strict : c)),
            provisioned,
        ),
        {
            soakMinutes: 60,
            breakGlass: "forbidden",
        },
    );
    const r = refusal(prod, configs, provisioned);
    t.is(r.code, Exit.NOT_PROVISIONED);
    t.regex(
        r.message,
        /soakMinutes: provisioned 60, the checkout says 0; breakGlass: provisioned forbidden, the checkout says allowed/,
    );
    t.regex(r.message, /pulumi up -s prod/);
});
