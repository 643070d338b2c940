import assert from "node:assert/strict";
import { BASE_METRICS, type BaseMetricDef } from "../core/base_catalog.ts";
import { RELATION_METRICS } from "../core/relation_catalog.ts";
import { PGBOUNCER_METRICS } from "../collectors/pgbouncer/catalog.ts";
import {
  MAPPED_METRIC_NAMES,
  OTEL_ATTRIBUTES,
  OTEL_FAMILIES,
  type OtelKind,
  otelMetricFor,
} from "./metric_catalog.ts";

/**
 * The contrib PostgreSQL receiver's metrics (all 43 of its metadata.yaml): unit, kind and the
 * data-point attribute keys it uses besides db.namespace / db.collection.name.
 */
const CONTRIB: Record<string, { unit: string; kind: OtelKind; attrs: string[] }> = {
  "postgresql.bgwriter.buffers.allocated": { unit: "{buffers}", kind: "sum", attrs: [] },
  "postgresql.bgwriter.buffers.writes": { unit: "{buffers}", kind: "sum", attrs: ["source"] },
  "postgresql.bgwriter.checkpoint.count": { unit: "{checkpoints}", kind: "sum", attrs: ["type"] },
  "postgresql.bgwriter.duration": { unit: "ms", kind: "sum", attrs: ["type"] },
  "postgresql.bgwriter.maxwritten": { unit: "1", kind: "sum", attrs: [] },
  "postgresql.backends": { unit: "1", kind: "updown", attrs: [] },
  "postgresql.commits": { unit: "1", kind: "sum", attrs: [] },
  "postgresql.rollbacks": { unit: "1", kind: "sum", attrs: [] },
  "postgresql.db_size": { unit: "By", kind: "updown", attrs: [] },
  "postgresql.table.count": { unit: "{table}", kind: "updown", attrs: [] },
  "postgresql.blks_hit": { unit: "{blks_hit}", kind: "sum", attrs: [] },
  "postgresql.blks_read": { unit: "{blks_read}", kind: "sum", attrs: [] },
  "postgresql.deadlocks": { unit: "{deadlock}", kind: "sum", attrs: [] },
  "postgresql.temp_files": { unit: "{temp_file}", kind: "sum", attrs: [] },
  "postgresql.temp.io": { unit: "By", kind: "sum", attrs: [] },
  "postgresql.tup_deleted": { unit: "{tup_deleted}", kind: "sum", attrs: [] },
  "postgresql.tup_fetched": { unit: "{tup_fetched}", kind: "sum", attrs: [] },
  "postgresql.tup_inserted": { unit: "{tup_inserted}", kind: "sum", attrs: [] },
  "postgresql.tup_returned": { unit: "{tup_returned}", kind: "sum", attrs: [] },
  "postgresql.tup_updated": { unit: "{tup_updated}", kind: "sum", attrs: [] },
  "postgresql.query.conflicts": { unit: "{query}", kind: "sum", attrs: ["postgresql.conflict.type"] },
  "postgresql.query.execution.time": { unit: "s", kind: "sum", attrs: [] },
  "postgresql.function.calls": { unit: "{call}", kind: "sum", attrs: ["function"] },
  "postgresql.database.locks": { unit: "{lock}", kind: "gauge", attrs: ["relation", "mode", "lock_type"] },
  "postgresql.rows": { unit: "1", kind: "updown", attrs: ["state"] },
  "postgresql.operations": { unit: "1", kind: "sum", attrs: ["operation"] },
  "postgresql.blocks_read": { unit: "1", kind: "sum", attrs: ["source"] },
  "postgresql.table.size": { unit: "By", kind: "updown", attrs: [] },
  "postgresql.table.vacuum.count": { unit: "{vacuum}", kind: "sum", attrs: [] },
  "postgresql.sequential_scans": { unit: "{sequential_scan}", kind: "sum", attrs: [] },
  "postgresql.index.scans": { unit: "{scans}", kind: "sum", attrs: ["postgresql.index.name"] },
  "postgresql.index.size": { unit: "By", kind: "gauge", attrs: ["postgresql.index.name"] },
  "postgresql.connection.max": { unit: "{connections}", kind: "gauge", attrs: [] },
  "postgresql.database.count": { unit: "{databases}", kind: "updown", attrs: [] },
  "postgresql.replication.data_delay": { unit: "By", kind: "gauge", attrs: ["replication_client"] },
  "postgresql.wal.age": { unit: "s", kind: "gauge", attrs: [] },
  "postgresql.wal.lag": { unit: "s", kind: "gauge", attrs: ["operation", "replication_client"] },
  "postgresql.wal.delay": { unit: "s", kind: "gauge", attrs: ["operation", "replication_client"] },
  "postgresql.vector.insert.duration": { unit: "s", kind: "sum", attrs: [] },
  "postgresql.vector.insert.rows": { unit: "{vectors}", kind: "sum", attrs: [] },
  "postgresql.vector.search.calls": {
    unit: "{search}",
    kind: "sum",
    attrs: ["postgresql.distance.function.name"],
  },
  "postgresql.vector.search.duration": {
    unit: "s",
    kind: "sum",
    attrs: ["postgresql.distance.function.name"],
  },
  "postgresql.vector.search.rows_returned": {
    unit: "{rows}",
    kind: "sum",
    attrs: ["postgresql.distance.function.name"],
  },
};

