import assert from "node:assert/strict";
import type { EventTypeSpec } from "../../src/core/catalog.ts";
import type { UnifiedMetrics } from "../../src/core/model.ts";
import { QUERYLENS_EVENT_TYPES } from "../../src/core/querylens_catalog.ts";
import { addRecords, createAggregator, finishAggregates } from "../../src/collectors/querylens/aggregate.ts";
import { queryExecutions } from "../../src/collectors/querylens/executions.ts";
import { qlRecord } from "../../src/collectors/querylens/testing.ts";
import { encodeQpmDocuments, type NriOptions } from "../../src/nri_adapter/qpm.ts";
import envelope from "../schemas/qpm-envelope.schema.json" with { type: "json" };
import queryExecutionsSchema from "../schemas/query-executions.schema.json" with { type: "json" };
import queryPlanAggregatesSchema from "../schemas/query-plan-aggregates.schema.json" with { type: "json" };
import slowQueries from "../schemas/slow-queries.schema.json" with { type: "json" };
import v4 from "../schemas/v4.schema.json" with { type: "json" };
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

// --- pg_querylens event types: documents of the real encoder, and the schemas against the catalog ---

const QL_TYPES = ["PostgresQueryExecutions", "PostgresQueryPlanAggregates"] as const;
type QlType = typeof QL_TYPES[number];

type JsonSchemaNode = Record<string, unknown>;
const QL_SCHEMA_FILES: Record<string, JsonSchemaNode> = {
  [queryExecutionsSchema.$id]: queryExecutionsSchema,
  [queryPlanAggregatesSchema.$id]: queryPlanAggregatesSchema,
  [envelope.$id]: envelope,
};

/** The metric-set schema of a pg_querylens type, found through EXTENDED_SCHEMAS. */
function qlMetricSet(
  eventType: string,
): { file: string; required: string[]; properties: Record<string, JsonSchemaNode> } {
  const file = EXTENDED_SCHEMAS[eventType];
  assert.ok(file !== undefined, `${eventType} has no schema in EXTENDED_SCHEMAS`);
  const schema = QL_SCHEMA_FILES[file] as unknown as { definitions: { metricSet: JsonSchemaNode } };
  assert.ok(schema !== undefined, `${file} is not one of the pg_querylens schema files`);
  const set = schema.definitions.metricSet as {
    required: string[];
    properties: Record<string, JsonSchemaNode>;
  };
  return { file, required: set.required, properties: set.properties };
}

/** The JSON type a property of `file`'s schema demands, following `$ref`s (local or to another file). */
function jsonTypeOf(file: string, node: JsonSchemaNode): string {
  const ref = node.$ref;
  if (typeof ref !== "string") {
    assert.equal(typeof node.type, "string", `${file}: ${JSON.stringify(node)} names no single type`);
    return node.type as string;
  }
  const [target, pointer] = ref.split("#");
  const targetFile = target === "" ? file : target;
  let at: unknown = QL_SCHEMA_FILES[targetFile];
  for (const part of pointer.split("/").filter((p) => p !== "")) at = (at as Record<string, unknown>)[part];
  assert.ok(at !== undefined, `${file}: unresolved $ref ${ref}`);
  return jsonTypeOf(targetFile, at as JsonSchemaNode);
}

/** The JSON type the NRI adapter writes for a catalog field. */
function catalogJsonType(f: EventTypeSpec<unknown>["fields"][number]): string {
  return f.type === "attribute" ? "string" : f.integer ? "integer" : "number";
}

const SDK_KEYS = ["cluster_name", "service_name"];
const LOCK_TRANSACTIONID = 0x0300_0004;

/**
 * A snapshot holding only pg_querylens rows, built by the collector's own code from three records:
 * a failed UPDATE with I/O and CPU times and a resolved wait event (every optional field present),
 * a slow SELECT of the same query and plan, and a nested statement of an unknown database and role
 * under a rule (no optional field present).
 */
