/**
 * Where `deploy`'s and `status`'s Markdown summaries go: appended to `$GITHUB_STEP_SUMMARY` in
 * GitHub Actions (unless --no-step-summary), and written to `--summary-file PATH` anywhere (GitLab,
 * CodeBuild and Jenkins publish it as an artifact). A summary is a report about the run, never
 * part of its result: one that cannot be built or written is a warning on stderr, and the exit
 * code and the `--json` output stay what they were. Also the CI run's URL, for the summary.
 */
import * as fs from "node:fs";
import type { Logger } from "./log";

/** The options that choose where the summary goes. */
export const SUMMARY_OPTIONS = {
    "summary-file": { type: "string" },
    "no-step-summary": { type: "boolean" },
} as const;

export const SUMMARY_HELP = `  --summary-file PATH       also write the Markdown summary (a Mermaid chart and tables) to PATH
  --no-step-summary         in GitHub Actions, do not append the summary to $GITHUB_STEP_SUMMARY`;

export interface SummaryDestinations {
    /** --summary-file: written (replaced). */
    file?: string;
    /** $GITHUB_STEP_SUMMARY in GitHub Actions: appended. */
    stepSummary?: string;
}

/** Where the summary goes, from the options and the CI environment. */
export function summaryDestinations(
    o: { summaryFile?: string; noStepSummary: boolean },
    env: NodeJS.ProcessEnv,
): SummaryDestinations {
    const step = env.GITHUB_ACTIONS === "true" && !o.noStepSummary ? env.GITHUB_STEP_SUMMARY : undefined;
    return { file: o.summaryFile, stepSummary: step || undefined };
}

/**
 * Writes the summary to each destination; `build` runs only when there is one. Never throws: a
 * failure to build or write is one warning line each, through the log (secrets scrubbed).
 */
export function publishSummary(to: SummaryDestinations, build: () => string, log: Logger): void {
    if (to.file === undefined && to.stepSummary === undefined) return;
    let markdown: string;
    try {
        markdown = `${log.redactor.scrub(build())}\n`;
    } catch (e) {
        log.info(`warning: the summary could not be made: ${(e as Error).message}`);
        return;
    }
    const attempt = (what: string, path: string, write: () => void) => {
        try {
            write();
        } catch (e) {
            log.info(`warning: the summary could not be written to ${what} ${path}: ${(e as Error).message}`);
        }
    };
    if (to.file !== undefined) {
        const file = to.file;
        attempt("--summary-file", file, () => fs.writeFileSync(file, markdown));
    }
    if (to.stepSummary !== undefined) {
        const step = to.stepSummary;
        attempt("GITHUB_STEP_SUMMARY", step, () => fs.appendFileSync(step, `${markdown}\n`));
    }
}
