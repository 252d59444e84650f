// The Markdown summaries (status --format markdown, and deploy's and status's CI job summary):
// snapshots for a chain with a deployed, a failed, a waiting and a never-deployed environment and
// for deploys that ended every way; Mermaid's own parser on every diagram; and hostile text from
// people (commit subjects, branch names, ids, Attini's messages) that must leave the Markdown and
// the diagram as they were.

import * as fs from "node:fs";
import * as path from "node:path";
import test from "ava";
import { behindAt } from "../automation/behind";
import { deployMarkdown } from "../automation/deploySummary";
import { printable } from "../automation/log";
import { environmentState, statusMarkdown } from "../automation/statusMarkdown";
import { formatStatus } from "../automation/statusText";
import { code, markdownText, mermaidText, oneLine, runLink } from "../automation/summaryMarkdown";
import { chain, deployOutcomes, NOW } from "./support/chain";
import { mermaidBlocks, parseMermaid } from "./support/mermaid";
import { ROOT } from "./support/tools";

const statusOf = (text?: (s: string) => string) => {
    const { report, behind } = chain(text);
    return statusMarkdown(report, behind, NOW);
};

test("status summary: the chain as a flowchart and tables (snapshot), and Mermaid parses it", async (t) => {
    const md = statusOf();
    t.snapshot(md);
    const blocks = mermaidBlocks(md);
    t.is(blocks.length, 1);
    t.is(await parseMermaid(blocks[0]), "flowchart-v2");
    // One node per target, the two main targets grouped, one edge per link, each state coloured.
    t.regex(blocks[0], /subgraph branch2 \["branch main"\]/);
    t.is(blocks[0].match(/-->\|/g)?.length, 3);
    for (const [env, state] of [
        ["env0", "deployed"],
        ["env1", "failed"],
        ["env2", "behind"],
        ["env3", "never"],
    ])
        t.regex(blocks[0], new RegExp(`class ${env} ${state}$`, "m"));
    t.regex(md, /2 commits behind origin\/main/);
    t.regex(md, /gate enforce: trees differ, would refuse/);
    t.regex(md, /gate enforce: would pass \(trees equal\)/);
});

test("deploy summaries for every outcome (snapshots), each diagram parsed by Mermaid", async (t) => {
    for (const [name, outcome] of Object.entries(deployOutcomes())) {
        const md = deployMarkdown(outcome);
        t.snapshot(md, name);
        const blocks = mermaidBlocks(md);
        t.is(blocks.length, 1, name);
        t.is(await parseMermaid(blocks[0]), "flowchart-v2", name);
    }
    const o = deployOutcomes();
    t.regex(deployMarkdown(o.deployed), /\| result \| \*\*deployed\*\* \(exit 0\) \|/);
    t.regex(deployMarkdown(o["refused by the verified gate"]), /\| verified promotion gate \| refused: /);
    t.regex(deployMarkdown(o["refused by the git gate"]), /\| git promotion gate \| refused: promotion gate/);
    t.regex(deployMarkdown(o.failed), /\| attini \| failed \(exit 1\)/);
    t.regex(
        deployMarkdown(o.deployed),
        /\| CI run \| \[https.*\]\(https:\/\/github\.com\/acme\/platform\/actions\/runs\/42\) \|/,
    );
});

test("the README's example chart, from the demo's status, is a diagram Mermaid parses", async (t) => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const blocks = mermaidBlocks(readme);
    t.is(blocks.length, 1);
    t.is(await parseMermaid(blocks[0]), "flowchart-v2");
});

test("Mermaid's parser is really used: a broken diagram fails", async (t) => {
    await t.throwsAsync(parseMermaid('flowchart LR\n  a["x"] --> b["y'));
    await t.throwsAsync(parseMermaid('flowchart LR\n  a["a"b"] --> b'));
});

/** What people may write: Markdown and Mermaid syntax, HTML, links, mentions, terminal escapes, and a lot of it. */
const HOSTILE = [
    "```js\nalert(1)\n``` `tick`",
    "a | b || c \\| d",
    "]] [[x]] ((y)) {{z}}",
    "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "a --> b ==> c -.-> d ---|x| e",
    "\x1b[31mred\x1b[0m \x1b]8;;http://evil.example/\x07click\x1b]8;;\x07 \rfake \x9b2J",
    "x".repeat(10_000),
    "[click](https://evil.example) ![img](https://evil.example/i.png) https://evil.example www.evil.example",
    '"quoted" #quot; #35; &amp; &#60; %%{init: {"theme": "dark"}}%% end class subgraph',
    "@everyone #12 line one\nline two\ttab",
    "*bold* _em_ ~~del~~ # heading\n> quote\n- item",
];

/** The Markdown's shape: its lines, with every escaped or variable piece replaced, so that only structure remains. */
function shape(md: string): string[] {
    return md
        .split("\n")
        .map((line) =>
            line.startsWith("|")
                ? `table row with ${pipes(line)} cells`
                : line.startsWith("  ")
                  ? "chart line"
                  : "line",
        );
}

