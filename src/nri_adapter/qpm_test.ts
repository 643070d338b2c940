import assert from "node:assert/strict";
import { join } from "node:path";
import {
  EXTENDED_EVENT_TYPES,
  nriPublishOrder,
  QPM_EVENT_TYPES,
  qpmPublishOrder,
  SLOW_QUERIES,
  SLOW_QUERY_DETAIL_FIELDS,
  SLOW_QUERY_DETAILS,
} from "../core/catalog.ts";
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
const DETAILS = "PgQueryLensSlowQueryDetails";
const QPM_TYPE_NAMES = new Set(QPM_EVENT_TYPES.map((s) => s.eventType));

/** Event type of a v3 or v4 document (every document holds one type). */
function docType(doc: string): string {
  const item = JSON.parse(doc).data[0];
  return item.metrics[0]?.event_type ?? item.events[0].category;
}

/** Splits documents into the five QPM types' and the others', asserting the QPM ones come first. */
function splitQpm(documents: string[]): { qpm: string[]; extended: string[] } {
  const qpm = documents.filter((d) => QPM_TYPE_NAMES.has(docType(d)));
  const extended = documents.filter((d) => !QPM_TYPE_NAMES.has(docType(d)));
  assert.deepEqual(documents, [...qpm, ...extended], "extended documents follow the QPM ones");
  return { qpm, extended };
}

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

Deno.test("qpm: default pipeline output matches its golden files byte for byte", () => {
  const { documents, dropped } = encodeQpmDocuments(fixtureSnapshot(), DEFAULTS);
  assert.deepEqual(dropped, []);
  const { qpm, extended } = splitQpm(documents);
  assert.equal(qpm.join(""), golden("qpm-default.golden"));
  assert.equal(extended.join(""), golden("slow-query-details.golden"));
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
  const { qpm, extended } = splitQpm(documents);
  assert.equal(qpm.join(""), golden("qpm-rds-decorated.golden"));
  assert.deepEqual(extended.map(docType), [DETAILS]);
});

Deno.test("qpm: pretty output matches its golden file", () => {
  const { documents } = encodeQpmDocuments(fixtureSnapshot(), { ...DEFAULTS, pretty: true });
  const { qpm, extended } = splitQpm(documents);
  assert.equal(qpm.join(""), golden("qpm-pretty.golden"));
  assert.deepEqual(extended.map(docType), [DETAILS]);
  assert.ok(documents[0].startsWith('{\n\t"name": "com.newrelic.postgresql",\n'));
  assert.ok(extended[0].startsWith('{\n\t"name": "com.newrelic.postgresql",\n'));
});

Deno.test("qpm: protocol 4 output matches its golden file", () => {
  const { documents } = encodeQpmDocuments(fixtureSnapshot(), { ...DEFAULTS, protocol: 4 });
  const { qpm, extended } = splitQpm(documents);
  assert.equal(qpm.join(""), golden("qpm-v4.golden"));
  assert.deepEqual(extended.map(docType), [DETAILS]);
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
    assert.equal(docs.length, 6, JSON.stringify(variant));
    assert.deepEqual(
      encodeQpmDocuments(snap, { ...DEFAULTS, ...variant, compat: true }).documents,
      documents,
      "compat defaults to true",
    );
    if (variant.protocol !== 4) assert.equal(docs[5].schema, "slow-query-details.schema.json");
  }
});

