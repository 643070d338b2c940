import assert from "node:assert/strict";
import slowQueries from "../schemas/slow-queries.schema.json" with { type: "json" };
import {
  assertValidDocuments,
  BASE_SCHEMA,
  EXTENDED_SCHEMAS,
  QPM_SCHEMAS,
  relaxedSlowQueriesSchema,
  V4_SCHEMA,
  validateDocument,
} from "./schema.ts";

type Set = Record<string, unknown>;

function v3Doc(metrics: Set[], entityType = "pg-instance", extraItem: Set = {}): Record<string, unknown> {
  return {
    name: "com.newrelic.postgresql",
    protocol_version: "3",
    integration_version: "0.1.0",
    data: [{
      entity: { name: "db1:5432", type: entityType, id_attributes: [] },
      metrics,
      inventory: {},
      events: [],
      ...extraItem,
    }],
  };
}

const SLOW: Set = {
  event_type: "PostgresSlowQueries",
  query_id: "-6410924811397428219",
  query_text: "SELECT * FROM t WHERE id = $1",
  database_name: "shop",
  schema_name: "public",
  execution_count: 1520,
  avg_elapsed_time_ms: 12.482,
  avg_disk_reads: 3,
  avg_disk_writes: 0,
  statement_type: "SELECT",
  collection_timestamp: "2026-08-19T10:15:00Z",
};

const VALID_SETS: Record<string, Set> = {
  PostgresSlowQueries: SLOW,
  PostgresWaitEvents: {
    event_type: "PostgresWaitEvents",
    wait_event_name: "Lock:transactionid",
    wait_category: "Locks",
    collection_timestamp: "2026-08-19T10:15:00Z",
    query_id: "1",
    query_text: "UPDATE t SET x = $1",
    database_name: "shop",
  },
  PostgresBlockingSessions: {
    event_type: "PostgresBlockingSessions",
    blocked_pid: 41230,
    blocked_query: "UPDATE t SET x = ?",
    blocked_query_start: "2026-08-19T10:14:31.802113Z",
    database_name: "shop",
    blocking_pid: 41188,
    blocking_query: "UPDATE t SET x = ?",
    blocking_query_start: "2026-08-19T10:14:29Z",
  },
  PostgresIndividualQueries: {
    event_type: "PostgresIndividualQueries",
    query_text: "SELECT 1",
    query_id: "7",
    database_name: "shop",
    plan_id: "482913-20260819101500",
    exec_time_ms: 14.073,
  },
  PostgresExecutionPlanMetrics: {
    event_type: "PostgresExecutionPlanMetrics",
    node_type: "Seq Scan",
    parallel_aware: 0,
    async_capable: 0,
    scan_direction: "",
    index_name: "",
    relation_name: "t",
    alias: "t",
    startup_cost: 0,
    total_cost: 35.5,
    plan_rows: 2550,
    plan_width: 4,
    rows_removed_by_filter: 0,
    database_name: "shop",
    query_id: "7",
    plan_id: "482913-20260819101500",
    level_id: 0,
  },
};

const DETAILS: Set = {
  event_type: "PgQueryLensSlowQueryDetails",
  query_id: "-6410924811397428219",
  database_name: "shop",
  total_exec_time_ms: 18972.64,
  rows: 45600,
  collection_timestamp: "2026-08-19T10:15:00Z",
};

/** SLOW as compatibility mode off writes it: with the two detail fields. */
const SLOW_COMPAT_OFF: Set = { ...SLOW, total_exec_time_ms: 18972.64, rows: 45600 };

type MetricSetSchema = { definitions: { metricSet: { required: string[]; properties: object } } };

Deno.test("schema: each QPM type's document is checked against its own schema", () => {
  for (const [eventType, set] of Object.entries(VALID_SETS)) {
    const result = validateDocument(v3Doc([set]));
    assert.equal(result.schema, QPM_SCHEMAS[eventType]);
    assert.deepEqual(result.errors, [], eventType);
  }
});

