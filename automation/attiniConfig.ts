/**
 * A distribution's identity in Attini's records: `distributionName` and `distributionId` in the
 * attini-config at its root (a folder, or a .zip scanned within bounds), read as Attini reads them,
 * which the verified promotion gate looks up upstream.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Readable } from "node:stream";
import { FAILSAFE_SCHEMA, load as parseYaml, Type as YamlType } from "js-yaml";
import type { ZipFile } from "yauzl";

/** The names Attini reads its configuration from, at the root of a distribution (exactly one of them). */
export const ATTINI_CONFIG_FILES = ["attini-config.yaml", "attini-config.yml", "attini-config.json"] as const;

/** The largest attini-config read; a bigger one is refused rather than inflated. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * The bounds of the scan of a .zip for its attini-config, which reads every entry of the central
 * directory: at most `maxEntries` entries (refused at once, from the count the zip declares,
 * before any is read), and at most `scanMs` for the whole scan. 100,000 entries are far more than
 * a distribution holds (its templates, scripts and packaged code) and take well under a second to
 * scan; a zip built to stall the driver is refused either way.
 */
export interface ZipScanLimits {
    maxEntries: number;
    scanMs: number;
}

export const ZIP_SCAN_LIMITS: ZipScanLimits = { maxEntries: 100_000, scanMs: 5_000 };

/** The bytes yauzl asks for at a time are small (46 bytes and a name per entry); the disk is read this much at once. */
const ZIP_BLOCK_BYTES = 1024 * 1024;

/**
 * A yauzl reader of a file that reads ZIP_BLOCK_BYTES at a time and serves yauzl's small reads
 * from the last block: one fs.read per entry made a scan of 200,000 entries take over ten seconds.
 */
function blockReader(yauzl: typeof import("yauzl"), fd: number): import("yauzl").RandomAccessReader {
    class BlockReader extends yauzl.RandomAccessReader {
        private block = Buffer.alloc(0);
        private blockStart = 0;

        /** The bytes [start, end) as a stream; unlike fs.createReadStream, destroying it leaves the fd open (close() closes it). */
        _readStreamForRange(start: number, end: number): Readable {
            let at = start;
            return new Readable({
                read(size) {
                    const length = Math.min(size, end - at);
                    if (length <= 0) return void this.push(null);
                    fs.read(fd, Buffer.alloc(length), 0, length, at, (err, bytesRead, bytes) => {
                        if (err) return void this.destroy(err);
                        at += bytesRead;
                        // At the end of the file, yauzl's own byte count reports the short entry.
                        this.push(bytesRead === 0 ? null : bytes.subarray(0, bytesRead));
                    });
                },
            });
        }

        read(
            buffer: Buffer,
            offset: number,
            length: number,
            position: number,
            callback: (err: Error | null, bytesRead?: number) => void,
        ): void {
            // From a block given as it is now: a read started later may replace this.block meanwhile.
            const serve = (block: Buffer, blockStart: number) => {
                const from = position - blockStart;
                const n = Math.max(0, Math.min(length, block.length - from));
                block.copy(buffer, offset, from, from + n);
                callback(null, n);
            };
            const { block, blockStart } = this;
            if (position >= blockStart && position + length <= blockStart + block.length)
                return void setImmediate(() => serve(block, blockStart));
            const fresh = Buffer.alloc(Math.max(length, ZIP_BLOCK_BYTES));
            fs.read(fd, fresh, 0, fresh.length, position, (err, bytesRead) => {
                if (err) return callback(err);
                this.block = fresh.subarray(0, bytesRead);
                this.blockStart = position;
                serve(this.block, position);
            });
        }

        close(callback: (err: Error | null) => void): void {
            fs.close(fd, callback);
        }
    }
    return new BlockReader();
}

/** What a distribution's attini-config says about its identity. */
export interface AttiniConfigIdentity {
    /** The config file's name (attini-config.yaml, .yml or .json). */
    file: string;
    distributionName?: string;
    /**
     * The id Attini records with each deployment, as Attini reads it: the text as written. Absent
     * when the config sets none, or a blank one (Attini then makes one up per upload), and when
     * idProblem is set.
     */
    distributionId?: string;
    /**
     * Set when the config has a distributionId that cannot be read as text the way Attini reads it:
     * a mapping or a list, null or an empty value (which Attini reads as the text "null"), a
     * boolean, or a number that Attini would not keep as written (0x1F, 007, 1.50, 1e3). It says
     * what is wrong and how to fix it (quote the id), so that the caller can report the id as
     * unverified rather than as absent.
     */
    idProblem?: string;
}

/**
 * A plain (unquoted) YAML scalar, as written. Attini reads its attini-config with Jackson, whose
 * YAML reader types plain scalars (null, booleans, numbers) while quoted ones are always text, so
 * the reader below keeps that difference: a plain scalar is a String object, a quoted one a string.
 */
const PLAIN_SCALAR = new YamlType("tag:attini-gitops,2026:plain", {
    kind: "scalar",
    resolve: () => true,
    construct: (text: string) => new String(text),
});

/** Every scalar as the text written: FAILSAFE_SCHEMA (no nulls, booleans, numbers, dates), plain ones marked. */
const AS_WRITTEN = FAILSAFE_SCHEMA.extend({ implicit: [PLAIN_SCALAR] });

