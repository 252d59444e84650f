// Hostile distributions (automation/artifact.ts): a .zip built to stall the driver while it looks
// for the attini-config (readAttiniConfig reads every entry of the central directory). The scan
// is bounded by the number of entries the zip declares, refused before any entry is read, and by
// a deadline. The zips are written here, byte by byte (stored, empty entries; ZIP64 past 65,535
// entries), so that a zip of 100,001 entries takes a fraction of a second to make.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import test from "ava";
import { ArtifactError, readAttiniConfig, ZIP_SCAN_LIMITS } from "../automation/artifact";

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
