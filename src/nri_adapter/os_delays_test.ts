import assert from "node:assert/strict";
import {
  assertExtendedDocumentsValid,
  assertOtherDocumentsUnchanged,
  fixtureSnapshot,
  NRI_TEST_OPTIONS,
} from "../../tests/support/extended_nri.ts";
import type { QueryOsDelay, UnifiedMetrics } from "../core/model.ts";
import { validateDocument } from "../../tests/support/schema.ts";
import { osDelayMetricSets } from "./os_delays.ts";
import { encodeQpmDocuments, type NriOptions, qpmMetricSets } from "./qpm.ts";

const DEFAULTS: NriOptions = NRI_TEST_OPTIONS;

/** A lock wait joined to its pg_querylens execution. */
const BLOCKED: QueryOsDelay = {
  pid: 4242,
  databaseName: "shop",
  userName: "app",
  protocol: "extended",
  aborted: false,
  startTime: "2026-03-01T10:00:00.250125Z",
  startUnixUs: 1_772_359_200_250_125,
  durationMs: 1503.25,
  onCpuMs: 1.5,
  runQueueMs: 0.25,
  ioWaitMs: 0,
  sleepMs: 1501.5,
  switches: 3,
  queryText: "UPDATE accounts SET balance = balance + ? WHERE id = ?",
  queryId: "-6482174329745523713",
  planId: "771",
  execSeq: 18,
};

/** A failed query of a backend gone before the cycle: no database, no join. */
const FAILED: QueryOsDelay = {
  pid: 4250,
  protocol: "simple",
  aborted: true,
  startTime: "2026-03-01T10:00:01.000000Z",
  startUnixUs: 1_772_359_201_000_000,
  durationMs: 12,
  onCpuMs: 12,
  runQueueMs: 0,
  ioWaitMs: 0,
  sleepMs: 0,
  switches: 0,
};

const withDelays = (rows: QueryOsDelay[] = [BLOCKED, FAILED]): UnifiedMetrics => ({
  ...fixtureSnapshot(),
  queryOsDelays: rows,
});

Deno.test("os delays NRI: one metric set per traced query, exactly the catalog's keys", () => {
  const { types, dropped } = osDelayMetricSets(withDelays(), { cluster: "prod" });
  assert.deepEqual(dropped, []);
  assert.deepEqual(types.map((t) => t.eventType), ["PostgresQueryOsDelays"]);
  assert.deepEqual(Object.fromEntries(types[0].sets[0]), {
    event_type: "PostgresQueryOsDelays",
    pid: 4242,
    database_name: "shop",
    user_name: "app",
    protocol: "extended",
    aborted: 0,
    start_time: "2026-03-01T10:00:00.250125Z",
    duration_ms: 1503.25,
    on_cpu_ms: 1.5,
    run_queue_ms: 0.25,
    io_wait_ms: 0,
    sleep_ms: 1501.5,
    switches: 3,
    query_text: "UPDATE accounts SET balance = balance + ? WHERE id = ?",
    query_id: "-6482174329745523713",
    plan_id: "771",
    exec_seq: 18,
    cluster_name: "prod",
  });
  assert.deepEqual(Object.fromEntries(types[0].sets[1]), {
    event_type: "PostgresQueryOsDelays",
    pid: 4250,
    protocol: "simple",
    aborted: 1,
    start_time: "2026-03-01T10:00:01.000000Z",
    duration_ms: 12,
    on_cpu_ms: 12,
    run_queue_ms: 0,
    io_wait_ms: 0,
    sleep_ms: 0,
    switches: 0,
    cluster_name: "prod",
  });
});

Deno.test("os delays NRI: the other documents stay byte for byte what they are without it; it comes last", () => {
  assertOtherDocumentsUnchanged(withDelays);
  const types = qpmMetricSets(
    { ...withDelays(), queryExecutions: [], activeSessionHistory: [] },
    { isRds: false, compat: true },
  ).types.map((t) => t.eventType);
  assert.deepEqual(types.slice(-3), [
    "PostgresQueryExecutions",
    "PostgresActiveSessionHistory",
    "PostgresQueryOsDelays",
  ]);
});

Deno.test("os delays NRI: documents meet the closed schema in protocol 3 and 4, with or without SDK keys", () => {
  assertExtendedDocumentsValid(withDelays, "query-os-delays.schema.json");
});

Deno.test("os delays NRI: the schema refuses unknown keys, missing keys and wrong values", () => {
  const doc = JSON.parse(encodeQpmDocuments(withDelays(), DEFAULTS).documents.at(-1)!);
  const errorsWith = (change: Record<string, unknown>, drop?: string) => {
    const copy = structuredClone(doc);
    const set = copy.data[0].metrics[0];
    Object.assign(set, change);
    if (drop) delete set[drop];
    return validateDocument(copy).errors;
  };
  assert.deepEqual(errorsWith({ state: "S" }), [
    "/data/0/metrics/0 must NOT have additional properties (state)",
  ]);
  assert.deepEqual(errorsWith({}, "io_wait_ms"), [
    "/data/0/metrics/0 must have required property 'io_wait_ms'",
  ]);
  assert.deepEqual(errorsWith({ protocol: "copy" }), [
    "/data/0/metrics/0/protocol must be equal to one of the allowed values",
  ]);
  assert.deepEqual(errorsWith({ aborted: 2 }), [
    "/data/0/metrics/0/aborted must be equal to one of the allowed values",
  ]);
  assert.deepEqual(errorsWith({ sleep_ms: -1 }), ["/data/0/metrics/0/sleep_ms must be >= 0"]);
  assert.deepEqual(errorsWith({ query_id: 12 }), ["/data/0/metrics/0/query_id must be string"]);
  assert.deepEqual(errorsWith({ start_time: "soon" }), [
    '/data/0/metrics/0/start_time must match format "date-time"',
  ]);
});

Deno.test("os delays NRI: absent rows publish nothing; an empty list no document", () => {
  assert.deepEqual(osDelayMetricSets(fixtureSnapshot()), { types: [], dropped: [] });
  assert.deepEqual(
    encodeQpmDocuments(withDelays([]), DEFAULTS).documents,
    encodeQpmDocuments(fixtureSnapshot(), DEFAULTS).documents,
  );
  const { types, dropped } = osDelayMetricSets(withDelays([{ ...FAILED, onCpuMs: Infinity }]));
  assert.deepEqual(dropped, [{
    eventType: "PostgresQueryOsDelays",
    key: "on_cpu_ms",
    reason: "not a finite number: Infinity",
  }]);
  assert.equal(types[0].sets[0].get("duration_ms"), 12);
});