Deno.test("schema: an extra key on a QPM metric set fails and is named", () => {
  for (const [eventType, set] of Object.entries(VALID_SETS)) {
    const result = validateDocument(v3Doc([{ ...set, total_exec_time_ms: 1 }]));
    assert.ok(
      result.errors.some((e) =>
        e === "/data/0/metrics/0 must NOT have additional properties (total_exec_time_ms)"
      ),
      `${eventType}: ${result.errors.join("; ")}`,
    );
  }
});

Deno.test("schema: a string where a number is required fails", () => {
  const result = validateDocument(v3Doc([{ ...SLOW, execution_count: "1520" }]));
  assert.deepEqual(result.errors, ["/data/0/metrics/0/execution_count must be integer"]);
  const plan = validateDocument(v3Doc([{ ...VALID_SETS.PostgresExecutionPlanMetrics, total_cost: "35.5" }]));
  assert.deepEqual(plan.errors, ["/data/0/metrics/0/total_cost must be number"]);
});

Deno.test("schema: a missing required key fails", () => {
  for (const [eventType, set] of Object.entries(VALID_SETS)) {
    const { database_name: _, ...rest } = set;
    const result = validateDocument(v3Doc([rest]));
    assert.deepEqual(
      result.errors,
      ["/data/0/metrics/0 must have required property 'database_name'"],
      eventType,
    );
  }
});

Deno.test("schema: integers, bounds, constants and date-times are enforced", () => {
  const cases: [Set, string][] = [
    [{ ...SLOW, execution_count: 1.5 }, "/data/0/metrics/0/execution_count must be integer"],
    [{ ...SLOW, avg_disk_reads: -1 }, "/data/0/metrics/0/avg_disk_reads must be >= 0"],
    [
      { ...SLOW, collection_timestamp: "2026-08-19 10:15:00" },
      '/data/0/metrics/0/collection_timestamp must match format "date-time"',
    ],
    [{ ...SLOW, query_id: -64 }, "/data/0/metrics/0/query_id must be string"],
    [
      { ...VALID_SETS.PostgresBlockingSessions, blocked_query_start: "yesterday" },
      '/data/0/metrics/0/blocked_query_start must match format "date-time"',
    ],
    [
      { ...VALID_SETS.PostgresBlockingSessions, blocking_pid: -3 },
      "/data/0/metrics/0/blocking_pid must be >= 0",
    ],
  ];
  for (const [set, expected] of cases) assert.deepEqual(validateDocument(v3Doc([set])).errors, [expected]);
});

Deno.test("schema: the QPM envelope is closed and its entity is pg-instance", () => {
  assert.deepEqual(validateDocument({ ...v3Doc([SLOW]), extra: 1 }).errors, [
    "/ must NOT have additional properties (extra)",
  ]);
  assert.deepEqual(validateDocument(v3Doc([SLOW], "pg-database")).errors, [
    "/data/0/entity/type must be equal to constant",
  ]);
  assert.deepEqual(validateDocument(v3Doc([SLOW], "pg-instance", { note: "x" })).errors, [
    "/data/0 must NOT have additional properties (note)",
  ]);
  const { inventory: _, ...noInventory } = (v3Doc([SLOW]).data as Set[])[0];
  assert.deepEqual(validateDocument({ ...v3Doc([SLOW]), data: [noInventory] }).errors, [
    "/data/0 must have required property 'inventory'",
  ]);
});

Deno.test("schema: the SDK's own additions are accepted on QPM documents", () => {
  const doc = v3Doc([{ ...SLOW, cluster_name: "prod", service_name: "shop" }], "pg-instance", {
    add_hostname: true,
  });
  assert.deepEqual(validateDocument(doc).errors, []);
  assert.deepEqual(validateDocument(v3Doc([SLOW], "pg-instance", { add_hostname: false })).errors, [
    "/data/0/add_hostname must be equal to constant",
  ]);
});