/** Plain scalars that Jackson's YAML reader takes for null or a boolean (checked against the Jackson in the Attini CLI 2.6.0). */
const YAML_NULL = /^(?:~|null|Null|NULL)$/;
const YAML_BOOL = /^(?:true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$/;
/** Plain scalars that YAML 1.1 readers (Jackson's included) may take for a number: ints in any base, with _, and floats. */
const YAML_NUMBER =
    /^[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*|(?:\.[0-9]+|[0-9_]+(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|\.(?:inf|Inf|INF))$|^\.(?:nan|NaN|NAN)$/;
/** A number written as its own canonical decimal text, which every reader keeps as written (within the safe integers). */
const CANONICAL_INTEGER = /^(?:0|-?[1-9][0-9]*)$/;

/** A JSON number, with its text as written when this Node.js gives it (JSON.parse source text, Node 21+). */
class JsonNumber {
    constructor(readonly source: string | undefined) {}
}

/** A config value read as Attini reads it: its text, nothing (absent or blank), or why it cannot be read as text. */
function attiniText(key: string, value: unknown): { text?: string; problem?: string } {
    const quoteIt = (written: string, what: string) => ({
        problem: `${key} ${written} is ${what}, which Attini does not read as the text written. Quote it: ${key}: "${written}".`,
    });
    let text: string;
    if (value === undefined) return {};
    if (value === null || (value instanceof String && YAML_NULL.test(String(value))))
        return {
            problem: `${key} is empty or null, which Attini reads as the text "null". Set it to an id, or remove it.`,
        };
    if (typeof value === "string") text = value;
    else if (value instanceof String) {
        text = String(value);
        if (YAML_BOOL.test(text)) return quoteIt(text, "a boolean in YAML");
        if (YAML_NUMBER.test(text) && !(CANONICAL_INTEGER.test(text) && Number.isSafeInteger(Number(text))))
            return quoteIt(text, "a number in YAML");
    } else if (value instanceof JsonNumber) {
        const source = value.source;
        if (source === undefined || !CANONICAL_INTEGER.test(source) || !Number.isSafeInteger(Number(source)))
            return {
                problem: `${key} ${source ?? "(a number)"} is a JSON number that Attini may not keep as written. Write it as a JSON string.`,
            };
        text = source;
    } else if (typeof value === "boolean")
        return { problem: `${key} is a boolean (${value}), not an id. Write it as a string.` };
    else
        return {
            problem: `${key} is a ${Array.isArray(value) ? "list" : "mapping"}, not text: Attini refuses it. Set it to a string.`,
        };
    // Attini leaves out a blank value, as if it were not there.
    return text.trim() === "" ? {} : { text };
}

/** A distribution whose attini-config cannot be read: what is wrong, for the user. */
export class ArtifactError extends Error {}

/**
 * Reads the attini-config at the root of a folder or a .zip distribution, as Attini's backend
 * does: exactly one of attini-config.yaml/.yml/.json, whose distributionName and distributionId
 * are strings. A .zip's scan is bounded by `limits`.
 */
export async function readAttiniConfig(
    distribution: string,
    limits: ZipScanLimits = ZIP_SCAN_LIMITS,
): Promise<AttiniConfigIdentity> {
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
        const name = path.basename(distribution);
        const deadline = Date.now() + limits.scanMs;
        let zip: ZipFile;
        let fd: number | undefined;
        try {
            fd = fs.openSync(distribution, "r");
            zip = await yauzl.fromRandomAccessReaderPromise(blockReader(yauzl, fd), fs.fstatSync(fd).size, {
                lazyEntries: true,
                autoClose: false,
            });
        } catch (e) {
            if (fd !== undefined) fs.closeSync(fd);
            throw new ArtifactError(`${name} is not a readable .zip (${(e as Error).message})`);
        }
        try {
            if (zip.entryCount > limits.maxEntries)
                throw new ArtifactError(
                    `${name} has ${zip.entryCount} entries; a distribution of more than ${limits.maxEntries} is not scanned for its attini-config. Package the distribution without what it does not deploy (node_modules, build output).`,
                );
            for await (const entry of zip.eachEntry()) {
                if (Date.now() >= deadline)
                    throw new ArtifactError(
                        `${name} could not be scanned for its attini-config within ${limits.scanMs / 1000}s (${zip.entryCount} entries); is it a distribution? Package it again with attini distribution package.`,
                    );
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
            throw new ArtifactError(`${name} is not a readable .zip (${(e as Error).message})`);
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
        parsed = file.endsWith(".json")
            ? JSON.parse(text, (_key, value, context?: { source?: string }) =>
                  typeof value === "number" ? new JsonNumber(context?.source) : value,
              )
            : parseYaml(text, { schema: AS_WRITTEN });
    } catch (e) {
        throw new ArtifactError(
            `${file} in ${path.basename(distribution)} cannot be parsed: ${(e as Error).message.split("\n")[0]}`,
        );
    }
    const config = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
    const value = (k: string) => (Object.hasOwn(config, k) ? config[k] : undefined);
    const id = attiniText("distributionId", value("distributionId"));
    return {
        file,
        // A name Attini would not read as written is no name here (Attini accepts only [a-zA-Z][-a-zA-Z0-9]*).
        distributionName: attiniText("distributionName", value("distributionName")).text,
        distributionId: id.text,
        ...(id.problem ? { idProblem: id.problem } : {}),
    };
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
