import assert from "node:assert/strict";
import { join } from "node:path";
import { QPM_EVENT_TYPES, qpmPublishOrder } from "../core/catalog.ts";
import { emptySnapshot, type UnifiedMetrics } from "../core/model.ts";
import { assertValidDocuments } from "../../tests/support/schema.ts";
import { encodeQpmDocuments, type NriOptions, qpmMetricSets } from "./qpm.ts";

const FIXTURES = join(import.meta.dirname!, "..", "..", "tests", "fixtures", "nri");

/** The fixture snapshot: rows of all five types, with the awkward cases the goldens must cover. */
function fixtureSnapshot(): UnifiedMetrics {
  const raw = JSON.parse(Deno.readTextFileSync(join(FIXTURES, "snapshot.json")));
  return { ...raw, collectedAt: new Date(raw.collectedAt) };
}

const golden = (name: string) => Deno.readTextFileSync(join(FIXTURES, name));

const DEFAULTS: NriOptions = {
  integrationVersion: "0.1.0",
  pretty: false,
  addHostname: false,
  isRds: false,
  protocol: 3,
};

const parse = (docs: string[]) => docs.map((d) => JSON.parse(d));
const eventTypes = (docs: string[]) => parse(docs).map((d) => d.data[0].metrics[0].event_type);

Deno.test("qpm: the fixture holds the cases the goldens are meant to pin down", () => {
  const snap = fixtureSnapshot();
  const text = snap.slowQueries[0].queryText;
  for (const needle of ["<", ">", "&", "é", "🐘", "\u2028"]) assert.ok(text.includes(needle), needle);
  assert.equal(snap.slowQueries[0].queryId, "-6410924811397428219");
  assert.equal(snap.waitEvents[1].totalWaitTimeMs, undefined);
  assert.equal(snap.blockingSessions[1].blockedQueryId, undefined);
  assert.equal(snap.blockingSessions[1].blockingQueryId, undefined);
  assert.equal(snap.individualQueries[1].cpuTimeMs, undefined);
  for (
    const source of [
      "slowQueries",
      "waitEvents",
      "blockingSessions",
      "individualQueries",
      "executionPlans",
    ] as const
  ) {
    assert.ok(snap[source].length > 0, source);
  }
});

Deno.test("qpm: default pipeline output matches its golden file byte for byte", () => {
  const { documents, dropped } = encodeQpmDocuments(fixtureSnapshot(), DEFAULTS);
  assert.deepEqual(dropped, []);
  assert.equal(documents.join(""), golden("qpm-default.golden"));
  assert.ok(documents.every((d) => d.endsWith("}\n") && d.indexOf("\n") === d.length - 1));
});

Deno.test("qpm: RDS order with add_hostname, cluster and service matches its golden file", () => {
  const { documents } = encodeQpmDocuments(fixtureSnapshot(), {
    ...DEFAULTS,
    isRds: true,
    addHostname: true,
    cluster: "prod-eu",
    service: "<checkout & pay>",
  });
  assert.equal(documents.join(""), golden("qpm-rds-decorated.golden"));
});

Deno.test("qpm: pretty output matches its golden file", () => {
  const { documents } = encodeQpmDocuments(fixtureSnapshot(), { ...DEFAULTS, pretty: true });
  assert.equal(documents.join(""), golden("qpm-pretty.golden"));
  assert.ok(documents[0].startsWith('{\n\t"name": "com.newrelic.postgresql",\n'));
});

Deno.test("qpm: protocol 4 output matches its golden file", () => {
  const { documents } = encodeQpmDocuments(fixtureSnapshot(), { ...DEFAULTS, protocol: 4 });
  assert.equal(documents.join(""), golden("qpm-v4.golden"));
});

Deno.test("qpm: every emitted document validates against the schemas", () => {
  const snap = fixtureSnapshot();
  const variants: Partial<NriOptions>[] = [
    {},
    { isRds: true },
    { pretty: true },
    { addHostname: true, cluster: "prod", service: "shop" },
    { protocol: 4 },
    { protocol: 4, pretty: true, cluster: "prod" },
  ];
  for (const variant of variants) {
    const { documents } = encodeQpmDocuments(snap, { ...DEFAULTS, ...variant });
    const docs = assertValidDocuments(documents.join(""));
    assert.equal(docs.length, 5, JSON.stringify(variant));
  }
});

