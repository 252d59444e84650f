// Each CI example runs the driver with the command it ships, under that CI system's variables
// (as --dry-run: the examples' own accounts do not exist here).

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import test from "ava";
import { load as parse } from "js-yaml";
import { fileBackend } from "./support/backend";
import { jobEnv, runCli } from "./support/driver";
import { type Moto, startMoto } from "./support/moto";
import { multiRegionProject, type ScratchProject, scratchProject } from "./support/project";
import { pulumiCli, ROOT } from "./support/tools";
import { writeZip } from "./support/zip";

let moto: Moto;
test.before(async () => {
    pulumiCli();
    moto = await startMoto();
});
test.after.always(async () => moto?.stop());

/**
 * What the GitHub example tells users to do first: trust the repository's jobs in every stack, and
 * let the jobs of the next branch down read each environment's history (the verified gate).
 */
const readers: Record<string, string> = { dev: "stage", stage: "main" };
const withGithubOidc = Object.fromEntries(
    ["dev", "stage", "prod"].map((s) => [
        `Pulumi.${s}.yaml`,
        (text: string) =>
            `${text}  attini-gitops:githubRepository: acme/platform\n${readers[s] ? `  attini-gitops:historyReaderBranches: [${readers[s]}]\n` : ""}`,
    ]),
);

/** `zip`: where the example's deploy command finds the packaged distribution. */
const EXAMPLES: {
    file: string;
    yaml: boolean;
    ci: Record<string, string>;
    stack: string;
    source: string;
    zip?: string;
    edit?: typeof withGithubOidc;
    /** What the CI system gives the example's own variables (GitHub's matrix gives STACK). */
    vars?: Record<string, string>;
}[] = [
    {
        file: "codebuild/buildspec.yml",
        yaml: true,
        ci: {
            CODEBUILD_BUILD_ID: "attini:1",
            CODEBUILD_WEBHOOK_EVENT: "PUSH",
            CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/stage",
            CODEBUILD_WEBHOOK_TRIGGER: "branch/stage",
        },
        stack: "stage",
        source: "AWS CodeBuild (CODEBUILD_WEBHOOK_HEAD_REF)",
    },
    {
        file: "github-actions/deploy.yml",
        yaml: true,
        ci: { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "push", GITHUB_REF: "refs/heads/main" },
        stack: "prod",
        source: "GitHub Actions (GITHUB_REF)",
        edit: withGithubOidc,
        zip: "distribution/attini_dist/platform.zip",
        vars: { STACK: "prod" },
    },
    {
        file: "jenkins/Jenkinsfile",
        yaml: false,
        ci: { JENKINS_URL: "https://jenkins.example/", BRANCH_NAME: "dev" },
        stack: "dev",
        source: "Jenkins (BRANCH_NAME)",
    },
    {
        file: "gitlab/.gitlab-ci.yml",
        yaml: true,
        ci: { GITLAB_CI: "true", CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "stage" },
        stack: "stage",
        source: "GitLab CI (CI_COMMIT_BRANCH)",
        zip: "platform.zip",
    },
];

