import assert from "node:assert/strict";
import { join } from "node:path";
import type { QueryExecution, QueryLensAggregate, UnifiedMetrics } from "../core/model.ts";
import { QPM_EVENT_TYPES } from "../core/catalog.ts";
import { QUERY_EXECUTIONS, QUERY_PLAN_AGGREGATES } from "../core/querylens_catalog.ts";
import { encodeQpmDocuments, type NriOptions, qpmMetricSets } from "./qpm.ts";
import { queryLensMetricSets } from "./querylens.ts";

const FIXTURES = join(import.meta.dirname!, "..", "..", "tests", "fixtures", "nri");

function fixtureSnapshot(): UnifiedMetrics {
  const raw = JSON.parse(Deno.readTextFileSync(join(FIXTURES, "snapshot.json")));
  return { ...raw, collectedAt: new Date(raw.collectedAt) };
}

const DEFAULTS: NriOptions = {
  integrationVersion: "0.1.0",
  pretty: false,
  addHostname: false,
  isRds: false,
  protocol: 3,
};

const WAITS = {
  waitCpuSamples: 3,
  waitLwlockSamples: 0,
  waitLockSamples: 2,
  waitBufferpinSamples: 0,
  waitIoSamples: 1,
  waitIpcSamples: 0,
  waitTimeoutSamples: 0,
  waitOtherSamples: 0,
};

const EXECUTION: QueryExecution = {
  queryId: "-6482174329745523713",
  planId: "7310227119438526021",
  parentQueryId: "-6482174329745523713",
  dbid: 16384,
  databaseName: "shop",
  userid: 10,
  userName: "app",
  pid: 4242,
  execSeq: 17,
  startTime: "2026-03-01T10:00:00.123456Z",
  startUnixUs: 1_772_359_200_123_456,
  durationMs: 812.5,
  rows: 1,
  sharedBlksHit: 40,
  sharedBlksRead: 3,
  sharedBlksDirtied: 1,
  sharedBlksWritten: 0,
  localBlksHit: 0,
  localBlksRead: 0,
  localBlksDirtied: 0,
  localBlksWritten: 0,
  tempBytesRead: 0,
  tempBytesWritten: 8192,
  walBytes: 210,
  walRecords: 2,
  walFpi: 0,
  cpuUserTimeMs: 0.75,
  cpuSysTimeMs: 0.125,
  ...WAITS,
  waitEventLast: "Lock:transactionid",
  failed: true,
  sqlstate: "57014",
  toplevel: true,
  nestingLevel: 0,
  command: "UPDATE",
  sampleReason: "error",
};

const AGGREGATE: QueryLensAggregate = {
  dbid: 16384,
  databaseName: "shop",
  queryId: "-6482174329745523713",
  planId: "7310227119438526021",
  calls: 12,
  errors: 1,
  totalDurationMs: 840.25,
  minDurationMs: 0.5,
  maxDurationMs: 812.5,
  rows: 11,
  sharedBlksHit: 400,
  sharedBlksRead: 9,
  tempBlksRead: 0,
  tempBlksWritten: 1,
  walBytes: 2100,
  cpuMeasuredCalls: 0,
  ...WAITS,
  firstSeen: "2026-03-01T09:59:45.000001Z",
  firstSeenUnixUs: 1_772_359_185_000_001,
  lastSeen: "2026-03-01T10:00:00.935956Z",
  lastSeenUnixUs: 1_772_359_200_935_956,
};

function withQueryLens(): UnifiedMetrics {
  return { ...fixtureSnapshot(), queryExecutions: [EXECUTION], queryLensAggregates: [AGGREGATE] };
}

const eventTypeOf = (doc: string) => JSON.parse(doc).data[0].metrics[0].event_type;

