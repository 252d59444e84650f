// Redacting the driver's log lines (Redactor, automation/log.ts): every registered secret is replaced
// with ***; values too short to be secrets are left alone.
import test from "ava";
import { Redactor } from "../automation/log";

test("redaction: a registered secret becomes ***; a value too short to be one is left alone", (t) => {
    const r = new Redactor();
    r.add("SECRETKEY123", "abc", undefined);
    t.is(r.scrub("key=SECRETKEY123 abc"), "key=*** abc");
});
