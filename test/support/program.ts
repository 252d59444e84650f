/**
 * Runs the real Pulumi program (index.ts) under Pulumi's mocks with a given stack config, and
 * records every resource it registers. The AWS provider plugin is not needed.
 */

import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT, type RawValue } from "../../lib/config/types";
import { readProjectSchema, readStackFile } from "../../lib/stackFiles";
import { ROOT } from "./tools";

// biome-ignore lint/suspicious/noExplicitAny: Pulumi's mocks hand resource inputs and program outputs over as untyped JSON, which the tests read by path
type Untyped = any;

export interface Registered {
    type: string;
    name: string;
    inputs: Record<string, Untyped>;
    /** The resource options the engine would act on in `pulumi destroy` (the mocks' own args omit them). */
    options: { protect?: boolean; retainOnDelete?: boolean };
}

export interface MockAws {
    /** What GetCallerIdentity answers: the account the engineer is logged in to. */
    callerAccount: string;
    /** Whether Attini's setup stack (its managed policy) exists in the account. */
    attiniPolicyExists?: boolean;
}

/** A stack file's config as the engine hands it to the program: strings, defaults applied. */
export function engineConfigOf(
    stack: string,
    overrides: Record<string, string> = {},
): { config: Record<string, string>; secretKeys: string[] } {
    const schema = readProjectSchema(ROOT);
    const { raw, errors } = readStackFile(schema, stack, path.join(ROOT, `Pulumi.${stack}.yaml`));
    if (errors.length) throw new Error(errors.join("\n"));
    const config: Record<string, string> = {};
    const asString = (v: RawValue) => (typeof v === "string" ? v : JSON.stringify(v));
    for (const [k, v] of raw) config[k] = asString(v);
    const secretKeys: string[] = [];
    for (const [k, v] of Object.entries(overrides)) {
        const full = k.includes(":") ? k : `${PROJECT}:${k}`;
        config[full] = v;
        if (full === `${PROJECT}:externalId`) secretKeys.push(full);
    }
    return { config, secretKeys };
}

export function resolved<T>(o: pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
}

/** Resolves every output of the program to plain values. */
async function resolveAll(outputs: Record<string, unknown>): Promise<Record<string, Untyped>> {
    const entries = await Promise.all(
        Object.entries(outputs).map(async ([k, v]) => [k, await resolved(v as pulumi.Input<unknown>)] as const),
    );
    return Object.fromEntries(entries);
}

/** Whether a mocked resource input arrived as a secret (Pulumi stores such values encrypted). */
export function isSecretInput(v: unknown): v is { value: Untyped } {
    return (
        typeof v === "object" &&
        v !== null &&
        (v as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
    );
}

/**
 * The URNs of the resources each output waits for (Output's own record of them), so a test can say
 * that an output is published only once a resource exists.
 */
async function dependenciesOf(outputs: Record<string, unknown>): Promise<Record<string, string[]>> {
    const entries = await Promise.all(
        Object.entries(outputs).map(async ([k, v]) => {
            const all = pulumi.Output.isInstance(v) ? await (v as Untyped).allResources() : new Set();
            const urns = await Promise.all([...(all as Set<pulumi.Resource>)].map((r) => resolved(r.urn)));
            return [k, urns.sort()] as const;
        }),
    );
    return Object.fromEntries(entries);
}

export async function runProgram(
    stack: string,
    cfg: { config: Record<string, string>; secretKeys: string[] },
    aws: MockAws,
    resources: Registered[] = [],
): Promise<{ outputs: Record<string, Untyped>; resources: Registered[]; dependencies: Record<string, string[]> }> {
    const options = new Map<string, Registered["options"]>();
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                const opts = options.get(`${args.type}::${args.name}`) ?? {};
                resources.push({ type: args.type, name: args.name, inputs: args.inputs, options: opts });
                const account = aws.callerAccount;
                const state: Record<string, unknown> = { ...args.inputs };
                if (args.type === "aws:iam/role:Role")
                    state.arn = `arn:aws:iam::${account}:role${args.inputs.path ?? "/"}${args.inputs.name}`;
                if (args.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
                    state.arn = `arn:aws:iam::${account}:oidc-provider/${String(args.inputs.url).replace(/^https:\/\//, "")}`;
                if (args.type === "aws:dynamodb/table:Table")
                    state.arn = `arn:aws:dynamodb:${cfg.config["aws:region"]}:${account}:table/${args.inputs.name}`;
                return { id: `${args.name}-id`, state };
            },
            call(args) {
                if (args.token === "aws:index/getCallerIdentity:getCallerIdentity") {
                    return {
                        accountId: aws.callerAccount,
                        arn: `arn:aws:iam::${aws.callerAccount}:user/engineer`,
                        userId: "AIDAENGINEER",
                        id: aws.callerAccount,
                    };
                }
                if (args.token === "aws:iam/getPolicy:getPolicy") {
                    if (aws.attiniPolicyExists === false)
                        throw new Error(`NoSuchEntity: Policy ${args.inputs.arn} does not exist or is not attachable.`);
                    return { arn: args.inputs.arn, name: String(args.inputs.arn).split("/").pop() };
                }
                throw new Error(`unexpected call ${args.token}`);
            },
        },
        PROJECT,
        stack,
        false,
    );
    // The mock monitor hands newResource no resource options: read protect and retainOnDelete off
    // the registration request itself, before the mock sees it.
    const monitor = pulumi.runtime.getMonitor() as Untyped;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: Untyped, callback: Untyped) => {
        options.set(`${req.getType()}::${req.getName()}`, {
            protect: req.hasProtect() ? req.getProtect() : undefined,
            retainOnDelete: req.hasRetainondelete() ? req.getRetainondelete() : undefined,
        });
        return register(req, callback);
    };
    pulumi.runtime.setAllConfig(cfg.config, cfg.secretKeys);
    // require(), not import: index.ts is loaded after the mocks and the config above are in place.
    const program = require("../../index") as () => Promise<Record<string, unknown>>;
    const raw = await program();
    const [outputs, dependencies] = await Promise.all([resolveAll(raw), dependenciesOf(raw)]);
    return { outputs, resources, dependencies };
}
