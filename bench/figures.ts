/**
 * What the benches share: the median they report, and writing their figures between a bench's
 * markers in docs/performance.md (`--readme`), so that each bench says only what its figures are.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../test/support/tools";

/** The median of the runs (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Replaces what stands between `<!-- <marker>:start -->` and `<!-- <marker>:end -->` in docs/performance.md. */
export function writeFigures(marker: string, lines: readonly string[]): void {
    const file = path.join(ROOT, "docs", "performance.md");
    const text = fs.readFileSync(file, "utf8");
    const marked = new RegExp(`<!-- ${marker}:start -->[\\s\\S]*<!-- ${marker}:end -->`);
    if (!marked.test(text)) throw new Error(`${file} has no ${marker} markers`);
    const block = [`<!-- ${marker}:start -->`, ...lines, `<!-- ${marker}:end -->`].join("\n");
    fs.writeFileSync(
        file,
        text.replace(marked, () => block),
    );
    console.log(`figures written to ${file}`);
}
