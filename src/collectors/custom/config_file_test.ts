import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../../config/types.ts";
import { assertConfigError } from "../../config/testing.ts";
import {
  type CustomQueryDef,
  DEFAULT_CUSTOM_SAMPLE,
  loadCustomQueries,
  parseCustomQueries,
  yamlKindOf,
} from "./config_file.ts";

const FIXTURES = join(import.meta.dirname!, "../../../tests/fixtures/custom");
const fixture = (name: string) => join(FIXTURES, name);
const load = (name: string) => loadCustomQueries(fixture(name), Deno.readTextFileSync);

/** A definition as plain data, for deepEqual. */
function plain(def: CustomQueryDef): Record<string, unknown> {
  return { ...def, metricTypes: Object.fromEntries(def.metricTypes) };
}

Deno.test("custom config: a valid file gives its queries in order, with defaults and normalized types", () => {
  const defs = load("valid.yml").map(plain);
  assert.deepEqual(defs, [
    {
      query:
        "SELECT datname AS name, numbackends AS backends FROM pg_stat_database WHERE datname IS NOT NULL;",
      database: "shop",
      metricTypes: { backends: "rate", name: "attribute" },
      sampleName: "ShopBackendsSample",
    },
    { query: "SELECT 1 AS one", metricTypes: {}, sampleName: DEFAULT_CUSTOM_SAMPLE },
    { query: "SELECT count(*) AS n FROM pg_class\n", metricTypes: {}, sampleName: DEFAULT_CUSTOM_SAMPLE },
    {
      query: "SELECT 2 AS two",
      metricTypes: { "my col": "pdelta", two: "gauge" },
      sampleName: "Custom:Sample_2",
    },
  ]);
  assert.equal(DEFAULT_CUSTOM_SAMPLE, "PostgresqlCustomSample");
  assert.ok(!("database" in defs[1]), "no database key means the main DATABASE");
});

Deno.test("custom config: an empty queries list is valid and gives nothing", () => {
  assert.deepEqual(parseCustomQueries("queries: []\n", "x.yml"), []);
});

/** Fixture → the message after `custom_metrics_config <path>: `. */
const ERRORS: [string, string][] = [
  ["syntax_error.yml", 'YAML error at line 4, column 1: Missing closing "quote'],
  ["duplicate_key.yml", "YAML error at line 3, column 5: Map keys must be unique"],
  ["multiple_documents.yml", "YAML error at line 3, column 1: the file holds more than one YAML document"],
  ["unknown_tag.yml", "YAML error at line 2, column 12: Unresolved tag: !sql"],
  ["empty.yml", "the file is empty (expected a mapping with a queries list)"],
  ["not_mapping.yml", "the file must be a mapping with a queries list, got a list"],
  ["unknown_top_key.yml", 'unknown key "query" (the only key is queries)'],
  ["missing_queries.yml", "queries: missing (a list of query definitions is required)"],
  ["queries_not_list.yml", "queries: must be a list of query definitions, got a mapping"],
  [
    "item_not_mapping.yml",
    "queries[1]: must be a mapping with a query (and optionally database, metric_types, sample_name), got a string",
  ],
  [
    "unknown_item_key.yml",
    'queries[0]: unknown key "metric_type" (expected query, database, metric_types, sample_name)',
  ],
  ["missing_query.yml", "queries[0].query: missing (the SQL to run is required)"],
  ["query_not_string.yml", "queries[0].query: must be a string, got a number"],
  ["empty_query.yml", "queries[1].query: must not be empty"],
  ["database_not_string.yml", "queries[0].database: must be a string, got a list"],
  [
    "metric_types_not_mapping.yml",
    "queries[0].metric_types: must be a mapping of column name to source type, got a list",
  ],
  [
    "metric_type_invalid.yml",
    'queries[2].metric_types.foo: "gaug" is not one of gauge, rate, delta, prate, pdelta, attribute',
  ],
  [
    "metric_type_odd_column.yml",
    'queries[0].metric_types["my col"]: "counter" is not one of gauge, rate, delta, prate, pdelta, attribute',
  ],
  [
    "metric_type_not_string.yml",
    "queries[0].metric_types.one: must be one of gauge, rate, delta, prate, pdelta, attribute, got a number",
  ],
  ["metric_type_empty_column.yml", "queries[0].metric_types: a column name must not be empty"],
  [
    "sample_name_invalid.yml",
    'queries[0].sample_name: "My Sample" is not a valid event type name ' +
    '(letters, digits, "_" and ":" only, at most 255 characters)',
  ],
  ["sample_name_not_string.yml", "queries[0].sample_name: must be a string, got a number"],
];

for (const [name, expected] of ERRORS) {
  Deno.test(`custom config: ${name} is refused with the file, item and key named`, () => {
    const err = assertConfigError(() => load(name));
    assert.equal(err.message, `custom_metrics_config ${fixture(name)}: ${expected}`);
    assert.equal(err.key, "custom_metrics_config");
  });
}

Deno.test("custom config: every error fixture is covered by a case", () => {
  const files = [...Deno.readDirSync(FIXTURES)].map((e) => e.name).filter((n) => n !== "valid.yml").sort();
  assert.deepEqual(files, ERRORS.map(([n]) => n).sort());
});

Deno.test("custom config: a missing file is an error naming the path", () => {
  const path = fixture("does_not_exist.yml");
  const err = assertConfigError(() => loadCustomQueries(path, Deno.readTextFileSync), "cannot read the file");
  assert.ok(err.message.startsWith(`custom_metrics_config ${path}: cannot read the file: `), err.message);
});

Deno.test("custom config: an unreadable path (a directory) is an error naming the path", () => {
  const err = assertConfigError(() => loadCustomQueries(FIXTURES, Deno.readTextFileSync));
  assert.ok(err.message.startsWith(`custom_metrics_config ${FIXTURES}: cannot read the file: `), err.message);
});

Deno.test("custom config: the reader given is the one used", () => {
  const seen: string[] = [];
  const defs = loadCustomQueries("/virtual/q.yml", (p) => {
    seen.push(p);
    return "queries:\n  - query: SELECT 1\n    sample_name: V\n";
  });
  assert.deepEqual(seen, ["/virtual/q.yml"]);
  assert.equal(defs[0].sampleName, "V");
});

Deno.test("custom config: a sample name longer than 255 characters is refused, 255 accepted", () => {
  const text = (n: number) => `queries:\n  - query: SELECT 1\n    sample_name: ${"a".repeat(n)}\n`;
  assert.equal(parseCustomQueries(text(255), "x.yml")[0].sampleName.length, 255);
  assert.throws(() => parseCustomQueries(text(256), "x.yml"), ConfigError);
});

Deno.test("custom config: alias expansion is bounded", () => {
  const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 8; i++) {
    lines.push(
      `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} ` +
        `[${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(", ")}]`,
    );
  }
  lines.push("queries: []");
  assertConfigError(
    () => parseCustomQueries(lines.join("\n"), "bomb.yml"),
    "custom_metrics_config bomb.yml: YAML error: Excessive alias count",
  );
});

Deno.test("custom config: yamlKindOf names the YAML kinds", () => {
  assert.deepEqual(
    [null, undefined, [], {}, "s", 1, true].map(yamlKindOf),
    ["null", "null", "list", "mapping", "string", "number", "boolean"],
  );
});
