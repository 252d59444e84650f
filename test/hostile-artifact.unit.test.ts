// Hostile distributions (automation/attiniConfig.ts). A .zip built to stall the driver while it looks
// for the attini-config (readAttiniConfig reads every entry of the central directory): the scan
// is bounded by the number of entries the zip declares, refused before any entry is read, and by
// a deadline. The zips are written here, byte by byte (stored, empty entries; ZIP64 past 65,535
// entries), so that a zip of 100,001 entries takes a fraction of a second to make.
// And a distributionId read as Attini reads it (Jackson: scalars as the text written, a plain
// scalar typed as null, boolean or number), so that an unquoted 20261127 or 2026-11-27 is that id,
// and what Attini would not read as written is reported (idProblem) instead of passing as "no id".
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import test from "ava";
import { ArtifactError, readAttiniConfig, ZIP_SCAN_LIMITS } from "../automation/attiniConfig";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-hostile-zip-"));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

/**
 * Writes a stored (uncompressed) .zip of `entries` (name → text), with ZIP64 end records when
 * there are more than 65,535 of them, as yauzl and every zip tool read it.
 */
function writeStoredZip(entries: [string, string][]): string {
    const locals: Buffer[] = [];
    const centrals: Buffer[] = [];
    let offset = 0;
    for (const [name, text] of entries) {
        const nameBytes = Buffer.from(name);
        const data = Buffer.from(text);
        const crc = zlib.crc32(data);
        const local = Buffer.alloc(30);
        local.writeUInt32LE(0x04034b50, 0);
        local.writeUInt16LE(20, 4); // version needed
        local.writeUInt16LE(0x21, 12); // date: 1980-01-01
        local.writeUInt32LE(crc, 14);
        local.writeUInt32LE(data.length, 18);
        local.writeUInt32LE(data.length, 22);
        local.writeUInt16LE(nameBytes.length, 26);
        const central = Buffer.alloc(46);
        central.writeUInt32LE(0x02014b50, 0);
        central.writeUInt16LE(20, 4); // version made by
        central.writeUInt16LE(20, 6); // version needed
        central.writeUInt16LE(0x21, 14);
        central.writeUInt32LE(crc, 16);
        central.writeUInt32LE(data.length, 20);
        central.writeUInt32LE(data.length, 24);
        central.writeUInt16LE(nameBytes.length, 28);
        central.writeUInt32LE(offset, 42);
        locals.push(local, nameBytes, data);
        centrals.push(central, nameBytes);
        offset += local.length + nameBytes.length + data.length;
    }
    const cdOffset = offset;
    const cdSize = centrals.reduce((s, b) => s + b.length, 0);
    const count = entries.length;
    const tail: Buffer[] = [];
    if (count > 0xffff) {
        const zip64 = Buffer.alloc(56);
        zip64.writeUInt32LE(0x06064b50, 0);
        zip64.writeBigUInt64LE(44n, 4); // the size of the rest of this record
        zip64.writeUInt16LE(45, 12);
        zip64.writeUInt16LE(45, 14);
        zip64.writeBigUInt64LE(BigInt(count), 24);
        zip64.writeBigUInt64LE(BigInt(count), 32);
        zip64.writeBigUInt64LE(BigInt(cdSize), 40);
        zip64.writeBigUInt64LE(BigInt(cdOffset), 48);
        const locator = Buffer.alloc(20);
        locator.writeUInt32LE(0x07064b50, 0);
        locator.writeBigUInt64LE(BigInt(cdOffset + cdSize), 8);
        locator.writeUInt32LE(1, 16); // one disk
        tail.push(zip64, locator);
    }
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(Math.min(count, 0xffff), 8);
    eocd.writeUInt16LE(Math.min(count, 0xffff), 10);
    eocd.writeUInt32LE(cdSize, 12);
    eocd.writeUInt32LE(cdOffset, 16);
    const file = path.join(dir, `d${n++}.zip`);
    fs.writeFileSync(file, Buffer.concat([...locals, ...centrals, ...tail, eocd]));
    return file;
}

const CONFIG: [string, string] = ["attini-config.yaml", "distributionName: platform\ndistributionId: b42\n"];
/** `count` entries: the attini-config first, then empty files. */
const entries = (count: number): [string, string][] => [
    CONFIG,
    ...Array.from({ length: count - 1 }, (_, i): [string, string] => [`lib/f${i}`, ""]),
];

test("a .zip that declares more entries than the limit is refused at once, from its count, before any entry is read", async (t) => {
    const max = ZIP_SCAN_LIMITS.maxEntries;
    t.is(max, 100_000);
    const file = writeStoredZip(entries(max + 1));
    const e = await t.throwsAsync(readAttiniConfig(file), { instanceOf: ArtifactError });
    t.is(
        e!.message,
        `${path.basename(file)} has ${max + 1} entries; a distribution of more than ${max} is not scanned for its attini-config. Package the distribution without what it does not deploy (node_modules, build output).`,
    );
    // Its attini-config is the first entry: only the count could have refused it.
    t.deepEqual(await readAttiniConfig(file, { maxEntries: max + 1, scanMs: 60_000 }), {
        file: "attini-config.yaml",
        distributionName: "platform",
        distributionId: "b42",
    });
});

test("the entry limit is inclusive: a zip of exactly the limit is read", async (t) => {
    const file = writeStoredZip(entries(4));
    t.like(await readAttiniConfig(file, { maxEntries: 4, scanMs: 60_000 }), { distributionId: "b42" });
    await t.throwsAsync(readAttiniConfig(file, { maxEntries: 3, scanMs: 60_000 }), {
        instanceOf: ArtifactError,
        message: /has 4 entries; a distribution of more than 3 is not scanned/,
    });
});