function queryLensSnapshot(): UnifiedMetrics {
  const failed = qlRecord({
    type: "error",
    cmdType: 2,
    execSeq: 1n,
    durationNs: 812_500_000,
    tempBlksWritten: 1,
    walBytes: 210,
    walRecords: 2,
    io: {
      sharedReadUs: 1500,
      sharedWriteUs: 0,
      localReadUs: 0,
      localWriteUs: 0,
      tempReadUs: 0,
      tempWriteUs: 40,
    },
    cpu: { userUs: 750, sysUs: 125 },
    waitSamples: [3, 0, 2, 0, 1, 0, 0, 0],
    waitEventLast: LOCK_TRANSACTIONID,
    sqlstate: "57014",
  });
  const slow = qlRecord({ execSeq: 2n, durationNs: 120_000_000, startUs: failed.startUs + 1_000_000 });
  const nested = qlRecord({
    dbid: 99_999,
    userid: 777,
    cmdType: 6,
    toplevel: false,
    nestingLevel: 1,
    execSeq: 3n,
    planId: -42n,
    waitEventLast: 0x0999_0001,
  });
  const names = {
    databases: new Map([[16384, "shop"]]),
    users: new Map([[10, "app"]]),
    waitEventName: (info: number) => info === LOCK_TRANSACTIONID ? "Lock:transactionid" : undefined,
  };
  const agg = createAggregator();
  addRecords(agg, [failed, slow, nested]);
  return {
    instance: {
      host: "db1",
      port: "5432",
      serverVersionNum: 170000,
      majorVersion: 17,
      serverVersion: "17.0",
    },
    collectedAt: new Date("2026-03-01T10:00:05Z"),
    slowQueries: [],
    waitEvents: [],
    blockingSessions: [],
    individualQueries: [],
    executionPlans: [],
    issues: [],
    baseSamples: [],
    queryExecutions: queryExecutions([
      { record: failed, reason: "error" },
      { record: slow, reason: "slow" },
      { record: nested, reason: "rule:batch jobs" },
    ], names),
    queryLensAggregates: finishAggregates(agg, names).aggregates,
  };
}

const QL_OPTIONS: NriOptions = {
  integrationVersion: "0.1.0",
  pretty: false,
  addHostname: false,
  isRds: false,
  protocol: 3,
};

/** The encoder's documents of the pg_querylens snapshot, by event type. */
function encodedQueryLens(opts: Partial<NriOptions> = {}): Record<QlType, Record<string, unknown>> {
  const { documents, dropped } = encodeQpmDocuments(queryLensSnapshot(), { ...QL_OPTIONS, ...opts });
  assert.deepEqual(dropped, []);
  assert.equal(documents.length, 2, "one document per pg_querylens type");
  const [executions, aggregates] = documents.map((d) => JSON.parse(d));
  return { PostgresQueryExecutions: executions, PostgresQueryPlanAggregates: aggregates };
}

/** The metric sets of a v3 document, or the event attributes of a v4 one. */
function setsOf(doc: Record<string, unknown>): Record<string, unknown>[] {
  const item = (doc.data as Record<string, unknown>[])[0];
  return doc.protocol_version === "4"
    ? (item.events as { attributes: Record<string, unknown> }[]).map((e) => e.attributes)
    : item.metrics as Record<string, unknown>[];
}

/** Where the first metric set's keys are (for error messages). */
const firstSetPath = (doc: Record<string, unknown>) =>
  doc.protocol_version === "4" ? "/data/0/events/0/attributes" : "/data/0/metrics/0";

/** The errors of `doc` after `change` is applied to a copy of its first metric set. */
function errorsWith(
  doc: Record<string, unknown>,
  change: (set: Record<string, unknown>) => void,
): string[] {
  const copy = structuredClone(doc);
  change(setsOf(copy)[0]);
  const result = validateDocument(copy);
  assert.ok(result.errors.length > 0, `the change was accepted: ${JSON.stringify(setsOf(copy)[0])}`);
  if (doc.protocol_version !== "4") return result.errors;
  // A v4 event's attributes are refused by the if/then of its category, which is reported too.
  const then = '/data/0/events/0 must match "then" schema';
  assert.ok(result.errors.includes(then), result.errors.join("; "));
  return result.errors.filter((e) => e !== then);
}

