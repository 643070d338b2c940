import assert from "node:assert/strict";
import { formatReport } from "./lib/report.ts";
import { ratio } from "./lib/stats.ts";
import { benchmark, DEFAULT_OPTIONS, runBaseCycle } from "./base_cycle.ts";

Deno.test("the default benchmark runs 3 databases × 300 tables × 2 indexes over 5 rounds", () => {
  const { databases, tables, indexesPerTable, rounds } = DEFAULT_OPTIONS;
  assert.deepEqual({ databases, tables, indexesPerTable, rounds }, {
    databases: 3,
    tables: 300,
    indexesPerTable: 2,
    rounds: 5,
  });
  assert.ok(DEFAULT_OPTIONS.rowsPerTable >= 1);
  assert.equal(benchmark.name, "base_cycle");
});

Deno.test("runBaseCycle rejects sizes it cannot run", async () => {
  await assert.rejects(
    runBaseCycle({ ...DEFAULT_OPTIONS, rounds: 0 }),
    /option rounds must be a positive integer, got 0/,
  );
  await assert.rejects(
    runBaseCycle({ ...DEFAULT_OPTIONS, tables: 1.5 }),
    /option tables must be a positive integer/,
  );
});

Deno.test("a small run compares both sides with finite ratios and counts what each produced", async () => {
  const report = await runBaseCycle({
    databases: 2,
    tables: 5,
    indexesPerTable: 2,
    rowsPerTable: 3,
    rounds: 2,
  });
  assert.match(
    report.title,
    /^Base cycle on 2 databases × 5 tables × 2 indexes: collector vs prometheus-postgres-exporter \d/,
  );
  const rows = (prefix: string) => report.rows.filter((r) => r.metric.startsWith(prefix));
  const only = (prefix: string, baseline?: string) => {
    const found = rows(prefix).filter((r) =>
      baseline === undefined || r.baseline?.label.startsWith(baseline)
    );
    assert.equal(
      found.length,
      1,
      `rows "${prefix}" vs "${baseline}": ${report.rows.map((r) => r.metric).join(", ")}`,
    );
    return found[0];
  };
  for (const r of report.rows) assert.ok(Number.isFinite(r.value), `${r.metric}: ${r.value}`);

  for (const baseline of ["exporter scrape", "exporter start"]) {
    for (const metric of ["CPU per cycle (user+sys)", "wall time per cycle", "peak RSS"]) {
      const row = only(metric, baseline);
      assert.ok(
        row.value > 0 && row.baseline!.value > 0,
        `${metric} vs ${baseline}: ${row.value} / ${row.baseline!.value}`,
      );
      assert.ok(Number.isFinite(ratio(row.value, row.baseline!.value)!), `${metric} vs ${baseline}`);
    }
    assert.ok(only("connections opened per cycle", baseline).value >= 1, "the one-shot collector connects");
    assert.ok(only("statements executed per cycle", baseline).value >= 2);
    assert.ok(only("statements executed per cycle", baseline).baseline!.value >= 2);
  }
  assert.equal(
    only("connections opened per cycle", "exporter scrape").baseline!.value,
    0,
    "connections are kept",
  );
  assert.ok(only("connections opened per cycle", "exporter start").baseline!.value >= 3);
  assert.ok(only("peak RSS", "exporter scrape").value > 10, "the collector is a Deno process");

  // The exporter returned the fixture's tables and indexes; the collector's coverage is counted.
  assert.equal(only("tables covered").baseline!.value, 10);
  assert.equal(only("indexes covered").baseline!.value, 20);
  assert.ok(
    [0, 10].includes(only("tables covered").value),
    `collector tables ${only("tables covered").value}`,
  );
  assert.ok(only("  exporter series: pg_stat_user_tables_*").value >= 10 * 10);
  assert.ok(only("  exporter series: pg_stat_user_indexes_*").value >= 20 * 3);
  assert.equal(only("  collector samples: PostgresqlInstanceSample").value, 1);
  assert.ok(only("  collector samples: PostgresqlDatabaseSample").value >= 3, "postgres and both databases");
  assert.ok(rows("  collector samples: PostgresqlTableSample").length === 1);
  assert.ok(
    only("metric values per cycle").value > 0 && only("metric values per cycle").baseline!.value > 100,
  );

  const text = formatReport(report);
  assert.match(text, /bench_1, bench_2/);
  assert.match(text, /ratio = collector \/ exporter/);
});