/** The cells of a table row: its pipes that no backslash escapes. */
function pipes(line: string): number {
    return (line.match(/(?<!\\)\|/g) ?? []).length;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** The Markdown outside the chart, without its own markup (line breaks, the footnote, code spans of safe values, the CI run's link) and without backslash escapes. */
function prose(md: string): string {
    return md
        .replace(/^```mermaid\n[\s\S]*?\n```$/gm, "")
        .replace(/<br\/?>|<\/?sub>|^> /gm, "")
        .replace(/`[A-Za-z0-9._:/-]{1,200}`/g, "")
        .replace(/\]\(https:\/\/github\.com\/acme\/platform\/actions\/runs\/42\)/g, "")
        .replace(/\\./g, "");
}

/** The chart's lines hold no markup but the line breaks it adds, and no backtick that could end the fence. */
function assertChartInert(t: import("ava").ExecutionContext, md: string, what: string) {
    for (const block of mermaidBlocks(md)) t.notRegex(block.replace(/<br\/>|-->|--x/g, ""), /[<>`]/, what);
}

function assertIntact(t: import("ava").ExecutionContext, md: string, plain: string, what: string) {
    t.deepEqual(shape(md), shape(plain), `${what}: same lines, same table shapes`);
    t.notRegex(md, RAW_CONTROL, what);
    assertChartInert(t, md, what);
    const own = prose(md);
    t.notRegex(own, /[<>`]/, `${what}: no raw HTML or backtick`);
    t.notRegex(own, /\]\(|:\/\/|www\./i, `${what}: no link`);
    t.notRegex(own.replace(/^## /gm, ""), /[@#](?!\u2060)/, `${what}: no mention or reference`);
    for (const line of md.split("\n")) t.true(line.length < 3000, `${what}: a line of ${line.length} characters`);
}

test("hostile subjects, branch names and ids leave the status summary and its diagram intact", async (t) => {
    const plain = statusOf();
    for (const h of HOSTILE) {
        const md = statusOf((s) => `${s} ${h}`);
        assertIntact(t, md, plain, JSON.stringify(h.slice(0, 40)));
        const [block] = mermaidBlocks(md);
        t.is(await parseMermaid(block), "flowchart-v2");
        t.is(block.split("\n").length, mermaidBlocks(plain)[0].split("\n").length);
    }
});

test("hostile text leaves every deploy summary and its diagram intact", async (t) => {
    const plain = deployOutcomes();
    for (const h of HOSTILE) {
        for (const [name, outcome] of Object.entries(deployOutcomes((s) => `${s} ${h}`))) {
            const md = deployMarkdown(outcome);
            const what = `${name}: ${JSON.stringify(h.slice(0, 40))}`;
            // A stopped deploy repeats its message line by line: hostile line breaks add lines there, never elsewhere.
            if (!outcome.stopped) assertIntact(t, md, deployMarkdown(plain[name]), what);
            else t.deepEqual(shape(md).slice(0, 20), shape(deployMarkdown(plain[name])).slice(0, 20), what);
            assertChartInert(t, md, what);
            t.notRegex(prose(md), /[<>`]|\]\(|:\/\/|www\./i, what);
            t.notRegex(md, RAW_CONTROL, what);
            t.is(await parseMermaid(mermaidBlocks(md)[0]), "flowchart-v2", what);
        }
    }
});

test("status's terminal text shows hostile text escaped, on the lines it had", (t) => {
    const { report } = chain();
    const plainLines = printable(formatStatus(report, NOW)).split("\n").length;
    for (const h of HOSTILE.filter((x) => !x.includes("\n"))) {
        const out = printable(formatStatus(chain((s) => `${s} ${h}`).report, NOW));
        t.notRegex(out, RAW_CONTROL);
        t.is(out.split("\n").length, plainLines);
    }
});

test("the escapers: Mermaid entity codes, Markdown backslashes and entities, length caps", (t) => {
    t.is(mermaidText('a"b|c<d>`e#f'), "a#34;b#124;c#60;d#62;#96;e#35;f");
    t.is(mermaidText("x".repeat(100), 10), `${"x".repeat(9)}…`);
    t.is(markdownText("a|b`c[d](e)<f>&g"), "a\\|b\\`c\\[d\\](e)&lt;f&gt;&amp;g");
    t.is(markdownText("see https://x.example or www.x.example"), "see https\\://x.example or www\\.x.example");
    t.is(markdownText("- item"), "\\- item");
    t.is(markdownText("1. item"), "1\\. item");
    t.is(markdownText("@x #1"), "@\u2060x \\#\u20601");
    t.is(oneLine("a\nb\tc\x1b", 80), "a b c\\u001b");
    t.is(oneLine("🚀".repeat(5), 3), "🚀🚀…");
    t.is(code("abc123"), "`abc123`");
    t.is(code("a`b"), "a\\`b");
    t.is(runLink("javascript:alert(1)"), "javascript:alert(1)");
    t.is(runLink("https://ci.example/job/1"), "[https\\://ci.example/job/1](https://ci.example/job/1)");
});

test("behind: the branch's commit at deploy time, and how many came after", (t) => {
    // Newest first: committed 1, 2 and 3 days ago.
    const line = [1, 2, 3].map((d) => ({ sha: `${d}`, time: NOW - d * 86_400, subject: `c${d}` }));
    t.deepEqual(behindAt(line, (NOW - 2.5 * 86_400) * 1000), { atDeploy: line[2], count: 2 });
    t.deepEqual(behindAt(line, NOW * 1000), { atDeploy: line[0], count: 0 });
    t.deepEqual(behindAt(line, 0), { count: 3, more: false });
    const { report, behind } = chain();
    t.deepEqual(
        report.environments.map((e) => environmentState(e, behind[e.stack])),
        ["deployed", "failed", "behind", "never-deployed"],
    );
});

test("deploy summary: the upstream alarms' row, when prod lists alarms (refused, or what each said)", (t) => {
    const o = deployOutcomes();
    const refusedByVerified = o["refused by the verified gate"];
    const reason = "stage's alarms refuse the promotion: alarm platform-5xx is in ALARM since 2026-11-20T10:00:00Z";
    const refused = deployMarkdown({
        ...refusedByVerified,
        stopped: {
            exitCode: 7,
            message: `promotion gate (enforce): ${reason}`,
            details: { upstreamAlarms: { result: "refused", upstream: "stage", alarms: [], reason } },
        },
    });
    t.regex(
        refused,
        /\| upstream alarms \| refused: stage's alarms refuse the promotion: alarm platform-5xx is in ALARM/,
    );
    t.notRegex(refused, /\| git promotion gate \| refused/, "not the git gate's refusal");
    t.notRegex(deployMarkdown(o.deployed), /upstream alarms/, "no row for a stack that lists none");
});

test("break-glass and the soak time in the summaries and status: shown, escaped, and the diagrams still parse", async (t) => {
    const outcomes = deployOutcomes();
    const soak = {
        result: "broken-glass" as const,
        minimumMinutes: 60,
        upstream: "stage",
        case: "not-met" as const,
        since: "2026-12-01T10:02:00Z",
        soakedMinutes: 12,
        readyAt: "2026-12-01T11:02:00Z",
        reason: "stage has held this content for 12 min",
        breakGlass: "INC-4711 payment outage",
    };
    const glass = deployMarkdown({
        ...outcomes.deployed,
        summary: { ...outcomes.deployed.summary!, soak, breakGlass: "INC-4711 payment outage" },
    });
    t.regex(glass, /\| soak time \| broken-glass \(passed by --break-glass: INC-4711 payment outage\): stage has held/);
    t.regex(glass, /\| break-glass \| INC-4711 payment outage \|/);
    t.is(await parseMermaid(mermaidBlocks(glass)[0]), "flowchart-v2");
    t.notRegex(deployMarkdown(outcomes.deployed), /soak time|break-glass/, "no rows where there is nothing to say");
    const refused = deployMarkdown({
        ...outcomes["refused by the verified gate"],
        stopped: {
            exitCode: 7,
            message: "soak time (enforce): stage has held this content for 12 min; ready at 2026-12-01T11:02:00Z.",
            details: { soak: { ...soak, result: "refused" } },
        },
    });
    t.regex(refused, /\| soak time \| refused: soak time \(enforce\): stage has held this content for 12 min/);
    t.notRegex(refused, /\| git promotion gate \| refused/);

    // status: the deployed run's reason, from the ledger (stored text: escaped wherever it is shown).
    for (const reason of ["INC-4711 payment outage", "evil\u001b[2J\nforged line | <b>x</b> @all"]) {
        const { report, behind } = chain();
        const run = {
            entry: "run#1",
            runId: "r1",
            environment: "prod",
            distributionName: "platform",
            commit: "3".repeat(40),
            branch: "main",
            digest: "sha256:abc",
            sha256: "abc",
            ciSystem: "local",
            sessionName: "deploy-platform",
            sourceIdentity: "ci",
            startedAt: NOW * 1000,
            result: "deployed" as const,
            breakGlass: reason,
        };
        report.environments[3] = { ...report.environments[3], ledger: { last: run, deployed: run } };
        const text = printable(formatStatus(report, NOW));
        t.notRegex(text, RAW_CONTROL);
        const line = text.split("\n").find((l) => l.includes("deployed with --break-glass"));
        t.truthy(line, text);
        if (reason === "INC-4711 payment outage")
            t.is(line, '  deployed with --break-glass, for: "INC-4711 payment outage"');
        else t.regex(line ?? "", /for: "evil\\u001b\[2J\\nforged line \| <b>x<\/b> @all"$/);
        const md = statusMarkdown(report, behind, NOW);
        t.regex(md, /deployed with break-glass: /);
        t.notRegex(md, RAW_CONTROL);
        t.is(await parseMermaid(mermaidBlocks(md)[0]), "flowchart-v2");
    }
});
