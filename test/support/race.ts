/**
 * Two CI pipelines of one environment, for the ledger's end-to-end tests (ledger.test.ts): a git
 * world whose dev branch has commit A and its descendant B, each with a distributionId of its own
 * in the distribution's attini-config (so what landed in the bucket, and what the ledger recorded,
 * say which commit it was), and a CI checkout at each, as a pipeline for that push checks it out
 * (every branch fetched, HEAD detached at the pushed commit). Plus a gate, to hold a deployment of
 * the stand-in backend open until the test has seen what it waits for.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ExecutionContext } from "ava";
import { GitWorld } from "./gitWorld";
import { git } from "./project";

export interface Pipeline {
    commit: string;
    /** The distributionId its content carries. */
    content: string;
    /** Its CI checkout. */
    ci: string;
}

/** Commits A then B (its child) on dev, pushed; a CI checkout of each. */
export function twoPipelines(t: ExecutionContext): { a: Pipeline; b: Pipeline } {
    const w = new GitWorld(t);
    const push = (content: string) => {
        git(w.dev, "checkout", "-q", "dev");
        fs.writeFileSync(
            path.join(w.dev, "distribution", "platform", "attini-config.yaml"),
            `distributionName: platform\ndistributionId: ${content}\n`,
        );
        git(w.dev, "commit", "-q", "-am", `platform ${content}`);
        git(w.dev, "push", "-q", "origin", "dev");
        return git(w.dev, "rev-parse", "HEAD");
    };
    const a = push("content-a");
    const b = push("content-b");
    const checkout = (commit: string) => {
        const ci = w.ci("dev");
        git(ci, "checkout", "-q", "--detach", commit);
        return ci;
    };
    return {
        a: { commit: a, content: "content-a", ci: checkout(a) },
        b: { commit: b, content: "content-b", ci: checkout(b) },
    };
}

/** A promise the test resolves when it chooses: `open()`. */
export function gate(): { closed: Promise<void>; open(): void } {
    let open!: () => void;
    const closed = new Promise<void>((r) => (open = r));
    return { closed, open };
}