/** The `$ref`s the v4 schema checks an event's attributes against when its category is `category`. */
function v4AttributesRefs(category: string): string[] {
  type Rule = {
    if: { properties: { category: { const: string } } };
    then: { properties: { attributes: { $ref: string } } };
  };
  const rules = (v4 as unknown as { definitions: { event: { allOf: Rule[] } } }).definitions.event.allOf;
  return rules.filter((r) => r.if.properties.category.const === category).map((r) =>
    r.then.properties.attributes.$ref
  );
}

Deno.test("schema: every pg_querylens event type has a closed schema, also used for v4 events", () => {
  assert.deepEqual(QUERYLENS_EVENT_TYPES.map((t) => t.eventType), [...QL_TYPES]);
  for (const type of QL_TYPES) {
    assert.ok(!(type in QPM_SCHEMAS), type);
    const { file } = qlMetricSet(type);
    assert.deepEqual(v4AttributesRefs(type), [`${file}#/definitions/metricSet`], `v4 events of ${type}`);
  }
});

/**
 * How the schema of `spec`'s event type disagrees with the catalog: a property the catalog lacks or
 * a field the schema lacks, a required set that differs, a JSON type that differs. Empty when they agree.
 */
// deno-lint-ignore no-explicit-any
function catalogMismatches(spec: EventTypeSpec<any>): string[] {
  const { file, required, properties } = qlMetricSet(spec.eventType);
  const problems: string[] = [];
  const fields = new Map(spec.fields.map((f) => [f.nri, f]));
  const extraKeys = new Set(["event_type", ...SDK_KEYS]);
  for (const key of Object.keys(properties)) {
    if (!fields.has(key) && !extraKeys.has(key)) {
      problems.push(`${file}: property ${key} is not in the catalog`);
    }
  }
  for (const key of extraKeys) {
    if (!(key in properties)) problems.push(`${file}: no property ${key}`);
  }
  const wanted = new Set(["event_type", ...spec.fields.filter((f) => f.required).map((f) => f.nri)]);
  for (const key of required) {
    if (!wanted.has(key)) {
      problems.push(`${file}: ${key} is required, the catalog has it optional or not at all`);
    }
  }
  for (const key of wanted) {
    if (!required.includes(key)) problems.push(`${file}: ${key} is not required, the catalog requires it`);
  }
  for (const [key, f] of fields) {
    if (!(key in properties)) {
      problems.push(`${file}: no property ${key} (catalog field ${f.field})`);
      continue;
    }
    const [schemaType, catalogType] = [jsonTypeOf(file, properties[key]), catalogJsonType(f)];
    if (schemaType !== catalogType) {
      problems.push(`${file}: ${key} is ${schemaType}, the catalog writes ${catalogType}`);
    }
  }
  if (JSON.stringify(properties.event_type) !== JSON.stringify({ const: spec.eventType })) {
    problems.push(`${file}: event_type is not the constant ${spec.eventType}`);
  }
  return problems;
}

Deno.test("schema: the pg_querylens schemas declare exactly the catalog's attributes, types and required keys", () => {
  for (const spec of QUERYLENS_EVENT_TYPES) {
    assert.deepEqual(catalogMismatches(spec), [], spec.eventType);
    assert.ok(spec.fields.length > 20, `${spec.eventType} has its fields`);
  }
});

Deno.test("schema: a catalog attribute the schema does not know, or knows differently, is a mismatch", () => {
  const [executions, aggregates] = QUERYLENS_EVENT_TYPES;
  assert.deepEqual(
    catalogMismatches({
      ...executions,
      fields: [...executions.fields, {
        field: "jitTimeMs",
        nri: "jit_time_ms",
        type: "gauge",
        required: false,
        description: "x",
      }],
    }),
    ["query-executions.schema.json: no property jit_time_ms (catalog field jitTimeMs)"],
  );
  assert.deepEqual(
    catalogMismatches({ ...aggregates, fields: aggregates.fields.filter((f) => f.nri !== "errors") }),
    [
      "query-plan-aggregates.schema.json: property errors is not in the catalog",
      "query-plan-aggregates.schema.json: errors is required, the catalog has it optional or not at all",
    ],
  );
  const flip = (nri: string, change: object) => ({
    ...executions,
    fields: executions.fields.map((f) => f.nri === nri ? { ...f, ...change } : f),
  });
  assert.deepEqual(catalogMismatches(flip("user_name", { required: true })), [
    "query-executions.schema.json: user_name is not required, the catalog requires it",
  ]);
  assert.deepEqual(catalogMismatches(flip("rows", { integer: false })), [
    "query-executions.schema.json: rows is integer, the catalog writes number",
  ]);
  assert.deepEqual(catalogMismatches(flip("pid", { type: "attribute" })), [
    "query-executions.schema.json: pid is integer, the catalog writes string",
  ]);
});

