/**
 * One file, checked and deployed: a .zip distribution is copied once into a folder only this user
 * can read, and everything after that (its sha256, --expect-sha256, the verified gate's reading of
 * its attini-config, the session tag, and attini itself) uses the copy. A file swapped at the
 * original path between the checks and attini's read then changes nothing: the summary's sha256
 * is the bytes attini read. The copy is removed however the deploy ends.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { usage } from "./errors";

export interface PrivateCopy {
    /** The copy's path: <private folder>/<the original's name>. */
    file: string;
    /** sha256 of the copy's bytes, computed while copying. */
    sha256: string;
    /** Removes the copy and its folder. */
    dispose: () => void;
}

/** Copies `original` (a regular file) into a new folder of mode 0700, hashing the bytes as they are written. */
export function privateCopy(original: string): PrivateCopy {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-dist-"));
    const dispose = () => fs.rmSync(dir, { recursive: true, force: true });
    try {
        fs.chmodSync(dir, 0o700);
        const file = path.join(dir, path.basename(original));
        const from = fs.openSync(original, "r");
        const to = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
        const hash = createHash("sha256");
        try {
            // Read from the descriptor opened once: what is hashed is what is written.
            if (!fs.fstatSync(from).isFile()) throw usage(`${original} is not a regular file`);
            const buf = Buffer.allocUnsafe(1024 * 1024);
            for (let n = fs.readSync(from, buf); n > 0; n = fs.readSync(from, buf)) {
                hash.update(buf.subarray(0, n));
                for (let off = 0; off < n; ) off += fs.writeSync(to, buf, off, n - off);
            }
        } finally {
            fs.closeSync(from);
            fs.closeSync(to);
        }
        fs.chmodSync(file, 0o400);
        return { file, sha256: hash.digest("hex"), dispose };
    } catch (e) {
        dispose();
        throw e;
    }
}
