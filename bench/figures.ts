/**
 * What the benches share: the world they run against (runBench), the median they report, a command's wall time and the peak memory of
 * its process tree (all of it, and without attini's processes), and writing their figures between a bench's markers in docs/performance.md
 * (`--readme`), so that each bench says only what its figures are.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type Backend, fileBackend } from "../test/support/backend";
import { type Moto, startMoto } from "../test/support/moto";
import { type ScratchProject, scratchProject } from "../test/support/project";
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

/** Whether a process is attini (the real one, or the tests' stand-in): its program or script is named `attini`. */
function isAttini(cmdline: string[]): boolean {
    return cmdline.slice(0, 2).some((arg) => path.basename(arg) === "attini");
}

/**
 * Resident memory of a process and all its descendants, in bytes, from /proc: in all, and attini's
 * part (each attini process and everything under it). The rest is the driver's own.
 */
export function treeRss(root: number): { total: number; attini: number } {
    const children = new Map<number, number[]>();
    const rss = new Map<number, number>();
    const attiniPids = new Set<number>();
    for (const name of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(name)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${name}/status`, "utf8"));
            if (isAttini(fs.readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0"))) attiniPids.add(Number(name));
            children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
            rss.set(Number(name), kb ? Number(kb[1]) * 1024 : 0);
        } catch {
            /* gone */
        }
    }
    let total = 0;
    let attini = 0;
    const walk = (pid: number, underAttini: boolean) => {
        const mine = underAttini || attiniPids.has(pid);
        total += rss.get(pid) ?? 0;
        if (mine) attini += rss.get(pid) ?? 0;
        for (const c of children.get(pid) ?? []) walk(c, mine);
    };
    walk(root, false);
    return { total, attini };
}

/** Runs a command to its end; returns its wall time and the peak memory of its process tree. */
export async function measured(
    cmd: string,
    args: string[],
    opts: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ ms: number; peakBytes: number; peakDriverBytes: number; code: number | null }> {
    const t0 = performance.timeOrigin + performance.now();
    const child: ChildProcess = spawn(cmd, args, { ...opts, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d) => {
        stderr += d;
    });
    let peak = 0;
    let peakDriver = 0;
    const sampler = setInterval(() => {
        if (child.pid === undefined) return;
        const { total, attini } = treeRss(child.pid);
        peak = Math.max(peak, total);
        peakDriver = Math.max(peakDriver, total - attini);
    }, 20);
    const code = await new Promise<number | null>((r) => child.on("close", r));
    clearInterval(sampler);
    if (code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${code}: ${stderr}`);
    return { ms: performance.timeOrigin + performance.now() - t0, peakBytes: peak, peakDriverBytes: peakDriver, code };
}

/** What a bench runs against: the emulator, a file backend, a scratch project and a work folder. */
export interface BenchWorld {
    moto: Moto;
    backend: Backend;
    project: ScratchProject;
    work: string;
}

/**
 * Runs a bench against a fresh emulator, file backend, scratch project and work folder, all removed
 * however it ends; a failure is printed and the exit code is 1.
 */
export function runBench(body: (w: BenchWorld) => Promise<void>): void {
    const run = async () => {
        const moto = await startMoto();
        const backend = fileBackend();
        const project = scratchProject();
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "attini-gitops-bench-"));
        try {
            await body({ moto, backend, project, work });
        } finally {
            await moto.stop();
            backend.dispose();
            project.dispose();
            fs.rmSync(work, { recursive: true, force: true });
        }
    };
    run().catch((e) => {
        console.error(e);
        process.exitCode = 1;
    });
}