Deno.test("schema: pg_querylens documents of the real encoder validate, v3 and v4, in every mode", () => {
  const variants: Partial<NriOptions>[] = [
    {},
    { compat: false },
    { addHostname: true, cluster: "prod", service: "shop" },
    { pretty: true },
    { protocol: 4 },
    { protocol: 4, compat: false, cluster: "prod" },
  ];
  for (const variant of variants) {
    const docs = encodedQueryLens(variant);
    for (const type of QL_TYPES) {
      const doc = docs[type];
      assert.equal(setsOf(doc).length, type === "PostgresQueryExecutions" ? 3 : 2);
      for (const set of setsOf(doc)) assert.equal(set.event_type, type);
      const result = validateDocument(doc, { compat: variant.compat });
      const schema = variant.protocol === 4 ? V4_SCHEMA : EXTENDED_SCHEMAS[type];
      assert.deepEqual(result, { schema, errors: [] }, `${type} ${JSON.stringify(variant)}`);
    }
  }
  const stdout = encodeQpmDocuments(queryLensSnapshot(), { ...QL_OPTIONS, pretty: true }).documents.join("");
  assert.deepEqual(assertValidDocuments(stdout).map((d) => d.schema), [
    "query-executions.schema.json",
    "query-plan-aggregates.schema.json",
  ]);
});

Deno.test("schema: the encoded pg_querylens sets cover every attribute, and optional ones may be absent", () => {
  const docs = encodedQueryLens();
  for (const spec of QUERYLENS_EVENT_TYPES) {
    const sets = setsOf(docs[spec.eventType as QlType]);
    const all = ["event_type", ...spec.fields.map((f) => f.nri)].sort();
    assert.deepEqual(Object.keys(sets[0]).sort(), all, `${spec.eventType}: the first set carries every key`);
    const bare = sets.at(-1)!;
    assert.deepEqual(
      Object.keys(bare).sort(),
      ["event_type", ...spec.fields.filter((f) => f.required).map((f) => f.nri)].sort(),
      `${spec.eventType}: the last set carries the required keys only`,
    );
  }
});

Deno.test("schema: a pg_querylens metric set with an unknown key is refused (v3 and v4)", () => {
  for (const protocol of [3, 4] as const) {
    const docs = encodedQueryLens({ protocol });
    for (const type of QL_TYPES) {
      const doc = docs[type];
      for (const key of ["unknown_key", "query_text", "dbid", "start_unix_us", "total_exec_time_ms"]) {
        assert.deepEqual(errorsWith(doc, (set) => set[key] = 1), [
          `${firstSetPath(doc)} must NOT have additional properties (${key})`,
        ], `${type} v${protocol} ${key}`);
      }
    }
  }
});

Deno.test("schema: a pg_querylens metric set missing any required key is refused (v3 and v4)", () => {
  for (const protocol of [3, 4] as const) {
    const docs = encodedQueryLens({ protocol });
    for (const type of QL_TYPES) {
      const doc = docs[type];
      const { required } = qlMetricSet(type);
      assert.ok(required.length > 10, type);
      for (const key of required) {
        assert.ok(key in setsOf(doc)[0], `${type}: the encoder wrote ${key}`);
        assert.deepEqual(errorsWith(doc, (set) => delete set[key]), [
          `${firstSetPath(doc)} must have required property '${key}'`,
        ], `${type} v${protocol} without ${key}`);
      }
    }
  }
});

