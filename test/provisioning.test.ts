// scripts/ensure-pulumi.sh: which Pulumi CLI the project runs on, and what it says when it can
// get none. (Building from the Go module proxy is exercised by CI on a fresh machine.)

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import { pulumiCli, ROOT } from "./support/tools";

const SCRIPT = path.join(ROOT, "scripts", "ensure-pulumi.sh");

/** A PATH with only the basics plus `extra`, and an XDG cache of our own. */
function sandbox(t: import("ava").ExecutionContext) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-ensure-"));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    for (const tool of ["bash", "sed", "sort", "head", "dirname", "basename", "mktemp", "rm", "cat", "mkdir", "mv"]) {
        const real = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
        fs.symlinkSync(real, path.join(bin, tool));
    }
    const fakePulumi = (version: string) =>
        fs.writeFileSync(path.join(bin, "pulumi"), `#!/bin/bash\necho v${version}\n`, { mode: 0o755 });
    const run = () =>
        spawnSync("bash", [SCRIPT], {
            encoding: "utf8",
            env: { PATH: bin, HOME: dir, XDG_CACHE_HOME: path.join(dir, "cache") },
        });
    return { dir, bin, fakePulumi, run };
}

test("a new enough pulumi on PATH is used as it is", (t) => {
    const s = sandbox(t);
    s.fakePulumi("3.280.0");
    const r = s.run();
    t.is(r.status, 0, r.stderr);
    t.is(r.stdout.trim(), path.join(s.bin, "pulumi"));
    t.regex(r.stderr, /using pulumi 3\.280\.0 on PATH/);
});

test("an old pulumi on PATH is passed over for the pinned build in the cache", (t) => {
    const s = sandbox(t);
    s.fakePulumi("3.100.0");
    const cached = path.join(s.dir, "cache", "attini-gitops", "pulumi", "v3.274.1", "bin");
    fs.mkdirSync(cached, { recursive: true });
    fs.symlinkSync(pulumiCli(), path.join(cached, "pulumi"));
    const r = s.run();
    t.is(r.status, 0, r.stderr);
    t.is(r.stdout.trim(), path.join(cached, "pulumi"));
    t.regex(r.stderr, /pulumi on PATH is 3\.100\.0, older than the minimum 3\.200\.0/);
    t.regex(r.stderr, /using cached pulumi 3\.274\.1/);
});

test("with no usable pulumi and no Go, it fails and names both ways to get one", (t) => {
    const s = sandbox(t);
    s.fakePulumi("2.0.0");
    const r = s.run();
    t.is(r.status, 1);
    t.is(r.stdout, "");
    t.regex(r.stderr, /no Pulumi CLI >= 3\.200\.0 on PATH, and no Go toolchain to build one/);
    t.regex(r.stderr, /install the Pulumi CLI/);
    t.regex(r.stderr, /install Go/);
});
