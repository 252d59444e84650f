/** `attini-gitops plan`: its options and help; the work is automation/planning.ts (and ciMatrix.ts for --matrix). */
import { planMatrix, waveOption } from "../ciMatrix";
import { usage } from "../errors";
import { formatPlan, plan } from "../planning";
import { COMMON, type Command, servicesOf, text } from "./command";

export const planCommand: Command = {
    summary: "  plan                  show branch → stack → Attini environment → account/region → role",
    help: `Usage: attini-gitops plan [--branch NAME] [--json] [--cwd DIR]
       attini-gitops plan --matrix github|gitlab [--branch NAME] [--wave N] [--max-wave N] [--cwd DIR]

Shows every stack: branch → stack → Attini environment → account and region → deploy role, and,
for each branch with several stacks (targets), its targets by wave. The role comes from the stack
outputs when the backend can be read; otherwise it is derived from the stack file and marked so.
With --branch, shows only the targets that branch deploys to. Reads as many stacks' outputs at
once as the machine has cores (ATTINI_GITOPS_OUTPUT_READERS=N changes that). Below the table,
each stack's freeze windows in force now or starting within 24 hours (from the stack files;
outputs that differ from them are refused by deploy).

--matrix github|gitlab prints only the branch's targets (--branch, else BRANCH, the CI system's
variables, then git) as JSON for the CI system's job matrix, one job per target running
\`attini-gitops deploy --stack <stack>\`, offline (no backend):
  github  {"include":[{"stack":..,"wave":..,"branch":..,"attiniEnvironment":..,"account":..,"region":..}]}
          for strategy.matrix: \${{ fromJSON(needs.plan.outputs.wave1) }}
  gitlab  {"matrix":[{"STACK":..,"WAVE":..,"BRANCH":..,"ATTINI_ENVIRONMENT":..,"AWS_ACCOUNT":..,"AWS_REGION":..}]}
          the value of parallel: in a generated child pipeline
--wave N keeps only wave N's targets (an empty list when it has none); --max-wave N refuses (exit 2)
when the branch has a target in a wave after N, which a pipeline with jobs for waves 1..N would
never deploy. A branch with no stack exits 3.`,
    options: {
        ...COMMON,
        branch: { type: "string" },
        matrix: { type: "string" },
        wave: { type: "string" },
        "max-wave": { type: "string" },
    },
    async run(values, _positionals, _extra, ctx) {
        const format = text(values, "matrix");
        const wave = waveOption("--wave", text(values, "wave"));
        const maxWave = waveOption("--max-wave", text(values, "max-wave"));
        if (format !== undefined) {
            if (ctx.json) throw usage("--matrix prints JSON already; leave out --json");
            const branch = text(values, "branch");
            ctx.print(planMatrix({ cwd: ctx.cwd, format, branch, wave, maxWave }, servicesOf(ctx)));
            return 0;
        }
        if (wave !== undefined || maxWave !== undefined) throw usage("--wave and --max-wave go with --matrix");
        const rows = await plan({ cwd: ctx.cwd, branch: text(values, "branch") }, servicesOf(ctx));
        ctx.print(ctx.json ? JSON.stringify(rows) : formatPlan(rows));
        return 0;
    },
};
