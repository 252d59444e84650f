/**
 * Locates the tools the integration tests and the demo run on, through the same scripts that
 * install them (so the pinned versions live in one place): the Pulumi CLI and moto's server.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** The project root: the nearest folder above this file (source or compiled) with Pulumi.yaml. */
export const ROOT = (() => {
    for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    }
    throw new Error(`no Pulumi.yaml above ${__dirname}`);
})();
export const CLI = path.join(ROOT, "dist", "automation", "cli.js");
export const STAND_IN_ATTINI = path.join(ROOT, "test", "fixtures", "attini");

/** Runs one of the scripts/ensure-*.sh scripts and returns the path it prints. */
export function ensure(script: string, ...args: string[]): string {
    return execFileSync("bash", [path.join(ROOT, "scripts", script), ...args], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
    }).trim();
}

let pulumiBin: string | undefined;
/** Absolute path of the Pulumi CLI; its folder is also put first on this process's PATH. */
export function pulumiCli(): string {
    if (!pulumiBin) {
        pulumiBin = ensure("ensure-pulumi.sh");
        process.env.PATH = `${path.dirname(pulumiBin)}${path.delimiter}${process.env.PATH ?? ""}`;
    }
    return pulumiBin;
}

export function motoServerBin(): string {
    return ensure("ensure-moto.sh");
}
