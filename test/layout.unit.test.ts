// The fast loop stays fast: `npm run test:unit` runs test/*.unit.test.ts, which must need no
// Pulumi CLI, emulator or attini, so none of them may reach for the harness that starts those.

import * as fs from "node:fs";
import * as path from "node:path";
import test from "ava";
import { ROOT } from "./support/tools";

const HARNESS = /from "\.\/support\/(world|moto|driver|attini|backend)"|pulumiCli|motoServerBin|realAttini|provision\(/;

test("unit test files use none of the harness that starts the Pulumi CLI, the emulator or attini", (t) => {
    const units = fs
        .readdirSync(path.join(ROOT, "test"))
        .filter((f) => f.endsWith(".unit.test.ts") && f !== "layout.unit.test.ts");
    t.true(units.length >= 8, units.join(", "));
    for (const f of units) t.notRegex(fs.readFileSync(path.join(ROOT, "test", f), "utf8"), HARNESS, f);
});
