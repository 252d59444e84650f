/**
 * The driver's output: diagnostics, one prefixed line at a time on stderr, with every registered
 * secret (source and temporary credentials, the ExternalId) replaced before it is written; and
 * what the commands print on stdout. Both go through printable(): text from git (commit subjects,
 * branch names) and from AWS (Attini's error messages) reaches them, and none of its control
 * characters may reach the terminal or the CI log raw.
 */

/**
 * C0 control characters but \n and \t (ESC among them, which starts every colour, cursor and
 * OSC 8 hyperlink sequence; \r, which rewrites the line), DEL, C1 control characters (\x9b is a
 * one-byte CSI to terminals that honour 8-bit controls), and the Unicode bidirectional overrides
 * and isolates, which reorder how a line reads.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text safe to print: each character UNPRINTABLE names is written as its \uXXXX escape (ESC
 * becomes the six characters `\u001b`), so the sequence shows instead of acting, and the rest is
 * unchanged. \n and \t stay: messages may be several lines. The \uXXXX form is also how JSON
 * escapes a character inside a string, so printing JSON through this keeps its value exactly (and
 * escapes the C1 characters JSON.stringify leaves raw). A literal backslash-u in the text looks the
 * same as an escape; the output is for reading, not for parsing back.
 */
export function printable(text: string): string {
    return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * One field of one line (a run URL, a run id, a digest read back from a ledger): printable(), and
 * its line breaks and tabs escaped too, so that a stored value cannot start a line of its own (a
 * forged "passed", or a CI system's workflow command).
 */
export function printableField(text: string): string {
    return printable(text).replace(/[\n\t]/g, (c) => (c === "\n" ? "\\u000a" : "\\u0009"));
}

/** Writes one line or block of text on stdout (or through `write`), printable: what every command prints. */
export function printer(write: (text: string) => void = (t) => process.stdout.write(t)): (text: string) => void {
    return (text) => write(`${printable(text)}\n`);
}

export class Redactor {
    private readonly secrets = new Set<string>();

    /** Registers values that must never be printed. Short values are ignored (they would mangle text). */
    add(...values: (string | undefined)[]): void {
        for (const v of values) if (v && v.length >= 4) this.secrets.add(v);
    }

    scrub(text: string): string {
        let out = text;
        // Longest first, so that a secret containing another is replaced whole.
        for (const s of [...this.secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join("***");
        return out;
    }
}

export class Logger {
    constructor(
        readonly redactor: Redactor,
        private readonly write: (text: string) => void = (t) => process.stderr.write(t),
    ) {}

    /** Writes `attini-gitops: <line>`, scrubbed of secrets, then made printable. */
    info(line: string): void {
        this.write(`${printable(this.redactor.scrub(`attini-gitops: ${line}`))}\n`);
    }
}
