/**
 * Colour on a terminal, and only there: the demo's headings are bold when their stream is a
 * terminal and NO_COLOR is not set, and plain text otherwise, so that output sent to a file or a
 * CI log carries no escape codes.
 */

/** A stream, or anything that says whether it is a terminal. */
type Stream = NodeJS.WritableStream | { isTTY?: boolean };

/** Whether escape codes may be written to `stream`: a terminal, and no NO_COLOR (https://no-color.org). */
export function colourFor(stream: Stream, env: NodeJS.ProcessEnv = process.env): boolean {
    return (stream as { isTTY?: boolean }).isTTY === true && !env.NO_COLOR;
}

/** A heading line: `== title`, bold only where colourFor allows it. */
export function heading(title: string, stream: Stream, env: NodeJS.ProcessEnv = process.env): string {
    return colourFor(stream, env) ? `\n\x1b[1m== ${title}\x1b[0m\n` : `\n== ${title}\n`;
}
