import assert from "node:assert/strict";
import full from "../../tests/fixtures/config/full.toml" with { type: "text" };
import minimal from "../../tests/fixtures/config/minimal.toml" with { type: "text" };
import syntaxError from "../../tests/fixtures/config/syntax_error.toml" with { type: "text" };
import unknownKey from "../../tests/fixtures/config/unknown_key.toml" with { type: "text" };
import unknownTableKey from "../../tests/fixtures/config/unknown_table_key.toml" with { type: "text" };
import wrongType from "../../tests/fixtures/config/wrong_type.toml" with { type: "text" };
import { OPTIONS } from "./defaults.ts";
import { parseConfigToml, readConfigFile, tomlTypeOf } from "./file.ts";
import { assertConfigError } from "./testing.ts";

const parse = (text: string) => Object.fromEntries(parseConfigToml(text, "test.toml"));

Deno.test("the full example sets every option a file can set (password_file excludes password)", () => {
  const values = parseConfigToml(full, "full.toml");
  const settable = OPTIONS.filter((o) => o.file !== undefined && o.name !== "password_file").map((o) =>
    o.name
  );
  assert.deepEqual([...values.keys()].sort(), settable.sort());
  assert.deepEqual(parse('password_file = "/run/secrets/pg"'), { password_file: "/run/secrets/pg" });
});

Deno.test("values are normalized to the text a flag would carry", () => {
  const v = Object.fromEntries(parseConfigToml(full, "full.toml"));
  assert.equal(v.port, "6432");
  assert.equal(v.enable_ssl, "true");
  assert.equal(v.collect_bloat_metrics, "false");
  assert.equal(v.cache_ttl, "10m");
  assert.equal(v.nri_protocol, "4");
  assert.equal(v.statement_timeout, "3000");
  assert.equal(v.application_name, "pgquerylens-prod");
  assert.equal(v["explain.max_per_cycle"], "10");
  assert.equal(v["activity_sampling.samples"], "8");
  assert.deepEqual(JSON.parse(v.collection_list), {
    shop: { public: { orders: ["orders_pkey", "orders_customer_idx"], customers: [] } },
  });
  assert.deepEqual(JSON.parse(v.collection_ignore_database_list), ["azure_maintenance", "azure_sys"]);
});

Deno.test("port, timeout and thresholds accept a number or a string", () => {
  assert.deepEqual(parse('port = "5433"\ntimeout = "4"'), { port: "5433", timeout: "4" });
  assert.deepEqual(parse("port = 5433\nquery_monitoring_count_threshold = -3"), {
    port: "5433",
    query_monitoring_count_threshold: "-3",
  });
});

Deno.test("collection_list accepts an array, an inline table or a string", () => {
  assert.deepEqual(parse('collection_list = ["postgres", "shop"]'), {
    collection_list: '["postgres","shop"]',
  });
  assert.deepEqual(parse('collection_list = "ALL"'), { collection_list: "ALL" });
  assert.deepEqual(parse("collection_list = { shop = { public = { t = [] } } }"), {
    collection_list: '{"shop":{"public":{"t":[]}}}',
  });
  assert.deepEqual(parse('[collection_list.shop.public]\nt = ["i"]'), {
    collection_list: '{"shop":{"public":{"t":["i"]}}}',
  });
});

Deno.test("interval and cache_ttl accept a duration string or a number of seconds", () => {
  assert.deepEqual(parse('interval = "1m"\ncache_ttl = 90'), { interval: "1m", cache_ttl: "90" });
  assert.deepEqual(parse("interval = 2.5"), { interval: "2.5" });
});

Deno.test("the minimal example sets only credentials and the collection list", () => {
  assert.deepEqual(Object.fromEntries(parseConfigToml(minimal, "minimal.toml")), {
    username: "monitor",
    password: "file-secret-9f2c",
    collection_list: '["postgres","shop"]',
  });
});

Deno.test("an unknown key is named with the file", () => {
  const err = assertConfigError(
    () => parseConfigToml(unknownKey, "conf/unknown_key.toml"),
    '"enable_query_monitorin"',
    "conf/unknown_key.toml",
    "unknown key",
  );
  assert.equal(err.key, "enable_query_monitorin");
});

Deno.test("an unknown key inside a table is named with its table", () => {
  assertConfigError(
    () => parseConfigToml(unknownTableKey, "u.toml"),
    'unknown key "session.statement_timeout"',
    "u.toml",
  );
  assertConfigError(() => parse('[sesion]\napplication_name = "x"'), 'unknown key "sesion"');
  assertConfigError(() => parse("[explain]\ntimeout = 3"), 'unknown key "explain.timeout"');
});

Deno.test("a session option at top level points to its table", () => {
  assertConfigError(
    () => parse("statement_timeout = 300"),
    'unknown key "statement_timeout"',
    "statement_timeout_ms in the [session] table",
  );
  assertConfigError(() => parse('"explain.timeout_ms" = 3'), "timeout_ms in the [explain] table");
  assertConfigError(
    () => parse('config = "other.toml"'),
    'unknown key "config"',
    "flag or environment variable",
  );
});