Deno.test("qpm: compat-off output fails the upstream schema and passes the relaxed one", () => {
  const snap = fixtureSnapshot();
  for (const protocol of [3, 4] as const) {
    const stdout = encodeQpmDocuments(snap, { ...DEFAULTS, protocol, compat: false }).documents.join("");
    const where = protocol === 3 ? "/data/0/metrics/0" : "/data/0/events/0/attributes";
    assert.throws(
      () => assertValidDocuments(stdout),
      (e: unknown) => {
        const msg = (e as Error).message;
        // Only the PostgresSlowQueries document (the third in the default order) is refused.
        assert.ok(msg.split("\n").slice(1).every((line) => line.startsWith("line 3 [")), msg);
        for (const key of ["total_exec_time_ms", "rows"]) {
          assert.ok(msg.includes(`${where} must NOT have additional properties (${key})`), msg);
        }
        return true;
      },
    );
    const docs = assertValidDocuments(stdout, { compat: false });
    assert.equal(docs.length, 5, `protocol ${protocol}`);
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
  assert.deepEqual(docs.map((d) => [d.data[0].metrics[0].event_type, d.data[0].metrics.length]), [
    ["PostgresSlowQueries", 600],
    ["PostgresSlowQueries", 600],
    ["PostgresSlowQueries", 1],
    [DETAILS, 600],
    [DETAILS, 600],
    [DETAILS, 1],
  ]);
  for (const part of [docs.slice(0, 3), docs.slice(3)]) {
    assert.deepEqual(
      part.flatMap((d) => d.data[0].metrics.map((m: { query_id: string }) => Number(m.query_id))),
      Array.from({ length: 1201 }, (_, i) => i),
    );
  }
  assert.equal(assertValidDocuments(documents.join("")).length, 6);
  assert.deepEqual(
    parse(encodeQpmDocuments(snap, { ...DEFAULTS, batchSize: 1000, compat: false }).documents).map((d) =>
      d.data[0].metrics.length
    ),
    [
      1000,
      201,
    ],
  );
});

Deno.test("qpm: types are published in the default or the RDS pipeline's order, extended ones last", () => {
  const snap = fixtureSnapshot();
  const defaultOrder = [
    "PostgresWaitEvents",
    "PostgresBlockingSessions",
    "PostgresSlowQueries",
    "PostgresIndividualQueries",
    "PostgresExecutionPlanMetrics",
  ];
  const rdsOrder = [
    "PostgresSlowQueries",
    "PostgresIndividualQueries",
    "PostgresExecutionPlanMetrics",
    "PostgresWaitEvents",
    "PostgresBlockingSessions",
  ];
  assert.deepEqual(eventTypes(encodeQpmDocuments(snap, DEFAULTS).documents), [...defaultOrder, DETAILS]);
  assert.deepEqual(eventTypes(encodeQpmDocuments(snap, { ...DEFAULTS, isRds: true }).documents), [
    ...rdsOrder,
    DETAILS,
  ]);
  assert.deepEqual(
    eventTypes(encodeQpmDocuments(snap, { ...DEFAULTS, compat: false }).documents),
    defaultOrder,
  );
  assert.deepEqual(
    eventTypes(encodeQpmDocuments(snap, { ...DEFAULTS, isRds: true, compat: false }).documents),
    rdsOrder,
  );
  const v4 = parse(encodeQpmDocuments(snap, { ...DEFAULTS, isRds: true, protocol: 4 }).documents);
  assert.deepEqual(
    v4.map((d) => d.data[0].events[0].category),
    nriPublishOrder(true, true).map((s) => s.eventType),
  );
});

Deno.test("qpm: nriPublishOrder reuses the catalog's declarations", () => {
  for (const isRds of [false, true]) {
    const on = nriPublishOrder(isRds, true);
    assert.deepEqual(on, [...qpmPublishOrder(isRds), ...EXTENDED_EVENT_TYPES]);
    assert.ok(on.slice(0, 5).every((spec, i) => spec === qpmPublishOrder(isRds)[i]));
    const off = nriPublishOrder(isRds, false);
    assert.deepEqual(off.map((s) => s.eventType), qpmPublishOrder(isRds).map((s) => s.eventType));
    const slow = off.find((s) => s.eventType === "PostgresSlowQueries")!;
    assert.deepEqual(slow.fields, [...SLOW_QUERIES.fields, ...SLOW_QUERY_DETAIL_FIELDS]);
    for (const spec of off.filter((s) => s !== slow)) assert.ok(QPM_EVENT_TYPES.includes(spec));
  }
  assert.equal(SLOW_QUERIES.fields.length, 10, "the upstream type itself is never extended");
  const slowNames = new Set(SLOW_QUERIES.fields.map((f) => f.nri));
  assert.deepEqual(SLOW_QUERY_DETAIL_FIELDS.map((f) => f.nri), ["total_exec_time_ms", "rows"]);
  assert.ok(SLOW_QUERY_DETAIL_FIELDS.every((f) => !slowNames.has(f.nri)));
  assert.equal(SLOW_QUERY_DETAILS.source, SLOW_QUERIES.source);
  assert.deepEqual(SLOW_QUERY_DETAILS.fields.map((f) => f.nri), [
    "query_id",
    "database_name",
    "total_exec_time_ms",
    "rows",
    "collection_timestamp",
  ]);
  for (const f of SLOW_QUERY_DETAILS.fields) {
    assert.ok(SLOW_QUERIES.fields.includes(f) || SLOW_QUERY_DETAIL_FIELDS.includes(f), f.nri);
  }
});

Deno.test("qpm: compat off puts the detail fields into PostgresSlowQueries and publishes no details", () => {
  const snap = fixtureSnapshot();
  const on = encodeQpmDocuments(snap, DEFAULTS).documents;
  const off = encodeQpmDocuments(snap, { ...DEFAULTS, compat: false }).documents;
  assert.ok(!off.some((d) => docType(d) === DETAILS));
  assert.equal(off.length, 5);
  for (let i = 0; i < off.length; i++) {
    if (docType(off[i]) !== "PostgresSlowQueries") assert.equal(off[i], on[i], docType(off[i]));
  }
  const slowOff = JSON.parse(off[2]).data[0].metrics;
  const slowOn = JSON.parse(on[2]).data[0].metrics;
  assert.deepEqual(slowOff[0], { ...slowOn[0], total_exec_time_ms: 18972.64, rows: 45600 });
  assert.deepEqual(slowOff[1], slowOn[1], "SQL NULL details stay omitted");
  assert.equal(snap.slowQueries[1].totalExecTimeMs, undefined);
  const v4 = parse(encodeQpmDocuments(snap, { ...DEFAULTS, compat: false, protocol: 4 }).documents);
  assert.deepEqual(v4[2].data[0].events.map((e: { attributes: unknown }) => e.attributes), slowOff);
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
    assert.equal(docs.length, QPM_EVENT_TYPES.length + EXTENDED_EVENT_TYPES.length);
    for (const doc of docs) {
      const eventType = doc.data[0].metrics[0].event_type;
      const spec = [...QPM_EVENT_TYPES, ...EXTENDED_EVENT_TYPES].find((s) => s.eventType === eventType);
      assert.ok(spec, eventType);
      const allowed = new Set([...spec.fields.map((f) => f.nri), ...sdkKeys]);
      for (const set of doc.data[0].metrics) {
        assert.equal(set.event_type, eventType);
        for (const key of Object.keys(set)) assert.ok(allowed.has(key), `${eventType} emits ${key}`);
      }
    }
  }
  const { qpm, extended } = splitQpm(encodeQpmDocuments(snap, DEFAULTS).documents);
  const all = qpm.join("");
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
  const details = JSON.parse(extended[0]).data[0].metrics;
  assert.deepEqual(details[0], {
    event_type: DETAILS,
    query_id: snap.slowQueries[0].queryId,
    database_name: snap.slowQueries[0].databaseName,
    total_exec_time_ms: snap.slowQueries[0].totalExecTimeMs,
    rows: snap.slowQueries[0].rows,
    collection_timestamp: snap.slowQueries[0].collectionTimestamp,
  });
  assert.ok(!extended[0].includes("pg_stat_monitor") && !extended[0].includes("SELECT o.*"));
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
  const five = [
    ["PostgresWaitEvents", 0],
    ["PostgresBlockingSessions", 2],
    ["PostgresSlowQueries", 2],
    ["PostgresIndividualQueries", 2],
    ["PostgresExecutionPlanMetrics", 3],
  ];
  assert.deepEqual(types.map((t) => [t.eventType, t.sets.length]), [...five, [DETAILS, 2]]);
  snap.slowQueries = [];
  const off = qpmMetricSets(snap, { isRds: false, compat: false }).types;
  assert.deepEqual(off.map((t) => [t.eventType, t.sets.length]), [
    ...five.map(([t, n]) => [t, t === "PostgresSlowQueries" ? 0 : n]),
  ]);
  const on = qpmMetricSets(snap, { isRds: false, compat: true }).types;
  assert.deepEqual(on.at(-1), { eventType: DETAILS, sets: [] });
});

Deno.test("qpm: an unknown protocol version is refused", () => {
  assert.throws(
    () => encodeQpmDocuments(fixtureSnapshot(), { ...DEFAULTS, protocol: 5 as unknown as 3 }),
    /NRI protocol must be 3 or 4, got 5/,
  );
});
