import assert from "node:assert/strict";
import {
  availableIn,
  BASE_METRICS,
  BASE_QUERIES,
  type BaseMetricDef,
  baseMetricsFor,
  rowMetrics,
  selectList,
} from "./base_catalog.ts";

const ALL_VERSIONS_BGWRITER = [
  "bgwriter.buffersWrittenByBackgroundWriterPerSecond",
  "bgwriter.backgroundWriterStopsPerSecond",
  "bgwriter.buffersAllocatedPerSecond",
];

const BEFORE_17_BGWRITER = [
  "bgwriter.checkpointsScheduledPerSecond",
  "bgwriter.checkpointsRequestedPerSecond",
  "bgwriter.buffersWrittenForCheckpointsPerSecond",
  "bgwriter.buffersWrittenByBackendPerSecond",
  "bgwriter.backendFsyncCallsPerSecond",
  "bgwriter.checkpointWriteTimeInMillisecondsPerSecond",
  "bgwriter.checkpointSyncTimeInMillisecondsPerSecond",
];

const SINCE_17 = [
  "checkpointer.checkpointsScheduledPerSecond",
  "checkpointer.checkpointsRequestedPerSecond",
  "checkpointer.buffersWrittenForCheckpointsPerSecond",
  "checkpointer.checkpointWriteTimeInMillisecondsPerSecond",
  "checkpointer.checkpointSyncTimeInMillisecondsPerSecond",
  "io.buffersWrittenByBackendPerSecond",
  "io.backendFsyncCallsPerSecond",
];

const LOCKS = [
  "db.locks.accessExclusiveLock",
  "db.locks.accessShareLock",
  "db.locks.exclusiveLock",
  "db.locks.rowExclusiveLock",
  "db.locks.rowShareLock",
  "db.locks.shareLock",
  "db.locks.shareRowExclusiveLock",
  "db.locks.shareUpdateExclusiveLock",
];

function instanceNames(major: number): string[] {
  return ["bgwriter", "checkpointer", "io"].flatMap((q) =>
    baseMetricsFor(major, q as "bgwriter").map((m) => m.name)
  );
}

Deno.test("instance metrics before 17: the full pg_stat_bgwriter set, nothing of 17", () => {
  for (const major of [12, 13, 16]) {
    assert.deepEqual(
      new Set(instanceNames(major)),
      new Set([...ALL_VERSIONS_BGWRITER, ...BEFORE_17_BGWRITER]),
    );
  }
});

Deno.test("instance metrics from 17: three bgwriter counters, checkpointer and io", () => {
  for (const major of [17, 18]) {
    assert.deepEqual(new Set(instanceNames(major)), new Set([...ALL_VERSIONS_BGWRITER, ...SINCE_17]));
  }
  assert.deepEqual(baseMetricsFor(17, "io").map((m) => m.column), ["SUM(writes)", "SUM(fsyncs)"]);
});

Deno.test("database metrics are the same on every supported major", () => {
  const names = (major: number) => baseMetricsFor(major).filter((m) => m.query.startsWith("database"));
  assert.deepEqual(names(12), names(18));
  assert.equal(baseMetricsFor(15, "database").length, 16);
  assert.equal(baseMetricsFor(15, "database_io").length, 5);
  assert.deepEqual(baseMetricsFor(15, "locks").map((m) => m.name), LOCKS);
  assert.ok(baseMetricsFor(15, "locks").every((m) => m.sourceType === "gauge"));
  const gauges = baseMetricsFor(15, "database").filter((m) => m.sourceType === "gauge").map((m) => m.name);
  assert.deepEqual(gauges, ["db.maxconnections", "db.connections"]);
});

Deno.test("every declaration is complete and every name unique", () => {
  assert.equal(new Set(BASE_METRICS.map((m) => m.name)).size, BASE_METRICS.length);
  for (const m of BASE_METRICS) {
    assert.ok(BASE_QUERIES.includes(m.query), m.name);
    assert.ok(m.column.trim() && m.description.trim() && m.unit.trim(), m.name);
    assert.ok(m.sourceType === "rate" || m.sourceType === "gauge", m.name);
    if (m.sourceType === "rate") assert.match(m.name, /PerSecond$/);
  }
  const counts = (major: number) => baseMetricsFor(major).length;
  assert.equal(counts(16), 10 + 16 + 5 + 8);
  assert.equal(counts(17), 3 + 7 + 16 + 5 + 8);
});

Deno.test("availableIn honours both inclusive bounds", () => {
  const m = { minMajor: 14, maxMajor: 16 } as BaseMetricDef;
  assert.deepEqual([13, 14, 16, 17].map((v) => availableIn(m, v)), [false, true, true, false]);
});

Deno.test("baseMetricsFor rejects a major that is not a positive integer", () => {
  for (const bad of [0, -1, 16.5, NaN]) {
    assert.throws(() => baseMetricsFor(bad), /invalid PostgreSQL major version/);
  }
});

Deno.test("selectList names columns by position and casts to double precision", () => {
  const defs = baseMetricsFor(17, "io");
  assert.equal(selectList(defs), "(SUM(writes))::float8 AS m0, (SUM(fsyncs))::float8 AS m1");
  assert.throws(() => selectList([]), /without metrics/);
});

Deno.test("rowMetrics reads numbers, leaves NULLs out and rejects non-numbers", () => {
  const defs = baseMetricsFor(16, "database_io");
  const metrics = rowMetrics(defs, { m0: 3, m1: "4096", m2: null, m4: 7.5 });
  assert.deepEqual(metrics, [
    { name: "db.tempFilesCreatedPerSecond", sourceType: "rate", value: 3 },
    { name: "db.tempWrittenInBytesPerSecond", sourceType: "rate", value: 4096 },
    { name: "db.writeTimeInMillisecondsPerSecond", sourceType: "rate", value: 7.5 },
  ]);
  assert.throws(() => rowMetrics(defs, { m0: "many" }), /db\.tempFilesCreatedPerSecond.*"many"/);
});