Deno.test("schema: a document mixing a QPM type with another type is refused", () => {
  const result = validateDocument(v3Doc([SLOW, VALID_SETS.PostgresWaitEvents]));
  assert.equal(result.schema, "none");
  assert.match(result.errors[0], /mixes event types PostgresSlowQueries, PostgresWaitEvents/);
  assert.deepEqual(validateDocument([1]).errors, ["/ must be a JSON object (one protocol document)"]);
});

const BASE_INSTANCE = {
  displayName: "db1:5432",
  entityName: "pg-instance:db1:5432",
  event_type: "PostgresqlInstanceSample",
  "bgwriter.buffersWrittenByBackgroundWriterPerSecond": 0,
  "bgwriter.backgroundWriterStopsPerSecond": 0,
  "bgwriter.buffersAllocatedPerSecond": 41.2,
  "some.future.metric": "anything",
};
const BASE_TABLE = {
  displayName: "orders",
  entityName: "table:orders",
  event_type: "PostgresqlTableSample",
  database: "shop",
  schema: "public",
  "table.bloatSizeInBytes": 0,
  "table.dataSizeInBytes": 8192,
  "table.bloatRatio": 0,
};
const ids = (...pairs: [string, string][]) => pairs.map(([Key, Value]) => ({ Key, Value }));

/** A valid base document: the instance with inventory, a table, and a custom-config sample. */
function baseDoc() {
  return structuredClone({
    name: "com.newrelic.postgresql",
    protocol_version: "3",
    integration_version: "0.1.0",
    data: [
      {
        entity: {
          name: "db1:5432",
          type: "pg-instance",
          id_attributes: [] as { Key: string; Value: string }[],
        },
        metrics: [BASE_INSTANCE] as Record<string, unknown>[],
        inventory: {
          "max_connections/setting": { value: "100" },
          "config_file/boot_val": { value: null },
        } as Record<
          string,
          unknown
        >,
        events: [],
      },
      {
        entity: {
          name: "orders",
          type: "pg-table",
          id_attributes: ids(["host", "db1"], ["pg-database", "shop"], ["pg-schema", "public"], [
            "port",
            "5432",
          ]),
        },
        metrics: [BASE_TABLE] as Record<string, unknown>[],
        inventory: {} as Record<string, unknown>,
        events: [],
      },
      {
        entity: { name: "shop", type: "pg-database", id_attributes: ids(["host", "db1"], ["port", "5432"]) },
        metrics: [{ event_type: "PostgresqlCustomSample", database: "shop", n: 1, label: "x" }] as Record<
          string,
          unknown
        >[],
        inventory: {} as Record<string, unknown>,
        events: [],
      },
    ],
  });
}

Deno.test("schema: base documents need naming attributes, typed known keys and each type's keys", () => {
  assert.deepEqual(validateDocument(baseDoc()), { schema: BASE_SCHEMA, errors: [] });

  const broken = baseDoc();
  delete broken.data[0].metrics[0].displayName;
  broken.data[1].metrics[0] = { ...BASE_TABLE, "table.bloatRatio": "0" };
  (broken.data[1].entity.id_attributes[1] as Record<string, unknown>).Value = 5432;
  broken.data[0].inventory["max_connections/reset_val"] = { setting: "100" };
  assert.deepEqual(validateDocument(broken).errors.filter((e) => !e.includes('"then"')).sort(), [
    "/data/0/inventory/max_connections~1reset_val must have required property 'value'",
    "/data/0/metrics/0 must have required property 'displayName'",
    "/data/1/entity/id_attributes/1/Value must be string",
    "/data/1/metrics/0/table.bloatRatio must be number",
  ]);
});