/** Attribute values contrib uses, where it enumerates them. */
const CONTRIB_VALUES: Record<string, string[]> = {
  source: [
    "backend",
    "backend_fsync",
    "checkpoints",
    "bgwriter",
    "heap_read",
    "heap_hit",
    "idx_read",
    "idx_hit",
    "toast_read",
    "toast_hit",
    "tidx_read",
    "tidx_hit",
  ],
  type: ["requested", "scheduled", "sync", "write"],
  state: ["dead", "live"],
  operation: ["ins", "upd", "del", "hot_upd"],
  "postgresql.conflict.type": ["tablespace", "lock", "snapshot", "bufferpin", "deadlock"],
};

/** Gauges of the NRI catalogs that are in truth cumulative counters (OTLP gets a monotonic sum). */
const GAUGE_COUNTERS = new Set(["pgbouncer.stats.totalServerAssignmentCount"]);

interface Entry {
  catalog: string;
  name: string;
  sourceType: string;
  unit: string;
  minMajor?: number;
  maxMajor?: number;
}

const fromBase = (catalog: string, defs: readonly BaseMetricDef[]): Entry[] =>
  defs.map((m) => ({ catalog, ...m }));

const CATALOG: Entry[] = [
  ...fromBase("base", BASE_METRICS),
  ...fromBase("relation", RELATION_METRICS),
  ...PGBOUNCER_METRICS.map((m) => ({ catalog: "pgbouncer", ...m })),
];
const NUMERIC = CATALOG.filter((e) => e.sourceType !== "attribute");

Deno.test("catalog: every metric of every base catalog has an OTLP encoding", () => {
  const missing = NUMERIC.filter((e) => otelMetricFor(e.name) === undefined).map((e) => e.name);
  assert.deepEqual(missing, []);
  const attrs = CATALOG.filter((e) => e.sourceType === "attribute").map((e) => e.name);
  assert.deepEqual(attrs.filter((a) => !Object.hasOwn(OTEL_ATTRIBUTES, a)), []);
  assert.ok(NUMERIC.length > 90, `expected the full catalogs, got ${NUMERIC.length} metrics`);
});

Deno.test("catalog: no mapping for a name the catalogs do not have", () => {
  const names = new Set(NUMERIC.map((e) => e.name));
  assert.deepEqual(MAPPED_METRIC_NAMES.filter((n) => !names.has(n)), []);
  assert.equal(otelMetricFor("custom.myQuery.value"), undefined);
  assert.equal(otelMetricFor("toString"), undefined);
});

Deno.test("catalog: contrib equivalents have the contrib name, unit, kind and attribute keys", () => {
  const contribFamilies = Object.values(OTEL_FAMILIES).filter((f) => f.contrib);
  assert.ok(contribFamilies.length >= 20);
  for (const f of contribFamilies) {
    const want = CONTRIB[f.name];
    assert.ok(want, `${f.name} is marked contrib but the contrib receiver has no such metric`);
    assert.equal(f.unit, want.unit, `unit of ${f.name}`);
    assert.equal(f.kind, want.kind, `kind of ${f.name}`);
  }
  for (const e of NUMERIC) {
    const m = otelMetricFor(e.name)!;
    if (!m.contrib) continue;
    for (const [k, v] of Object.entries(m.attributes)) {
      assert.ok(CONTRIB[m.name].attrs.includes(k), `${e.name}: contrib ${m.name} has no attribute ${k}`);
      if (CONTRIB_VALUES[k]) {
        assert.ok(CONTRIB_VALUES[k].includes(v), `${e.name}: ${k}=${v} is not contrib's`);
      }
    }
  }
});

