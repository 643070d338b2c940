import assert from "node:assert/strict";
import { BASE_METRICS, BASE_QUERIES, selectList } from "./base_catalog.ts";
import { INDEX_SAMPLE, RELATION_METRICS, relationMetricsFor, TABLE_SAMPLE } from "./relation_catalog.ts";
import { RELATION_SPEC as SPEC } from "../../tests/support/relation_spec.ts";

Deno.test("event types", () => {
  assert.equal(TABLE_SAMPLE, "PostgresqlTableSample");
  assert.equal(INDEX_SAMPLE, "PostgresqlIndexSample");
});

Deno.test("every relation query declares the specified names and source types, on 13 to 18", () => {
  for (const major of [13, 14, 15, 16, 17, 18]) {
    for (const query of ["bloat", "table", "index"] as const) {
      assert.deepEqual(
        relationMetricsFor(major, query).map((m) => [m.name, m.sourceType]),
        SPEC[query],
        `${query} on ${major}`,
      );
    }
  }
});

Deno.test("every declaration is complete and names are unique among all base metrics", () => {
  const all = [...BASE_METRICS, ...RELATION_METRICS];
  assert.equal(new Set(all.map((m) => m.name)).size, all.length);
  for (const m of RELATION_METRICS) {
    assert.ok(BASE_QUERIES.includes(m.query), m.name);
    assert.ok(m.column.trim() && m.description.trim() && m.unit.trim(), m.name);
    if (m.sourceType === "rate") assert.match(m.name, /PerSecond$/);
  }
});

Deno.test("table expressions read the aliases of the collectors' FROM clauses", () => {
  const columns = relationMetricsFor(16, "table").map((m) => m.column);
  assert.ok(columns.every((c) => /\b(S|IO|R)\./.test(c)), columns.join("\n"));
  assert.equal(
    relationMetricsFor(16, "table").find((m) => m.name === "table.lastVacuum")?.column,
    "CAST(EXTRACT(EPOCH FROM S.last_vacuum) AS bigint)",
  );
  assert.ok(relationMetricsFor(16, "bloat").every((m) => m.column.includes("B.")));
  assert.match(
    selectList(relationMetricsFor(16, "index")),
    /^\(pg_relation_size\(R\.sized\)\)::float8 AS m0, /,
  );
});

Deno.test("relationMetricsFor rejects a major that is not a positive integer", () => {
  for (const bad of [0, -3, 15.5, NaN]) {
    assert.throws(() => relationMetricsFor(bad, "table"), /invalid PostgreSQL major version/);
  }
});