test("a scan that runs past its deadline is refused, saying so", async (t) => {
    const file = writeStoredZip(entries(10));
    // A deadline that has passed before the first entry: refused whatever the machine's speed.
    await t.throwsAsync(readAttiniConfig(file, { maxEntries: 100_000, scanMs: 0 }), {
        instanceOf: ArtifactError,
        message: new RegExp(
            `^${path.basename(file).replace(".", "\\.")} could not be scanned for its attini-config within 0s \\(10 entries\\)`,
        ),
    });
});

/** The identity readAttiniConfig reads from an attini-config with this text. */
async function identity(file: string, text: string) {
    return readAttiniConfig(writeStoredZip([[file, text]]));
}
const yamlId = (value: string) =>
    identity("attini-config.yaml", `distributionName: platform\ndistributionId: ${value}\n`);
const jsonId = (value: string) =>
    identity("attini-config.json", `{"distributionName": "platform", "distributionId": ${value}}`);

test("an unquoted number, an unquoted date and a quoted id are the text written, as Attini reads them", async (t) => {
    t.deepEqual(await yamlId("20261127"), {
        file: "attini-config.yaml",
        distributionName: "platform",
        distributionId: "20261127",
    });
    t.like(await yamlId("2026-11-27"), { distributionId: "2026-11-27", idProblem: undefined });
    t.like(await yamlId('"20261127"'), { distributionId: "20261127", idProblem: undefined });
    t.like(await yamlId("'007'"), { distributionId: "007", idProblem: undefined });
    t.like(await yamlId("build-2026.11.27"), { distributionId: "build-2026.11.27" });
    t.like(await yamlId("0"), { distributionId: "0" });
    t.like(await yamlId("-5"), { distributionId: "-5" });
    // The name too: unquoted, as written.
    t.like(await identity("attini-config.yml", "distributionName: platform2026\ndistributionId: b1\n"), {
        distributionName: "platform2026",
    });
});

test("a JSON number id is its JSON text; an object, list, boolean or null id is unreadable", async (t) => {
    t.deepEqual(await jsonId("20261127"), {
        file: "attini-config.json",
        distributionName: "platform",
        distributionId: "20261127",
    });
    t.like(await jsonId('"b42"'), { distributionId: "b42", idProblem: undefined });
    for (const [value, problem] of [
        ['{"a": 1}', /^distributionId is a mapping, not text: Attini refuses it\. Set it to a string\.$/],
        ["[1]", /^distributionId is a list, not text/],
        ["true", /^distributionId is a boolean \(true\), not an id/],
        ["null", /^distributionId is empty or null, which Attini reads as the text "null"/],
        // Jackson writes these as 1.5, 1000.0 and 0: not the text written.
        [
            "1.50",
            /^distributionId 1\.50 is a JSON number that Attini may not keep as written\. Write it as a JSON string\.$/,
        ],
        ["1e3", /^distributionId 1e3 is a JSON number/],
        ["-0", /^distributionId -0 is a JSON number/],
        ["12345678901234567890", /^distributionId 12345678901234567890 is a JSON number/],
    ] as const) {
        const read = await jsonId(value);
        t.is(read.distributionId, undefined, value);
        t.regex(read.idProblem ?? "", problem, value);
    }
});

test("a YAML mapping, list, null, boolean or non-canonical number id is reported (idProblem), not read as no id", async (t) => {
    for (const [value, problem] of [
        ["{build: 42}", /^distributionId is a mapping, not text: Attini refuses it/],
        ["[42]", /^distributionId is a list, not text/],
        [
            "",
            /^distributionId is empty or null, which Attini reads as the text "null"\. Set it to an id, or remove it\.$/,
        ],
        ["~", /^distributionId is empty or null/],
        ["null", /^distributionId is empty or null/],
        ["NULL", /^distributionId is empty or null/],
        // Jackson reads these as the booleans true and false.
        [
            "yes",
            /^distributionId yes is a boolean in YAML, which Attini does not read as the text written\. Quote it: distributionId: "yes"\.$/,
        ],
        ["off", /^distributionId off is a boolean in YAML/],
        ["True", /^distributionId True is a boolean in YAML/],
        // Jackson reads these as 31, 7, 1000, 5 (or cannot read the float at all).
        [
            "0x1F",
            /^distributionId 0x1F is a number in YAML, which Attini does not read as the text written\. Quote it: distributionId: "0x1F"\.$/,
        ],
        ["007", /^distributionId 007 is a number in YAML/],
        ["1_000", /^distributionId 1_000 is a number in YAML/],
        ["+5", /^distributionId \+5 is a number in YAML/],
        ["1.50", /^distributionId 1\.50 is a number in YAML/],
        ["1e3", /^distributionId 1e3 is a number in YAML/],
        ["12345678901234567890", /^distributionId 12345678901234567890 is a number in YAML/],
    ] as const) {
        const read = await yamlId(value);
        t.is(read.distributionId, undefined, JSON.stringify(value));
        t.regex(read.idProblem ?? "", problem, JSON.stringify(value));
    }
});

test("an empty or blank id, or none, is no id, as Attini has it (it makes one up per upload), and no problem", async (t) => {
    for (const value of ['""', "''", '"   "']) {
        const read = await yamlId(value);
        t.is(read.distributionId, undefined, value);
        t.false("idProblem" in read, value);
    }
    t.deepEqual(await identity("attini-config.yaml", "distributionName: platform\n"), {
        file: "attini-config.yaml",
        distributionName: "platform",
        distributionId: undefined,
    });
    t.like(await jsonId('""'), { distributionId: undefined, idProblem: undefined });
});
