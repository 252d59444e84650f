/**
 * The building blocks of the Markdown summaries (statusMarkdown.ts, deploySummary.ts): strict
 * escapers for the two places where text from people (commit subjects, branch names, ids, Attini's
 * messages) ends up, a Mermaid label and a Markdown table cell, and the table itself. Such text
 * must not break the diagram or the table, start a link, an image, HTML or a mention, or carry a
 * terminal escape into a CI log: every escaper here takes any string and yields text that renders
 * as exactly what it says (made printable, on one line, capped in length). Pure functions.
 */
import { printable } from "./log";

/** The ellipsis that ends a capped text. */
const ELLIPSIS = "…";

/**
 * The text on one line, printable (log.ts: control characters as \uXXXX), at most `max`
 * characters (code points, so a capped text never ends in half a surrogate pair), ending in an
 * ellipsis when it was longer.
 */
export function oneLine(text: string, max: number): string {
    const flat = printable(text).replace(/[\n\t]+/g, " ");
    const chars = Array.from(flat);
    return chars.length <= max ? flat : `${chars.slice(0, Math.max(0, max - 1)).join("")}${ELLIPSIS}`;
}

/**
 * Text for inside a Mermaid label written as `"..."`: everything but letters, digits, spaces and
 * `.,:-_/` becomes a Mermaid entity code (`#quot;`, `#35;`...), which Mermaid turns back into the
 * character as text, never as markup. So no quote can end the label, no `|`, bracket or `-->` can
 * start syntax, no backtick can make it a Markdown string, no `<` can open HTML, and no fence of
 * the Markdown around the diagram can close.
 */
export function mermaidText(text: string, max = 80): string {
    return oneLine(text, max).replace(/[^A-Za-z0-9 .,:()'+=?!\-_/\u00a0-\uffff]/g, (c) => `#${c.charCodeAt(0)};`);
}

/**
 * A Mermaid label: lines joined with `<br/>`, each already escaped by mermaidText (or made of
 * fixed words). The only markup in a label is the line break this adds.
 */
export function mermaidLabel(lines: readonly string[]): string {
    return `"${lines.join("<br/>")}"`;
}

/** Characters that Markdown (CommonMark, GFM tables, GitHub's math) gives a meaning anywhere in a line; each is written with a backslash. */
const MARKDOWN_PUNCTUATION = /[\\`*_[\]|~#$]/g;

/**
 * Text for a Markdown table cell or a line of prose: on one line, capped, and inert. Every
 * character with a meaning inside a line is backslash-escaped (`|` cannot split a cell, `` ` ``
 * cannot open code, `[` cannot start a link or image, `*`, `_`, `~` cannot emphasise, `$` cannot
 * start math); `&`, `<`, `>` become HTML entities (no tag, no entity of the author's); `://` and
 * `www.` are broken with a backslash and `@` and `#` are followed by a word joiner, so that no URL,
 * address, mention or issue reference is linked; and a first character that could start a list,
 * quote or heading is escaped.
 */
export function markdownText(text: string, max = 200): string {
    return oneLine(text, max)
        .replace(/&/g, "&amp;")
        .replace(/</g, "&lt;")
        .replace(/>/g, "&gt;")
        .replace(MARKDOWN_PUNCTUATION, (c) => `\\${c}`)
        .replace(/:\/\//g, "\\://")
        .replace(/(www)\./gi, "$1\\.")
        .replace(/[@#]/g, "$&\u2060")
        .replace(/^([-+=]|\d+(?=[.)]))/, (m) => (/^\d/.test(m) ? `${m}\\` : `\\${m}`));
}

/** Inline code for a value made of safe characters only (a sha, an account id); anything else is escaped text. */
export function code(value: string): string {
    return /^[A-Za-z0-9._:/-]{1,200}$/.test(value) ? `\`${value}\`` : markdownText(value);
}

/**
 * A Markdown table; every cell is already escaped (markdownText, code) or fixed text. A cell
 * never holds a raw `|` or line break, so the table keeps its shape.
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
    const line = (cells: readonly string[]) => `| ${cells.map((c) => c || " ").join(" | ")} |`;
    return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** A fenced Mermaid block. The lines inside never hold a backtick (mermaidText encodes it). */
export function mermaidBlock(lines: readonly string[]): string {
    return ["```mermaid", ...lines, "```"].join("\n");
}

/** A link to a CI run, only for a plain http(s) URL from the CI system's own variables; otherwise escaped text. */
export function runLink(url: string | undefined): string | undefined {
    if (url === undefined || url === "") return undefined;
    if (/^https?:\/\/[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._~%/+=-]*)?$/.test(url))
        return `[${markdownText(url)}](${url})`;
    return markdownText(url);
}

/** "1 commit", "2 commits". */
export const plural = (n: number, word: string, words = `${word}s`) => `${n} ${n === 1 ? word : words}`;

/** A duration in ms as "850 ms", "12.3 s", "4 min 5 s". */
export function duration(ms: number): string {
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
    const s = Math.round(ms / 1000);
    return `${Math.floor(s / 60)} min ${s % 60} s`;
}
