#!/usr/bin/env node
/**
 * attini-gitops: the CI driver. Run `attini-gitops --help`. This file only dispatches: each
 * command, with its options and help, is a module in automation/commands/.
 */
// Cache compiled code (Node >= 22.1) so that the Automation API, a large module graph, loads in
// about half the time on every run after the first. The cache holds no data, only bytecode.
// A require() call, because an import would be hoisted above it and load before the cache is on.
(require("node:module") as { enableCompileCache?: () => unknown }).enableCompileCache?.();

import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { buildServerPolicyCommand } from "./commands/buildServerPolicy";
import { type Command, type CommandContext, EXIT_CODES, flag, text, type Values } from "./commands/command";
import { deployCommand } from "./commands/deploy";
import { planCommand } from "./commands/plan";
import { statusCommand } from "./commands/status";
import { validateCommand } from "./commands/validate";
import { DriverError, Exit, usage } from "./errors";
import { Logger, printable, printer, Redactor } from "./log";

/** Every command, in the order the main help lists them. */
export const COMMANDS: Record<string, Command> = {
    deploy: deployCommand,
    plan: planCommand,
    validate: validateCommand,
    "build-server-policy": buildServerPolicyCommand,
    status: statusCommand,
};

const MAIN_HELP = `attini-gitops: deploy with Attini from one git branch per environment, each in its own AWS account.

Usage: attini-gitops <command> [options]

Commands:
${Object.values(COMMANDS)
    .map((c) => c.summary)
    .join("\n")}

Run \`attini-gitops <command> --help\` for a command's options.

${EXIT_CODES}`;

function parse(name: string, command: Command, args: string[]) {
    try {
        return parseArgs({ args, options: command.options, allowPositionals: true, strict: true });
    } catch (e) {
        // A folder named like an option: say how to pass it as the distribution path.
        const path = command.takesArguments ? args.find((a) => /^-[^-]/.test(a) && fs.existsSync(a)) : undefined;
        if (path)
            throw usage(
                `${JSON.stringify(path)} starts with '-', which would be read as an option. Write the distribution path as ./${path}.`,
            );
        throw usage(`${(e as Error).message}. See \`attini-gitops ${name} --help\`.`);
    }
}

/** stdout, made printable (log.ts): control characters from git or AWS never reach the terminal raw. */
const print = printer();

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
    const redactor = new Redactor();
    redactor.add(
        env.AWS_SECRET_ACCESS_KEY,
        env.AWS_SESSION_TOKEN,
        env.ATTINI_GITOPS_EXTERNAL_ID,
        env.PULUMI_CONFIG_PASSPHRASE,
        env.PULUMI_ACCESS_TOKEN,
        env.ACTIONS_ID_TOKEN_REQUEST_TOKEN,
    );
    const log = new Logger(redactor);
    const [name, ...rest] = argv;
    let json = false;
    try {
        if (name === undefined || name === "-h" || name === "--help" || name === "help") {
            print(MAIN_HELP);
            return name === undefined ? Exit.USAGE : Exit.OK;
        }
        const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
        if (!command)
            throw usage(
                `unknown command ${JSON.stringify(name)}. Commands: ${Object.keys(COMMANDS).join(", ")}. See \`attini-gitops --help\`.`,
            );
        const dashdash = rest.indexOf("--");
        const own = dashdash === -1 ? rest : rest.slice(0, dashdash);
        const extra = dashdash === -1 ? [] : rest.slice(dashdash + 1);
        const { values, positionals } = parse(name, command, own);
        const v = values as Values;
        json = flag(v, "json");
        if (v.help) {
            print(command.help);
            return Exit.OK;
        }
        if (!command.takesArguments && (positionals.length > 0 || extra.length > 0))
            throw usage(`${name} takes no arguments (got ${[...positionals, ...extra].join(" ")})`);
        const ctx: CommandContext = {
            env,
            cwd: text(v, "cwd") ?? process.cwd(),
            json,
            print,
            log,
            redactor,
        };
        return await command.run(v, positionals, extra, ctx);
    } catch (e) {
        const code = e instanceof DriverError ? e.exitCode : Exit.INTERNAL;
        const message = e instanceof DriverError ? e.message : `internal error: ${(e as Error)?.stack ?? String(e)}`;
        log.info(message);
        const details = e instanceof DriverError ? e.details : {};
        if (json) print(redactor.scrub(JSON.stringify({ result: "error", exitCode: code, message, ...details })));
        return code;
    }
}

if (require.main === module) {
    // A closed terminal (SIGHUP) or a reader that has gone (a parent driver killed): what is still
    // written goes nowhere, and must not end the driver while it completes the ledger's record.
    for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});
    main(process.argv.slice(2), process.env).then(
        (code) => {
            process.exitCode = code;
            // Nothing the driver started may keep it alive once it has its answer (a Pulumi CLI
            // stopped by --outputs-timeout, say): exit a moment later if the event loop has not emptied.
            setTimeout(() => process.exit(code), 2000).unref();
        },
        (e) => {
            process.stderr.write(`attini-gitops: internal error: ${printable(String(e))}\n`);
            process.exitCode = Exit.INTERNAL;
        },
    );
}
