// The real Pulumi CLI reads each shipped stack file against Pulumi.yaml's config schema (types,
// defaults, required keys), and the program's own config reader accepts what the engine hands it.

import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import test from "ava";
import { requireStackConfig } from "../lib/config/validate";
import { configFromEngine } from "../lib/engineConfig";
import { fileBackend } from "./support/backend";
import { scratchProject } from "./support/project";
import { pulumiCli } from "./support/tools";

test.before(() => pulumiCli());

/** A scratch copy of the project (test/support/project.ts) with one stack file edited. */
function project(t: import("ava").ExecutionContext, stack: string, edit: (s: string) => string = (s) => s): string {
    const p = scratchProject({ [`Pulumi.${stack}.yaml`]: edit });
    t.teardown(p.dispose);
    return p.dir;
}

const program = async () => {
    const c = requireStackConfig(pulumi.getStack(), configFromEngine());
    return {
        branch: c.branch,
        env: c.attiniEnvironment,
        roleName: c.roleName,
        duration: c.maxSessionDuration,
        gate: c.promotionGate,
    };
};

async function up(t: import("ava").ExecutionContext, stack: string, workDir: string) {
    const backend = fileBackend();
    t.teardown(() => backend.dispose());
    const s = await LocalWorkspace.createStack(
        { stackName: stack, projectName: "attini-gitops", program },
        { workDir, envVars: backend.env, secretsProvider: "passphrase" },
    );
    await s.up();
    return s.outputs();
}

for (const [stack, branch, env, gate] of [
    ["dev", "dev", "dev", "off"],
    ["stage", "stage", "acc", "warn"],
    ["prod", "main", "prod", "enforce"],
]) {
    test.serial(`real CLI accepts Pulumi.${stack}.yaml and applies Pulumi.yaml defaults`, async (t) => {
        const out = await up(t, stack, project(t, stack));
        t.is(out.branch.value, branch);
        t.is(out.env.value, env);
        t.is(out.roleName.value, "attini-deploy-role-eu-west-1");
        t.is(out.duration.value, 3600);
        t.is(out.gate.value, gate);
    });
}

test.serial("real CLI refuses a stack file that lacks a required key", async (t) => {
    const dir = project(t, "dev", (s) => s.replace(/^\s*attini-gitops:attiniEnvironment: dev\n/m, ""));
    const err = await t.throwsAsync(up(t, "dev", dir));
    t.regex(err!.message, /Stack 'dev' is missing configuration value 'attiniEnvironment'/);
});

test.serial("real CLI refuses a value of the wrong type", async (t) => {
    const dir = project(t, "dev", (s) => `${s}  attini-gitops:maxSessionDuration: an hour\n`);
    const err = await t.throwsAsync(up(t, "dev", dir));
    t.regex(err!.message, /Stack 'dev' with configuration key 'maxSessionDuration' must be of type 'integer'/);
});
