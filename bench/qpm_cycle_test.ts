import assert from "node:assert/strict";
import { benchmark, DEFAULT_OPTIONS, runQpmCycle } from "./qpm_cycle.ts";

Deno.test("the default benchmark puts at least 5,000 distinct statements in pg_stat_statements", () => {
  assert.ok(DEFAULT_OPTIONS.statements >= 5000);
  assert.equal(benchmark.name, "qpm_cycle");
});

Deno.test("runQpmCycle rejects sizes it cannot run", async () => {
  await assert.rejects(
    runQpmCycle({ ...DEFAULT_OPTIONS, oneShotRuns: 0 }),
    /option oneShotRuns must be a positive integer, got 0/,
  );
  await assert.rejects(
    runQpmCycle({ ...DEFAULT_OPTIONS, daemonCycles: 1 }),
    /daemonCycles must be at least 2/,
  );
});

Deno.test("a small run reports every metric with figures the server and the OS counted", async () => {
  const report = await runQpmCycle({
    statements: 300,
    tables: 5,
    rowsPerTable: 50,
    calls: 2,
    oneShotRuns: 1,
    daemonCycles: 2,
    rankingRounds: 2,
  });
  assert.equal(report.title, "QPM cycle with 300 distinct statements in pg_stat_statements");
  const row = (prefix: string) => {
    const found = report.rows.find((r) => r.metric.startsWith(prefix));
    assert.ok(found, `no row "${prefix}" in ${report.rows.map((r) => r.metric).join(", ")}`);
    return found;
  };
  for (const r of report.rows) {
    assert.ok(Number.isFinite(r.value), `${r.metric}: ${r.value}`);
    if (r.baseline) assert.ok(r.baseline.value > 0, `${r.metric} baseline ${r.baseline.value}`);
  }
  const statements = row("one-shot cycle: statements executed").value;
  const marked = row("  of which start with the marker").value;
  assert.ok(marked >= 5 && marked <= statements, `${marked} marked of ${statements}`);
  assert.ok(row("one-shot cycle: connections opened").value >= 1);
  assert.ok(
    row("one-shot cycle: collector CPU").value > row("one-shot cycle: collector CPU").baseline!.value,
  );
  assert.ok(row("one-shot cycle: peak RSS").value > 10);
  assert.ok(row("ranking statement").value > 0);
  assert.ok(row("daemon: cold cycle").value > 0);
  assert.ok(row("daemon: statements per steady cycle").value > 0);
  assert.match(report.notes[0], /300 of them distinct statements of database "bench" \(2 calls each/);
});
