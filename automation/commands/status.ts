/**
 * `attini-gitops status`: its options and help; the work is automation/statusReport.ts, written
 * out by statusText.ts (text) or statusMarkdown.ts (markdown, and the CI job summary).
 */
import { ArtifactError, readAttiniConfig } from "../attiniConfig";
import { DEFAULT_AWS_TIMEOUTS } from "../awsCall";
import { behindBranches } from "../behind";
import { usage } from "../errors";
import { gitIn } from "../git";
import { findProjectDir } from "../project";
import { statusMarkdown } from "../statusMarkdown";
import { status } from "../statusReport";
import { formatStatus, SHOWN_COMMITS } from "../statusText";
import { publishSummary, SUMMARY_HELP, SUMMARY_OPTIONS, summaryDestinations } from "../summaryOutput";
import { awsTimeouts, COMMON, type Command, externalIdOf, flag, servicesOf, text } from "./command";

/** The distributionName in a distribution's attini-config, for `status --dist`. */
async function distributionNameOf(dist: string): Promise<string> {
    try {
        const name = (await readAttiniConfig(dist)).distributionName;
        if (name) return name;
        throw usage(`--dist ${dist}: its attini-config sets no distributionName`);
    } catch (e) {
        if (e instanceof ArtifactError || (e as NodeJS.ErrnoException).code === "ENOENT")
            throw usage(`--dist ${dist}: ${(e as Error).message}`);
        throw e;
    }
}

export const statusCommand: Command = {
    summary: `  status                per environment: branch tip beside the last deployment Attini recorded;
                        per promotion link: commits waiting, hotfixes and cherry-picks, equal trees`,
    help: `Usage: attini-gitops status [--distribution-name NAME | --dist PATH] [--remote NAME] [--all]
                            [--format text|markdown | --json] [--summary-file PATH] [--no-step-summary] [--cwd DIR]

For each environment: its branch tip (the local clone's remote-tracking branch; run git fetch
first) beside the last deployment of the distribution that Attini recorded there (its id, time
and outcome, and the last success when the last one did not succeed), and whether the branch
moved on since. The record is read with each environment's history reader, as the build server
(the default AWS credential chain); where that is not possible, status says why instead. Where
each environment is (account, region, Attini environment, branch) and its reader come from the
stack outputs in the Pulumi backend (read as deploy reads them, every stack at once), not from
this checkout: a stack whose outputs cannot be read, or differ from its stack file, is shown as
unknown, naming the keys and the pulumi up to run.

For each promotion link (promotedFrom in the stack files, e.g. dev → stage → prod):
  - the commits waiting to be promoted, and the age of the oldest;
  - the commits on the downstream branch that never passed through the upstream one (hotfixes,
    and cherry-picks of changes that did);
  - whether the two branches' trees are equal.
Long lists show their count, the oldest and the first ${SHOWN_COMMITS} commits; --all lists every
commit (--json always carries all of them). Says so when a remote-tracking branch is missing or
looks stale.

Options:
  --distribution-name NAME  the distribution whose deployments to show
  --dist PATH               the same, read from the distribution's attini-config (folder or .zip)
  --external-id ID          the ExternalId, for stacks that require one (or ATTINI_GITOPS_EXTERNAL_ID)
  --aws-timeout DURATION    longest wait per environment's record (default 60s)
  --aws-request-timeout DURATION  longest wait per AWS request (default 10s)
  --remote NAME             the git remote whose branches are compared (default origin)
  --all                     list every commit
  --format text|markdown    text (the default), or Markdown: the promotion chain as a Mermaid
                            flowchart, then the same facts as tables
  --json                    {"environments": [...], "links": [...]}
${SUMMARY_HELP}

In GitHub Actions the Markdown summary is appended to $GITHUB_STEP_SUMMARY, whatever --format says.`,
    options: {
        ...COMMON,
        remote: { type: "string" },
        all: { type: "boolean" },
        "distribution-name": { type: "string" },
        dist: { type: "string" },
        "external-id": { type: "string" },
        "aws-timeout": { type: "string" },
        "aws-request-timeout": { type: "string" },
        format: { type: "string" },
        ...SUMMARY_OPTIONS,
    },
    async run(values, _positionals, _extra, ctx) {
        if (values["distribution-name"] !== undefined && values.dist !== undefined)
            throw usage("status: pass --distribution-name or --dist, not both");
        const format = text(values, "format") ?? "text";
        if (format !== "text" && format !== "markdown")
            throw usage(`status --format ${JSON.stringify(format)}: use text or markdown (or --json)`);
        if (ctx.json && text(values, "format") !== undefined) throw usage("status: pass --format or --json, not both");
        const externalId = externalIdOf(values, ctx);
        const dist = text(values, "dist");
        const report = await status(
            {
                cwd: ctx.cwd,
                remote: text(values, "remote") ?? "origin",
                distributionName:
                    text(values, "distribution-name") ??
                    (dist === undefined ? undefined : await distributionNameOf(dist)),
                externalId,
                timeouts: awsTimeouts(values, DEFAULT_AWS_TIMEOUTS),
            },
            servicesOf(ctx),
        );
        const now = Math.floor(Date.now() / 1000);
        const destinations = summaryDestinations(
            { summaryFile: text(values, "summary-file"), noStepSummary: flag(values, "no-step-summary") },
            ctx.env,
        );
        const remote = text(values, "remote") ?? "origin";
        let markdown: string | undefined;
        const asMarkdown = () => {
            markdown ??= statusMarkdown(report, behindBranches(gitIn(findProjectDir(ctx.cwd)), remote, report), now);
            return markdown;
        };
        publishSummary(destinations, asMarkdown, ctx.log);
        const out = ctx.json
            ? JSON.stringify(report)
            : format === "markdown"
              ? asMarkdown()
              : formatStatus(report, now, flag(values, "all"));
        ctx.print(ctx.redactor.scrub(out));
        return 0;
    },
};