Deno.test("querylens NRI: the execution and aggregate metric sets, exactly", () => {
  const docs = encodeQpmDocuments(withQueryLens(), DEFAULTS).documents;
  const [execDoc, aggDoc] = docs.slice(-2);
  assert.equal(
    execDoc,
    '{"name":"com.newrelic.postgresql","protocol_version":"3","integration_version":"0.1.0","data":[' +
      '{"entity":{"name":"db1.example.net:5432","type":"pg-instance","id_attributes":[]},"metrics":[{' +
      '"command":"UPDATE","cpu_sys_time_ms":0.125,"cpu_user_time_ms":0.75,"database_name":"shop",' +
      '"duration_ms":812.5,"event_type":"PostgresQueryExecutions","exec_seq":17,"failed":1,' +
      '"local_blks_dirtied":0,"local_blks_hit":0,"local_blks_read":0,"local_blks_written":0,' +
      '"nesting_level":0,"parent_query_id":"-6482174329745523713","pid":4242,' +
      '"plan_id":"7310227119438526021","query_id":"-6482174329745523713","rows":1,' +
      '"sample_reason":"error","shared_blks_dirtied":1,"shared_blks_hit":40,"shared_blks_read":3,' +
      '"shared_blks_written":0,"sqlstate":"57014","start_time":"2026-03-01T10:00:00.123456Z",' +
      '"temp_bytes_read":0,"temp_bytes_written":8192,"toplevel":1,"user_name":"app",' +
      '"wait_bufferpin_samples":0,"wait_cpu_samples":3,"wait_event_last":"Lock:transactionid",' +
      '"wait_io_samples":1,"wait_ipc_samples":0,"wait_lock_samples":2,"wait_lwlock_samples":0,' +
      '"wait_other_samples":0,"wait_timeout_samples":0,"wal_bytes":210,"wal_fpi":0,"wal_records":2}],' +
      '"inventory":{},"events":[]}]}\n',
  );
  assert.deepEqual(JSON.parse(aggDoc).data[0].metrics, [{
    event_type: "PostgresQueryPlanAggregates",
    query_id: "-6482174329745523713",
    plan_id: "7310227119438526021",
    database_name: "shop",
    calls: 12,
    errors: 1,
    total_duration_ms: 840.25,
    min_duration_ms: 0.5,
    max_duration_ms: 812.5,
    rows: 11,
    shared_blks_hit: 400,
    shared_blks_read: 9,
    temp_blks_read: 0,
    temp_blks_written: 1,
    wal_bytes: 2100,
    cpu_measured_calls: 0,
    wait_cpu_samples: 3,
    wait_lwlock_samples: 0,
    wait_lock_samples: 2,
    wait_bufferpin_samples: 0,
    wait_io_samples: 1,
    wait_ipc_samples: 0,
    wait_timeout_samples: 0,
    wait_other_samples: 0,
    first_seen: "2026-03-01T09:59:45.000001Z",
    last_seen: "2026-03-01T10:00:00.935956Z",
  }]);
});

Deno.test("querylens NRI: the QPM documents stay byte for byte what they are without pg_querylens data", () => {
  for (
    const variant of [{}, { isRds: true }, { compat: false }, { protocol: 4 as const }, { pretty: true }]
  ) {
    const opts = { ...DEFAULTS, ...variant };
    const plain = encodeQpmDocuments(fixtureSnapshot(), opts).documents;
    const docs = encodeQpmDocuments(withQueryLens(), opts).documents;
    assert.deepEqual(docs.slice(0, plain.length), plain, JSON.stringify(variant));
    assert.equal(docs.length, plain.length + 2, JSON.stringify(variant));
  }
});