Deno.test("qpm: the awkward values come out as nri-postgresql writes them", () => {
  const [waits, blocking, slow] = parse(encodeQpmDocuments(fixtureSnapshot(), DEFAULTS).documents);
  const raw = encodeQpmDocuments(fixtureSnapshot(), DEFAULTS).documents[2];
  assert.ok(
    raw.includes(
      "o.total \\u003e $1 AND o.total \\u003c $2 AND o.note \\u003c\\u003e $3 AND o.flag \\u0026 $4",
    ),
  );
  assert.ok(raw.includes("café 🐘 \\u2028 end"));
  assert.equal(slow.data[0].metrics[0].query_id, "-6410924811397428219");
  assert.ok(!("total_wait_time_ms" in waits.data[0].metrics[1]));
  assert.equal(waits.data[0].metrics[0].total_wait_time_ms, 30012.25);
  assert.ok(!("blocked_query_id" in blocking.data[0].metrics[1]));
  assert.ok(!("blocking_query_id" in blocking.data[0].metrics[1]));
  assert.equal(blocking.data[0].metrics[0].blocking_query_id, "-1044378230910722512");
});

Deno.test("qpm: 1201 slow queries are published as documents of 600, 600 and 1", () => {
  const snap = fixtureSnapshot();
  const base = snap.slowQueries[0];
  snap.slowQueries = Array.from({ length: 1201 }, (_, i) => ({ ...base, queryId: String(i) }));
  snap.waitEvents = [];
  snap.blockingSessions = [];
  snap.individualQueries = [];
  snap.executionPlans = [];
  const { documents } = encodeQpmDocuments(snap, DEFAULTS);
  const docs = parse(documents);
  assert.deepEqual(docs.map((d) => d.data[0].metrics.length), [600, 600, 1]);
  assert.deepEqual(
    docs.flatMap((d) => d.data[0].metrics.map((m: { query_id: string }) => Number(m.query_id))),
    Array.from({ length: 1201 }, (_, i) => i),
  );
  assert.equal(assertValidDocuments(documents.join("")).length, 3);
  assert.deepEqual(
    parse(encodeQpmDocuments(snap, { ...DEFAULTS, batchSize: 1000 }).documents).map((d) =>
      d.data[0].metrics.length
    ),
    [
      1000,
      201,
    ],
  );
});

Deno.test("qpm: types are published in the default or the RDS pipeline's order", () => {
  const snap = fixtureSnapshot();
  assert.deepEqual(eventTypes(encodeQpmDocuments(snap, DEFAULTS).documents), [
    "PostgresWaitEvents",
    "PostgresBlockingSessions",
    "PostgresSlowQueries",
    "PostgresIndividualQueries",
    "PostgresExecutionPlanMetrics",
  ]);
  assert.deepEqual(eventTypes(encodeQpmDocuments(snap, { ...DEFAULTS, isRds: true }).documents), [
    "PostgresSlowQueries",
    "PostgresIndividualQueries",
    "PostgresExecutionPlanMetrics",
    "PostgresWaitEvents",
    "PostgresBlockingSessions",
  ]);
  const v4 = parse(encodeQpmDocuments(snap, { ...DEFAULTS, isRds: true, protocol: 4 }).documents);
  assert.deepEqual(
    v4.map((d) => d.data[0].events[0].category),
    qpmPublishOrder(true).map((s) => s.eventType),
  );
});

Deno.test("qpm: an empty type produces no document, an empty snapshot none at all", () => {
  const snap = fixtureSnapshot();
  const empty = emptySnapshot(snap.instance, snap.collectedAt);
  assert.deepEqual(encodeQpmDocuments(empty, DEFAULTS), { documents: [], dropped: [] });
  assert.deepEqual(encodeQpmDocuments(empty, { ...DEFAULTS, protocol: 4 }).documents, []);
  const onlyBlocking = { ...empty, blockingSessions: snap.blockingSessions };
  assert.deepEqual(eventTypes(encodeQpmDocuments(onlyBlocking, DEFAULTS).documents), [
    "PostgresBlockingSessions",
  ]);
});

Deno.test("qpm: cluster_name and service_name go on every metric set, add_hostname on every item", () => {
  const docs = parse(
    encodeQpmDocuments(fixtureSnapshot(), {
      ...DEFAULTS,
      addHostname: true,
      cluster: "prod",
      service: "shop",
    }).documents,
  );
  for (const doc of docs) {
    assert.equal(doc.data[0].add_hostname, true);
    for (const set of doc.data[0].metrics) {
      assert.equal(set.cluster_name, "prod");
      assert.equal(set.service_name, "shop");
    }
  }
  const plain = parse(
    encodeQpmDocuments(fixtureSnapshot(), { ...DEFAULTS, cluster: "", service: "" }).documents,
  );
  for (const doc of plain) {
    assert.ok(!("add_hostname" in doc.data[0]));
    for (const set of doc.data[0].metrics) assert.ok(!("cluster_name" in set) && !("service_name" in set));
  }
});

