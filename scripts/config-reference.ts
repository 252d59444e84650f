/**
 * The README's config reference, generated from Pulumi.yaml so the two cannot drift apart.
 *   npm run docs   rewrites the section between the config-reference markers in README.md
 * A test fails when README.md and Pulumi.yaml disagree.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readProjectSchema } from "../lib/stackFiles";

export const START = "<!-- config-reference:start (generated from Pulumi.yaml by `npm run docs`) -->";
export const END = "<!-- config-reference:end -->";

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

export function readmeSection(readme: string): string | undefined {
    const a = readme.indexOf(START);
    const b = readme.indexOf(END);
    return a === -1 || b === -1 ? undefined : readme.slice(a, b + END.length);
}

if (require.main === module) {
    const root = path.resolve(__dirname, "..", fs.existsSync(path.resolve(__dirname, "..", "Pulumi.yaml")) ? "" : "..");
    const file = path.join(root, "README.md");
    const readme = fs.readFileSync(file, "utf8");
    const old = readmeSection(readme);
    if (!old) throw new Error(`README.md has no ${START} ... ${END} section`);
    fs.writeFileSync(file, readme.replace(old, configReference(root)));
    console.log("README.md config reference updated from Pulumi.yaml");
}