for (const ex of EXAMPLES) {
    test(`examples/${ex.file} runs the driver, which maps its branch to ${ex.stack}`, async (t) => {
        const text = fs.readFileSync(path.join(ROOT, "examples", ex.file), "utf8");
        if (ex.yaml) t.notThrows(() => parse(text), "valid YAML");
        const commands = [...text.matchAll(/npx attini-gitops (deploy[^'\n]*)/g)].map((m) => m[1].trim().split(/\s+/));
        t.is(commands.length, 1, "one deploy command");
        const project = scratchProject(ex.edit);
        const backend = fileBackend();
        const vars: Record<string, string> = { ...ex.vars };
        // The examples deploy the folder `distribution` (its attini-config names the distribution).
        fs.writeFileSync(path.join(project.dir, "distribution", "attini-config.yaml"), "distributionName: platform\n");
        if (ex.zip) {
            // The promoted artifact, as the pipeline fetched it, and its recorded digest.
            const zip = path.join(project.dir, ex.zip);
            fs.mkdirSync(path.dirname(zip), { recursive: true });
            writeZip(zip, { "attini-config.yaml": "distributionName: platform\ndistributionId: 0123abcd\n" });
            vars.PLATFORM_SHA256 = createHash("sha256").update(fs.readFileSync(zip)).digest("hex");
        }
        const args = commands[0].map((a) => a.replace(/^"?\$(\w+)"?$/, (_, v: string) => vars[v] ?? `$${v}`));
        t.false(
            args.some((a) => a.includes("$")),
            `unresolved variable in ${args.join(" ")}`,
        );
        // Every example publishes the deploy's summary: GitHub's on the job's page, the others as an artifact.
        const github = ex.ci.GITHUB_ACTIONS === "true";
        t.true(github || args.includes("--summary-file"), "publishes the summary");
        const job = jobEnv({ moto, backend, extra: ex.ci });
        const stepSummary = path.join(job.tmp, "step-summary.md");
        if (github) job.env.GITHUB_STEP_SUMMARY = stepSummary;
        t.teardown(() => {
            project.dispose();
            backend.dispose();
            job.dispose();
        });
        const r = await runCli([...args, "--dry-run", "--json"], job.env, project.dir);
        t.is(r.code, 0, r.stderr);
        // A packaged zip carries its distributionId to the verified gate (which a dry run does not call).
        t.like(JSON.parse(r.stdout), {
            result: "dry-run",
            stack: ex.stack,
            branchSource: ex.source,
            ...(ex.zip
                ? {
                      sha256: vars.PLATFORM_SHA256,
                      verifiedPromotion: { result: "not-checked", distributionId: "0123abcd" },
                  }
                : {}),
        });
        const summary = github ? stepSummary : path.join(project.dir, args[args.indexOf("--summary-file") + 1]);
        t.regex(fs.readFileSync(summary, "utf8"), new RegExp(`^## attini-gitops deploy: dry run to ${ex.stack}\n`));
        if (ex.zip && args.includes(vars.PLATFORM_SHA256)) {
            const other = await runCli(
                [...args.map((a) => (a === vars.PLATFORM_SHA256 ? "f".repeat(64) : a)), "--dry-run"],
                job.env,
                project.dir,
            );
            t.is(other.code, 7, "another digest is refused");
        }
    });
}

test("examples/github-actions/deploy.yml: the plan job's matrices give one job per target, wave by wave, for a multi-region prod and for one target", async (t) => {
    const text = fs.readFileSync(path.join(ROOT, "examples", "github-actions", "deploy.yml"), "utf8");
    const jobs = (parse(text) as { jobs: Record<string, Record<string, unknown>> }).jobs;
    const plans = [...text.matchAll(/\$\(npx attini-gitops (plan --matrix github[^)\n]*)\)/g)].map((m) =>
        m[1].trim().split(/\s+/),
    );
    t.is(plans.length, 2, "one matrix per wave");
    // Wave 2 waits for wave 1, runs the same steps, and is skipped exactly when its matrix is empty.
    t.deepEqual(jobs["deploy-wave-2"].needs, ["plan", "deploy-wave-1"]);
    t.deepEqual(jobs["deploy-wave-2"].steps, jobs["deploy-wave-1"].steps);
    for (const [job, wave] of [
        ["deploy-wave-1", "wave1"],
        ["deploy-wave-2", "wave2"],
    ]) {
        t.is((jobs[job].strategy as { matrix: string }).matrix, `\${{ fromJSON(needs.plan.outputs.${wave}) }}`);
        t.true(String(jobs[job].if).includes(`needs.plan.outputs.${wave} != '{"include":[]}'`), job);
    }
    const run = async (project: ScratchProject) => {
        const backend = fileBackend();
        const job = jobEnv({
            moto,
            backend,
            extra: { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "push", GITHUB_REF: "refs/heads/main" },
        });
        t.teardown(() => {
            project.dispose();
            backend.dispose();
            job.dispose();
        });
        const out: string[] = [];
        for (const args of plans) {
            const r = await runCli(args, job.env, project.dir);
            t.is(r.code, 0, r.stderr);
            out.push(r.stdout.trim());
        }
        return out;
    };
    const stacks = (json: string) => JSON.parse(json).include.map((x: { stack: string }) => x.stack);
    const [eu, us] = await run(multiRegionProject());
    t.deepEqual(stacks(eu), ["prod-eu"]);
    t.deepEqual(stacks(us), ["prod-us"]);
    t.like(JSON.parse(us).include[0], { wave: 2, account: "444444444444", region: "us-east-1" });
    const [one, none] = await run(scratchProject());
    t.deepEqual(stacks(one), ["prod"]);
    t.is(none, '{"include":[]}', "the single-target branch skips wave 2");
});
