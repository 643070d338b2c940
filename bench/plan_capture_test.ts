import assert from "node:assert/strict";
import {
  benchmark,
  benchSchemaSql,
  benchStatements,
  DEFAULT_OPTIONS,
  runPlanCapture,
} from "./plan_capture.ts";

Deno.test("the default benchmark tracks as many queries as plan tracking does by default", () => {
  assert.equal(benchmark.name, "plan_capture");
  assert.equal(DEFAULT_OPTIONS.queries, 20);
  const texts = benchStatements(DEFAULT_OPTIONS.queries, DEFAULT_OPTIONS.tables).map((s) => s.text);
  assert.equal(new Set(texts).size, texts.length, "distinct statements");
  assert.ok(texts.every((t) => /\$1/.test(t)), "every statement is parameterized (generic plans)");
  assert.match(benchSchemaSql(2, 10), /CREATE TABLE pc_2 .*generate_series\(1, 10\).*CREATE INDEX pc_2_grp/s);
});

Deno.test("runPlanCapture rejects sizes it cannot run", async () => {
  await assert.rejects(
    runPlanCapture({ ...DEFAULT_OPTIONS, cachedCycles: 0 }),
    /option cachedCycles must be a positive integer, got 0/,
  );
  await assert.rejects(
    runPlanCapture({ ...DEFAULT_OPTIONS, queries: 9, tables: 2 }),
    /9 distinct queries need at least 3 tables/,
  );
});

Deno.test("a small run: every tracked query is EXPLAINed when cold, plans come from the cache after", async () => {
  const report = await runPlanCapture({
    queries: 4,
    tables: 1,
    rowsPerTable: 2000,
    callsPerCycle: 2,
    cachedCycles: 2,
  });
  const row = (prefix: string) => {
    const found = report.rows.find((r) => r.metric.startsWith(prefix));
    assert.ok(found, `no row "${prefix}" in ${report.rows.map((r) => r.metric).join(", ")}`);
    return found;
  };
  for (const r of report.rows) assert.ok(Number.isFinite(r.value) && r.value >= 0, `${r.metric}: ${r.value}`);
  assert.equal(row("cold cycle: plans tracked").value, 4);
  const cold = row("cold cycle (empty plan cache): EXPLAINs run").value;
  assert.ok(cold >= 4, `${cold} EXPLAINs when cold`);
  assert.ok(row("cached cycle: EXPLAINs run").value < cold);
  assert.ok(row("cold cycle: collector CPU").value > 0);
  assert.ok(row("cold cycle: collector CPU").baseline!.value > 0);
  assert.ok(row("cached cycle: wall time").baseline!.value > 0);
  assert.match(report.notes[0], /4 application statements over 1 tables of 2000 rows, each run 2 times/);
});