Deno.test("qpm: compatibility: emitted keys never go beyond the catalog's", () => {
  const snap = fixtureSnapshot();
  const sdkKeys = ["event_type", "cluster_name", "service_name"];
  for (const isRds of [false, true]) {
    const docs = parse(
      encodeQpmDocuments(snap, { ...DEFAULTS, isRds, cluster: "c", service: "s" }).documents,
    );
    assert.equal(docs.length, QPM_EVENT_TYPES.length);
    for (const doc of docs) {
      const eventType = doc.data[0].metrics[0].event_type;
      const spec = QPM_EVENT_TYPES.find((s) => s.eventType === eventType);
      assert.ok(spec, eventType);
      const allowed = new Set([...spec.fields.map((f) => f.nri), ...sdkKeys]);
      for (const set of doc.data[0].metrics) {
        assert.equal(set.event_type, eventType);
        for (const key of Object.keys(set)) assert.ok(allowed.has(key), `${eventType} emits ${key}`);
      }
    }
  }
  const all = encodeQpmDocuments(snap, DEFAULTS).documents.join("");
  for (
    const internal of [
      "pg_stat_monitor",
      "pg_stat_activity",
      "o.total \\u003e 100",
      "balance - 10 WHERE id = 7",
      "18972.64",
      "45600",
    ]
  ) {
    assert.ok(!all.includes(internal), `internal value ${internal} leaked`);
  }
});

Deno.test("qpm: values that are not finite numbers are dropped, counted, and the row kept", () => {
  const snap = fixtureSnapshot();
  snap.slowQueries[0].avgElapsedTimeMs = NaN;
  snap.waitEvents[0].totalWaitTimeMs = Infinity;
  const { documents, dropped } = encodeQpmDocuments(snap, DEFAULTS);
  assert.deepEqual(dropped, [
    { eventType: "PostgresWaitEvents", key: "total_wait_time_ms", reason: "not a finite number: Infinity" },
    { eventType: "PostgresSlowQueries", key: "avg_elapsed_time_ms", reason: "not a finite number: NaN" },
  ]);
  const [waits, , slow] = parse(documents);
  assert.ok(!("total_wait_time_ms" in waits.data[0].metrics[0]));
  assert.equal(waits.data[0].metrics[0].wait_event_name, "Lock:transactionid");
  assert.ok(!("avg_elapsed_time_ms" in slow.data[0].metrics[0]));
  assert.equal(slow.data[0].metrics[0].execution_count, 1520);
});

Deno.test("qpm: protocol 4 carries the same rows as protocol 3", () => {
  const snap = fixtureSnapshot();
  const v3 = parse(encodeQpmDocuments(snap, { ...DEFAULTS, cluster: "c" }).documents);
  const v4 = parse(
    encodeQpmDocuments(snap, { ...DEFAULTS, cluster: "c", protocol: 4, intervalMs: 30000 }).documents,
  );
  assert.equal(v4.length, v3.length);
  for (let i = 0; i < v3.length; i++) {
    const item = v4[i].data[0];
    assert.deepEqual(item.events.map((e: { attributes: unknown }) => e.attributes), v3[i].data[0].metrics);
    assert.equal(item.common.timestamp, snap.collectedAt.getTime());
    assert.equal(item.common["interval.ms"], 30000);
    assert.equal(item.entity.name, "db1.example.net:5432");
  }
});

Deno.test("qpm: qpmMetricSets lists every type in order, empty ones included", () => {
  const snap = fixtureSnapshot();
  snap.waitEvents = [];
  const { types } = qpmMetricSets(snap, { isRds: false });
  assert.deepEqual(types.map((t) => [t.eventType, t.sets.length]), [
    ["PostgresWaitEvents", 0],
    ["PostgresBlockingSessions", 2],
    ["PostgresSlowQueries", 2],
    ["PostgresIndividualQueries", 2],
    ["PostgresExecutionPlanMetrics", 3],
  ]);
});

Deno.test("qpm: an unknown protocol version is refused", () => {
  assert.throws(
    () => encodeQpmDocuments(fixtureSnapshot(), { ...DEFAULTS, protocol: 5 as unknown as 3 }),
    /NRI protocol must be 3 or 4, got 5/,
  );
});
