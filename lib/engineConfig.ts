/**
 * Reads the stack config the Pulumi engine hands the program (Pulumi.yaml defaults already
 * applied, secrets decrypted) into the shape lib/config/validate.ts validates.
 */
import * as pulumi from "@pulumi/pulumi";
import type { RawConfig, RawValue } from "./config/types";

type SecretCheck = (key: string) => boolean;

export function configFromEngine(): RawConfig {
    // isConfigSecret is exported by the runtime but missing from its type declarations.
    const isConfigSecret =
        (pulumi.runtime as unknown as { isConfigSecret?: SecretCheck }).isConfigSecret ?? (() => false);
    const all = pulumi.runtime.allConfig();
    return new Map<string, RawValue>(
        Object.entries(all).map(([k, v]) => [k, isConfigSecret(k) ? { secret: true, plaintext: v } : v]),
    );
}
