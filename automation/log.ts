/**
 * The driver's diagnostics: one prefixed line at a time on stderr, with every registered secret
 * (source and temporary credentials, the ExternalId) replaced before it is written.
 */
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

    info(line: string): void {
        this.write(this.redactor.scrub(`attini-gitops: ${line}\n`));
    }
}
