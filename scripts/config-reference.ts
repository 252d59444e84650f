/**
 * The config reference in docs/config.md, generated from Pulumi.yaml so the two cannot drift apart.
 *   npm run docs   rewrites the section between the config-reference markers in docs/config.md
 * A test fails when docs/config.md and Pulumi.yaml disagree.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readProjectSchema } from "../lib/stackFiles";

export const START = "<!-- config-reference:start (generated from Pulumi.yaml by `npm run docs`) -->";
export const END = "<!-- config-reference:end -->";
/** The page that holds the config reference, relative to the project root. */
export const CONFIG_DOC = path.join("docs", "config.md");

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function configReference(projectDir: string): string {
    const { keys } = readProjectSchema(projectDir);
    const rows = [...keys].map(([k, s]) => {
        const type = s.type === "array" ? `array of ${s.items?.type ?? "any"}` : s.type;
        const dflt = s.default === undefined ? "**required**" : `\`${JSON.stringify(s.default)}\``;
        return `| \`attini-gitops:${k}\` | ${type} | ${dflt} | ${cell(s.description)} |`;
    });
    return [START, "| key | type | default | description |", "| --- | --- | --- | --- |", ...rows, END].join("\n");
}

/** The config-reference section of a page, markers included, or undefined when it has none. */
export function referenceSection(page: string): string | undefined {
    const a = page.indexOf(START);
    const b = page.indexOf(END);
    return a === -1 || b === -1 ? undefined : page.slice(a, b + END.length);
}

if (require.main === module) {
    const root = path.resolve(__dirname, "..", fs.existsSync(path.resolve(__dirname, "..", "Pulumi.yaml")) ? "" : "..");
    const file = path.join(root, CONFIG_DOC);
    const page = fs.readFileSync(file, "utf8");
    const old = referenceSection(page);
    if (!old) throw new Error(`${CONFIG_DOC} has no ${START} ... ${END} section`);
    fs.writeFileSync(
        file,
        page.replace(old, () => configReference(root)),
    );
    console.log(`${CONFIG_DOC} config reference updated from Pulumi.yaml`);
}
