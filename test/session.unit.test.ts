// Session names, tag values and the source identity, cleaned to STS's rules (automation/session.ts).
import test from "ava";
import { cleanSessionName, cleanTagValue, defaultSessionName, sourceIdentity } from "../automation/session";

test("session names are cleaned to STS's rules: 2-64 characters of [\\w+=,.@-]", (t) => {
    t.is(defaultSessionName("/build/dist/platform"), "deploy-platform");
    t.is(defaultSessionName("/build/out/platform-1.2.0.zip"), "deploy-platform-1.2.0");
    t.is(cleanSessionName("my dist (v2)/ü"), "my-dist-v2-u");
    t.is(cleanSessionName("x"), "x-session");
    t.is(cleanSessionName("!!!"), "attini-session");
    const long = cleanSessionName(`deploy-${"a".repeat(100)}`);
    t.is(long.length, 64);
    for (const s of ["dev; rm -rf /", "日本語", "a\nb", "a".repeat(300), "", "—"])
        t.regex(cleanSessionName(s), /^[\w+=,.@-]{2,64}$/, JSON.stringify(s));
});

test("tag values and source identity are cleaned", (t) => {
    t.is(cleanTagValue("release/ünï code+1"), "release/ünï code+1");
    t.is(cleanTagValue("a;b$c"), "a_b_c");
    t.is(cleanTagValue("x".repeat(300)).length, 256);
    t.is(sourceIdentity({ GITHUB_ACTOR: "octo cat" }), "octo-cat");
    t.is(sourceIdentity({}), "attini-gitops");
});
