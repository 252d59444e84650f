/**
 * deploy's local preflight: every check that needs no AWS call and no backend, run before any of
 * them, so that a mistake in the command line, the distribution or the clone is a usage error
 * (exit 2) or a gate's refusal (exit 7), never a half-done deploy. In order: attini's command line,
 * the distribution, the session length, GitHub OIDC, the ExternalId, the session name, the attini
 * executable, the artifact's digest, and the git promotion gate.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { StackConfig } from "../lib/config/types";
import { checkDigest, distributionDigest } from "./artifact";
import { attiniArgs, findAttini } from "./attini";
import { type AttiniConfigIdentity, readAttiniConfig } from "./attiniConfig";
import type { Checked, PreflightOptions, Target } from "./deployTypes";
import { usage } from "./errors";
import { repositoryPathspec } from "./git";
import { applyPromotionGate } from "./gitGate";
import { privateCopy } from "./privateCopy";
import { requireExternalId } from "./roleSession";
import type { Services } from "./services";
import { cleanSessionName, defaultSessionName } from "./session";

/** Shell-quotes one argument for display only (attini is never run through a shell). */
export function shellQuote(a: string): string {
    return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** The distribution must be a folder or a file (a .zip); a FIFO, socket or device is refused. */
function checkDistribution(given: string, resolved: string): "folder" | "zip" {
    let st: fs.Stats;
    try {
        st = fs.statSync(resolved);
    } catch {
        throw usage(
            `distribution path ${given} does not exist (resolved: ${resolved}). Pass the folder or .zip that \`attini deploy run\` should deploy.`,
        );
    }
    if (st.isDirectory()) return "folder";
    if (st.isFile()) return "zip";
    throw usage(
        `distribution path ${given} is neither a folder nor a file (a FIFO, socket or device?). Pass the folder or .zip that \`attini deploy run\` should deploy.`,
    );
}

/** The session options: the length the role allows, OIDC the stack trusts, and the ExternalId it requires. */
function checkSession(o: PreflightOptions, stack: StackConfig): void {
    if (o.durationSeconds < 900 || o.durationSeconds > stack.maxSessionDuration) {
        throw usage(
            `--duration ${o.durationSeconds}: must be between 900 and the role's maxSessionDuration (${stack.maxSessionDuration}) seconds`,
        );
    }
    if (o.githubOidc && !stack.githubOidc) {
        throw usage(
            `--github-oidc: stack ${stack.stack} does not trust GitHub Actions OIDC. Set githubRepository in Pulumi.${stack.stack}.yaml and run pulumi up.`,
        );
    }
    // A dry run assumes nothing, so it needs no ExternalId.
    if (!o.dryRun) requireExternalId("deploy role", stack, o.externalId, o.githubOidc);
}

/** The STS session name: --session-name cleaned to STS's rules (saying so when it changed), or the default. */
function sessionNameOf(o: PreflightOptions, distribution: string, s: Services): string {
    const sessionName =
        o.sessionName !== undefined ? cleanSessionName(o.sessionName) : defaultSessionName(distribution);
    if (o.sessionName !== undefined && sessionName !== o.sessionName) {
        s.log.info(
            `--session-name ${JSON.stringify(o.sessionName)} does not fit STS's rules (2-64 characters of letters, digits and +=,.@_-); using ${sessionName}`,
        );
    }
    return sessionName;
}

/**
 * Whether a symbolic link lies between the project folder and the distribution: then the path
 * attini reads and the path git compares are not the same folder. A link above the project folder
 * (a CI workspace on a linked disk, say) does not count.
 */
function throughSymlink(projectDir: string, distribution: string): boolean {
    const real = fs.realpathSync(projectDir);
    const asGiven = path.join(real, path.relative(path.resolve(projectDir), path.resolve(distribution)));
    return fs.realpathSync(distribution) !== asGiven;
}

/** The checks after the session's: the artifact's digest (of the private copy for a .zip) and the git gate. */
function checkArtifact(
    o: PreflightOptions,
    t: Target,
    s: Services,
    given: { distribution: string; kind: "folder" | "zip" },
): Pick<Checked, "distribution" | "sha256" | "gate"> {
    const { stack, upstream } = t;
    const { distribution, kind } = given;
    const sha256 = distributionDigest(distribution);
    checkDigest(distribution, sha256, o.expectSha256);
    const gate = upstream
        ? applyPromotionGate({
              git: t.git,
              remote: o.remote,
              stack,
              upstream,
              distribution:
                  kind === "folder"
                      ? {
                            kind,
                            pathspec: repositoryPathspec(t.git, t.projectDir, distribution),
                            throughSymlink: throughSymlink(t.projectDir, distribution),
                        }
                      : { kind },
              skip: o.skipPromotionCheck,
              log: (l) => s.log.info(l),
          })
        : undefined;
    return { distribution, sha256, gate };
}

/**
 * Every local check, in the order of the file's header; throws the first refusal. A .zip is
 * copied first into a folder only this user can read (privateCopy.ts, except in a dry run, which
 * runs nothing): the checks and attini then read the same bytes. `dispose` removes the copy.
 */
export function preflight(o: PreflightOptions, t: Target, s: Services): Checked {
    const { stack } = t;
    // Relative to where the driver runs, as attini (which inherits that directory) will read it.
    const original = path.resolve(o.distributionPath);
    attiniArgs(o.distributionPath, stack.attiniEnvironment, o.extraArgs); // the owned-option checks, first
    const kind = checkDistribution(o.distributionPath, original);
    checkSession(o, stack);
    const sessionName = sessionNameOf(o, original, s);
    const attini = o.dryRun ? undefined : findAttini(o.attiniBin, s.env);
    const copy = kind === "zip" && !o.dryRun ? privateCopy(original) : undefined;
    try {
        const distribution = copy?.file ?? original;
        if (copy) s.log.info(`checking and deploying a private copy of ${o.distributionPath}: ${copy.file}`);
        const checked = checkArtifact(o, t, s, { distribution, kind });
        const command = attiniArgs(copy ? copy.file : o.distributionPath, stack.attiniEnvironment, o.extraArgs);
        const commandLine = ["attini", ...command].map(shellQuote).join(" ");
        let config: Promise<AttiniConfigIdentity> | undefined;
        const attiniConfig = () => {
            config ??= readAttiniConfig(distribution);
            return config;
        };
        return {
            ...checked,
            kind,
            command,
            commandLine,
            sessionName,
            attini,
            attiniConfig,
            dispose: () => copy?.dispose(),
        };
    } catch (e) {
        copy?.dispose();
        throw e;
    }
}