Deno.test("querylens NRI: published after the other types in both modes, and in protocol 4", () => {
  const qpmNames = QPM_EVENT_TYPES.map((t) => t.eventType);
  for (const compat of [true, false]) {
    const types = qpmMetricSets(withQueryLens(), { isRds: false, compat }).types.map((t) => t.eventType);
    assert.deepEqual(types.slice(-2), ["PostgresQueryExecutions", "PostgresQueryPlanAggregates"]);
    assert.ok(qpmNames.every((n) => types.indexOf(n) < types.length - 2));
  }
  const v4 = encodeQpmDocuments(withQueryLens(), { ...DEFAULTS, protocol: 4 }).documents
    .map((d) => JSON.parse(d).data[0].events);
  const [execEvents, aggEvents] = v4.slice(-2);
  assert.equal(execEvents[0].category, "PostgresQueryExecutions");
  assert.equal(execEvents[0].attributes.duration_ms, 812.5);
  assert.equal(aggEvents[0].category, "PostgresQueryPlanAggregates");
});

Deno.test("querylens NRI: only the catalog's keys, plus event_type and the SDK attributes", () => {
  const docs = encodeQpmDocuments(withQueryLens(), { ...DEFAULTS, cluster: "c", service: "s" }).documents;
  for (
    const [doc, spec] of [[docs.at(-2)!, QUERY_EXECUTIONS], [docs.at(-1)!, QUERY_PLAN_AGGREGATES]] as const
  ) {
    const allowed = new Set([...spec.fields.map((f) => f.nri), "event_type", "cluster_name", "service_name"]);
    const set = JSON.parse(doc).data[0].metrics[0];
    for (const key of Object.keys(set)) assert.ok(allowed.has(key), `${spec.eventType} emits ${key}`);
    assert.equal(set.cluster_name, "c");
    for (const f of spec.fields.filter((f) => f.required)) {
      assert.ok(f.nri in set, `${spec.eventType} ${f.nri}`);
    }
  }
  for (const internal of ["dbid", "userid", "start_unix_us", "startUnixUs", "first_seen_unix_us"]) {
    assert.ok(!docs.some((d) => d.includes(`"${internal}"`)), internal);
  }
});

Deno.test("querylens NRI: absent data publishes no type; an empty list publishes no document", () => {
  assert.deepEqual(queryLensMetricSets(fixtureSnapshot()), { types: [], dropped: [] });
  const empty = { ...fixtureSnapshot(), queryExecutions: [], queryLensAggregates: [] };
  assert.deepEqual(queryLensMetricSets(empty).types, [
    { eventType: "PostgresQueryExecutions", sets: [] },
    { eventType: "PostgresQueryPlanAggregates", sets: [] },
  ]);
  const docs = encodeQpmDocuments(empty, DEFAULTS).documents;
  assert.deepEqual(docs, encodeQpmDocuments(fixtureSnapshot(), DEFAULTS).documents);
  const onlyAggregates = { ...fixtureSnapshot(), queryLensAggregates: [AGGREGATE] };
  assert.equal(
    eventTypeOf(encodeQpmDocuments(onlyAggregates, DEFAULTS).documents.at(-1)!),
    "PostgresQueryPlanAggregates",
  );
});

Deno.test("querylens NRI: a value that is not a finite number is dropped and reported, the row kept", () => {
  const snap = { ...fixtureSnapshot(), queryExecutions: [{ ...EXECUTION, durationMs: NaN }] };
  const { types, dropped } = queryLensMetricSets(snap);
  assert.deepEqual(dropped, [{
    eventType: "PostgresQueryExecutions",
    key: "duration_ms",
    reason: "not a finite number: NaN",
  }]);
  assert.ok(!types[0].sets[0].has("duration_ms"));
  assert.equal(types[0].sets[0].get("query_id"), "-6482174329745523713");
});

Deno.test("querylens NRI: more than 600 executions are split into documents of 600", () => {
  const many = Array.from({ length: 1001 }, (_, i) => ({ ...EXECUTION, execSeq: i }));
  const docs = encodeQpmDocuments({ ...fixtureSnapshot(), queryExecutions: many }, DEFAULTS).documents
    .filter((d) => eventTypeOf(d) === "PostgresQueryExecutions");
  assert.deepEqual(docs.map((d) => JSON.parse(d).data[0].metrics.length), [600, 401]);
});
