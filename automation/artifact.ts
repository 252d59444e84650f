/**
 * The distribution as an artifact: its digest, what `--expect-sha256` and the session tag carry,
 * and where attini writes its own package inside a folder. Its identity in Attini's records is
 * attiniConfig.ts's.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { DriverError, Exit, usage } from "./errors";

/** Where attini writes its own package inside a folder distribution; it deletes it before each packaging. */
export const ATTINI_OUTPUT_DIR = "attini_dist";

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
