import assert from "node:assert/strict";
import { benchmark, DEFAULT_OPTIONS, runAshBench } from "./ash.ts";

Deno.test("the default benchmark compares 500 backends with 200", () => {
  assert.equal(benchmark.name, "ash");
  assert.deepEqual([DEFAULT_OPTIONS.fewBackends, DEFAULT_OPTIONS.manyBackends], [200, 500]);
});

Deno.test("runAshBench rejects sizes it cannot run", async () => {
  await assert.rejects(
    runAshBench({ ...DEFAULT_OPTIONS, samples: 0 }),
    /ash: option samples must be a positive integer, got 0/,
  );
  await assert.rejects(
    runAshBench({ ...DEFAULT_OPTIONS, manyBackends: 200 }),
    /manyBackends \(200\) must exceed fewBackends \(200\)/,
  );
});

Deno.test("a small run reports every figure side by side, with the session counts the server had", async () => {
  const report = await runAshBench({ fewBackends: 20, manyBackends: 50, samples: 5, roundTrips: 5 });
  assert.equal(report.title, "Active session history: cost per sample at 50 vs 20 backends");
  assert.equal(report.rows.length, 10);
  const row = (metric: string) => {
    const found = report.rows.find((r) => r.metric === metric);
    assert.ok(found, `no row "${metric}" in ${report.rows.map((r) => r.metric).join(", ")}`);
    return found;
  };
  const idleRows = row("50 idle: session-samples per sample");
  assert.deepEqual([idleRows.value, idleRows.baseline?.value], [0, 0], "idle backends are not sampled");
  const txRows = row("50 idle in transaction: session-samples per sample");
  assert.deepEqual([txRows.value, txRows.baseline?.value], [50, 20], "every backend in a transaction is");
  for (const r of report.rows.filter((r) => r.unit === "ms")) {
    assert.ok(r.value > 0 && r.baseline!.value > 0, `${r.metric}: ${r.value} vs ${r.baseline?.value}`);
    assert.ok(r.value < 1000 && r.baseline!.value < 1000, `${r.metric}: ${r.value} vs ${r.baseline?.value}`);
  }
  assert.ok(report.notes.some((n) => n.includes("process.cpuUsage")));
});
