import assert from "node:assert/strict";
import { OPTIONS } from "./defaults.ts";
import { parseBool, parseDuration, parseFlags, usage, wantsHelp } from "./flags.ts";
import { assertConfigError } from "./testing.ts";

const values = (argv: string[]) => Object.fromEntries(parseFlags(argv).values);

Deno.test("parseBool accepts exactly Go's ParseBool words", () => {
  for (const t of ["1", "t", "T", "TRUE", "true", "True"]) assert.equal(parseBool(t), true, t);
  for (const f of ["0", "f", "F", "FALSE", "false", "False"]) assert.equal(parseBool(f), false, f);
  for (const bad of ["", "yes", "no", "on", "tRUE", "2", " true", "true "]) {
    assert.equal(parseBool(bad), undefined, bad);
  }
});

Deno.test("parseDuration reads Go durations in the requested unit", () => {
  assert.equal(parseDuration("6m", "s"), 360);
  assert.equal(parseDuration("15s", "s"), 15);
  assert.equal(parseDuration("15s", "ms"), 15000);
  assert.equal(parseDuration("500ms", "s"), 0.5);
  assert.equal(parseDuration("500ms", "ms"), 500);
  assert.equal(parseDuration("2h", "s"), 7200);
  assert.equal(parseDuration("1h30m", "s"), 5400);
  assert.equal(parseDuration("1m0.5s", "ms"), 60500);
  assert.equal(parseDuration("1.5s", "ms"), 1500);
  assert.equal(parseDuration(".5s", "ms"), 500);
  assert.equal(parseDuration("2000us", "ms"), 2);
  assert.equal(parseDuration("3\u00b5s", "ms"), 0.003);
  assert.equal(parseDuration("3000000ns", "ms"), 3);
  assert.equal(parseDuration("-1s", "s"), -1);
  assert.equal(parseDuration("+2s", "s"), 2);
  assert.equal(parseDuration("0", "s"), 0);
});

Deno.test("parseDuration counts a bare number in the requested unit", () => {
  assert.equal(parseDuration("15", "s"), 15);
  assert.equal(parseDuration("15", "ms"), 15);
  assert.equal(parseDuration("2.5", "s"), 2.5);
});

Deno.test("parseDuration rejects what is not a duration", () => {
  for (const bad of ["", "-", "s", "1x", "1 s", "1s2", "--1s", "1.2.3s", "1S", "ms", "1m-2s", "abc"]) {
    assert.equal(parseDuration(bad, "s"), undefined, bad);
  }
});

Deno.test("flags take every Go syntax form", () => {
  assert.deepEqual(values(["-hostname=a"]), { hostname: "a" });
  assert.deepEqual(values(["--hostname=b"]), { hostname: "b" });
  assert.deepEqual(values(["-hostname", "c"]), { hostname: "c" });
  assert.deepEqual(values(["--hostname", "d"]), { hostname: "d" });
  assert.deepEqual(values(["-port", "6432", "--database=shop", "-timeout=3"]), {
    port: "6432",
    database: "shop",
    timeout: "3",
  });
});

Deno.test("a value may contain = and may start with a dash", () => {
  assert.deepEqual(values(["-custom_metrics_query=SELECT 1 WHERE a=b"]), {
    custom_metrics_query: "SELECT 1 WHERE a=b",
  });
  assert.deepEqual(values(["-password", "-secret-"]), { password: "-secret-" });
  assert.deepEqual(values(["-hostname="]), { hostname: "" });
});

Deno.test("a bare boolean flag means true; -name=value sets it explicitly", () => {
  assert.deepEqual(values(["-pretty", "-verbose", "-show_version"]), {
    pretty: "true",
    verbose: "true",
    show_version: "true",
  });
  assert.deepEqual(values(["--pretty=false", "-enable_ssl=T", "-compat=0"]), {
    pretty: "false",
    enable_ssl: "T",
    compat: "0",
  });
});

Deno.test("a later occurrence of a flag wins", () => {
  assert.deepEqual(values(["-port=1", "-port", "2"]), { port: "2" });
});

Deno.test("-- ends the flags", () => {
  assert.deepEqual(values(["-pretty", "--"]), { pretty: "true" });
});

Deno.test("a bad boolean names the flag and the value", () => {
  const err = assertConfigError(() => parseFlags(["-pretty=yes"]), "-pretty", '"yes"');
  assert.equal(err.key, "pretty");
  assertConfigError(() => parseFlags(["--enable_ssl="]), "-enable_ssl", '""');
});

Deno.test("an unknown flag is named, without its value", () => {
  const err = assertConfigError(
    () => parseFlags(["-hostname=x", "-passwrd=hunter2-x"]),
    "unknown flag -passwrd",
  );
  assert.equal(err.key, "passwrd");
  assert.ok(!err.message.includes("hunter2-x"));
  assertConfigError(() => parseFlags(["--query_only"]), "unknown flag -query_only");
  assertConfigError(() => parseFlags(["-explain.timeout_ms=5"]), "unknown flag -explain.timeout_ms");
});

Deno.test("a flag without its value is an error", () => {
  const err = assertConfigError(() => parseFlags(["-hostname"]), "-hostname", "needs a value");
  assert.equal(err.key, "hostname");
});

Deno.test("an argument that is not a flag is an error that does not repeat it", () => {
  const err = assertConfigError(
    () => parseFlags(["-username", "bob", "hunter2-x"]),
    "argument #3",
    "not a flag",
  );
  assert.ok(!err.message.includes("hunter2-x"));
  assertConfigError(() => parseFlags(["-pretty", "false"]), "argument #2");
  assertConfigError(() => parseFlags(["-"]), "argument #1");
  assertConfigError(() => parseFlags(["--", "extra"]), "argument #2");
});

Deno.test("malformed flags are errors", () => {
  assertConfigError(() => parseFlags(["---pretty"]), "malformed flag");
  const err = assertConfigError(() => parseFlags(["-=hunter2-x"]), "malformed flag");
  assert.ok(!err.message.includes("hunter2-x"));
});

Deno.test("-h and -help ask for usage", () => {
  assert.equal(parseFlags(["-pretty", "-help", "-nonsense"]).help, true);
  assert.equal(wantsHelp(["-h"]), true);
  assert.equal(wantsHelp(["--help"]), true);
  assert.equal(wantsHelp(["-password", "-help"]), false);
  assert.equal(wantsHelp(["-pretty"]), false);
  assert.equal(wantsHelp(["-bogus", "-help"]), false);
});

Deno.test("usage lists every flag and its variable, and no file-only option", () => {
  const text = usage("pgquerylens-collector");
  assert.ok(text.startsWith("Usage of pgquerylens-collector:\n"));
  for (const o of OPTIONS) {
    if (o.flag) {
      assert.ok(text.includes(`  -${o.name}${o.kind === "bool" ? "\n" : " value\n"}`), o.name);
      assert.ok(text.includes(`(env ${o.env})`), o.name);
    } else {
      assert.ok(!text.includes(o.name), o.name);
    }
  }
});
