/** Real .zip files for tests, written by Python's zipfile (apart from the driver's own zip reader). */
import { execFileSync } from "node:child_process";

/** Writes `entries` (name → text) into a new .zip at `file`. */
export function writeZip(file: string, entries: Record<string, string>): string {
    execFileSync(
        "python3",
        [
            "-c",
            "import json,sys,zipfile\nwith zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED) as z:\n  [z.writestr(k,v) for k,v in json.loads(sys.stdin.read()).items()]",
            file,
        ],
        { input: JSON.stringify(entries) },
    );
    return file;
}