Deno.test("schema: a base metric set lacking a key its event type always carries fails", () => {
  const doc = baseDoc();
  const { "table.dataSizeInBytes": _, ...noData } = BASE_TABLE;
  doc.data[1].metrics = [noData];
  const errors = validateDocument(doc).errors;
  assert.ok(
    errors.includes("/data/1/metrics/0 must have required property 'table.dataSizeInBytes'"),
    errors.join("\n"),
  );
  assert.deepEqual(validateDocument(doc, { partial: true }).errors, [], "partial waives the per-type keys");
  doc.data[1].metrics = [{ ...noData, "table.bloatRatio": "0" }];
  assert.deepEqual(validateDocument(doc, { partial: true }).errors, [
    "/data/1/metrics/0/table.bloatRatio must be number",
  ], "partial still types every known key");
});

Deno.test("schema: entity identity attributes come in the spec's order, per entity type", () => {
  const doc = baseDoc();
  doc.data[1].entity.id_attributes = ids(["host", "db1"], ["pg-schema", "public"], ["pg-database", "shop"], [
    "port",
    "5432",
  ]);
  assert.ok(validateDocument(doc).errors.some((e) => e.startsWith("/data/1/entity/id_attributes/1/Key")));
  const dbDoc = baseDoc();
  dbDoc.data[2].entity.id_attributes = ids(["host", "db1"]);
  assert.ok(validateDocument(dbDoc).errors.some((e) => e.startsWith("/data/2/entity/id_attributes")));
  const instanceIds = baseDoc();
  instanceIds.data[0].entity.id_attributes = ids(["host", "db1"]);
  assert.ok(validateDocument(instanceIds).errors.some((e) => e.startsWith("/data/0/entity/id_attributes")));
});

Deno.test("schema: each entity type carries only its own event types; inventory only on the instance", () => {
  const misplaced = baseDoc();
  misplaced.data[1].metrics = [BASE_INSTANCE];
  assert.ok(
    validateDocument(misplaced).errors.some((e) => e.startsWith("/data/1/metrics/0/event_type")),
    validateDocument(misplaced).errors.join("\n"),
  );
  const inventory = baseDoc();
  inventory.data[1].inventory = { "max_connections/setting": { value: "100" } };
  assert.ok(validateDocument(inventory).errors.some((e) => e.startsWith("/data/1/inventory")));
});

Deno.test("schema: a custom-config sample needs database and carries no naming attributes", () => {
  const doc = baseDoc();
  doc.data[2].metrics = [{ event_type: "MySample", database: "shop", displayName: "shop" }];
  assert.ok(validateDocument(doc).errors.length > 0);
  doc.data[2].metrics = [{ event_type: "MySample", n: 1 }];
  assert.ok(
    validateDocument(doc).errors.includes("/data/2/metrics/0 must have required property 'database'"),
  );
  doc.data[2].metrics = [{ event_type: "MySample", database: "shop", n: 1 }];
  assert.deepEqual(validateDocument(doc).errors, []);
});

const V4_DOC = {
  protocol_version: "4",
  integration: { name: "com.newrelic.postgresql", version: "0.1.0" },
  data: [{
    common: { timestamp: 1787134500000, "interval.ms": 0, attributes: {} },
    metrics: [],
    entity: { name: "db1:5432", type: "pg-instance", displayName: "db1:5432", metadata: {} },
    inventory: {},
    events: [{
      timestamp: 1787134500000,
      summary: "PostgresSlowQueries",
      category: "PostgresSlowQueries",
      attributes: SLOW,
    }],
  }],
};

Deno.test("schema: v4 documents, with QPM events checked against their type's metric set", () => {
  assert.deepEqual(validateDocument(V4_DOC), { schema: V4_SCHEMA, errors: [] });
  const bad = structuredClone(V4_DOC);
  bad.data[0].events[0].attributes = { ...SLOW, extra: "x" };
  bad.data[0].events[0].summary = "";
  const errors = validateDocument(bad).errors;
  assert.ok(
    errors.includes("/data/0/events/0/attributes must NOT have additional properties (extra)"),
    errors.join("; "),
  );
  assert.ok(
    errors.includes("/data/0/events/0/summary must NOT have fewer than 1 characters"),
    errors.join("; "),
  );
});

