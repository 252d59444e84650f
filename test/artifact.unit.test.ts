// A distribution folder's digest (distributionDigest, automation/artifact.ts): which files it covers.
// Reading a distribution's attini-config, from a .zip or a folder: test/verified-gate.unit.test.ts.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import { distributionDigest } from "../automation/artifact";

test("a folder's digest covers its files, not attini's own attini_dist/ package, .git or node_modules", (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-digest-"));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, "attini-config.yaml"), "distributionName: platform\n");
    const before = distributionDigest(dir);
    fs.mkdirSync(path.join(dir, "attini_dist"));
    fs.writeFileSync(path.join(dir, "attini_dist", "platform.zip"), "PK an earlier package");
    fs.mkdirSync(path.join(dir, "node_modules"));
    fs.writeFileSync(path.join(dir, "node_modules", "x.js"), "x");
    t.is(distributionDigest(dir), before);
    fs.mkdirSync(path.join(dir, "templates"));
    fs.writeFileSync(path.join(dir, "templates", "attini_dist"), "a file of that name deeper down counts");
    t.not(distributionDigest(dir), before);
});
