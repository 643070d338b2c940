import assert from "node:assert/strict";
import { countByPrefix, distinctLabelSets, parsePromText } from "./prom_text.ts";

const EXPOSITION = `# HELP pg_up Whether the last scrape was able to connect to the server.
# TYPE pg_up gauge
pg_up 1
pg_stat_user_tables_n_live_tup{datname="db1",relname="t_1",schemaname="public",server="127.0.0.1:5432"} 5
pg_stat_user_tables_n_live_tup{datname="db1",relname="t_2",schemaname="public",server="127.0.0.1:5432"} 7
pg_stat_user_tables_seq_scan{datname="db1",relname="t_1",schemaname="public",server="127.0.0.1:5432"} 2 1700000000000
pg_stat_user_indexes_size_bytes{datname="db1",indexrelname="t_1_pkey",relname="t_1",schemaname="public"} 16384
odd{label="quote \\" backslash \\\\ newline \\n end", empty=""} NaN
inf_up +Inf
inf_down -Inf

`;

Deno.test("parsePromText reads names, unescaped labels, special values, and skips comments", () => {
  const series = parsePromText(EXPOSITION);
  assert.equal(series.length, 8);
  assert.deepEqual(series[0], { name: "pg_up", labels: {}, value: 1 });
  assert.deepEqual(series[1].labels, {
    datname: "db1",
    relname: "t_1",
    schemaname: "public",
    server: "127.0.0.1:5432",
  });
  assert.equal(series[3].value, 2, "the timestamp is not the value");
  assert.deepEqual(series[5].labels, { label: 'quote " backslash \\ newline \n end', empty: "" });
  assert.ok(Number.isNaN(series[5].value));
  assert.equal(series[6].value, Infinity);
  assert.equal(series[7].value, -Infinity);
});

Deno.test("parsePromText names the line it cannot read", () => {
  assert.throws(() => parsePromText('ok 1\n{x="y"} 2'), /metric name expected in line: \{x="y"\} 2/);
  assert.throws(() => parsePromText('m{x="y} 2'), /unterminated value of label x/);
  assert.throws(() => parsePromText("m{x=y} 2"), /'="' expected after label x/);
  assert.throws(() => parsePromText("m abc"), /bad sample value "abc"/);
  assert.throws(() => parsePromText("m"), /"value \[timestamp\]" expected/);
  assert.throws(() => parsePromText("m 1 2 3"), /"value \[timestamp\]" expected/);
});

Deno.test("countByPrefix counts each series once, under its first matching prefix", () => {
  const counts = countByPrefix(parsePromText(EXPOSITION), ["pg_stat_user_tables_", "pg_stat_user_", "nope_"]);
  assert.deepEqual([...counts], [
    ["pg_stat_user_tables_", 3],
    ["pg_stat_user_", 1],
    ["nope_", 0],
    ["other", 4],
  ]);
});

Deno.test("distinctLabelSets counts the distinct label combinations under a prefix", () => {
  const series = parsePromText(EXPOSITION);
  assert.equal(distinctLabelSets(series, "pg_stat_user_tables_", ["datname", "schemaname", "relname"]), 2);
  assert.equal(distinctLabelSets(series, "pg_stat_user_tables_", ["datname"]), 1);
  assert.equal(distinctLabelSets(series, "missing_", ["datname"]), 0);
});
