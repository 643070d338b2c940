import assert from "node:assert/strict";
import {
  assertExtendedDocumentsValid,
  assertOtherDocumentsUnchanged,
  fixtureSnapshot,
  NRI_TEST_OPTIONS,
} from "../../tests/support/extended_nri.ts";
import type { AshAggregate, UnifiedMetrics } from "../core/model.ts";
import { validateDocument } from "../../tests/support/schema.ts";
import { ashMetricSets } from "./ash.ts";
import { encodeQpmDocuments, type NriOptions, qpmMetricSets } from "./qpm.ts";

const DEFAULTS: NriOptions = NRI_TEST_OPTIONS;

const WINDOW = {
  windowSamples: 15,
  sampleIntervalMs: 1000,
  windowStart: "2026-03-01T10:00:00.250Z",
  windowStartUnixMs: 1_772_359_200_250,
  windowEnd: "2026-03-01T10:00:14.250Z",
  windowEndUnixMs: 1_772_359_214_250,
};

const LOCK_WAIT: AshAggregate = {
  databaseName: "shop",
  userName: "app",
  state: "active",
  waitEventType: "Lock",
  waitEvent: "transactionid",
  queryId: "-6482174329745523713",
  samples: 30,
  sessions: 2,
  averageActiveSessions: 2,
  cpuSeconds: 0.01,
  cpuSamples: 28,
  blockedSamples: 30,
  blockingPids: "4242,4250",
  ...WINDOW,
};

const ON_CPU: AshAggregate = {
  databaseName: "shop",
  state: "active",
  samples: 3,
  sessions: 1,
  averageActiveSessions: 0.2,
  cpuSamples: 0,
  blockedSamples: 0,
  ...WINDOW,
};

const withAsh = (rows: AshAggregate[] = [LOCK_WAIT, ON_CPU]): UnifiedMetrics => ({
  ...fixtureSnapshot(),
  activeSessionHistory: rows,
});

Deno.test("ash NRI: one metric set per group, exactly the catalog's keys", () => {
  const { types, dropped } = ashMetricSets(withAsh(), { cluster: "prod" });
  assert.deepEqual(dropped, []);
  assert.equal(types.length, 1);
  assert.equal(types[0].eventType, "PostgresActiveSessionHistory");
  assert.deepEqual(Object.fromEntries(types[0].sets[0]), {
    event_type: "PostgresActiveSessionHistory",
    database_name: "shop",
    user_name: "app",
    state: "active",
    wait_event_type: "Lock",
    wait_event: "transactionid",
    query_id: "-6482174329745523713",
    samples: 30,
    sessions: 2,
    average_active_sessions: 2,
    cpu_seconds: 0.01,
    cpu_samples: 28,
    blocked_samples: 30,
    blocking_pids: "4242,4250",
    window_samples: 15,
    sample_interval_ms: 1000,
    window_start: "2026-03-01T10:00:00.250Z",
    window_end: "2026-03-01T10:00:14.250Z",
    cluster_name: "prod",
  });
  assert.deepEqual(Object.fromEntries(types[0].sets[1]), {
    event_type: "PostgresActiveSessionHistory",
    database_name: "shop",
    state: "active",
    samples: 3,
    sessions: 1,
    average_active_sessions: 0.2,
    cpu_samples: 0,
    blocked_samples: 0,
    window_samples: 15,
    sample_interval_ms: 1000,
    window_start: "2026-03-01T10:00:00.250Z",
    window_end: "2026-03-01T10:00:14.250Z",
    cluster_name: "prod",
  });
});

Deno.test("ash NRI: the QPM documents stay byte for byte what they are without it; it comes last", () => {
  assertOtherDocumentsUnchanged(withAsh);
  const types = qpmMetricSets(
    { ...withAsh(), queryExecutions: [], queryLensAggregates: [] },
    { isRds: false, compat: true },
  ).types.map((t) => t.eventType);
  assert.deepEqual(types.slice(-3), [
    "PostgresQueryExecutions",
    "PostgresQueryPlanAggregates",
    "PostgresActiveSessionHistory",
  ]);
});

Deno.test("ash NRI: documents meet the closed schema in protocol 3 and 4, with or without SDK keys", () => {
  assertExtendedDocumentsValid(withAsh, "active-session-history.schema.json");
});

Deno.test("ash NRI: the schema refuses unknown keys, missing keys and wrong values", () => {
  const doc = JSON.parse(encodeQpmDocuments(withAsh(), DEFAULTS).documents.at(-1)!);
  const errorsWith = (change: Record<string, unknown>, drop?: string) => {
    const copy = structuredClone(doc);
    const set = copy.data[0].metrics[0];
    Object.assign(set, change);
    if (drop) delete set[drop];
    return validateDocument(copy).errors;
  };
  assert.deepEqual(errorsWith({ pid: 1 }), ["/data/0/metrics/0 must NOT have additional properties (pid)"]);
  assert.deepEqual(errorsWith({}, "state"), ["/data/0/metrics/0 must have required property 'state'"]);
  assert.deepEqual(errorsWith({ state: "idle" }), [
    "/data/0/metrics/0/state must be equal to one of the allowed values",
  ]);
  assert.deepEqual(errorsWith({ samples: 0 }), ["/data/0/metrics/0/samples must be >= 1"]);
  assert.deepEqual(errorsWith({ blocking_pids: "4242, 4250" }), [
    '/data/0/metrics/0/blocking_pids must match pattern "^[0-9]+(,[0-9]+)*$"',
  ]);
  assert.deepEqual(errorsWith({ query_id: 12 }), ["/data/0/metrics/0/query_id must be string"]);
  assert.deepEqual(errorsWith({ window_end: "soon" }), [
    '/data/0/metrics/0/window_end must match format "date-time"',
  ]);
});

Deno.test("ash NRI: absent history publishes nothing; an empty one no document", () => {
  assert.deepEqual(ashMetricSets(fixtureSnapshot()), { types: [], dropped: [] });
  assert.deepEqual(
    encodeQpmDocuments(withAsh([]), DEFAULTS).documents,
    encodeQpmDocuments(fixtureSnapshot(), DEFAULTS).documents,
  );
  const { types, dropped } = ashMetricSets(withAsh([{ ...ON_CPU, averageActiveSessions: NaN }]));
  assert.deepEqual(dropped, [{
    eventType: "PostgresActiveSessionHistory",
    key: "average_active_sessions",
    reason: "not a finite number: NaN",
  }]);
  assert.equal(types[0].sets[0].get("samples"), 3);
});