Deno.test("assertValidDocuments: parses compact and pretty documents and reports their schemas", () => {
  const compact = JSON.stringify(v3Doc([SLOW]));
  const pretty = JSON.stringify(v3Doc([VALID_SETS.PostgresWaitEvents]), null, "\t");
  const docs = assertValidDocuments(`${compact}\n${pretty}\n${JSON.stringify(V4_DOC)}\n`);
  assert.deepEqual(docs.map((d) => [d.line, d.schema]), [
    [1, "slow-queries.schema.json"],
    [2, "wait-events.schema.json"],
    [2 + pretty.split("\n").length, V4_SCHEMA],
  ]);
  assert.equal(docs[1].text, pretty);
  assert.deepEqual(assertValidDocuments(""), []);
});

Deno.test("assertValidDocuments: lists every problem, with line numbers", () => {
  const bad1 = JSON.stringify(v3Doc([{ ...SLOW, extra_key: 1 }]));
  const bad2 = JSON.stringify(v3Doc([{ ...VALID_SETS.PostgresWaitEvents, query_id: 5 }]));
  assert.throws(
    () => assertValidDocuments(`${bad1}\nnot json\n${bad2}`),
    (e: unknown) => {
      const msg = (e as Error).message;
      assert.match(msg, /^4 problem\(s\) in stdout:/);
      assert.match(msg, /stdout does not end with a newline/);
      assert.match(
        msg,
        /line 1 \[slow-queries\.schema\.json\]: \/data\/0\/metrics\/0 must NOT have additional properties \(extra_key\)/,
      );
      assert.match(msg, /line 2: not JSON/);
      assert.match(
        msg,
        /line 3 \[wait-events\.schema\.json\]: \/data\/0\/metrics\/0\/query_id must be string/,
      );
      return true;
    },
  );
});

Deno.test("schema: an extended type's document is checked against its own closed schema", () => {
  assert.deepEqual(validateDocument(v3Doc([DETAILS])), {
    schema: EXTENDED_SCHEMAS.PgQueryLensSlowQueryDetails,
    errors: [],
  });
  const { total_exec_time_ms: _t, rows: _r, ...keysOnly } = DETAILS;
  assert.deepEqual(validateDocument(v3Doc([keysOnly, { ...DETAILS, cluster_name: "c" }])).errors, []);
  const cases: [Set, string][] = [
    [
      { ...DETAILS, query_text: "SELECT 1" },
      "/data/0/metrics/0 must NOT have additional properties (query_text)",
    ],
    [{ ...DETAILS, rows: 1.5 }, "/data/0/metrics/0/rows must be integer"],
    [{ ...DETAILS, total_exec_time_ms: -1 }, "/data/0/metrics/0/total_exec_time_ms must be >= 0"],
    [{ ...DETAILS, query_id: 7 }, "/data/0/metrics/0/query_id must be string"],
  ];
  for (const [set, expected] of cases) assert.deepEqual(validateDocument(v3Doc([set])).errors, [expected]);
  const { database_name: _d, ...noDatabase } = DETAILS;
  assert.deepEqual(validateDocument(v3Doc([noDatabase])).errors, [
    "/data/0/metrics/0 must have required property 'database_name'",
  ]);
  assert.deepEqual(validateDocument(v3Doc([DETAILS], "pg-database")).errors, [
    "/data/0/entity/type must be equal to constant",
  ]);
  const mixed = validateDocument(v3Doc([SLOW, DETAILS]));
  assert.equal(mixed.schema, "none");
  assert.match(mixed.errors[0], /mixes event types PgQueryLensSlowQueryDetails, PostgresSlowQueries/);
});

