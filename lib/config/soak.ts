/**
 * Soak time: how long the upstream environment must have held this very content, successfully
 * and with no other deployment of the distribution since, before a promoted stack takes it.
 * Checked by the driver (automation/soak.ts) beside the verified promotion gate, whose evidence it
 * builds on; so it needs promotedFrom and a promotion gate that is not off.
 */
import type { ConfigReader } from "./values";

/** The longest soak a stack may ask for: 30 days, in minutes. */
export const MAX_SOAK_MINUTES = 30 * 24 * 60;

export function soakRules(r: ConfigReader, promotion: { promotedFrom?: string; promotionGate?: string }) {
    const soakMinutes = r.int("soakMinutes", "60");
    if (soakMinutes === undefined) return { soakMinutes };
    if (soakMinutes < 0)
        r.fail(
            "soakMinutes",
            "is negative; it is the least number of minutes the upstream environment must have held the content",
            `set 0 for no soak time, or a number of minutes, e.g. \`${r.setCmd("soakMinutes", "60")}\``,
        );
    else if (soakMinutes > MAX_SOAK_MINUTES)
        r.fail(
            "soakMinutes",
            `is more than ${MAX_SOAK_MINUTES} (30 days), the longest soak time allowed`,
            `give at most ${MAX_SOAK_MINUTES} minutes, e.g. \`${r.setCmd("soakMinutes", "1440")}\``,
        );
    else if (soakMinutes > 0 && !promotion.promotedFrom)
        r.fail(
            "soakMinutes",
            "is set on a stack that is promoted from no other, so there is no upstream environment to soak in",
            `set promotedFrom (e.g. stage), or \`${r.setCmd("soakMinutes", "0")}\``,
        );
    else if (soakMinutes > 0 && promotion.promotionGate === "off")
        r.fail(
            "soakMinutes",
            "is set but promotionGate is off, and the soak time is judged on the verified promotion gate's evidence",
            `run \`${r.setCmd("promotionGate", "enforce")}\` (or warn), or \`${r.setCmd("soakMinutes", "0")}\``,
        );
    return { soakMinutes };
}
