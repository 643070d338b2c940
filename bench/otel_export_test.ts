import assert from "node:assert/strict";
import { benchmark, DEFAULT_OPTIONS, MODES, runOtelExport } from "./otel_export.ts";

Deno.test("the default benchmark: 300 tables, 200 statements, 5 rounds", () => {
  assert.deepEqual(DEFAULT_OPTIONS, { tables: 300, statements: 200, rounds: 5 });
  assert.equal(benchmark.name, "otel_export");
});

Deno.test("runOtelExport rejects sizes it cannot run", async () => {
  await assert.rejects(
    runOtelExport({ ...DEFAULT_OPTIONS, rounds: 0 }),
    /option rounds must be a positive integer, got 0/,
  );
});

Deno.test("a small run reports every mode against nri with data actually exported", async () => {
  const report = await runOtelExport({ tables: 5, statements: 10, rounds: 1 });
  for (const mode of MODES) {
    const row = (suffix: string) => {
      const found = report.rows.find((r) => r.metric === `${mode}: ${suffix}`);
      assert.ok(found, `${mode}: ${suffix} missing`);
      return found;
    };
    for (const metric of ["CPU per cycle (user+sys)", "wall time per cycle", "peak RSS"]) {
      const r = row(metric);
      assert.ok(r.value > 0 && r.baseline!.value > 0, `${mode} ${metric}`);
      assert.equal(r.baseline!.label, "nri one-shot");
    }
    assert.ok(row("data points per cycle").value > 0);
    assert.ok(row("log records per cycle").value > 0, `${mode}: no log records`);
  }
});
