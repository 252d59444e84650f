// The docs stay true to the code: docs/config.md's config reference equals Pulumi.yaml's schema,
// every key the program reads is in the schema, docs/driver.md documents every command, deploy
// option and exit code, every relative link in README.md and docs/ resolves, and the README stays
// a short front door whose file map lists every source file.

import { execFileSync } from "node:child_process";
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
/** Every Markdown page whose links must resolve: the README, CONTRIBUTING.md and docs/*.md. */
const PAGES = [
    "README.md",
    "CONTRIBUTING.md",
    ...fs
        .readdirSync(path.join(ROOT, "docs"))
        .filter((f) => f.endsWith(".md"))
        .map((f) => `docs/${f}`),
];

/** A page without its fenced code blocks, whose `#` lines and brackets are not Markdown. */
function prose(markdown: string): string {
    let fenced = false;
    return markdown
        .split("\n")
        .filter((line) => {
            if (/^\s*```/.test(line)) {
                fenced = !fenced;
                return false;
            }
            return !fenced;
        })
        .join("\n");
}

/** The text of a page's headings, in order (`#` to `######`, outside code blocks). */
function headings(markdown: string): string[] {
    return prose(markdown)
        .split("\n")
        .flatMap((line) => /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1] ?? []);
}

/**
 * The anchors GitHub gives a page's headings: the rendered text lower-cased, every character but
 * letters, digits, `_`, `-` and spaces dropped, spaces turned into `-`; a repeated slug gets -1, -2.
 */
function anchors(markdown: string): Set<string> {
    const seen = new Map<string, number>();
    const out = new Set<string>();
    for (const h of headings(markdown)) {
        const text = h.replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/<[^>]+>/g, "");
        const slug = text
            .toLowerCase()
            .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "")
            .replace(/ /g, "-");
        const n = seen.get(slug) ?? 0;
        seen.set(slug, n + 1);
        out.add(n === 0 ? slug : `${slug}-${n}`);
    }
    return out;
}

/** The targets of a page's inline links `[text](target)`, outside code blocks and code spans. */
function links(markdown: string): string[] {
    const text = prose(markdown).replace(/`[^`\n]*`/g, "");
    return [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]);
}

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

test("docs/driver.md documents every plan option", (t) => {
    for (const o of Object.keys(COMMANDS.plan.options))
        if (o !== "help") t.true(driverDoc.includes(`\`--${o}`), `--${o}`);
    t.regex(driverDoc, /^## Several targets per branch$/m);
});

test("the quickstart is exactly two commands, and both exist in package.json", (t) => {
    const quick = /## Quickstart[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)![1].trim().split("\n");
    t.is(quick.length, 2);
    const scripts = JSON.parse(read("package.json")).scripts;
    for (const line of quick) t.truthy(scripts[/^npm (?:run )?(\w+)/.exec(line)![1]], line);
});

test("the README is a short front door: at most 300 lines", (t) => {
    const lines = readme.split("\n").length - (readme.endsWith("\n") ? 1 : 0);
    t.true(lines <= 300, `README.md has ${lines} lines; move reference material to docs/`);
});

test("the README opens with a table of contents that lists every section and links only to its headings", (t) => {
    const sections = prose(readme).split(/^## /m);
    const toc = sections.findIndex((s) => s.startsWith("Contents\n"));
    t.true(toc === 1, "the README's first section is ## Contents");
    const targets = links(sections[toc]);
    const own = anchors(readme);
    t.true(targets.length > 0);
    for (const target of targets) t.true(target.startsWith("#") && own.has(target.slice(1)), target);
    for (const s of sections.slice(toc + 1)) {
        const heading = s.split("\n")[0];
        t.true(targets.includes(`#${[...anchors(`## ${heading}`)][0]}`), `the contents list "## ${heading}"`);
    }
});

test("every relative link in README.md, CONTRIBUTING.md and docs/ points to a file that exists, and to a heading in it", (t) => {
    const broken: string[] = [];
    let checked = 0;
    for (const page of PAGES) {
        for (const target of links(read(page))) {
            if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
            checked++;
            const [file, anchor] = target.split("#", 2);
            const resolved = file === "" ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
            const where = `${page}: (${target})`;
            if (resolved.startsWith("..") || !fs.existsSync(path.join(ROOT, resolved)))
                broken.push(`${where}: no such file`);
            else if (anchor !== undefined && !(resolved.endsWith(".md") && anchors(read(resolved)).has(anchor)))
                broken.push(`${where}: no heading with that anchor`);
        }
    }
    t.true(checked > 20, `${checked} links checked`);
    t.deepEqual(broken, []);
});

/** The folders whose every source file the README's file map must list, and the files at the root. */
const MAPPED = /^(?:(?:automation|lib|components|scripts|bench)\/.*\.(?:ts|sh|java)|index\.ts)$/;

/**
 * The paths the README's file map (the fenced block in its Development section) names. The map is
 * a tree: a line is an indent, a names column, and optionally two or more spaces and a
 * description. A name ending in `/` is a folder, and the lines indented below it are inside it;
 * a names column of comma-separated paths (`sts.ts, githubOidc.ts`) names each of them. Lines
 * whose names column is not a list of paths (descriptions running on) name nothing.
 */
function fileMap(markdown: string): string[] {
    const dev = markdown.split(/^## /m).find((s) => s.startsWith("Development\n"));
    const block = dev && /^```\n([\s\S]*?)^```/m.exec(dev)?.[1];
    if (!block) return [];
    const folders: { indent: number; path: string }[] = [];
    const named: string[] = [];
    for (const line of block.split("\n")) {
        const m = /^( *)(\S(?:.*?\S)?)(?: {2,}.*)?$/.exec(line);
        if (!m) continue;
        const indent = m[1].length;
        const names = m[2].split(/,\s*/);
        if (!names.every((n) => /^[\w.-]+(?:\/[\w.-]+)*\/?$/.test(n))) continue;
        while (folders.length > 0 && folders[folders.length - 1].indent >= indent) folders.pop();
        const parent = folders.length > 0 ? folders[folders.length - 1].path : "";
        for (const n of names) {
            named.push(path.posix.join(parent, n));
            if (n.endsWith("/")) folders.push({ indent, path: path.posix.join(parent, n) });
        }
    }
    return named;
}

test("the README's file map lists every source file under its folder, and no file that is not there", (t) => {
    const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8" })
        .split("\0")
        .filter((f) => MAPPED.test(f));
    t.true(tracked.length > 50, `git ls-files found ${tracked.length} source files`);
    const named = fileMap(readme);
    const unlisted = tracked.filter((f) => !named.includes(f));
    const gone = named.filter((f) => MAPPED.test(f) && !tracked.includes(f));
    // Both lists at once: a moved file shows on both sides.
    t.deepEqual(
        { "missing from the map": unlisted, "in the map, not in the repository": gone },
        { "missing from the map": [], "in the map, not in the repository": [] },
        "the README's file map (Development) and the source files disagree",
    );
});