Deno.test("a wrong type names key, file, expected and actual type", () => {
  const err = assertConfigError(
    () => parseConfigToml(wrongType, "w.toml"),
    '"enable_ssl"',
    "w.toml",
    "must be boolean",
    "got string",
  );
  assert.equal(err.key, "enable_ssl");
  assertConfigError(() => parse("timeout = 1.5"), '"timeout"', "integer or string", "got float");
  assertConfigError(() => parse("hostname = 5"), '"hostname"', "must be string", "got integer");
  assertConfigError(() => parse("port = true"), '"port"', "got boolean");
  assertConfigError(() => parse("username = 1979-05-27"), '"username"', "got datetime");
  assertConfigError(() => parse("collection_ignore_table_list = { a = 1 }"), "array or string", "got table");
  assertConfigError(() => parse('[session]\nstatement_timeout_ms = "3s"'), '"session.statement_timeout_ms"');
  assertConfigError(() => parse("session = 3"), '"session" must be a table', "got integer");
  assertConfigError(() => parse("[explain]\nmax_per_cycle = [1]"), '"explain.max_per_cycle"', "got array");
});

Deno.test("a wrong type never shows the value", () => {
  const err = assertConfigError(() => parse("password = 98127364"), '"password"');
  assert.ok(!err.message.includes("98127364"));
});

Deno.test("a TOML syntax error names the file and line, not the text around it", () => {
  const err = assertConfigError(
    () => parseConfigToml(syntaxError, "conf/syntax_error.toml"),
    "conf/syntax_error.toml",
    "TOML syntax error at line 3",
  );
  assert.ok(!err.message.includes("file-secret-9f2c"), err.message);
  assert.ok(!err.message.includes("\n"));
  assertConfigError(() => parse("a = 1\nhostname = \n"), "line 2");
  assertConfigError(() => parse('hostname = "a"\nhostname = "b"'), "line 2");
});

Deno.test("readConfigFile names the path when the file cannot be read", () => {
  const err = assertConfigError(
    () =>
      readConfigFile("missing.toml", (p) => {
        throw new Deno.errors.NotFound(`No such file or directory (os error 2): readfile '${p}'`);
      }),
    "cannot read config file missing.toml",
  );
  assert.equal(err.key, "config");
  assert.deepEqual(Object.fromEntries(readConfigFile("m.toml", () => minimal)).username, "monitor");
});

Deno.test("tomlTypeOf names TOML types", () => {
  const doc = parseConfigToml('hostname = "h"', "t.toml");
  assert.equal(doc.get("hostname"), "h");
  assert.equal(tomlTypeOf("x"), "string");
  assert.equal(tomlTypeOf(1n), "integer");
  assert.equal(tomlTypeOf(1.5), "float");
  assert.equal(tomlTypeOf(true), "boolean");
  assert.equal(tomlTypeOf([]), "array");
  assert.equal(tomlTypeOf({}), "table");
});

Deno.test("the [querylens] table and its rules", () => {
  const v = parse(
    '[querylens]\nenabled = "off"\npoll_ms = 10\n\n[[querylens.rules]]\nname = "q"\nrate = 1\n' +
      "[querylens.rules.match]\nquery_id = -6410924811397428219\nmin_duration_ms = 5\n",
  );
  assert.equal(v.querylens, "off");
  assert.equal(v.querylens_poll_ms, "10");
  assert.deepEqual(JSON.parse(v["querylens.rules"]), [
    { name: "q", rate: 1, match: { query_id: "-6410924811397428219", min_duration_ms: 5 } },
  ]);
});

Deno.test("integers beyond 2^53 inside tables keep every digit; smaller ones stay numbers", () => {
  const v = parse("collection_list = [9007199254740993, 9007199254740991]");
  assert.equal(v.collection_list, '["9007199254740993",9007199254740991]');
});

Deno.test("a table key given a plain value says where the option goes", () => {
  assertConfigError(
    () => parse('querylens = "on"'),
    'key "querylens" must be a table, got string (set it as enabled in the [querylens] table)',
  );
  assertConfigError(() => parse("querylens_poll_ms = 10"), "(set it as poll_ms in the [querylens] table)");
  assertConfigError(
    () => parse("[querylens]\nrules = 1"),
    'key "querylens.rules" must be array, got integer',
  );
  assertConfigError(() => parse("[querylens]\nrate = 1"), 'unknown key "querylens.rate"');
});

Deno.test("the [plans] table: the ratio accepts a float, an integer or a string", () => {
  assert.deepEqual(parse("[plans]\nregression_ratio = 1.5\ntop_queries = 4"), {
    plan_regression_ratio: "1.5",
    plan_top_queries: "4",
  });
  assert.deepEqual(parse("[plans]\nregression_ratio = 2"), { plan_regression_ratio: "2" });
  assert.deepEqual(parse('[plans]\nregression_ratio = "3.5"'), { plan_regression_ratio: "3.5" });
  assertConfigError(
    () => parse("[plans]\ndictionary_max = 1.5"),
    'key "plans.dictionary_max" must be integer or string, got float',
  );
});
