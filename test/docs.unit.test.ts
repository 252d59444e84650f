// The docs stay true to the code: docs/config.md's config reference equals Pulumi.yaml's schema,
// every key the program reads is in the schema, and docs/driver.md documents every command, deploy
// option and exit code.

import * as fs from "node:fs";
import * as path from "node:path";
import test from "ava";
import { COMMANDS } from "../automation/cli";
import { Exit } from "../automation/errors";
import { PROJECT_KEYS } from "../lib/config/types";
import { readProjectSchema } from "../lib/stackFiles";
import { CONFIG_DOC, configReference, referenceSection } from "../scripts/config-reference";
import { ROOT } from "./support/tools";

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
const readme = read("README.md");
const driverDoc = read(path.join("docs", "driver.md"));

test("docs/config.md's config reference is exactly what Pulumi.yaml declares (run `npm run docs` after editing it)", (t) => {
    t.is(referenceSection(read(CONFIG_DOC)), configReference(ROOT));
});

test("Pulumi.yaml declares every key the program reads, and no other", (t) => {
    t.deepEqual([...readProjectSchema(ROOT).keys.keys()].sort(), [...PROJECT_KEYS].sort());
    for (const [k, s] of readProjectSchema(ROOT).keys) t.true(s.description.length > 20, `${k} has a description`);
});

test("docs/driver.md documents every exit code the driver uses", (t) => {
    for (const [name, code] of Object.entries(Exit)) {
        if (code === 0) continue;
        t.regex(driverDoc, new RegExp(`^\\| ${code} \\|`, "m"), `${name} (${code})`);
    }
});

test("docs/driver.md documents every command and every deploy option", (t) => {
    for (const [command, { options }] of Object.entries(COMMANDS)) {
        t.regex(driverDoc, new RegExp(`^attini-gitops ${command}\\b`, "m"), command);
        if (command === "deploy")
            for (const o of Object.keys(options)) if (o !== "help") t.true(driverDoc.includes(`\`--${o}`), `--${o}`);
    }
});

test("the quickstart is exactly two commands, and both exist in package.json", (t) => {
    const quick = /## Quickstart[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)![1].trim().split("\n");
    t.is(quick.length, 2);
    const scripts = JSON.parse(read("package.json")).scripts;
    for (const line of quick) t.truthy(scripts[/^npm (?:run )?(\w+)/.exec(line)![1]], line);
});
