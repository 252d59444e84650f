/**
 * The distribution as an artifact: its digest (what `--expect-sha256` and the session tag carry)
 * and its identity in Attini's records (`distributionName` and `distributionId` in its
 * attini-config), which the verified promotion gate looks up upstream.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { load as parseYaml } from "js-yaml";
import type { ZipFile } from "yauzl";
import { DriverError, Exit, usage } from "./errors";

/** Where attini writes its own package inside a folder distribution; it deletes it before each packaging. */
export const ATTINI_OUTPUT_DIR = "attini_dist";

/** The names Attini reads its configuration from, at the root of a distribution (exactly one of them). */
export const ATTINI_CONFIG_FILES = ["attini-config.yaml", "attini-config.yml", "attini-config.json"] as const;

/** The largest attini-config read; a bigger one is refused rather than inflated. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * sha256 of a .zip (its bytes) or of a folder (its sorted relative paths and file digests,
 * leaving out .git, node_modules and attini's own output folder, attini_dist/).
 */
export function distributionDigest(p: string): string {
    const st = fs.statSync(p);
    if (st.isFile()) return createHash("sha256").update(fs.readFileSync(p)).digest("hex");
    const h = createHash("sha256");
    const walk = (dir: string, rel: string) => {
        for (const ent of fs
            .readdirSync(dir, { withFileTypes: true })
            .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
            if (ent.name === ".git" || ent.name === "node_modules" || (rel === "" && ent.name === ATTINI_OUTPUT_DIR))
                continue;
            const full = path.join(dir, ent.name);
            const r = rel ? `${rel}/${ent.name}` : ent.name;
            if (ent.isDirectory()) walk(full, r);
            else if (ent.isFile())
                h.update(`${r}\0${createHash("sha256").update(fs.readFileSync(full)).digest("hex")}\n`);
        }
    };
    walk(p, "");
    return h.digest("hex");
}

/** Refuses any artifact but the expected one, before any AWS call. */
export function checkDigest(distribution: string, digest: string, expected: string | undefined): void {
    if (expected === undefined) return;
    if (!/^[0-9a-f]{64}$/i.test(expected))
        throw usage(`--expect-sha256 ${JSON.stringify(expected)}: expected 64 hex characters`);
    if (!fs.statSync(distribution).isFile())
        throw usage(`--expect-sha256 needs a packaged .zip distribution; ${distribution} is a folder`);
    if (digest !== expected.toLowerCase()) {
        throw new DriverError(
            Exit.REFUSED,
            `${path.basename(distribution)} has sha256 ${digest}, not the expected ${expected.toLowerCase()} (--expect-sha256): refusing to deploy a different artifact than the one promoted.`,
        );
    }
}

/** What a distribution's attini-config says about its identity. */
export interface AttiniConfigIdentity {
    /** The config file's name (attini-config.yaml, .yml or .json). */
    file: string;
    distributionName?: string;
    /** The id Attini records with each deployment; absent when the config sets none (Attini then makes one up per upload). */
    distributionId?: string;
}

/** A distribution whose attini-config cannot be read: what is wrong, for the user. */
export class ArtifactError extends Error {}

/**
 * Reads the attini-config at the root of a folder or a .zip distribution, as Attini's backend
 * does: exactly one of attini-config.yaml/.yml/.json, whose distributionName and distributionId
 * are strings.
 */
export async function readAttiniConfig(distribution: string): Promise<AttiniConfigIdentity> {
    const found: { file: string; text: () => Promise<string> }[] = [];
    if (fs.statSync(distribution).isDirectory()) {
        for (const file of ATTINI_CONFIG_FILES) {
            const full = path.join(distribution, file);
            if (fs.existsSync(full))
                found.push({
                    file,
                    text: async () => boundedText(file, fs.statSync(full).size, () => fs.readFileSync(full)),
                });
        }
    } else {
        // Loaded here, not at start-up: only a promoted .zip needs it.
        const yauzl = await import("yauzl");
        let zip: ZipFile;
        try {
            zip = await yauzl.openPromise(distribution, { lazyEntries: true, autoClose: false });
        } catch (e) {
            throw new ArtifactError(`${path.basename(distribution)} is not a readable .zip (${(e as Error).message})`);
        }
        try {
            for await (const entry of zip.eachEntry()) {
                if (!(ATTINI_CONFIG_FILES as readonly string[]).includes(entry.fileName)) continue;
                const text = await boundedText(entry.fileName, entry.uncompressedSize, async () => {
                    const chunks: Buffer[] = [];
                    for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
                    return Buffer.concat(chunks);
                });
                found.push({ file: entry.fileName, text: async () => text });
            }
        } catch (e) {
            if (e instanceof ArtifactError) throw e;
            throw new ArtifactError(`${path.basename(distribution)} is not a readable .zip (${(e as Error).message})`);
        } finally {
            zip.close();
        }
    }
    if (found.length === 0)
        throw new ArtifactError(`${path.basename(distribution)} has no attini-config.yaml, .yml or .json at its root`);
    if (found.length > 1)
        throw new ArtifactError(
            `${path.basename(distribution)} has ${found.map((f) => f.file).join(" and ")}; Attini refuses more than one attini-config`,
        );
    const { file } = found[0];
    let parsed: unknown;
    try {
        const text = await found[0].text();
        parsed = file.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
    } catch (e) {
        throw new ArtifactError(
            `${file} in ${path.basename(distribution)} cannot be parsed: ${(e as Error).message.split("\n")[0]}`,
        );
    }
    const config = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
    const text = (k: string) => (typeof config[k] === "string" && config[k] !== "" ? (config[k] as string) : undefined);
    return { file, distributionName: text("distributionName"), distributionId: text("distributionId") };
}

/** The file's text, unless it is larger than any attini-config should be. */
async function boundedText(file: string, size: number, read: () => Buffer | Promise<Buffer>): Promise<string> {
    if (size > MAX_CONFIG_BYTES)
        throw new ArtifactError(
            `${file} is ${size} bytes; an attini-config over ${MAX_CONFIG_BYTES} bytes is not read`,
        );
    const bytes = await read();
    if (bytes.length > MAX_CONFIG_BYTES) throw new ArtifactError(`${file} is over ${MAX_CONFIG_BYTES} bytes; not read`);
    return bytes.toString("utf8");
}
