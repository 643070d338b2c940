import assert from "node:assert/strict";
import {
  environmentOf,
  execStart,
  isSet,
  parseEnvFile,
  parseUnit,
  referencedVariables,
  serviceEnvironment,
  splitWords,
  value,
  values,
  withDropIns,
} from "./systemd_unit.ts";
import { envFileMismatches } from "./systemd_analyze.ts";

const UNIT = `# a comment
; another
[Unit]
Description=demo \\
  # a comment inside a continuation is skipped
  unit

[Service]
Environment=A=1 "B=two words"
Environment=C=3
SystemCallFilter=@system-service
SystemCallFilter=~@privileged
ExecStart=-/usr/bin/prog --x=\${A} $B "--y=\${C} z"
CapabilityBoundingSet=
`;

Deno.test("parseUnit reads sections, comments and continued lines", () => {
  const unit = parseUnit(UNIT);
  assert.equal(value(unit, "Unit", "Description"), "demo  unit");
  assert.deepEqual(values(unit, "Service", "SystemCallFilter"), ["@system-service", "~@privileged"]);
  assert.equal(value(unit, "Service", "CapabilityBoundingSet"), "");
  assert.ok(isSet(unit, "Service", "CapabilityBoundingSet"));
  assert.ok(!isSet(unit, "Service", "AmbientCapabilities"));
  assert.equal(value(unit, "Service", "Description"), undefined, "keys belong to their section");
});

Deno.test("parseUnit rejects lines that are not assignments, and assignments outside a section", () => {
  assert.throws(() => parseUnit("[Service]\nExecStart\n"), /line 2: expected Key=value/);
  assert.throws(() => parseUnit("Key=value\n"), /line 1: assignment outside a section/);
  assert.throws(() => parseUnit("[Service\n"), /line 1: bad section header/);
});

Deno.test("drop-ins come after the unit; an empty assignment resets a list", () => {
  const unit = withDropIns(
    parseUnit(UNIT),
    parseUnit("[Service]\nSystemCallFilter=\nSystemCallFilter=bpf\nCapabilityBoundingSet=CAP_BPF\n"),
  );
  assert.deepEqual(values(unit, "Service", "SystemCallFilter"), ["bpf"]);
  assert.equal(value(unit, "Service", "CapabilityBoundingSet"), "CAP_BPF");
});

Deno.test("splitWords unquotes and unescapes like systemd command lines", () => {
  assert.deepEqual(splitWords(`a "b c" 'd "e"' f\\ g h\\tI`).map((w) => w.text), [
    "a",
    "b c",
    'd "e"',
    "f g",
    "h\tI",
  ]);
  assert.deepEqual(splitWords(`x "y"`).map((w) => w.quoted), [false, true]);
  assert.throws(() => splitWords(`a "b`), /unterminated "/);
  assert.throws(() => splitWords(`a\\`), /trailing backslash/);
});

Deno.test("Environment= assignments, and environment files overriding them", () => {
  const unit = parseUnit(UNIT);
  assert.deepEqual([...environmentOf(unit)], [["A", "1"], ["B", "two words"], ["C", "3"]]);
  const env = serviceEnvironment(unit, [new Map([["C", "file"]]), new Map([["A", "later"]])]);
  assert.equal(env.get("C"), "file");
  assert.equal(env.get("A"), "later");
  assert.throws(() => environmentOf(parseUnit("[Service]\nEnvironment=NOVALUE\n")), /not an assignment/);
});

Deno.test("execStart expands ${NAME} inside a word and splits a bare $NAME", () => {
  const unit = parseUnit(UNIT);
  assert.deepEqual(execStart(unit, environmentOf(unit)), [
    "/usr/bin/prog",
    "--x=1",
    "two",
    "words",
    "--y=3 z",
  ]);
  assert.deepEqual(execStart(unit, new Map()), ["/usr/bin/prog", "--x=", "--y= z"]);
  assert.deepEqual(referencedVariables(value(unit, "Service", "ExecStart")!), ["A", "B", "C"]);
  assert.throws(() => execStart(parseUnit("[Service]\nType=exec\n"), new Map()), /no ExecStart=/);
});

const TRICKY = [
  `# comment`,
  `; comment`,
  `PLAIN=value`,
  `  SPACED  =   padded value   `,
  `JSON='["postgres","shop"]'`,
  `MIDQUOTE=a"b'c`,
  `DOUBLE="x\\"y\\\\z\\n$w"`,
  `SINGLE='a\\b' 'c' d`,
  `PIECES='a'"b"c`,
  `CONTINUED=one\\`,
  `two`,
  `ESCAPED=a\\ b\\#c`,
  `HASH=a#b`,
  `NOEQUALS`,
  `LAST=end`,
].join("\n");

Deno.test("parseEnvFile reads quoting, escapes, comments and continuations", () => {
  assert.deepEqual(Object.fromEntries(parseEnvFile(TRICKY)), {
    PLAIN: "value",
    SPACED: "padded value",
    JSON: '["postgres","shop"]',
    MIDQUOTE: `a"b'c`,
    DOUBLE: 'x"y\\z\\n$w',
    SINGLE: "a\\bcd",
    PIECES: "abc",
    CONTINUED: "onetwo",
    ESCAPED: "a b#c",
    HASH: "a#b",
    LAST: "end",
  });
  assert.throws(() => parseEnvFile("OK=1\nBAD-NAME=2\n"), /line 2: invalid variable name "BAD-NAME"/);
});

Deno.test("parseEnvFile agrees with systemd's own parser", async () => {
  const parsed = parseEnvFile(TRICKY);
  assert.deepEqual(await envFileMismatches(TRICKY, parsed), []);
});
