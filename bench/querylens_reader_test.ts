import assert from "node:assert/strict";
import {
  benchmark,
  DEFAULT_OPTIONS,
  runQueryLensReader,
  TARGET_RECORDS_PER_SECOND,
} from "./querylens_reader.ts";

Deno.test("the default benchmark: 16 rings × 16384 slots, 5 passes, 2 s live", () => {
  assert.deepEqual(DEFAULT_OPTIONS, { rings: 16, slots: 16384, passes: 5, liveMs: 2000 });
  assert.equal(benchmark.name, "querylens_reader");
  assert.equal(TARGET_RECORDS_PER_SECOND, 1_000_000);
});

Deno.test("runQueryLensReader rejects sizes it cannot run", async () => {
  await assert.rejects(
    runQueryLensReader({ ...DEFAULT_OPTIONS, passes: 0 }),
    /option passes must be a positive integer, got 0/,
  );
  await assert.rejects(
    runQueryLensReader({ ...DEFAULT_OPTIONS, slots: 1000 }),
    /option slots must be a power of two, got 1000/,
  );
});

Deno.test("a small run reports the C reader, the FFI reader against it, and the live rates", async () => {
  const report = await runQueryLensReader({ rings: 4, slots: 1024, passes: 1, liveMs: 300 });
  const row = (prefix: string) => {
    const found = report.rows.find((r) => r.metric.startsWith(prefix));
    assert.ok(found, `${prefix} missing`);
    return found;
  };
  const c = row("C reader");
  assert.ok(c.value > 0);
  for (const prefix of ["Deno FFI drain()", "Deno FFI drainWith()"]) {
    const r = row(prefix);
    assert.ok(r.value > 0, prefix);
    assert.equal(r.baseline?.value, c.value);
    assert.equal(r.unit, "count");
  }
  const live = row("live, 1 full-speed producer");
  assert.ok(live.value > 0 && live.baseline!.value > 0);
  assert.ok(row("live: records lost").value >= 0);
  assert.match(report.notes.join("\n"), /target 1000000 records\/s through FFI with decoding: (met|NOT met)/);
});