Deno.test("schema: QPM_SCHEMAS stays upstream's five types; extended types are listed apart", () => {
  assert.deepEqual(Object.keys(QPM_SCHEMAS).sort(), [
    "PostgresBlockingSessions",
    "PostgresExecutionPlanMetrics",
    "PostgresIndividualQueries",
    "PostgresSlowQueries",
    "PostgresWaitEvents",
  ]);
  for (const type of Object.keys(EXTENDED_SCHEMAS)) assert.ok(!(type in QPM_SCHEMAS), type);
});

Deno.test("schema: the relaxed slow-queries schema adds exactly the two detail fields, optional", () => {
  const strict = (slowQueries as unknown as MetricSetSchema).definitions.metricSet;
  const relaxed = (relaxedSlowQueriesSchema() as unknown as MetricSetSchema).definitions.metricSet;
  const added = Object.keys(relaxed.properties).filter((k) => !(k in strict.properties));
  assert.deepEqual(added.sort(), ["rows", "total_exec_time_ms"]);
  assert.deepEqual(relaxed.required, strict.required);
  assert.ok(!("rows" in strict.properties), "the strict schema is left as it is");
});

Deno.test("schema: {compat: false} accepts the detail fields on PostgresSlowQueries only", () => {
  assert.deepEqual(validateDocument(v3Doc([SLOW_COMPAT_OFF])).errors, [
    "/data/0/metrics/0 must NOT have additional properties (total_exec_time_ms)",
    "/data/0/metrics/0 must NOT have additional properties (rows)",
  ]);
  assert.deepEqual(validateDocument(v3Doc([SLOW_COMPAT_OFF]), { compat: false }), {
    schema: QPM_SCHEMAS.PostgresSlowQueries,
    errors: [],
  });
  assert.deepEqual(validateDocument(v3Doc([SLOW]), { compat: false }).errors, [], "still optional");
  assert.deepEqual(validateDocument(v3Doc([{ ...SLOW_COMPAT_OFF, rows: 0.5 }]), { compat: false }).errors, [
    "/data/0/metrics/0/rows must be integer",
  ]);
  assert.deepEqual(validateDocument(v3Doc([{ ...SLOW_COMPAT_OFF, extra: 1 }]), { compat: false }).errors, [
    "/data/0/metrics/0 must NOT have additional properties (extra)",
  ]);
  const waits = { ...VALID_SETS.PostgresWaitEvents, total_exec_time_ms: 1 };
  assert.deepEqual(validateDocument(v3Doc([waits]), { compat: false }).errors, [
    "/data/0/metrics/0 must NOT have additional properties (total_exec_time_ms)",
  ]);
});

Deno.test("schema: v4 events of the extended type and compat-off slow queries are checked", () => {
  const v4With = (attributes: Set) => {
    const doc = structuredClone(V4_DOC);
    doc.data[0].events[0].category = attributes.event_type as string;
    doc.data[0].events[0].attributes = attributes as typeof SLOW;
    return doc;
  };
  assert.deepEqual(validateDocument(v4With(DETAILS)).errors, []);
  assert.ok(
    validateDocument(v4With({ ...DETAILS, query_text: "x" })).errors.includes(
      "/data/0/events/0/attributes must NOT have additional properties (query_text)",
    ),
  );
  assert.ok(
    validateDocument(v4With(SLOW_COMPAT_OFF)).errors.includes(
      "/data/0/events/0/attributes must NOT have additional properties (rows)",
    ),
  );
  assert.deepEqual(validateDocument(v4With(SLOW_COMPAT_OFF), { compat: false }).errors, []);
});

Deno.test("assertValidDocuments: {compat: false} is applied to every document", () => {
  const stdout = `${JSON.stringify(v3Doc([SLOW_COMPAT_OFF]))}\n${JSON.stringify(v3Doc([DETAILS]))}\n`;
  assert.throws(() => assertValidDocuments(stdout), /line 1 \[slow-queries\.schema\.json\]: .*\(rows\)/);
  assert.deepEqual(assertValidDocuments(stdout, { compat: false }).map((d) => d.schema), [
    "slow-queries.schema.json",
    "slow-query-details.schema.json",
  ]);
});
