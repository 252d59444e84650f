/**
 * Mermaid's own parser, for the tests: every diagram the summaries make is parsed by the
 * `mermaid` package (its flowchart grammar, the one GitHub renders with), so a syntax error fails
 * the test. Under Node, Mermaid's DOMPurify needs a window: jsdom gives it one, set before Mermaid
 * loads. Offline, in-process.
 */

type Mermaid = { parse(text: string): Promise<{ diagramType: string } | false> };

let loaded: Promise<Mermaid> | undefined;

function mermaid(): Promise<Mermaid> {
    loaded ??= (async () => {
        // jsdom ships no types; only its JSDOM window is used, as Mermaid's global window.
        const { JSDOM } = require("jsdom") as { JSDOM: new (html: string) => { window: { document: unknown } } };
        const { window } = new JSDOM("<!DOCTYPE html><body></body>");
        Object.assign(globalThis, { window, document: window.document });
        const m = (await import("mermaid")) as unknown as { default: Mermaid };
        return m.default;
    })();
    return loaded;
}

/** Parses `text` with Mermaid's parser; its diagram type, or throws Mermaid's syntax error. */
export async function parseMermaid(text: string): Promise<string> {
    const r = await (await mermaid()).parse(text);
    if (r === false) throw new Error("mermaid.parse returned false");
    return r.diagramType;
}

/** The ```mermaid blocks of a Markdown text. */
export function mermaidBlocks(markdown: string): string[] {
    return [...markdown.matchAll(/^```mermaid\n([\s\S]*?)\n```$/gm)].map((m) => m[1]);
}
