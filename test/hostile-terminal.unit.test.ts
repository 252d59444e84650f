// Terminal control characters in text the driver prints (automation/log.ts): commit subjects and
// branch names come from git, error messages from AWS, and any of them may carry an escape
// sequence that recolours or clears the terminal, rewrites the line (\r), plants a hyperlink
// (OSC 8), or a one-byte C1 CSI (\x9b). Every log line (Logger) and everything a command prints
// (the CLI's print) goes through printable(), which shows them as \uXXXX escapes instead. These
// tests feed such text through the Logger, through status's text, and through the CLI itself.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import { main } from "../automation/cli";
import type { RecordedDeployment } from "../automation/deployments";
import { Logger, printable, printer, Redactor } from "../automation/log";
import type { StatusReport } from "../automation/statusReport";
import { formatStatus } from "../automation/statusText";
import { ROOT } from "./support/tools";

/** Red text; an OSC 8 hyperlink to a hostile address; a carriage return that rewrites the line; a C1 CSI that clears the screen. */
const HOSTILE = "\x1b[31mred\x1b[0m \x1b]8;;http://evil.example/\x07click\x1b]8;;\x07 \rfake: deployed \x9b2J";
/** The same, as printable() shows it. */
const SHOWN =
    "\\u001b[31mred\\u001b[0m \\u001b]8;;http://evil.example/\\u0007click\\u001b]8;;\\u0007 \\u000dfake: deployed \\u009b2J";
/** Any control character that may not reach the output raw (C0 but \n and \t, DEL, C1). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

test("printable shows every control character as its \\u escape, and leaves the rest, \\n and \\t as they were", (t) => {
    t.is(printable(HOSTILE), SHOWN);
    t.is(printable("\x00\x08\x0b\x0c\x1f\x7f\x80\x9f"), "\\u0000\\u0008\\u000b\\u000c\\u001f\\u007f\\u0080\\u009f");
    // Bidirectional overrides and isolates, which reorder how a line reads.
    t.is(printable("a\u202eb\u2066c\u2069"), "a\\u202eb\\u2066c\\u2069");
    for (const plain of ["line one\n\tline two", "café ✓ שלום 日本 🚀", "", "a\\b"]) t.is(printable(plain), plain);
});

test("a log line with escape sequences from git or AWS reaches stderr escaped, and secrets are still scrubbed", (t) => {
    let out = "";
    const redactor = new Redactor();
    redactor.add("SECRETKEY123");
    const log = new Logger(redactor, (s) => (out += s));
    log.info(`attini exited: ${HOSTILE} (key SECRETKEY123)\nsecond line\tindented`);
    t.notRegex(out, RAW_CONTROL);
    t.is(out, `attini-gitops: attini exited: ${SHOWN} (key ***)\nsecond line\tindented\n`);
});

const deployment = (detail: string): RecordedDeployment => ({
    environment: "acc",
    distributionName: "platform",
    distributionId: `b42${HOSTILE}`,
    time: Date.parse("2026-11-20T10:00:00Z"),
    status: "failed",
    detail,
});

test("status's text, printed as the CLI prints it, shows hostile subjects, branches and Attini errors escaped", (t) => {
    const now = Math.floor(Date.parse("2026-11-27T00:00:00Z") / 1000);
    const commit = { sha: "a".repeat(40), time: now - 86_400, subject: `Fix${HOSTILE}` };
    const report: StatusReport = {
        environments: [
            {
                stack: "stage",
                branch: `stage${HOSTILE}`,
                attiniEnvironment: "acc",
                accountId: "222222222222",
                region: "eu-west-1",
                tip: { ...commit, ref: `origin/stage${HOSTILE}` },
                deployed: { distributionName: "platform", last: deployment(`CloudformationError: ${HOSTILE}`) },
            },
            {
                stack: "prod",
                branch: "main",
                attiniEnvironment: "prod",
                accountId: "333333333333",
                region: "eu-west-1",
                unknown: `AccessDenied: ${HOSTILE}`,
            },
        ],
        links: [
            {
                upstream: { stack: "stage", branch: "stage", ref: "origin/stage" },
                downstream: { stack: "prod", branch: "main", ref: "origin/main", gate: "enforce" },
                missing: [],
                warnings: [`origin/main was fetched long ago ${HOSTILE}`],
                waiting: [commit],
                oldestWaitingDays: 1,
                downstreamOnly: [{ ...commit, kind: "hotfix" }],
                treesEqual: false,
            },
        ],
    };
    const text = formatStatus(report, now);
    t.regex(text, RAW_CONTROL, "the report itself carries the raw sequences");
    let out = "";
    printer((s) => (out += s))(text);
    t.notRegex(out, RAW_CONTROL);
    // Each hostile field is there, shown.
    t.is(out.split(SHOWN).length - 1, text.split(HOSTILE).length - 1);
    t.true(out.split(SHOWN).length - 1 >= 8, out);
});

test.serial(
    "the CLI prints through printable: text on stdout and the log on stderr; --json keeps the value",
    async (t) => {
        // A stack file whose branch holds the sequences; validate names the bad value.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-terminal-"));
        t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
        fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        const branch = `dev${HOSTILE}`;
        fs.writeFileSync(
            path.join(dir, "Pulumi.dev.yaml"),
            fs
                .readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")
                .replace(/attini-gitops:branch: .*/, `attini-gitops:branch: ${JSON.stringify(branch)}`),
        );
        const captured = async (argv: string[]) => {
            const out = { stdout: "", stderr: "" };
            const stdout = process.stdout.write;
            const stderr = process.stderr.write;
            process.stdout.write = ((s: string) => {
                out.stdout += s;
                return true;
            }) as typeof process.stdout.write;
            process.stderr.write = ((s: string) => {
                out.stderr += s;
                return true;
            }) as typeof process.stderr.write;
            try {
                return { code: await main(argv, {}), ...out };
            } finally {
                process.stdout.write = stdout;
                process.stderr.write = stderr;
            }
        };
        const text = await captured(["validate", "--cwd", dir]);
        t.is(text.code, 2);
        t.regex(text.stdout, /attini-gitops:branch/);
        t.regex(text.stdout, /\\u009b2J/, "the C1 CSI, which JSON.stringify leaves raw, is shown escaped");
        t.notRegex(text.stdout, RAW_CONTROL);

        const json = await captured(["validate", "--json", "--cwd", dir]);
        t.notRegex(json.stdout, RAW_CONTROL);
        const problems = (JSON.parse(json.stdout) as { problems: string[] }).problems;
        t.true(
            problems.some((p) => p.includes(JSON.stringify(branch).slice(0, 4)) && p.includes("\x9b2J")),
            "the JSON still parses to the value as it was",
        );

        // The log (stderr), through main's own Logger: an unknown command that holds the sequences.
        const usage = await captured([`deploy${HOSTILE}`]);
        t.is(usage.code, 2);
        t.regex(usage.stderr, /unknown command/);
        t.regex(usage.stderr, /\\u009b2J/);
        t.notRegex(usage.stderr, RAW_CONTROL);
    },
);
