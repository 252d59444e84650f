// attini dies with the driver: the real CLI (dist/automation/cli.js) deploys on the emulator with
// a fake attini that records its pid, starts a child that ignores SIGTERM, and then runs the
// recording stand-in. The driver is killed with SIGKILL, which no handler of its own sees; the
// watchdog (automation/attiniProcess.ts) must then stop attini's whole process group: SIGTERM
// first (the stand-in reports it), SIGKILL after --kill-grace. Waits are polls with a deadline.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test, { type ExecutionContext } from "ava";
import { jobEnv, runCli } from "./support/driver";
import { alive, eventually } from "./support/processes";
import { STAND_IN_ATTINI } from "./support/tools";
import { backend, moto, project, reports, sts, useWorld } from "./support/world";

useWorld(test, { stacks: ["dev"] });

/** attini as a wrapper script: records its own pid (attini's process group), starts a child that ignores SIGTERM, then becomes the stand-in. */
function recordingAttini(t: ExecutionContext): {
    bin: string;
    started: (name: "attini" | "child") => boolean;
    pid: (name: "attini" | "child") => number;
} {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-killed-"));
    const bin = path.join(dir, "attini");
    fs.writeFileSync(
        bin,
        `#!/bin/sh
echo $$ > "${dir}/attini.pid"
sh -c 'trap "" TERM INT HUP; echo $$ > "${dir}/child.tmp"; mv "${dir}/child.tmp" "${dir}/child.pid"; while :; do sleep 1; done' &
exec "${STAND_IN_ATTINI}" "$@"
`,
        { mode: 0o755 },
    );
    const pid = (name: string) => Number(fs.readFileSync(path.join(dir, `${name}.pid`), "utf8").trim());
    t.teardown(() => {
        for (const name of ["attini", "child"] as const) {
            try {
                if (alive(pid(name))) process.kill(pid(name), "SIGKILL");
            } catch {
                /* never started */
            }
        }
        fs.rmSync(dir, { recursive: true, force: true });
    });
    return { bin, started: (name) => fs.existsSync(path.join(dir, `${name}.pid`)), pid };
}

test.serial("a driver killed with SIGKILL takes attini's whole process group with it", async (t) => {
    const attini = recordingAttini(t);
    const j = jobEnv({
        moto,
        backend,
        reports,
        stsEndpoint: sts.endpoint,
        extra: { BRANCH: "dev", ATTINI_STANDIN_SLEEP: "120" },
    });
    t.teardown(j.dispose);
    // Not awaited: the CLI's stdout and stderr close only once every process that inherited them
    // (attini's group) is gone, which is what this test is about.
    let stderr = "";
    const killed = new Promise<NodeJS.Signals | null>((resolve) => {
        void runCli(
            ["deploy", "distribution/platform", "--kill-grace", "1s", "--attini-bin", attini.bin],
            j.env,
            project.dir,
            (driver) => {
                driver.stderr!.on("data", (d) => (stderr += d));
                driver.on("exit", (_code, signal) => resolve(signal));
                // Once attini runs (the stand-in has reported) and its child has written its pid.
                void reports.waitFor("start").then(async () => {
                    await eventually(() => attini.started("child"), 10_000);
                    driver.kill("SIGKILL");
                });
            },
        );
    });
    t.is(await killed, "SIGKILL", stderr);
    const leader = attini.pid("attini");
    const child = attini.pid("child");
    t.is(reports.event("start")!.pid, leader, "the stand-in runs as attini, the leader of its group");
    t.true(await eventually(() => !alive(leader), 20_000), `attini (${leader}) outlived the driver`);
    t.true(await eventually(() => !alive(child), 20_000), `attini's child (${child}) outlived the driver`);
    // SIGTERM came first: the stand-in reported it before it exited.
    t.true(await eventually(() => reports.event("signal") !== undefined, 10_000));
    t.is(reports.event("signal")!.signal, "SIGTERM");
    t.notRegex(stderr, /may outlive/);
});