Deno.test("schema: a pg_querylens value of the wrong type is refused, for every attribute (v3 and v4)", () => {
  for (const protocol of [3, 4] as const) {
    const docs = encodedQueryLens({ protocol });
    for (const spec of QUERYLENS_EVENT_TYPES) {
      const doc = docs[spec.eventType as QlType];
      for (const f of spec.fields) {
        const type = catalogJsonType(f);
        const wrong = type === "string" ? 7 : String(setsOf(doc)[0][f.nri]);
        const errors = errorsWith(doc, (set) => set[f.nri] = wrong);
        const at = `${firstSetPath(doc)}/${f.nri}`;
        assert.ok(
          errors.includes(`${at} must be ${type}`),
          `${spec.eventType} v${protocol}: ${errors.join("; ")}`,
        );
        assert.ok(errors.every((e) => e.startsWith(`${at} `)), errors.join("; "));
      }
      assert.ok(
        errorsWith(doc, (set) => set.event_type = "PostgresSlowQueries").length > 0,
        "a v3 set of another type in the same document, or a v4 event whose category differs",
      );
    }
  }
});

Deno.test("schema: pg_querylens bounds, integers, enums, ids and date-times are enforced", () => {
  const { PostgresQueryExecutions: exec, PostgresQueryPlanAggregates: agg } = encodedQueryLens();
  const cases: [Record<string, unknown>, Set, string][] = [
    [exec, { rows: 1.5 }, "/data/0/metrics/0/rows must be integer"],
    [exec, { duration_ms: -0.5 }, "/data/0/metrics/0/duration_ms must be >= 0"],
    [exec, { failed: 2 }, "/data/0/metrics/0/failed must be equal to one of the allowed values"],
    [exec, { toplevel: -1 }, "/data/0/metrics/0/toplevel must be equal to one of the allowed values"],
    [exec, { command: "MERGE" }, "/data/0/metrics/0/command must be equal to one of the allowed values"],
    [
      exec,
      { sample_reason: "rule:" },
      '/data/0/metrics/0/sample_reason must match pattern "^(slow|error|default|rule:[\\s\\S]+)$"',
    ],
    [exec, { sqlstate: "5701" }, '/data/0/metrics/0/sqlstate must match pattern "^[0-9A-Z]{5}$"'],
    [exec, { plan_id: "0x1f" }, '/data/0/metrics/0/plan_id must match pattern "^-?[0-9]+$"'],
    [
      exec,
      { wait_event_last: "transactionid" },
      '/data/0/metrics/0/wait_event_last must match pattern "^[A-Za-z]+:.+$"',
    ],
    [
      exec,
      { start_time: "2026-03-01 10:00:00.123456" },
      '/data/0/metrics/0/start_time must match format "date-time"',
    ],
    [agg, { calls: -1 }, "/data/0/metrics/0/calls must be >= 0"],
    [agg, { query_id: "" }, '/data/0/metrics/0/query_id must match pattern "^-?[0-9]+$"'],
    [agg, { last_seen: "yesterday" }, '/data/0/metrics/0/last_seen must match format "date-time"'],
  ];
  for (const [doc, change, expected] of cases) {
    assert.deepEqual(errorsWith(doc, (set) => Object.assign(set, change)), [expected]);
  }
});

Deno.test("schema: a pg_querylens document is closed, on a pg-instance, and holds one event type", () => {
  const { PostgresQueryExecutions: exec, PostgresQueryPlanAggregates: agg } = encodedQueryLens();
  assert.deepEqual(validateDocument({ ...exec, extra: 1 }).errors, [
    "/ must NOT have additional properties (extra)",
  ]);
  const onDatabase = structuredClone(agg);
  ((onDatabase.data as Set[])[0].entity as Set).type = "pg-database";
  assert.deepEqual(validateDocument(onDatabase).errors, ["/data/0/entity/type must be equal to constant"]);
  const mixed = structuredClone(exec);
  (mixed.data as Set[])[0].metrics = [...setsOf(exec), ...setsOf(agg)];
  assert.match(
    validateDocument(mixed).errors[0],
    /mixes event types PostgresQueryExecutions, PostgresQueryPlanAggregates/,
  );
});