Deno.test("catalog: the expected contrib equivalents are used", () => {
  const expect: [string, string, Record<string, string>][] = [
    ["db.commitsPerSecond", "postgresql.commits", {}],
    ["db.rollbacksPerSecond", "postgresql.rollbacks", {}],
    ["db.connections", "postgresql.backends", {}],
    ["db.maxconnections", "postgresql.connection.max", {}],
    ["db.deadlocksPerSecond", "postgresql.deadlocks", {}],
    ["db.tempFilesCreatedPerSecond", "postgresql.temp_files", {}],
    ["db.tempWrittenInBytesPerSecond", "postgresql.temp.io", {}],
    ["db.readsPerSecond", "postgresql.blks_read", {}],
    ["db.conflicts.locksPerSecond", "postgresql.query.conflicts", { "postgresql.conflict.type": "lock" }],
    ["table.liveRows", "postgresql.rows", { state: "live" }],
    ["table.rowsUpdatedPerSecond", "postgresql.operations", { operation: "upd" }],
    ["table.indexBlocksReadPerSecond", "postgresql.blocks_read", { source: "idx_read" }],
    ["table.indexToastBlocksHitPerSecond", "postgresql.blocks_read", { source: "toast_hit" }],
    ["table.dataSizeInBytes", "postgresql.table.size", {}],
    ["table.sequentialScansPerSecond", "postgresql.sequential_scans", {}],
    ["index.sizeInBytes", "postgresql.index.size", {}],
    ["bgwriter.buffersAllocatedPerSecond", "postgresql.bgwriter.buffers.allocated", {}],
    ["bgwriter.backendFsyncCallsPerSecond", "postgresql.bgwriter.buffers.writes", {
      source: "backend_fsync",
    }],
    ["checkpointer.checkpointsRequestedPerSecond", "postgresql.bgwriter.checkpoint.count", {
      type: "requested",
    }],
    ["checkpointer.checkpointSyncTimeInMillisecondsPerSecond", "postgresql.bgwriter.duration", {
      type: "sync",
    }],
    ["bgwriter.backgroundWriterStopsPerSecond", "postgresql.bgwriter.maxwritten", {}],
  ];
  for (const [nri, name, attributes] of expect) {
    const m = otelMetricFor(nri);
    assert.ok(m, nri);
    assert.equal(m.name, name, nri);
    assert.deepEqual(m.attributes, attributes, nri);
    assert.equal(m.contrib, true, nri);
  }
  assert.equal(otelMetricFor("db.maxconnections")!.level, "instance");
  assert.equal(otelMetricFor("db.connections")!.level, undefined);
});

Deno.test("catalog: own metrics are named in the contrib style and never reuse a contrib name", () => {
  for (const f of Object.values(OTEL_FAMILIES)) {
    assert.match(f.name, /^(postgresql|pgbouncer)(\.[a-z][a-z0-9_]*)+$/, f.name);
    if (!f.contrib) assert.equal(CONTRIB[f.name], undefined, `${f.name} shadows a contrib metric`);
    assert.ok(f.description.length > 5 && f.description.endsWith("."), `description of ${f.name}`);
  }
  for (const f of Object.values(OTEL_FAMILIES).filter((f) => f.name.startsWith("pgbouncer."))) {
    assert.equal(f.contrib, false);
  }
});

Deno.test("catalog: own metrics keep the catalog unit; kinds follow the NRI source type", () => {
  for (const e of NUMERIC) {
    const m = otelMetricFor(e.name)!;
    if (!m.contrib) assert.equal(m.unit, e.unit, `unit of ${e.name} → ${m.name}`);
    if (e.sourceType === "rate" || GAUGE_COUNTERS.has(e.name)) {
      assert.equal(m.kind, "sum", `${e.name} is a counter`);
    } else {
      assert.notEqual(m.kind, "sum", `${e.name} is a gauge but maps to a monotonic sum`);
    }
  }
});

Deno.test("catalog: no two metrics of one server version share a name and attribute set", () => {
  const availableIn = (e: Entry, v: number) =>
    (e.minMajor === undefined || v >= e.minMajor) && (e.maxMajor === undefined || v <= e.maxMajor);
  const overlap = (a: Entry, b: Entry) =>
    a.catalog !== "pgbouncer" && b.catalog !== "pgbouncer"
      ? [12, 13, 14, 15, 16, 17, 18].some((v) => availableIn(a, v) && availableIn(b, v))
      : true;
  const seen: [Entry, string][] = [];
  for (const e of NUMERIC) {
    const m = otelMetricFor(e.name)!;
    const key = `${m.name} ${JSON.stringify(Object.entries(m.attributes).sort())}`;
    for (const [other, k] of seen) {
      if (k === key && overlap(e, other)) assert.fail(`${e.name} and ${other.name} both map to ${key}`);
    }
    seen.push([e, key]);
  }
  // The 17+ checkpointer metrics replace the bgwriter ones under the same contrib series.
  const a = otelMetricFor("bgwriter.checkpointsScheduledPerSecond")!;
  const b = otelMetricFor("checkpointer.checkpointsScheduledPerSecond")!;
  assert.deepEqual([a.name, a.attributes], [b.name, b.attributes]);
});

Deno.test("catalog: members of one OTLP metric agree on value type (doubles for times and ratios)", () => {
  assert.equal(otelMetricFor("bgwriter.checkpointWriteTimeInMillisecondsPerSecond")!.valueType, "double");
  assert.equal(otelMetricFor("table.bloatRatio")!.valueType, "double");
  assert.equal(otelMetricFor("db.commitsPerSecond")!.valueType, "int");
  assert.equal(otelMetricFor("pgbouncer.pools.user"), undefined);
  assert.equal(OTEL_ATTRIBUTES["pgbouncer.pools.user"], "user.name");
});
